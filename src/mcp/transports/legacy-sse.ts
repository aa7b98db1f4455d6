// The HTTP+SSE transport of MCP 2024-11-05: GET /sse opens a session's stream, whose first
// event (`endpoint`) names the URL the client POSTs its messages to; every message from
// the server (responses included) goes down that one stream. Same McpServer, same guard.

import { randomBytes } from 'node:crypto';
import type { Request, Response, SseStream } from '../../http/api.js';
import { McpErrorCode, serialise, type OutgoingMessage, type Outbound, type Session, type SessionFactory, type RequestId } from '../protocol.js';
import { HttpGuard, jsonBody, parseBody, rpcError, type HttpGuardOptions, type RouteTarget, type SessionRouter } from './http-common.js';

export interface LegacySseOptions extends HttpGuardOptions {
  /** Path of the SSE stream (default '/sse'). */
  ssePath?: string;
  /** Path clients POST to (default '/messages'). */
  messagesPath?: string;
  /** Largest POST body (default 4 MiB). */
  maxBodyBytes?: number;
  /** Most open sessions (streams); more are refused with 503. Default 10,000. */
  maxSessions?: number;
  /** Heartbeat comment interval (ms; default 15000). */
  heartbeatMs?: number;
  /** Prefix of session ids (for routing sessions to the process that owns them). */
  sessionIdPrefix?: string;
  /** Forwards POSTs for sessions other processes own (conduit serve --workers sets it). */
  router?: SessionRouter;
}

class LegacySession implements Outbound {
  proto!: Session;
  constructor(readonly id: string, readonly sse: SseStream) {}

  send(msg: OutgoingMessage, _related: RequestId | undefined): void {
    if (!this.sse.closed) this.sse.send({ event: 'message', data: serialise(msg) });
  }
}

export class LegacySse {
  readonly ssePath: string;
  readonly messagesPath: string;
  private readonly maxBodyBytes: number;
  private readonly maxSessions: number;
  private readonly heartbeatMs: number;
  private readonly guard: HttpGuard;
  private readonly prefix: string;
  private readonly router: SessionRouter | undefined;
  readonly sessions = new Map<string, LegacySession>();

  constructor(readonly server: SessionFactory, options: LegacySseOptions = {}) {
    this.ssePath = options.ssePath ?? '/sse';
    this.messagesPath = options.messagesPath ?? '/messages';
    this.maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
    this.maxSessions = options.maxSessions ?? 10_000;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.guard = new HttpGuard(options);
    this.prefix = options.sessionIdPrefix ?? '';
    this.router = options.router;
  }

  mount(app: RouteTarget): this {
    app.route('GET', this.ssePath, (req, res) => this.open(req, res));
    app.route('POST', this.messagesPath, (req, res) => this.post(req, res), { stream: true });
    return this;
  }

  close(): void {
    for (const s of [...this.sessions.values()]) s.sse.close();
  }

  private async open(req: Request, res: Response): Promise<void> {
    if ((await this.guard.admit(req, res)) === undefined) return;
    if (this.sessions.size >= this.maxSessions) {
      res.header('Retry-After', '5');
      rpcError(res, 503, null, McpErrorCode.ConnectionClosed, 'Service Unavailable: too many sessions');
      return;
    }
    const id = this.prefix + randomBytes(16).toString('hex');
    const sse = res.sse({ heartbeatMs: this.heartbeatMs });
    const s = new LegacySession(id, sse);
    s.proto = this.server.openSession(id, s);
    this.sessions.set(id, s);
    sse.onClose(() => {
      this.sessions.delete(id);
      s.proto.close('the client closed the stream');
    });
    sse.send({ event: 'endpoint', data: `${this.messagesPath}?sessionId=${id}` });
  }

  /** Answers a POST to the messages path (how forwarded requests come in). */
  async post(req: Request, res: Response): Promise<void> {
    const auth = await this.guard.admit(req, res);
    if (auth === undefined) return;
    const id = req.query.get('sessionId');
    if (id === null) {
      rpcError(res, 400, null, McpErrorCode.ConnectionClosed, 'Bad Request: the sessionId query parameter is required');
      return;
    }
    const body = await jsonBody(req, res, this.maxBodyBytes);
    if (body === null) return;
    if (this.router !== undefined && !id.startsWith(this.prefix)) {
      const away = this.router.forward(id, req, res, body);
      if (away !== null) return away;
    }
    const s = this.sessions.get(id);
    if (s === undefined) {
      rpcError(res, 404, null, -32001, 'Session not found');
      return;
    }
    const parsed = parseBody(body, res);
    if (parsed === null) return;
    for (const m of parsed.messages) s.proto.receive(m, auth.info);
    res.status(202).header('Content-Type', 'text/plain').send('Accepted');
  }
}

/** Serves a server (McpServer, or serveSdkServer's adapter) on the legacy HTTP+SSE transport (GET /sse, POST /messages). */
export function serveLegacySse(app: RouteTarget, server: SessionFactory, options?: LegacySseOptions): LegacySse {
  return new LegacySse(server, options).mount(app);
}
