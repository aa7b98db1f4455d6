// MCP Streamable HTTP (revisions 2025-03-26 to 2025-11-25) on Conduit's HTTP server.
//
// POST carries client messages. A POST with requests is answered with application/json
// when every handler finished without sending anything first, and becomes an SSE stream
// the moment one sends a notification or a request of its own (decided per POST, as
// messages come). GET opens the session's standalone SSE stream; DELETE ends a session.
// Every SSE event has an id and is kept in an EventStore, so a client whose stream broke
// (or that the server asked to reconnect, SEP-1699) resumes with Last-Event-ID.

import { randomBytes } from 'node:crypto';
import type { Request, Response, SseStream } from '../../http/api.js';
import type { Envelope } from '../../jsonrpc/parse.js';
import { badId, errorMessage, McpErrorCode, serialise, type OutgoingMessage, type Outbound, type ProtocolSession, type Session, type SessionFactory, type RequestId } from '../protocol.js';
import { STATELESS_VERSION, StatelessErrorCode } from '../mrtr.js';
import { checkHeaders, checkVersion, classify, envelopeOf, STATELESS_METHODS, type HeaderParams, type Refusal } from './stateless.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from '../server.js';
import { Keyed } from '../keyed.js';
import { MemoryEventStore, type EventStore } from '../stores/events.js';
import { MemorySessionStore, type SessionStore, type StoredSession } from '../stores/sessions.js';
import { accepts, acceptsJsonAndSse, HttpGuard, jsonBody, parseBody, rpcError, type HttpGuardOptions, type RouteTarget, type SessionRouter } from './http-common.js';

export interface StreamableHttpOptions extends HttpGuardOptions {
  /** Endpoint path (default '/mcp'). */
  path?: string;
  /** No sessions: every POST stands alone; GET and DELETE answer 405. Default false. */
  stateless?: boolean;
  /** Largest POST body (default 4 MiB): 413 before reading when Content-Length says more. */
  maxBodyBytes?: number;
  /** Most live sessions (default 10,000): at the cap the least recently used idle one is evicted, else 503. */
  maxSessions?: number;
  /** A session unused this long (ms) ends (default 30 minutes). */
  sessionIdleTimeout?: number;
  /** Where sessions live (default: in memory, with maxSessions / sessionIdleTimeout). */
  sessions?: SessionStore<HttpSession>;
  /** Where SSE events are kept for resumption (default: in memory, bounded); null: no resumption. */
  eventStore?: EventStore | null;
  /** `retry:` (ms) sent before the server closes a stream a client should reconnect to. Default 1000. */
  retryMs?: number;
  /**
   * How long (ms) requests of a POST whose SSE stream the client dropped keep running,
   * waiting for the client to resume it (GET with Last-Event-ID); then they are aborted.
   * Default 15000. A dropped JSON answer (no event ids to resume from) aborts at once.
   */
  resumeWindowMs?: number;
  /** Heartbeat comment interval (ms) on SSE streams (default 15000; 0 = none). */
  heartbeatMs?: number;
  /** Prefix of session ids (for routing sessions to the process that owns them). */
  sessionIdPrefix?: string;
  /** Forwards requests for sessions other processes own (conduit serve --workers sets it). */
  router?: SessionRouter;
}

const SUPPORTED = new Set<string>(SUPPORTED_PROTOCOL_VERSIONS);
const DEFAULT_VERSION = '2025-03-26';
/** Revisions whose SSE streams start with a priming event (an id, empty data: SEP-1699). */
const PRIMES = (v: string) => v >= '2025-11-25';

type Json = string;

/**
 * The answer to one POST that carried requests: which of them are still owed, and where
 * their messages go (collected JSON, an SSE stream, or — after the stream broke or was
 * closed for a reconnect — only the event store).
 */
class Exchange {
  /** 0 JSON (collecting), 1 SSE stream open, 2 detached (events kept for a resume), 3 done. */
  mode = 0;
  pending: number;
  /** JSON mode: the serialised responses, in the order they finished. */
  parts: Json[] = [];
  sse: SseStream | null = null;
  readonly streamId: string;
  private graceTimer: NodeJS.Timeout | null = null;
  /** Request ids still owed. */
  readonly ids: RequestId[] = [];
  /** Runs once when the exchange is over (a stateless POST's session closes then). */
  onEnd: (() => void) | null = null;
  /** Runs once when the response started (JSON sent, SSE begun, or an error answer). */
  onAnswered: (() => void) | null = null;
  /** The HTTP status of a JSON answer that is an error (2026-07-28: -32601 is a 404...); default 200. */
  statusFor: ((code: number) => number) | null = null;
  private errorCode = 0;

