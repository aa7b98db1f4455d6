// The messages between the supervisor and its worker instances (threads or processes),
// typed once: what each side may send, and nothing else.

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
}

/** Supervisor → instance. */
export type ToInstance = { type: 'stop' };

/** Instance → supervisor. */
export type FromInstance =
  /** The instance listens for messages (a process drops those sent before). */
  | { type: 'starting'; index: number }
  | { type: 'listening'; index: number; port: number }
  /** The app did not load, or the port could not be had. */
  | { type: 'listen-failed'; index: number; code: string | undefined; message: string }
  | { type: 'handler-error'; index: number; message: string };
