// The HTTP side of inference: an InferenceClient starts an inference worker (a
// worker_thread holding the models and their batchers) and sends it requests; tensors
// travel in SharedArrayBuffers. A worker that dies is started again, with the models it
// had registered; the requests it held fail (CONDUIT_ERR_WORKER_EXITED), none hangs.

import { Worker } from 'node:worker_threads';
import { ConduitError, ErrorCodes } from '../errors.js';
import type { BatcherOptions } from './batcher.js';
import type { FromWorker, ToWorker } from './inference-worker.js';
import type { TensorInfo, TensorValue } from './model.js';

export interface ModelMetadata {
  name: string;
  version: string;
  versions: string[];
  device: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}
import type { ModelSource } from './registry.js';
import { fromWire, toWire } from './wire-tensors.js';

const WORKER = new URL('./inference-worker.js', import.meta.url);

export interface InferenceClientOptions {
  /** Bytes of models kept loaded (the registry's LRU budget; default 2 GiB). */
  memoryBudget?: number;
  /** One line per model load/unload and worker restart. */
  log?: (line: string) => void;
}

interface Waiting {
  resolve(v: FromWorker & { type: 'ok' }): void;
  reject(e: unknown): void;
}

export class InferenceClient {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, Waiting>();
  private readonly sources: Array<{ source: ModelSource; batching?: BatcherOptions }> = [];
  private closed = false;
  /** Times the worker was started again after it died. */
  restarts = 0;

  constructor(private readonly options: InferenceClientOptions = {}) {
    this.start();
  }

  private start(): void {
    const w = new Worker(WORKER, { workerData: { conduitInference: true, memoryBudget: this.options.memoryBudget } });
    this.worker = w;
    const onMessage = (m: FromWorker | { type: 'log'; line: string } | { type: 'many'; messages: FromWorker[] }): void => {
      if (m.type === 'many') {
        for (const x of m.messages) onMessage(x);
        return;
      }
      if (m.type === 'log') {
        this.options.log?.(m.line);
        return;
      }
      const p = this.waiting.get(m.id);
      if (p === undefined) return;
      this.waiting.delete(m.id);
      if (m.type === 'ok') p.resolve(m);
      else p.reject(new ConduitError(m.code as never, m.message));
    };
    w.on('message', onMessage);
    w.on('error', (e) => this.options.log?.(`inference worker failed: ${e.message}`));
    w.on('exit', (code) => {
      if (this.worker !== w) return;
      this.worker = null;
      const err = new ConduitError(ErrorCodes.WORKER_EXITED, `the inference worker exited (${code}) while the request was in it`);
      for (const p of this.waiting.values()) p.reject(err);
      this.waiting.clear();
      if (this.closed) return;
      this.restarts++;
      this.options.log?.(`inference worker exited with code ${code}; restarting`);
      this.start();
      for (const s of this.sources) void this.call({ type: 'add', id: 0, ...s }).catch(() => {});
    });
  }

  private call(m: ToWorker): Promise<FromWorker & { type: 'ok' }> {
    if (this.closed || this.worker === null) return Promise.reject(new ConduitError(ErrorCodes.WORKER_EXITED, 'the inference client is closed'));
    const id = ++this.nextId;
    const msg = { ...m, id };
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.post(msg as ToWorker);
    });
  }

  /** Messages of one event-loop turn go to the worker in one (concurrent requests: one thread hop). */
  private outbox: ToWorker[] = [];
  private post(m: ToWorker): void {
    this.outbox.push(m);
    if (this.outbox.length > 1) return;
    setImmediate(() => {
      const all = this.outbox;
      this.outbox = [];
      if (this.worker === null) return;
      this.worker.postMessage(all.length === 1 ? all[0] : { type: 'many', messages: all });
    });
  }

  /** Registers a model in the worker (loaded on first use). */
  async add(source: ModelSource, batching?: BatcherOptions): Promise<{ bytes: number; version: string }> {
    const r = await this.call({ type: 'add', id: 0, source, batching });
    this.sources.push({ source, batching });
    return r.info as { bytes: number; version: string };
  }

  /**
   * Runs a request through the model's batcher in the worker. An aborted signal cancels
   * it (dropped from the queue if it has not run).
   */
  async infer(model: string, inputs: Record<string, TensorValue>, options: { version?: string; outputs?: string[]; signal?: AbortSignal } = {}): Promise<Record<string, TensorValue>> {
    const wire = Object.entries(inputs).map(([name, t]) => toWire(name, t));
    const p = this.call({ type: 'infer', id: 0, model, version: options.version, inputs: wire, outputs: options.outputs });
    const id = this.nextId;
    const signal = options.signal;
    const onAbort = () => this.post({ type: 'cancel', id });
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const r = await p;
      const out: Record<string, TensorValue> = {};
      for (const t of r.outputs ?? []) out[t.name] = fromWire(t);
      return out;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async load(model: string, version?: string): Promise<void> {
    await this.call({ type: 'load', id: 0, model, version });
  }

  async unload(model: string, version?: string): Promise<void> {
    await this.call({ type: 'unload', id: 0, model, version });
  }

  /** A model's name, version, versions, device, inputs and outputs (it is loaded for this). */
  async metadata(model: string, version?: string): Promise<ModelMetadata> {
    return (await this.call({ type: 'metadata', id: 0, model, version })).info as ModelMetadata;
  }

  /** The registry's budget and every model's state and batcher statistics. */
  async stats(): Promise<unknown> {
    return (await this.call({ type: 'stats', id: 0 })).info;
  }

  /** Stops the worker; requests still in it fail. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    const err = new ConduitError(ErrorCodes.WORKER_EXITED, 'the inference client closed');
    for (const p of this.waiting.values()) p.reject(err);
    this.waiting.clear();
    await w?.terminate();
  }

  /** The worker thread (tests: crash it). */
  get thread(): Worker | null {
    return this.worker;
  }
}
