// Worker instances, each with its own WASM instance, pool and listener on the shared port;
// a crashed worker is restarted while the others keep serving.
//
// With the native transport they are worker_threads, each listening with SO_REUSEPORT (the
// kernel spreads connections). Without it (node:net) they are node:cluster processes: the
// primary is the one acceptor and hands each connection to a worker (round-robin), since
// worker_threads cannot receive sockets.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { Worker, type MessagePort } from 'node:worker_threads';
import { ConduitError, ErrorCodes } from '../errors.js';
import type { InferenceConnector, InferencePort } from '../ml/inference.js';
import type { FromInstance, InstanceData, ToInstance } from './messages.js';
import { unsharedMessage } from './inference-link.js';

export interface WorkersOptions {
  workers: number;
  host: string;
  port: number;
  config: string | undefined;
  /** The models each worker serves. */
  ml?: InstanceData['ml'];
  /** The server's inference service: every worker's model requests go to its one worker. */
  inference?: InferenceConnector;
  /** Adds the models a worker's config declares (app.model()) to that service. */
  addModels?: (models: NonNullable<InstanceData['ml']>['models']) => Promise<void>;
  /** One line per event (start, crash, restart). */
  log: (line: string) => void;
  /**
   * Every worker is gone and none could be restarted (a config that now fails to load,
   * for example): the server can no longer serve. Called once.
   */
  onFailed?: (why: string) => void;
  /** 'threads' (SO_REUSEPORT, native transport) or 'processes' (one acceptor, node:net). Default threads. */
  mode?: 'threads' | 'processes';
}

