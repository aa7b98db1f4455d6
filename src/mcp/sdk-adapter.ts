// serveSdkServer(): an existing server written against the official TypeScript SDK 1.x
// (`McpServer` or the low-level `Server`) behind Conduit's transports, unchanged. Each
// session connects the SDK server to a Transport made here: what the client sends is
// handed to the SDK's onmessage, what the SDK sends goes to the session's Outbound (with
// relatedRequestId, so Streamable HTTP puts it on the right stream).

import type { Envelope } from '../jsonrpc/parse.js';
import { ConduitError, ErrorCodes } from '../errors.js';
import { badId, type OutgoingMessage, type Outbound, type RequestId, type Session, type SessionFactory } from './protocol.js';

/** The SDK server surface used: Protocol.connect(transport) (and close()). */
export interface SdkServerLike {
  /** (typed loosely: the SDK's Transport type differs between its versions) */
  connect(transport: never): Promise<void>;
  close?(): Promise<void>;
}

/** The SDK's Transport interface (shared/transport.ts), as far as a server uses it. */
export interface SdkTransport {
  sessionId?: string;
  start(): Promise<void>;
  send(message: Record<string, unknown>, options?: { relatedRequestId?: RequestId }): Promise<void>;
  close(): Promise<void>;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: Record<string, unknown>, extra?: { authInfo?: unknown; requestInfo?: { headers: Record<string, string> } }) => void;
  setProtocolVersion?: (version: string) => void;
}

function plain(m: Envelope): Record<string, unknown> {
  switch (m.kind) {
    case 'request': return m.params === undefined ? { jsonrpc: '2.0', id: m.id, method: m.method } : { jsonrpc: '2.0', id: m.id, method: m.method, params: m.params };
    case 'notification': return m.params === undefined ? { jsonrpc: '2.0', method: m.method } : { jsonrpc: '2.0', method: m.method, params: m.params };
    case 'response': return { jsonrpc: '2.0', id: m.id, result: m.result };
    default: return { jsonrpc: '2.0', id: m.id ?? null, error: m.error };
  }
}

class SdkSession implements Session, SdkTransport {
  protocolVersion = '2025-03-26';
  private readonly running = new Set<RequestId>();
  private initializeId: RequestId | undefined;
  private closed = false;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: SdkTransport['onmessage'];

  constructor(readonly id: string | undefined, private readonly out: Outbound, private readonly instance: SdkServerLike,
    private readonly release: () => void) {}

  get sessionId(): string | undefined {
    return this.id;
  }

  get inflightCount(): number {
    return this.running.size;
  }

  async start(): Promise<void> {}

  async send(message: Record<string, unknown>, options?: { relatedRequestId?: RequestId }): Promise<void> {
    if (this.closed) return;
    const isResponse = !('method' in message) && message.id !== undefined && message.id !== null;
    const id = message.id as RequestId;
    if (isResponse) {
      if (id === this.initializeId) {
        const v = (message.result as { protocolVersion?: unknown } | undefined)?.protocolVersion;
        if (typeof v === 'string') this.protocolVersion = v;
        this.initializeId = undefined;
      }
      // A response for a request aborted here (cancelled) is not sent.
      if (!this.running.delete(id)) return;
    }
    this.out.send(message as OutgoingMessage, isResponse ? id : options?.relatedRequestId);
  }

  receive(m: Envelope, authInfo?: unknown): void {
    if (this.closed) return;
    if (m.kind === 'invalid') {
      this.out.send({ jsonrpc: '2.0', id: (m.id ?? null) as RequestId | null, error: m.error as { code: number; message: string } }, undefined);
      return;
    }
    if (m.kind === 'request') {
      const id = m.id as RequestId;
      const bad = badId(id);
      if (bad !== null) {
        // (the SDK would drop it without an answer)
        this.out.send({ jsonrpc: '2.0', id: null, error: { code: -32600, message: bad } }, undefined);
        return;
      }
      if (this.running.has(id)) {
        this.out.send({ jsonrpc: '2.0', id, error: { code: -32600, message: `Invalid Request: a request with id ${JSON.stringify(id)} is already in flight` } }, id);
        return;
      }
      this.running.add(id);
      if (m.method === 'initialize') this.initializeId = id;
    }
    try {
      this.onmessage?.(plain(m), authInfo === undefined ? undefined : { authInfo });
    } catch (e) {
      this.onerror?.(e as Error);
    }
  }

  abort(id: RequestId, reason: string): void {
    if (!this.running.delete(id)) return;
    this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } });
    this.out.abandoned?.(id);
  }

  /**
   * Ends the session, whoever asks: Conduit (the session ended) or the SDK server closing
   * its transport. The SDK server is closed too; its own close() comes back here, done.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.running.clear();
    this.release();
    this.onclose?.();
    await this.instance.close?.().catch(() => {});
  }
}

/**
 * Serves an SDK 1.x server on Conduit's transports (serveMcp, serveStdio, ...). An SDK
 * server object holds one connection at a time, so for HTTP (a session per client) pass
 * a factory `() => new McpServer(...)`, as the SDK's own examples do; an instance serves
 * one session at a time (stdio), and a second concurrent session is refused.
 */
export function serveSdkServer(server: SdkServerLike | (() => SdkServerLike)): SessionFactory {
  const factory = typeof server === 'function' ? server : null;
  if (factory === null && (server === null || typeof (server as SdkServerLike).connect !== 'function')) {
    throw new ConduitError(ErrorCodes.INVALID_OPTION, 'serveSdkServer needs an SDK McpServer / Server (or a function returning one)');
  }
  let busy = false;
  return {
    openSession(id: string | undefined, out: Outbound): Session {
      let instance: SdkServerLike;
      if (factory !== null) instance = factory();
      else {
        if (busy) throw new ConduitError(ErrorCodes.INVALID_OPTION, 'this SDK server instance already serves a session: pass a factory to serve several');
        busy = true;
        instance = server as SdkServerLike;
      }
      const s = new SdkSession(id, out, instance, () => {
        if (factory === null) busy = false;
      });
      void instance.connect(s as never).catch((e: unknown) => s.onerror?.(e as Error));
      return s;
    },
  };
}
