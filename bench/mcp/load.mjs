#!/usr/bin/env node
// MCP over Streamable HTTP under load: Conduit's MCP endpoint against the same server on
// the official @modelcontextprotocol/sdk 1.x (bench/mcp/sdk-peer.mjs), side by side in one
// run, reported as ratios. Loads 127.0.0.1 only; bounded in time (per target and round: a
// prewarm of 3-10 s, then per concurrency level a 1 s warmup + the measured run: ~25-35 s
// with the defaults, ~1 min for both targets).
//
//   node bench/mcp/load.mjs                        both targets, c = 1, 16, 64, 5 s each
//   node bench/mcp/load.mjs --target=sdk --duration=3 --conns=1,16
//   node bench/mcp/load.mjs --json                 also writes bench/mcp/results/load.json
//   node bench/mcp/load.mjs --json=/tmp/x.json
//
// Options:
//   --target=sdk|conduit|both   (default both; each target runs in its own process, one after the other)
//   --duration=S                measured seconds per concurrency level (default 5)
//   --warmup=S                  unmeasured warmup seconds before each level (default 1; 0 = none)
//   --prewarm=S                 before the first level, unmeasured 1 s runs at the highest c until
//                               req/s settles (two in a row within 5%, at least 3), at most S s
//                               (default 10; 0 = none). The SDK peer needs ~5-10 s of load to
//                               warm up: its first 2 s give about a fifth of the warm rate
//   --conns=1,16,64             concurrency levels (wrk connections; 1 thread at c=1, else 2)
//   --rounds=R                  repeat everything R times, alternating the targets (a fresh server
//                               process each time), and report medians (default 1). The numbers
//                               move with other load on the machine: use 3 for figures to keep
//   --verify                    check every response in wrk's Lua (status 2xx and body has "hello");
//                               costs wrk CPU, so req/s may be capped by wrk
//   --fixed-id                  send every request with "id":1 instead of unique ids (see below)
//   --json[=FILE]               also write the results as JSON
//
// Targets:
//   sdk:     taskset -c 0 node bench/mcp/sdk-peer.mjs --port=P
//   conduit: taskset -c 0 node dist/cli/main.js serve --port P --workers 1   (needs `npm run build`)
// Environment: CONDUIT_ARGS="..." appends arguments to Conduit's command line;
//   CONDUIT_MAIN=/path/to/dist/cli/main.js runs another Conduit build; SDK_ARGS=--json-response
//   makes the SDK peer answer application/json instead of its default, an SSE stream per POST.
// Readiness: poll the port until a TCP connect succeeds (stdout is not relied upon).
//
// Per target: open one MCP session in Node (initialize, read Mcp-Session-Id, then
// notifications/initialized), check that one tools/call echo answers with "hello" (the
// body is printed), then for each c run wrk (pinned with taskset -c 1) with a Lua script
// that POSTs tools/call echo {"message":"hello"} on that session with
// MCP-Protocol-Version: 2025-11-25 and Accept: application/json, text/event-stream.
// Every wrk connection uses the same session. Request ids are unique per request
// (thread * 1e9 + counter, built in wrk's request()): MCP forbids reusing an id within a
// session, and the SDK's transport routes each response to its HTTP stream by request id,
// which works with a reused id only as long as each request is answered before the next
// one is read (true of the SDK peer today: --fixed-id sends the literal "id":1 to compare).
//
// Measured: req/s, p50/p99 latency (wrk's own histogram, printed by the Lua done()),
// errors (HTTP statuses >= 400 as wrk counts them, every non-2xx with --verify, socket
// errors, timeouts: any of these is printed loudly and makes the exit code 1), and the
// server's CPU per call: utime+stime of the server process (and its descendants) from
// /proc/PID/stat, delta over the measured run, in clock ticks (getconf CLK_TCK) converted
// to µs, divided by the requests completed.
// On 2 cores the server has core 0 and wrk core 1; when wrk saturates its core, req/s
// tells less than CPU µs/call, which is the fairer comparison. "other load, core 0" is core
// 0's busy time (/proc/stat) not spent by the server: other processes on the machine; above
// ~5% the row is noisy (a warning is printed).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// Conduit's CLI: this checkout's build, or another build's main.js (CONDUIT_MAIN=/path/to/dist/cli/main.js).
import {
  CLK_TCK, ECHO_CALL, INITIALIZE, INITIALIZED, PIN, PROTOCOL_VERSION, ROOT, checkInitialized, errorCell, finish, fmtF, fmtN,
  freePort, has, killChildrenOnExit, makeDie, messagesOf, parseOptions, ratio, runTargets, sdkVersion, startHttpServer,
  targetNames, track, cpuTicks,
} from './common.mjs';

