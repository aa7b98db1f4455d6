// The HTTP server's public types: the options, what a handler sees (Request, Response and
// the streams a response may become) and the hooks. Types only, no code: cors.ts and the
// modules built on the server (MCP, ML) depend on these, not on the server's internals.

import type { HttpLimits, RequestHead } from './parser.js';
import type { RouteParams } from './router.js';
import type { SseEvent } from '../sse/framer.js';

export interface ServerOptions extends HttpLimits {
  /**
   * Close a keep-alive connection idle this long (ms) between requests. Default 5000. It
   * does not run while a request arrives, a handler works on its answer, or a stream is
   * open. It also bounds an answer's delivery: a client that takes none of it for this
   * long is closed, and after the server's FIN (Connection: close) the client has this
   * long to close its side.
   */
  keepAliveTimeout?: number;
  /**
   * Time (ms) from a request's first byte until its body has fully arrived; then 408 and
   * close. Default 30000. Trickling bytes (slowloris) does not extend it.
   */
  requestTimeout?: number;
  /**
   * Time (ms) from a request's first byte until its head (request line and headers) has
   * arrived; then 408 and close. Default 10000 (capped by requestTimeout).
   */
  headersTimeout?: number;
  /** Most open connections; more are closed at once. Default 1,024. */
  maxConnections?: number;
  /**
   * Bytes a connection's streamed responses (SSE or res.stream()) may have waiting for a
   * client that does not read them, the streams queued behind another one included; past
   * this the connection is closed, and the streams' onClose runs. Default 8 MiB. (Kernel
   * socket buffers come on top.)
   */
  maxBufferedOutput?: number;
  /**
   * While an answer (a stream included) waits for a client that takes none of it, how long
   * (ms) before the connection is closed. Default 30000 (nginx's send_timeout is 60 s).
   * It runs in every state, so a stalled client cannot hold a stream's buffers for ever.
   */
  sendTimeout?: number;
  /**
   * 'native' (the epoll/kqueue addon, reading straight into WASM memory) or 'net'
   * (node:net). Default: native when the addon is built and CONDUIT_TRANSPORT is not
   * 'net', else net.
   */
  transport?: 'native' | 'net';
}

export interface ListenOptions {
  /** Address or name to bind (names are looked up). Default 127.0.0.1. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /**
   * Share the port with other listeners (worker instances; native transport only):
   * `true` joins listeners already there (SO_REUSEPORT); `'lead'` binds only when nothing
   * holds the port, then lets others join. Default false: the port must be free.
   */
  reusePort?: boolean | 'lead';
}

export interface Request {
  readonly method: string;
  /** The path, without the query string (still percent-encoded). */
  readonly path: string;
  /** The query string without '?', or ''. */
  readonly search: string;
  /** The query string, decoded (parsed once, on first use). */
  readonly query: URLSearchParams;
  readonly params: RouteParams;
  /** The pattern of the route that matched ('/users/:id'), or null when none did. */
  readonly route: string | null;
  readonly head: RequestHead;
  /** The body (empty when there is none, or when the route streams it). */
  readonly body: Uint8Array;
  /** A header value (case-insensitive name). */
  header(name: string): string | undefined;
  text(): string;
  /** The body parsed as JSON; invalid JSON throws an HttpError 400 (the client gets a 400). */
  json(): unknown;
  /**
   * The whole body as one Uint8Array, on any route (on a streaming route, once it has all
   * arrived: one promise, no chunk-by-chunk iteration). More than `max` bytes (default: no
   * limit but the parser's maxBodySize) rejects with an HttpError 413
   * (CONDUIT_ERR_BODY_TOO_LARGE) as soon as it is known, from Content-Length before any
   * of the body is read, and the rest is dropped as it arrives. The body is read once.
   */
  bytes(max?: number): Promise<Uint8Array>;
  /**
   * The body as chunks. On a route added with `{ stream: true }` they arrive as the client
   * sends them, and reading is paused while 64 KiB wait unread (backpressure to the
   * socket); elsewhere the buffered body is one chunk. It throws when the connection fails
   * before the body ends. One reader only. A body not read (the handler answered without
   * reading it, or stopped reading) is dropped as it arrives.
   */
  stream(): AsyncIterable<Uint8Array>;
}

export interface Response {
  /** Sets the status (an integer in 200..599). */
  status(code: number): this;
  /**
   * Adds a header. Throws a ConduitError (CONDUIT_ERR_INVALID_HEADER) for a name that is
   * not a token, or a value with CR, LF, NUL, another control character, or a character
   * above U+00FF (values are sent as latin1, as node:http does). The server owns the
   * framing: Transfer-Encoding, Connection, Keep-Alive, Upgrade and Trailer are refused
   * (CONDUIT_ERR_FRAMING_HEADER); a Content-Length must match the body send() is given
   * (for HEAD and 304 answers it is sent as given: the size a GET would have), and a
   * streamed response takes none.
   */
  header(name: string, value: string): this;
  send(body?: string | Uint8Array): void;
  json(value: unknown): void;
  /** Starts a Server-Sent Events stream (200, text/event-stream) on this response. */
  sse(options?: { heartbeatMs?: number }): SseStream;
  /**
   * Starts a streamed body (Transfer-Encoding: chunked; close-delimited for HTTP/1.0)
   * with the status and headers set so far.
   */
  stream(options?: { highWaterMark?: number }): BodyStream;
  readonly sent: boolean;
  /**
   * Called once if the client goes away before this response was handed to the
   * connection in full: the connection closed while the handler worked or its stream was
   * open, or the client closed its side (FIN) before the handler answered (what it sends
   * then is still delivered if it can be). A handler can stop work nobody will read. Not
   * called for a response that was delivered.
   */
  onAborted(cb: () => void): void;
}

/** A streamed response body. */
export interface BodyStream {
  /**
   * Queues a chunk. Returns false once the connection holds highWaterMark bytes (default
   * 64 KiB) not yet taken by the client: wait for drained() before writing more.
   */
  write(chunk: string | Uint8Array): boolean;
  /** Resolves when the connection can take more (at once when it can, or when closed). */
  drained(): Promise<void>;
  /** Ends the body (the last chunk), optionally writing a final chunk first. */
  end(chunk?: string | Uint8Array): void;
  readonly closed: boolean;
  /** Called once when the stream ends (by end(), or because the client went away). */
  onClose(cb: () => void): void;
}

/** An open SSE response. Events are framed by the WASM framer. */
export interface SseStream {
  send(event: SseEvent): void;
  comment(text: string): void;
  close(): void;
  readonly closed: boolean;
  /** Called once when the stream ends (closed by the server or the client). */
  onClose(cb: () => void): void;
}

export type Handler = (req: Request, res: Response) => unknown;

export interface RouteOptions {
  /** Run the handler when the head arrives; it reads the body with req.stream(). */
  stream?: boolean;
}

/**
 * Lifecycle hooks, in order: onRequest (every request, before routing answers: it may
 * answer itself, e.g. CORS preflight), preHandler (matched routes, just before the
 * handler), onSend (synchronous: may change headers or replace the payload), onError (a
 * handler or hook threw: may send a custom response; otherwise 500). A hook that sends a
 * response ends the chain (short-circuit). onRequest / preHandler / onError may be async.
 * A hook that throws is answered like a handler that throws, on every path (404s too).
 */
export interface Hooks {
  onRequest: Handler[];
  preHandler: Handler[];
  onSend: Array<(req: Request, res: Response, payload: string | Uint8Array) => string | Uint8Array | void>;
  onError: Array<(err: unknown, req: Request, res: Response) => unknown>;
}
export type HookName = keyof Hooks;
