// parseHttpRequest: a one-shot convenience over HttpParser for embedders.

import { HttpParser, headContentLength, limitsFor, type HeadValues, type HeaderList, type HttpLimits } from './parser.js';
import { HttpParseError } from '../errors.js';
import { ABI, Events, MessageFlags, Status } from '../wasm/abi.generated.js';
import type { WasmCore } from '../wasm/loader.js';
import { holdSlot, type Lease } from '../wasm/leases.js';

export interface ParsedRequest {
  method: string;
  /** The request-target as sent. */
  target: string;
  version: '1.1' | '1.0';
  headers: HeaderList;
  /** The body, de-chunked; null when the request has no body framing (no Content-Length, not chunked). */
  body: Uint8Array | null;
  /** Trailer fields of a chunked body (empty when none). */
  trailers: HeaderList;
  keepAlive: boolean;
  /** Upgrade or CONNECT: bytes after `consumed` belong to another protocol. */
  upgrade: boolean;
  expectContinue: boolean;
  /** Bytes of the input this request took (the next pipelined request starts here). */
  consumed: number;
}

/**
 * Parses the first request in `bytes`. Never throws for bad input: it RETURNS an
 * HttpParseError — `incomplete: true` (code CONDUIT_ERR_HTTP_INCOMPLETE) when the bytes
 * end before the request does, otherwise the reason it is invalid, with the HTTP status
 * a server would answer and the byte offset where the problem is.
 */
export function parseHttpRequest(bytes: Uint8Array, options: HttpLimits & { core?: WasmCore } = {}): ParsedRequest | HttpParseError {
  // With the default limits, one parser per core serves every call (reset, not made and
  // destroyed: no slot lease, no closures); with limits of its own, a parser for the call.
  const own = options.maxRequestLine !== undefined || options.maxHeaderBytes !== undefined || options.maxHeaders !== undefined
    || options.maxChunkExtensions !== undefined || options.maxBodySize !== undefined;
  if (own) {
    const parser = new HttpParser({ ...options, sharedMemory: false, ...CALLBACKS });
    try {
      return parseWith(parser, bytes);
    } finally {
      parser.destroy();
    }
  }
  // (without a core: a slot in plain memory, which V8 copies into and out of with memcpy,
  // not element by element as with shared memory: a 4 KiB body 0.2 µs against 0.8-1.6 µs)
  const key = options.core ?? PLAIN;
  let parser = reused.get(key);
  if (parser === undefined) {
    parser = options.core !== undefined ? new HttpParser({ core: options.core, ...CALLBACKS }) : new HttpParser({ sharedMemory: false, ...CALLBACKS });
    reused.set(key, parser);
  } else parser.reset();
  try {
    return parseWith(parser, bytes);
  } finally {
    one.result = null;
    one.body = null;
  }
}

/** The one parse in progress (parseHttpRequest is synchronous, and its callbacks call nothing back). */
const one = { result: null as ParsedRequest | null, body: null as Uint8Array | null, bodyLen: 0, bodySize: 0, inputLength: 0, headSeen: false, framed: false };
const reused = new WeakMap<object, HttpParser>();
/** The key of the one-shot parser and head lane that have no core of the caller's. */
const PLAIN = {};

// Bodies up to 8 KiB are carved out of 64 KiB slabs: making an ArrayBuffer costs 0.3–2 µs
// in V8 (more than parsing the request), a view of one that exists ~20 ns (measured). As
// with Node's Buffer pool, a body that is kept keeps its slab alive.
const SLAB = 64 * 1024;
const SLAB_MAX = 8 * 1024;
let slab = new ArrayBuffer(0);
let slabAt = 0;
function carve(n: number): Uint8Array {
  if (n > SLAB_MAX) return new Uint8Array(n);
  if (slabAt + n > slab.byteLength) {
    slab = new ArrayBuffer(SLAB);
    slabAt = 0;
  }
  const view = new Uint8Array(slab, slabAt, n);
  slabAt += (n + 7) & ~7;
  return view;
}
/**
 * body[0, len), giving the rest back to the slab when body was its last carving; a buffer of
 * its own much larger than len (a chunked body is bounded by its input, which may hold
 * pipelined requests behind it) is not kept for a small body: the body is copied out.
 */
function trim(body: Uint8Array, len: number): Uint8Array {
  if (len === body.length) return body;
  if (body.buffer === slab) {
    if (body.byteOffset + ((body.length + 7) & ~7) === slabAt) slabAt = body.byteOffset + ((len + 7) & ~7);
  } else if (len < body.length >>> 1) {
    const exact = carve(len);
    exact.set(body.subarray(0, len));
    return exact;
  }
  return body.subarray(0, len);
}

const CALLBACKS = {
  // (the head's strings straight from WASM memory: no RequestHead, no copy of the head)
  onHeadValues(head: HeadValues): void {
    const f = head.flags;
    one.headSeen = true;
    one.framed = (f & (MessageFlags.CHUNKED | MessageFlags.CONTENT_LENGTH)) !== 0;
    one.bodySize = head.contentLength >= 0 ? Math.min(head.contentLength, one.inputLength) : one.inputLength;
    one.result = {
      method: head.method,
      target: head.target,
      version: head.version,
      headers: head.headers,
      body: null,
      trailers: [],
      keepAlive: (f & MessageFlags.KEEP_ALIVE) !== 0,
      upgrade: (f & (MessageFlags.UPGRADE | MessageFlags.CONNECT)) !== 0,
      expectContinue: (f & MessageFlags.EXPECT_CONTINUE) !== 0,
      consumed: 0,
    };
  },
  // (one buffer filled in place, of the size the body can reach in this input: Content-Length,
  // at most the input's length)
  onBody(chunk: Uint8Array): void {
    if (one.body === null || one.bodyLen + chunk.length > one.body.length) {
      const bigger = carve(Math.max(one.bodySize, one.bodyLen + chunk.length));
      if (one.body !== null) bigger.set(one.body.subarray(0, one.bodyLen));
      one.body = bigger;
    }
    one.body.set(chunk, one.bodyLen);
    one.bodyLen += chunk.length;
  },
  onMessageComplete(trailers: HeaderList | null, parser: HttpParser): void {
    const r = one.result!;
    if (one.framed) r.body = one.body === null ? new Uint8Array(0) : trim(one.body, one.bodyLen);
    if (trailers !== null) r.trailers = trailers;
    parser.pause();
  },
};

