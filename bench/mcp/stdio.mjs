#!/usr/bin/env node
// MCP over stdio: messages/s and server CPU per message, Conduit against the official
// @modelcontextprotocol/sdk 1.x (bench/mcp/sdk-peer.mjs --stdio), side by side, as ratios.
// Local pipes only; bounded (N messages per round, a 60 s watchdog per round).
//
//   node bench/mcp/stdio.mjs                        both targets, 20,000 calls x 3 rounds
//   node bench/mcp/stdio.mjs --target=sdk --n=50000 --window=256 --batch=32
//   node bench/mcp/stdio.mjs --json[=FILE]          also write JSON (default bench/mcp/results/stdio.json)
//
// Options:
//   --target=sdk|conduit|both   (default both; each target is its own server process)
//   --n=N                       tools/call requests per measured round (default 20000)
//   --rounds=R                  measured rounds; the median round (by msgs/s) is reported (default 3)
//   --warmup=N                  unmeasured calls first (default 10000)
//   --window=W                  most requests in flight (default 256)
//   --batch=B                   refill the window only when B slots are free, writing B+ lines in
//                               one write (default 32)
//
// Targets (the server pinned to CPU 0 with taskset, this client to CPU 1):
//   sdk:     node bench/mcp/sdk-peer.mjs --stdio
//   conduit: node dist/cli/main.js serve --stdio   (CONDUIT_STDIO_ARGS="..." appends arguments)
//            (CONDUIT_MAIN=/path/to/dist/cli/main.js: another Conduit build)
// "server busy" = server CPU / wall time: below ~90% the client (or other load on the
// machine) limited msgs/s, and CPU µs/msg is the figure to compare.
//
// Per target: initialize (id 0) and notifications/initialized, then tools/call echo
// {"message":"hello"} with ids 1..N, newline-delimited JSON on stdin, responses read on
// stdout, matched by id (every id must be answered once, with text "hello"; anything
// else is an error, reported loudly, exit code 1). msgs/s = N / wall time from the first
// write to the last answer. CPU µs/msg = the server's utime+stime delta (/proc/PID/stat,
// CLK_TCK ticks) / N.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
// Conduit's CLI: this checkout's build, or another build's main.js (CONDUIT_MAIN=/path/to/dist/cli/main.js).
import {
  CLK_TCK, CONDUIT_MAIN, ECHO_CALL, HERE, INITIALIZE, INITIALIZED, PIN, cpuTicks, envArgs, errorCell, finish, fmtF, fmtN,
  killChildrenOnExit, makeDie, parseOptions, runTargets, sdkVersion, spawnPinned, stopChild, targetNames,
} from './common.mjs';

const die = makeDie('mcp-stdio');

const o = parseOptions(process.argv.slice(2), {
  scriptUrl: import.meta.url, die, jsonName: 'stdio.json', numbers: ['n', 'rounds', 'warmup', 'window', 'batch'],
  defaults: { target: 'both', n: 20_000, rounds: 3, warmup: 10_000, window: 256, batch: 32, json: null },
});
for (const k of ['n', 'rounds', 'window', 'batch']) if (!Number.isInteger(o[k]) || o[k] < 1) die(`--${k} must be a positive integer`);
if (!Number.isInteger(o.warmup) || o.warmup < 0) die('--warmup must be an integer >= 0');
if (o.n > 10_000_000 || o.rounds > 20) die('--n at most 10,000,000 and --rounds at most 20');
o.batch = Math.min(o.batch, o.window);

// Children still running when this process is stopped (Ctrl-C, timeout) are killed with it.
killChildrenOnExit();

// This process (the client) on CPU 1, the server on CPU 0.
if (PIN) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

const TARGETS = {
  sdk: () => [path.join(HERE, 'sdk-peer.mjs'), '--stdio'],
  conduit: () => [CONDUIT_MAIN, 'serve', '--stdio', ...envArgs('CONDUIT_STDIO_ARGS')],
};

/**
 * A stdio MCP connection: newline-delimited JSON-RPC. `onMessage` gets each parsed line;
 * lines that are not JSON are counted (a server must not print anything else on stdout).
 */
