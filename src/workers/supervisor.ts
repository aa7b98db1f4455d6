// Worker instances (worker_threads), each with its own WASM instance, pool and listener
// on the shared port; a crashed worker is restarted while the others keep serving.
import { Worker } from 'node:worker_threads';

export interface WorkersOptions {
  workers: number;
  host: string;
  port: number;
  config: string | undefined;
  /** One line per event (start, crash, restart). */
  log: (line: string) => void;
}

export interface RunningWorkers {
  port: number;
  /** Asks every worker to close, then resolves. */
  stop(): Promise<void>;
  /** Restarts so far (for tests and logs). */
  readonly restarts: number;
}

const WORKER = new URL('./worker.js', import.meta.url);

/** Starts the workers one by one (the first may pick the port); resolves once all listen. */
export async function startWorkers(o: WorkersOptions): Promise<RunningWorkers> {
  let port = o.port;
  let stopping = false;
  let restarts = 0;
  const workers: Array<Worker | null> = new Array(o.workers).fill(null);

  const spawn = (index: number): Promise<number> => new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: { index, host: o.host, port, config: o.config } });
    workers[index] = w;
    let listening = false;
    w.on('message', (m: { type: string; port?: number; code?: string; message?: string }) => {
      if (m.type === 'listening') {
        listening = true;
        resolve(m.port!);
      } else if (m.type === 'listen-failed') {
        const e = new Error(m.message) as NodeJS.ErrnoException;
        e.code = m.code;
        reject(e);
      } else if (m.type === 'handler-error') {
        o.log(`worker ${index}: handler error: ${m.message}`);
      }
    });
    w.on('error', (err) => {
      if (!listening) reject(err);
      else o.log(`worker ${index} failed: ${err.message}`);
    });
    w.on('exit', (code) => {
      workers[index] = null;
      if (!listening) {
        reject(new Error(`worker ${index} exited (${code}) before it listened`));
        return;
      }
      if (stopping) return;
      // A crash: restart it; the other workers keep serving meanwhile.
      restarts++;
      o.log(`worker ${index} exited with code ${code}; restarting`);
      setTimeout(() => {
        if (!stopping) spawn(index).then(() => o.log(`worker ${index} restarted`), (e) => o.log(`worker ${index} could not restart: ${e.message}`));
      }, Math.min(1000, 50 * restarts));
    });
  });

  try {
    for (let i = 0; i < o.workers; i++) {
      const p = await spawn(i);
      port = p; // the first worker may have picked a free port: the others share it
    }
  } catch (e) {
    stopping = true;
    await Promise.all(workers.map((w) => w?.terminate()));
    throw e;
  }

  return {
    port,
    get restarts() {
      return restarts;
    },
    async stop() {
      stopping = true;
      await Promise.all(workers.map((w) => (w === null ? undefined : new Promise<void>((r) => {
        w.once('exit', () => r());
        w.postMessage({ type: 'stop' });
        setTimeout(() => void w.terminate(), 5000).unref();
      }))));
    },
  };
}
