// One worker thread (native transport): its own listener on the shared port (SO_REUSEPORT:
// the kernel spreads connections between the workers).
import { parentPort, workerData } from 'node:worker_threads';
import { runInstance, type InstanceData } from './instance.js';

await runInstance(workerData as InstanceData, (m) => parentPort!.postMessage(m), (cb) => {
  parentPort!.on('message', cb);
  return () => parentPort!.off('message', cb);
}, true);
