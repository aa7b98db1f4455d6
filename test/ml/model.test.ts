// ONNX models Conduit writes itself, run on onnxruntime-node's CPU provider: the writer's
// output against a float64 reference, the model's metadata, input checks, devices.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { OnnxModel } from '../../src/ml/model.js';
import { mlpReference, seededMlp, writeMlp } from '../../src/ml/onnx-writer.js';

function close(a: ArrayLike<number>, b: ArrayLike<number>, rel = 1e-5): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    const tol = rel * Math.max(1, Math.abs(b[i]));
    if (Math.abs(a[i] - b[i]) > tol) expect.fail(`element ${i}: ${a[i]} vs ${b[i]}`);
  }
}

describe('writeMlp + OnnxModel (CPU)', () => {
  it('a 16→32→4 MLP: metadata from the session, and outputs equal the reference for batches of 1..64', async () => {
    const spec = seededMlp([16, 32, 4], 3);
    const model = await OnnxModel.load('tiny', writeMlp(spec), { device: 'cpu' });
    try {
      expect(model.device).toBe('cpu');
      expect(model.inputs).toEqual([{ name: 'input', type: 'float32', shape: [null, 16] }]);
      expect(model.outputs).toEqual([{ name: 'output', type: 'float32', shape: [null, 4] }]);
      expect(model.loadLine).toMatch(/^model tiny: [\d.]+ KiB on cpu \(asked for CPU\), loaded in \d+ ms$/);
      for (const rows of [1, 2, 7, 64]) {
        const x = new Float32Array(rows * 16).map((_, i) => Math.sin(i * 0.37 + rows));
        const out = await model.run({ input: { type: 'float32', data: x, dims: [rows, 16] } });
        expect(out.output.dims).toEqual([rows, 4]);
        close(out.output.data as Float32Array, mlpReference(spec, x, rows));
      }
    } finally {
      await model.release();
    }
  });

  it('a deeper net (8→64→64→3, ReLU between) from a file path', async () => {
    const spec = seededMlp([8, 64, 64, 3], 11);
    const file = join(mkdtempSync(join(tmpdir(), 'conduit-onnx-')), 'net.onnx');
    writeFileSync(file, writeMlp(spec));
    const model = await OnnxModel.load('deep', file, { device: 'cpu', intraOpThreads: 1, graphOptimization: 'basic' });
    const x = new Float32Array(5 * 8).map((_, i) => (i % 7) - 3);
    const out = await model.run({ input: { type: 'float32', data: x, dims: [5, 8] } });
    close(out.output.data as Float32Array, mlpReference(spec, x, 5));
    await model.release();
  });

  it('checks inputs against the model before running, naming the problem', async () => {
    const model = await OnnxModel.load('tiny', writeMlp(seededMlp([4, 3], 1)), { device: 'cpu' });
    const ok = { type: 'float32', data: new Float32Array(8), dims: [2, 4] };
    const fails = async (inputs: Record<string, unknown>, re: RegExp, outputs?: string[]) => {
      const e = await model.run(inputs as never, outputs).then(() => null, (err: { code: string; message: string }) => err);
      expect(e?.code).toBe(ErrorCodes.INVALID_TENSOR);
      expect(e?.message).toMatch(re);
    };
    await fails({}, /input 'input' is missing/);
    await fails({ input: ok, other: ok }, /has no input 'other'/);
    await fails({ input: { ...ok, type: 'int32', data: new Int32Array(8) } }, /type int32, the model takes float32/);
    await fails({ input: { ...ok, data: new Float64Array(8) } }, /must be a Float32Array/);
    await fails({ input: { ...ok, dims: [8] } }, /rank 1, the model takes rank 2/);
    await fails({ input: { ...ok, dims: [4, 2] } }, /dimension 1 is 2, the model takes 4/);
    await fails({ input: { ...ok, dims: [3, 4] } }, /8 values for dims \[3, 4\] \(12 expected\)/);
    await fails({ input: ok }, /has no output 'nope'/, ['nope']);
    expect((await model.run({ input: ok })).output.dims).toEqual([2, 3]);
    await model.release();
  });

  it('a missing file or bytes that are not a model: CONDUIT_ERR_MODEL_LOAD', async () => {
    await expect(OnnxModel.load('m', '/nonexistent/model.onnx')).rejects.toMatchObject({ code: ErrorCodes.MODEL_LOAD, message: /cannot read/ });
    await expect(OnnxModel.load('m', new Uint8Array([1, 2, 3]), { device: 'cpu' })).rejects.toMatchObject({ code: ErrorCodes.MODEL_LOAD });
  });

  it('devices: auto says what it got and why; an explicit CUDA that does not load is an error, never a silent fallback', async () => {
    const bytes = writeMlp(seededMlp([4, 2], 5));
    const auto = await OnnxModel.load('a', bytes);
    expect(['cpu', 'cuda']).toContain(auto.device);
    if (auto.device === 'cpu') expect(auto.why).toMatch(/CUDA execution provider not available .*: using CPU/);
    await auto.release();
    if (auto.device === 'cpu') {
      await expect(OnnxModel.load('c', bytes, { device: 'cuda' })).rejects.toMatchObject({
        code: ErrorCodes.DEVICE_UNAVAILABLE, message: /CUDA execution provider is not available/,
      });
    }
    await expect(OnnxModel.load('x', bytes, { device: 'tpu' as never })).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION });
  });
});