  constructor(private readonly hs: HttpSession, private res: Response | null, private readonly batch: boolean, count: number) {
    this.pending = count;
    this.streamId = hs.nextStreamId();
  }

  /** A message for one of this exchange's requests; `final` when it is that request's response. */
  deliver(msg: OutgoingMessage, final: RequestId | undefined): void {
    const data = serialise(msg);
    if (final !== undefined && 'error' in msg) this.errorCode = msg.error.code;
    if (final !== undefined) this.settled(final);
    if (this.mode === 0) {
      if (final !== undefined) {
        this.parts.push(data);
        if (this.pending === 0) this.sendJson();
        return;
      }
      this.toSse();
    }
    this.write(data);
    if (this.pending === 0) this.end();
  }

  /** A response made here (an invalid batch member, a duplicate id): routed nowhere. */
  reply(msg: OutgoingMessage): void {
    this.pending--;
    const data = serialise(msg);
    if (this.mode === 0) {
      this.parts.push(data);
      if (this.pending === 0) this.sendJson();
      return;
    }
    this.write(data);
    if (this.pending === 0) this.end();
  }

  /** A request ended without a response (cancelled). */
  abandon(id: RequestId): void {
    this.settled(id);
    if (this.pending !== 0) return;
    if (this.mode === 0 && this.parts.length > 0) this.sendJson();
    else if (this.mode === 0) {
      // Nothing to say: an SSE stream that ends at once (no JSON body can be empty).
      this.toSse();
      this.end();
    } else this.end();
  }

  private settled(id: RequestId): void {
    this.pending--;
    this.hs.routes.delete(id);
    const i = this.ids.indexOf(id);
    if (i >= 0) this.ids.splice(i, 1);
  }

  private answered(): void {
    const cb = this.onAnswered;
    this.onAnswered = null;
    cb?.();
  }

  private finished(keep: boolean): void {
    this.answered();
    this.mode = 3;
    if (!keep) this.hs.exchanges.delete(this.streamId);
    const cb = this.onEnd;
    this.onEnd = null;
    cb?.();
  }

  private sendJson(): void {
    this.finished(false);
    const res = this.res!;
    this.res = null;
    const body = this.batch ? `[${this.parts.join(',')}]` : this.parts[0];
    this.parts = [];
    this.announce(res);
    if (this.statusFor !== null && this.errorCode !== 0 && !this.batch) res.status(this.statusFor(this.errorCode));
    res.header('Content-Type', 'application/json').send(body);
  }

  private toSse(): void {
    const res = this.res!;
    this.res = null;
    this.mode = 1;
    this.announce(res);
    const sse = res.sse({ heartbeatMs: this.hs.t.heartbeatMs });
    this.sse = sse;
    sse.onClose(() => this.streamClosed(sse));
    this.answered();
    // The priming event (SEP-1699): an id to resume from, and how soon to reconnect.
    if (this.hs.store !== null && PRIMES(this.hs.proto.protocolVersion)) {
      sse.send({ id: this.hs.store.append(this.hs.id, this.streamId, ''), data: '', retry: this.hs.t.retryMs });
    }
    for (const p of this.parts) this.write(p);
    this.parts = [];
  }

  /** The initialize answer carries the new session's id, unless initialize failed. */
  private announce(res: Response): void {
    const hs = this.hs;
    if (!hs.announce) return;
    hs.announce = false;
    if (!hs.initFailed) res.header('Mcp-Session-Id', hs.id);
  }

  private write(data: string): void {
    const store = this.hs.store;
    const id = store === null ? undefined : store.append(this.hs.id, this.streamId, data);
    if (this.mode === 1) this.sse!.send(id === undefined ? { data } : { id, data });
  }

  private end(): void {
    this.clearGrace();
    if (this.sse !== null && !this.sse.closed) {
      const sse = this.sse;
      this.sse = null;
      sse.close();
    }
    // A detached stream's events stay in the store (bounded) for a resume, which replays
    // them and ends; the exchange itself is not needed for that, so it goes now.
    this.finished(false);
  }

