// One worker instance: its own WASM core and pool, the user's app, and a listener that
// shares the port with the other workers (SO_REUSEPORT: the kernel spreads connections).
import { parentPort, workerData } from 'node:worker_threads';
import { loadApp } from '../cli/serve.js';

interface Data {
  index: number;
  host: string;
  port: number;
  config: string | undefined;
}

const data = workerData as Data;
const app = await loadApp(data.config);
app.onError = (err) => parentPort!.postMessage({ type: 'handler-error', index: data.index, message: (err as Error)?.stack ?? String(err) });
try {
  const bound = await app.listen({ host: data.host, port: data.port, reusePort: true });
  parentPort!.postMessage({ type: 'listening', index: data.index, port: bound.port });
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  parentPort!.postMessage({ type: 'listen-failed', index: data.index, code: e.code, message: e.message });
}
parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'stop') void app.close().then(() => process.exit(0));
});
