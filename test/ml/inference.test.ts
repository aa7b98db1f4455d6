// Inference in a worker thread (the built dist/, as a server runs it): results equal a
// direct run, concurrent requests batch there, a bad request fails alone, the main event
// loop stays free while a slow model runs, a cancelled request is dropped, and a worker
// that dies is restarted with its models (the requests it held fail; none hangs).
import { afterEach, describe, expect, it } from 'vitest';
import { InferenceClient } from '../../dist/ml/inference.js';
import { OnnxModel } from '../../dist/ml/model.js';
import { seededMlp, writeMlp } from '../../dist/ml/onnx-writer.js';

const clients: InferenceClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});
const client = () => {
  const c = new InferenceClient();
  clients.push(c);
  return c;
};
const f32 = (data: Float32Array, rows: number, width: number) => ({ input: { type: 'float32', data, dims: [rows, width] } });

describe('InferenceClient (worker thread)', () => {
  it('runs a model in the worker: results equal a direct run; 63 concurrent requests batch; a bad one among them fails alone', async () => {
    const spec = seededMlp([16, 32, 4], 21);
    const bytes = writeMlp(spec);
    const c = client();
    await c.add({ name: 'tiny', data: bytes, options: { device: 'cpu' } }, { maxBatchSize: 64 });
    const direct = await OnnxModel.load('d', bytes, { device: 'cpu' });
    const rows = Array.from({ length: 63 }, (_, i) => new Float32Array(16).map((_, k) => Math.cos(i + k)));
    const bad = c.infer('tiny', f32(new Float32Array(15), 1, 15)).then(() => null, (e: unknown) => e);
    const outs = await Promise.all(rows.map((r) => c.infer('tiny', f32(r, 1, 16))));
    expect(await bad).toMatchObject({ code: 'CONDUIT_ERR_INVALID_TENSOR', message: /dimension 1 is 15, the model takes 16/ });
    for (const [i, r] of rows.entries()) {
      const d = (await direct.run(f32(r, 1, 16))).output.data as Float32Array;
      const o = outs[i].output.data as Float32Array;
      expect(outs[i].output.dims).toEqual([1, 4]);
      for (let k = 0; k < 4; k++) expect(Math.abs(o[k] - d[k])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(d[k])));
    }
    const stats = (await c.stats()) as { models: Array<{ name: string; state: string; stats: { batches: number; requests: number } }> };
    const tiny = stats.models.find((m) => m.name === 'tiny')!;
    expect(tiny.state).toBe('ready');
    expect(tiny.stats.requests).toBe(63);
    expect(tiny.stats.batches).toBeLessThan(63); // (they batched)
    await expect(c.infer('nope', f32(new Float32Array(16), 1, 16))).rejects.toMatchObject({ code: 'CONDUIT_ERR_MODEL_NOT_FOUND' });
    await direct.release();
  });

  it('keeps the main event loop free while a slow model runs', async () => {
    const c = client();
    await c.add({ name: 'big', data: writeMlp(seededMlp([512, 1024, 1024, 10], 4)), options: { device: 'cpu', intraOpThreads: 1 } });
    await c.load('big');
    const x = new Float32Array(512 * 512).fill(0.5);
    const started = performance.now();
    const work = Promise.all([0, 1, 2].map(() => c.infer('big', f32(x, 512, 512))));
    let worst = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    await work;
    clearInterval(tick);
    const took = performance.now() - started;
    expect(took).toBeGreaterThan(20); // (the model did take time)
    expect(worst).toBeLessThan(60); // (and the loop kept ticking meanwhile)
  });

  it('a worker that dies is restarted with its models and serves again; requests it held fail, none hangs', async () => {
    const c = client();
    await c.add({ name: 'small', data: writeMlp(seededMlp([8, 4], 4)), options: { device: 'cpu' } });
    expect((await c.infer('small', f32(new Float32Array(8), 1, 8))).output.dims).toEqual([1, 4]);
    // (killed between runs: a thread stopped inside onnxruntime's native run() takes the
    // process with it)
    const held = c.infer('small', f32(new Float32Array(8), 1, 8)).then(() => null, (e: unknown) => e);
    await c.thread!.terminate();
    expect(await held).toMatchObject({ code: 'CONDUIT_ERR_WORKER_EXITED' });
    // While it starts again, requests fail at once (a 503), never wait
    await expect(c.infer('small', f32(new Float32Array(8), 1, 8))).rejects.toMatchObject({ code: 'CONDUIT_ERR_WORKER_EXITED' });
    for (let i = 0; i < 200 && !c.connected; i++) await new Promise((r) => setTimeout(r, 10));
    expect(c.restarts).toBe(1);
    const again = await c.infer('small', f32(new Float32Array(16), 2, 8));
    expect(again.output.dims).toEqual([2, 4]);
  });

  it('a request cancelled while queued is dropped before it runs', async () => {
    const c = client();
    await c.add({ name: 'big', data: writeMlp(seededMlp([512, 1024, 1024, 10], 4)), options: { device: 'cpu', intraOpThreads: 1 } }, { maxBatchSize: 1 });
    await c.load('big');
    const x = new Float32Array(512 * 512).fill(0.1);
    const first = c.infer('big', f32(x, 512, 512));
    const ac = new AbortController();
    const second = c.infer('big', f32(new Float32Array(512), 1, 512), { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await expect(second).rejects.toMatchObject({ code: 'CONDUIT_ERR_INFERENCE_CANCELLED' });
    await first;
    const stats = (await c.stats()) as { models: Array<{ stats: { dropped: number } }> };
    expect(stats.models[0].stats.dropped).toBe(1);
  });
});