  /** The client's side of the SSE stream went away (or the server closed it for a reconnect). */
  private streamClosed(sse: SseStream): void {
    if (this.sse !== sse) return; // (closed by end(), or replaced by a resume)
    this.sse = null;
    if (this.mode !== 1) return;
    if (this.hs.store === null) {
      this.abortAll('the client closed the stream');
      return;
    }
    this.mode = 2;
    this.clearGrace();
    this.graceTimer = setTimeout(() => this.abortAll('the client did not resume the stream'), this.hs.t.resumeWindowMs);
    this.graceTimer.unref();
  }

  /**
   * The server closes the stream; the client resumes it with Last-Event-ID (SEP-1699).
   * Only where the client was told how (the priming event of 2025-11-25 streams).
   */
  closeForReconnect(): void {
    if (!PRIMES(this.hs.proto.protocolVersion)) return;
    if (this.mode === 0) this.toSse();
    if (this.mode !== 1) return;
    this.sse!.close(); // (streamClosed: detached, waiting for the resume)
  }

  /** A GET with Last-Event-ID took this stream over: `sse` gets what follows. */
  resumed(sse: SseStream): void {
    this.clearGrace();
    if (this.sse !== null && !this.sse.closed) {
      const old = this.sse;
      this.sse = null;
      old.close();
    }
    this.mode = 1;
    this.sse = sse;
    sse.onClose(() => this.streamClosed(sse));
  }

  /** The client went away before any answer (JSON mode): its requests are aborted. */
  clientGone(): void {
    if (this.mode === 0) this.abortAll('the client closed the connection');
  }

  private abortAll(reason: string): void {
    this.clearGrace();
    for (const id of [...this.ids]) this.hs.proto.abort(id, reason);
    if (this.mode === 2 || this.mode === 0) {
      this.finished(false);
      this.hs.store?.dropStream(this.hs.id, this.streamId);
    }
  }

  private clearGrace(): void {
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }

  /** The session ended. */
  close(): void {
    this.clearGrace();
    this.finished(true);
    if (this.sse !== null && !this.sse.closed) this.sse.close();
    this.sse = null;
    if (this.res !== null && !this.res.sent) {
      const res = this.res;
      this.res = null;
      rpcError(res, 404, null, McpErrorCode.ConnectionClosed, 'the session ended');
    }
  }
}

/** A session on Streamable HTTP: its protocol session and where its messages go. */
export class HttpSession implements Outbound, StoredSession {
  lastSeen = 0;
  proto!: Session;
  /** Which exchange owes the response to each client request running now. */
  readonly routes = new Keyed<RequestId, Exchange>();
  /** Exchanges by stream id: open, or detached and waiting for a resume. */
  readonly exchanges = new Keyed<string, Exchange>();
  /** The GET stream (server-initiated messages). */
  standalone: SseStream | null = null;
  /** Whether a GET stream was ever opened (then its messages are kept for a resume). */
  hadStandalone = false;
  /** The id of the initialize that made the session, until it is answered. */
  initializeId: RequestId | undefined = undefined;
  /** initialize was answered with an error: the session is not handed out. */
  initFailed = false;
  /** Whether the session id still has to go out in a response header (the initialize answer). */
  announce = false;
  private streams = 0;
  private closed = false;

  constructor(readonly id: string, readonly t: StreamableHttp, readonly store: EventStore | null) {}

  nextStreamId(): string {
    return String(++this.streams);
  }

  send(msg: OutgoingMessage, related: RequestId | undefined): void {
    if (this.initializeId !== undefined && related === this.initializeId && !('method' in msg)) {
      this.initializeId = undefined;
      // initialize failed: the session it made is not kept (its id answers 404).
      if ('error' in msg) this.initFailed = true;
      if ('error' in msg) queueMicrotask(() => {
        if (this.t.sessions.get(this.id) === this) this.t.sessions.delete(this.id);
        this.close('initialize failed');
      });
    }
    const ex = related === undefined ? undefined : this.routes.get(related);
    if (ex !== undefined) {
      ex.deliver(msg, 'method' in msg ? undefined : related);
      return;
    }
    // Not tied to a request still owed: the standalone stream. While it is not open (its
    // client is between a break and the resume), what it would have carried is kept for
    // the resume, once the session has had such a stream.
    const sse = this.standalone;
    const open = sse !== null && !sse.closed;
    if (!open && (!this.hadStandalone || this.store === null)) return;
    const data = serialise(msg);
    const id = this.store?.append(this.id, '0', data);
    if (open) sse.send(id === undefined ? { data } : { id, data });
  }

