#!/usr/bin/env node
// Load benchmark of the HTTP server on 127.0.0.1: Conduit (native transport, node:net
// transport) against node:http and fastify, and a C floor (bench/floor/floor-server.c: the
// least a keep-alive server does per request, built with the system compiler when there is
// one), "hello world", with wrk. Run: `node bench/server-load.mjs`
// (needs wrk: `apt-get install wrk`; taskset pins the server to core 0 and wrk to core 1
// when it is there). Bounded: a few 5-second runs against local ports only.
//
// Reported per server: req/s with keep-alive (c=64), the server's CPU time per request
// (utime+stime from /proc/PID/stat over the run / requests), p99, and req/s with 8
// pipelined requests per write. On 2 cores wrk saturates early; CPU per request is the
// fair comparison when it does.
//
// `--baseline=DIR` runs an A/B of this build against another checkout's (see below).
//
// Writes bench/results/server-load.json (not with --all-cores or --baseline). Its scratch files (wrk's
// pipelining script, the --all-cores app and cluster scripts) go to a temporary
// directory, removed at exit.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { benchResult, fmt, machineLine, saveResult } from './lib.mjs';

const DIST = new URL('../dist/index.js', import.meta.url).href;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
if (!has('wrk')) {
  console.error('server-load: wrk is not installed (apt-get install wrk)');
  process.exit(2);
}
const pin = has('taskset');
const TICK = 100; // USER_HZ on Linux
const RESULTS_FILE = fileURLToPath(new URL('./results/server-load.json', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'conduit-bench-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const SERVERS = {
  'Conduit, native transport': `import { createServer } from ${JSON.stringify(DIST)};
const app = createServer({ keepAliveTimeout: 60000, transport: 'native' });
app.get('/', (req, res) => { res.header('Content-Type', 'text/plain').send('hello world'); });
const { port } = await app.listen({ port: 0 }); console.log(port);`,
  'Conduit, node:net transport': `import { createServer } from ${JSON.stringify(DIST)};
const app = createServer({ keepAliveTimeout: 60000, transport: 'net' });
app.get('/', (req, res) => { res.header('Content-Type', 'text/plain').send('hello world'); });
const { port } = await app.listen({ port: 0 }); console.log(port);`,
  'node:http': `import http from 'node:http';
const s = http.createServer((req, res) => { res.setHeader('Content-Type', 'text/plain'); res.end('hello world'); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
};
// fastify (a devDependency), when it is installed.
try {
  const url = pathToFileURL(createRequire(import.meta.url).resolve('fastify')).href;
  SERVERS.fastify = `import Fastify from ${JSON.stringify(url)};
const f = Fastify({ logger: false });
f.get('/', (req, reply) => { reply.type('text/plain').send('hello world'); });
await f.listen({ port: 0, host: '127.0.0.1' }); console.log(f.server.address().port);`;
} catch {
  console.error('server-load: fastify is not installed; measuring without it');
}

const PIPELINE = `init = function(args)
  local r = {}
  for i = 1, 8 do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end
request = function() return req end
`;
const luaFile = path.join(tmp, 'pipeline.lua');
writeFileSync(luaFile, PIPELINE);

/** A process's CPU ticks so far: user and kernel (utime, stime: /proc/PID/stat fields 14, 15). */
const cpuTicks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(f[11]), sys: Number(f[12]) };
};
const addTicks = (a, b) => ({ user: a.user + b.user, sys: a.sys + b.sys });
const subTicks = (a, b) => ({ user: a.user - b.user, sys: a.sys - b.sys });
/**
 * Runs wrk; returns its output and the CPU ticks wrk used (the shell's cutime + cstime once
 * wrk has exited), to show whether the load generator was the limit.
 */
const runWrk = (cmd) => {
  const quoted = cmd.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const out = spawnSync('sh', ['-c', `${quoted}; echo; cat /proc/$$/stat`], { encoding: 'utf8' }).stdout;
  const stat = out.slice(out.lastIndexOf('\n', out.length - 2) + 1).split(') ')[1].split(' ');
  return { out, genTicks: Number(stat[13]) + Number(stat[14]) }; // cutime + cstime (fields 16, 17)
};
const wrk = (args) => runWrk(pin ? ['taskset', '-c', '1', 'wrk', ...args] : ['wrk', ...args]);
const reqPerSec = (out) => Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
const requests = (out) => Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
const p99 = (out) => /\s99%\s+(\S+)/.exec(out)?.[1] ?? '?';

/**
 * The two measured runs against a listening server, each after a 2 s warm-up: keep-alive
 * c=64 and pipelined ×8. `run` runs wrk; `ticks` reads the server's CPU ticks so far.
 */
function loadRuns(name, url, run, ticks) {
  run(['-t1', '-c64', '-d2s', url]);
  let t0 = ticks();
  const ka = run(['-t1', '-c64', `-d${SECONDS}s`, '--latency', url]);
  const kaTicks = subTicks(ticks(), t0);
  run(['-t1', '-c64', '-d2s', '-s', luaFile, url]);
  t0 = ticks();
  const pl = run(['-t1', '-c64', `-d${SECONDS}s`, '-s', luaFile, url]);
  const plTicks = subTicks(ticks(), t0);
  const us = (t, out) => (t / TICK / requests(out)) * 1e6;
  return {
    name,
    keepAlive: reqPerSec(ka.out),
    cpuUsPerReq: us(kaTicks.user + kaTicks.sys, ka.out),
    // The server's CPU per request split into user space (what the server's own code
    // costs) and the kernel (send/recv/epoll: the TCP stack, on loopback both ends' work).
    userUsPerReq: us(kaTicks.user, ka.out),
    kernelUsPerReq: us(kaTicks.sys, ka.out),
    // The load generator's CPU (cores) during the measured run: near 1.0, wrk is the limit.
    wrkCores: ka.genTicks / TICK / SECONDS,
    p99: p99(ka.out),
    pipelined: reqPerSec(pl.out),
    cpuUsPerReqPipelined: us(plTicks.user + plTicks.sys, pl.out),
  };
}

/**
 * The C floor (bench/floor/floor-server.c, built here with the system compiler): what a
 * keep-alive server must do per request on this kernel at the least. Null, with a message,
 * when there is no compiler.
 */
async function measureFloor() {
  if (!has('cc')) {
    console.error('server-load: no C compiler (cc): the C floor is not measured');
    return null;
  }
  const bin = path.join(tmp, 'floor-server');
  const cc = spawnSync('cc', ['-O2', '-o', bin, fileURLToPath(new URL('./floor/floor-server.c', import.meta.url))], { encoding: 'utf8' });
  if (cc.status !== 0) {
    console.error(`server-load: the C floor did not build: ${cc.stderr.trim()}`);
    return null;
  }
  const child = spawn(pin ? 'taskset' : bin, pin ? ['-c', '0', bin] : [], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (c) => reject(new Error(`the C floor exited (${c})`)));
  });
  try {
    return loadRuns('C floor (epoll, one write per read)', `http://127.0.0.1:${port}/`, wrk, () => cpuTicks(child.pid));
  } finally {
    child.kill('SIGKILL');
  }
}

