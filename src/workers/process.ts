// One worker process (node:cluster), used when the native transport is not available:
// on node:net, its listener is the primary's, which accepts and hands each connection to
// a worker.
import '../wasm/node-fs.js'; // (first: node:fs for the .wasm on every Node 20)
import { runInstance } from './instance.js';
import type { InstanceData, ToInstance } from './messages.js';

const data = JSON.parse(process.env.CONDUIT_WORKER ?? '{}') as InstanceData;
await runInstance(data, (m) => process.send?.(m), (cb) => {
  const on = (m: ToInstance) => cb(m);
  process.on('message', on);
  return () => process.off('message', on);
});
// The primary stops with SIGINT/SIGTERM too (a terminal sends it to the whole group): the
// primary decides, through 'stop'.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
