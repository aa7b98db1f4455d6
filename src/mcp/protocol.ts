// The JSON-RPC session under every MCP transport: requests in flight (cancellation,
// progress tokens), requests the server sends the client (sampling, elicitation, roots)
// and their responses, and where each outgoing message belongs. It knows nothing of
// HTTP: a transport gives it an Outbound and feeds it the client's messages.

import { setMaxListeners } from 'node:events';
import type { Envelope, JsonRpcId } from '../jsonrpc/parse.js';
import { Keyed } from './keyed.js';

export type RequestId = string | number;

/** JSON-RPC and MCP error codes. */
export const McpErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** MCP: a connection-level problem (the SDK's ConnectionClosed / bad session header). */
  ConnectionClosed: -32000,
  RequestTimeout: -32001,
  /** MCP 2025: resources/read of a URI the server does not have. */
  ResourceNotFound: -32002,
  /** MCP: URL-mode elicitation is required before the request can go on. */
  UrlElicitationRequired: -32042,
} as const;

/** An error a handler throws to answer with a specific JSON-RPC error. */
export class McpError extends Error {
  constructor(readonly code: number, message: string, readonly data?: unknown) {
    super(message);
    this.name = 'McpError';
  }
}

/** A message on its way out, already an object (serialised once, by the transport). */
export type OutgoingMessage =
  | { jsonrpc: '2.0'; id: RequestId; result: unknown }
  | { jsonrpc: '2.0'; id: RequestId | null; error: { code: number; message: string; data?: unknown } }
  | { jsonrpc: '2.0'; id: RequestId; method: string; params?: unknown }
  | { jsonrpc: '2.0'; method: string; params?: unknown };

/**
 * Where a session's messages go. `related` is the id of the client request a message
 * belongs to (its response, or a notification / request sent while it runs); undefined
 * for messages of the session as a whole. Streamable HTTP routes by it; stdio and the
 * legacy SSE transport have one stream for everything.
 */
export interface Outbound {
  send(message: OutgoingMessage, related: RequestId | undefined): void;
  /** A client request ended without a response (it was cancelled). */
  abandoned?(id: RequestId): void;
}

/** A session as transports see it (ProtocolSession, or an adapter around another server). */
export interface Session {
  readonly id: string | undefined;
  /** The revision initialize negotiated. */
  readonly protocolVersion: string;
  /** Client requests running now. */
  readonly inflightCount: number;
  /** Handles one message from the client. */
  receive(m: Envelope, authInfo?: unknown): void;
  /** Aborts a running client request (its client went away). */
  abort(id: RequestId, reason: string): void;
  close(reason?: string): void;
}

/** What transports serve: a source of sessions (McpServer; serveSdkServer's adapter). */
export interface SessionFactory {
  openSession(id: string | undefined, out: Outbound): Session;
  /** Where errors with no other place to go are reported (optional). */
  reportError?(err: unknown): void;
}

/** What a handler of a client request is told about it. */
export interface IncomingRequest {
  readonly id: RequestId;
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly signal: AbortSignal;
  readonly session: ProtocolSession;
  /** What the transport's authenticate hook returned, if any. */
  readonly authInfo: unknown;
  /** Set once the request is answered (or cancelled): nothing more may be sent for it. */
  readonly done: boolean;
  /** Whether it was cancelled (signal.aborted, without making the signal). */
  readonly aborted: boolean;
  /** What the dispatcher keeps with the request while it runs. */
  extra: unknown;
}

/** Answers client requests and notifications (the MCP server). */
export interface Dispatcher {
  request(req: IncomingRequest): unknown;
  notification(session: ProtocolSession, method: string, params: Record<string, unknown>): void;
  /** Errors that have nowhere else to go (a handler failing after its request ended, ...). */
  reportError(err: unknown): void;
}

export interface SessionRequestOptions {
  /** The client request this one is sent for (routes it onto that request's stream). */
  related?: RequestId;
  /** Aborts the request (a notifications/cancelled goes to the client). */
  signal?: AbortSignal;
  /** Default 60 s. */
  timeoutMs?: number;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
  cleanup: () => void;
}

const EMPTY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * A client request while it runs. Its AbortController is made only when a handler asks
 * for the signal (most never do): a cancellation before that is remembered and the signal
 * starts aborted.
 */
class Running implements IncomingRequest {
  private ac: AbortController | null = null;
  private reason: unknown = undefined;
  aborted = false;
  done = false;
  /** What the dispatcher keeps with the request while it runs (the MCP server: 2026 input rounds, a task gate). */
  extra: unknown = undefined;

  constructor(readonly id: RequestId, readonly method: string, readonly params: Record<string, unknown>,
    readonly session: ProtocolSession, readonly authInfo: unknown) {}

  get signal(): AbortSignal {
    if (this.ac === null) {
      this.ac = new AbortController();
      // (a handler may have many requests to the client waiting on it at once)
      setMaxListeners(0, this.ac.signal);
      if (this.aborted) this.ac.abort(this.reason);
    }
    return this.ac.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.ac?.abort(reason);
  }
}