/** A worker thread or a cluster process, seen the same way. */
interface Unit {
  on(event: 'message', cb: (m: FromInstance) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  on(event: 'exit', cb: (code: number | null) => void): void;
  once(event: 'exit', cb: () => void): void;
  post(m: ToInstance, transfer?: MessagePort[]): void;
  kill(): void;
}

const PROCESS = new URL('./process.js', import.meta.url);

function unit(mode: 'threads' | 'processes', data: InstanceData): Unit {
  if (mode === 'threads') {
    const port = data.inference !== undefined && 'port' in data.inference ? data.inference.port : null;
    const w = new Worker(WORKER, { workerData: data, transferList: port === null ? [] : [port] });
    return Object.assign(w as unknown as Unit, {
      post: (m: ToInstance, transfer?: MessagePort[]) => w.postMessage(m, transfer),
      kill: () => void w.terminate(),
    });
  }
  // ('advanced': MCP exchanges relayed between processes carry bytes)
  cluster.setupPrimary({ exec: fileURLToPath(PROCESS), silent: false, serialization: 'advanced' });
  const w = cluster.fork({ CONDUIT_WORKER: JSON.stringify(data) });
  // A process drops messages that come before it listens for them: they wait for its first
  // message ('starting', sent once it listens).
  let heard = false;
  let waiting: ToInstance[] = [];
  w.on('message', () => {
    if (heard) return;
    heard = true;
    for (const m of waiting) if (w.isConnected()) w.send(m);
    waiting = [];
  });
  return Object.assign(w as unknown as Unit, {
    post: (m: ToInstance) => {
      if (!heard) waiting.push(m);
      else if (w.isConnected()) w.send(m);
    },
    kill: () => w.process.kill('SIGKILL'),
  });
}

/** The answers to inference requests that came while the inference worker is being started again. */
function refusals(m: unknown): unknown[] {
  const x = m as { type: string; id?: number; messages?: unknown[] };
  if (x.type === 'many') return x.messages!.flatMap(refusals);
  if (x.type === 'cancel' || typeof x.id !== 'number') return [];
  return [{ type: 'error', id: x.id, code: ErrorCodes.WORKER_EXITED, message: 'the inference worker is not running (restarting)' }];
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
  const workers: Array<Unit | null> = new Array(o.workers).fill(null);
  const mode = o.mode ?? 'threads';

  // A worker that could not restart is tried again, with a growing delay, a few times.
  const MAX_RESTART_TRIES = 5;
  const serving = new Set<number>(); // (workers listening now)
  let failed = false;
  const restart = (index: number, tries: number) => {
    setTimeout(() => {
      if (stopping) return;
      spawn(index).then(() => o.log(`worker ${index} restarted`), (e: Error) => {
        o.log(`worker ${index} could not restart: ${e.message}`);
        if (tries + 1 < MAX_RESTART_TRIES) restart(index, tries + 1);
        else {
          o.log(`worker ${index}: giving up after ${MAX_RESTART_TRIES} tries`);
          if (serving.size === 0 && !failed && !stopping) {
            failed = true;
            o.onFailed?.(`no worker left: worker ${index} could not restart (${e.message})`);
          }
        }
      });
    }, Math.min(5000, 50 * 2 ** Math.min(tries, 7) * Math.max(1, restarts)));
  };

  // How a worker listens. Threads share the port with SO_REUSEPORT, which would let them
  // join the listeners of another server on the same port without a word: the first one
  // 'lead's (it binds only a port nobody holds, atomically: no probe-then-bind race
  // between two servers started together), the others and every restart join it.
  let first = true;
  const spawn = (index: number): Promise<number> => new Promise((resolve, reject) => {
    const reusePort = mode === 'processes' ? false : first ? 'lead' : true;
    first = false;
    // Its way to the inference worker: a port of its own (threads), or through here (processes).
    let w: Unit | null = null;
    let inference: InstanceData['inference'];
    let relayTo: InferencePort | null = null;
    let detach = () => {};
    if (o.inference !== undefined) {
      if (mode === 'threads') {
        inference = { port: null };
        detach = o.inference.connect((p) => {
          if (w === null) (inference as { port: MessagePort | null }).port = p as MessagePort;
          else w.post({ type: 'inference-port', port: p as MessagePort }, [p as MessagePort]);
        });
      } else {
        inference = { relay: true };
        detach = o.inference.connect((p) => {
          relayTo = p;
          p.on('message', (m) => w?.post({ type: 'ml', m: unsharedMessage(m) }));
          p.on('close', () => {
            if (relayTo !== p) return;
            relayTo = null;
            w?.post({ type: 'inference-port' }); // (what the process waits for fails now)
          });
          if (w !== null) w.post({ type: 'inference-port' });
        });
      }
    }
    w = unit(mode, { index, host: o.host, port, config: o.config, reusePort, ml: o.ml, inference });
    workers[index] = w;
    let listening = false;
    w.on('message', (m: FromInstance) => {
      if (m.type === 'listening') {
        listening = true;
        serving.add(index);
        resolve(m.port);
      } else if (m.type === 'listen-failed') {
        const e = new Error(m.message) as NodeJS.ErrnoException;
        e.code = m.code;
        reject(e);
      } else if (m.type === 'handler-error') {
        o.log(`worker ${index}: handler error: ${m.message}`);
      } else if (m.type === 'log') {
        o.log(`worker ${index}: ${m.line}`);
      } else if (m.type === 'models') {
        const added = o.addModels?.(m.models) ?? Promise.reject(new Error('this server runs no inference service'));
        added.then(() => w!.post({ type: 'models-added' }), (e: Error) => w!.post({ type: 'models-added', error: e.message }));
      } else if (m.type === 'ml') {
        if (relayTo !== null) relayTo.postMessage(m.m);
        else w!.post({ type: 'ml', m: { type: 'many', messages: refusals(m.m) } });
      } else if (m.type === 'mcp') {
        // An MCP exchange for a session another worker owns: relayed to it, or 'gone'.
        const to = workers[m.to];
        if (to !== null && to !== undefined && serving.has(m.to)) to.post(m);
        else if (m.part.kind === 'request') w!.post({ type: 'mcp', to: m.from, from: m.to, xid: m.xid, part: { kind: 'gone' } });
      }
    });
    w.on('error', (err) => {
      if (!listening) reject(err);
      else o.log(`worker ${index} failed: ${err.message}`);
    });
    w.on('exit', (code) => {
      detach();
      workers[index] = null;
      serving.delete(index);
      if (!listening) {
        reject(new ConduitError(ErrorCodes.WORKER_EXITED, `worker ${index} exited (${code}) before it listened`));
        return;
      }
      if (stopping) return;
      // A crash: restart it; the other workers keep serving meanwhile.
      restarts++;
      o.log(`worker ${index} exited with code ${code}; restarting`);
      restart(index, 0);
    });
  });

  let bound = port;
  try {
    for (let i = 0; i < o.workers; i++) {
      bound = await spawn(i);
      // Threads: the first worker may have picked a free port, and the others listen on it
      // too. Processes ask the primary's acceptor for the same address as the first (port
      // 0 included), which gives them its one listener.
      if (mode === 'threads') port = bound;
    }
  } catch (e) {
    stopping = true;
    for (const w of workers) w?.kill();
    throw e;
  }

  return {
    port: bound,
    get restarts() {
      return restarts;
    },
    async stop() {
      stopping = true;
      await Promise.all(workers.map((w) => (w === null ? undefined : new Promise<void>((r) => {
        w.once('exit', () => r());
        w.post({ type: 'stop' });
        setTimeout(() => w.kill(), 5000).unref();
      }))));
    },
  };
}
