// The messages between the supervisor and its worker instances (threads or processes),
// typed once: what each side may send, and nothing else.

import type { MessagePort } from 'node:worker_threads';

/** What an instance is started with. */
export interface InstanceData {
  index: number;
  host: string;
  port: number;
  config: string | undefined;
  /**
   * How the instance listens: false (processes: the cluster primary's one listener),
   * 'lead' (the first thread: only on a free port, then others may join) or true (the
   * other threads, and restarts: join the listeners on the port).
   */
  reusePort: boolean | 'lead';
  /** The models it serves (conduit serve --model ...), if any. */
  ml?: { models: Array<{ name: string; version?: string; path: string; batching?: Record<string, unknown>; options?: Record<string, unknown> }>; demo?: boolean; device?: 'auto' | 'cuda' | 'webgpu' | 'cpu'; memoryBudget?: number; preload?: boolean };
  /**
   * The models run in the server's one inference worker (the supervisor's): a thread gets
   * its port here (or later, in an 'inference-port' message); a process reaches it through
   * the supervisor ('ml' messages).
   */
  inference?: { port: MessagePort | null } | { relay: true };
}

/** An inference message (to or from the inference worker) relayed for a worker process. */
export interface MlRelay {
  type: 'ml';
  m: unknown;
}

/** An SSE event as it travels between instances. */
export interface RelayEvent {
  data: string;
  id?: string;
  event?: string;
  retry?: number;
}

/**
 * One part of an MCP exchange forwarded to the instance that owns its session (relayed by
 * the supervisor): the request, then the answer's head, events and end; an abort when
 * the client went away; 'gone' when the owner is not running.
 */
export type RelayPart =
  | { kind: 'request'; method: string; path: string; search: string; headers: Array<[string, string]>; body: Uint8Array | null }
  | { kind: 'head'; status: number; headers: Array<[string, string]>; sse: boolean; body: Uint8Array | null }
  | { kind: 'event'; event: RelayEvent }
  | { kind: 'end' }
  | { kind: 'abort' }
  | { kind: 'gone' };

export interface McpRelay {
  type: 'mcp';
  /** The instance the part is for, and the one it comes from. */
  to: number;
  from: number;
  /** The exchange, numbered by the instance that forwarded it. */
  xid: number;
  part: RelayPart;
}

/** Supervisor → instance. */
export type ToInstance = { type: 'stop' } | McpRelay
  /** The models it declared (app.model()) are in the inference service, or why not. */
  | { type: 'models-added'; error?: string }
  /** The inference worker was started again: a port to it (threads), or reconnect the relay (processes). */
  | { type: 'inference-port'; port?: MessagePort }
  | MlRelay;

/** Instance → supervisor. */
export type FromInstance =
  /** The instance listens for messages (a process drops those sent before). */
  | { type: 'starting'; index: number }
  | { type: 'listening'; index: number; port: number }
  /** The app did not load, or the port could not be had. */
  | { type: 'listen-failed'; index: number; code: string | undefined; message: string }
  | { type: 'handler-error'; index: number; message: string }
  /** A line for the server's log (a model loaded, ...). */
  | { type: 'log'; index: number; line: string }
  /** Models its config declares (app.model()), for the inference service; answered 'models-added'. */
  | { type: 'models'; index: number; models: NonNullable<InstanceData['ml']>['models'] }
  | McpRelay
  | MlRelay;
