#!/usr/bin/env node
// The cost of the hop to the inference worker, in process (no HTTP): InferenceClient with
// the tiny 16→32→4 model, (1) one request at a time: the round-trip latency and CPU, and
// (2) 64 concurrent single-row requests at a time: CPU per request (both threads), with the
// batcher's compute time per batch. Against a direct OnnxModel.run of the same model.
// Run pinned to one core to compare with bench/ml/load.mjs: taskset -c 0 node bench/ml/hop.mjs
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const { InferenceClient } = await import(join(ROOT, 'dist/ml/inference.js'));
const { OnnxModel } = await import(join(ROOT, 'dist/ml/model.js'));
const { seededMlp, writeMlp } = await import(join(ROOT, 'dist/ml/onnx-writer.js'));

const bytes = writeMlp(seededMlp([16, 32, 4], 7));
const x = () => ({ input: { type: 'float32', data: new Float32Array(16), dims: [1, 16] } });
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };

const direct = await OnnxModel.load('t', bytes, { device: 'cpu' });
for (let i = 0; i < 2000; i++) await direct.run(x());
let t0 = performance.now();
for (let i = 0; i < 20000; i++) await direct.run(x());
console.log(`direct OnnxModel.run, batch 1: ${((performance.now() - t0) / 20).toFixed(1)} µs`);

const c = new InferenceClient();
await c.add({ name: 't', data: bytes, options: { device: 'cpu' } });
for (let i = 0; i < 2000; i++) await c.infer('t', x());
const N = 5000;
t0 = performance.now();
let c0 = cpu();
for (let i = 0; i < N; i++) await c.infer('t', x());
console.log(`through the worker, one at a time: ${((performance.now() - t0) / N * 1000).toFixed(1)} µs round trip, ${((cpu() - c0) / N).toFixed(1)} µs CPU`);
const round = () => Promise.all(Array.from({ length: 64 }, () => c.infer('t', x())));
for (let k = 0; k < 100; k++) await round();
const R = 400;
c0 = cpu();
t0 = performance.now();
for (let k = 0; k < R; k++) await round();
console.log(`through the worker, 64 at a time: ${((cpu() - c0) / (R * 64)).toFixed(1)} µs CPU per request, ${((performance.now() - t0) / (R * 64) * 1000).toFixed(1)} µs wall`);
const s = (await c.stats()).models[0].stats;
console.log(`batches: ${JSON.stringify(s.batchSizes)}; compute ${(s.computeMs / s.batches * 1000).toFixed(1)} µs per batch`);
await c.close();
await direct.release();
