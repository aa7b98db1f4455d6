// KServe infer bodies: Conduit's parseInferRequest (the bytes copied into WASM memory,
// validated there, each input's data parsed by the tensor kernel straight into a
// Float32Array) against what a Node server does without it: JSON.parse of the decoded
// body, then the nested data flattened and copied into a Float32Array (the unbatched
// peer in bench/ml does exactly this). Both end with the same Float32Array, checked once.
//
// Bodies: one FP32 input of 16, 256 and 4,096 values, written two ways: short decimals
// (0.125) and float32 values as JavaScript prints them (0.30000001192092896: 17 digits,
// what `Array.from(float32Array)` → JSON gives).
//
// Run: node bench/run.mjs tensor-json   (or node bench/tensor-json.bench.mjs)

import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { fmt, runIfMain, runTasks, saveResult, suiteResult } from './lib.mjs';
import { parseInferRequest } from '../dist/ml/tensor-json.js';

export const name = 'tensor-json';
const RESULTS_FILE = fileURLToPath(new URL('./results/tensor-json.json', import.meta.url));
const BATCH_BYTES = 64 * 1024;
export let sink = 0;

const te = new TextEncoder();
const decoder = new TextDecoder();

function corpus() {
  const out = [];
  for (const n of [16, 256, 4096]) {
    const short = Array.from({ length: n }, (_, i) => ((i % 17) - 8) / 8);
    const f32 = Array.from(Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3));
    for (const [kind, values] of [['short', short], ['float32', f32]]) {
      const body = te.encode(JSON.stringify({ id: 'r1', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, n], data: values }] }));
      out.push({ name: `fp32-${n}-${kind}`, bytes: body, expect: Float32Array.from(values) });
    }
  }
  return out;
}

function flatten(data, out) {
  if (Array.isArray(data)) for (const x of data) flatten(x, out);
  else out.push(data);
}

/** What a server without the kernel does (the same checks: shape count, finite numbers). */
function jsonParsePeer(bytes) {
  const body = JSON.parse(decoder.decode(bytes));
  const input = body.inputs[0];
  const n = input.shape.reduce((a, b) => a * b, 1);
  const flat = [];
  flatten(input.data, flat);
  if (flat.length !== n) throw new Error('count');
  const data = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const v = flat[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error('not a number');
    data[k] = v;
  }
  return data;
}

const conduit = (bytes) => parseInferRequest(bytes).inputs[0].tensor.data;

export async function run(options = {}) {
  const time = options.time ?? 1000;
  const warmupTime = options.warmupTime ?? 300;
  const log = options.log ?? ((s) => console.log(s));
  const filter = options.corpusFilter ?? [];
  const entries = corpus().filter((e) => filter.length === 0 || filter.some((f) => e.name.includes(f)));
  for (const e of entries) {
    for (const [who, fn] of [['conduit', conduit], ['json-parse', jsonParsePeer]]) {
      const got = fn(e.bytes);
      if (got.length !== e.expect.length || got.some((v, i) => !Object.is(v, e.expect[i]))) throw new Error(`${who} parsed ${e.name} wrong`);
    }
  }
  const bench = new Bench({ name, time, warmupTime, throws: true });
  for (const e of entries) {
    const reps = Math.max(1, Math.round(BATCH_BYTES / e.bytes.length));
    e.reps = reps;
    for (const [who, fn] of [['conduit', conduit], ['json-parse', jsonParsePeer]]) {
      bench.add(`${e.name} ${who}`, () => {
        for (let i = 0; i < reps; i++) sink += fn(e.bytes).length;
      });
    }
  }
  const { elapsed, results } = await runTasks(bench);
  const per = new Map(results.map(({ name: n, r }) => [n, r.latency.p50 * 1e3]));
  const rows = [];
  log('| body | bytes | Conduit µs | JSON.parse + copy µs | ratio | Conduit MB/s |');
  log('|---|---:|---:|---:|---:|---:|');
  for (const e of entries) {
    const c = per.get(`${e.name} conduit`) / e.reps;
    const j = per.get(`${e.name} json-parse`) / e.reps;
    rows.push({ name: e.name, bytes: e.bytes.length, conduitUs: c, jsonParseUs: j, ratio: j / c });
    log(`| ${e.name} | ${e.bytes.length} | ${fmt(c, 2)} | ${fmt(j, 2)} | ${fmt(j / c, 2)}x | ${fmt(e.bytes.length / c, 0)} |`);
  }
  log(`(${elapsed.toFixed(1)} s; median of batches, per body)`);
  saveResult(RESULTS_FILE, suiteResult(name, { statistic: 'median', time, warmupTime, batchBytes: BATCH_BYTES }, { rows }), options, log);
  return rows;
}

await runIfMain(import.meta.url, run);
