#!/usr/bin/env node
// ONNX inference over HTTP (KServe v2 JSON), side by side in one run:
//   conduit:   conduit serve --model tiny=... --model mid=... --workers 1 (batching in its
//              inference worker)
//   unbatched: bench/ml/unbatched-peer.mjs (node:http + onnxruntime-node, one run() a request)
//   offline:   the same session running batch-32 in a loop, in process (the ceiling, rows/s)
// Models (written by Conduit's ONNX writer, nothing downloaded): tiny 16→32→4 and mid
// 256→1024→10. Load: single-row infer requests with wrk (pinned to CPU 1; servers to CPU 0),
// c=1,16,64. Reports req/s, p50/p99, server CPU µs per request, and ratios. Loads 127.0.0.1 only.
//   node bench/ml/load.mjs [--duration=S] [--conns=1,16,64] [--models=tiny,mid]
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const ROOT = new URL('../../', import.meta.url).pathname;
const { writeMlp, seededMlp } = await import(join(ROOT, 'dist/ml/onnx-writer.js'));
const opt = (k, d) => (process.argv.find((a) => a.startsWith(`--${k}=`)) ?? `--${k}=${d}`).split('=')[1];
const DURATION = Number(opt('duration', 5));
const CONNS = opt('conns', '1,16,64').split(',').map(Number);
const MODELS = { tiny: [16, 32, 4], mid: [256, 1024, 10] };
const WANT = opt('models', 'tiny,mid').split(',');
const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString());

const dir = mkdtempSync(join(tmpdir(), 'conduit-ml-bench-'));
const paths = {};
for (const [name, widths] of Object.entries(MODELS)) {
  paths[name] = join(dir, `${name}.onnx`);
  writeFileSync(paths[name], writeMlp(seededMlp(widths, 7)));
}

const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK; // utime + stime, s (threads included)
};
const free = () => new Promise((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
async function ready(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => { const c = net.connect(port, '127.0.0.1', () => { c.destroy(); r(true); }); c.on('error', () => r(false)); });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never opened`);
}

function luaFor(name) {
  const width = MODELS[name][0];
  const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, width], data: Array.from({ length: width }, (_, i) => ((i % 17) - 8) / 8) }] });
  const file = join(dir, `${name}.lua`);
  writeFileSync(file, `wrk.method = "POST"\nwrk.body = '${body}'\nwrk.headers["Content-Type"] = "application/json"\n` +
    'done = function(summary, latency, requests)\n  io.write(string.format("LAT %f %f %d %d\\n", latency:percentile(50)/1000, latency:percentile(99)/1000, summary.requests, summary.errors.status))\nend\n');
  return file;
}

function wrk(port, name, c, seconds) {
  const out = execFileSync('taskset', ['-c', '1', 'wrk', `-t${c === 1 ? 1 : 2}`, `-c${c}`, `-d${seconds}s`, '-s', luaFor(name), `http://127.0.0.1:${port}/v2/models/${name}/infer`]).toString();
  const m = /LAT ([\d.]+) ([\d.]+) (\d+) (\d+)/.exec(out);
  return { p50: Number(m[1]), p99: Number(m[2]), requests: Number(m[3]), non2xx: Number(m[4]) };
}

async function measure(target, argsFor) {
  const port = await free();
  const child = spawn('taskset', ['-c', '0', process.execPath, ...argsFor(port)], { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
  await ready(port);
  const rows = [];
  try {
    for (const name of WANT) {
      wrk(port, name, 16, 1); // warm: loads the model, JIT
      for (const c of CONNS) {
        const t0 = cpu(child.pid);
        const r = wrk(port, name, c, DURATION);
        const used = cpu(child.pid) - t0;
        rows.push({ target, model: name, c, rps: r.requests / DURATION, p50: r.p50, p99: r.p99, cpuUs: (used * 1e6) / r.requests, non2xx: r.non2xx });
        console.error(`${target} ${name} c=${c}: ${(r.requests / DURATION).toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${((used * 1e6) / r.requests).toFixed(1)} µs CPU/req${r.non2xx ? `, ${r.non2xx} non-2xx!` : ''}`);
      }
    }
    if (target === 'conduit') {
      const stats = await (await fetch(`http://127.0.0.1:${port}/v2/models/${WANT[0]}/stats`)).json();
      console.error(`conduit batch sizes (${WANT[0]}): ${JSON.stringify(stats.model_stats[0].stats.batchSizes)}`);
    }
  } finally {
    child.kill('SIGKILL');
  }
  return rows;
}

async function offline(name) {
  const s = await ort.InferenceSession.create(paths[name], { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const w = MODELS[name][0];
  const x = new ort.Tensor('float32', new Float32Array(32 * w).fill(0.5), [32, w]);
  for (let i = 0; i < 50; i++) await s.run({ input: x });
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 2000) {
    await s.run({ input: x });
    n++;
  }
  return (n * 32) / ((performance.now() - t0) / 1000);
}

const conduit = await measure('conduit', (port) => ['dist/cli/main.js', 'serve', '--port', String(port), '--workers', '1', '--device', 'cpu',
  ...WANT.map((n) => ['--model', `${n}=${paths[n]}`]).flat()]);
const peer = await measure('unbatched', (port) => ['bench/ml/unbatched-peer.mjs', `--port=${port}`, ...WANT.map((n) => `${n}=${paths[n]}`)]);
const ceiling = {};
for (const n of WANT) ceiling[n] = await offline(n);

console.log(`\nKServe v2 single-row infer, ${DURATION} s per level; server pinned to core 0, wrk to core 1; node ${process.version}, onnxruntime-node ${ort.env.versions.node}\n`);
console.log('| model | c | conduit req/s | unbatched req/s | ratio | conduit p50 / p99 ms | unbatched p50 / p99 ms | conduit CPU µs/req | unbatched CPU µs/req | conduit ÷ offline batch-32 |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const a of conduit) {
  const b = peer.find((x) => x.model === a.model && x.c === a.c);
  console.log(`| ${a.model} | ${a.c} | ${a.rps.toFixed(0)} | ${b.rps.toFixed(0)} | ×${(a.rps / b.rps).toFixed(2)} | ${a.p50.toFixed(2)} / ${a.p99.toFixed(2)} | ${b.p50.toFixed(2)} / ${b.p99.toFixed(2)} | ${a.cpuUs.toFixed(1)} | ${b.cpuUs.toFixed(1)} | ${((a.rps / ceiling[a.model]) * 100).toFixed(0)}% |`);
}
console.log(`\noffline batch-32 (one thread, in process): ${WANT.map((n) => `${n} ${ceiling[n].toFixed(0)} rows/s`).join(', ')}`);
