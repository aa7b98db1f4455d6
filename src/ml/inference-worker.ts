// An inference worker (a worker_thread): it holds the model registry and one dynamic
// batcher per model, so that onnxruntime's run() never blocks a network event loop.
// Requests arrive over its MessagePort with their tensors in SharedArrayBuffers (no
// structured clone of the data, no JSON); results go back the same way.

import { parentPort, workerData } from 'node:worker_threads';
import { ConduitError, ErrorCodes } from '../errors.js';

const notFound = (model: string, version: string | undefined) =>
  new ConduitError(ErrorCodes.MODEL_NOT_FOUND, version === undefined ? `unknown model ${model}` : `unknown version ${version} of model ${model}`);
import { DynamicBatcher, type BatcherOptions } from './batcher.js';
import type { OnnxModel, TensorValue, TypedData } from './model.js';
import { ModelRegistry, type ModelSource } from './registry.js';
import { fromWire, toWire, type WireTensor } from './wire-tensors.js';

/** Main thread → worker. */
export type ToWorker =
  | { type: 'add'; id: number; source: ModelSource; batching?: BatcherOptions }
  | { type: 'infer'; id: number; model: string; version?: string; inputs: WireTensor[]; outputs?: string[] }
  | { type: 'cancel'; id: number }
  | { type: 'load' | 'unload'; id: number; model: string; version?: string }
  | { type: 'stats'; id: number }
  | { type: 'metadata'; id: number; model: string; version?: string };

/** Worker → main thread. */
export type FromWorker =
  | { type: 'ok'; id: number; outputs?: WireTensor[]; info?: unknown }
  | { type: 'error'; id: number; code: string; message: string };

interface Served {
  batcher: DynamicBatcher;
}

export function runInferenceWorker(parent: NonNullable<typeof parentPort>, memoryBudget?: number): void {
  // Replies of one event-loop turn go in one message (a batch's answers: one thread hop).
  let outbox: unknown[] = [];
  const port = {
    postMessage(m: unknown): void {
      outbox.push(m);
      if (outbox.length === 1) setImmediate(() => {
        const all = outbox;
        outbox = [];
        parent.postMessage(all.length === 1 ? all[0] : { type: 'many', messages: all });
      });
    },
  };
  const registry = new ModelRegistry<OnnxModel>({ memoryBudget, log: (l) => port.postMessage({ type: 'log', line: l }) });
  const batching = new Map<string, BatcherOptions>();
  const served = new Map<string, Served>();
  const cancels = new Map<number, AbortController>();

  const fail = (id: number, e: unknown) => {
    const err = e as { code?: string; message?: string };
    port.postMessage({ type: 'error', id, code: err?.code ?? ErrorCodes.INFERENCE_FAILED, message: err?.message ?? String(e) } satisfies FromWorker);
  };

  /** The batcher of a model version: it acquires the model for each batch (LRU-safe). */
  const batcherFor = (name: string, version: string): DynamicBatcher => {
    const key = `${name}\0${version}`;
    let s = served.get(key);
    if (s === undefined) {
      const batcher = new DynamicBatcher(async (inputs) => {
        const { model, release } = await registry.acquire(name, version);
        try {
          return await model.run(inputs);
        } finally {
          release();
        }
      }, batching.get(name));
      s = { batcher };
      served.set(key, s);
    }
    return s.batcher;
  };

  const handle = (m: ToWorker | { type: 'many'; messages: ToWorker[] }): void => {
    if (m.type === 'many') {
      for (const x of m.messages) handle(x);
      return;
    }
    switch (m.type) {
      case 'add':
        if (m.batching !== undefined) batching.set(m.source.name, m.batching);
        registry.add(m.source).then((e) => port.postMessage({ type: 'ok', id: m.id, info: { bytes: e.bytes, version: e.version } }), (e) => fail(m.id, e));
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
        for (const t of m.inputs) inputs[t.name] = fromWire(t, true);
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
          const picked = m.outputs === undefined ? out : Object.fromEntries(m.outputs.map((o) => [o, out[o]]));
          port.postMessage({ type: 'ok', id: m.id, outputs: Object.entries(picked).map(([name, t]) => toWire(name, t as TensorValue & { data: TypedData })) } satisfies FromWorker);
        }).catch((e) => fail(m.id, e)).finally(() => cancels.delete(m.id));
        return;
      }
      case 'cancel':
        cancels.get(m.id)?.abort(new ConduitError(ErrorCodes.INFERENCE_CANCELLED, 'the request was cancelled'));
        return;
      case 'load':
        registry.load(m.model, m.version).then(() => port.postMessage({ type: 'ok', id: m.id }), (e) => fail(m.id, e));
        return;
      case 'unload':
        registry.unload(m.model, m.version).then(() => port.postMessage({ type: 'ok', id: m.id }), (e) => fail(m.id, e));
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
          port.postMessage({ type: 'ok', id: m.id, info: { name: entry.name, version: entry.version, versions, device: model.device, inputs: model.inputs, outputs: model.outputs } });
        }, (e) => fail(m.id, e));
        return;
      }
      case 'stats': {
        const models = registry.list().map((e) => ({
          name: e.name, version: e.version, state: e.state, bytes: e.bytes, inflight: e.inflight, error: e.error,
          stats: served.get(`${e.name}\0${e.version}`)?.batcher.stats ?? null,
        }));
        port.postMessage({ type: 'ok', id: m.id, info: { memoryBudget: registry.memoryBudget, loadedBytes: registry.loadedBytes, models } });
        return;
      }
    }
  };
  parent.on('message', handle);
}

const data = workerData as { conduitInference?: boolean; memoryBudget?: number } | null;
if (parentPort !== null && data?.conduitInference === true) runInferenceWorker(parentPort, data.memoryBudget);
