// The body of a KServe v2 infer request, parsed into typed arrays without a JSON detour:
// the bytes are copied once into WASM memory, where the tensor kernel validates and
// parses each input's `data` array straight into f32 or f64 slots
// (assembly/tensor/numbers.ts). The few small members around the data (name, datatype,
// shape, parameters, outputs, id) are read here, strictly (RFC 8259; strings through a
// fatal UTF-8 decoder, anything unusual through JSON.parse). (The JSON-RPC tokenizer
// validated number-dense bodies at 290 MB/s, a third of the whole cost: the data's own
// kernel validates as it parses instead.) Also the binary tensor extension: a JSON header
// of Inference-Header-Content-Length bytes, then the tensors' raw bytes in input order.
//
// Values are exactly what JSON.parse would give (Math.fround for FP32); integers are
// checked to be integers within the datatype's range; BOOL takes true/false.

import { ABI, NumbersKinds, NumbersStatus } from '../wasm/abi.generated.js';
import type { WasmCore } from '../wasm/loader.js';
import { scratch, type Lane as ScratchLane } from '../wasm/leases.js';
import { typedArrayOf, type TensorValue, type TypedData } from './model.js';

/** KServe datatypes and onnxruntime tensor types. */
export const KSERVE_TO_ORT: Readonly<Record<string, string>> = {
  FP32: 'float32', FP64: 'float64', FP16: 'float16', INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64', BOOL: 'bool',
};
export const ORT_TO_KSERVE: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(KSERVE_TO_ORT).map(([k, v]) => [v, k]));

/** A request that does not fit the protocol: its message says where and why (a 400). */
export class TensorRequestError extends Error {}

export interface ParsedInput {
  name: string;
  datatype: string;
  tensor: TensorValue;
  parameters?: Record<string, unknown>;
}

export interface ParsedInferRequest {
  id?: string;
  inputs: ParsedInput[];
  /** Requested outputs (names), and which of them to send as binary data. */
  outputs?: Array<{ name: string; binary: boolean }>;
  /** `parameters.binary_data_output`: every output as binary data. */
  binaryOutputs: boolean;
  parameters?: Record<string, unknown>;
}

const bad = (m: string) => new TensorRequestError(m);

// ── WASM lanes: scratch memory of src/wasm/leases.ts (as parseJsonRpc's) ─────────────

/** Values one kernel call may write (f64): 256 KiB. Longer data is parsed in chunks. */
const OUT_VALUES = 32 * 1024;

interface Lane {
  core: WasmCore;
  data: number;
  capacity: number;
  out: number;
  result: number;
  f64: Float64Array;
  f32: Float32Array;
}
const lanes = new WeakMap<ScratchLane, Lane>();

/** A scratch lane (src/wasm/leases.ts: plain memory, one per size class) with the kernel's areas laid out in it. */
function laneFor(n: number): Lane {
  const s = scratch(Math.max(512 * 1024, n + 64 + OUT_VALUES * 8), { shared: false });
  let lane = lanes.get(s);
  if (lane === undefined) {
    const core = s.core;
    const out = (s.data + s.capacity - OUT_VALUES * 8) & ~7;
    lane = {
      core, data: s.data, capacity: out - s.data - 8, out, result: s.slot.state,
      f64: new Float64Array(core.memory.buffer), f32: new Float32Array(core.memory.buffer),
    };
    lanes.set(s, lane);
  }
  return lane;
}

const R_DEPTH = ABI.NUMBERS_DEPTH >>> 2;
const R_COUNT = ABI.NUMBERS_COUNT >>> 2;
const R_KINDS = ABI.NUMBERS_KINDS >>> 2;
const R_POS = ABI.NUMBERS_POS >>> 2;
const R_END = ABI.NUMBERS_END >>> 2;
const R_EXPECT = ABI.NUMBERS_EXPECT >>> 2;

