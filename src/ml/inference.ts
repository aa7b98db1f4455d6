// Inference off the network event loops. An InferenceService starts the inference worker
// (a worker_thread holding the models and their batchers), registers the models in it and
// starts it again when it dies. InferenceClients talk to it, each over its own
// MessagePort: the HTTP workers of one server all reach the same worker, so their
// concurrent requests batch together. Tensors travel in shared memory (wire-tensors.ts).
// When the worker dies, the requests it held fail (CONDUIT_ERR_WORKER_EXITED, a 503),
// none hangs, and every client gets a port to the new worker once its models are back.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { ConduitError, ErrorCodes } from '../errors.js';
import type { BatcherOptions } from './batcher.js';
import type { FromWorker, Many, ToWorker } from './inference-worker.js';
import type { TensorInfo, TensorValue } from './model.js';
import type { ModelSource } from './registry.js';
import { consumed, PackArena, packRequests, unpackResults, type Pack, type WireRequest, type WireTensor } from './wire-tensors.js';

export interface ModelMetadata {
  name: string;
  version: string;
  versions: string[];
  device: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

const WORKER = new URL('./inference-worker.js', import.meta.url);

export interface InferenceServiceOptions {
  /** Bytes of models kept loaded (the registry's LRU budget; default 2 GiB). */
  memoryBudget?: number;
  /** One line per model load/unload and worker restart. */
  log?: (line: string) => void;
}

/**
 * What a client is connected with: `onPort` gets a port to the inference worker now (or
 * as soon as there is one) and a new one each time the worker was started again.
 * Returns how to disconnect.
 */
export interface InferenceConnector {
  connect(onPort: (port: InferencePort) => void): () => void;
}

/** What a client needs of a port (a MessagePort, or a relay of one between processes). */
export interface InferencePort {
  postMessage(m: unknown): void;
  on(event: 'message', cb: (m: FromWorker | Many<FromWorker> | Pack) => void): unknown;
  on(event: 'close', cb: () => void): unknown;
  close(): void;
}

const exited = (why: string) => new ConduitError(ErrorCodes.WORKER_EXITED, why);

interface Waiting {
  resolve(v: never): void;
  reject(e: unknown): void;
}

/** Request/answer over one port: ids, the answers of one turn in one message, failure of all on close. */
class Link {
  private nextId = 0;
  private readonly waiting = new Map<number, Waiting>();
  private outbox: ToWorker[] = [];
  private requests: WireRequest[] = [];
  private scheduled = false;
  private port: InferencePort | null = null;
  /** Where this side writes its packs (a new one per port: a dead worker consumes nothing more). */
  private arena: PackArena | null = null;

  /** Takes a port (a new worker): what waited on the old one fails. */
  attach(port: InferencePort | null, why = 'the inference worker exited while the request was in it'): void {
    const old = this.port;
    this.port = port;
    if (old !== null) {
      this.failAll(exited(why));
      old.close();
    }
    if (port === null) return;
    this.arena = new PackArena();
    port.on('message', (m) => this.receive(m));
    port.on('close', () => {
      if (this.port !== port) return;
      this.port = null;
      this.failAll(exited(why));
    });
  }

  get connected(): boolean {
    return this.port !== null;
  }

  private receive(m: FromWorker | Many<FromWorker> | Pack | { type: 'log'; line: string }): void {
    if (m.type === 'many') {
      for (const x of m.messages) this.receive(x);
      return;
    }
    if (m.type === 'log' || m.type === 'requests') return;
    if (m.type === 'results') {
      this.results(m as Pack);
      return;
    }
    const x = m as FromWorker;
    const p = this.waiting.get(x.id);
    if (p === undefined) return;
    this.waiting.delete(x.id);
    if (x.type === 'ok') p.resolve(x as never);
    else p.reject(new ConduitError(x.code as never, x.message));
  }

  /** A turn's infer results: each request's outputs are views of the pack's memory. */
  private results(m: Pack): void {
    const results = unpackResults(m);
    consumed(m);
    for (const r of results) {
      const p = this.waiting.get(r.id);
      if (p === undefined) continue;
      this.waiting.delete(r.id);
      if (r.outputs !== undefined) p.resolve(r.outputs as never);
      else p.reject(new ConduitError(r.code as never, r.message ?? ''));
    }
  }

