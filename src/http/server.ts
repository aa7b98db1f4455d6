// Conduit's HTTP/1.1 server (issue 4, first cut): the WASM parser, the radix router and
// prebuilt error responses over node:net. Keep-alive, pipelining with responses in
// request order, Expect: 100-continue, bodies up to a limit, handler errors as 500s.
//
// Not here yet (issue 4): the native transport path, hooks, streaming bodies and
// responses, SSE responses, header/request timeouts beyond idle, worker instances,
// graceful shutdown with deadlines.

import net from 'node:net';
import { HttpParser, RequestHead, type HttpLimits } from './parser.js';
import { Router, type RouteParams } from './router.js';
import { buildErrorResponse, errorResponseFor } from './error-responses.js';
import type { HttpParseError } from '../errors.js';
import { SseFramer, type SseEvent } from '../sse/framer.js';

export interface ServerOptions extends HttpLimits {
  /** Close a keep-alive connection idle this long (ms). Default 5000. */
  keepAliveTimeout?: number;
  /**
   * Time (ms) from a request's first byte until its body has fully arrived; then 408 and
   * close. Default 30000. Trickling bytes (slowloris) does not extend it.
   */
  requestTimeout?: number;
  /** Most open connections; more are closed at once. Default 10,000. */
  maxConnections?: number;
}

export interface Request {
  readonly method: string;
  /** The path, without the query string (still percent-encoded). */
  readonly path: string;
  /** The query string without '?', or ''. */
  readonly search: string;
  readonly params: RouteParams;
  readonly head: RequestHead;
  /** The body (empty when there is none). */
  readonly body: Uint8Array;
  /** A header value (case-insensitive name). */
  header(name: string): string | undefined;
  text(): string;
  json(): unknown;
}

export interface Response {
  status(code: number): this;
  header(name: string, value: string): this;
  send(body?: string | Uint8Array): void;
  json(value: unknown): void;
  /** Starts a Server-Sent Events stream (200, text/event-stream) on this response. */
  sse(options?: { heartbeatMs?: number }): SseStream;
  readonly sent: boolean;
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

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found',
  304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 409: 'Conflict', 413: 'Content Too Large', 415: 'Unsupported Media Type',
  422: 'Unprocessable Content', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const utf8 = new TextDecoder();

class Res implements Response {
  code = 200;
  headers: Array<[string, string]> = [];
  out: Buffer | null = null;
  /** Set when the response is an SSE stream: it holds the connection until it closes. */
  stream: Stream | null = null;
  constructor(readonly keepAlive: boolean, private readonly isHead: boolean, private readonly done: (r: Res) => void) {}

  get sent(): boolean {
    return this.out !== null;
  }
  status(code: number): this {
    if (!Number.isInteger(code) || code < 200 || code > 599) throw new RangeError(`status must be an integer in 200..599, got ${code}`);
    this.code = code;
    return this;
  }
  header(name: string, value: string): this {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new TypeError(`header ${JSON.stringify(name)} contains CR or LF`);
    this.headers.push([name, value]);
    return this;
  }
  json(value: unknown): void {
    if (!this.headers.some(([n]) => n.toLowerCase() === 'content-type')) this.header('Content-Type', 'application/json');
    this.send(JSON.stringify(value));
  }
  sse(options: { heartbeatMs?: number } = {}): SseStream {
    if (this.out !== null) throw new Error('response already sent');
    let head = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n';
    for (const [n, v] of this.headers) head += `${n}: ${v}\r\n`;
    head += '\r\n';
    this.stream = new Stream(options.heartbeatMs ?? 15_000);
    this.out = Buffer.from(head, 'latin1');
    this.done(this);
    return this.stream;
  }

