// parseJsonRpc: JSON validation and JSON-RPC 2.0 envelope extraction on the WASM core.
//
// The bytes are copied once into a pool slot; the WASM tokenizer validates them and
// records, per message, the spans of jsonrpc / id / method / params / result / error.
// Only the id and the method are decoded eagerly; params, result and error are parsed
// (JSON.parse of that span alone) when first read.

import { ABI, JsonStatus, InvalidReason, ValueKind, MessageBits, MsgKind } from '../wasm/abi.generated.js';
import { defaultVariant, type WasmCore, type WasmVariant } from '../wasm/loader.js';
import { scratch, type Lane as ScratchLane } from '../wasm/leases.js';
import type { Slot } from '../wasm/pool.js';
import { ConduitError, ErrorCodes } from '../errors.js';

export type JsonRpcId = string | number | null;

/** JSON-RPC 2.0 error codes (§5.1). */
export const JsonRpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
} as const;

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export type EnvelopeKind = 'request' | 'notification' | 'response' | 'error' | 'invalid';

export interface JsonRpcOptions {
  /** Deepest nesting accepted (default 128, at most 1023); deeper input is a -32700. */
  maxDepth?: number;
  /** Largest message, bytes (default 16 MiB); larger input is a -32600. */
  maxBytes?: number;
  /** Which WASM build runs the parse (default: defaultVariant(); tests run both). */
  variant?: WasmVariant;
}

export type JsonRpcParseResult =
  | { ok: true; batch: boolean; messages: Envelope[] }
  | {
    ok: false;
    /** offset: where JSON went wrong (-32700); id: the id of an invalid message, when it was readable (-32600). */
    error: { code: -32700 | -32600; message: string; offset?: number; id?: JsonRpcId };
  };

const INVALID_MESSAGES: Record<number, string> = {
  [InvalidReason.NOT_OBJECT]: 'Invalid Request: not an object',
  [InvalidReason.NO_JSONRPC]: 'Invalid Request: "jsonrpc" is missing',
  [InvalidReason.BAD_JSONRPC]: 'Invalid Request: "jsonrpc" must be exactly "2.0"',
  [InvalidReason.BAD_METHOD]: 'Invalid Request: "method" must be a string',
  [InvalidReason.BAD_ID]: 'Invalid Request: "id" must be a string, a number or null',
  [InvalidReason.BAD_PARAMS]: 'Invalid Request: "params" must be an object or an array',
  [InvalidReason.BOTH_RESULT_AND_ERROR]: 'Invalid Request: a response has "result" or "error", not both',
  [InvalidReason.METHOD_AND_RESULT]: 'Invalid Request: "method" together with "result" or "error"',
  [InvalidReason.RESPONSE_WITHOUT_ID]: 'Invalid Request: a response must have an "id"',
  [InvalidReason.NO_METHOD_OR_RESULT]: 'Invalid Request: neither "method" nor "result"/"error"',
  [InvalidReason.BAD_ERROR]: 'Invalid Request: "error" must be an object',
  [InvalidReason.DUPLICATE_MEMBER]: 'Invalid Request: a member appears twice',
};

const STATUS_MESSAGES: Record<number, [code: -32700 | -32600, message: string]> = {
  [JsonStatus.INVALID_JSON]: [-32700, 'Parse error: invalid JSON'],
  [JsonStatus.TOO_DEEP]: [-32700, 'Parse error: nested too deeply'],
  [JsonStatus.NOT_OBJECT_OR_ARRAY]: [-32600, 'Invalid Request: not an object or an array'],
  [JsonStatus.EMPTY_BATCH]: [-32600, 'Invalid Request: empty batch'],
  [JsonStatus.BATCH_TOO_LARGE]: [-32600, `Invalid Request: batch of more than ${ABI.JSON_MAX_MESSAGES} messages`],
  [JsonStatus.INVALID_UTF8]: [-32700, 'Parse error: invalid UTF-8'],
  [JsonStatus.EMPTY]: [-32700, 'Parse error: empty input'],
};

const KINDS: EnvelopeKind[] = ['invalid', 'request', 'notification', 'response', 'error', 'invalid'];

const NOT_READ = Symbol('not read');

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * The UTF-8 text of src[s, e): a Node Buffer's own decoder when src is one (about half
 * the cost of TextDecoder on short spans), TextDecoder otherwise. The bytes were
 * validated as UTF-8 by the tokenizer, so both give the same text.
 */
const NodeBuffer = (globalThis as { Buffer?: { prototype: Uint8Array } }).Buffer;
function decodeSpan(src: Uint8Array, s: number, e: number): string {
  if (NodeBuffer !== undefined && src instanceof (NodeBuffer as unknown as typeof Uint8Array)) {
    return (src as unknown as { utf8Slice(s: number, e: number): string }).utf8Slice(s, e);
  }
  return utf8.decode(src.subarray(s, e));
}

