// MCP sessions across worker instances. A session lives in the worker that created it
// (its id starts with that worker's index: "3.xxxx"); the kernel (SO_REUSEPORT) or the
// cluster acceptor may bring its next request to any worker. That worker forwards the
// exchange through the supervisor to the owner, which answers it as if it had come in
// itself, and the answer (JSON, or an SSE stream event by event) comes back the same way.

import type { Request, Response, SseStream } from '../http/api.js';
import type { SessionRouter } from '../mcp/transports/http-common.js';
import type { McpEndpoints } from '../mcp/serve.js';
import type { McpRelay, RelayEvent, RelayPart } from './messages.js';

type Post = (m: McpRelay) => void;

/** Where the answer of an exchange this worker forwarded goes. */
interface Waiting {
  res: Response;
  sse: SseStream | null;
  answered: () => void;
  owner: number;
}

const te = new TextEncoder();

/** The forwarding side and the owning side of one worker. */
export class McpRelayNode implements SessionRouter {
  private nextXid = 0;
  private readonly waiting = new Map<number, Waiting>();
  /** Exchanges this worker answers for others: how to tell them the client went away. */
  private readonly serving = new Map<string, () => void>();
  endpoints: McpEndpoints | null = null;

  constructor(readonly index: number, private readonly post: Post) {}

  /** The session id prefix of this worker. */
  get prefix(): string {
    return `${this.index}.`;
  }

  forward(sessionId: string, req: Request, res: Response, body: Uint8Array | null): Promise<void> | null {
    const dot = sessionId.indexOf('.');
    const owner = dot > 0 ? Number(sessionId.slice(0, dot)) : NaN;
    if (!Number.isSafeInteger(owner) || owner < 0 || owner === this.index) return null;
    const xid = this.nextXid++;
    const headers: Array<[string, string]> = [];
    for (const [k, v] of req.head.headers) headers.push([k, v]);
    return new Promise<void>((answered) => {
      this.waiting.set(xid, { res, sse: null, answered, owner });
      res.onAborted(() => this.abortRemote(xid));
      this.post({ type: 'mcp', to: owner, from: this.index, xid, part: { kind: 'request', method: req.method, path: req.path, search: req.search, headers, body } });
    });
  }

  /** A relayed message for this worker. */
  receive(m: McpRelay): void {
    const p = m.part;
    if (p.kind === 'request') this.serve(m.from, m.xid, p);
    else if (p.kind === 'abort') this.serving.get(`${m.from}:${m.xid}`)?.();
    else this.answer(m.xid, p);
  }

  /** Part of an answer to an exchange this worker forwarded. */
  private answer(xid: number, p: RelayPart): void {
    const w = this.waiting.get(xid);
    if (w === undefined) return;
    if (p.kind === 'gone') {
      this.waiting.delete(xid);
      w.answered();
      if (!w.res.sent) {
        w.res.status(404).header('Content-Type', 'application/json')
          .send('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found (its worker is not running)"}}');
      }
    } else if (p.kind === 'head') {
      w.res.status(p.status);
      for (const [k, v] of p.headers) w.res.header(k, v);
      if (p.sse) {
        const sse = w.res.sse();
        w.sse = sse;
        // (a stream that ends before the owner's 'end': the client went away)
        sse.onClose(() => this.abortRemote(xid));
      } else {
        this.waiting.delete(xid);
        w.res.send(p.body ?? undefined);
      }
      w.answered();
    } else if (p.kind === 'event') {
      if (w.sse !== null && !w.sse.closed) w.sse.send(p.event);
    } else if (p.kind === 'end') {
      this.waiting.delete(xid);
      w.sse?.close();
    }
  }

  /** The client of an exchange this worker forwarded went away: the owner is told. */
  private abortRemote(xid: number): void {
    const w = this.waiting.get(xid);
    if (w === undefined) return;
    this.waiting.delete(xid);
    this.post({ type: 'mcp', to: w.owner, from: this.index, xid, part: { kind: 'abort' } });
  }

  /** An exchange another worker forwarded: answered here, the answer relayed back. */
  private serve(from: number, xid: number, p: Extract<RelayPart, { kind: 'request' }>): void {
    const key = `${from}:${xid}`;
    const send = (part: RelayPart) => this.post({ type: 'mcp', to: from, from: this.index, xid, part });
    const res = new RelayResponse(send, () => this.serving.delete(key));
    this.serving.set(key, () => {
      this.serving.delete(key);
      res.clientGone();
    });
    const req = new RelayRequest(p);
    const e = this.endpoints;
    try {
      let r: Promise<void> | void;
      if (e !== null && p.path === e.streamable.path) r = e.streamable.handle(req, res);
      else if (e?.legacy !== null && e !== null && p.path === e.legacy.messagesPath && p.method === 'POST') r = e.legacy.post(req, res);
      else {
        res.status(404).send('Not Found\n');
        return;
      }
      if (r instanceof Promise) r.catch(() => res.failed());
    } catch {
      res.failed();
    }
  }
}

