// The model registry: lazy loads, LRU eviction by bytes within the budget, never a busy
// model, versions, and the errors a server turns into 404 / 503.
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { ModelRegistry, type LoadedModel, type ModelSource } from '../../src/ml/registry.js';
import { seededMlp, writeMlp } from '../../src/ml/onnx-writer.js';
import type { OnnxModel } from '../../src/ml/model.js';

class Fake implements LoadedModel {
  released = false;
  constructor(readonly name: string, readonly bytes: number) {}
  async release(): Promise<void> {
    this.released = true;
  }
}

function registry(budget: number) {
  const loads: string[] = [];
  const lines: string[] = [];
  const r = new ModelRegistry<Fake>({
    memoryBudget: budget,
    load: async (s: ModelSource) => {
      loads.push(`${s.name}@${s.version ?? '1'}`);
      await new Promise((res) => setTimeout(res, 1));
      return new Fake(s.name, s.data!.length);
    },
    log: (l) => lines.push(l),
  });
  const add = (name: string, bytes: number, version?: string) => r.add({ name, version, data: new Uint8Array(bytes) });
  return { r, loads, lines, add };
}

describe('ModelRegistry', () => {
  it('loads on first use, once for concurrent users, and evicts the least recently used idle model to fit the budget', async () => {
    const { r, loads, lines, add } = registry(100);
    await add('a', 40);
    await add('b', 40);
    await add('c', 40);
    expect(r.get('a')!.state).toBe('unloaded');
    const [x, y] = await Promise.all([r.acquire('a'), r.acquire('a')]);
    expect(x.model).toBe(y.model);
    expect(loads).toEqual(['a@1']);
    x.release();
    y.release();
    (await r.acquire('b')).release();
    (await r.acquire('a')).release(); // (a is now more recent than b)
    expect(r.loadedBytes).toBe(80);
    (await r.acquire('c')).release(); // 120 > 100: b (least recently used) goes
    expect(r.get('b')!.state).toBe('unloaded');
    expect(r.get('a')!.state).toBe('ready');
    expect(r.loadedBytes).toBe(80);
    expect(lines.filter((l) => l.includes('evicted'))).toEqual(['model b version 1: evicted for c (least recently used) (40 bytes)']);
    expect(lines.filter((l) => l.endsWith('loaded (version 1)'))).toEqual(['model a loaded (version 1)', 'model b loaded (version 1)', 'model c loaded (version 1)']);
  });

  it('never evicts a model with requests in flight; says so when nothing can make room', async () => {
    const { r, add } = registry(100);
    await add('a', 60);
    await add('b', 60);
    const held = await r.acquire('a');
    await expect(r.acquire('b')).rejects.toMatchObject({ code: ErrorCodes.MODEL_MEMORY, message: /held by models in use/ });
    expect(r.get('a')!.state).toBe('ready');
    expect(r.get('b')!.inflight).toBe(0);
    held.release();
    const b = await r.acquire('b');
    expect(r.get('a')!.state).toBe('unloaded');
    b.release();
    await add('huge', 200);
    await expect(r.acquire('huge')).rejects.toMatchObject({ code: ErrorCodes.MODEL_MEMORY, message: /larger than the model memory budget/ });
    await expect(r.unload('b')).resolves.toBeUndefined();
    const again = await r.acquire('b');
    await expect(r.unload('b')).rejects.toMatchObject({ code: ErrorCodes.MODEL_BUSY });
    again.release();
  });

  it('versions: the highest by default, a given one on request; unknown names and versions are MODEL_NOT_FOUND', async () => {
    const { r, add } = registry(1000);
    await add('m', 10, '1');
    await add('m', 10, '10');
    await add('m', 10, '2');
    expect((await r.acquire('m')).model).toBe(r.get('m', '10')!.model);
    expect(r.get('m', '2')!.state).toBe('unloaded');
    await expect(r.acquire('nope')).rejects.toMatchObject({ code: ErrorCodes.MODEL_NOT_FOUND });
    await expect(r.acquire('m', '7')).rejects.toMatchObject({ code: ErrorCodes.MODEL_NOT_FOUND, message: /unknown version 7 of model m/ });
    await expect(add('m', 10, '1')).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION });
    await expect(r.add({ name: 'bad name!', data: new Uint8Array(1) })).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION });
  });

  it('with real ONNX models (the default loader), sized by their files', async () => {
    const r = new ModelRegistry<OnnxModel>({ memoryBudget: 1 << 20 });
    const data = writeMlp(seededMlp([4, 8, 2], 2));
    await r.add({ name: 'real', data, options: { device: 'cpu' } });
    const { model, release } = await r.acquire('real');
    expect(model.bytes).toBe(data.length);
    const out = await model.run({ input: { type: 'float32', data: new Float32Array(4), dims: [1, 4] } });
    expect(out.output.dims).toEqual([1, 2]);
    release();
    await r.unload('real');
    expect(r.get('real')!.state).toBe('unloaded');
  });
});
