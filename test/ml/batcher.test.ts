// The dynamic batcher: batched results equal unbatched ones on a real ONNX model, batches
// form at the end of the turn (or grow up to maxQueueDelayMs), requests that cannot share
// a batch are kept apart, a failing batch fails only its own requests, a client that left
// is dropped before it runs, and the queue is bounded.
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { DynamicBatcher } from '../../src/ml/batcher.js';
import { OnnxModel, type TensorValue } from '../../src/ml/model.js';
import { seededMlp, writeMlp } from '../../src/ml/onnx-writer.js';

const row = (seed: number, n: number) => new Float32Array(n).map((_, i) => Math.sin(seed * 13.1 + i * 0.7));
const f32 = (data: Float32Array, rows: number, width: number): Record<string, TensorValue> => ({ input: { type: 'float32', data, dims: [rows, width] } });

describe('DynamicBatcher', () => {
  it('batched results equal unbatched ones per row (1e-6 relative), for random batch compositions', async () => {
    const model = await OnnxModel.load('m', writeMlp(seededMlp([16, 32, 4], 9)), { device: 'cpu' });
    const b = new DynamicBatcher((x) => model.run(x), { maxBatchSize: 16 });
    let seed = 1;
    for (let round = 0; round < 6; round++) {
      const n = 1 + (round * 7) % 23;
      const reqs = Array.from({ length: n }, (_, i) => ({ rows: 1 + ((i + round) % 3), seed: seed++ }));
      const alone = await Promise.all(reqs.map((r) => model.run(f32(row(r.seed, r.rows * 16), r.rows, 16))));
      const together = await Promise.all(reqs.map((r) => b.infer(f32(row(r.seed, r.rows * 16), r.rows, 16))));
      together.forEach((t, i) => {
        expect(t.output.dims).toEqual([reqs[i].rows, 4]);
        const a = alone[i].output.data as Float32Array;
        const x = t.output.data as Float32Array;
        for (let k = 0; k < a.length; k++) expect(Math.abs(a[k] - x[k])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(a[k])));
      });
    }
    // Concurrent requests did batch (more than one row per run on average).
    const sizes = Object.entries(b.stats.batchSizes).map(([k, v]) => Number(k) * v);
    expect(sizes.reduce((x, y) => x + y, 0) / b.stats.batches).toBeGreaterThan(1.5);
    await model.release();
  });

  it('forms one batch from the requests of one turn, cut at maxBatchSize and preferred sizes', async () => {
    const runs: number[] = [];
    const echo = async (x: Record<string, TensorValue>) => {
      runs.push(x.input.dims[0]);
      return { output: x.input };
    };
    const b = new DynamicBatcher(echo, { maxBatchSize: 8, preferredBatchSizes: [4] });
    const out = await Promise.all(Array.from({ length: 10 }, (_, i) => b.infer(f32(new Float32Array([i, i]), 1, 2))));
    out.forEach((o, i) => expect([...(o.output.data as Float32Array)]).toEqual([i, i]));
    // 10 rows in one turn: batches cut at the preferred 4 while 4 fit, never over 8.
    expect(runs.reduce((a, c) => a + c, 0)).toBe(10);
    expect(Math.max(...runs)).toBeLessThanOrEqual(8);
    expect(runs.filter((r) => r === 4).length).toBeGreaterThanOrEqual(1);
  });

  it('maxQueueDelayMs: a batch waits for requests that keep coming, up to the delay', async () => {
    const runs: number[] = [];
    const b = new DynamicBatcher(async (x) => {
      runs.push(x.input.dims[0]);
      return { output: x.input };
    }, { maxBatchSize: 64, maxQueueDelayMs: 40 });
    const ps: Array<Promise<unknown>> = [];
    for (let i = 0; i < 5; i++) {
      ps.push(b.infer(f32(new Float32Array([i]), 1, 1)));
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(ps);
    expect(runs).toEqual([5]);
  });

  it('keeps requests with other non-batch dimensions apart, and a failing batch fails only its own requests', async () => {
    const b = new DynamicBatcher(async (x) => {
      if (x.input.dims[1] === 3) throw new Error('this shape breaks the model');
      return { output: x.input };
    });
    const [good, bad, good2] = await Promise.allSettled([
      b.infer(f32(new Float32Array([1, 2]), 1, 2)),
      b.infer(f32(new Float32Array([1, 2, 3]), 1, 3)),
      b.infer(f32(new Float32Array([3, 4]), 1, 2)),
    ]);
    expect(good.status).toBe('fulfilled');
    expect(good2.status).toBe('fulfilled');
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: 'this shape breaks the model' } });
    expect(b.stats.batchSizes).toEqual({ 1: 1, 2: 1 });
  });

  it('drops a request whose client went away before it ran; refuses past maxQueue (QUEUE_FULL)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: number[][] = [];
    const b = new DynamicBatcher(async (x) => {
      seen.push([...(x.input.data as Float32Array)]);
      await gate;
      return { output: x.input };
    }, { maxBatchSize: 1, maxQueue: 2 });
    const first = b.infer(f32(new Float32Array([1]), 1, 1)); // runs (and holds the batcher)
    await new Promise((r) => setImmediate(r));
    const ac = new AbortController();
    const gone = b.infer(f32(new Float32Array([2]), 1, 1), ac.signal);
    const third = b.infer(f32(new Float32Array([3]), 1, 1));
    await expect(b.infer(f32(new Float32Array([4]), 1, 1))).rejects.toMatchObject({ code: ErrorCodes.QUEUE_FULL });
    ac.abort(new Error('client went away'));
    await expect(gone).rejects.toThrow('client went away');
    release();
    await Promise.all([first, third]);
    expect(seen).toEqual([[1], [3]]);
    expect(b.stats).toMatchObject({ dropped: 1, refused: 1, batches: 2 });
  });

  it('a model that stalls: requests waiting past queueTimeoutMs fail (QUEUE_TIMEOUT), the one running is left alone; a CancelToken drops a queued one', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new DynamicBatcher(async (x) => {
      await gate;
      return { output: x.input };
    }, { maxBatchSize: 1, queueTimeoutMs: 40 });
    const first = b.infer(f32(new Float32Array([1]), 1, 1));
    await new Promise((r) => setImmediate(r));
    const token: { cancel?: (reason: unknown) => void } = {};
    const cancelled = b.infer(f32(new Float32Array([2]), 1, 1), token);
    const waiting = b.infer(f32(new Float32Array([3]), 1, 1));
    token.cancel!(new Error('gone'));
    await expect(cancelled).rejects.toThrow('gone');
    const t0 = performance.now();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCodes.QUEUE_TIMEOUT, message: /waited \d+ ms in the model's queue/ });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    release();
    await first;
    expect(b.stats).toMatchObject({ timedOut: 1, dropped: 1, batches: 1 });
    expect(() => new DynamicBatcher(async (x) => x, { queueTimeoutMs: -1 })).toThrow(/queueTimeoutMs must be an integer/);
  });
});
