// Tensors between threads. The tensors of one event-loop turn's messages are copied into
// one SharedArrayBuffer (one allocation, one copy each) and travel as views of it:
// postMessage clones a view of shared memory as a view of the same memory, so the data
// itself is never serialised. onnxruntime-node refuses tensors over shared memory, so the
// worker copies a request's data out once, when it runs alone (a batch is concatenated
// into ordinary memory anyway).

import type { TensorValue, TypedData } from './model.js';

/** A named tensor as it travels in a message. */
export interface WireTensor extends TensorValue {
  name: string;
}

/** Moves the data of every tensor of `lists` that is not in shared memory yet into one SharedArrayBuffer. */
export function share(lists: Iterable<WireTensor[] | undefined>): void {
  let bytes = 0;
  for (const list of lists) for (const t of list ?? []) if (!(t.data.buffer instanceof SharedArrayBuffer)) bytes += align(t.data.byteLength);
  if (bytes === 0) return;
  const sab = new SharedArrayBuffer(bytes);
  const all = new Uint8Array(sab);
  let at = 0;
  for (const list of lists) {
    for (const t of list ?? []) {
      const d = t.data;
      if (d.buffer instanceof SharedArrayBuffer) continue;
      all.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
      const Ctor = d.constructor as new (b: SharedArrayBuffer, o: number, n: number) => TypedData;
      t.data = new Ctor(sab, at, d.length);
      at += align(d.byteLength);
    }
  }
}

/** (8: every typed array's element size divides it) */
const align = (n: number) => (n + 7) & ~7;

/** The data in ordinary memory (a copy when it is shared), for onnxruntime. */
export function owned(t: TensorValue): TensorValue {
  if (!(t.data.buffer instanceof SharedArrayBuffer)) return t;
  return { type: t.type, dims: t.dims, data: t.data.slice() as TypedData };
}

/**
 * The same tensors with their data in ordinary memory, for a channel that cannot carry
 * shared memory (IPC between processes).
 */
export function unshared(list: WireTensor[] | undefined): WireTensor[] | undefined {
  return list?.map((t) => (t.data.buffer instanceof SharedArrayBuffer ? { ...t, data: t.data.slice() as TypedData } : t));
}