  send(body: string | Uint8Array = ''): void {
    if (this.out !== null) throw new Error('response already sent');
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    let head = `HTTP/1.1 ${this.code} ${STATUS_TEXT[this.code] ?? 'Status'}\r\n`;
    for (const [n, v] of this.headers) head += `${n}: ${v}\r\n`;
    if (this.code !== 204 && this.code !== 304) head += `Content-Length: ${bytes.length}\r\n`;
    if (!this.keepAlive) head += 'Connection: close\r\n';
    head += '\r\n';
    const withBody = !this.isHead && this.code !== 204 && this.code !== 304;
    this.out = withBody ? Buffer.concat([Buffer.from(head, 'latin1'), bytes]) : Buffer.from(head, 'latin1');
    this.done(this);
  }
}

let sharedFramer: SseFramer | null = null;
const framer = () => (sharedFramer ??= new SseFramer());

/** An SSE stream: events are held until the connection reaches it (pipelining order). */
class Stream implements SseStream {
  closed = false;
  private socket: net.Socket | null = null;
  private held: Buffer[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closers: Array<() => void> = [];
  ended: (() => void) | null = null;

  constructor(private readonly heartbeatMs: number) {}

  /** The connection got to this response: write what is held, then keep it alive. */
  attach(socket: net.Socket, ended: () => void): void {
    this.socket = socket;
    this.ended = ended;
    for (const b of this.held) socket.write(b);
    this.held = [];
    if (this.closed) {
      ended();
      return;
    }
    if (this.heartbeatMs > 0) {
      this.timer = setInterval(() => this.comment('keepalive'), this.heartbeatMs);
      this.timer.unref();
    }
  }

  private write(b: Buffer): void {
    if (this.closed) return;
    if (this.socket === null) this.held.push(b);
    else this.socket.write(b);
  }

  send(event: SseEvent): void {
    this.write(framer().frame(event));
  }
  comment(text: string): void {
    this.write(framer().comment(text));
  }
  onClose(cb: () => void): void {
    if (this.closed) cb();
    else this.closers.push(cb);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    for (const cb of this.closers.splice(0)) cb();
    this.ended?.();
  }
}

/** One connection: parser in, responses out in request order. */
class Connection {
  private readonly parser: HttpParser;
  private readonly queue: Res[] = [];
  private head: RequestHead | null = null;
  private body: Buffer[] = [];
  /** After a framing error or a `close` response: no further requests are processed. */
  private closing = false;
  /** The client half-closed: answer what was received, then close. */
  private inputEnded = false;
  private streaming: Stream | null = null;
  private requestTimer: NodeJS.Timeout | null = null;

  constructor(private readonly socket: net.Socket, private readonly app: App) {
    this.parser = new HttpParser({
      ...app.limits,
      onHead: (h) => {
        this.head = h;
        this.body = [];
        if (h.expectContinue && h.hasBody) socket.write(CONTINUE);
      },
      onBody: (chunk) => {
        this.body.push(Buffer.from(chunk));
      },
      onMessageComplete: () => this.dispatch(),
    });
    socket.setNoDelay(true);
    socket.setTimeout(app.keepAliveTimeout, () => socket.destroy());
    socket.on('data', (d) => this.onData(d));
    socket.on('end', () => this.onEnd());
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.requestTimer !== null) clearTimeout(this.requestTimer);
      // The client went away: end any SSE stream (handlers see onClose).
      for (const r of this.queue) r.stream?.close();
      this.parser.destroy();
      app.connections.delete(socket);
    });
  }

  private onData(d: Buffer): void {
    if (this.closing) return;
    const err = this.parser.execute(d);
    if (err !== null) {
      this.fail(err);
      return;
    }
    // A request is under way (bytes of it arrived, it has not completed): it must finish
    // within requestTimeout of its first byte, however slowly its bytes trickle in.
    if (this.parser.midMessage) {
      if (this.requestTimer === null) this.requestTimer = setTimeout(() => this.timeout(), this.app.requestTimeout);
    } else if (this.requestTimer !== null) {
      clearTimeout(this.requestTimer);
      this.requestTimer = null;
    }
  }

  private timeout(): void {
    this.requestTimer = null;
    if (this.closing) return;
    this.closing = true;
    const r = new Res(false, false, () => this.flush());
    r.out = REQUEST_TIMEOUT;
    this.queue.push(r);
    this.flush();
  }

  private onEnd(): void {
    // The client half-closed: finish the responses owed, then close.
    this.inputEnded = true;
    // An SSE client never half-closes while it listens: its end means it has gone.
    this.streaming?.close();
    if (this.queue.length === 0) this.socket.end();
  }

  /** A framing error: the prebuilt response for it, after the ones owed, then close. */
  private fail(err: HttpParseError): void {
    this.closing = true;
    const out = errorResponseFor(err.parserStatus) ?? buildErrorResponse(400, err.reason);
    const r = new Res(false, false, () => this.flush());
    r.out = out;
    this.queue.push(r);
    this.flush();
  }

  private dispatch(): void {
    const h = this.head!;
    const body = this.body.length === 0 ? EMPTY : this.body.length === 1 ? this.body[0] : Buffer.concat(this.body);
    this.head = null;
    const keepAlive = h.keepAlive && !this.closing;
    const res = new Res(keepAlive, h.method === 'HEAD', () => this.flush());
    this.queue.push(res);
    let target = h.target;
    if (target.charCodeAt(0) !== 0x2f /* / */) {
      if (target === '*') {
        // OPTIONS * (RFC 9110 §9.3.7): about the server as a whole.
        res.status(204).header('Allow', 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT').send();
        return;
      }
      // absolute-form (the parser checked it is http(s)://authority...): route its path.
      const slash = target.indexOf('/', target.indexOf('//') + 2);
      target = slash < 0 ? '/' : target.slice(slash);
    }
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const found = this.app.router.find(h.method, path);
    if (found.kind !== 'found') {
      if (found.kind === 'method-not-allowed') res.status(405).header('Allow', found.allow.join(', ')).send('Method Not Allowed\n');
      else if (found.kind === 'options') res.status(204).header('Allow', found.allow.join(', ')).send();
      else if (found.kind === 'bad-path') res.status(400).send('Bad Request: malformed percent-encoding in the path\n');
      else res.status(404).send('Not Found\n');
      return;
    }
    const req: Request = {
      method: h.method,
      path,
      search: q < 0 ? '' : target.slice(q + 1),
      params: found.match.params,
      head: h,
      body,
      header: (name) => h.get(name),
      text: () => utf8.decode(body),
      json: () => JSON.parse(utf8.decode(body)),
    };
    try {
      const ret = found.match.handler(req, res);
      if (ret instanceof Promise) {
        ret.then((v) => this.finish(res, v), (e) => this.crash(res, e));
      } else {
        this.finish(res, ret);
      }
    } catch (e) {
      this.crash(res, e);
    }
  }

  /** A handler's return value is the response when it did not send one. */
  private finish(res: Res, value: unknown): void {
    if (res.sent) return;
    if (value === undefined) res.status(204).send();
    else if (typeof value === 'string' || value instanceof Uint8Array) res.send(value);
    else res.json(value);
  }

  private crash(res: Res, e: unknown): void {
    this.app.onError(e);
    if (!res.sent) {
      res.code = 500;
      res.headers = [];
      res.send('Internal Server Error\n');
    }
  }

  /** Writes the responses that are ready, in request order. */
  private flush(): void {
    while (this.queue.length > 0 && this.queue[0].out !== null) {
      const r = this.queue[0];
      if (r.stream !== null) {
        // An SSE stream holds the connection: later responses wait until it ends.
        if (this.streaming === r.stream) return;
        this.socket.write(r.out!);
        this.streaming = r.stream;
        this.socket.setTimeout(0); // the stream's heartbeats keep it alive, not the idle timer
        r.stream.attach(this.socket, () => {
          this.streaming = null;
          this.queue.shift();
          this.socket.setTimeout(this.app.keepAliveTimeout);
          if (!r.keepAlive) this.closing = true;
          if (this.closing) {
            this.queue.length = 0;
            this.socket.end();
          } else {
            this.flush();
          }
          if (this.inputEnded && this.queue.length === 0) this.socket.end();
        });
        return;
      }
      this.queue.shift();
      this.socket.write(r.out!);
      if (!r.keepAlive) {
        this.closing = true;
        this.queue.length = 0;
        this.socket.end();
        return;
      }
    }
    if ((this.closing || this.inputEnded) && this.queue.length === 0) this.socket.end();
  }
}

