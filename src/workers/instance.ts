// What a worker instance does, as a thread (worker.ts) or a process (process.ts): load the
// user's app into its own WASM core and pool, listen, report to the supervisor, and close
// gracefully when it says 'stop'.
import { loadApp, mcpOptionsFor } from '../app/load.js';
import type { App } from '../http/app.js';
import type { FromInstance, InstanceData, ToInstance } from './messages.js';
import { McpRelayNode } from './mcp-relay.js';
import { InstanceInference } from './inference-link.js';

/**
 * Runs one instance. `send` reports to the supervisor; `onMessage` subscribes to its
 * messages (and returns how to stop). With `data.reusePort` the instance has its own
 * listener on the shared port (threads, native transport); without, the listener is the
 * cluster primary's (processes).
 */
export async function runInstance(data: InstanceData, send: (m: FromInstance) => void,
  onMessage: (cb: (m: ToInstance) => void) => () => void): Promise<void> {
  // Listening first: a 'stop' may come while the app loads (a restart under SIGTERM).
  let app: App | null = null;
  let stopRequested = false;
  const stop = () => void app!.close().then(() => process.exit(0));
  // MCP sessions belong to the worker that made them; requests for them that come here
  // are forwarded to it through the supervisor.
  const relay = new McpRelayNode(data.index, (m) => send(m));
  // Models run in the server's one inference worker (the supervisor's).
  const inference = data.inference === undefined ? undefined : new InstanceInference(data.inference, send);
  // The models the config declares go to the supervisor's inference service (the first
  // worker adds them; the others find them there).
  let modelsAdded: ((error?: string) => void) | null = null;
  const register = (models: NonNullable<InstanceData['ml']>['models']) => new Promise<void>((resolve, reject) => {
    modelsAdded = (error) => (error === undefined ? resolve() : reject(new Error(error)));
    send({ type: 'models', index: data.index, models });
  });
  const unsubscribe = onMessage((m) => {
    if (m.type === 'models-added') {
      modelsAdded?.(m.error);
      modelsAdded = null;
      return;
    }
    if (m.type === 'mcp') {
      relay.receive(m);
      return;
    }
    if (m.type === 'ml') {
      inference?.relayed(m);
      return;
    }
    if (m.type === 'inference-port') {
      inference?.newPort(m.port);
      return;
    }
    if (m.type !== 'stop') return;
    stopRequested = true;
    if (app !== null) stop();
  });
  send({ type: 'starting', index: data.index }); // (messages sent to us from now on are heard)
  let loaded: App;
  try {
    loaded = await loadApp(data.config, { ...mcpOptionsFor(data.host), sessionIdPrefix: relay.prefix, router: relay }, (e) => (relay.endpoints = e),
      data.ml === undefined ? undefined : { ml: data.ml, log: (line) => send({ type: 'log', index: data.index, line }), inference, register });
    loaded.onError = (err) => send({ type: 'handler-error', index: data.index, message: (err as Error)?.stack ?? String(err) });
    const bound = await loaded.listen({ host: data.host, port: data.port, reusePort: data.reusePort });
    send({ type: 'listening', index: data.index, port: bound.port });
  } catch (err) {
    // A config that cannot load, or a port that cannot be had: the supervisor reports it.
    const e = err as NodeJS.ErrnoException;
    send({ type: 'listen-failed', index: data.index, code: e.code, message: e.message });
    unsubscribe(); // (nothing more to do: the instance ends once its message is out)
    return;
  }
  app = loaded;
  if (stopRequested) stop();
}
