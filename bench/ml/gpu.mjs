#!/usr/bin/env node
// ONNX batching on CUDA and CPU, in process (no HTTP): how throughput grows with the batch
// size, and what Conduit's DynamicBatcher makes of single-row requests under concurrency.
// Needs only node and onnxruntime-node (for CUDA: libonnxruntime_providers_{cuda,shared}.so
// beside its libonnxruntime.so.1 and the CUDA 13 libraries on LD_LIBRARY_PATH; on the lent GPU
// machine .gpu/stage.sh sets that up, see .gpu/README.txt), and the compiled TS (npm run build:ts).
// Model: an MLP 1024→4096→4096→1000 (ReLU between; 25.1 M parameters, 100 MB, 50 MFLOP a row)
// from Conduit's ONNX writer (seeded weights, nothing downloaded).
//   1. correctness: CPU vs the writer's float64 reference (2 rows); CUDA vs CPU (64 rows),
//      max|a-b| / max|b| ≤ 1e-3 (if CUDA misses it, the check is repeated in a child process
//      with NVIDIA_TF32_OVERRIDE=0 to tell TF32 rounding from a real error)
//   2. offline: OnnxModel.run() at batch 1..256: ms a run (median after warm-up), rows/s
//   3. DynamicBatcher: c closed-loop async clients, each one single-row infer() at a time:
//      req/s, p50/p99 ms, the batch sizes it ran (batcher.stats)
// Prints markdown tables; writes $OUT/gpu-results.json (after every phase) when OUT is set.
//   node bench/ml/gpu.mjs [--devices=cuda,cpu] [--quick] [--budget=S] [--widths=1024,4096,4096,1000]
//        [--conc=1,16,64,256] [--max-batch=32,256] [--sizes=1,2,4] [--check-only]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const { OnnxModel } = await import(join(ROOT, 'dist/ml/model.js'));
const { DynamicBatcher } = await import(join(ROOT, 'dist/ml/batcher.js'));
const { writeMlp, seededMlp, mlpReference } = await import(join(ROOT, 'dist/ml/onnx-writer.js'));

const argv = process.argv.slice(2);
const opt = (k, d) => {
  const a = argv.find((x) => x === `--${k}` || x.startsWith(`--${k}=`));
  return a === undefined ? d : a.includes('=') ? a.slice(a.indexOf('=') + 1) : 'true';
};
const nums = (s) => String(s).split(',').filter(Boolean).map(Number);
const QUICK = opt('quick', 'false') === 'true';
const CHECK_ONLY = opt('check-only', 'false') === 'true';
const DEVICES = opt('devices', 'cuda,cpu').split(',');
const WIDTHS = nums(opt('widths', '1024,4096,4096,1000'));
const BUDGET_S = Number(opt('budget', QUICK ? 120 : 220)); // the whole run; phases past it are skipped
const TOL = 1e-3;

// What each device runs (CPU: fewer sizes, shorter; --quick: a smoke test).
const PLAN = {
  cuda: QUICK
    ? { sizes: [1, 8, 64], warmup: 2, minRuns: 3, maxRuns: 20, sizeS: 0.5, maxBatch: [32], conc: [1, 16, 64], loopS: 1, warmS: 0.2 }
    : { sizes: [1, 2, 4, 8, 16, 32, 64, 128, 256], warmup: 5, minRuns: 5, maxRuns: 300, sizeS: 2, maxBatch: [32, 256], conc: [1, 16, 64, 256], loopS: 3, warmS: 0.5 },
  cpu: QUICK
    ? { sizes: [1, 8, 64], warmup: 1, minRuns: 3, maxRuns: 10, sizeS: 0.5, maxBatch: [32], conc: [1, 16, 64], loopS: 1, warmS: 0.2 }
    : { sizes: [1, 4, 16, 64, 256], warmup: 2, minRuns: 3, maxRuns: 50, sizeS: 1.5, maxBatch: [32, 256], conc: [1, 16, 64, 256], loopS: 2, warmS: 0.3 },
};
for (const d of Object.keys(PLAN)) {
  if (opt('sizes')) PLAN[d].sizes = nums(opt('sizes'));
  if (opt('conc')) PLAN[d].conc = nums(opt('conc'));
  if (opt('max-batch')) PLAN[d].maxBatch = nums(opt('max-batch'));
}