/** The table, with ratios to node:http (and to fastify when it ran). */
function report(rows) {
  const base = rows.find((r) => r.name.startsWith('node:http'));
  const fast = rows.find((r) => r.name.startsWith('fastify'));
  console.log('\n| server | keep-alive req/s | CPU µs/req | user µs/req | kernel µs/req | wrk cores | p99 | pipelined ×8 req/s | CPU µs/req pipelined |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const x = (a, b) => `(${(a / b).toFixed(2)}x)`;
  for (const r of rows) {
    console.log(`| ${r.name} | ${fmt(r.keepAlive, 0)} ${x(r.keepAlive, base.keepAlive)} | ${fmt(r.cpuUsPerReq, 1)} ${x(r.cpuUsPerReq, base.cpuUsPerReq)} | ` +
      `${fmt(r.userUsPerReq, 2)} ${x(r.userUsPerReq, base.userUsPerReq)} | ${fmt(r.kernelUsPerReq, 2)} ${x(r.kernelUsPerReq, base.kernelUsPerReq)} | ` +
      `${fmt(r.wrkCores, 2)} | ${r.p99} | ${fmt(r.pipelined, 0)} ${x(r.pipelined, base.pipelined)} | ${fmt(r.cpuUsPerReqPipelined, 1)} |`);
  }
  const floor = rows.find((r) => r.name.startsWith('C floor'));
  if (floor !== undefined) {
    console.log('\nratios to the C floor (same run): CPU per request (lower is better), pipelined req/s (higher is better):');
    for (const r of rows) {
      if (r === floor) continue;
      console.log(`  ${r.name}: CPU/req ${(r.cpuUsPerReq / floor.cpuUsPerReq).toFixed(2)}x the floor's, pipelined ${(r.pipelined / floor.pipelined).toFixed(2)}x its req/s`);
    }
  }
  if (fast !== undefined) {
    console.log('\nratios to fastify (same run):');
    for (const r of rows) {
      if (r === fast) continue;
      console.log(`  ${r.name}: keep-alive ${(r.keepAlive / fast.keepAlive).toFixed(2)}x, CPU/req ${(r.cpuUsPerReq / fast.cpuUsPerReq).toFixed(2)}x, ` +
        `pipelined ${(r.pipelined / fast.pipelined).toFixed(2)}x`);
    }
  }
}

async function measure(name, source) {
  const args = ['--input-type=module', '-e', source];
  const child = spawn(pin ? 'taskset' : process.execPath, pin ? ['-c', '0', process.execPath, ...args] : args,
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (c) => reject(new Error(`${name} exited (${c})`)));
  });
  const url = `http://127.0.0.1:${port}/`;
  try {
    return loadRuns(name, url, wrk, () => cpuTicks(child.pid));
  } finally {
    child.kill('SIGKILL');
  }
}