// ---------------------------------------------------------------- options
const die = makeDie('mcp-load');

function parseLoadOptions(argv) {
  const o = parseOptions(argv, {
    scriptUrl: import.meta.url, die, jsonName: 'load.json', numbers: ['duration', 'warmup', 'prewarm', 'rounds'],
    defaults: { target: 'both', duration: 5, warmup: 1, prewarm: 10, rounds: 1, conns: [1, 16, 64], verify: false, fixedId: false, json: null },
    extra: (k, v, x) => {
      if (k === '--conns') x.conns = String(v).split(',').map(Number);
      else if (k === '--verify') x.verify = true;
      else if (k === '--fixed-id') x.fixedId = true;
      else return false;
      return true;
    },
  });
  if (!(o.duration > 0 && o.duration <= 120)) die('--duration must be in (0, 120] seconds');
  if (!(o.warmup >= 0 && o.warmup <= 30)) die('--warmup must be in [0, 30] seconds');
  if (!(o.prewarm >= 0 && o.prewarm <= 60)) die('--prewarm must be in [0, 60] seconds');
  if (!Number.isInteger(o.rounds) || o.rounds < 1 || o.rounds > 10) die('--rounds must be an integer from 1 to 10');
  if (o.conns.length === 0 || o.conns.some((c) => !Number.isInteger(c) || c < 1 || c > 1024)) die('--conns must be integers from 1 to 1024');
  return o;
}

// ---------------------------------------------------------------- environment
// Children still running when this process is stopped (Ctrl-C, timeout) are killed with it.
killChildrenOnExit();

/**
 * Busy and total clock ticks of each CPU, from /proc/stat ("cpuN user nice system idle iowait
 * irq softirq steal ..."). Busy counts user+nice+system only: irq/softirq time is mostly the
 * loopback traffic of the benchmark itself, charged to no process.
 */
function cpuBusy() {
  const out = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    out[m[1]] = { busy: f[0] + f[1] + f[2], total };
  }
  return out;
}

// ---------------------------------------------------------------- targets
/* startHttpServer (common.mjs) starts one pinned to CPU 0 and waits until its port accepts TCP connections. */

// ---------------------------------------------------------------- MCP client bits (Node side)
const MCP_HEADERS = { Accept: 'application/json, text/event-stream', 'Content-Type': 'application/json' };

async function post(url, body, headers) {
  const res = await fetch(url, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, messages: messagesOf(res.headers.get('content-type'), text) };
}