const T0 = performance.now();
const elapsed = () => (performance.now() - T0) / 1000;
const left = () => BUDGET_S - elapsed();
const log = (...a) => console.log(`[${elapsed().toFixed(1).padStart(6)} s]`, ...a);
const firstLine = (e) => String(e?.message ?? e).split('\n')[0].slice(0, 300);

const results = { meta: {}, check: {}, devices: {}, notes: [] };
const OUT = process.env.OUT;
const save = () => {
  results.meta.elapsedS = Number(elapsed().toFixed(1));
  if (!OUT) return;
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'gpu-results.json'), JSON.stringify(results, null, 2));
};

// ---- the model -----------------------------------------------------------------------
const IN = WIDTHS[0];
const params = WIDTHS.slice(1).reduce((s, w, i) => s + WIDTHS[i] * w + w, 0);
const flopsPerRow = 2 * WIDTHS.slice(1).reduce((s, w, i) => s + WIDTHS[i] * w, 0);
let spec;
let bytes;
{
  const t = performance.now();
  try {
    spec = seededMlp(WIDTHS, 7);
    bytes = writeMlp(spec);
  } catch (e) {
    console.error(`writeMlp failed for ${WIDTHS.join('→')}: ${e?.stack ?? e}`);
    process.exit(1);
  }
  if (!CHECK_ONLY) log(`model ${WIDTHS.join('→')}: ${(params / 1e6).toFixed(2)} M parameters, ${(bytes.length / 2 ** 20).toFixed(1)} MiB ONNX, ${(flopsPerRow / 1e6).toFixed(1)} MFLOP/row, written in ${(performance.now() - t).toFixed(0)} ms`);
}

// Deterministic inputs in [-1, 1).
function randomRows(rows, seed) {
  let s = (seed * 2654435761) >>> 0 || 1;
  const a = new Float32Array(rows * IN);
  for (let i = 0; i < a.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    a[i] = (s / 0x100000000) * 2 - 1;
  }
  return a;
}
const feed = (data, rows) => ({ input: { type: 'float32', data, dims: [rows, IN] } });
const outOf = (r) => r.output.data;

/** max|a-b| / max|b|, and the largest elementwise |a-b|/|b| where |b| ≥ 1e-2·max|b|. */
function compare(a, b) {
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < b.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(b[i]));
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  }
  let maxElem = 0;
  for (let i = 0; i < b.length; i++) {
    if (Math.abs(b[i]) >= 1e-2 * maxAbs) maxElem = Math.max(maxElem, Math.abs(a[i] - b[i]) / Math.abs(b[i]));
  }
  const rel = maxAbs === 0 ? maxDiff : maxDiff / maxAbs;
  return { rel: Number(rel.toExponential(3)), maxElemRel: Number(maxElem.toExponential(3)), maxAbsDiff: Number(maxDiff.toExponential(3)), maxAbs: Number(maxAbs.toPrecision(4)), pass: rel <= TOL, n: b.length };
}

async function load(device) {
  try {
    const m = await OnnxModel.load(`mlp-${device}`, bytes, { device });
    return { model: m };
  } catch (e) {
    return { error: `${e?.code ?? 'error'}: ${firstLine(e)}` };
  }
}

// ---- --check-only: CUDA vs CPU, one JSON line (the TF32 re-check runs this in a child) --
const CHECK_ROWS = 64;
const checkInput = randomRows(CHECK_ROWS, 99);
if (CHECK_ONLY) {
  const cpu = await load('cpu');
  const cuda = await load('cuda');
  if (cpu.error || cuda.error) {
    console.log(`CHECK ${JSON.stringify({ error: cpu.error ?? cuda.error })}`);
    process.exit(0);
  }
  const ref = outOf(await cpu.model.run(feed(checkInput, CHECK_ROWS)));
  const got = outOf(await cuda.model.run(feed(checkInput, CHECK_ROWS)));
  console.log(`CHECK ${JSON.stringify({ ...compare(got, ref), tf32Override: process.env.NVIDIA_TF32_OVERRIDE ?? null })}`);
  process.exit(0);
}

