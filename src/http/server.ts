// Conduit's HTTP/1.1 server: the WASM parser, the radix router and prebuilt error
// responses, over the native epoll/kqueue transport (reading straight into the parser's
// WASM slot) or node:net. Keep-alive, pipelining with responses in request order,
// Expect: 100-continue, buffered or streamed request bodies, hooks, handler errors as
// 500s (or an HttpError's status), SSE and chunked streamed responses with backpressure,
// headers/request/idle timeouts, output limits for slow readers, graceful shutdown.

import dns from 'node:dns/promises';
import net from 'node:net';
import { HttpParser, RequestHead, type HttpLimits, type HttpParserOptions } from './parser.js';
import { Router, type RouteParams, type RouteResult } from './router.js';
import { buildErrorResponse, errorResponseFor } from './error-responses.js';
import { ErrorCodes, HttpError, type HttpParseError } from '../errors.js';
import { SseFramer, type SseEvent } from '../sse/framer.js';
import { WasmCore } from '../wasm/loader.js';
import { nativeTransport, type NativeModule, type NativeTransport } from '../net/native.js';

export interface ServerOptions extends HttpLimits {
  /**
   * Close a keep-alive connection idle this long (ms) between requests. Default 5000. It
   * does not run while a request arrives, a handler works on its answer, or a stream is open.
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
   * Bytes a streamed response (SSE or res.stream()) may have waiting for a client that
   * does not read them; past this the connection is closed, and the stream's onClose
   * runs. Default 8 MiB. (Kernel socket buffers come on top.)
   */
  maxBufferedOutput?: number;
  /**
   * 'native' (the epoll/kqueue addon, reading straight into WASM memory) or 'net'
   * (node:net). Default: native when the addon is built and CONDUIT_TRANSPORT is not
   * 'net', else net.
   */
  transport?: 'native' | 'net';
}

/** What a connection writes to: a node:net socket or a native descriptor. */
interface Wire {
  write(b: Uint8Array): void;
  /** Writes the buffers in order, gathered into one write where the transport can (writev). */
  writeAll(list: readonly Uint8Array[]): void;
  /** Bytes written but not yet taken by the kernel. */
  buffered(): number;
  /** Calls cb once when everything buffered has gone to the kernel. */
  onDrain(cb: () => void): void;
  /** Closes once everything written so far is out. */
  end(): void;
  /** Closes the connection after `ms` without traffic (0: never). */
  setIdle(ms: number): void;
  /** Closes the connection now, dropping what is unsent. */
  destroy(): void;
  /** Stops reading from the client (backpressure from a streamed body), then resumes. */
  /**
   * Stops reading from the client until as many resumeInput() calls (holds are counted:
   * a streamed body and output backpressure may both hold it).
   */
  pauseInput(): void;
  resumeInput(): void;
}

/** A streamed request body: chunks as they arrive; input pauses while highWaterMark bytes wait. */
class BodyReader implements AsyncIterable<Uint8Array> {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private ended = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;
  private paused = false;
  private taken = false;
  /** Nobody will read the rest: it is dropped as it arrives. */
  private discarding = false;

  constructor(private readonly wire: Wire, private readonly highWaterMark = 64 * 1024) {}

  /** Whether a consumer is reading the chunks (began, and has not stopped). */
  get reading(): boolean {
    return this.taken && !this.discarding;
  }

  /**
   * Drops what waits and what is still to come, and reads on if input was paused: the
   * handler answered without reading the body, or stopped reading it. (The parser's
   * limits and requestTimeout still bound what is read.)
   */
  discard(): void {
    if (this.discarding) return;
    this.discarding = true;
    this.chunks = [];
    this.bytes = 0;
    this.unpause();
  }

  push(chunk: Uint8Array): void {
    if (this.discarding) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= this.highWaterMark && !this.paused) {
      this.paused = true;
      this.wire.pauseInput();
    }
    this.notify();
  }
  end(): void {
    this.ended = true;
    this.unpause();
    this.notify();
  }
  fail(e: Error): void {
    if (this.ended) return;
    this.error = e;
    this.ended = true;
    this.unpause();
    this.notify();
  }
  /** The body is complete (or failed): nothing is left to hold back, so input goes on. */
  private unpause(): void {
    if (!this.paused) return;
    this.paused = false;
    // (later: this runs inside the parser's callbacks)
    queueMicrotask(() => this.wire.resumeInput());
  }
  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.taken) throw new Error('the request body stream is read once');
    this.taken = true;
    try {
      for (;;) {
        const c = this.chunks.shift();
        if (c !== undefined) {
          this.bytes -= c.length;
          if (this.paused && this.bytes < this.highWaterMark) {
            this.paused = false;
            this.wire.resumeInput();
          }
          yield c;
          continue;
        }
        if (this.error !== null) throw this.error;
        if (this.ended) return;
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      // The consumer stopped early (break, return, throw): the rest is not wanted.
      if (!this.ended) this.discard();
    }
  }
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
  readonly head: RequestHead;
  /** The body (empty when there is none, or when the route streams it). */
  readonly body: Uint8Array;
  /** A header value (case-insensitive name). */
  header(name: string): string | undefined;
  text(): string;
  /** The body parsed as JSON; invalid JSON throws an HttpError 400 (the client gets a 400). */
  json(): unknown;
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
  status(code: number): this;
  /**
   * Adds a header. Throws a TypeError for a name that is not a token, or a value with
   * CR, LF, NUL, another control character, or a character above U+00FF (values are
   * sent as latin1, as node:http does).
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
 */
export interface Hooks {
  onRequest: Handler[];
  preHandler: Handler[];
  onSend: Array<(req: Request, res: Response, payload: string | Uint8Array) => string | Uint8Array | void>;
  onError: Array<(err: unknown, req: Request, res: Response) => unknown>;
}
export type HookName = keyof Hooks;

const NO_PARAMS: RouteParams = Object.freeze({}) as RouteParams;

/** Runs hooks in order until one sends a response; resolves when done. */
async function runHooks(hooks: Handler[], req: Request, res: Response): Promise<void> {
  for (const h of hooks) {
    const r = h(req, res);
    if (r instanceof Promise) await r;
    if (res.sent) return;
  }
}

function runOnSend(hooks: Hooks['onSend'], req: Request, res: Response, payload: string | Uint8Array): string | Uint8Array {
  for (const h of hooks) {
    const r = h(req, res, payload);
    if (r !== undefined) payload = r;
  }
  return payload;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found',
  304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 409: 'Conflict', 413: 'Content Too Large', 415: 'Unsupported Media Type',
  422: 'Unprocessable Content', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const STATUS_LINES = new Map<number, string>();
function statusLine(code: number): string {
  let l = STATUS_LINES.get(code);
  if (l === undefined) {
    l = `HTTP/1.1 ${code} ${STATUS_TEXT[code] ?? 'Status'}\r\n`;
    STATUS_LINES.set(code, l);
  }
  return l;
}
const utf8 = new TextDecoder();

/** tchar (RFC 9110 §5.6.2): the characters of a field name. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;
function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}
/**
 * A field value's characters (RFC 9110 §5.5): HTAB, visible ASCII, SP, and obs-text
 * (0x80-0xFF, sent as latin1 as node:http does); no CR, LF, NUL or other controls.
 */
function fieldValueKind(s: string): 'ascii' | 'latin1' | 'invalid' {
  let kind: 'ascii' | 'latin1' = 'ascii';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return 'invalid';
    if (c >= 0x80) kind = 'latin1';
  }
  return kind;
}