  abandoned(id: RequestId): void {
    this.routes.get(id)?.abandon(id);
  }

  closeStream(id: RequestId): void {
    if (this.store === null) return;
    this.routes.get(id)?.closeForReconnect();
  }

  idle(): boolean {
    return this.proto.inflightCount === 0 && (this.standalone === null || this.standalone.closed);
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.proto.close(reason);
    for (const ex of this.exchanges.values()) ex.close();
    this.exchanges.clear();
    this.routes.clear();
    if (this.standalone !== null && !this.standalone.closed) this.standalone.close();
    this.standalone = null;
    this.store?.dropSession(this.id);
  }

  /** Starts an exchange for the requests of one POST. */
  exchange(res: Response, batch: boolean, requests: number): Exchange {
    const ex = new Exchange(this, res, batch, requests);
    this.exchanges.set(ex.streamId, ex);
    res.onAborted(() => ex.clientGone());
    return ex;
  }
}

/** The Streamable HTTP endpoint of one McpServer. */
export class StreamableHttp {
  readonly path: string;
  readonly stateless: boolean;
  readonly maxBodyBytes: number;
  readonly retryMs: number;
  readonly resumeWindowMs: number;
  readonly heartbeatMs: number;
  readonly sessions: SessionStore<HttpSession>;
  private readonly events: EventStore | null;
  private readonly guard: HttpGuard;
  private readonly prefix: string;
  private readonly router: SessionRouter | undefined;

  constructor(readonly server: SessionFactory, options: StreamableHttpOptions = {}) {
    this.path = options.path ?? '/mcp';
    this.stateless = options.stateless ?? false;
    this.maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
    this.retryMs = options.retryMs ?? 1000;
    this.resumeWindowMs = options.resumeWindowMs ?? 15_000;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.sessions = options.sessions ?? new MemorySessionStore<HttpSession>({ maxSessions: options.maxSessions, idleTimeout: options.sessionIdleTimeout });
    this.events = options.eventStore === undefined ? new MemoryEventStore() : options.eventStore;
    this.guard = new HttpGuard(options);
    this.prefix = options.sessionIdPrefix ?? '';
    this.router = options.router;
  }

  /** Answers a request of this endpoint (any method): how forwarded requests come in. */
  handle(req: Request, res: Response): Promise<void> | void {
    if (req.method === 'POST') return this.post(req, res);
    if (req.method === 'GET') return this.get(req, res);
    if (req.method === 'DELETE') return this.delete(req, res);
    res.header('Allow', 'GET, POST, DELETE');
    rpcError(res, 405, null, McpErrorCode.ConnectionClosed, 'Method Not Allowed');
  }

  /** A session another process owns: its answer, forwarded (undefined: ours, or nobody's). */
  private forwarded(req: Request, res: Response, body: Uint8Array | null): Promise<void> | null {
    if (this.router === undefined) return null;
    const id = req.header('mcp-session-id');
    if (id === undefined || id.startsWith(this.prefix)) return null;
    return this.router.forward(id, req, res, body);
  }

  /** Adds the endpoint's routes (POST, GET, DELETE on the path). */
  mount(app: RouteTarget): this {
    app.route('POST', this.path, (req, res) => this.post(req, res), { stream: true });
    app.route('GET', this.path, (req, res) => this.get(req, res));
    app.route('DELETE', this.path, (req, res) => this.delete(req, res));
    return this;
  }

  /** Ends every session. */
  close(): void {
    this.sessions.close();
  }

  /** The session a request names; answers 400 / 404 and returns undefined when there is none. */
  private session(req: Request, res: Response): HttpSession | undefined {
    const id = req.header('mcp-session-id');
    if (id === undefined) {
      rpcError(res, 400, null, McpErrorCode.ConnectionClosed, 'Bad Request: Mcp-Session-Id header is required');
      return undefined;
    }
    const s = this.sessions.get(id);
    if (s === undefined) rpcError(res, 404, null, -32001, 'Session not found');
    return s;
  }

