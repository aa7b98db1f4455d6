// An inference worker (a worker_thread): it holds the model registry and one dynamic
// batcher per model, so that onnxruntime's run() never blocks a network event loop.
// Every HTTP worker talks to it over its own MessagePort (attached by the service that
// started it), so requests from all of them meet in the same batchers. Tensors arrive
// in shared memory (no structured clone of the data, no JSON); results go back the same way.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { ConduitError, ErrorCodes } from '../errors.js';
import { DynamicBatcher, type BatcherOptions } from './batcher.js';
import type { OnnxModel, TensorValue } from './model.js';
import { ModelRegistry, type ModelSource } from './registry.js';
import { owned, share, type WireTensor } from './wire-tensors.js';

/** A client → the worker. */
export type ToWorker =
  | { type: 'add'; id: number; source: ModelSource; batching?: BatcherOptions }
  | { type: 'infer'; id: number; model: string; version?: string; inputs: WireTensor[]; outputs?: string[] }
  | { type: 'cancel'; id: number }
  | { type: 'load' | 'unload'; id: number; model: string; version?: string }
  | { type: 'stats'; id: number }
  | { type: 'metadata'; id: number; model: string; version?: string };

/** The worker → a client. */
export type FromWorker =
  | { type: 'ok'; id: number; outputs?: WireTensor[]; info?: unknown }
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
          // (a request that runs alone still has its data in shared memory)
          const own: Record<string, TensorValue> = {};
          for (const k of Object.keys(inputs)) own[k] = owned(inputs[k]);
          return await model.run(own);
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
    let outbox: FromWorker[] = [];
    const reply = (m: FromWorker): void => {
      outbox.push(m);
      if (outbox.length === 1) setImmediate(() => {
        const all = outbox;
        outbox = [];
        share(all.map((m) => (m.type === 'ok' ? m.outputs : undefined)));
        channel.postMessage(all.length === 1 ? all[0] : { type: 'many', messages: all } satisfies Many<FromWorker>);
      });
    };
    const cancels = new Map<number, AbortController>();
    const fail = (id: number, e: unknown) => {
      const err = e as { code?: string; message?: string };
      reply({ type: 'error', id, code: err?.code ?? ErrorCodes.INFERENCE_FAILED, message: err?.message ?? String(e) });
    };

    const handle = (m: ToWorker | Many<ToWorker>): void => {
      if (m.type === 'many') {
        for (const x of m.messages) handle(x);
        return;
      }
      switch (m.type) {
        case 'add':
          if (m.batching !== undefined) batching.set(m.source.name, m.batching);
          registry.add(m.source).then((e) => reply({ type: 'ok', id: m.id, info: { bytes: e.bytes, version: e.version } }), (e) => fail(m.id, e));
          return;
        case 'infer': {
          const entry = registry.get(m.model, m.version);
          if (entry === undefined) {
            fail(m.id, notFound(m.model, m.version));
            return;
          }
          const ac = new AbortController();
          cancels.set(m.id, ac);
          const inputs: Record<string, TensorValue> = {};
          for (const t of m.inputs) inputs[t.name] = { type: t.type, dims: t.dims, data: t.data };
          // The model's own checks first, so that one bad request never fails a batch (on
          // the loaded model at once; loading it first otherwise).
          const checked = entry.model !== null
            ? Promise.resolve().then(() => entry.model!.check(inputs, m.outputs))
            : registry.acquire(entry.name, entry.version).then(({ model, release }) => {
              try {
                model.check(inputs, m.outputs);
              } finally {
                release();
              }
            });
          checked.then(async () => {
            const out = await batcherFor(entry.name, entry.version).infer(inputs, ac.signal);
            const names = m.outputs ?? Object.keys(out);
            reply({ type: 'ok', id: m.id, outputs: names.map((name) => ({ name, ...out[name] }) as WireTensor) });
          }).catch((e) => fail(m.id, e)).finally(() => cancels.delete(m.id));
          return;
        }
        case 'cancel':
          cancels.get(m.id)?.abort(new ConduitError(ErrorCodes.INFERENCE_CANCELLED, 'the request was cancelled'));
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
        for (const ac of cancels.values()) ac.abort(gone);
        cancels.clear();
      },
    };
  };

  // The service's own requests come on the parent port, with the ports of the clients.
  serve({
    postMessage: (m) => parent.postMessage(m),
    on: (_e, cb) => parent.on('message', (m: ToWorker | Many<ToWorker> | Attach) => {
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
