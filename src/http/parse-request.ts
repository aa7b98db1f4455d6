// parseHttpRequest: a one-shot convenience over HttpParser for embedders.

import { HttpParser, type HeaderList, type HttpLimits } from './parser.js';
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
  let result: ParsedRequest | null = null;
  const chunks: Uint8Array[] = [];
  let bodyLen = 0;
  let headSeen = false;
  let framed = false;
  const parser = new HttpParser({
    ...options,
    onHead(head) {
      headSeen = true;
      framed = (head.flags & (MessageFlags.CHUNKED | MessageFlags.CONTENT_LENGTH)) !== 0;
      result = {
        method: head.method,
        target: head.target,
        version: head.version,
        headers: head.headers,
        body: null,
        trailers: [],
        keepAlive: head.keepAlive,
        upgrade: head.upgrade || head.connect,
        expectContinue: head.expectContinue,
        consumed: 0,
      };
    },
    onBody(chunk) {
      chunks.push(chunk.slice());
      bodyLen += chunk.length;
    },
    onMessageComplete(trailers) {
      const r = result!;
      if (framed) {
        const body = new Uint8Array(bodyLen);
        let o = 0;
        for (const c of chunks) {
          body.set(c, o);
          o += c.length;
        }
        r.body = body;
      }
      if (trailers !== null) r.trailers = trailers;
      parser.pause();
    },
  });
  try {
    const err = parser.execute(bytes);
    if (err !== null) return err;
    if (result === null || parser.messages === 0) {
      return new HttpParseError(1 /* NEED_MORE */, headSeen ? bytes.length : parser.bytesConsumed + parser.pendingBytes);
    }
    (result as ParsedRequest).consumed = parser.bytesConsumed;
    return result;
  } finally {
    parser.destroy();
  }
}
