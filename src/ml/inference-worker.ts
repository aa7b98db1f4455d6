// An inference worker (a worker_thread): it holds the model registry and one dynamic
// batcher per model, so that onnxruntime's run() never blocks a network event loop.
// Every HTTP worker talks to it over its own MessagePort (attached by the service that
// started it), so requests from all of them meet in the same batchers. Tensors arrive
// in shared memory (no structured clone of the data, no JSON); results go back the same way.

import '../wasm/node-fs.js'; // (first: node:fs for the .wasm on every Node 20)
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { ConduitError, ErrorCodes } from '../errors.js';
import { DynamicBatcher, type BatcherOptions, type CancelToken } from './batcher.js';
import type { OnnxModel, TensorValue } from './model.js';
import { ModelRegistry, type ModelSource } from './registry.js';
import { consumed, PackArena, packResults, unpackRequests, type Pack, type WireRequest, type WireResult } from './wire-tensors.js';

/** A client → the worker: a turn's infer requests come packed (wire-tensors.ts), the rest as objects. */
export type ToWorker =
  | { type: 'add'; id: number; source: ModelSource; batching?: BatcherOptions }
  | { type: 'cancel'; id: number }
  | { type: 'load' | 'unload'; id: number; model: string; version?: string }
  | { type: 'stats'; id: number }
  | { type: 'metadata'; id: number; model: string; version?: string };

/** The worker → a client (infer results: packed). */
export type FromWorker =
  | { type: 'ok'; id: number; info?: unknown }
  | { type: 'error'; id: number; code: string; message: string };

/** Several messages of one event-loop turn, sent as one (one thread hop for a whole batch). */
export interface Many<M> {
  type: 'many';
  messages: M[];
}

/** The service → the worker (on its parentPort only): a client's port to serve. */
export interface Attach {
  type: 'attach';
  port: MessagePort;
}

const notFound = (model: string, version: string | undefined) =>
  new ConduitError(ErrorCodes.MODEL_NOT_FOUND, version === undefined ? `unknown model ${model}` : `unknown version ${version} of model ${model}`);

/** Where a client's messages come from and its answers go. */
interface Channel {
  postMessage(m: unknown): void;
  on(event: 'message', cb: (m: never) => void): unknown;
}