  private version(req: Request, res: Response): boolean {
    const v = req.header('mcp-protocol-version');
    if (v === undefined || SUPPORTED.has(v)) return true;
    rpcError(res, 400, null, McpErrorCode.ConnectionClosed,
      `Bad Request: Unsupported protocol version ${JSON.stringify(v)} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`);
    return false;
  }

  private async post(req: Request, res: Response): Promise<void> {
    const auth = await this.guard.admit(req, res);
    if (auth === undefined) return;
    if (!acceptsJsonAndSse(req.header('accept'))) {
      rpcError(res, 406, null, McpErrorCode.ConnectionClosed, 'Not Acceptable: the client must accept both application/json and text/event-stream');
      return;
    }
    const body = await jsonBody(req, res, this.maxBodyBytes);
    if (body === null) return;
    const away = this.forwarded(req, res, body);
    if (away !== null) return away;
    const parsed = parseBody(body, res);
    if (parsed === null) return;
    const messages = parsed.messages;
    // The 2026-07-28 revision (stateless) and the session-era ones share the endpoint.
    if (classify(req.header('mcp-protocol-version'), messages) === 'stateless') return this.statelessPost(req, res, parsed.batch, messages, auth.info, body);
    let init = -1;
    for (let i = 0; i < messages.length; i++) if (messages[i].method === 'initialize' && messages[i].kind === 'request') init = i;
    if (init >= 0) {
      if (messages.length > 1) {
        rpcError(res, 400, null, McpErrorCode.InvalidRequest, 'Invalid Request: initialize must be sent alone, not in a batch');
        return;
      }
      return this.initialize(messages[0], parsed.batch, res, auth.info);
    }
    if (!this.version(req, res)) return;
    if (this.stateless) {
      return this.dispatch(this.transient(), messages, parsed.batch, res, auth.info, true);
    }
    const hs = this.session(req, res);
    if (hs === undefined) return;
    return this.dispatch(hs, messages, parsed.batch, res, auth.info, false);
  }

  /** A 2026-07-28 POST: one request (or notification) that stands alone, checked before it runs. */
  private statelessPost(req: Request, res: Response, batch: boolean, messages: Envelope[], authInfo: unknown, body: Uint8Array): Promise<void> | undefined {
    const m = messages[0];
    const id = m.kind === 'request' || m.kind === 'invalid' ? (m.id ?? null) : null;
    if (batch) return refuse(res, null, { status: 400, code: McpErrorCode.InvalidRequest, message: 'Invalid Request: 2026-07-28 requests are not sent in batches' });
    if (m.kind === 'notification') {
      res.status(202).send();
      return undefined;
    }
    if (m.kind !== 'request') {
      return refuse(res, id, { status: 400, code: McpErrorCode.InvalidRequest, message: m.kind === 'invalid' ? (m.error as { message: string }).message : 'Invalid Request: a 2026-07-28 POST carries a request or a notification' });
    }
    const idProblem = badId(m.id);
    if (idProblem !== null) return refuse(res, null, { status: 400, code: McpErrorCode.InvalidRequest, message: idProblem });
    // A method the revision does not have (removed, unknown): 404 before anything else is checked.
    if (!STATELESS_METHODS.has(m.method as string)) {
      return refuse(res, id, { status: 404, code: McpErrorCode.MethodNotFound, message: `Method not found: ${m.method as string}${REMOVED_2026.has(m.method as string) ? ` is not part of ${STATELESS_VERSION}` : ''}` });
    }
    const server = this.server as SessionFactory & Partial<HeaderParams> & { statelessCapabilities?: unknown };
    // (a server that does not speak 2026-07-28 — an SDK 1.x one — supports none of it)
    const supported = server.statelessCapabilities !== undefined ? SPEAKS_2026 : SPEAKS_NONE;
    const env = envelopeOf(m.params as Record<string, unknown> | undefined);
    if ('status' in env) return refuse(res, id, env);
    const headers = checkHeaders((n) => req.header(n), m, env.protocolVersion, typeof server.headerParams === 'function' ? server as HeaderParams : null);
    if (headers !== null) return refuse(res, id, headers);
    const version = checkVersion(env.protocolVersion, supported);
    if (version !== null) return refuse(res, id, version);
    if (m.method === 'subscriptions/listen') return this.listen(res, m, server as unknown as Listenable);
    // A task another process made (its id starts with that process's prefix): answered there.
    const taskId = (m.params as Record<string, unknown> | undefined)?.taskId;
    if (this.router !== undefined && (m.method as string).startsWith('tasks/') && typeof taskId === 'string' && !taskId.startsWith(this.prefix)) {
      const away = this.router.forward(taskId, req, res, body);
      if (away !== null) return away;
    }
    // One request, one answer: no session store, no event store (nothing to resume).
    const answer = new StatelessAnswer(res, this.heartbeatMs);
    const proto = (server as unknown as { statelessSession(out: Outbound): ProtocolSession }).statelessSession(answer);
    proto.protocolVersion = env.protocolVersion;
    proto.clientCapabilities = env.clientCapabilities;
    proto.clientInfo = env.clientInfo as ProtocolSession['clientInfo'];
    proto.logLevel = env.logLevel;
    proto.initialized = true;
    answer.proto = proto;
    answer.id = m.id as RequestId;
    res.onAborted(() => answer.clientGone());
    proto.receive(m, authInfo);
    if (res.sent) return undefined;
    return new Promise((resolve) => (answer.onAnswered = resolve));
  }