/** One JSON-RPC message (or batch member). params / result / error are parsed on first read. */
export class Envelope {
  // (declare: no class-field definitions before the constructor's stores; they cost a
  // third of building an envelope.)
  declare readonly kind: EnvelopeKind;
  /** The id (undefined when absent: a notification, or an invalid message without one). */
  declare readonly id: JsonRpcId | undefined;
  declare readonly method: string | undefined;
  declare private readonly src: Uint8Array;
  // [start, end) in src of the one member the kind exposes (params of a request or a
  // notification, result of a response, error of an error response); end 0 = absent.
  declare private readonly s: number;
  declare private readonly e: number;
  /** That member's value once read (or an invalid message's -32600 error object). */
  declare private value: unknown;

  /**
   * (Built by parseJsonRpc.) `s`, `e`: the span of the member the kind exposes; `invalid`:
   * the error object of an invalid message.
   */
  constructor(kind: EnvelopeKind, id: JsonRpcId | undefined, method: string | undefined, src: Uint8Array,
    s: number, e: number, invalid?: JsonRpcErrorObject) {
    this.kind = kind;
    this.id = id;
    this.method = method;
    this.src = src;
    this.s = s;
    this.e = e;
    this.value = invalid === undefined ? NOT_READ : invalid;
  }

  /** Which member the kind exposes. */
  private member(): 'params' | 'result' | 'error' {
    const k = this.kind;
    return k === 'request' || k === 'notification' ? 'params' : k === 'response' ? 'result' : 'error';
  }

  private read(): unknown {
    if (this.value === NOT_READ) this.value = this.e === 0 ? undefined : JSON.parse(decodeSpan(this.src, this.s, this.e));
    return this.value;
  }

  /** The raw bytes of params / result / error (views of the input), or undefined when absent. */
  raw(member: 'params' | 'result' | 'error'): Uint8Array | undefined {
    return member !== this.member() || this.e === 0 ? undefined : this.src.subarray(this.s, this.e);
  }

  get params(): unknown {
    return this.member() === 'params' ? this.read() : undefined;
  }
  get result(): unknown {
    return this.member() === 'result' ? this.read() : undefined;
  }
  /** The error object of an error response, or the -32600 error of an invalid message. */
  get error(): unknown {
    return this.member() === 'error' ? this.read() : undefined;
  }

  /** A plain object view (for logging and JSON.stringify). */
  toJSON(): Record<string, unknown> {
    const o: Record<string, unknown> = { kind: this.kind };
    if (this.id !== undefined) o.id = this.id;
    if (this.method !== undefined) o.method = this.method;
    for (const k of ['params', 'result', 'error'] as const) {
      const v = this[k];
      if (v !== undefined) o[k] = v;
    }
    return o;
  }
}

/** A string's content [s, e) (quotes excluded): ASCII by hand, the rest by TextDecoder. */
function text(src: Uint8Array, s: number, e: number): string {
  if (e - s <= 64) {
    let out = '';
    for (let i = s; i < e; i++) {
      const c = src[i];
      if (c >= 0x80) return utf8.decode(src.subarray(s, e));
      out += String.fromCharCode(c);
    }
    return out;
  }
  return utf8.decode(src.subarray(s, e));
}