const sessionHeaders = (sid) => ({ 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': PROTOCOL_VERSION });

/** initialize + notifications/initialized; returns the session id. */
async function openSession(url) {
  const init = await post(url, INITIALIZE, {});
  if (init.status !== 200) throw new Error(`initialize: HTTP ${init.status}: ${init.text.slice(0, 500)}`);
  const sid = init.headers.get('mcp-session-id');
  if (!sid) throw new Error(`initialize: no Mcp-Session-Id header in the answer (HTTP ${init.status}: ${init.text.slice(0, 300)})`);
  const result = init.messages.find((m) => m.id === 0);
  if (!result?.result) throw new Error(`initialize: no result in the answer: ${init.text.slice(0, 500)}`);
  checkInitialized(await post(url, INITIALIZED, sessionHeaders(sid)));
  return { sid, negotiated: result.result.protocolVersion, serverInfo: result.result.serverInfo };
}

async function checkEcho(url, sid) {
  const r = await post(url, ECHO_CALL, sessionHeaders(sid));
  const msg = r.messages.find((m) => m.id === 1);
  const ok = r.status === 200 && r.text.includes('hello') && msg?.result?.content?.[0]?.text === 'hello' && !msg.result.isError;
  return { ok, status: r.status, contentType: r.headers.get('content-type'), text: r.text };
}

// ---------------------------------------------------------------- wrk
function luaScript({ sid, verify, fixedId }) {
  const q = (s) => JSON.stringify(s); // a JSON string literal is a valid Lua string literal for ASCII
  return `-- generated by bench/mcp/load.mjs
wrk.method = "POST"
wrk.path = "/mcp"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Mcp-Session-Id"] = ${q(sid)}
wrk.headers["MCP-Protocol-Version"] = ${q(PROTOCOL_VERSION)}
wrk.body = ${q('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}')}

local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local base = 0
local n = 0
bad_status = 0
bad_body = 0
function init(args)
  base = tid * 1000000000
end

${fixedId ? '' : `local head = '{"jsonrpc":"2.0","id":'
local tail = ',"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}'
function request()
  n = n + 1
  return wrk.format(nil, nil, nil, head .. string.format("%d", base + n) .. tail)
end
`}
${verify ? `function response(status, headers, body)
  if status < 200 or status > 299 then bad_status = bad_status + 1
  elseif not string.find(body, '"hello"', 1, true) then bad_body = bad_body + 1 end
end
` : ''}
function done(summary, latency, requests)
  local bs, bb = 0, 0
  for _, t in ipairs(threads) do
    bs = bs + (t:get("bad_status") or 0)
    bb = bb + (t:get("bad_body") or 0)
  end
  local e = summary.errors
  io.write(string.format("MCPBENCH requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f status=%d connect=%d read=%d write=%d timeout=%d bad_status=%d bad_body=%d\\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.status, e.connect, e.read, e.write, e.timeout, bs, bb))
end
`;
}

function runWrk({ port, script, conns, seconds }) {
  const threads = conns === 1 ? 1 : 2;
  const args = ['-t', String(threads), '-c', String(conns), '-d', `${seconds}s`, '--timeout', '5s', '-s', script, `http://127.0.0.1:${port}/mcp`];
  const [cmd, ...rest] = PIN ? ['taskset', '-c', '1', 'wrk', ...args] : ['wrk', ...args];
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const kill = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(kill);
      const line = out.split('\n').find((l) => l.startsWith('MCPBENCH '));
      if (code !== 0 || !line) return reject(new Error(`wrk failed (exit ${code}):\n${out}`));
      const r = {};
      for (const kv of line.slice(9).trim().split(' ')) {
        const [k, v] = kv.split('=');
        r[k] = Number(v);
      }
      r.raw = out;
      resolve(r);
    });
  });
}

