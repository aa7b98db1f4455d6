// parseJsonRpc: JSON validation and JSON-RPC 2.0 envelope extraction on the WASM core.
//
// The bytes are copied once into a pool slot; the WASM tokenizer validates them and
// records, per message, the spans of jsonrpc / id / method / params / result / error.
// Only the id and the method are decoded eagerly; params, result and error are parsed
// (JSON.parse of that span alone) when first read.

import { ABI, JsonStatus, InvalidReason, ValueKind, MessageBits, MsgKind } from '../wasm/abi.generated.js';
import { WasmCore } from '../wasm/loader.js';
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
}

export type JsonRpcParseResult =
  | { ok: true; batch: boolean; messages: Envelope[] }
  | { ok: false; error: { code: -32700 | -32600; message: string; offset?: number } };

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

/** One JSON-RPC message (or batch member). params / result / error are parsed on first read. */
export class Envelope {
  readonly kind: EnvelopeKind;
  /** The id (undefined when absent: a notification, or an invalid message without one). */
  readonly id: JsonRpcId | undefined;
  readonly method: string | undefined;
  private readonly src: Buffer;
  private readonly spans: Uint32Array; // params, result, error: [start, end] each; 0,0 = absent
  private _params: unknown;
  private _result: unknown;
  private _error: unknown;

  constructor(kind: EnvelopeKind, id: JsonRpcId | undefined, method: string | undefined, src: Buffer, spans: Uint32Array, invalid?: JsonRpcErrorObject) {
    this.kind = kind;
    this.id = id;
    this.method = method;
    this.src = src;
    this.spans = spans;
    this._params = NOT_READ;
    this._result = NOT_READ;
    this._error = invalid === undefined ? NOT_READ : invalid;
  }