  /**
   * subscriptions/listen (2026-07-28): a long-lived SSE answer. Its first event acknowledges
   * the accepted filter with the subscription id; then the notifications it asked for,
   * each tagged with that id, until the client goes away.
   */
  private listen(res: Response, m: Envelope, server: Listenable): undefined {
    const p = (m.params ?? {}) as Record<string, unknown>;
    const filter = p.notifications ?? {};
    if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
      return refuse(res, m.id, { status: 200, code: McpErrorCode.InvalidParams, message: 'Invalid params: notifications must be an object' });
    }
    // (the subscription id is the listen request's id: clients match the acknowledgement by it)
    const id = m.id as RequestId;
    let sse: SseStream | null = null;
    const send = (method: string, params: Record<string, unknown>) => {
      if (sse !== null && !sse.closed) sse.send({ data: JSON.stringify({ jsonrpc: '2.0', method, params }) });
    };
    const caps = ((p._meta as Record<string, unknown> | undefined)?.['io.modelcontextprotocol/clientCapabilities'] ?? {}) as Record<string, unknown>;
    const sub = server.subscribe(filter as Record<string, unknown>, id, send, caps);
    if (sub === null) {
      res.header('Retry-After', '5');
      return refuse(res, m.id, { status: 503, code: McpErrorCode.ConnectionClosed, message: 'Service Unavailable: too many live subscriptions' });
    }
    sse = res.sse({ heartbeatMs: this.heartbeatMs });
    sse.onClose(() => sub.stop());
    send('notifications/subscriptions/acknowledged', { notifications: sub.accepted, _meta: { 'io.modelcontextprotocol/subscriptionId': id } });
    return undefined;
  }

  private initialize(m: Envelope, batch: boolean, res: Response, authInfo: unknown): Promise<void> | undefined {
    let hs: HttpSession;
    if (this.stateless) hs = this.transient();
    else {
      const id = this.prefix + randomBytes(16).toString('base64url');
      hs = new HttpSession(id, this, this.events);
      // The session exists only once the server gave it one (an SDK instance refuses a
      // second), and is kept only if initialize succeeds (see HttpSession.send).
      try {
        hs.proto = this.server.openSession(id, hs);
      } catch (e) {
        this.server.reportError?.(e);
        rpcError(res, 503, m.id, McpErrorCode.ConnectionClosed, `Service Unavailable: ${(e as Error)?.message ?? 'no session'}`);
        return undefined;
      }
      if (!this.sessions.add(id, hs)) {
        hs.close('too many sessions');
        res.header('Retry-After', '5');
        rpcError(res, 503, m.id, McpErrorCode.ConnectionClosed, 'Service Unavailable: too many sessions');
        return undefined;
      }
      hs.initializeId = m.id as RequestId;
    }
    hs.announce = !this.stateless;
    return this.dispatch(hs, [m], batch, res, authInfo, this.stateless);
  }

  private transient(): HttpSession {
    const hs = new HttpSession('', this, null);
    hs.proto = this.server.openSession(undefined, hs);
    return hs;
  }

  /**
   * Hands the messages to the session. Returns, when the answer is not ready yet, a
   * promise of its start (a route handler that resolves before answering gets a 204).
   */
  private dispatch(hs: HttpSession, messages: Envelope[], batch: boolean, res: Response, authInfo: unknown, transient: boolean,
    statusFor: ((code: number) => number) | null = null): Promise<void> | undefined {
    const proto = hs.proto;
    let requests = 0;
    for (const m of messages) if (m.kind === 'request' || m.kind === 'invalid') requests++;
    if (requests === 0) {
      for (const m of messages) proto.receive(m, authInfo);
      res.status(202).send();
      if (transient) proto.close();
      return undefined;
    }
    const ex = hs.exchange(res, batch, requests);
    ex.statusFor = statusFor;
    if (transient) ex.onEnd = () => proto.close();
    // Ids must be unique among the session's requests in flight: a duplicate is answered
    // here, and not run.
    let dup: Set<Envelope> | null = null;
    for (const m of messages) {
      if (m.kind !== 'request') continue;
      const id = m.id as RequestId;
      if (badId(id) !== null || hs.routes.has(id)) {
        (dup ??= new Set()).add(m);
        continue;
      }
      hs.routes.set(id, ex);
      ex.ids.push(id);
    }
    for (const m of messages) {
      if (m.kind === 'invalid') {
        ex.reply(errorMessage((m.id ?? null) as RequestId | null, McpErrorCode.InvalidRequest, (m.error as { message: string }).message));
      } else if (dup !== null && dup.has(m)) {
        const bad = badId(m.id);
        ex.reply(bad !== null ? errorMessage(null, McpErrorCode.InvalidRequest, bad)
          : errorMessage(m.id as RequestId, McpErrorCode.InvalidRequest, `Invalid Request: a request with id ${JSON.stringify(m.id)} is already in flight`));
      } else proto.receive(m, authInfo);
    }
    if (res.sent) return undefined;
    return new Promise((resolve) => (ex.onAnswered = resolve));
  }

  private async get(req: Request, res: Response): Promise<void> {
    const auth = await this.guard.admit(req, res);
    if (auth === undefined) return;
    if (this.stateless) return statelessRefusal(res, 'no standalone stream');
    if (!accepts(req.header('accept'), 'text/event-stream')) {
      rpcError(res, 406, null, McpErrorCode.ConnectionClosed, 'Not Acceptable: the client must accept text/event-stream');
      return;
    }
    const away = this.forwarded(req, res, null);
    if (away !== null) return away;
    const hs = this.session(req, res);
    if (hs === undefined || !this.version(req, res)) return;
    const last = req.header('last-event-id');
    if (last !== undefined && hs.store !== null) {
      const r = hs.store.replay(hs.id, last);
      if (r !== null && r.streamId !== '0') {
        const ex = hs.exchanges.get(r.streamId);
        if (ex === undefined && r.events.length === 0) {
          // That stream is over and the client has all of it (a cancelled request ends
          // its stream without a response): 204 tells an SSE client to stop reconnecting.
          res.status(204).send();
          return;
        }
        const sse = res.sse({ heartbeatMs: this.heartbeatMs });
        for (const e of r.events) sse.send({ id: e.id, data: e.data });
        if (ex === undefined) sse.close();
        else ex.resumed(sse);
        return;
      }
      if (r !== null) return this.openStandalone(hs, res, r.events);
    }
    this.openStandalone(hs, res, []);
  }

  private openStandalone(hs: HttpSession, res: Response, replay: Array<{ id: string; data: string }>): void {
    if (hs.standalone !== null && !hs.standalone.closed) {
      rpcError(res, 409, null, McpErrorCode.ConnectionClosed, 'Conflict: this session already has a standalone SSE stream');
      return;
    }
    const sse = res.sse({ heartbeatMs: this.heartbeatMs });
    hs.standalone = sse;
    hs.hadStandalone = true;
    sse.onClose(() => {
      if (hs.standalone === sse) hs.standalone = null;
    });
    if (hs.store !== null && PRIMES(hs.proto.protocolVersion)) sse.send({ id: hs.store.append(hs.id, '0', ''), data: '' });
    for (const e of replay) sse.send({ id: e.id, data: e.data });
  }

  private async delete(req: Request, res: Response): Promise<void> {
    const auth = await this.guard.admit(req, res);
    if (auth === undefined) return;
    if (this.stateless) return statelessRefusal(res, 'no sessions');
    const away = this.forwarded(req, res, null);
    if (away !== null) return away;
    const hs = this.session(req, res);
    if (hs === undefined) return;
    this.sessions.delete(hs.id);
    hs.close('the client ended the session');
    res.status(200).send();
  }
}


