// What a worker instance does, as a thread (worker.ts) or a process (process.ts): load the
// user's app into its own WASM core and pool, listen, report to the supervisor, and close
// gracefully when it says 'stop'.
import { loadApp } from '../cli/serve.js';

export interface InstanceData {
  index: number;
  host: string;
  port: number;
  config: string | undefined;
}

/**
 * Runs one instance. `send` reports to the supervisor ('listening', 'listen-failed',
 * 'handler-error'); `onMessage` subscribes to its messages. With `reusePort` the instance
 * has its own listener on the shared port (threads, native transport); without, the
 * listener is the cluster primary's (processes).
 */
export async function runInstance(data: InstanceData, send: (m: object) => void,
  onMessage: (cb: (m: { type: string }) => void) => void, reusePort: boolean): Promise<void> {
  let app: Awaited<ReturnType<typeof loadApp>>;
  try {
    app = await loadApp(data.config);
    app.onError = (err) => send({ type: 'handler-error', index: data.index, message: (err as Error)?.stack ?? String(err) });
    const bound = await app.listen({ host: data.host, port: data.port, reusePort });
    send({ type: 'listening', index: data.index, port: bound.port });
  } catch (err) {
    // A config that cannot load, or a port that cannot be had: the supervisor reports it.
    const e = err as NodeJS.ErrnoException;
    send({ type: 'listen-failed', index: data.index, code: e.code, message: e.message });
    return;
  }
  onMessage((m) => {
    if (m.type === 'stop') void app.close().then(() => process.exit(0));
  });
}