  private read(i: number): unknown {
    const s = this.spans[i * 2];
    const e = this.spans[i * 2 + 1];
    return e === 0 ? undefined : JSON.parse(this.src.toString('utf8', s, e));
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

  /** The raw bytes of params / result / error, or undefined when absent. */
  raw(member: 'params' | 'result' | 'error'): Uint8Array | undefined {
    const i = member === 'params' ? 0 : member === 'result' ? 1 : 2;
    const e = this.spans[i * 2 + 1];
    return e === 0 ? undefined : this.src.subarray(this.spans[i * 2], e);
  }

  get params(): unknown {
    if (this._params === NOT_READ) this._params = this.read(0);
    return this._params;
  }
  get result(): unknown {
    if (this._result === NOT_READ) this._result = this.read(1);
    return this._result;
  }
  /** The error object of an error response, or the -32600 error of an invalid message. */
  get error(): unknown {
    if (this._error === NOT_READ) this._error = this.read(2);
    return this._error;
  }
}

// ── cores: one slot big enough for the message ─────────────────────────────────────

interface Lane {
  core: WasmCore;
  slot: Slot;
}
const lanes: Lane[] = [];

function laneFor(n: number): Lane {
  for (const l of lanes) if (l.slot.capacity >= n) return l;
  let size = 64 * 1024;
  while (size < n) size *= 2;
  const core = new WasmCore({ slotSize: size, slotCount: 1 });
  const lane = { core, slot: core.pool.lease() };
  lanes.push(lane);
  lanes.sort((a, b) => a.slot.capacity - b.slot.capacity);
  return lane;
}

function idOf(src: Buffer, kind: number, s: number, e: number, escaped: boolean): JsonRpcId | undefined {
  if (kind === ValueKind.NONE) return undefined;
  if (kind === ValueKind.NULL) return null;
  if (kind === ValueKind.NUMBER) return Number(src.toString('latin1', s, e));
  if (kind === ValueKind.STRING) return escaped ? (JSON.parse(src.toString('utf8', s, e)) as string) : src.toString('utf8', s + 1, e - 1);
  return undefined;
}

/**
 * Parses a JSON-RPC 2.0 message or batch. Never throws for bad input: a result with
 * `ok: false` carries -32700 (not JSON, with the byte offset) or -32600 (JSON that is
 * not a usable Request/Response, or an empty batch). Batch members that are not valid
 * Request/Response objects come back as `kind: 'invalid'` with their -32600 `error`.
 */
export function parseJsonRpc(bytes: Uint8Array, options: JsonRpcOptions = {}): JsonRpcParseResult {
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  if (bytes.length > maxBytes) {
    return { ok: false, error: { code: -32600, message: `Invalid Request: message larger than ${maxBytes} bytes` } };
  }
  const maxDepth = options.maxDepth ?? 128;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth >= ABI.JSON_MAX_DEPTH) {
    throw new ConduitError(ErrorCodes.INVALID_OPTION, `maxDepth must be an integer between 1 and ${ABI.JSON_MAX_DEPTH - 1}, got ${maxDepth}`);
  }
  const { core, slot } = laneFor(bytes.length);
  core.u8.set(bytes, slot.data);
  const status = core.exports.json_parse(slot.data, bytes.length, maxDepth + 1);
  const h = core.exports.abi_json_scratch();
  const u32 = core.u32;
  if (status !== JsonStatus.OK) {
    const [code, message] = STATUS_MESSAGES[status] ?? [-32700, 'Parse error'];
    const offset = u32[(h + ABI.JSON_ERROR_OFFSET) >>> 2];
    return { ok: false, error: code === -32700 ? { code, message: `${message} at byte ${offset}`, offset } : { code, message } };
  }
  const src = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const batch = u32[(h + ABI.JSON_BATCH) >>> 2] === 1;
  const count = u32[(h + ABI.JSON_COUNT) >>> 2];
  const messages: Envelope[] = [];
  for (let i = 0; i < count; i++) {
    const r = (h + ABI.JSON_RECORDS_OFFSET + i * ABI.JSON_RECORD_SIZE) >>> 2;
    messages.push(envelopeOf(u32, r, src));
  }
  if (!batch && messages[0].kind === 'invalid') {
    return { ok: false, error: { code: -32600, message: (messages[0].error as JsonRpcErrorObject).message } };
  }
  return { ok: true, batch, messages };
}

function envelopeOf(u32: Uint32Array, r: number, src: Buffer): Envelope {
  const at = (off: number) => u32[r + off / 4];
  const bits = at(ABI.JSON_REC_BITS);
  if ((bits & MessageBits.KEY_ESCAPED) !== 0) {
    // A member name with escapes ("\u006dethod"): decide from the parsed object.
    return envelopeFromValue(JSON.parse(src.toString('utf8', at(ABI.JSON_REC_START), at(ABI.JSON_REC_END))), src);
  }
  const spans = new Uint32Array([
    at(ABI.JSON_REC_PARAMS), at(ABI.JSON_REC_PARAMS + 4),
    at(ABI.JSON_REC_RESULT), at(ABI.JSON_REC_RESULT + 4),
    at(ABI.JSON_REC_ERROR), at(ABI.JSON_REC_ERROR + 4),
  ]);
  const msgKind = at(ABI.JSON_REC_MSG_KIND);
  const id = idOf(src, at(ABI.JSON_REC_ID + 8), at(ABI.JSON_REC_ID), at(ABI.JSON_REC_ID + 4), (bits & MessageBits.ID_ESCAPED) !== 0);
  if (msgKind === MsgKind.INVALID || msgKind === 0) {
    const reason = INVALID_MESSAGES[at(ABI.JSON_REC_INVALID)] ?? 'Invalid Request';
    const validId = at(ABI.JSON_REC_ID + 8) === ValueKind.STRING || at(ABI.JSON_REC_ID + 8) === ValueKind.NUMBER || at(ABI.JSON_REC_ID + 8) === ValueKind.NULL;
    return new Envelope('invalid', validId ? id : null, undefined, src, new Uint32Array(6), { code: -32600, message: reason });
  }
  let method: string | undefined;
  if (at(ABI.JSON_REC_METHOD + 8) === ValueKind.STRING) {
    const s = at(ABI.JSON_REC_METHOD);
    const e = at(ABI.JSON_REC_METHOD + 4);
    method = (bits & MessageBits.METHOD_ESCAPED) !== 0 ? (JSON.parse(src.toString('utf8', s, e)) as string) : src.toString('utf8', s + 1, e - 1);
  }
  return new Envelope(KINDS[msgKind], id, method, src, spans);
}