/** GET and DELETE on a stateless endpoint: 405, Allow: POST. */
function statelessRefusal(res: Response, what: string): void {
  res.header('Allow', 'POST');
  rpcError(res, 405, null, McpErrorCode.ConnectionClosed, `Method Not Allowed: this server is stateless (${what})`);
}

/**
 * Serves a server (McpServer, or serveSdkServer's adapter) on Streamable HTTP at `options.path` (default /mcp) of an App
 * (createServer()). Returns the endpoint (its sessions, close()).
 */
export function serveStreamableHttp(app: RouteTarget, server: SessionFactory, options?: StreamableHttpOptions): StreamableHttp {
  return new StreamableHttp(server, options).mount(app);
}

/**
 * The answer to one 2026-07-28 request: JSON, or SSE from the moment the handler sends a
 * notification before its result (then the result ends the stream). Its session closes
 * with it.
 */
class StatelessAnswer implements Outbound {
  proto: ProtocolSession | null = null;
  id: RequestId = 0;
  onAnswered: (() => void) | null = null;
  private sse: SseStream | null = null;
  private done = false;

  constructor(private readonly res: Response, private readonly heartbeatMs: number) {}

  send(msg: OutgoingMessage, related: RequestId | undefined): void {
    // (nothing else belongs to a stateless request; an error about the request itself —
    // its id or params — comes unrelated, and answers it)
    if (this.done || (related !== this.id && !(related === undefined && 'error' in msg))) return;
    const data = serialise(msg);
    const final = !('method' in msg);
    if (this.sse === null && final) {
      if ('error' in msg) this.res.status(statelessStatus(msg.error.code));
      this.res.header('Content-Type', 'application/json').send(data);
      this.finish();
      return;
    }
    if (this.sse === null) {
      this.sse = this.res.sse({ heartbeatMs: this.heartbeatMs });
      this.sse.onClose(() => this.clientGone());
      this.answered();
    }
    this.sse.send({ data });
    if (final) {
      this.finish();
      this.sse.close();
    }
  }