/** The request as the owner sees it: head and body as they came to the forwarding worker. */
class RelayRequest implements Request {
  readonly method: string;
  readonly path: string;
  readonly search: string;
  readonly params = {};
  readonly route = null;
  readonly body: Uint8Array;
  private readonly headers: Map<string, string>;
  private q: URLSearchParams | null = null;

  constructor(p: Extract<RelayPart, { kind: 'request' }>) {
    this.method = p.method;
    this.path = p.path;
    this.search = p.search;
    this.body = p.body ?? new Uint8Array(0);
    this.headers = new Map();
    for (const [k, v] of p.headers) {
      const n = k.toLowerCase();
      const had = this.headers.get(n);
      this.headers.set(n, had === undefined ? v : `${had}, ${v}`);
    }
  }

  get query(): URLSearchParams {
    return (this.q ??= new URLSearchParams(this.search));
  }
  get head(): never {
    throw new Error('a relayed request has no parsed head');
  }
  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase());
  }
  text(): string {
    return new TextDecoder().decode(this.body);
  }
  json(): unknown {
    return JSON.parse(this.text());
  }
  async *stream(): AsyncIterable<Uint8Array> {
    if (this.body.length > 0) yield this.body;
  }
  bytes(max = Infinity): Promise<Uint8Array> {
    // (the forwarding worker read it within the limit already)
    return this.body.length > max ? Promise.reject(new Error('the request body is too large')) : Promise.resolve(this.body);
  }
}

/** The answer as the owner writes it: relayed back part by part. */
class RelayResponse implements Response {
  private code = 200;
  private readonly headers: Array<[string, string]> = [];
  private done = false;
  private sseStream: RelaySse | null = null;
  private abortCbs: Array<() => void> = [];

  constructor(private readonly relay: (p: RelayPart) => void, private readonly finished: () => void) {}

  get sent(): boolean {
    return this.done || this.sseStream !== null;
  }
  status(code: number): this {
    this.code = code;
    return this;
  }
  header(name: string, value: string): this {
    this.headers.push([name, value]);
    return this;
  }
  send(body?: string | Uint8Array): void {
    if (this.sent) throw new Error('response already sent');
    this.done = true;
    this.finished();
    this.relay({ kind: 'head', status: this.code, headers: this.headers, sse: false, body: body === undefined ? null : typeof body === 'string' ? te.encode(body) : body });
  }
  json(value: unknown): void {
    this.header('Content-Type', 'application/json').send(JSON.stringify(value));
  }
  sse(): SseStream {
    if (this.sent) throw new Error('response already sent');
    this.sseStream = new RelaySse(this.relay, this.finished);
    this.relay({ kind: 'head', status: 200, headers: this.headers, sse: true, body: null });
    return this.sseStream;
  }
  stream(): never {
    throw new Error('a relayed MCP answer is JSON or SSE');
  }
  onAborted(cb: () => void): void {
    this.abortCbs.push(cb);
  }
  /** The forwarding worker's client went away. */
  clientGone(): void {
    if (this.sseStream !== null) this.sseStream.gone();
    else if (!this.done) {
      this.done = true;
      const cbs = this.abortCbs;
      this.abortCbs = [];
      for (const cb of cbs) cb();
    }
  }
  /** The handler failed before answering. */
  failed(): void {
    if (!this.sent) {
      this.code = 500;
      this.send('Internal Server Error\n');
    }
  }
}

class RelaySse implements SseStream {
  closed = false;
  private cbs: Array<() => void> = [];

  constructor(private readonly post: (p: RelayPart) => void, private readonly finished: () => void) {}

  send(event: RelayEvent | { data: string | Uint8Array; id?: string; event?: string; retry?: number }): void {
    if (this.closed) return;
    const data = typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data);
    this.post({ kind: 'event', event: { ...event, data } });
  }
  comment(): void {
    // (the forwarding worker's stream has heartbeats of its own)
  }
  close(): void {
    if (this.closed) return;
    this.post({ kind: 'end' });
    this.gone();
  }
  /** Ended (closed here, or the client went away there). */
  gone(): void {
    if (this.closed && this.cbs.length === 0) return;
    this.closed = true;
    this.finished();
    const cbs = this.cbs;
    this.cbs = [];
    for (const cb of cbs) cb();
  }
  onClose(cb: () => void): void {
    if (this.closed) cb();
    else this.cbs.push(cb);
  }
}