// ---- meta ----------------------------------------------------------------------------
{
  const req = createRequire(join(ROOT, 'dist/ml/model.js'));
  let ortVersion = null;
  try { ortVersion = req('onnxruntime-node/package.json').version; } catch {}
  let gpu = null;
  try {
    gpu = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { timeout: 15000, encoding: 'utf8' }).trim();
  } catch (e) {
    gpu = `nvidia-smi: ${firstLine(e)}`;
  }
  results.meta = {
    started: new Date().toISOString(), node: process.version, onnxruntimeNode: ortVersion, gpu,
    cpu: cpus()[0]?.model ?? null, cpus: availableParallelism(), memGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    ldLibraryPath: process.env.LD_LIBRARY_PATH ?? null, quick: QUICK, budgetS: BUDGET_S,
    model: { widths: WIDTHS, params, onnxBytes: bytes.length, flopsPerRow }, plan: Object.fromEntries(DEVICES.map((d) => [d, PLAN[d]])),
  };
  log(`node ${process.version}, onnxruntime-node ${ortVersion}, ${availableParallelism()} CPUs (${results.meta.cpu}), GPU: ${gpu}`);
  save();
}

// ---- benchmarks ----------------------------------------------------------------------
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const r3 = (x) => Number(x.toPrecision(4));

async function sweep(model, plan, device) {
  const rows = [];
  for (const b of plan.sizes) {
    if (left() < 20) {
      results.notes.push(`${device} sweep: batch ${b} and up skipped (budget)`);
      log(`${device}: out of budget, sweep stops before batch ${b}`);
      break;
    }
    const inp = feed(randomRows(b, b), b);
    for (let i = 0; i < plan.warmup; i++) await model.run(inp);
    const times = [];
    const start = performance.now();
    while (times.length < plan.maxRuns && (times.length < plan.minRuns || performance.now() - start < plan.sizeS * 1000)) {
      const t = performance.now();
      await model.run(inp);
      times.push(performance.now() - t);
    }
    const med = median(times);
    const total = times.reduce((s, x) => s + x, 0);
    const row = {
      batch: b, runs: times.length, msMedian: r3(med), msMin: r3(Math.min(...times)), msMax: r3(Math.max(...times)),
      rowsPerSec: Math.round(b / (med / 1000)), rowsPerSecMean: Math.round((b * times.length) / (total / 1000)),
      tflops: r3((b / (med / 1000)) * flopsPerRow / 1e12),
    };
    rows.push(row);
    log(`${device} batch ${String(b).padStart(3)}: ${row.msMedian} ms/run (median of ${row.runs}), ${row.rowsPerSec} rows/s, ${row.tflops} TFLOP/s`);
  }
  return rows;
}