// ---------------------------------------------------------------- one target
async function benchTarget(name, o, tmp) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  console.error(`\n== ${name}: starting (${PIN ? 'server on CPU 0, wrk on CPU 1' : 'taskset missing: not pinned'})`);
  const server = await startHttpServer(name, port);
  console.error(`   ${server.command}  (pid ${server.pid})`);
  const rows = [];
  try {
    let session;
    try {
      session = await openSession(url);
    } catch (e) {
      throw new Error(`${name}: cannot open an MCP session at ${url}: ${e.cause?.message ?? e.message}`);
    }
    console.error(`   session ${session.sid} (protocol ${session.negotiated}, server ${JSON.stringify(session.serverInfo)})`);
    const echo = await checkEcho(url, session.sid);
    console.error(`   first tools/call echo: HTTP ${echo.status} ${echo.contentType}\n   body: ${JSON.stringify(echo.text)}`);
    if (!echo.ok) throw new Error(`${name}: tools/call echo did not answer "hello" (HTTP ${echo.status}): ${echo.text.slice(0, 500)}`);
    const script = path.join(tmp, `${name}.lua`);
    writeFileSync(script, luaScript({ sid: session.sid, verify: o.verify, fixedId: o.fixedId }));
    if (o.prewarm > 0) {
      const c = Math.max(...o.conns);
      const curve = [];
      for (let t = 0; t < o.prewarm; t++) {
        const w = await runWrk({ port, script, conns: c, seconds: 1 });
        curve.push(w.requests / (w.duration_us / 1e6));
        const [a, b] = curve.slice(-2);
        if (curve.length >= 3 && Math.abs(b - a) / a < 0.05 && b >= 0.95 * Math.max(...curve)) break;
      }
      console.error(`   prewarm at c=${c}, req/s per 1 s (not counted): ${curve.map(fmtN).join(', ')}`);
    }
    for (const c of o.conns) {
      if (o.warmup > 0) await runWrk({ port, script, conns: c, seconds: o.warmup });
      const t0 = cpuTicks(server.pid), b0 = cpuBusy();
      const r = await runWrk({ port, script, conns: c, seconds: o.duration });
      const t1 = cpuTicks(server.pid), b1 = cpuBusy();
      // Noise: what else ran on the server's core (core 0 busy time minus the server's own),
      // as a share of the run. Other processes on this machine (tests...) skew the numbers.
      const span0 = b1['0'] && b0['0'] ? b1['0'].total - b0['0'].total : 0;
      const foreign0 = PIN && span0 > 0 ? Math.max(0, (b1['0'].busy - b0['0'].busy) - (t1 - t0)) / span0 : NaN;
      const busy1 = b1['1'] && b0['1'] ? (b1['1'].busy - b0['1'].busy) / Math.max(1, b1['1'].total - b0['1'].total) : NaN;
      const cpuUs = ((t1 - t0) * 1e6) / CLK_TCK;
      const errors = r.status + r.connect + r.read + r.write + r.timeout + r.bad_status + r.bad_body;
      const row = {
        target: name, c, threads: c === 1 ? 1 : 2,
        requests: r.requests, seconds: r.duration_us / 1e6,
        rps: r.requests / (r.duration_us / 1e6),
        p50_ms: r.p50_us / 1000, p90_ms: r.p90_us / 1000, p99_ms: r.p99_us / 1000, max_ms: r.max_us / 1000,
        cpu_us_per_call: r.requests > 0 ? cpuUs / r.requests : NaN,
        server_cpu_s: cpuUs / 1e6,
        core0_other_share: foreign0, core1_busy_share: busy1,
        errors: { non2xx: r.status, connect: r.connect, read: r.read, write: r.write, timeout: r.timeout, bad_status: r.bad_status, bad_body: r.bad_body },
        errorCount: errors,
      };
      rows.push(row);
      console.error(`   c=${String(c).padEnd(3)} ${fmtN(row.rps).padStart(8)} req/s  p50 ${row.p50_ms.toFixed(2)} ms  p99 ${row.p99_ms.toFixed(2)} ms  ` +
        `CPU ${row.cpu_us_per_call.toFixed(1)} µs/call (server ${row.server_cpu_s.toFixed(2)} s CPU over ${row.seconds.toFixed(2)} s; ` +
        `core 0 other ${fmtPct(foreign0)}, core 1 busy ${fmtPct(busy1)})`);
      if (foreign0 > 0.05) console.error(`   ! other processes used ${fmtPct(foreign0)} of the server's core during this run: numbers are noisy`);
      if (errors > 0) {
        console.error(`   !!!! ${name} c=${c}: ${errors} ERRORS: ${JSON.stringify(row.errors)}\n${r.raw.split('\n').map((l) => '   | ' + l).join('\n')}`);
      }
    }
  } finally {
    await server.stop();
  }
  return rows;
}

// ---------------------------------------------------------------- report
const fmtPct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '?');