/** Logging levels, RFC 5424 order. */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * One client's JSON-RPC session. Its durable part (what `initialize` negotiated, the log
 * level, subscriptions) is in `state`, which a session store keeps; the rest lives with
 * the connection that serves it.
 */
export class ProtocolSession implements Session {
  /** Client requests running now, by id. */
  private readonly inflight = new Keyed<RequestId, Running>();
  /** Requests this server sent the client, waiting for their answer. */
  private readonly pending = new Keyed<RequestId, Pending>();
  private nextId = 0;
  private closed = false;
  /** Negotiated at initialize (what the session's MCP-Protocol-Version must be). */
  protocolVersion = '2025-03-26';
  clientCapabilities: Record<string, unknown> = {};
  clientInfo: { name?: string; version?: string } | undefined;
  initialized = false;
  /** Index into LOG_LEVELS of the lowest level sent (logging/setLevel); 0 = everything. */
  logLevel = 0;
  /** Resource URIs subscribed to (none: null, so that an idle session holds no Set). */
  subscriptions: Set<string> | null = null;
  /** Called once by close(). */
  onClose: (() => void) | null = null;

  constructor(readonly id: string | undefined, public out: Outbound, readonly dispatcher: Dispatcher) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether a client request with this id is running (ids must be unique in flight). */
  has(id: RequestId): boolean {
    return this.inflight.has(id);
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Handles one message from the client. */
  receive(m: Envelope, authInfo?: unknown): void {
    switch (m.kind) {
      case 'request':
        this.receiveRequest(m.id as RequestId, m.method as string, m.params, authInfo);
        return;
      case 'notification':
        this.receiveNotification(m.method as string, m.params);
        return;
      case 'response':
        this.settle(m.id, true, m.result);
        return;
      case 'error':
        this.settle(m.id, false, m.error);
        return;
      default:
        this.out.send({ jsonrpc: '2.0', id: (m.id ?? null) as RequestId | null, error: m.error as { code: number; message: string } }, undefined);
    }
  }

  receiveRequest(id: RequestId, method: string, params: unknown, authInfo?: unknown): void {
    if (this.closed) return;
    const bad = badId(id);
    if (bad !== null) {
      this.out.send(errorMessage(null, McpErrorCode.InvalidRequest, bad), undefined);
      return;
    }
    if (this.inflight.has(id)) {
      this.out.send(errorMessage(id, McpErrorCode.InvalidRequest, `Invalid Request: a request with id ${JSON.stringify(id)} is already in flight`), id);
      return;
    }
    if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) {
      this.out.send(errorMessage(id, McpErrorCode.InvalidParams, 'Invalid params: MCP params must be an object'), id);
      return;
    }
    const req = new Running(id, method, (params as Record<string, unknown> | undefined) ?? EMPTY, this, authInfo);
    const ac = req;
    this.inflight.set(id, req);
    let out: unknown;
    try {
      out = this.dispatcher.request(req);
    } catch (e) {
      this.finish(id, ac, false, e);
      return;
    }
    if (out instanceof Promise) out.then((v) => this.finish(id, ac, true, v), (e) => this.finish(id, ac, false, e));
    else this.finish(id, ac, true, out);
  }

  private finish(id: RequestId, ac: Running, ok: boolean, value: unknown): void {
    if (this.inflight.get(id) !== ac) return; // (the session closed)
    this.inflight.delete(id);
    ac.done = true;
    try {
      if (ac.aborted) {
        // Cancelled: the spec says no response; the transport closes what waited for one.
        this.out.abandoned?.(id);
      } else if (ok) {
        this.out.send({ jsonrpc: '2.0', id, result: value ?? {} }, id);
      } else if (value instanceof McpError) {
        // (an internal error is the app's to know about: a handler answered with something unsendable)
        if (value.code === McpErrorCode.InternalError) this.dispatcher.reportError(value);
        this.out.send(errorMessage(id, value.code, value.message, value.data), id);
      } else {
        this.dispatcher.reportError(value);
        this.out.send(errorMessage(id, McpErrorCode.InternalError, value instanceof Error ? value.message : 'Internal error'), id);
      }
    } catch (e) {
      // (a result JSON cannot hold — a BigInt, a cycle — or a transport that failed)
      this.dispatcher.reportError(e);
      try {
        this.out.send(errorMessage(id, McpErrorCode.InternalError, `the result could not be sent: ${(e as Error)?.message ?? e}`), id);
      } catch {
        // (nothing more to do)
      }
    }
  }