function startServer(name) {
  const { child, printable } = spawnPinned(TARGETS[name](), ['pipe', 'pipe', 'pipe']);
  const conn = { child, printable, stderr: '', junk: [], exited: null, onMessage: () => {}, onExit: () => {} };
  child.stderr.on('data', (d) => { conn.stderr = (conn.stderr + d).slice(-4000); });
  child.stdin.on('error', () => { /* EPIPE when it dies: reported by exit */ });
  child.once('error', (e) => { conn.exited = { error: e }; conn.onExit(); });
  child.once('exit', (code, signal) => { conn.exited = { code, signal }; conn.onExit(); });
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buf += chunk;
    let start = 0;
    for (let nl = buf.indexOf('\n', start); nl >= 0; nl = buf.indexOf('\n', start)) {
      const line = buf.slice(start, nl);
      start = nl + 1;
      if (line.trim() === '') continue;
      let msg;
      try { msg = JSON.parse(line); } catch { if (conn.junk.length < 5) conn.junk.push(line.slice(0, 200)); continue; }
      conn.onMessage(msg);
    }
    buf = buf.slice(start);
  });
  conn.send = (s) => child.stdin.write(s);
  conn.stop = async () => {
    if (conn.exited) return;
    child.stdin.end();
    await stopChild(child);
  };
  return conn;
}

const why = (conn) => `${conn.exited ? `server exited (${JSON.stringify(conn.exited)}); ` : ''}stderr: ${conn.stderr.trim() || '(none)'}` +
  (conn.junk.length ? `; non-JSON stdout: ${JSON.stringify(conn.junk)}` : '');

