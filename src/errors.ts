// One registry of Conduit's error codes (fastify's lib/errors.js is the model): every
// error Conduit raises or returns carries a stable `code` a program can branch on. The
// codes of every module live here, the SSE framer's and the HTTP server's included.

import { STATUS_INFO, Status } from './wasm/abi.generated.js';

export const ErrorCodes = {
  /** A span or slot handle was used after its slot was released. */
  STALE_SLOT: 'CONDUIT_ERR_STALE_SLOT',
  /** The buffer pool has no free slot. */
  POOL_EXHAUSTED: 'CONDUIT_ERR_POOL_EXHAUSTED',
  /** The WASM build is missing or does not match this version of the TypeScript. */
  WASM_ABI: 'CONDUIT_ERR_WASM_ABI',
  /** An option or argument is out of range or of the wrong kind. */
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
  /** req.stream(): the connection closed before the request body was complete. */
  BODY_ABORTED: 'CONDUIT_ERR_BODY_ABORTED',
  /** req.stream(): the body did not arrive within requestTimeout (the client gets 408). */
  BODY_TIMEOUT: 'CONDUIT_ERR_BODY_TIMEOUT',
  /** req.stream() was called a second time: the body is read once. */
  BODY_READ_TWICE: 'CONDUIT_ERR_BODY_READ_TWICE',
  /** req.bytes(max): the body is larger than max (the client gets 413). */
  BODY_TOO_LARGE: 'CONDUIT_ERR_BODY_TOO_LARGE',
  /** req.text() / req.json() on a route that streams its body (read it with req.stream()). */
  BODY_STREAMED: 'CONDUIT_ERR_BODY_STREAMED',
  /** res.send() / sse() / stream() after the response was already sent or started. */
  RESPONSE_SENT: 'CONDUIT_ERR_RESPONSE_SENT',
  /** res.status(): not an integer in 200..599. */
  INVALID_STATUS: 'CONDUIT_ERR_INVALID_STATUS',
  /** res.header(): the name is not a token, or the value holds a character a field cannot. */
  INVALID_HEADER: 'CONDUIT_ERR_INVALID_HEADER',
  /**
   * A header that frames the message (Transfer-Encoding, Connection, Keep-Alive, Upgrade,
   * Trailer) set by a handler, or a Content-Length that does not match the body: the
   * server owns the framing (one per response).
   */
  FRAMING_HEADER: 'CONDUIT_ERR_FRAMING_HEADER',
  /** A write to a streamed response (res.stream()) after it ended. */
  STREAM_ENDED: 'CONDUIT_ERR_STREAM_ENDED',
  /** A 204 or 304 response was asked to stream a body. */
  NO_BODY_STATUS: 'CONDUIT_ERR_NO_BODY_STATUS',
  /** transport: 'native' was asked for and the addon is not built, or reusePort without it. */
  TRANSPORT_UNAVAILABLE: 'CONDUIT_ERR_TRANSPORT_UNAVAILABLE',
  /** A config module (conduit serve --config) is missing, fails to load or exports no app. */
  INVALID_CONFIG: 'CONDUIT_ERR_INVALID_CONFIG',
  /** A worker instance (conduit serve --workers) exited before it listened. */
  WORKER_EXITED: 'CONDUIT_ERR_WORKER_EXITED',
  /** A model file could not be read or loaded by onnxruntime. */
  MODEL_LOAD: 'CONDUIT_ERR_MODEL_LOAD',
  /** The execution provider asked for (device: 'cuda', 'webgpu') is not available. */
  DEVICE_UNAVAILABLE: 'CONDUIT_ERR_DEVICE_UNAVAILABLE',
  /** No model of that name or version (answered 404). */
  MODEL_NOT_FOUND: 'CONDUIT_ERR_MODEL_NOT_FOUND',
  /** A model cannot be loaded within the model memory budget beside models in use (503). */
  MODEL_MEMORY: 'CONDUIT_ERR_MODEL_MEMORY',
  /** A model cannot be unloaded while requests use it. */
  MODEL_BUSY: 'CONDUIT_ERR_MODEL_BUSY',
  /** An inference request cancelled before it ran (its client went away). */
  INFERENCE_CANCELLED: 'CONDUIT_ERR_INFERENCE_CANCELLED',
  /** Inference failed in the worker for a reason with no code of its own. */
  INFERENCE_FAILED: 'CONDUIT_ERR_INFERENCE_FAILED',
  /** A model's request queue is full (answered 503 with Retry-After). */
  QUEUE_FULL: 'CONDUIT_ERR_QUEUE_FULL',
  /** A request waited in a model's queue longer than its queueTimeoutMs (a 503). */
  QUEUE_TIMEOUT: 'CONDUIT_ERR_QUEUE_TIMEOUT',
  /** Inference input that does not fit the model (unknown name, wrong type, shape or size). */
  INVALID_TENSOR: 'CONDUIT_ERR_INVALID_TENSOR',
  // The SSE framer (SseFramer), also listed as SseErrorCodes:
  /** SSE `id` contains CR or LF. */
  SSE_ID_LINE_BREAK: 'CONDUIT_ERR_SSE_ID_LINE_BREAK',
  /** SSE `id` contains NUL (clients would ignore it). */
  SSE_ID_NUL: 'CONDUIT_ERR_SSE_ID_NUL',
  /** SSE `event` contains CR or LF. */
  SSE_EVENT_LINE_BREAK: 'CONDUIT_ERR_SSE_EVENT_LINE_BREAK',
  /** SSE `retry` is not an integer in [0, 2^53 - 1]. */
  SSE_RETRY_INVALID: 'CONDUIT_ERR_SSE_RETRY_INVALID',
  /** SSE `id` and `event` together do not fit the framer's field area. */
  SSE_FIELD_TOO_LONG: 'CONDUIT_ERR_SSE_FIELD_TOO_LONG',
  /** SSE `data` is not a string or Uint8Array, or `id` / `event` is not a string. */
  SSE_INVALID_EVENT: 'CONDUIT_ERR_SSE_INVALID_EVENT',
} as const;

/** The SSE framer's codes under their short names (the same strings as ErrorCodes.SSE_*). */
export const SseErrorCodes = {
  ID_LINE_BREAK: ErrorCodes.SSE_ID_LINE_BREAK,
  ID_NUL: ErrorCodes.SSE_ID_NUL,
  EVENT_LINE_BREAK: ErrorCodes.SSE_EVENT_LINE_BREAK,
  RETRY_INVALID: ErrorCodes.SSE_RETRY_INVALID,
  FIELD_TOO_LONG: ErrorCodes.SSE_FIELD_TOO_LONG,
  INVALID_EVENT: ErrorCodes.SSE_INVALID_EVENT,
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
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new ConduitError(ErrorCodes.INVALID_STATUS, `HttpError status must be an integer in 400..599, got ${status}`);
    }
    super(code, message);
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