/**
 * Parses an infer request: `body` whole, or its first `jsonLength` bytes as JSON and the
 * rest as binary tensor data. Throws TensorRequestError naming the problem.
 */
export function parseInferRequest(body: Uint8Array, jsonLength = body.length): ParsedInferRequest {
  if (!Number.isSafeInteger(jsonLength) || jsonLength < 0 || jsonLength > body.length) {
    throw bad(`Inference-Header-Content-Length ${jsonLength} is not within the body (${body.length} bytes)`);
  }
  const lane = laneFor(jsonLength);
  const base = lane.data;
  const u8 = lane.core.u8;
  u8.set(jsonLength === body.length ? body : body.subarray(0, jsonLength), base);
  u8.fill(0, base + jsonLength, base + jsonLength + 8);
  return new Reader(lane, jsonLength, body, jsonLength).request();
}

const QUOTE = 0x22;
const latin1 = (u8: Uint8Array, s: number, e: number): string => {
  let t = '';
  for (let i = s; i < e; i++) t += String.fromCharCode(u8[i]);
  return t;
};
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads the JSON in a lane (positions are addresses in its memory), strictly. */
class Reader {
  private readonly u8: Uint8Array;
  private p: number;
  private readonly end: number;
  /** Where the next binary tensor starts in the body. */
  private binaryAt: number;

  constructor(private readonly lane: Lane, len: number, private readonly body: Uint8Array, jsonLength: number) {
    this.u8 = lane.core.u8;
    this.p = lane.data;
    this.end = lane.data + len;
    this.binaryAt = jsonLength;
  }

  /** Not JSON at p (or at `at`). */
  private invalid(at = this.p, why = 'invalid JSON'): TensorRequestError {
    return bad(`the body is not valid JSON (${why} at byte ${Math.min(at, this.end) - this.lane.data})`);
  }

  private ws(): void {
    const u8 = this.u8;
    let c = u8[this.p];
    while ((c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) && this.p < this.end) c = u8[++this.p];
  }

  private expect(c: number): void {
    this.ws();
    if (this.p >= this.end || this.u8[this.p] !== c) throw this.invalid();
    this.p++;
  }

  /** The string at p. */
  private string(): string {
    const u8 = this.u8;
    if (u8[this.p] !== QUOTE || this.p >= this.end) throw this.invalid();
    const s = ++this.p;
    let plain = true;
    for (;;) {
      if (this.p >= this.end) throw this.invalid(s - 1, 'unterminated string');
      const c = u8[this.p];
      if (c === QUOTE) break;
      if (c < 0x20) throw this.invalid(this.p, 'control character in a string');
      if (c === 0x5c || c >= 0x80) {
        plain = false;
        if (c === 0x5c) this.p++;
      }
      this.p++;
    }
    const e = this.p++;
    if (plain) return latin1(u8, s, e);
    let text: string;
    try {
      text = utf8.decode(u8.slice(s, e)); // (a copy: TextDecoder takes no shared memory)
    } catch {
      throw this.invalid(s, 'invalid UTF-8');
    }
    try {
      return JSON.parse(`"${text}"`) as string;
    } catch {
      throw this.invalid(s, 'invalid escape');
    }
  }

  /** Finds the end of the value at p (checked when it is parsed). */
  private skip(): [number, number] {
    const u8 = this.u8;
    const s = this.p;
    let depth = 0;
    while (this.p < this.end) {
      const c = u8[this.p];
      if (c === QUOTE) {
        this.string();
        if (depth === 0) break;
        continue;
      }
      if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (depth === 0) break;
        depth--;
        if (depth === 0) {
          this.p++;
          break;
        }
      } else if (depth === 0 && (c === 0x2c || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) break;
      this.p++;
    }
    if (this.p === s) throw this.invalid();
    return [s, this.p];
  }