function request(conn, msg, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer to ${msg.method} within ${timeoutMs} ms; ${why(conn)}`)), timeoutMs);
    conn.onMessage = (m) => { if (m.id === msg.id) { clearTimeout(t); resolve(m); } };
    conn.onExit = () => { clearTimeout(t); reject(new Error(`during ${msg.method}: ${why(conn)}`)); };
    conn.send(JSON.stringify(msg) + '\n');
  });
}

const callLine = (id) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}\n`;

/** Pipelines tools/call with ids first..first+n-1; resolves with wall time and check counts. */
function pipeline(conn, first, n) {
  return new Promise((resolve, reject) => {
    const seen = new Uint8Array(n);
    let sent = 0, answered = 0, dup = 0, unknown = 0, bad = 0, sample = null;
    const fill = () => {
      const room = Math.min(o.window - (sent - answered), n - sent);
      if (room <= 0 || (room < o.batch && sent + room < n)) return;
      let s = '';
      for (let i = 0; i < room; i++) s += callLine(first + sent + i);
      sent += room;
      conn.send(s);
    };
    const watchdog = setTimeout(() => reject(new Error(`round not done in 60 s (${answered}/${n} answered); ${why(conn)}`)), 60_000);
    conn.onExit = () => { clearTimeout(watchdog); reject(new Error(`after ${answered}/${n} answers: ${why(conn)}`)); };
    conn.onMessage = (m) => {
      const k = typeof m.id === 'number' ? m.id - first : -1;
      if (k < 0 || k >= n) { unknown++; return; }
      if (seen[k]) { dup++; return; }
      seen[k] = 1;
      answered++;
      if (m.result?.content?.[0]?.text !== 'hello' || m.result.isError) { bad++; if (!sample) sample = m; }
      if (answered === n) {
        const wall = performance.now() - t0;
        clearTimeout(watchdog);
        resolve({ wall_ms: wall, dup, unknown, bad, sample });
      } else fill();
    };
    const t0 = performance.now();
    fill();
  });
}

async function benchTarget(name) {
  const conn = startServer(name);
  console.error(`\n== ${name}: ${conn.printable} (pid ${conn.child.pid})`);
  try {
    const init = await request(conn, INITIALIZE);
    if (!init.result) throw new Error(`initialize failed: ${JSON.stringify(init)}`);
    console.error(`   initialize: protocol ${init.result.protocolVersion}, server ${JSON.stringify(init.result.serverInfo)}`);
    conn.send(JSON.stringify(INITIALIZED) + '\n');
    const first = await request(conn, ECHO_CALL);
    console.error(`   first tools/call echo: ${JSON.stringify(first)}`);
    if (first.result?.content?.[0]?.text !== 'hello') throw new Error(`tools/call echo did not answer "hello": ${JSON.stringify(first)}`);
    let nextId = 2;
    if (o.warmup > 0) {
      const w = await pipeline(conn, nextId, o.warmup);
      nextId += o.warmup;
      console.error(`   warmup ${o.warmup} calls: ${Math.round(o.warmup / (w.wall_ms / 1000)).toLocaleString('en-US')} msgs/s (not counted)`);
    }
    const rounds = [];
    for (let r = 0; r < o.rounds; r++) {
      const c0 = cpuTicks(conn.child.pid);
      const res = await pipeline(conn, nextId, o.n);
      const c1 = cpuTicks(conn.child.pid);
      nextId += o.n;
      const round = {
        msgs_per_s: o.n / (res.wall_ms / 1000), wall_ms: res.wall_ms,
        cpu_us_per_msg: ((c1 - c0) * 1e6) / CLK_TCK / o.n, server_cpu_s: (c1 - c0) / CLK_TCK,
        server_busy: (c1 - c0) / CLK_TCK / (res.wall_ms / 1000),
        errors: { duplicate: res.dup, unknown_id: res.unknown, bad_result: res.bad }, errorCount: res.dup + res.unknown + res.bad,
      };
      rounds.push(round);
      console.error(`   round ${r + 1}: ${Math.round(round.msgs_per_s).toLocaleString('en-US')} msgs/s, CPU ${round.cpu_us_per_msg.toFixed(1)} µs/msg ` +
        `(${round.wall_ms.toFixed(0)} ms wall, server ${round.server_cpu_s.toFixed(2)} s CPU, busy ${(round.server_busy * 100).toFixed(0)}%)`);
      if (round.errorCount > 0) console.error(`   !!!! ${name}: ${round.errorCount} ERRORS ${JSON.stringify(round.errors)}; e.g. ${JSON.stringify(res.sample)}`);
    }
    if (conn.junk.length) console.error(`   !!!! ${name} wrote non-JSON lines on stdout: ${JSON.stringify(conn.junk)}`);
    const median = [...rounds].sort((a, b) => a.msgs_per_s - b.msgs_per_s)[Math.floor(rounds.length / 2)];
    return { rounds, median, junkLines: conn.junk };
  } finally {
    await conn.stop();
  }
}

const names = targetNames(o.target);
const sdk = sdkVersion();
console.error(`mcp-stdio: node ${process.version}, @modelcontextprotocol/sdk ${sdk}; ${o.n.toLocaleString('en-US')} calls x ${o.rounds} rounds ` +
  `(+${o.warmup} warmup), window ${o.window}, batch ${o.batch}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const results = {};
const failed = await runTargets(names, benchTarget, (r) => r.rounds.some((x) => x.errorCount > 0), results);

console.log(`\nMCP tools/call echo over stdio, ${o.n.toLocaleString('en-US')} pipelined calls (window ${o.window}), median of ${o.rounds}; ` +
  `server pinned to 1 core${PIN ? '' : ' (NOT pinned: taskset missing)'}; node ${process.version}, @modelcontextprotocol/sdk ${sdk}\n`);
console.log('| target | msgs/s | CPU µs/msg | server busy | errors |');
console.log('|---|---:|---:|---:|---:|');
for (const name of names) {
  const r = results[name];
  if (r.error) console.log(`| ${name} | FAILED | | | ${errorCell(r.error).slice(0, 200)} |`);
  else console.log(`| ${name} | ${fmtN(r.median.msgs_per_s)} | ${fmtF(r.median.cpu_us_per_msg, 1)} | ${(r.median.server_busy * 100).toFixed(0)}% | ${r.rounds.reduce((a, x) => a + x.errorCount, 0)} |`);
}
const s = results.sdk?.median, c = results.conduit?.median;
if (s && c) {
  console.log(`| **ratio** | ×${(c.msgs_per_s / s.msgs_per_s).toFixed(2)} | ×${(s.cpu_us_per_msg / c.cpu_us_per_msg).toFixed(2)} | | |`);
  console.log('\nratio row: msgs/s = conduit ÷ sdk; CPU µs/msg = sdk ÷ conduit (above 1: Conduit is faster / cheaper).');
}
finish({
  failed, json: o.json, prefix: 'mcp-stdio',
  data: () => ({ bench: 'mcp-stdio', date: new Date().toISOString(), node: process.version, sdk, options: o, results }),
});