async function closedLoop(model, device, maxBatch, c, plan) {
  const batcher = new DynamicBatcher((inputs) => model.run(inputs), { maxBatchSize: maxBatch, maxQueue: Math.max(1024, 2 * c) });
  const pool = Array.from({ length: 64 }, (_, i) => feed(randomRows(1, 1000 + i), 1));
  const tStart = performance.now();
  const tWarm = tStart + plan.warmS * 1000;
  const tEnd = tWarm + plan.loopS * 1000;
  const lat = [];
  let errors = 0;
  let firstError = null;
  let snap = null;
  const client = async (k) => {
    for (let i = k; ; i++) {
      const t = performance.now();
      if (t >= tEnd) return;
      try {
        const out = await batcher.infer(pool[i % pool.length]);
        if (out.output.dims[0] !== 1) throw new Error(`got ${out.output.dims[0]} rows for 1`);
      } catch (e) {
        errors++;
        firstError ??= firstLine(e);
        return;
      }
      const t2 = performance.now();
      if (snap === null && t2 >= tWarm) snap = { batches: batcher.stats.batches, requests: batcher.stats.requests, computeMs: batcher.stats.computeMs, queueMs: batcher.stats.queueMs, sizes: { ...batcher.stats.batchSizes } };
      if (t >= tWarm && t2 <= tEnd) lat.push(t2 - t);
    }
  };
  await Promise.all(Array.from({ length: c }, (_, k) => client(k)));
  const st = batcher.stats;
  snap ??= { batches: 0, requests: 0, computeMs: 0, queueMs: 0, sizes: {} };
  const hist = {};
  for (const [size, n] of Object.entries(st.batchSizes)) {
    const d = n - (snap.sizes[size] ?? 0);
    if (d > 0) hist[size] = d;
  }
  const batches = st.batches - snap.batches;
  const reqs = st.requests - snap.requests;
  lat.sort((x, y) => x - y);
  const row = {
    device, maxBatch, c, seconds: plan.loopS, done: lat.length, reqPerSec: Math.round(lat.length / plan.loopS),
    p50ms: lat.length ? r3(pct(lat, 50)) : null, p99ms: lat.length ? r3(pct(lat, 99)) : null,
    meanBatch: batches ? r3(reqs / batches) : null, msPerBatch: batches ? r3((st.computeMs - snap.computeMs) / batches) : null,
    queueMsPerReq: reqs ? r3((st.queueMs - snap.queueMs) / reqs) : null, batchSizes: hist,
    refused: st.refused, errors, firstError,
  };
  log(`${device} batcher max=${maxBatch} c=${String(c).padStart(3)}: ${row.reqPerSec} req/s, p50 ${row.p50ms} ms, p99 ${row.p99ms} ms, mean batch ${row.meanBatch}${errors ? `, ${errors} errors: ${firstError}` : ''}`);
  return row;
}

// CPU first: it is the reference of the correctness check.
const cpuLoad = await load('cpu');
if (cpuLoad.error) {
  console.error(`the CPU session did not load: ${cpuLoad.error}`);
  results.notes.push(`cpu load failed: ${cpuLoad.error}`);
  save();
  process.exit(1);
}
const cpu = cpuLoad.model;
log(cpu.loadLine);
{
  const x = randomRows(2, 5);
  const got = outOf(await cpu.run(feed(x, 2)));
  results.check.cpuVsReference = compare(got, mlpReference(spec, x, 2));
  log(`check: CPU vs float64 reference (2 rows): max|Δ|/max|ref| = ${results.check.cpuVsReference.rel} → ${results.check.cpuVsReference.pass ? 'PASS' : 'FAIL'}`);
}
const cpuCheckOut = outOf(await cpu.run(feed(checkInput, CHECK_ROWS)));
save();

for (const device of DEVICES) {
  if (!PLAN[device]) {
    results.notes.push(`unknown device ${device} skipped`);
    continue;
  }
  const entry = (results.devices[device] = {});
  let model = cpu;
  if (device !== 'cpu') {
    const l = await load(device);
    if (l.error) {
      entry.skipped = l.error;
      log(`${device}: SKIPPED, the execution provider did not load: ${l.error}`);
      save();
      continue;
    }
    model = l.model;
    log(model.loadLine);
    const c = (results.check[`${device}VsCpu`] = compare(outOf(await model.run(feed(checkInput, CHECK_ROWS))), cpuCheckOut));
    log(`check: ${device} vs CPU (${CHECK_ROWS} rows): max|Δ|/max|cpu| = ${c.rel} (elementwise ≤ ${c.maxElemRel}) → ${c.pass ? 'PASS' : 'FAIL'} (tolerance ${TOL})`);
    if (!c.pass && device === 'cuda' && process.env.NVIDIA_TF32_OVERRIDE !== '0') {
      // TF32 (onnxruntime's CUDA default, not settable from onnxruntime-node) rounds inputs to 10 bits.
      const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--check-only', `--widths=${WIDTHS.join(',')}`],
        { env: { ...process.env, NVIDIA_TF32_OVERRIDE: '0' }, encoding: 'utf8', timeout: 120000 });
      const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('CHECK '));
      results.check.cudaVsCpuNoTf32 = line ? JSON.parse(line.slice(6)) : { error: `child: ${firstLine(r.error ?? r.stderr)}` };
      const n = results.check.cudaVsCpuNoTf32;
      log(`check: cuda vs CPU with NVIDIA_TF32_OVERRIDE=0: ${n.error ?? `${n.rel} → ${n.pass ? 'PASS' : 'FAIL'}`}`);
    }
    save();
  }
  entry.load = { ms: Math.round(model.loadMs), line: model.loadLine };
  const plan = PLAN[device];
  entry.sweep = await sweep(model, plan, device);
  save();
  entry.batcher = [];
  for (const maxBatch of plan.maxBatch) {
    for (const c of plan.conc) {
      if (left() < plan.loopS + plan.warmS + 10) {
        results.notes.push(`${device} batcher max=${maxBatch} c=${c} skipped (budget)`);
        log(`${device}: out of budget, batcher max=${maxBatch} c=${c} skipped`);
        continue;
      }
      entry.batcher.push(await closedLoop(model, device, maxBatch, c, plan));
      save();
    }
  }
  if (model !== cpu) await model.release();
}

