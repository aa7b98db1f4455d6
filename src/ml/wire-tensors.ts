// Inference requests and results between threads, a turn's worth at a time. Everything
// one event-loop turn sends one way — the requests' descriptions and their tensors' data —
// is packed into one SharedArrayBuffer: a table of integers (ids, dims, where each
// tensor's data lies) followed by the data, with the few strings (model, input and output
// names, types, error messages) in a small table beside it. postMessage then clones one
// object per turn instead of one per request and tensor (it shares the memory, the data
// is never serialised), and the receiver's tensors are views of that memory. onnxruntime-
// node refuses tensors over shared memory, so the worker copies a request's data out
// once, when it runs alone (a batch is concatenated into ordinary memory anyway).

import { typedArrayOf, type TensorValue, type TypedData } from './model.js';

/** A named tensor as it travels. */
export interface WireTensor extends TensorValue {
  name: string;
}

export interface WireRequest {
  id: number;
  model: string;
  version?: string;
  inputs: WireTensor[];
  outputs?: string[];
}

export interface WireResult {
  id: number;
  outputs?: WireTensor[];
  /** An error instead (code, message). */
  code?: string;
  message?: string;
}

/** One turn's requests or results. */
export interface Pack {
  type: 'requests' | 'results';
  buffer: SharedArrayBuffer | ArrayBuffer;
  /** Int32 entries of the table at the start of `buffer`. */
  ints: number;
  strings: string[];
}

/** (8: every typed array's element size divides it) */
const align = (n: number) => (n + 7) & ~7;

class Writer {
  readonly ints: number[] = [];
  readonly strings: string[] = [];
  private readonly index = new Map<string, number>();
  readonly data: TypedData[] = [];
  /** Bytes of data so far (each aligned to 8). */
  bytes = 0;

  str(s: string | undefined): void {
    if (s === undefined) {
      this.ints.push(-1);
      return;
    }
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.index.set(s, i);
    }
    this.ints.push(i);
  }

  tensors(list: WireTensor[]): void {
    this.ints.push(list.length);
    for (const t of list) {
      this.str(t.name);
      this.str(t.type);
      this.ints.push(t.dims.length, ...t.dims, this.bytes, t.data.length);
      this.data.push(t.data);
      this.bytes += align(t.data.byteLength);
    }
  }

  pack(type: Pack['type']): Pack {
    const table = align(this.ints.length * 4);
    const buffer = new SharedArrayBuffer(table + this.bytes);
    new Int32Array(buffer, 0, this.ints.length).set(this.ints);
    const all = new Uint8Array(buffer);
    let at = table;
    for (const d of this.data) {
      all.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
      at += align(d.byteLength);
    }
    return { type, buffer, ints: this.ints.length, strings: this.strings };
  }
}

class Reader {
  private at = 0;
  private readonly table: number;
  readonly ints: Int32Array;
  constructor(private readonly p: Pack) {
    this.ints = new Int32Array(p.buffer, 0, p.ints);
    this.table = align(p.ints * 4);
  }
  get done(): boolean {
    return this.at >= this.ints.length;
  }
  int(): number {
    return this.ints[this.at++];
  }
  str(): string | undefined {
    const i = this.ints[this.at++];
    return i < 0 ? undefined : this.p.strings[i];
  }
  tensors(): WireTensor[] {
    const n = this.int();
    const out: WireTensor[] = [];
    for (let k = 0; k < n; k++) {
      const name = this.str()!;
      const type = this.str()!;
      const rank = this.int();
      const dims: number[] = [];
      for (let d = 0; d < rank; d++) dims.push(this.int());
      const offset = this.table + this.int();
      const length = this.int();
      const Ctor = typedArrayOf(type) as unknown as (new (b: ArrayBufferLike, o: number, n: number) => TypedData) | undefined;
      if (Ctor === undefined) throw new Error(`unsupported tensor type ${type}`);
      out.push({ name, type, dims, data: new Ctor(this.p.buffer, offset, length) });
    }
    return out;
  }
}

export function packRequests(list: WireRequest[]): Pack {
  const w = new Writer();
  for (const r of list) {
    w.ints.push(r.id);
    w.str(r.model);
    w.str(r.version);
    if (r.outputs === undefined) w.ints.push(-1);
    else {
      w.ints.push(r.outputs.length);
      for (const o of r.outputs) w.str(o);
    }
    w.tensors(r.inputs);
  }
  return w.pack('requests');
}

export function unpackRequests(p: Pack): WireRequest[] {
  const r = new Reader(p);
  const out: WireRequest[] = [];
  while (!r.done) {
    const id = r.int();
    const model = r.str()!;
    const version = r.str();
    const n = r.int();
    let outputs: string[] | undefined;
    if (n >= 0) {
      outputs = [];
      for (let k = 0; k < n; k++) outputs.push(r.str()!);
    }
    out.push({ id, model, version, outputs, inputs: r.tensors() });
  }
  return out;
}

export function packResults(list: WireResult[]): Pack {
  const w = new Writer();
  for (const r of list) {
    w.ints.push(r.id);
    if (r.outputs === undefined) {
      w.ints.push(1);
      w.str(r.code ?? '');
      w.str(r.message ?? '');
    } else {
      w.ints.push(0);
      w.tensors(r.outputs);
    }
  }
  return w.pack('results');
}

export function unpackResults(p: Pack): WireResult[] {
  const r = new Reader(p);
  const out: WireResult[] = [];
  while (!r.done) {
    const id = r.int();
    if (r.int() === 1) out.push({ id, code: r.str(), message: r.str() });
    else out.push({ id, outputs: r.tensors() });
  }
  return out;
}

/** The data in ordinary memory (a copy when it is shared), for onnxruntime. */
export function owned(t: TensorValue): TensorValue {
  if (!(t.data.buffer instanceof SharedArrayBuffer)) return t;
  return { type: t.type, dims: t.dims, data: t.data.slice() as TypedData };
}

/** A pack whose memory may cross a process boundary (IPC cannot carry shared memory). */
export function unsharedPack(p: Pack): Pack {
  if (!(p.buffer instanceof SharedArrayBuffer)) return p;
  const copy = new ArrayBuffer(p.buffer.byteLength);
  new Uint8Array(copy).set(new Uint8Array(p.buffer));
  return { ...p, buffer: copy };
}
