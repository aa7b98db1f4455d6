// One registry of Conduit's error codes (fastify's lib/errors.js is the model): every
// error Conduit raises or returns carries a stable `code` a program can branch on.

import { STATUS_INFO, Status } from './wasm/abi.generated.js';

export const ErrorCodes = {
  /** A span or slot handle was used after its slot was released. */
  STALE_SLOT: 'CONDUIT_ERR_STALE_SLOT',
  /** The buffer pool has no free slot. */
  POOL_EXHAUSTED: 'CONDUIT_ERR_POOL_EXHAUSTED',
  /** The WASM build is missing or does not match this version of the TypeScript. */
  WASM_ABI: 'CONDUIT_ERR_WASM_ABI',
  /** An option is out of range. */
  INVALID_OPTION: 'CONDUIT_ERR_INVALID_OPTION',
  /** parseHttpRequest: the bytes end before the first request does. */
  HTTP_INCOMPLETE: 'CONDUIT_ERR_HTTP_INCOMPLETE',
  /** Router.add: the route pattern or method is invalid, or already registered. */
  INVALID_ROUTE: 'CONDUIT_ERR_INVALID_ROUTE',
  /** An error a handler throws to answer with a given HTTP status (HttpError). */
  HTTP_ERROR: 'CONDUIT_ERR_HTTP',
  /** req.json(): the body is not valid JSON. */
  INVALID_JSON_BODY: 'CONDUIT_ERR_INVALID_JSON_BODY',
  /** req.stream(): the client ended its side before the request body was complete. */
  BODY_INCOMPLETE: 'CONDUIT_ERR_BODY_INCOMPLETE',
} as const;

export class ConduitError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ConduitError';
    this.code = code;
  }
}

/**
 * Thrown by a handler or hook (or by req.json()) to answer with `status` (400..599) and
 * `message` as the text body, instead of a 500. Messages of 5xx errors are not sent.
 */
export class HttpError extends ConduitError {
  readonly status: number;
  constructor(status: number, message: string, code: string = ErrorCodes.HTTP_ERROR) {
    super(code, message);
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new RangeError(`HttpError status must be 400..599, got ${status}`);
    this.name = 'HttpError';
    this.status = status;
  }
}

/**
 * A request Conduit's HTTP parser refused (or, for parseHttpRequest, one that ended
 * early). `status` is the HTTP status a server answers with; `code` is
 * `CONDUIT_ERR_HTTP_<STATUS NAME>`; `parserStatus` the numeric Status of assembly/status.ts;
 * `offset` the byte offset in the input where the problem was found.
 */
export class HttpParseError extends ConduitError {
  readonly status: number;
  readonly parserStatus: number;
  readonly reason: string;
  readonly offset: number;
  readonly incomplete: boolean;
  constructor(parserStatus: number, offset: number) {
    const info = STATUS_INFO[parserStatus] ?? STATUS_INFO[Status.INVALID_STATE];
    const incomplete = parserStatus === Status.NEED_MORE;
    const code = incomplete ? ErrorCodes.HTTP_INCOMPLETE : `CONDUIT_ERR_HTTP_${info.name}`;
    super(code, `${info.reason} (at byte ${offset})`);
    this.name = 'HttpParseError';
    this.status = incomplete ? 400 : info.http;
    this.parserStatus = parserStatus;
    this.reason = info.reason;
    this.offset = offset;
    this.incomplete = incomplete;
  }
}