function parseWith(parser: HttpParser, bytes: Uint8Array): ParsedRequest | HttpParseError {
  one.result = null;
  one.body = null;
  one.bodyLen = 0;
  one.inputLength = bytes.length;
  one.headSeen = false;
  one.framed = false;
  const err = parser.execute(bytes);
  if (err !== null) return err;
  const result = one.result as ParsedRequest | null;
  if (result === null || parser.messages === 0) {
    return new HttpParseError(1 /* NEED_MORE */, one.headSeen ? bytes.length : parser.bytesConsumed + parser.pendingBytes);
  }
  result.consumed = parser.bytesConsumed;
  return result;
}

/**
 * A request head as offsets into the caller's own bytes (parseHttpHead): no strings made,
 * like picohttpparser's phr_parse_request.
 */
export interface HeadSpans {
  /** The method name (from the parser's method table: no decoding) and its id. */
  method: string;
  methodId: number;
  version: '1.1' | '1.0';
  /** MessageFlags bits (KEEP_ALIVE, CHUNKED, CONTENT_LENGTH, HAS_BODY, UPGRADE, ...). */
  flags: number;
  /** The Content-Length value; -1 when the head has none. */
  contentLength: number;
  /** The request-target is bytes[targetStart, targetEnd). */
  targetStart: number;
  targetEnd: number;
  /** Bytes of the head, through its blank line: the body (if any) starts here. */
  headLength: number;
  /**
   * 4 numbers per field line, in order: name offset, name length, value offset, value
   * length (offsets into the caller's bytes; values without surrounding whitespace).
   */
  fields: Uint32Array;
}

const headLanes = new WeakMap<object, Lease>();

/**
 * Parses the head of the first request in `bytes` and returns where its parts are; the
 * body (whatever follows `headLength`) is the caller's. Never throws for bad input: it
 * returns an HttpParseError, `incomplete: true` when the head has not ended yet. The
 * head is held to the same rules and limits as parseHttpRequest; a fault in the body
 * after it is not reported here.
 */
export function parseHttpHead(bytes: Uint8Array, options: HttpLimits & { core?: WasmCore } = {}): HeadSpans | HttpParseError {
  const key = options.core ?? PLAIN;
  let lane = headLanes.get(key);
  if (lane === undefined) {
    lane = options.core !== undefined ? { core: options.core, slot: options.core.pool.lease() } : holdSlot(32 * 1024, PLAIN, { shared: false });
    headLanes.set(key, lane);
  }
  const { core, slot } = lane;
  const limits = limitsFor(options, slot.capacity);
  const ex = core.exports;
  ex.http_init(slot.state, limits[0], limits[1], limits[2], limits[3], limits[4]);
  // (at the source's alignment mod 8: V8 copies into shared memory word by word only then)
  const at = slot.data + (bytes.byteOffset & 7);
  const n = Math.min(bytes.length, slot.capacity - 8);
  core.u8.set(n === bytes.length ? bytes : bytes.subarray(0, n), at);
  const ret = ex.http_execute(slot.state, at, n);
  const u32 = core.u32;
  const w = core.scratch >>> 2;
  const headSeen = ret >= 0 || (ret < -1 && (u32[w + ABI.RESULT_EVENTS / 4] & Events.HEAD) !== 0 &&
    u32[w + ABI.RESULT_ERROR_OFFSET / 4] >= u32[w + ABI.RESULT_HEAD_LEN / 4]);
  if (!headSeen || (u32[w + ABI.RESULT_EVENTS / 4] & Events.HEAD) === 0) {
    if (ret < -1) return new HttpParseError(-ret, u32[w + ABI.RESULT_ERROR_OFFSET / 4]);
    // (a head longer than the slot has already failed its limits, which are below the slot)
    return new HttpParseError(n < bytes.length ? Status.HEADERS_TOO_LARGE : Status.NEED_MORE, n);
  }
  const flags = u32[w + ABI.RESULT_FLAGS / 4];
  const methodId = u32[w + ABI.RESULT_METHOD / 4];
  const targetStart = u32[w + ABI.RESULT_TARGET_OFF / 4];
  const f = (core.scratch + ABI.FIELDS_OFFSET) >>> 2;
  return {
    method: core.methods[methodId],
    methodId,
    version: u32[w + ABI.RESULT_VERSION_MINOR / 4] === 1 ? '1.1' : '1.0',
    flags,
    contentLength: headContentLength(core, flags),
    targetStart,
    targetEnd: targetStart + u32[w + ABI.RESULT_TARGET_LEN / 4],
    headLength: u32[w + ABI.RESULT_HEAD_LEN / 4],
    fields: u32.slice(f, f + u32[w + ABI.RESULT_FIELD_COUNT / 4] * 4),
  };
}