// --all-cores: every server with one worker per core, no pinning (wrk shares the cores).
// Conduit: `conduit serve --workers N` (worker_threads, SO_REUSEPORT); node:http and
// fastify: node:cluster with N workers. CPU per request sums the server's processes.
const ALL_CORES = process.argv.includes('--all-cores');
if (ALL_CORES) {
  const N = os.availableParallelism();
  const appFile = path.join(tmp, 'hello-app.mjs');
  writeFileSync(appFile, `export default (app) => { app.get('/', (req, res) => { res.header('Content-Type', 'text/plain').send('hello world'); }); };\n`);
  const cluster = (server) => `import cluster from 'node:cluster';
if (cluster.isPrimary) {
  for (let i = 0; i < ${N}; i++) cluster.fork();
  let up = 0;
  cluster.on('message', (w, port) => { if (++up === ${N}) console.log(port); });
} else {
  ${server}
}`;
  const fastifyUrl = SERVERS.fastify === undefined ? null : pathToFileURL(createRequire(import.meta.url).resolve('fastify')).href;
  const ALL = {
    [`Conduit, native transport, ${N} workers`]: { cmd: [process.execPath, fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)), 'serve', '--workers', String(N), '--port', 'PORT', '--config', appFile] },
    [`node:http, cluster of ${N}`]: { src: cluster(`const http = await import('node:http');
  const s = http.createServer((req, res) => { res.setHeader('Content-Type', 'text/plain'); res.end('hello world'); });
  s.listen(PORT, '127.0.0.1', () => process.send(PORT));`) },
    ...(fastifyUrl === null ? {} : { [`fastify, cluster of ${N}`]: { src: cluster(`const { default: Fastify } = await import(${JSON.stringify(fastifyUrl)});
  const f = Fastify({ logger: false });
  f.get('/', (req, reply) => { reply.type('text/plain').send('hello world'); });
  await f.listen({ port: PORT, host: '127.0.0.1' }); process.send(PORT);`) } }),
  };
  const freePort = () => new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
  const treeTicks = (pid) => {
    let t = cpuTicks(pid);
    const kids = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const k of kids) t = addTicks(t, treeTicks(Number(k)));
    return t;
  };
  const wrkFree = (args) => runWrk(['wrk', ...args]);
  console.log(`${machineLine()}; all cores: ${N} workers per server, wrk -t1 -c64 -d${SECONDS}s, no pinning (wrk shares the cores)`);
  const out = [];
  for (const [name, spec] of Object.entries(ALL)) {
    const port = await freePort();
    const child = spec.cmd !== undefined
      ? spawn(spec.cmd[0], spec.cmd.slice(1).map((a) => (a === 'PORT' ? String(port) : a)), { stdio: ['ignore', 'pipe', 'inherit'] })
      : (() => {
        // (cluster workers re-run the primary's script: it must be a file)
        const file = path.join(tmp, `cluster-${port}.mjs`);
        writeFileSync(file, spec.src.replaceAll('PORT', String(port)));
        return spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
      })();
    await new Promise((resolve, reject) => {
      child.stdout.once('data', resolve);
      child.once('exit', (c) => reject(new Error(`${name} exited (${c})`)));
    });
    const url = `http://127.0.0.1:${port}/`;
    try {
      out.push(loadRuns(name, url, wrkFree, () => treeTicks(child.pid)));
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGKILL');
    }
  }
  report(out);
  process.exit(0);
}