  /** The (small) value at p, by JSON.parse of its span. */
  private value(): unknown {
    const [s, e] = this.skip();
    let text: string;
    try {
      text = utf8.decode(this.u8.slice(s, e));
    } catch {
      throw this.invalid(s, 'invalid UTF-8');
    }
    try {
      return JSON.parse(text);
    } catch {
      throw this.invalid(s);
    }
  }

  /** Calls `member` for each member of the object at p. */
  private object(what: string, member: (key: string) => void): void {
    this.ws();
    if (this.u8[this.p] !== 0x7b || this.p >= this.end) {
      if (this.p >= this.end || !'["-0123456789tfn'.includes(String.fromCharCode(this.u8[this.p]))) throw this.invalid();
      const at = this.p;
      this.value(); // (valid JSON of another kind, or not JSON at all)
      this.p = at;
      throw bad(`${what} must be an object`);
    }
    this.p++;
    this.ws();
    if (this.u8[this.p] === 0x7d && this.p < this.end) {
      this.p++;
      return;
    }
    for (;;) {
      this.ws();
      const key = this.string();
      this.expect(0x3a); // :
      this.ws();
      member(key);
      this.ws();
      if (this.p >= this.end) throw this.invalid();
      const c = this.u8[this.p++];
      if (c === 0x7d) return;
      if (c !== 0x2c) throw this.invalid(this.p - 1);
    }
  }

  /** Calls `item` for each element of the array at p. */
  private array(what: string, item: (i: number) => void): void {
    this.ws();
    if (this.u8[this.p] !== 0x5b || this.p >= this.end) {
      this.value();
      throw bad(`${what} must be an array`);
    }
    this.p++;
    this.ws();
    if (this.u8[this.p] === 0x5d && this.p < this.end) {
      this.p++;
      return;
    }
    for (let i = 0; ; i++) {
      this.ws();
      item(i);
      this.ws();
      if (this.p >= this.end) throw this.invalid();
      const c = this.u8[this.p++];
      if (c === 0x5d) return;
      if (c !== 0x2c) throw this.invalid(this.p - 1);
    }
  }

  /** A shape: small non-negative integers, read here (JSON.parse for anything else). */
  private shape(where: string): number[] {
    const u8 = this.u8;
    const at = this.p;
    const dims: number[] = [];
    if (u8[this.p] === 0x5b) {
      this.p++;
      for (;;) {
        this.ws();
        let v = 0;
        let n = 0;
        let c = u8[this.p];
        while (c >= 0x30 && c <= 0x39 && n < 15 && this.p < this.end) {
          v = v * 10 + (c - 0x30);
          n++;
          c = u8[++this.p];
        }
        if (n === 0 || (n > 1 && u8[this.p - n] === 0x30)) break;
        dims.push(v);
        this.ws();
        c = u8[this.p++];
        if (c === 0x5d) return dims;
        if (c !== 0x2c) break;
      }
    }
    // (an empty shape, a negative, a float, a leading zero, not an array...: the slow way)
    this.p = at;
    const v = this.value();
    if (!Array.isArray(v) || !v.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`${where}: shape must be an array of non-negative integers`);
    return v as number[];
  }

  request(): ParsedInferRequest {
    const r: ParsedInferRequest = { inputs: [], binaryOutputs: false };
    let sawInputs = false;
    this.object('the body', (key) => {
      if (key === 'id') {
        const v = this.u8[this.p] === QUOTE ? this.string() : this.value();
        if (typeof v !== 'string') throw bad('"id" must be a string');
        r.id = v;
      } else if (key === 'inputs') {
        sawInputs = true;
        this.array('"inputs"', (i) => r.inputs.push(this.input(i)));
      } else if (key === 'outputs') {
        const v = this.value();
        if (!Array.isArray(v) || !v.every((o) => typeof (o as { name?: unknown })?.name === 'string')) throw bad('"outputs" must be an array of { "name": ... }');
        r.outputs = (v as Array<{ name: string; parameters?: { binary_data?: unknown } }>).map((o) => ({ name: o.name, binary: o.parameters?.binary_data === true }));
      } else if (key === 'parameters') {
        const v = this.value();
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('"parameters" must be an object');
        r.parameters = v as Record<string, unknown>;
        r.binaryOutputs = r.parameters.binary_data_output === true;
      } else this.value(); // (unknown: ignored, but it must be JSON)
    });
    this.ws();
    if (this.p !== this.end) throw this.invalid(this.p, 'more after the object');
    if (!sawInputs || r.inputs.length === 0) throw bad('the body must be an object with a non-empty "inputs" array');
    const names = new Set<string>();
    for (const x of r.inputs) {
      if (names.has(x.name)) throw bad(`input ${x.name} is given twice`);
      names.add(x.name);
    }
    if (this.binaryAt !== this.body.length) throw bad(`${this.body.length - this.binaryAt} bytes of binary data that no input claims`);
    return r;
  }