class Res implements Response {
  code = 200;
  /** Headers set so far (none: null); dropped once the head is built. */
  headers: Array<[string, string]> | null = null;
  out: Buffer | null = null;
  /** Set when the response is streamed (SSE or chunked): it holds the connection until it ends. */
  held: HeldStream | null = null;
  /** Bytes a streamed body may leave unread by the client before the connection is closed. */
  maxBuffered = 8 * 1024 * 1024;
  /** onSend hooks (may replace the payload). */
  onSend: ((payload: string | Uint8Array) => string | Uint8Array) | null = null;
  /** A header value has obs-text (0x80-0xFF): the head is encoded apart from a string body. */
  private latin1Head = false;
  /** How many headers hooks had set when the handler started (-1: not started). */
  handlerMark = -1;

  /** Before an error answer: the handler's headers go, those hooks set (CORS...) stay. */
  dropHandlerHeaders(): void {
    if (this.headers === null || this.handlerMark < 0) return;
    if (this.handlerMark === 0) this.headers = null;
    else this.headers.length = this.handlerMark;
  }
  constructor(public keepAlive: boolean, private readonly isHead: boolean, private readonly conn: Connection,
    /** The client speaks HTTP/1.1: a streamed body can be chunked (else it ends with the connection). */
    private readonly canChunk = true) {}

  get sent(): boolean {
    return this.out !== null;
  }
  status(code: number): this {
    if (!Number.isInteger(code) || code < 200 || code > 599) throw new RangeError(`status must be an integer in 200..599, got ${code}`);
    this.code = code;
    return this;
  }
  header(name: string, value: string): this {
    if (!isToken(name)) throw new TypeError(`header name ${JSON.stringify(name)} is not a token (RFC 9110 §5.1)`);
    const kind = fieldValueKind(value);
    if (kind === 'latin1') this.latin1Head = true;
    else if (kind === 'invalid') {
      throw new TypeError(`header ${JSON.stringify(name)}: the value ${JSON.stringify(value)} has a character a field value cannot hold (CR, LF, NUL, other controls, or above U+00FF)`);
    }
    (this.headers ??= []).push([name, value]);
    return this;
  }
  json(value: unknown): void {
    if (!this.headers?.some(([n]) => n.toLowerCase() === 'content-type')) this.header('Content-Type', 'application/json');
    this.send(JSON.stringify(value));
  }
  sse(options: { heartbeatMs?: number } = {}): SseStream {
    if (this.out !== null) throw new Error('response already sent');
    const s = new SseStreamImpl(options.heartbeatMs ?? 15_000, this.canChunk, this.isHead, this.maxBuffered);
    this.startStream(s, 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n');
    return s;
  }

  stream(options: { highWaterMark?: number } = {}): BodyStream {
    if (this.out !== null) throw new Error('response already sent');
    if (this.code === 204 || this.code === 304) throw new Error(`a ${this.code} response has no body to stream`);
    const s = new ChunkedStream(options.highWaterMark ?? 64 * 1024, this.canChunk, this.isHead, this.maxBuffered);
    this.startStream(s, statusLine(this.code));
    return s;
  }

  private startStream(s: HeldStream, head: string): void {
    // (the hooks' headers are kept: an error answer may yet take this stream's place)
    head += this.headerLines(true);
    if (this.canChunk) head += 'Transfer-Encoding: chunked\r\n';
    else this.keepAlive = false; // HTTP/1.0: the body ends when the connection does
    if (this.conn.done) this.keepAlive = false;
    if (!this.keepAlive) head += 'Connection: close\r\n';
    this.held = s;
    this.out = Buffer.from(`${head}\r\n`, 'latin1');
    // HEAD: the head is the whole answer. The stream ends at once (onClose runs, writes are
    // dropped), so that it does not hold the connection.
    if (this.isHead) s.close();
    this.conn.flush();
  }

  /**
   * The header lines set so far. The list is dropped (the response is being sent), or
   * cut to the hooks' headers with `keepHookHeaders`.
   */
  private headerLines(keepHookHeaders = false): string {
    const hs = this.headers;
    if (hs === null) return '';
    this.headers = keepHookHeaders && this.handlerMark > 0 ? hs.slice(0, this.handlerMark) : null;
    let lines = '';
    for (let i = 0; i < hs.length; i++) lines += `${hs[i][0]}: ${hs[i][1]}\r\n`;
    return lines;
  }

  send(body: string | Uint8Array = ''): void {
    if (this.out !== null) throw new Error('response already sent');
    if (this.onSend !== null) {
      const hook = this.onSend;
      this.onSend = null; // (a hook that sends does not run the hooks again)
      body = hook(body);
      if (this.out !== null) return;
    }
    const noBody = this.code === 204 || this.code === 304;
    let head = statusLine(this.code) + this.headerLines();
    // (a connection shutting down since the request came closes after this answer)
    if (this.conn.done) this.keepAlive = false;
    if (!this.keepAlive) head += 'Connection: close\r\n';
    else if (!this.canChunk) head += 'Connection: keep-alive\r\n'; // (an HTTP/1.0 client that asked to keep it)
    const withBody = !this.isHead && !noBody;
    if (typeof body === 'string' && !this.latin1Head) {
      const len = Buffer.byteLength(body);
      if (!noBody) head += `Content-Length: ${len}\r\n`;
      // One allocation for head and body: the head is ASCII, the same in UTF-8.
      this.out = Buffer.from(withBody ? `${head}\r\n${body}` : `${head}\r\n`, 'utf8');
    } else {
      if (typeof body === 'string') body = Buffer.from(body, 'utf8');
      if (!noBody) head += `Content-Length: ${body.length}\r\n`;
      const h = Buffer.from(`${head}\r\n`, 'latin1');
      this.out = withBody && body.length > 0 ? Buffer.concat([h, body]) : h;
    }
    this.conn.flush();
  }
}

let sharedFramer: SseFramer | null = null;
const framer = () => (sharedFramer ??= new SseFramer());

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * A streamed response body. Its bytes are held until the connection reaches the response
 * (pipelining order), then written as they come: chunked for HTTP/1.1 clients, raw (the
 * connection closes at its end) for HTTP/1.0, nothing for HEAD.
 */
abstract class HeldStream {
  closed = false;
  protected wire: Wire | null = null;
  /** Bytes waiting for the connection to reach this response (none: null). */
  private held: Buffer[] | null = null;
  protected heldBytes = 0;
  private closers: Array<() => void> | null = null;
  /** The connection, once it reached this response; told when the stream ends. */
  private conn: Connection | null = null;

  /** More than maxBuffered bytes waited while the stream was queued: the client is dropped. */
  private overflowed = false;