  failAll(e: unknown): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const p of all) p.reject(e);
  }

  /** Sends a request. */
  call(m: ToWorker): Promise<FromWorker & { type: 'ok' }> {
    if (this.port === null) return Promise.reject(exited('the inference worker is not running (restarting)'));
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: never) => void, reject });
      this.post({ ...m, id } as ToWorker);
    });
  }

  /** Sends an infer request (packed with the others of this turn); `onId` gets its number (to cancel it). */
  infer(r: Omit<WireRequest, 'id'>, onId: (id: number) => void): Promise<WireTensor[]> {
    if (this.port === null) return Promise.reject(exited('the inference worker is not running (restarting)'));
    const id = ++this.nextId;
    onId(id);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: never) => void, reject });
      this.requests.push({ ...r, id });
      this.later();
    });
  }

  /** A message for the worker, sent at the end of this event-loop turn with the others. */
  post(m: ToWorker): void {
    this.outbox.push(m);
    this.later();
  }

  /** What one turn sends goes in one hop: the infer requests in one pack, then the rest. */
  private later(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const requests = this.requests;
      const all = this.outbox;
      this.requests = [];
      this.outbox = [];
      if (this.port === null) return;
      if (requests.length > 0) this.port.postMessage(packRequests(requests, this.arena ?? undefined));
      if (all.length > 0) this.port.postMessage(all.length === 1 ? all[0] : { type: 'many', messages: all } satisfies Many<ToWorker>);
    });
  }
}

/** Starts and keeps the inference worker; registers models; hands ports to clients. */
export class InferenceService implements InferenceConnector {
  private worker: Worker | null = null;
  private readonly own = new Link();
  private readonly sources: Array<{ source: ModelSource; batching?: BatcherOptions }> = [];
  private readonly clients = new Set<(port: InferencePort) => void>();
  /** The worker has its models (a restarted one once they are added again). */
  private ready = false;
  private closed = false;
  /** Times the worker was started again after it died. */
  restarts = 0;

  constructor(private readonly options: InferenceServiceOptions = {}) {
    this.start();
    this.ready = true;
  }

  private start(): void {
    const w = new Worker(WORKER, { workerData: { conduitInference: true, memoryBudget: this.options.memoryBudget } });
    this.worker = w;
    w.on('message', (m: { type: string; line?: string }) => {
      if (m.type === 'log') this.options.log?.(m.line!);
    });
    // (the worker's parent port: the service's own requests: add, load, ...)
    this.own.attach({
      postMessage: (m) => w.postMessage(m),
      on: (event: string, cb: (m?: unknown) => void) => (event === 'message' ? w.on('message', cb) : w.on('exit', () => cb())),
      close: () => {},
    } as InferencePort);
    w.on('error', (e) => this.options.log?.(`inference worker failed: ${e.message}`));
    w.on('exit', (code) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.ready = false;
      if (this.closed) return;
      this.restarts++;
      this.options.log?.(`inference worker exited with code ${code}; restarting`);
      this.start();
      const next = this.worker;
      // Clients get ports to the new worker once it has its models again.
      void Promise.all(this.sources.map((s) => this.own.call({ type: 'add', id: 0, ...s }).catch(() => {}))).then(() => {
        if (this.worker === next && !this.closed) {
          this.ready = true;
          for (const onPort of this.clients) onPort(this.port());
        }
      });
    });
  }

  /** A new channel to the worker: one end attached there, the other returned. */
  private port(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.worker!.postMessage({ type: 'attach', port: port2 }, [port2]);
    return port1;
  }

  connect(onPort: (port: InferencePort) => void): () => void {
    this.clients.add(onPort);
    if (this.ready && this.worker !== null) onPort(this.port());
    return () => this.clients.delete(onPort);
  }

  /** Registers a model in the worker (loaded on first use), and in every worker started after it. */
  async add(source: ModelSource, batching?: BatcherOptions): Promise<{ bytes: number; version: string }> {
    const r = await this.own.call({ type: 'add', id: 0, source, batching });
    this.sources.push({ source, batching });
    return r.info as { bytes: number; version: string };
  }

  /** Loads a model now (--preload). */
  async load(model: string, version?: string): Promise<void> {
    await this.own.call({ type: 'load', id: 0, model, version });
  }

  /** Stops the worker; requests still in it fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.clients.clear();
    const w = this.worker;
    this.worker = null;
    this.own.failAll(exited('the inference service closed'));
    await w?.terminate();
  }

  /** The worker thread (tests: crash it). */
  get thread(): Worker | null {
    return this.worker;
  }
}

