// parseHttpRequest: a one-shot convenience over HttpParser for embedders.

import { HttpParser, type HeadValues, type HeaderList, type HttpLimits } from './parser.js';
import { HttpParseError } from '../errors.js';
import { MessageFlags } from '../wasm/abi.generated.js';
import type { WasmCore } from '../wasm/loader.js';

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
    const parser = new HttpParser({ ...options, ...CALLBACKS });
    try {
      return parseWith(parser, bytes);
    } finally {
      parser.destroy();
    }
  }
  const key = options.core ?? SHARED;
  let parser = reused.get(key);
  if (parser === undefined) {
    parser = new HttpParser({ core: options.core, ...CALLBACKS });
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
const SHARED = {};
const reused = new WeakMap<object, HttpParser>();

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
      const bigger = new Uint8Array(Math.max(one.bodySize, one.bodyLen + chunk.length));
      if (one.body !== null) bigger.set(one.body.subarray(0, one.bodyLen));
      one.body = bigger;
    }
    one.body.set(chunk, one.bodyLen);
    one.bodyLen += chunk.length;
  },
  onMessageComplete(trailers: HeaderList | null, parser: HttpParser): void {
    const r = one.result!;
    if (one.framed) r.body = one.body === null ? new Uint8Array(0) : one.body.subarray(0, one.bodyLen);
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
