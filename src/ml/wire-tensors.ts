// Inference requests and results between threads, a turn's worth at a time. Everything
// one event-loop turn sends one way — the requests' descriptions and their tensors' data —
// is packed into shared memory: a table of integers (ids, dims, where each tensor's data
// lies) followed by the data, with the few strings (model, input and output names, types,
// error messages) in a small table beside it. postMessage then clones one object per turn
// instead of one per request and tensor, and never the data.
//
// Each direction of a link writes its packs into one SharedArrayBuffer of its own, an
// arena used as a ring: posting a SharedArrayBuffer the receiver has seen before costs
// under a microsecond, a new one about 10 µs. The receiver copies the tensors out (into
// ordinary memory, which onnxruntime-node needs and callers may keep) and says which
// pack it has consumed through the arena's first word; the writer reuses that space. A
// pack that does not fit goes in a SharedArrayBuffer of its own.

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
  /** Where the pack starts in `buffer`, and its size. */
  offset: number;
  bytes: number;
  /** Int32 entries of the table at the start of the pack. */
  ints: number;
  strings: string[];
  /** Its number in an arena (the reader reports it consumed), or -1. */
  seq: number;
}

const ARENA_HEADER = 64;

/** The ring of shared memory one side of a link writes its packs into. */
export class PackArena {
  readonly buffer: SharedArrayBuffer;
  private readonly consumed: Int32Array;
  private readonly inflight: Array<{ seq: number; start: number }> = [];
  private head = ARENA_HEADER;
  private seq = 0;

  constructor(readonly size = 1 << 20) {
    this.buffer = new SharedArrayBuffer(size);
    this.consumed = new Int32Array(this.buffer, 0, 1);
  }

  /** Room for `bytes` (aligned to 8): [offset, seq], or null when it does not fit now. */
  alloc(bytes: number): [number, number] | null {
    const done = Atomics.load(this.consumed, 0);
    while (this.inflight.length > 0 && ((done - this.inflight[0].seq) | 0) >= 0) this.inflight.shift();
    let at = -1;
    if (this.inflight.length === 0) {
      if (ARENA_HEADER + bytes <= this.size) at = ARENA_HEADER;
    } else {
      const tail = this.inflight[0].start;
      if (this.head > tail) { // (free: [head, size) and [HEADER, tail))
        if (this.head + bytes <= this.size) at = this.head;
        else if (ARENA_HEADER + bytes <= tail) at = ARENA_HEADER;
      } else if (this.head + bytes <= tail) at = this.head; // (wrapped: free [head, tail))
    }
    if (at < 0) return null;
    this.head = at + bytes;
    this.seq = (this.seq + 1) | 0;
    this.inflight.push({ seq: this.seq, start: at });
    return [at, this.seq];
  }
}

/** The reader is done with a pack (its tensors copied out): its arena space may be reused. */
export function consumed(p: Pack): void {
  if (p.seq !== -1 && p.buffer instanceof SharedArrayBuffer) Atomics.store(new Int32Array(p.buffer, 0, 1), 0, p.seq);
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

  pack(type: Pack['type'], arena?: PackArena): Pack {
    const table = align(this.ints.length * 4);
    const size = table + this.bytes;
    const room = arena?.alloc(size) ?? null;
    const buffer = room === null ? new SharedArrayBuffer(size) : arena!.buffer;
    const offset = room === null ? 0 : room[0];
    new Int32Array(buffer, offset, this.ints.length).set(this.ints);
    const all = new Uint8Array(buffer);
    let at = offset + table;
    for (const d of this.data) {
      all.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
      at += align(d.byteLength);
    }
    return { type, buffer, offset, bytes: size, ints: this.ints.length, strings: this.strings, seq: room === null ? -1 : room[1] };
  }
}

class Reader {
  private at = 0;
  private readonly table: number;
  readonly ints: Int32Array;
  constructor(private readonly p: Pack) {
    this.ints = new Int32Array(p.buffer, p.offset, p.ints);
    this.table = p.offset + align(p.ints * 4);
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
      // (a copy in ordinary memory: the pack's space is reused once it is consumed)
      out.push({ name, type, dims, data: new Ctor(this.p.buffer, offset, length).slice() as TypedData });
    }
    return out;
  }
}

/** The requests of a turn, in `arena` when they fit. Unpacking copies them out; then consumed(). */
export function packRequests(list: WireRequest[], arena?: PackArena): Pack {
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
  return w.pack('requests', arena);
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

export function packResults(list: WireResult[], arena?: PackArena): Pack {
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
  return w.pack('results', arena);
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

/**
 * A pack whose memory may cross a process boundary (IPC cannot carry shared memory): its
 * bytes copied into an ArrayBuffer of their own; the original is consumed.
 */
export function unsharedPack(p: Pack): Pack {
  if (!(p.buffer instanceof SharedArrayBuffer)) return p;
  const copy = new ArrayBuffer(p.bytes);
  new Uint8Array(copy).set(new Uint8Array(p.buffer, p.offset, p.bytes));
  consumed(p);
  return { ...p, buffer: copy, offset: 0, seq: -1 };
}