// ---- tables --------------------------------------------------------------------------
const lines = [];
lines.push(`\n## ONNX MLP ${WIDTHS.join('→')} (${(params / 1e6).toFixed(1)} M params, ${(flopsPerRow / 1e6).toFixed(1)} MFLOP/row); node ${process.version}, onnxruntime-node ${results.meta.onnxruntimeNode}; GPU: ${results.meta.gpu}; ${results.meta.cpus} CPUs\n`);
const ck = results.check;
lines.push(`Correctness: CPU vs float64 reference ${ck.cpuVsReference.rel} (${ck.cpuVsReference.pass ? 'pass' : 'FAIL'})` +
  (ck.cudaVsCpu ? `; CUDA vs CPU ${ck.cudaVsCpu.rel} (${ck.cudaVsCpu.pass ? 'pass' : 'FAIL'}, tolerance ${TOL})` : '; CUDA vs CPU: not run') +
  (ck.cudaVsCpuNoTf32 ? `; with NVIDIA_TF32_OVERRIDE=0: ${ck.cudaVsCpuNoTf32.rel ?? ck.cudaVsCpuNoTf32.error} (${ck.cudaVsCpuNoTf32.pass ? 'pass' : 'FAIL'})` : '') + '\n');
for (const [device, e] of Object.entries(results.devices)) {
  if (e.skipped) {
    lines.push(`**${device}**: skipped: ${e.skipped}\n`);
    continue;
  }
  lines.push(`### ${device}: offline (OnnxModel.run, one batch at a time)\n`);
  lines.push('| batch | ms/run (median) | runs | rows/s | TFLOP/s |');
  lines.push('| ---: | ---: | ---: | ---: | ---: |');
  for (const r of e.sweep) lines.push(`| ${r.batch} | ${r.msMedian} | ${r.runs} | ${r.rowsPerSec.toLocaleString('en-US')} | ${r.tflops} |`);
  lines.push(`\n### ${device}: DynamicBatcher, closed loop, single-row requests\n`);
  lines.push('| maxBatch | c | req/s | p50 ms | p99 ms | mean batch | ms/batch | batch sizes (size×batches) |');
  lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of e.batcher) {
    const h = Object.entries(r.batchSizes).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([s, n]) => `${s}×${n}`).join(' ');
    lines.push(`| ${r.maxBatch} | ${r.c} | ${r.reqPerSec.toLocaleString('en-US')} | ${r.p50ms} | ${r.p99ms} | ${r.meanBatch} | ${r.msPerBatch} | ${h}${r.errors ? ` (${r.errors} errors)` : ''} |`);
  }
  lines.push('');
}
if (results.notes.length) lines.push(`Notes: ${results.notes.join('; ')}\n`);
lines.push(`Total ${elapsed().toFixed(1)} s.`);
console.log(lines.join('\n'));
results.markdown = lines.join('\n');
save();
if (OUT) console.log(`wrote ${join(OUT, 'gpu-results.json')}`);