  constructor(private readonly chunked: boolean, protected readonly bodyless: boolean, private readonly maxBuffered: number) {}

  /** The connection got to this response: write what is held. */
  attach(wire: Wire, conn: Connection): void {
    this.wire = wire;
    this.conn = conn;
    if (this.overflowed) {
      wire.destroy();
      return;
    }
    if (this.held !== null) for (const b of this.held) wire.write(b);
    this.held = null;
    this.heldBytes = 0;
    if (this.closed) conn.streamEnded(this);
    else this.attached();
  }

  protected attached(): void {}

  /** Whether the connection has reached this response (its head is written). */
  get started(): boolean {
    return this.wire !== null;
  }

  protected put(b: Uint8Array): void {
    if (this.closed || this.bodyless || b.length === 0) return;
    const framed = this.chunked ? Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`, 'latin1'), b, CRLF]) : Buffer.from(b);
    if (this.wire === null) {
      (this.held ??= []).push(framed);
      this.heldBytes += framed.length;
      if (this.heldBytes > this.maxBuffered) {
        // (The client is not even reading the responses before this one.)
        this.overflowed = true;
        this.abort();
      }
    } else {
      this.wire.write(framed);
      // A client this far behind (or not reading at all) is dropped: memory stays bounded.
      if (this.wire.buffered() > this.maxBuffered) this.wire.destroy();
    }
  }

  onClose(cb: () => void): void {
    if (this.closed) cb();
    else (this.closers ??= []).push(cb);
  }

  /** Ends the body: the last chunk, then the connection moves on. */
  close(): void {
    if (this.closed) return;
    if (this.chunked && !this.bodyless) {
      if (this.wire === null) (this.held ??= []).push(LAST_CHUNK);
      else this.wire.write(LAST_CHUNK);
    }
    this.finish();
  }

  /** The connection is gone: no last chunk. */
  abort(): void {
    if (this.closed) return;
    this.held = null;
    this.finish();
  }

  protected finish(): void {
    this.closed = true;
    this.stopped();
    const closers = this.closers;
    this.closers = null;
    if (closers !== null) for (const cb of closers) cb();
    this.conn?.streamEnded(this);
  }

  protected stopped(): void {}
}


/** An SSE stream, with keepalive comments on a timer. */
class SseStreamImpl extends HeldStream implements SseStream {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly heartbeatMs: number, chunked: boolean, bodyless: boolean, maxBuffered: number) {
    super(chunked, bodyless, maxBuffered);
  }

  protected override attached(): void {
    if (this.heartbeatMs > 0) {
      this.timer = setInterval(() => this.comment('keepalive'), this.heartbeatMs);
      this.timer.unref();
    }
  }

  protected override stopped(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }

  send(event: SseEvent): void {
    this.put(framer().frame(event));
  }
  comment(text: string): void {
    this.put(framer().comment(text));
  }
}

/** A chunked body with backpressure (write() / drained()). */
class ChunkedStream extends HeldStream implements BodyStream {
  constructor(private readonly highWaterMark: number, chunked: boolean, bodyless: boolean, maxBuffered: number) {
    super(chunked, bodyless, maxBuffered);
  }

  private get pending(): number {
    return this.wire === null ? this.heldBytes : this.wire.buffered();
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.closed) {
      if (this.bodyless) return false; // (HEAD: the body is not sent)
      throw new Error('write after the stream ended');
    }
    this.put(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    return this.pending < this.highWaterMark;
  }

  /** Callers of drained() waiting for room (none: null); released on room or close. */
  private waiting: Array<() => void> | null = null;

  drained(): Promise<void> {
    if (this.closed || this.pending < this.highWaterMark) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.waiting !== null) {
        this.waiting.push(resolve);
        return;
      }
      this.waiting = [resolve];
      const check = () => {
        if (this.waiting === null) return; // (released by close)
        if (this.pending < this.highWaterMark) this.release();
        else if (this.wire === null) setTimeout(check, 5); // still queued behind earlier responses
        else this.wire.onDrain(check);
      };
      check();
    });
  }

  private release(): void {
    const w = this.waiting;
    this.waiting = null;
    if (w !== null) for (const resolve of w) resolve();
  }

  protected override stopped(): void {
    this.release();
  }

  end(chunk?: string | Uint8Array): void {
    if (this.closed) return;
    if (chunk !== undefined) this.write(chunk);
    this.close();
  }
}

class Req implements Request {
  constructor(readonly head: RequestHead, readonly path: string, readonly search: string,
    readonly params: RouteParams, readonly body: Uint8Array, private readonly reader: BodyReader | null = null) {}
  stream(): AsyncIterable<Uint8Array> {
    if (this.reader !== null) return this.reader;
    const body = this.body;
    return (async function* () {
      if (body.length > 0) yield body;
    })();
  }
  get method(): string {
    return this.head.method;
  }
  header(name: string): string | undefined {
    return this.head.get(name);
  }
  text(): string {
    this.buffered();
    return utf8.decode(this.body);
  }
  json(): unknown {
    this.buffered();
    try {
      return JSON.parse(utf8.decode(this.body));
    } catch (e) {
      throw new HttpError(400, `the request body is not valid JSON (${(e as Error).message})`, ErrorCodes.INVALID_JSON_BODY);
    }
  }
  private _query: URLSearchParams | undefined;
  get query(): URLSearchParams {
    return (this._query ??= new URLSearchParams(this.search));
  }
  private buffered(): void {
    if (this.reader !== null) throw new Error('this route streams its body: read it with req.stream()');
  }
}

/** One connection: parser in, responses out in request order. */
class Connection {
  private readonly queue: Res[] = [];
  private head: RequestHead | null = null;
  /** Body chunks of the request under way (none: null). */
  private body: Buffer[] | null = null;
  /** The body of a request on a streaming route, handed to its handler as it arrives. */
  private reader: BodyReader | null = null;
  /** That request's response. */
  private readerRes: Res | null = null;
  /** After a framing error or a `close` response: no further requests are processed. */
  private closing = false;
  /** The client half-closed: answer what was received, then close. */
  private inputEnded = false;
  private streaming: HeldStream | null = null;
  private requestTimer: NodeJS.Timeout | null = null;
  /** When the request under way sent its first byte, and whether its head has arrived. */
  private requestStart = 0;
  private timingHead = false;
  /** While one read is parsed, responses ready at once are written together after it. */
  private batching = false;
  /** Whether keepAliveTimeout runs: only between requests (see updateIdle). */
  private idleTimed = false;
  /** Requests are not taken while the client leaves its answers unread (see holdInput). */
  private inputHeld = false;

  readonly parser: ConnectionParser;

  constructor(private readonly wire: Wire, private readonly app: App) {
    this.parser = new ConnectionParser(this, app.parserOptions);
    wire.setIdle(app.keepAliveTimeout);
    this.idleTimed = true;
    // Between requests a connection holds no pool slot: it leases one when bytes come.
    this.parser.releaseIfIdle();
  }

  headArrived(h: RequestHead): void {
    const app = this.app;
    this.head = h; // (this.body is null: dispatch took the last one's)
    // The head arrived within headersTimeout: the body gets the rest of requestTimeout.
    if (this.timingHead && this.requestTimer !== null) {
      clearTimeout(this.requestTimer);
      this.timingHead = false;
      this.requestTimer = setTimeout(() => this.timeout(), Math.max(0, app.requestTimeout - (Date.now() - this.requestStart)));
    }
    // 100 Continue only when nothing is owed before it (responses go in order; a
    // client that gets no 100 sends the body after a while anyway, RFC 9110 §10.1.1).
    if (h.expectContinue && h.hasBody && this.queue.length === 0) this.wire.write(CONTINUE);
    // A route that streams its body gets the request now, and the body as it comes.
    if (h.hasBody && app.streamHandlers.size > 0) {
      const path = pathOf(h.target);
      const found = path === null ? null : app.router.find(h.method, path);
      if (found?.kind === 'found' && app.streamHandlers.has(found.match.handler)) {
        this.reader = new BodyReader(this.wire);
        this.readerRes = this.dispatch(h, this.reader);
      }
    }
  }

  bodyArrived(chunk: Uint8Array): void {
    if (this.reader !== null) this.reader.push(Buffer.from(chunk));
    else (this.body ??= []).push(Buffer.from(chunk));
  }

  messageComplete(): void {
    const h = this.head!;
    this.head = null;
    if (this.reader !== null) {
      this.reader.end();
      this.reader = null;
      this.readerRes = null;
    } else {
      this.dispatch(h, null);
    }
    // Upgrade / CONNECT: this server speaks no other protocol, so the request is answered
    // as HTTP with Connection: close (RFC 9110 §7.8 lets a server ignore Upgrade). What
    // follows on the connection belongs to the other protocol and is not read.
    if (h.upgrade || h.connect) this.closing = true;
    // A client that pipelines requests faster than it reads the answers: no more requests
    // are taken (parsed, dispatched, read) until their output drains.
    else if (!this.inputHeld && this.backedUp()) this.holdInput();
  }

  /** Whether answers wait for the client: too many owed, or too many bytes unsent. */
  private backedUp(): boolean {
    const q = this.queue;
    let bytes = this.wire.buffered();
    // (The common case, a few answers owed and nothing waiting for the client: no count.
    // At worst PIPELINE_FREE answers are made before the unsent bytes are looked at.)
    if (bytes === 0 && q.length <= PIPELINE_FREE) return false;
    if (q.length >= MAX_OWED) return true;
    for (let i = 0; i < q.length; i++) {
      const out = q[i].out;
      if (out !== null) bytes += out.length;
    }
    return bytes > OUTPUT_HIGH_WATER;
  }

  private holdInput(): void {
    this.inputHeld = true;
    this.parser.pause(); // (stops after this message; the rest stays pending, in order)
    this.wire.pauseInput();
    if (this.wire.buffered() > 0) this.wire.onDrain(() => this.releaseInputIfRoom());
  }

  /** After a flush or a drain: takes requests again once the backlog is gone. */
  private releaseInputIfRoom(): void {
    if (!this.inputHeld || this.closing) return;
    if (this.backedUp()) {
      if (this.wire.buffered() > 0) this.wire.onDrain(() => this.releaseInputIfRoom());
      return; // (else a handler's answer will flush, and call again)
    }
    this.inputHeld = false;
    // (later: this may run inside the handling of a read or a write)
    queueMicrotask(() => {
      if (!this.closing) {
        this.batching = true;
        this.settle(this.parser.resume()); // (the requests pending: may hold again)
      }
      // This hold's pause ends here, always: a new hold (above) counted a pause of its own.
      this.wire.resumeInput();
      if (!this.inputHeld && !this.closing) this.parser.releaseIfIdle();
    });
  }

  /**
   * Graceful shutdown: no further requests; responses already owed (in-flight handlers
   * included) are sent, SSE streams end, then the connection closes.
   */
  shutdown(): void {
    this.closing = true;
    // (a copy: an ending stream moves the queue on)
    for (const r of [...this.queue]) if (r.held instanceof SseStreamImpl) r.held.close();
    if (this.queue.length === 0) this.wire.end();
    else this.flush();
  }

  /** Whether the connection takes no more input (framing error, close, timeout). */
  get done(): boolean {
    return this.closing;
  }

  /** The transport closed: end any SSE stream (handlers see onClose) and free the slot. */
  closed(): void {
    if (this.requestTimer !== null) clearTimeout(this.requestTimer);
    this.reader?.fail(new Error('the connection closed before the request body ended'));
    this.closing = true;
    this.dropQueue();
    this.parser.destroy();
  }

  /** Bytes the native transport read to parser.readPtr(). */
  received(n: number): void {
    if (this.closing) return;
    this.batching = true;
    this.settle(this.parser.commit(n));
    this.parser.releaseIfIdle();
  }

  /** Bytes from node:net. */
  data(d: Buffer): void {
    if (this.closing) return;
    this.batching = true;
    this.settle(this.parser.execute(d));
    this.parser.releaseIfIdle();
  }

  /** After the parser ran (batching): its error or timers, then the answers ready, in one write. */
  private settle(err: HttpParseError | null): void {
    this.batching = false;
    this.parsed(err);
    this.flush();
  }

  private parsed(err: HttpParseError | null): void {
    if (err !== null) {
      this.fail(err);
      return;
    }
    // A request is under way (bytes of it arrived, it has not completed): its head must
    // arrive within headersTimeout of its first byte and its body within requestTimeout,
    // however slowly its bytes trickle in.
    // (Not while requests wait for the client to read its answers: that is on the output.)
    if (this.parser.midMessage && !this.inputHeld) {
      if (this.requestTimer === null) {
        const { headersTimeout, requestTimeout } = this.app;
        this.requestStart = Date.now();
        this.timingHead = this.head === null && headersTimeout < requestTimeout;
        this.requestTimer = setTimeout(() => this.timeout(), this.timingHead ? headersTimeout : requestTimeout);
      }
    } else if (this.requestTimer !== null) {
      clearTimeout(this.requestTimer);
      this.requestTimer = null;
    }
  }

  private timeout(): void {
    this.requestTimer = null;
    if (this.closing) return;
    this.closing = true;
    this.abortWith(REQUEST_TIMEOUT, new Error('the request body did not arrive within requestTimeout'));
  }

  /**
   * No further input: `out` (a prebuilt error response) after the responses owed, then
   * close. A streamed request whose body failed gets `out` as its answer, unless its
   * handler has already answered.
   */
  private abortWith(out: Buffer, err: Error): void {
    const rr = this.readerRes;
    if (this.reader !== null && rr !== null && rr.sent) {
      // The request whose body failed has its answer already (or under way): there is no
      // request left to answer, so no error response; the connection closes once what is
      // owed is written. An answer still streaming cannot be trusted to complete: it is
      // cut (no last chunk), so that the client sees it incomplete.
      this.reader.fail(err);
      this.closing = true;
      if (rr.held !== null && !rr.held.closed) rr.held.abort();
      this.flush();
      return;
    }
    const last = this.queue[this.queue.length - 1];
    const owner = this.reader !== null && last !== undefined && !last.sent ? last : null;
    this.reader?.fail(err);
    const r = owner ?? new Res(false, false, this);
    r.out = out;
    r.keepAlive = false;
    if (owner === null) this.queue.push(r);
    this.flush();
  }

  /** The client half-closed. */
  ended(): void {
    // The client half-closed: finish the responses owed, then close.
    this.inputEnded = true;
    // A streamed body that was under way can no longer end.
    // (an HttpError: a handler that lets it through answers 400, the client's doing)
    this.reader?.fail(new HttpError(400, 'the client ended its input before the request body ended', ErrorCodes.BODY_INCOMPLETE));
    // An SSE client never half-closes while it listens: its end means it has gone.
    // (It is ended properly, so that responses pipelined behind it stay framed.)
    if (this.streaming instanceof SseStreamImpl) this.streaming.close();
    if (this.queue.length === 0) this.wire.end();
  }

  /** A framing error: the prebuilt response for it, after the ones owed, then close. */
  private fail(err: HttpParseError): void {
    this.closing = true;
    this.abortWith(errorResponseFor(err.parserStatus) ?? buildErrorResponse(400, err.reason), err);
  }

  private dispatch(h: RequestHead, reader: BodyReader | null): Res {
    let body: Buffer = EMPTY;
    if (this.body !== null) {
      body = this.body.length === 1 ? this.body[0] : Buffer.concat(this.body);
      this.body = null;
    }
    const keepAlive = h.keepAlive && !this.closing && !h.upgrade && !h.connect;
    const res = new Res(keepAlive, h.method === 'HEAD', this, h.version === '1.1');
    res.maxBuffered = this.app.maxBufferedOutput;
    this.queue.push(res);
    const target = originForm(h.target);
    if (target === null) {
      // OPTIONS * (RFC 9110 §9.3.7): about the server as a whole.
      res.status(204).header('Allow', 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT').send();
      return res;
    }
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const found = this.app.router.find(h.method, path);
    const req = new Req(h, path, q < 0 ? '' : target.slice(q + 1), found.kind === 'found' ? found.match.params : NO_PARAMS, body, reader);
    const hooks = this.app.hooks;
    if (hooks.onSend.length > 0) res.onSend = (payload) => runOnSend(hooks.onSend, req, res, payload);
    if (hooks.onRequest.length === 0 && hooks.preHandler.length === 0) {
      this.route(found, req, res); // the common case: no hooks, no promise
      return res;
    }
    runHooks(hooks.onRequest, req, res)
      .then(() => {
        if (res.sent) return; // a hook answered (short-circuit)
        if (found.kind !== 'found') return this.route(found, req, res);
        return runHooks(hooks.preHandler, req, res).then(() => {
          if (!res.sent) this.route(found, req, res);
        });
      })
      .catch((e) => this.crash(res, e, req));
    return res;
  }

  /** Answers from the route lookup: the handler, or 404 / 405 / OPTIONS / 400. */
  private route(found: RouteResult<Handler>, req: Req, res: Res): void {
    if (found.kind !== 'found') {
      if (found.kind === 'method-not-allowed') res.status(405).header('Allow', found.allow.join(', ')).send('Method Not Allowed\n');
      else if (found.kind === 'options') res.status(204).header('Allow', found.allow.join(', ')).send();
      else if (found.kind === 'bad-path') res.status(400).send('Bad Request: malformed percent-encoding in the path\n');
      else res.status(404).send('Not Found\n');
      return;
    }
    // Headers set before this point (by hooks: CORS...) stay on an error answer.
    res.handlerMark = res.headers === null ? 0 : res.headers.length;
    try {
      const ret = found.match.handler(req, res);
      if (ret instanceof Promise) {
        // (finish may throw too: a value JSON cannot hold, an onSend hook)
        ret.then((v) => this.finish(res, v)).catch((e) => this.crash(res, e, req));
      } else {
        this.finish(res, ret);
      }
    } catch (e) {
      this.crash(res, e, req);
    }
  }

  /** A handler's return value is the response when it did not send one. */
  private finish(res: Res, value: unknown): void {
    if (res.sent) return;
    if (value === undefined) res.status(204).send();
    else if (typeof value === 'string' || value instanceof Uint8Array) res.send(value);
    else res.json(value);
  }

  /**
   * A handler or hook failed: the error answer (HttpError's status, else 500), after the
   * onError hooks had their chance. Never throws: it runs where nothing would catch.
   */
  private crash(res: Res, e: unknown, req?: Req): void {
    const client = e instanceof HttpError && e.status < 500;
    if (!client) this.reportError(e); // (a client's mistake is not the server's error)
    // A stream the handler started: while its head waits its turn, the error answer takes
    // its place. Once its head is out, it cannot become an error answer: it is cut (no
    // last chunk, so the client can tell), and the connection closes.
    if (res.held !== null) {
      if (res.held.closed) return;
      if (res.held.started) {
        res.keepAlive = false; // (first: ending the stream moves the connection on)
        res.held.abort();
        return;
      }
      res.held.abort();
      res.held = null;
      res.out = null;
    }
    const fallback = () => {
      if (res.sent) return;
      res.dropHandlerHeaders();
      try {
        if (e instanceof HttpError) {
          res.code = e.status;
          res.send(client ? `${e.message}\n` : `${STATUS_TEXT[e.status] ?? 'Server Error'}\n`);
        } else {
          res.code = 500;
          res.send('Internal Server Error\n');
        }
      } catch (e2) {
        // An onSend hook failed on the error answer itself: the plain 500, without hooks
        // (send() let go of them before calling them).
        this.reportError(e2);
        if (res.sent) return;
        res.headers = null;
        res.code = 500;
        res.send('Internal Server Error\n');
      }
    };
    const onError = this.app.hooks.onError;
    if (onError.length === 0 || req === undefined || res.sent) {
      fallback();
      return;
    }
    // onError hooks may answer (a custom error response); otherwise the 500.
    runHooks(onError.map((fn) => (q: Request, r: Response) => fn(e, q, r)), req, res).then(fallback, (e2) => {
      this.reportError(e2);
      fallback();
    });
  }

  /** app.onError, which must not take the connection (or the process) down when it throws. */
  private reportError(e: unknown): void {
    try {
      this.app.onError(e);
    } catch {
      // (nothing better to do with an error reporter that fails)
    }
  }

  /** Writes the responses that are ready, in request order. */
  flush(): void {
    if (this.batching) return;
    // The responses ready together go out in one write: the first, and `more` (holding
    // all of them, the first included) once there is a second.
    let first: Buffer | null = null;
    let more: Buffer[] | null = null;
    let bytes = 0;
    while (this.queue.length > 0 && this.queue[0].out !== null) {
      const r = this.queue[0];
      if (r.held !== null) {
        if (first !== null) this.writeResponses(first, more, bytes);
        // A streamed response holds the connection: later responses wait until it ends.
        if (this.streaming === r.held) return;
        this.wire.write(r.out!);
        r.out = EMPTY; // (written: a stream may live long, its head need not)
        this.streaming = r.held;
        this.updateIdle(); // (off: a stream may be quiet for a while; SSE sends heartbeats)
        r.held.attach(this.wire, this);
        return;
      }
      this.queue.shift();
      const b = r.out!;
      if (first === null) first = b;
      else (more ??= [first]).push(b);
      bytes += b.length;
      if (!r.keepAlive) {
        this.closing = true;
        this.dropQueue();
        this.writeResponses(first, more, bytes);
        this.wire.end();
        return;
      }
    }
    if (first !== null) this.writeResponses(first, more, bytes);
    if ((this.closing || this.inputEnded) && this.queue.length === 0) this.wire.end();
    this.updateIdle();
    if (this.inputHeld) this.releaseInputIfRoom();
    // A request answered while its streamed body still arrives, unread: the rest of the
    // body is dropped as it comes, so that the connection can go on to the next request.
    const rr = this.readerRes;
    if (rr !== null && this.reader !== null && !this.reader.reading && rr.out !== null && (rr.held === null || rr.held.closed)) {
      this.reader.discard();
    }
  }

  /**
   * keepAliveTimeout closes a connection idle between requests, and only then: not while a
   * request arrives (headersTimeout and requestTimeout bound that), nor while a handler
   * works on an answer (a tool or model call may take long), nor during a stream.
   */
  private updateIdle(): void {
    // (Requests held while the client does not read its answers count as idle: a client
    // that never reads is closed after keepAliveTimeout once nothing more is owed.)
    const idle = this.queue.length === 0 && this.streaming === null && (!this.parser.midMessage || this.inputHeld);
    if (idle === this.idleTimed) return;
    this.idleTimed = idle;
    this.wire.setIdle(idle ? this.app.keepAliveTimeout : 0);
  }

  /**
   * One response, or several (`all`) in one write: small ones copied together (cheaper
   * than gathering them), large ones gathered by writev (cheaper than copying them).
   */
  private writeResponses(first: Buffer, all: Buffer[] | null, bytes: number): void {
    if (all === null) this.wire.write(first);
    else if (bytes <= GATHER_ABOVE) this.wire.write(Buffer.concat(all, bytes));
    else this.wire.writeAll(all);
  }


  /**
   * Nothing more will be sent: the responses still queued are dropped, and their streams
   * end (their onClose runs), those still waiting their turn too. The queue is emptied
   * first, so that an ending stream does not move the connection on to the next one.
   */
  private dropQueue(): void {
    for (const r of this.queue.splice(0)) r.held?.abort();
  }

  /** The streamed response at the head of the queue ended: the connection moves on. */
  streamEnded(stream: HeldStream): void {
    const r = this.queue[0];
    if (r === undefined || r.held !== stream) return;
    this.streaming = null;
    this.queue.shift();
    this.updateIdle();
    if (!r.keepAlive) {
      // The connection ends with this answer (HTTP/1.0: its end is the body's end).
      this.closing = true;
      this.dropQueue();
      this.wire.end();
      return;
    }
    // Otherwise what is owed behind it goes out, during a graceful shutdown too; flush()
    // ends the connection once nothing more is owed, if it is closing.
    this.flush();
  }
}

/**
 * A connection's parser. Its callbacks are the same functions for every connection (see
 * App.parserOptions): they find the connection here, so a connection costs no closures.
 */
class ConnectionParser extends HttpParser {
  constructor(readonly conn: Connection, options: HttpParserOptions) {
    super(options);
  }
}

const CONNECTION_CALLBACKS: Pick<HttpParserOptions, 'onHead' | 'onBody' | 'onMessageComplete'> = {
  onHead: (h, p) => (p as ConnectionParser).conn.headArrived(h),
  onBody: (chunk, p) => (p as ConnectionParser).conn.bodyArrived(chunk),
  onMessageComplete: (_t, p) => (p as ConnectionParser).conn.messageComplete(),
};

const EMPTY = Buffer.alloc(0);
/** Answers owed that never make a connection wait, while nothing is unsent. */
const PIPELINE_FREE = 8;
/** Answers owed on one connection (pipelining) before its requests wait to be taken. */
const MAX_OWED = 64;
/** Bytes of answers unsent on one connection before its requests wait to be taken. */
const OUTPUT_HIGH_WATER = 64 * 1024;
/** Responses written together are copied into one buffer up to this many bytes, gathered (writev) above. */
const GATHER_ABOVE = 32 * 1024;

/** The target as path[?query]: absolute-form reduced to its path; null for `*`. */
function originForm(target: string): string | null {
  if (target.charCodeAt(0) === 0x2f /* / */) return target;
  if (target === '*') return null;
  // absolute-form (the parser checked it is http(s)://authority...): its path.
  const slash = target.indexOf('/', target.indexOf('//') + 2);
  return slash < 0 ? '/' : target.slice(slash);
}

/** The path of a target, without the query; null for `*`. */
function pathOf(target: string): string | null {
  const t = originForm(target);
  if (t === null) return null;
  const q = t.indexOf('?');
  return q < 0 ? t : t.slice(0, q);
}
const REQUEST_TIMEOUT = buildErrorResponse(408, 'the request did not arrive in time');

/** A node:net socket as a Wire. */
class NetWire implements Wire {
  constructor(private readonly socket: net.Socket) {}
  write(b: Uint8Array): void {
    this.socket.write(b);
  }
  writeAll(list: readonly Uint8Array[]): void {
    this.socket.cork(); // (node:net then hands libuv all of them in one writev)
    for (const b of list) this.socket.write(b);
    this.socket.uncork();
  }
  buffered(): number {
    return this.socket.writableLength;
  }
  onDrain(cb: () => void): void {
    if (this.socket.writableLength === 0 || this.socket.destroyed) cb();
    else this.socket.once('drain', cb);
  }
  end(): void {
    this.socket.end();
  }
  setIdle(ms: number): void {
    this.socket.setTimeout(ms);
  }
  destroy(): void {
    this.socket.destroy();
  }
  private holds = 0;
  pauseInput(): void {
    if (this.holds++ === 0) this.socket.pause();
  }
  resumeInput(): void {
    if (this.holds === 0) return;
    if (--this.holds === 0) this.socket.resume();
  }
}

/** A native descriptor as a Wire: writes that do not fit wait for WRITABLE. */
class NativeWire implements Wire {
  conn: Connection | null = null;
  /** Bytes the kernel has not taken yet, in order (none: null). */
  private out: Uint8Array[] | null = null;
  private outBytes = 0;
  private drainers: Array<() => void> | null = null;
  private ending = false;
  private closed = false;
  /** Pauses of input not yet resumed (a streamed body, output backpressure): reading waits while any. */
  private inputHolds = 0;
  /** The peer half-closed (HANGUP seen): the EOF waits after the bytes still unread. */
  private peerEnded = false;
  idleMs = 0;
  lastActive = 0;

  constructor(readonly fd: number, private readonly t: NativeTransport, private readonly eagain: number,
    private readonly maxIov: number, private readonly onClosed: (w: NativeWire) => void) {}

  write(b: Uint8Array): void {
    if (this.closed) return;
    this.lastActive = now;
    if (this.out !== null) {
      this.out.push(b);
      this.outBytes += b.length;
      return;
    }
    const n = this.t.writeBuffer(this.fd, b);
    if (n === b.length) return;
    if (n >= 0) this.out = [b.subarray(n)];
    else if (n === -this.eagain) this.out = [b];
    else {
      this.destroy();
      return;
    }
    this.outBytes += b.length - Math.max(0, n);
    this.t.wantWritable(this.fd, true); // tell us when the kernel has room
  }

  writeAll(list: readonly Uint8Array[]): void {
    if (this.closed) return;
    if (this.out !== null || list.length > this.maxIov) {
      for (const b of list) this.write(b);
      return;
    }
    this.lastActive = now;
    const n = this.t.writev(this.fd, list);
    if (n < 0 && n !== -this.eagain) {
      this.destroy();
      return;
    }
    const rest = unwritten(list, Math.max(0, n));
    if (rest === null) return;
    this.out = rest;
    for (const b of rest) this.outBytes += b.length;
    this.t.wantWritable(this.fd, true); // tell us when the kernel has room
  }

  buffered(): number {
    return this.outBytes;
  }

  onDrain(cb: () => void): void {
    if (this.outBytes === 0 || this.closed) cb();
    else (this.drainers ??= []).push(cb);
  }

  /** The kernel has room again. */
  writable(): void {
    this.lastActive = now; // (the client is reading)
    let out = this.out;
    while (out !== null && !this.closed) {
      // All that waits, in one gathering write (writev) when there is more than one buffer.
      const n = out.length === 1 ? this.t.writeBuffer(this.fd, out[0]) : this.t.writev(this.fd, out);
      if (n === -this.eagain) return;
      if (n < 0) {
        this.destroy();
        return;
      }
      let offered = 0;
      for (let i = 0; i < out.length && i < this.maxIov; i++) offered += out[i].length;
      this.outBytes -= n;
      out = unwritten(out, n);
      this.out = out;
      if (n < offered) return; // a short write: the kernel is full again (a new edge will come)
    }
    if (this.closed) return;
    this.out = null;
    this.t.wantWritable(this.fd, false);
    if (this.ending) this.destroy();
    else this.drained();
  }

  /**
   * Reads until the kernel has no more (edge-triggered), straight into the parser's slot.
   * `hangup`: the peer's FIN came with this readiness (it raises no edge of its own).
   */
  readable(hangup = false): void {
    if (hangup) this.peerEnded = true;
    const conn = this.conn!;
    while (!this.closed && !conn.done && this.inputHolds === 0) {
      const room = conn.parser.readRoom();
      if (room <= 0) return;
      const n = this.t.read(this.fd, conn.parser.readPtr(), room);
      if (n > 0) {
        this.lastActive = now;
        conn.received(n);
        // A short read drained the socket: what arrives later raises a new edge, so the
        // read that would only say EAGAIN is skipped (one syscall less per request).
        // Unless the peer has ended: its EOF is read now, as no edge would report it.
        if (n < room && !this.peerEnded) return;
      } else if (n === 0) {
        conn.ended();
        return;
      } else {
        if (n !== -this.eagain) this.destroy();
        else conn.parser.releaseIfIdle(); // (read found nothing: the slot it leased goes back)
        return;
      }
    }
  }

  end(): void {
    this.ending = true;
    if (this.out === null) this.destroy();
  }

  shutdown(): void {
    this.conn?.shutdown();
  }

  setIdle(ms: number): void {
    this.idleMs = ms;
    // (the clock, not the coarse `now`: this may run from a timer long after the last
    // readiness batch, and a stale start would close the connection early)
    this.lastActive = Date.now();
  }

  pauseInput(): void {
    this.inputHolds++;
  }

  /** Reads what arrived meanwhile (edge-triggered: no new edge would report it). */
  resumeInput(): void {
    if (this.inputHolds === 0) return;
    if (--this.inputHolds > 0) return;
    this.lastActive = Date.now();
    this.readable();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.out = null;
    this.outBytes = 0;
    this.t.close(this.fd);
    this.conn?.closed();
    this.onClosed(this);
    this.drained();
  }

  private drained(): void {
    const cbs = this.drainers;
    this.drainers = null;
    if (cbs !== null) for (const cb of cbs) cb();
  }
}

/** What is left of `list` after its first n bytes were written (null: nothing). */
function unwritten(list: readonly Uint8Array[], n: number): Uint8Array[] | null {
  let i = 0;
  while (i < list.length && n >= list[i].length) n -= list[i++].length;
  if (i === list.length) return null;
  const rest = list.slice(i);
  if (n > 0) rest[0] = rest[0].subarray(n);
  return rest;
}

// A coarse clock for idle checks (refreshed by the sweep timer and by traffic).
let now = Date.now();

export class App {
  readonly router = new Router<Handler>();
  readonly limits: HttpLimits;
  /** What every connection's parser is made with (one object for all of them). */
  readonly parserOptions: HttpParserOptions;
  readonly keepAliveTimeout: number;
  readonly requestTimeout: number;
  readonly headersTimeout: number;
  readonly maxConnections: number;
  readonly maxBufferedOutput: number;
  readonly transport: 'native' | 'net';
  /** The WASM core whose slots the connections' parsers use (one per connection). */
  readonly core: WasmCore;
  /** Open connections: shutdown() ends one gracefully, destroy() at once. */
  readonly connections = new Set<{ shutdown(): void; destroy(): void }>();
  onError: (err: unknown) => void = () => {};
  readonly hooks: Hooks = { onRequest: [], preHandler: [], onSend: [], onError: [] };
  /** Handlers of routes added with `{ stream: true }`. */
  readonly streamHandlers = new Set<Handler>();
  /** Set while listening: stops accepting; then release() frees what is left. */
  private listening: { stopAccepting(): void; release(): void } | null = null;

  constructor(options: ServerOptions = {}) {
    const { keepAliveTimeout = 5000, requestTimeout = 30_000, headersTimeout = 10_000, maxConnections = 1024,
      maxBufferedOutput = 8 * 1024 * 1024, transport, ...limits } = options;
    for (const [name, v] of [['keepAliveTimeout', keepAliveTimeout], ['requestTimeout', requestTimeout], ['headersTimeout', headersTimeout],
      ['maxConnections', maxConnections], ['maxBufferedOutput', maxBufferedOutput]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
    }
    this.limits = limits;
    this.keepAliveTimeout = keepAliveTimeout;
    this.requestTimeout = requestTimeout;
    this.headersTimeout = headersTimeout;
    this.maxConnections = maxConnections;
    this.maxBufferedOutput = maxBufferedOutput;
    const native = nativeTransport();
    if (transport === 'native' && native.module === null) throw new Error(`transport 'native' is not available: ${native.reason}`);
    this.transport = transport ?? (native.module !== null ? 'native' : 'net');
    this.core = new WasmCore({ slotSize: 32 * 1024, slotCount: maxConnections });
    this.parserOptions = { ...limits, core: this.core, ...CONNECTION_CALLBACKS };
  }

  /**
   * Adds a route. With `{ stream: true }` the handler runs as soon as the head has arrived
   * and reads the body with `req.stream()` (for large uploads); otherwise the body is
   * buffered (up to maxBodySize) before the handler runs.
   */
  route(method: string | string[], pattern: string, handler: Handler, options: RouteOptions = {}): this {
    let h = handler;
    if (options.stream === true) {
      h = (req, res) => handler(req, res); // (its own identity marks the route)
      this.streamHandlers.add(h);
    }
    this.router.add(method, pattern, h);
    return this;
  }

  /** Adds a lifecycle hook (see Hooks). */
  addHook<K extends HookName>(name: K, hook: Hooks[K][number]): this {
    if (!(name in this.hooks)) throw new TypeError(`unknown hook '${String(name)}' (onRequest, preHandler, onSend, onError)`);
    (this.hooks[name] as Array<Hooks[K][number]>).push(hook);
    return this;
  }
  get(p: string, h: Handler, o?: RouteOptions): this { return this.route('GET', p, h, o); }
  post(p: string, h: Handler, o?: RouteOptions): this { return this.route('POST', p, h, o); }
  put(p: string, h: Handler, o?: RouteOptions): this { return this.route('PUT', p, h, o); }
  patch(p: string, h: Handler, o?: RouteOptions): this { return this.route('PATCH', p, h, o); }
  delete(p: string, h: Handler, o?: RouteOptions): this { return this.route('DELETE', p, h, o); }
  head(p: string, h: Handler, o?: RouteOptions): this { return this.route('HEAD', p, h, o); }
  options(p: string, h: Handler, o?: RouteOptions): this { return this.route('OPTIONS', p, h, o); }
  all(p: string, h: Handler, o?: RouteOptions): this { return this.route('*', p, h, o); }

  /** Listens (default 127.0.0.1, port 0 = any free one); resolves with the bound port. */
  listen(options: { host?: string; port?: number; reusePort?: boolean } = {}): Promise<{ host: string; port: number }> {
    if (options.reusePort === true && this.transport !== 'native') {
      return Promise.reject(new Error('sharing a port between workers (reusePort) needs the native transport'));
    }
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      return Promise.reject(new RangeError(`port must be an integer between 0 and 65535, got ${port}`));
    }
    if (this.transport === 'net') return this.listenNet(host, port);
    // The addon takes addresses: a name (localhost) is looked up first, as node:net does.
    const mod = nativeTransport().module!;
    if (net.isIP(host) !== 0) return this.listenNative(host, port, mod, options.reusePort === true);
    return dns.lookup(host).then(({ address }) => this.listenNative(address, port, mod, options.reusePort === true));
  }

  private listenNet(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      // allowHalfOpen: a client that half-closes after pipelining still gets its answers.
      const server = net.createServer({ allowHalfOpen: true }, (socket) => {
        if (this.connections.size >= this.maxConnections || this.core.pool.available === 0) {
          socket.destroy();
          return;
        }
        const conn = new Connection(new NetWire(socket), this);
        const handle = { shutdown: () => conn.shutdown(), destroy: () => socket.destroy() };
        this.connections.add(handle);
        socket.setNoDelay(true);
        socket.on('timeout', () => socket.destroy());
        socket.on('data', (d) => conn.data(d));
        socket.on('end', () => conn.ended());
        socket.on('error', () => {});
        socket.on('close', () => {
          conn.closed();
          this.connections.delete(handle);
        });
      });
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        this.listening = { stopAccepting: () => server.close(), release: () => {} };
        resolve({ host, port: (server.address() as net.AddressInfo).port });
      });
    });
  }

  private listenNative(host: string, port: number, mod: NativeModule, reusePort: boolean): Promise<{ host: string; port: number }> {
    const wires = new Map<number, NativeWire>();
    let listenFd = -1;
    const onClosed = (w: NativeWire) => {
      wires.delete(w.fd);
      this.connections.delete(w);
    };
    // Every connection waiting (edge-triggered: the listener reports them once). When an
    // error other than "none left" stops it, the sweep timer tries again, so that
    // connections are not left waiting for an edge that will not come.
    let acceptStalled = false;
    const acceptAll = () => {
      acceptStalled = false;
      for (;;) {
        const c = t.accept(listenFd);
        if (c === -mod.EAGAIN) return;
        if (c === -mod.ECONNABORTED || c === -mod.EINTR) continue; // (one gone, or dropped at EMFILE)
        if (c < 0) {
          acceptStalled = true;
          return;
        }
        if (wires.size >= this.maxConnections || this.core.pool.available === 0) {
          t.close(c);
          continue;
        }
        const w = new NativeWire(c, t, mod.EAGAIN, mod.MAX_IOV, onClosed);
        wires.set(c, w);
        this.connections.add(w);
        w.conn = new Connection(w, this);
      }
    };
    const t: NativeTransport = new mod.Transport((count) => {
      now = Date.now();
      const ev = t.events;
      for (let i = 0; i < count; i++) {
        const fd = ev[i * 2];
        const e = ev[i * 2 + 1];
        if (fd === listenFd) {
          acceptAll();
          continue;
        }
        const w = wires.get(fd);
        if (w === undefined) continue;
        if ((e & mod.WRITABLE) !== 0) w.writable();
        if ((e & (mod.READABLE | mod.HANGUP | mod.ERROR)) !== 0) w.readable((e & mod.HANGUP) !== 0);
      }
    });
    t.setMemory(this.core.u8);
    try {
      listenFd = t.listen(host, port, 511, reusePort);
    } catch (err) {
      t.destroy();
      const e = err as Error & { errno?: number; code?: string };
      if (e.errno === 98 /* EADDRINUSE */) e.code = 'EADDRINUSE';
      else if (e.errno === 13) e.code = 'EACCES';
      else if (e.errno === 99) e.code = 'EADDRNOTAVAIL';
      return Promise.reject(e);
    }
    // Idle connections are closed by a sweep (one timer, not one per connection).
    const sweep = setInterval(() => {
      now = Date.now();
      if (acceptStalled && listenFd >= 0) acceptAll();
      for (const w of wires.values()) if (w.idleMs > 0 && now - w.lastActive > w.idleMs) w.destroy();
    }, Math.max(100, Math.min(1000, this.keepAliveTimeout / 4)));
    this.listening = {
      stopAccepting: () => {
        t.close(listenFd);
        listenFd = -1;
      },
      release: () => {
        clearInterval(sweep);
        for (const w of wires.values()) w.destroy();
        t.destroy();
      },
    };
    return Promise.resolve({ host, port: t.localPort(listenFd) });
  }

  /**
   * Graceful shutdown: stops accepting; idle connections close at once; requests in
   * flight are answered; SSE streams end; whatever is still open at the deadline
   * (default 5 s) is closed. Resolves when all connections are closed.
   */
  async close(options: { deadline?: number } = {}): Promise<void> {
    const l = this.listening;
    if (l === null) return;
    this.listening = null;
    l.stopAccepting();
    for (const c of [...this.connections]) c.shutdown();
    const until = Date.now() + (options.deadline ?? 5000);
    while (this.connections.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    for (const c of [...this.connections]) c.destroy();
    l.release();
  }
}

export function createServer(options?: ServerOptions): App {
  return new App(options);
}