export function runInferenceWorker(parent: Channel, memoryBudget?: number): void {
  const log = (line: string) => parent.postMessage({ type: 'log', line });
  const registry = new ModelRegistry<OnnxModel>({ memoryBudget, log });
  const batching = new Map<string, BatcherOptions>();
  const batchers = new Map<string, DynamicBatcher>();

  /** The batcher of a model version: it acquires the model for each batch (LRU-safe). */
  const batcherFor = (name: string, version: string): DynamicBatcher => {
    const key = `${name}\0${version}`;
    let b = batchers.get(key);
    if (b === undefined) {
      b = new DynamicBatcher(async (inputs) => {
        const { model, release } = await registry.acquire(name, version);
        try {
          return await model.run(inputs);
        } finally {
          release();
        }
      }, batching.get(name));
      batchers.set(key, b);
    }
    return b;
  };

  /** Serves one client: its requests, its cancellations, its answers (one message a turn). */
  const serve = (channel: Channel): { closed(): void } => {
    // What one turn answers goes in one message (a batch's results: one pack, one hop).
    let outbox: FromWorker[] = [];
    let results: WireResult[] = [];
    const arena = new PackArena();
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      if (results.length > 0) {
        const r = results;
        results = [];
        channel.postMessage(packResults(r, arena));
      }
      if (outbox.length > 0) {
        const all = outbox;
        outbox = [];
        channel.postMessage(all.length === 1 ? all[0] : { type: 'many', messages: all } satisfies Many<FromWorker>);
      }
    };
    const later = () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(flush);
    };
    const reply = (m: FromWorker): void => {
      outbox.push(m);
      later();
    };
    const cancels = new Map<number, CancelToken>();
    const errorOf = (e: unknown) => {
      const err = e as { code?: string; message?: string };
      return { code: err?.code ?? ErrorCodes.INFERENCE_FAILED, message: err?.message ?? String(e) };
    };
    const fail = (id: number, e: unknown) => reply({ type: 'error', id, ...errorOf(e) });
    const failInfer = (id: number, e: unknown) => {
      results.push({ id, ...errorOf(e) });
      later();
    };

    const infer = (m: WireRequest): void => {
      const entry = registry.get(m.model, m.version);
      if (entry === undefined) {
        failInfer(m.id, notFound(m.model, m.version));
        return;
      }
      const token: CancelToken = {};
      cancels.set(m.id, token);
      const inputs: Record<string, TensorValue> = {};
      for (const t of m.inputs) inputs[t.name] = { type: t.type, dims: t.dims, data: t.data };
      const run = () => batcherFor(entry.name, entry.version).infer(inputs, token).then((out) => {
        cancels.delete(m.id);
        const names = m.outputs ?? Object.keys(out);
        results.push({ id: m.id, outputs: names.map((name) => ({ name, ...out[name] })) });
        later();
      }, (e: unknown) => {
        cancels.delete(m.id);
        failInfer(m.id, e);
      });
      // The model's own checks first, so that one bad request never fails a batch (on
      // the loaded model at once; loading it first otherwise).
      if (entry.model !== null) {
        try {
          entry.model.check(inputs, m.outputs);
        } catch (e) {
          cancels.delete(m.id);
          failInfer(m.id, e);
          return;
        }
        void run();
        return;
      }
      registry.acquire(entry.name, entry.version).then(({ model, release }) => {
        try {
          model.check(inputs, m.outputs);
        } finally {
          release();
        }
      }).then(run, (e: unknown) => {
        cancels.delete(m.id);
        failInfer(m.id, e);
      });
    };

    const handle = (m: ToWorker | Many<ToWorker> | Pack): void => {
      if (m.type === 'many') {
        for (const x of m.messages) handle(x);
        return;
      }
      if (m.type === 'requests') {
        const requests = unpackRequests(m);
        consumed(m);
        for (const r of requests) infer(r);
        return;
      }
      if (m.type === 'results') return;
      switch (m.type) {
        case 'add':
          if (m.batching !== undefined) batching.set(m.source.name, m.batching);
          registry.add(m.source).then((e) => reply({ type: 'ok', id: m.id, info: { bytes: e.bytes, version: e.version } }), (e) => fail(m.id, e));
          return;
        case 'cancel':
          cancels.get(m.id)?.cancel?.(new ConduitError(ErrorCodes.INFERENCE_CANCELLED, 'the request was cancelled'));
          return;
        case 'load':
          registry.load(m.model, m.version).then(() => reply({ type: 'ok', id: m.id }), (e) => fail(m.id, e));
          return;
        case 'unload':
          registry.unload(m.model, m.version).then(() => reply({ type: 'ok', id: m.id }), (e) => fail(m.id, e));
          return;
        case 'metadata': {
          const entry = registry.get(m.model, m.version);
          if (entry === undefined) {
            fail(m.id, notFound(m.model, m.version));
            return;
          }
          const versions = registry.list().filter((e) => e.name === entry.name).map((e) => e.version);
          registry.acquire(entry.name, entry.version).then(({ model, release }) => {
            release();
            reply({ type: 'ok', id: m.id, info: { name: entry.name, version: entry.version, versions, device: model.device, inputs: model.inputs, outputs: model.outputs } });
          }, (e) => fail(m.id, e));
          return;
        }
        case 'stats': {
          const models = registry.list().map((e) => ({
            name: e.name, version: e.version, state: e.state, bytes: e.bytes, inflight: e.inflight, error: e.error,
            stats: batchers.get(`${e.name}\0${e.version}`)?.stats ?? null,
          }));
          reply({ type: 'ok', id: m.id, info: { memoryBudget: registry.memoryBudget, loadedBytes: registry.loadedBytes, models } });
          return;
        }
      }
    };
    channel.on('message', handle as (m: never) => void);
    // The client is gone (its thread ended): what it still has queued is dropped.
    return {
      closed() {
        const gone = new ConduitError(ErrorCodes.INFERENCE_CANCELLED, 'the client is gone');
        for (const t of [...cancels.values()]) t.cancel?.(gone);
        cancels.clear();
      },
    };
  };

  // The service's own requests come on the parent port, with the ports of the clients.
  serve({
    postMessage: (m) => parent.postMessage(m),
    on: (_e, cb) => parent.on('message', (m: ToWorker | Many<ToWorker> | Pack | Attach) => {
      if (m.type === 'attach') {
        const client = serve(m.port as unknown as Channel);
        m.port.on('close', () => client.closed());
        return;
      }
      (cb as (m: unknown) => void)(m);
    }),
  });
}

const data = workerData as { conduitInference?: boolean; memoryBudget?: number } | null;
if (parentPort !== null && data?.conduitInference === true) runInferenceWorker(parentPort as unknown as Channel, data.memoryBudget);