  receiveNotification(method: string, params: unknown): void {
    if (this.closed) return;
    const p = (params !== null && typeof params === 'object' && !Array.isArray(params) ? params : EMPTY) as Record<string, unknown>;
    if (method === 'notifications/cancelled') {
      const id = p.requestId as RequestId | undefined;
      const r = id === undefined ? undefined : this.inflight.get(id);
      if (r === undefined) return;
      r.abort(new McpError(McpErrorCode.RequestTimeout, typeof p.reason === 'string' ? p.reason : 'cancelled by the client'));
      // Over for the transport now, whether or not the handler ever settles (what it
      // returns later is dropped): its POST ends, the id may be used again.
      this.inflight.delete(id as RequestId);
      r.done = true;
      try {
        this.out.abandoned?.(id as RequestId);
      } catch (e) {
        this.dispatcher.reportError(e);
      }
      return;
    }
    try {
      this.dispatcher.notification(this, method, p);
    } catch (e) {
      this.dispatcher.reportError(e);
    }
  }

  /** A response from the client to a request this server sent; an unknown id is ignored. */
  private settle(id: JsonRpcId | undefined, ok: boolean, value: unknown): void {
    if (id === undefined || id === null) return;
    const p = this.pending.get(id as RequestId);
    if (p === undefined) return;
    this.pending.delete(id as RequestId);
    p.cleanup();
    if (ok) p.resolve(value);
    else {
      const err = (value ?? {}) as { code?: number; message?: string; data?: unknown };
      p.reject(new McpError(typeof err.code === 'number' ? err.code : McpErrorCode.InternalError, typeof err.message === 'string' ? err.message : 'error', err.data));
    }
  }

  /** Sends a message built once for many sessions (see shared()). */
  sendShared(message: OutgoingMessage): void {
    if (this.closed) return;
    try {
      this.out.send(message, undefined);
    } catch (e) {
      this.dispatcher.reportError(e);
    }
  }

  /** Sends a notification to the client (a transport failure is reported, not thrown). */
  notify(method: string, params: unknown, related?: RequestId): void {
    if (this.closed) return;
    try {
      this.out.send(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }, related);
    } catch (e) {
      this.dispatcher.reportError(e);
    }
  }

  /** Sends a request to the client and waits for its answer. */
  request(method: string, params: unknown, options: SessionRequestOptions = {}): Promise<unknown> {
    if (this.closed) return Promise.reject(new McpError(McpErrorCode.ConnectionClosed, 'the session is closed'));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = `s${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        this.notify('notifications/cancelled', { requestId: id, reason: 'cancelled' }, options.related);
        reject(signal!.reason);
      };
      const timeoutMs = options.timeoutMs ?? 60_000;
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        signal?.removeEventListener('abort', onAbort);
        this.notify('notifications/cancelled', { requestId: id, reason: 'timed out' }, options.related);
        reject(new McpError(McpErrorCode.RequestTimeout, `the client did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(id, { resolve, reject, timer, cleanup });
      try {
        this.out.send({ jsonrpc: '2.0', id, method, params }, options.related);
      } catch (e) {
        // (params JSON cannot hold, or a transport that failed: nothing was sent)
        this.pending.delete(id);
        cleanup();
        reject(e);
      }
    });
  }

  /** Ends the session: running requests are aborted, requests to the client rejected. */
  close(reason = 'the session ended'): void {
    if (this.closed) return;
    this.closed = true;
    // (an Error only when something is left to fail: a stateless request's session closes after every answer)
    const err = this.inflight.size > 0 || this.pending.size > 0 ? new McpError(McpErrorCode.ConnectionClosed, reason) : null;
    for (const ac of this.inflight.values()) ac.abort(err);
    this.inflight.clear();
    for (const p of this.pending.values()) {
      p.cleanup();
      p.reject(err);
    }
    this.pending.clear();
    const cb = this.onClose;
    this.onClose = null;
    cb?.();
  }

  /** Aborts one running client request (its client went away). */
  abort(id: RequestId, reason: string): void {
    this.inflight.get(id)?.abort(new McpError(McpErrorCode.ConnectionClosed, reason));
  }
}

const SERIALISED = Symbol('serialised');

/**
 * A message's JSON. A message sent to many sessions (a broadcast) is one object,
 * serialised once: the text is kept on it.
 */
export function serialise(m: OutgoingMessage): string {
  const o = m as OutgoingMessage & { [SERIALISED]?: string };
  return o[SERIALISED] ?? JSON.stringify(m);
}

/** The same message for many sessions: serialised now, once. */
export function shared(m: OutgoingMessage): OutgoingMessage {
  Object.defineProperty(m, SERIALISED, { value: JSON.stringify(m), enumerable: false });
  return m;
}

/**
 * Why MCP refuses a request id (null when it does not): an id is a string or an integer
 * (MCP: not null); a number JavaScript cannot hold exactly could not be answered with the
 * same id.
 */
export function badId(id: unknown): string | null {
  if (typeof id === 'string') return null;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return null;
  if (id === null) return 'Invalid Request: an MCP request id must not be null';
  return 'Invalid Request: a request id must be a string or an integer within ±(2^53-1)';
}

export function errorMessage(id: RequestId | null, code: number, message: string, data?: unknown): OutgoingMessage {
  return data === undefined ? { jsonrpc: '2.0', id, error: { code, message } } : { jsonrpc: '2.0', id, error: { code, message, data } };
}
