// One worker thread (native transport): its own listener on the shared port (SO_REUSEPORT:
// the kernel spreads connections between the workers).
import '../wasm/node-fs.js'; // (first: node:fs for the .wasm on every Node 20)
import { parentPort, workerData } from 'node:worker_threads';
import { runInstance } from './instance.js';
import type { InstanceData, ToInstance } from './messages.js';

await runInstance(workerData as InstanceData, (m) => parentPort!.postMessage(m), (cb) => {
  const on = (m: ToInstance) => cb(m);
  parentPort!.on('message', on);
  return () => parentPort!.off('message', on);
});
