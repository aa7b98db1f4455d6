// Tensors between threads: the data in a SharedArrayBuffer (one copy in, none out),
// described by a small plain object that postMessage clones.

import { typedArrayOf, type TensorValue, type TypedData } from './model.js';

export interface WireTensor {
  name: string;
  type: string;
  dims: number[];
  buffer: SharedArrayBuffer;
  byteOffset: number;
  /** Elements. */
  length: number;
}


/** A tensor for postMessage: its data in shared memory (copied there unless it already is). */
export function toWire(name: string, t: TensorValue): WireTensor {
  const d = t.data;
  if (d.buffer instanceof SharedArrayBuffer) {
    return { name, type: t.type, dims: t.dims, buffer: d.buffer, byteOffset: d.byteOffset, length: d.length };
  }
  const sab = new SharedArrayBuffer(d.byteLength);
  new Uint8Array(sab).set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  return { name, type: t.type, dims: t.dims, buffer: sab, byteOffset: 0, length: d.length };
}

/**
 * The tensor a WireTensor describes: a view of the shared memory, or (`own`) a copy in
 * ordinary memory — onnxruntime-node refuses tensors over a SharedArrayBuffer.
 */
export function fromWire(w: WireTensor, own = false): TensorValue {
  const Ctor = typedArrayOf(w.type) as (new (b: SharedArrayBuffer, off: number, n: number) => TypedData) | undefined;
  if (Ctor === undefined) throw new Error(`unsupported tensor type ${w.type}`);
  const view = new Ctor(w.buffer, w.byteOffset, w.length);
  if (!own) return { type: w.type, dims: w.dims, data: view };
  const copy = (view as Float32Array).slice() as unknown as TypedData; // (slice of a shared view: an ordinary buffer)
  return { type: w.type, dims: w.dims, data: copy };
}