  private input(i: number): ParsedInput {
    let where = `inputs[${i}]`;
    let name: string | undefined;
    let datatype: string | undefined;
    let shape: number[] | undefined;
    let parameters: Record<string, unknown> | undefined;
    let data: TypedData | null = null;
    let early: { values: Float64Array | Float32Array; kinds: number } | null = null;
    this.object(where, (key) => {
      if (key === 'name') {
        const v = this.u8[this.p] === QUOTE ? this.string() : this.value();
        if (typeof v !== 'string') throw bad(`${where}: name must be a string`);
        name = v;
        where = `${where} (${v})`;
      } else if (key === 'datatype') {
        const v = this.u8[this.p] === QUOTE ? this.string() : this.value();
        if (typeof v !== 'string' || KSERVE_TO_ORT[v] === undefined) {
          throw bad(`${where}: datatype ${JSON.stringify(v)} is not one of ${Object.keys(KSERVE_TO_ORT).join(', ')}${v === 'BYTES' ? ' (BYTES tensors are not supported)' : ''}`);
        }
        datatype = v;
      } else if (key === 'shape') {
        shape = this.shape(where);
      } else if (key === 'parameters') {
        const v = this.value();
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(`${where}: parameters must be an object`);
        parameters = v as Record<string, unknown>;
      } else if (key === 'data') {
        if (this.u8[this.p] !== 0x5b) {
          this.value();
          throw bad(`${where}: data must be an array`);
        }
        // Straight into the datatype's slots when it and the shape came first (the usual
        // order); as f64 otherwise, converted once both are known.
        if (datatype !== undefined && shape !== undefined) data = this.numbers(where, datatype, shape);
        else early = this.numbersAny(where);
      } else this.value(); // (unknown: ignored, but it must be JSON)
    });
    if (name === undefined) throw bad(`${where}: name must be a string`);
    if (datatype === undefined) throw bad(`${where}: datatype is missing`);
    if (shape === undefined) throw bad(`${where}: shape must be an array of non-negative integers`);
    const n = count(shape, where);
    const type = KSERVE_TO_ORT[datatype];
    const size = parameters?.binary_data_size;
    if (size !== undefined) {
      if (data !== null || early !== null) throw bad(`${where}: both data and binary_data_size`);
      data = this.binary(where, type, n, size);
    } else if (early !== null) {
      const e: { values: Float64Array | Float32Array; kinds: number } = early;
      if (e.values.length !== n) throw bad(`${where}: shape [${shape.join(', ')}]: ${e.values.length} values (${n} expected)`);
      data = convert(where, type, e.values, e.kinds);
    } else if (data === null) throw bad(`${where}: data is missing`);
    return { name, datatype, tensor: { type, data: data!, dims: shape }, parameters };
  }