console.log(`${machineLine()}; wrk -t1 -c64 -d${SECONDS}s${pin ? '; server on core 0, wrk on core 1' : ''}`);
// --baseline=DIR: an A/B of Conduit against another build of it (DIR: a checkout with
// dist/ built, e.g. a `git worktree` of the previous commit). Only the two Conduit servers,
// this build and the baseline alternating, ROUNDS times each, so that drift in the
// machine's speed falls on both alike; the table gives every round, then the medians.
const baselineArg = process.argv.find((a) => a.startsWith('--baseline='));
if (baselineArg !== undefined) {
  const base = pathToFileURL(path.resolve(baselineArg.slice('--baseline='.length), 'dist/index.js')).href;
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
  const builds = { this: DIST, baseline: base };
  const runs = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const transport of ['native', 'net']) {
      for (const [build, dist] of Object.entries(builds)) {
        const source = SERVERS[`Conduit, ${transport === 'native' ? 'native' : 'node:net'} transport`].replace(JSON.stringify(DIST), JSON.stringify(dist));
        runs.push({ build, transport, round, ...(await measure(`${build}, ${transport}`, source)) });
      }
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`\nA/B against ${base} (${ROUNDS} alternating rounds; medians)`);
  console.log('| transport | build | keep-alive req/s | CPU µs/req | user µs/req | kernel µs/req | pipelined ×8 req/s | CPU µs/req pipelined |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  const medians = {};
  for (const transport of ['native', 'net']) {
    for (const build of Object.keys(builds)) {
      const rs = runs.filter((r) => r.build === build && r.transport === transport);
      const m = Object.fromEntries(['keepAlive', 'cpuUsPerReq', 'userUsPerReq', 'kernelUsPerReq', 'pipelined', 'cpuUsPerReqPipelined']
        .map((k) => [k, median(rs.map((r) => r[k]))]));
      medians[`${transport} ${build}`] = m;
      const each = (k, d) => rs.map((r) => fmt(r[k], d)).join(' / ');
      console.log(`| ${transport} | ${build} | ${fmt(m.keepAlive, 0)} (${each('keepAlive', 0)}) | ${fmt(m.cpuUsPerReq, 1)} | ` +
        `${fmt(m.userUsPerReq, 2)} (${each('userUsPerReq', 2)}) | ${fmt(m.kernelUsPerReq, 2)} | ${fmt(m.pipelined, 0)} | ${fmt(m.cpuUsPerReqPipelined, 1)} |`);
    }
    // The least disturbed round of each (the machine's speed drifts: its lowest CPU cost
    // per request is the steadiest figure).
    const least = (build, k) => Math.min(...runs.filter((r) => r.build === build && r.transport === transport).map((r) => r[k]));
    console.log(`| ${transport} | this / baseline, best rounds | | ${(least('this', 'cpuUsPerReq') / least('baseline', 'cpuUsPerReq')).toFixed(2)}x | ` +
      `${(least('this', 'userUsPerReq') / least('baseline', 'userUsPerReq')).toFixed(2)}x | | | ` +
      `${(least('this', 'cpuUsPerReqPipelined') / least('baseline', 'cpuUsPerReqPipelined')).toFixed(2)}x |`);
    const a = medians[`${transport} this`];
    const b = medians[`${transport} baseline`];
    console.log(`| ${transport} | this / baseline | ${(a.keepAlive / b.keepAlive).toFixed(2)}x | ${(a.cpuUsPerReq / b.cpuUsPerReq).toFixed(2)}x | ` +
      `${(a.userUsPerReq / b.userUsPerReq).toFixed(2)}x | ${(a.kernelUsPerReq / b.kernelUsPerReq).toFixed(2)}x | ` +
      `${(a.pipelined / b.pipelined).toFixed(2)}x | ${(a.cpuUsPerReqPipelined / b.cpuUsPerReqPipelined).toFixed(2)}x |`);
  }
  process.exit(0);
}

const rows = [];
for (const [name, source] of Object.entries(SERVERS)) rows.push(await measure(name, source));
const floor = await measureFloor();
if (floor !== null) rows.push(floor);
report(rows);
saveResult(RESULTS_FILE, benchResult('server-load', { seconds: SECONDS, pinned: pin }, { rows }), {}, console.log);