export interface InferOptions {
  /** Default: the highest. */
  version?: string;
  /** Outputs to return (default all). */
  outputs?: string[];
  /** Aborting cancels the request: dropped from its queue if it has not run. */
  signal?: AbortSignal;
  /** Gets a function that cancels the request (a cheaper way than a signal, for servers). */
  onCancel?: (cancel: () => void) => void;
}

/**
 * The requests side: infer, metadata, stats, repository control, over a port to the
 * inference worker. `new InferenceClient()` starts a service of its own; in the workers of
 * `conduit serve` it is connected to the server's one service.
 */
export class InferenceClient {
  private readonly link = new Link();
  private readonly disconnect: () => void;
  /** The service this client started (new InferenceClient(options)), else null. */
  readonly service: InferenceService | null;

  constructor(source: InferenceConnector | InferenceServiceOptions = {}) {
    const connector = 'connect' in source && typeof source.connect === 'function' ? source as InferenceConnector : null;
    this.service = connector === null ? new InferenceService(source as InferenceServiceOptions) : connector instanceof InferenceService ? connector : null;
    this.owned = connector === null;
    this.disconnect = (connector ?? this.service!).connect((port) => this.link.attach(port));
  }

  private readonly owned: boolean;

  /** Registers a model (a client whose service is in this thread only). */
  async add(source: ModelSource, batching?: BatcherOptions): Promise<{ bytes: number; version: string }> {
    if (this.service === null) throw new ConduitError(ErrorCodes.INVALID_OPTION, 'models are added where the inference service runs');
    return this.service.add(source, batching);
  }

  /**
   * Runs a request through the model's batcher in the worker. An aborted signal cancels
   * it (dropped from the queue if it has not run).
   */
  async infer(model: string, inputs: Record<string, TensorValue>, options: InferOptions = {}): Promise<Record<string, TensorValue>> {
    const wire: WireTensor[] = [];
    for (const name of Object.keys(inputs)) wire.push({ name, ...inputs[name] });
    let id = 0;
    const p = this.link.infer({ model, version: options.version, inputs: wire, outputs: options.outputs }, (n) => (id = n));
    const cancel = () => this.link.post({ type: 'cancel', id });
    const signal = options.signal;
    signal?.addEventListener('abort', cancel, { once: true });
    options.onCancel?.(cancel);
    try {
      const outputs = await p;
      const out: Record<string, TensorValue> = {};
      for (const t of outputs) out[t.name] = { type: t.type, dims: t.dims, data: t.data };
      return out;
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }

  async load(model: string, version?: string): Promise<void> {
    await this.link.call({ type: 'load', id: 0, model, version });
  }

  async unload(model: string, version?: string): Promise<void> {
    await this.link.call({ type: 'unload', id: 0, model, version });
  }

  /** A model's name, version, versions, device, inputs and outputs (it is loaded for this). */
  async metadata(model: string, version?: string): Promise<ModelMetadata> {
    return (await this.link.call({ type: 'metadata', id: 0, model, version })).info as ModelMetadata;
  }

  /** The registry's budget and every model's state and batcher statistics. */
  async stats(): Promise<unknown> {
    return (await this.link.call({ type: 'stats', id: 0 })).info;
  }

  /** Disconnects (and stops the service it started, if any); requests still out fail. */
  async close(): Promise<void> {
    this.disconnect();
    this.link.attach(null);
    this.link.failAll(exited('the inference client closed'));
    if (this.owned) await this.service?.close();
  }

  /** Whether it has a port to the worker (false while the worker is being started again). */
  get connected(): boolean {
    return this.link.connected;
  }

  /** Times the worker was started again (of the service this client started). */
  get restarts(): number {
    return this.service?.restarts ?? 0;
  }

  /** The worker thread (of the service this client started; tests: crash it). */
  get thread(): Worker | null {
    return this.service?.thread ?? null;
  }
}