  /** The tensor data of `type` in the binary part of the body. */
  private binary(where: string, type: string, n: number, size: unknown): TypedData {
    const Ctor = typedArrayOf(type)!;
    const bytes = n * Ctor.BYTES_PER_ELEMENT;
    if (size !== bytes) throw bad(`${where}: binary_data_size ${JSON.stringify(size)}, the shape and datatype take ${bytes} bytes`);
    if (this.binaryAt + bytes > this.body.length) throw bad(`${where}: the body ends before its ${bytes} bytes of binary data`);
    const at = this.body.byteOffset + this.binaryAt;
    this.binaryAt += bytes;
    // (a copy: aligned, little-endian as the extension says — every platform Node runs on)
    const copy = this.body.buffer.slice(at, at + bytes);
    const data = new (Ctor as unknown as new (b: ArrayBufferLike) => TypedData)(copy);
    if (type === 'bool') for (const v of data as Uint8Array) if (v > 1) throw bad(`${where}: BOOL binary data must be bytes 0 or 1`);
    return data;
  }

  /** Runs the kernel over the data array at p into `write` (chunks), handling slow numbers here. */
  private scan(where: string, f32: boolean, cap: number, write: (values: Float64Array | Float32Array, at: number) => void): { count: number; kinds: number } {
    const lane = this.lane;
    const u32 = lane.core.u32;
    const r = lane.result >>> 2;
    u32[r + R_DEPTH] = 0;
    u32[r + R_COUNT] = 0;
    u32[r + R_KINDS] = 0;
    u32[r + R_EXPECT] = 0;
    const scan = lane.core.exports.tensor_numbers;
    let total = 0; // values flushed
    for (;;) {
      const room = Math.min(OUT_VALUES, cap + 1 - total);
      const status = scan(this.p, this.end - this.p, lane.out, room, f32 ? 1 : 0, lane.result);
      const got = u32[r + R_COUNT];
      const flush = () => {
        if (got === 0) return;
        write(f32 ? lane.f32.subarray(lane.out >>> 2, (lane.out >>> 2) + got) : lane.f64.subarray(lane.out >>> 3, (lane.out >>> 3) + got), total);
        total += got;
        u32[r + R_COUNT] = 0;
      };
      if (status === NumbersStatus.DONE) {
        flush();
        this.p = u32[r + R_END];
        return { count: total, kinds: u32[r + R_KINDS] };
      }
      if (status === NumbersStatus.SLOW) {
        // One number the kernel leaves to JavaScript (exactly JSON.parse's value).
        const pos = u32[r + R_POS];
        const end = u32[r + R_END];
        const v = Number(latin1(this.u8, pos, end));
        if (!Number.isFinite(f32 ? Math.fround(v) : v)) throw bad(`${where}: data[${total + got}] is out of range`);
        if (f32) lane.f32[(lane.out >>> 2) + got] = v;
        else lane.f64[(lane.out >>> 3) + got] = v;
        u32[r + R_COUNT] = got + 1;
        this.p = end;
        if (got + 1 === room) {
          const g2 = got + 1;
          write(f32 ? lane.f32.subarray(lane.out >>> 2, (lane.out >>> 2) + g2) : lane.f64.subarray(lane.out >>> 3, (lane.out >>> 3) + g2), total);
          total += g2;
          u32[r + R_COUNT] = 0;
        }
        if (total > cap) throw bad(`${where}: more than ${cap} values`);
        continue;
      }
      if (status === NumbersStatus.TOO_MANY) {
        flush();
        if (total > cap) throw bad(`${where}: more than ${cap} values`);
        this.p = u32[r + R_POS];
        continue;
      }
      if (status === NumbersStatus.INVALID || status === NumbersStatus.UNTERMINATED) throw this.invalid(u32[r + R_POS]);
      if (status === NumbersStatus.NOT_NUMBER) throw bad(`${where}: data[${total + got}] must be a number (true or false for BOOL)`);
      throw this.invalid(u32[r + R_POS]);
    }
  }

