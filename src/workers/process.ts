// One worker process (node:cluster), used when the native transport is not available:
// on node:net, its listener is the primary's, which accepts and hands each connection to
// a worker.
import { runInstance, type InstanceData } from './instance.js';

const data = JSON.parse(process.env.CONDUIT_WORKER ?? '{}') as InstanceData;
await runInstance(data, (m) => process.send?.(m), (cb) => {
  process.on('message', cb);
  return () => process.off('message', cb);
}, false);
// The primary stops with SIGINT/SIGTERM too (a terminal sends it to the whole group): the
// primary decides, through 'stop'.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