/** A JSON number [s, e): small integers by hand, the rest by Number(). */
function numberAt(src: Uint8Array, s: number, e: number): number {
  if (e - s <= 15) {
    let i = s;
    const neg = src[i] === 0x2d;
    if (neg) i++;
    let v = 0;
    for (; i < e; i++) {
      const d = src[i] - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (i === e) return neg ? -v : v;
  }
  let t = '';
  for (let i = s; i < e; i++) t += String.fromCharCode(src[i]);
  return Number(t);
}

// ── cores: one slot big enough for the message ─────────────────────────────────────

/** A core with one slot for JSON input, and what parseJsonRpc reads on every call. */
interface Lane {
  core: WasmCore;
  slot: Slot;
  variant: WasmVariant;
  u8: Uint8Array;
  u32: Uint32Array;
  data: number;
  capacity: number;
  /** Address of the JSON result area (fixed per core). */
  h: number;
  /** json_parse: validation and envelope spans. */
  parse: (input: number, len: number, maxDepth: number) => number;
  /** json_envelope: json_parse plus small integer ids and cached method names. */
  envelope: (input: number, len: number, maxDepth: number) => number;
  /** The method names of this core's cache, by slot, and the fill each was decoded from. */
  names: string[];
  fills: number[];
}
const lanes = new WeakMap<ScratchLane, Lane>();
let lastLane: Lane | null = null;

function laneFor(n: number, variant?: WasmVariant): Lane {
  const v = variant ?? defaultVariant();
  // Any lane whose slot fits will do; the last one used usually does.
  const last = lastLane;
  if (last !== null && last.variant === v && last.capacity >= n) return last;
  const lane = addLane(v, n);
  lastLane = lane;
  return lane;
}

/**
 * Copies the input into the lane's slot at the source's alignment mod 8 (with shared
 * memory, V8 copies word by word only then; the lanes are plain memory, where it is a
 * memcpy either way) and returns where it went. Offsets in the results are relative to
 * the input, so where it sits does not matter.
 */
function load(lane: Lane, bytes: Uint8Array): number {
  const at = lane.data + (bytes.byteOffset & 7);
  lane.u8.set(bytes, at);
  return at;
}

/**
 * The scratch lane (src/wasm/leases.ts: plain memory, one per size class and build) of at
 * least n bytes, with what parseJsonRpc reads on every call. The method-name cache goes
 * with the core whose json_envelope fills it.
 */
function addLane(v: WasmVariant, n: number): Lane {
  const s = scratch(n + 8, { shared: false, variant: v }); // (+8: room to align the copy)
  let lane = lanes.get(s);
  if (lane === undefined) {
    const core = s.core;
    lane = {
      core, slot: s.slot, variant: v, u8: core.u8, u32: core.u32, data: s.data, capacity: s.capacity - 8,
      h: core.exports.abi_json_scratch(), parse: core.exports.json_parse, envelope: core.exports.json_envelope,
      names: new Array<string>(ABI.JSON_METHOD_CACHE_SLOTS).fill(''),
      fills: new Array<number>(ABI.JSON_METHOD_CACHE_SLOTS).fill(-1),
    };
    lanes.set(s, lane);
  }
  return lane;
}

function idOf(src: Uint8Array, kind: number, s: number, e: number, escaped: boolean): JsonRpcId | undefined {
  if (kind === ValueKind.NONE) return undefined;
  if (kind === ValueKind.NULL) return null;
  if (kind === ValueKind.NUMBER) return numberAt(src, s, e);
  if (kind === ValueKind.STRING) return escaped ? (JSON.parse(utf8.decode(src.subarray(s, e))) as string) : text(src, s + 1, e - 1);
  return undefined;
}

/**
 * Parses a JSON-RPC 2.0 message or batch. Never throws for bad input: a result with
 * `ok: false` carries -32700 (not JSON, with the byte offset) or -32600 (JSON that is
 * not a usable Request/Response, or an empty batch). Batch members that are not valid
 * Request/Response objects come back as `kind: 'invalid'` with their -32600 `error`.
 */
export function parseJsonRpc(bytes: Uint8Array, options?: JsonRpcOptions): JsonRpcParseResult {
  const n = bytes.length;
  const maxBytes = options?.maxBytes ?? 16 * 1024 * 1024;
  if (n > maxBytes) {
    return { ok: false, error: { code: -32600, message: `Invalid Request: message larger than ${maxBytes} bytes` } };
  }
  const maxDepth = options?.maxDepth ?? 128;
  if (maxDepth !== 128 && (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth >= ABI.JSON_MAX_DEPTH)) {
    throw new ConduitError(ErrorCodes.INVALID_OPTION, `maxDepth must be an integer between 1 and ${ABI.JSON_MAX_DEPTH - 1}, got ${maxDepth}`);
  }
  const lane = laneFor(n, options?.variant);
  const at = load(lane, bytes);
  const status = lane.envelope(at, n, maxDepth + 1);
  const h = lane.h;
  const u32 = lane.u32;
  if (status !== JsonStatus.OK) {
    const [code, message] = STATUS_MESSAGES[status] ?? [-32700, 'Parse error'];
    const offset = u32[(h + ABI.JSON_ERROR_OFFSET) >>> 2];
    return { ok: false, error: code === -32700 ? { code, message: `${message} at byte ${offset}`, offset } : { code, message } };
  }
  if (u32[(h + ABI.JSON_BATCH) >>> 2] !== 1) {
    const m = envelopeOf(u32, (h + ABI.JSON_RECORDS_OFFSET) >>> 2, bytes, lane);
    if (m.kind === 'invalid') {
      const message = (m.error as JsonRpcErrorObject).message;
      const id = m.id;
      return { ok: false, error: id === undefined || id === null ? { code: -32600, message } : { code: -32600, message, id } };
    }
    return { ok: true, batch: false, messages: [m] };
  }
  const count = u32[(h + ABI.JSON_COUNT) >>> 2];
  const messages: Envelope[] = new Array(count);
  for (let i = 0; i < count; i++) {
    messages[i] = envelopeOf(u32, (h + ABI.JSON_RECORDS_OFFSET + i * ABI.JSON_RECORD_SIZE) >>> 2, bytes, lane);
  }
  return { ok: true, batch: true, messages };
}

// Record fields as u32 indexes from the record start.
const R_BITS = ABI.JSON_REC_BITS / 4;
const R_INVALID = ABI.JSON_REC_INVALID / 4;
const R_ID = ABI.JSON_REC_ID / 4;
const R_METHOD = ABI.JSON_REC_METHOD / 4;
const R_PARAMS = ABI.JSON_REC_PARAMS / 4;
const R_RESULT = ABI.JSON_REC_RESULT / 4;
const R_ERROR = ABI.JSON_REC_ERROR / 4;
const R_MSG_KIND = ABI.JSON_REC_MSG_KIND / 4;
const R_ID_VALUE = ABI.JSON_REC_ID_VALUE / 4;
const R_METHOD_SLOT = ABI.JSON_REC_METHOD_SLOT / 4;
const R_METHOD_FILL = ABI.JSON_REC_METHOD_FILL / 4;

function envelopeOf(u32: Uint32Array, r: number, src: Uint8Array, lane: Lane): Envelope {
  const bits = u32[r + R_BITS];
  const msgKind = u32[r + R_MSG_KIND];
  let id: JsonRpcId | undefined;
  if ((bits & MessageBits.ID_INT) !== 0) {
    const v = u32[r + R_ID_VALUE];
    id = (bits & MessageBits.ID_NEG) !== 0 ? -v : v;
  } else {
    id = idOf(src, u32[r + R_ID + 2], u32[r + R_ID], u32[r + R_ID + 1], (bits & MessageBits.ID_ESCAPED) !== 0);
  }
  if (msgKind === MsgKind.INVALID || msgKind === 0) {
    const reason = INVALID_MESSAGES[u32[r + R_INVALID]] ?? 'Invalid Request';
    const idKind = u32[r + R_ID + 2];
    const validId = idKind === ValueKind.STRING || idKind === ValueKind.NUMBER || idKind === ValueKind.NULL;
    return new Envelope('invalid', validId ? id : null, undefined, src, 0, 0, { code: -32600, message: reason });
  }
  let method: string | undefined;
  if ((bits & MessageBits.METHOD_CACHED) !== 0) {
    // Short names repeat (tools/call, tools/list, ...): decoded once per cache slot.
    const slot = u32[r + R_METHOD_SLOT];
    const fill = u32[r + R_METHOD_FILL];
    if (lane.fills[slot] === fill) {
      method = lane.names[slot];
    } else {
      method = lane.names[slot] = text(src, u32[r + R_METHOD] + 1, u32[r + R_METHOD + 1] - 1);
      lane.fills[slot] = fill;
    }
  } else if (u32[r + R_METHOD + 2] === ValueKind.STRING) {
    const s = u32[r + R_METHOD];
    const e = u32[r + R_METHOD + 1];
    method = (bits & MessageBits.METHOD_ESCAPED) !== 0 ? (JSON.parse(utf8.decode(src.subarray(s, e))) as string) : text(src, s + 1, e - 1);
  }
  // Only the members that belong to the kind are exposed (a response's stray "params"
  // is not its params).
  if (msgKind === MsgKind.REQUEST || msgKind === MsgKind.NOTIFICATION) {
    return new Envelope(KINDS[msgKind], id, method, src, u32[r + R_PARAMS], u32[r + R_PARAMS + 1]);
  }
  if (msgKind === MsgKind.RESPONSE) return new Envelope('response', id, undefined, src, u32[r + R_RESULT], u32[r + R_RESULT + 1]);
  return new Envelope('error', id, undefined, src, u32[r + R_ERROR], u32[r + R_ERROR + 1]);
}

/** Validates bytes as JSON (RFC 8259, UTF-8); returns null, or where and why it is not JSON. */
export function validateJson(bytes: Uint8Array, options: Pick<JsonRpcOptions, 'maxDepth' | 'variant'> = {}): null | { offset: number; message: string } {
  const lane = laneFor(bytes.length, options.variant);
  const at = load(lane, bytes);
  const status = lane.parse(at, bytes.length, (options.maxDepth ?? 128) + 1);
  if (status === JsonStatus.OK || status === JsonStatus.NOT_OBJECT_OR_ARRAY || status === JsonStatus.EMPTY_BATCH
    || status === JsonStatus.BATCH_TOO_LARGE) return null;
  return { offset: lane.u32[(lane.h + ABI.JSON_ERROR_OFFSET) >>> 2], message: STATUS_MESSAGES[status][1] };
}