function table(results, o) {
  const lines = [
    '| target | c | req/s | p50 ms | p99 ms | CPU µs/call | errors | other load, core 0 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const name of Object.keys(results)) {
    const r = results[name];
    if (r.error) {
      lines.push(`| ${name} | — | FAILED | | | | ${errorCell(r.error)} | |`);
      continue;
    }
    for (const row of r.rows) {
      lines.push(`| ${name} | ${row.c} | ${fmtN(row.rps)} | ${fmtF(row.p50_ms, 2)} | ${fmtF(row.p99_ms, 2)} | ${fmtF(row.cpu_us_per_call, 1)} | ${row.errorCount === 0 ? 0 : `**${row.errorCount}**`} | ${fmtPct(row.core0_other_share)} |`);
    }
  }
  const s = results.sdk?.rows, cd = results.conduit?.rows;
  if (s && cd) {
    for (const c of o.conns) {
      const a = s.find((x) => x.c === c), b = cd.find((x) => x.c === c);
      if (!a || !b) continue;
      lines.push(`| **ratio** | ${c} | ${ratio(b.rps, a.rps)} | ${ratio(a.p50_ms, b.p50_ms)} | ${ratio(a.p99_ms, b.p99_ms)} | ${ratio(a.cpu_us_per_call, b.cpu_us_per_call)} | | |`);
    }
    lines.push('', 'ratio rows: req/s = conduit ÷ sdk; p50, p99 and CPU µs/call = sdk ÷ conduit (above 1: Conduit is faster / cheaper).');
  }
  return lines.join('\n');
}

function machine() {
  const cpus = os.cpus();
  const wrkVersion = ((spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout || '').split('\n')[0].match(/^wrk \S+/) ?? ['wrk ?'])[0];
  const commit = (spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout || '').trim();
  return {
    node: process.version, cpu: cpus[0]?.model, cores: cpus.length, sdk: sdkVersion(), wrk: wrkVersion, commit,
    pinned: PIN, clk_tck: CLK_TCK, loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}

// ---------------------------------------------------------------- main
const o = parseLoadOptions(process.argv.slice(2));
if (!has('wrk')) die('wrk is not installed (apt-get install -y wrk)');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mcp-load-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const m = machine();
console.error(`mcp-load: node ${m.node}, ${m.cores}× ${m.cpu}, @modelcontextprotocol/sdk ${m.sdk}, ${m.wrk}; ` +
  `load average ${m.loadavg.join(' ')}; ${o.duration} s per level (+${o.warmup} s warmup, prewarm up to ${o.prewarm} s per target), c=${o.conns.join(',')}${o.verify ? ', verifying every response' : ''}${o.fixedId ? ', FIXED id 1' : ''}`);

const names = targetNames(o.target);
const results = {};
let failed = false;
// Rounds alternate the targets (sdk, conduit, sdk, conduit...), so that a noisy spell on
// the machine hits both; each figure reported is the median over the rounds.
const perRound = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 1; round <= o.rounds; round++) {
  if (o.rounds > 1) console.error(`\n---- round ${round} of ${o.rounds}`);
  // A target that failed stays in results (as { error }) and is skipped; the rows of the others move to perRound.
  if (await runTargets(names, (name) => benchTarget(name, o, tmp), (rows) => rows.some((r) => r.errorCount > 0), results)) failed = true;
  for (const name of names) if (!results[name].error) { perRound[name].push(results[name]); delete results[name]; }
}
const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
for (const name of names) {
  if (results[name]?.error) { results[name].rounds = perRound[name]; continue; }
  const rounds = perRound[name];
  const rows = o.conns.map((c) => {
    const xs = rounds.map((rs) => rs.find((r) => r.c === c));
    const row = { ...xs[0] };
    for (const k of ['requests', 'seconds', 'rps', 'p50_ms', 'p90_ms', 'p99_ms', 'max_ms', 'cpu_us_per_call', 'server_cpu_s', 'core0_other_share', 'core1_busy_share']) {
      row[k] = median(xs.map((x) => x[k]));
    }
    row.errorCount = xs.reduce((a, x) => a + x.errorCount, 0);
    return row;
  });
  results[name] = o.rounds > 1 ? { rows, rounds } : { rows };
}

console.log(`\nMCP tools/call echo over Streamable HTTP, one session, ${o.duration} s per level${o.rounds > 1 ? `, median of ${o.rounds} rounds` : ''}; server pinned to 1 core${PIN ? '' : ' (NOT pinned: taskset missing)'}; ` +
  `node ${m.node}, @modelcontextprotocol/sdk ${m.sdk}\n`);
console.log(table(results, o));
finish({
  failed, json: o.json, prefix: 'mcp-load',
  data: () => ({ bench: 'mcp-load', date: new Date().toISOString(), machine: m, options: o, results }),
});