const EMPTY = Buffer.alloc(0);
const REQUEST_TIMEOUT = buildErrorResponse(408, 'the request did not arrive in time');

export class App {
  readonly router = new Router<Handler>();
  readonly limits: HttpLimits;
  readonly keepAliveTimeout: number;
  readonly requestTimeout: number;
  readonly maxConnections: number;
  readonly connections = new Set<net.Socket>();
  onError: (err: unknown) => void = () => {};
  private server: net.Server | null = null;

  constructor(options: ServerOptions = {}) {
    const { keepAliveTimeout = 5000, requestTimeout = 30_000, maxConnections = 10_000, ...limits } = options;
    this.limits = limits;
    this.keepAliveTimeout = keepAliveTimeout;
    this.requestTimeout = requestTimeout;
    this.maxConnections = maxConnections;
  }

  route(method: string | string[], pattern: string, handler: Handler): this {
    this.router.add(method, pattern, handler);
    return this;
  }
  get(p: string, h: Handler): this { return this.route('GET', p, h); }
  post(p: string, h: Handler): this { return this.route('POST', p, h); }
  put(p: string, h: Handler): this { return this.route('PUT', p, h); }
  patch(p: string, h: Handler): this { return this.route('PATCH', p, h); }
  delete(p: string, h: Handler): this { return this.route('DELETE', p, h); }
  head(p: string, h: Handler): this { return this.route('HEAD', p, h); }
  options(p: string, h: Handler): this { return this.route('OPTIONS', p, h); }
  all(p: string, h: Handler): this { return this.route('*', p, h); }

  /** Listens (default 127.0.0.1, port 0 = any free one); resolves with the bound port. */
  listen(options: { host?: string; port?: number } = {}): Promise<{ host: string; port: number }> {
    const host = options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      // allowHalfOpen: a client that half-closes after pipelining still gets its answers.
      const server = net.createServer({ allowHalfOpen: true }, (socket) => {
        if (this.connections.size >= this.maxConnections) {
          socket.destroy();
          return;
        }
        this.connections.add(socket);
        new Connection(socket, this);
      });
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        this.server = server;
        resolve({ host, port: (server.address() as net.AddressInfo).port });
      });
    });
  }

  /** Stops accepting, closes idle connections, and resolves when all are closed. */
  close(): Promise<void> {
    const server = this.server;
    if (server === null) return Promise.resolve();
    this.server = null;
    return new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of this.connections) s.end();
    });
  }
}

export function createServer(options?: ServerOptions): App {
  return new App(options);
}