/** The slow path for envelopes whose member names have escapes: the same rules, in JS. */
function envelopeFromValue(v: unknown, src: Buffer): Envelope {
  const invalid = (why: number, id?: unknown) => new Envelope('invalid',
    typeof id === 'string' || typeof id === 'number' || id === null ? id : null, undefined, src, new Uint32Array(6),
    { code: -32600, message: INVALID_MESSAGES[why] });
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return invalid(InvalidReason.NOT_OBJECT);
  const o = v as Record<string, unknown>;
  const isId = (x: unknown) => typeof x === 'string' || typeof x === 'number' || x === null;
  if (!('jsonrpc' in o)) return invalid(InvalidReason.NO_JSONRPC, o.id);
  if (o.jsonrpc !== '2.0') return invalid(InvalidReason.BAD_JSONRPC, o.id);
  const spans = new Uint32Array(6);
  if ('method' in o) {
    if (typeof o.method !== 'string') return invalid(InvalidReason.BAD_METHOD, o.id);
    if ('result' in o || 'error' in o) return invalid(InvalidReason.METHOD_AND_RESULT, o.id);
    if ('params' in o && (typeof o.params !== 'object' || o.params === null)) return invalid(InvalidReason.BAD_PARAMS, o.id);
    if ('id' in o && !isId(o.id)) return invalid(InvalidReason.BAD_ID);
    const e = new Envelope('id' in o ? 'request' : 'notification', 'id' in o ? (o.id as JsonRpcId) : undefined, o.method, src, spans);
    Object.defineProperty(e, 'params', { value: o.params });
    return e;
  }
  if ('result' in o || 'error' in o) {
    if ('result' in o && 'error' in o) return invalid(InvalidReason.BOTH_RESULT_AND_ERROR, o.id);
    if (!('id' in o)) return invalid(InvalidReason.RESPONSE_WITHOUT_ID);
    if (!isId(o.id)) return invalid(InvalidReason.BAD_ID);
    if ('error' in o && (typeof o.error !== 'object' || o.error === null || Array.isArray(o.error))) return invalid(InvalidReason.BAD_ERROR, o.id);
    const e = new Envelope('error' in o ? 'error' : 'response', o.id as JsonRpcId, undefined, src, spans);
    Object.defineProperty(e, 'result', { value: o.result });
    Object.defineProperty(e, 'error', { value: o.error });
    return e;
  }
  return invalid(InvalidReason.NO_METHOD_OR_RESULT, o.id);
}

/** Validates bytes as JSON (RFC 8259, UTF-8); returns null, or where and why it is not JSON. */
export function validateJson(bytes: Uint8Array, options: Pick<JsonRpcOptions, 'maxDepth'> = {}): null | { offset: number; message: string } {
  const { core, slot } = laneFor(bytes.length);
  core.u8.set(bytes, slot.data);
  const status = core.exports.json_parse(slot.data, bytes.length, (options.maxDepth ?? 128) + 1);
  if (status === JsonStatus.OK || status === JsonStatus.NOT_OBJECT_OR_ARRAY || status === JsonStatus.EMPTY_BATCH
    || status === JsonStatus.BATCH_TOO_LARGE) return null;
  const h = core.exports.abi_json_scratch();
  return { offset: core.u32[(h + ABI.JSON_ERROR_OFFSET) >>> 2], message: STATUS_MESSAGES[status][1] };
}