  abandoned(): void {
    // Cancelled: no response; whatever was started ends.
    this.finish();
    if (this.sse !== null) this.sse.close();
    else if (!this.res.sent) this.res.status(202).send();
  }

  clientGone(): void {
    if (this.done) return;
    this.proto?.abort(this.id, 'the client went away');
    this.finish();
  }

  private answered(): void {
    const cb = this.onAnswered;
    this.onAnswered = null;
    cb?.();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.answered();
    const p = this.proto;
    this.proto = null;
    if (p !== null) queueMicrotask(() => p.close());
  }
}

/** A server that serves subscriptions/listen (McpServer). */
interface Listenable {
  subscribe(filter: Record<string, unknown>, id: RequestId, send: (method: string, params: Record<string, unknown>) => void,
    clientCapabilities?: Record<string, unknown>): { accepted: Record<string, unknown>; stop: () => void } | null;
}

/** Methods 2026-07-28 removed (a 404 that says so). */
/** The 2026 revisions a server speaks: this one, or none (an SDK 1.x server). */
const SPEAKS_2026: readonly string[] = [STATELESS_VERSION];
const SPEAKS_NONE: readonly string[] = [];
const REMOVED_2026 = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);

/** 2026-07-28: the HTTP status of an error answer (the rest of the ladder is refused before it runs). */
function statelessStatus(code: number): number {
  if (code === McpErrorCode.MethodNotFound) return 404;
  if (code === StatelessErrorCode.MissingCapability || code === StatelessErrorCode.HeaderMismatch || code === StatelessErrorCode.UnsupportedVersion) return 400;
  return 200;
}

function refuse(res: Response, id: unknown, r: Refusal): undefined {
  rpcError(res, r.status, id, r.code, r.message, r.data);
  return undefined;
}