  /** The data array at p as `datatype`, n values (the shape's). */
  private numbers(where: string, datatype: string, shape: number[]): TypedData {
    const type = KSERVE_TO_ORT[datatype];
    const n = count(shape, where);
    where = `${where}: shape [${shape.join(', ')}]`;
    // (a shape the rest of the body cannot hold is not allocated: each value takes 2 bytes at least)
    if (n > (this.end - this.p + 1) / 2) {
      const got = this.numbersAny(where).values.length;
      throw bad(`${where}: ${got} values (${n} expected)`);
    }
    if (type === 'float32') {
      const out = new Float32Array(n);
      const { count: got, kinds } = this.scan(where, true, n, (v, at) => {
        if (at + v.length <= n) out.set(v, at);
      });
      if (got !== n) throw bad(`${where}: ${got} values (${n} expected)`);
      if (kinds & NumbersKinds.BOOLEAN) throw bad(`${where}: FP32 data must be numbers, not booleans`);
      return out;
    }
    const all = new Float64Array(n);
    const { count: got, kinds } = this.scan(where, false, n, (v, at) => {
      if (at + v.length <= n) all.set(v, at);
    });
    if (got !== n) throw bad(`${where}: ${got} values (${n} expected)`);
    return convert(where, type, all, kinds);
  }

  /** The data array at p as f64, before its datatype and shape are known. */
  private numbersAny(where: string): { values: Float64Array; kinds: number } {
    let all = new Float64Array(64);
    const { count: got, kinds } = this.scan(where, false, 2 ** 31, (v, at) => {
      if (at + v.length > all.length) {
        let size = all.length * 2;
        while (size < at + v.length) size *= 2;
        const bigger = new Float64Array(size);
        bigger.set(all.subarray(0, at));
        all = bigger;
      }
      all.set(v, at);
    });
    return { values: all.subarray(0, got), kinds };
  }
}

function count(shape: number[], where: string): number {
  let n = 1;
  for (const d of shape) n *= d;
  if (!Number.isSafeInteger(n) || n > 2 ** 31) throw bad(`${where}: shape [${shape.join(', ')}] is too large`);
  return n;
}

const RANGES: Record<string, [number, number]> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], uint64: [0, Number.MAX_SAFE_INTEGER],
};

/** f64 values (exact JSON numbers, or 0/1 for booleans) as a tensor of `type`, checked. */
function convert(where: string, type: string, values: Float64Array | Float32Array, kinds: number): TypedData {
  const n = values.length;
  if (type === 'bool') {
    if (kinds & NumbersKinds.NUMBER) throw bad(`${where}: BOOL data must be true or false`);
    return Uint8Array.from(values);
  }
  if (kinds & NumbersKinds.BOOLEAN) throw bad(`${where}: ${ORT_TO_KSERVE[type]} data must be numbers, not booleans`);
  if (type === 'float32') return Float32Array.from(values);
  if (type === 'float64') return values instanceof Float64Array ? values : Float64Array.from(values);
  if (type === 'float16') {
    const out = new Uint16Array(n);
    for (let k = 0; k < n; k++) {
      const h = toHalf(values[k]);
      if ((h & 0x7c00) === 0x7c00) throw bad(`${where}: data[${k}] is out of FP16's range`);
      out[k] = h;
    }
    return out;
  }
  const [lo, hi] = RANGES[type];
  for (let k = 0; k < n; k++) {
    const v = values[k];
    if (!Number.isInteger(v) || v < lo || v > hi) throw bad(`${where}: data[${k}] must be an integer from ${lo} to ${hi} for ${ORT_TO_KSERVE[type]}`);
  }
  if (type === 'int64') return BigInt64Array.from(values, (v) => BigInt(v));
  if (type === 'uint64') return BigUint64Array.from(values, (v) => BigInt(v));
  return (typedArrayOf(type) as unknown as { from(a: ArrayLike<number>): TypedData }).from(values);
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** The IEEE 754 half-precision bits nearest to v (ties to even). */
export function toHalf(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  // (via f32 first: a double rounding, off by one ulp of FP16 only within 2^-24 of a tie)
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** The number an FP16 bit pattern stands for. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}
