// One worker process (node:cluster), used when the native transport is not available:
// its own WASM core and pool and the user's app, on node:net. Its listener is the
// primary's: the primary accepts and hands each connection to a worker.
import { loadApp } from '../cli/serve.js';

interface Data {
  index: number;
  host: string;
  port: number;
  config: string | undefined;
}

const data = JSON.parse(process.env.CONDUIT_WORKER ?? '{}') as Data;
const send = (m: object) => process.send?.(m);
let app: Awaited<ReturnType<typeof loadApp>>;
try {
  app = await loadApp(data.config);
} catch (err) {
  // A config that cannot load: the supervisor reports it in one line.
  process.send?.({ type: 'listen-failed', index: data.index, message: (err as Error).message }, () => process.exit(1));
  await new Promise(() => {});
  throw err; // (not reached)
}
app.onError = (err) => send({ type: 'handler-error', index: data.index, message: (err as Error)?.stack ?? String(err) });
try {
  const bound = await app.listen({ host: data.host, port: data.port });
  send({ type: 'listening', index: data.index, port: bound.port });
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  send({ type: 'listen-failed', index: data.index, code: e.code, message: e.message });
}
process.on('message', (m: { type: string }) => {
  if (m.type === 'stop') void app.close().then(() => process.exit(0));
});
// The primary stops with SIGINT/SIGTERM too (a terminal sends it to the whole group): the
// primary decides, through 'stop'.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
