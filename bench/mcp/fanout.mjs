#!/usr/bin/env node
// Broadcast fan-out over MCP Streamable HTTP: N sessions, each holding its standalone SSE
// stream (GET /mcp) open, on one Conduit process; then K broadcasts to all of them.
// 127.0.0.1 only; bounded in time (a hard deadline kills everything).
//
//   node bench/mcp/fanout.mjs                        10,000 sessions, 5 broadcasts
//   node bench/mcp/fanout.mjs --sessions=1000 --broadcasts=3
//
// Options:
//   --sessions=N      sessions, each with an open standalone SSE stream (default 10000;
//                     capped by the open-file limit and by the 10,000 sessions that
//                     `conduit serve` allows: a --config cannot change maxSessions)
//   --broadcasts=K    broadcasts to send (default 5)
//   --concurrency=C   sessions being opened at once (default 64)
//   --warmup=W        sessions opened before the baseline RSS reading (default min(200, N/10));
//                     they are part of the N and receive the broadcasts too
//   --protocol=V      MCP protocol revision the clients ask for (default 2025-11-25; its
//                     standalone streams start with a priming event)
//   --settle=S        seconds to wait before each RSS reading (default 1)
//   --deadline=S      hard limit for the whole run in seconds (default 170)
//
// Server: taskset -c 0 node --expose-gc dist/cli/main.js serve --config bench/mcp/fanout-app.mjs
//   --port 0 --workers 1 (one process; --expose-gc lets the app's `stats` tool collect
//   garbage before an RSS reading). This client pins itself to CPU 1 (when there are two).
//   FANOUT_NODE_ARGS="..." adds node options for the server (e.g. --cpu-prof --cpu-prof-dir=DIR).
//
// Client: raw node:net sockets, one keep-alive connection per session: POST initialize
// (reads Mcp-Session-Id), POST notifications/initialized (202), then GET /mcp with
// Accept: text/event-stream on the same connection, held open; a session counts as open
// when its stream's first event (the priming event, 2025-11-25) or, for older revisions,
// its 200 head has arrived. A separate control connection, on the first session, calls
// the tools `stats` and `fanout`.
//
// Measured:
//   memory   VmRSS of the server before the N-W sessions (after W warm-up sessions, a
//            forced GC and S s), and after them (forced GC, S s): KB per idle session,
//            its open SSE connection included = ΔRSS / (N-W); also the raw ΔRSS before
//            the GC and the V8 heap delta.
//   open     server CPU (sum of /proc/PID/task/*/schedstat run time, ns resolution) to
//            open the N-W sessions: µs per session.
//   fan-out  per broadcast: t0 = the client writes the tools/call `fanout` request; for
//            every stream, the time its event was parsed by this client minus t0 (p50,
//            p99, max = every stream has it); the server's synchronous broadcast loop
//            (timed inside the tool); the server CPU from t0 until the last stream got
//            the event, per delivered event. The server's idle CPU rate is measured
//            and shown beside (SSE heartbeats start 15 s after a stream opens: a
//            default run ends before the first).
//   checks   every stream gets every broadcast exactly once (missing, duplicated,
//            unexpected events, streams the server closed): any failure is reported
//            loudly and the exit code is 1.
//   retained V8 heap growth (after GC) over the broadcasts, per delivered event: what the
//            event store keeps per stream for resumption (up to 256 events / 1 MiB each).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = 'bench/mcp/fanout-app.mjs';
const MAIN = 'dist/cli/main.js';
const MAX_SESSIONS = 10_000; // StreamableHttpOptions.maxSessions default; conduit serve --config cannot raise it

function die(msg, code = 2) {
  process.stderr.write(`mcp-fanout: ${msg}\n`);
  process.exit(code);
}

const o = { sessions: 10_000, broadcasts: 5, concurrency: 64, warmup: undefined, protocol: '2025-11-25', settle: 1, deadline: 170 };
for (const a of process.argv.slice(2)) {
  const i = a.indexOf('=');
  const [k, v] = i < 0 ? [a, undefined] : [a.slice(0, i), a.slice(i + 1)];
  if (k === '--help' || k === '-h') {
    process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
    process.exit(0);
  } else if (k === '--protocol') o.protocol = v;
  else if (['--sessions', '--broadcasts', '--concurrency', '--warmup', '--settle', '--deadline'].includes(k)) o[k.slice(2)] = Number(v);
  else die(`unknown option ${a} (try --help)`);
}
const isInt = (x, lo, hi) => Number.isInteger(x) && x >= lo && x <= hi;
if (!isInt(o.sessions, 1, 1_000_000)) die('--sessions must be a positive integer');
if (!isInt(o.broadcasts, 1, 1000)) die('--broadcasts must be an integer from 1 to 1000');
if (!isInt(o.concurrency, 1, 4096)) die('--concurrency must be an integer from 1 to 4096');
if (!(o.settle >= 0 && o.settle <= 30)) die('--settle must be in [0, 30] seconds');
if (!(o.deadline >= 10 && o.deadline <= 3600)) die('--deadline must be in [10, 3600] seconds');
if (!/^\d{4}-\d{2}-\d{2}$/.test(o.protocol ?? '')) die('--protocol must look like 2025-11-25');

// ── limits: file descriptors (client and server each hold N sockets) and ports ────────
const notes = [];
const fdLimit = Number(/Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1].replace('unlimited', '1048576') ?? 1024);
const ports = (() => {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return hi - lo + 1;
  } catch { return 28_000; }
})();
{
  const requested = o.sessions;
  const cap = Math.min(fdLimit - 256, ports - 512, MAX_SESSIONS);
  if (o.sessions > cap) {
    o.sessions = cap;
    const why = cap === MAX_SESSIONS ? `conduit serve's session cap (maxSessions ${MAX_SESSIONS}, not settable from --config)`
      : cap === fdLimit - 256 ? `the open-file limit (${fdLimit}; this process cannot raise it)` : `the ephemeral port range (${ports} ports)`;
    notes.push(`--sessions=${requested} capped to ${cap} by ${why}`);
    process.stderr.write(`mcp-fanout: NOTE ${notes.at(-1)}\n`);
  }
}
o.warmup ??= Math.min(200, Math.floor(o.sessions / 10));
if (!isInt(o.warmup, 1, o.sessions)) die('--warmup must be an integer from 1 to --sessions (the first session is the control session)');

// ── processes ─────────────────────────────────────────────────────────────────────────
const LIVE = new Set();
process.on('exit', () => { for (const c of LIVE) c.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { process.stderr.write(`\n${sig}: stopping\n`); process.exit(130); });
const hard = setTimeout(() => die(`deadline of ${o.deadline} s passed: stopping (server killed)`, 3), o.deadline * 1000);
hard.unref();

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const CPUS = os.availableParallelism(); // (before this process pins itself to one)
const LOAD_AT_START = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const PIN = has('taskset') && CPUS >= 2;
if (PIN) spawnSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssKB(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}
/** CPU time of every thread of pid, in µs (schedstat: ns on CPU). */
function cpuUs(pid) {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try { ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]); } catch { /* thread gone */ }
  }
  return ns / 1000;
}

function startServer() {
  const extra = (process.env.FANOUT_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const args = ['--expose-gc', ...extra, MAIN, 'serve', '--config', CONFIG, '--port', '0', '--workers', '1'];
  const child = PIN ? spawn('taskset', ['-c', '0', process.execPath, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  LIVE.add(child);
  child.once('exit', () => LIVE.delete(child));
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    err += d;
    process.stderr.write(`[server] ${d}`);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${err.trim()}`)));
    setTimeout(() => reject(new Error('server did not print its banner within 15 s')), 15_000).unref();
  });
}

// ── a minimal HTTP/1.1 client on node:net (latin1: one char per byte) ──────────────────
let PORT = 0;
const HOST = '127.0.0.1';

function request(method, headers, body) {
  let s = `${method} /mcp HTTP/1.1\r\nHost: ${HOST}:${PORT}\r\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}: ${v}\r\n`;
  if (body !== undefined) s += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  return s + '\r\n' + (body ?? '');
}

/** Per broadcast k: when each stream received it (ms, performance.now()), and how often. */
const K = o.broadcasts;
const N = o.sessions;
const recvAt = Array.from({ length: K }, () => new Float64Array(N));
const recvCount = Array.from({ length: K }, () => new Uint8Array(N));
const remaining = new Int32Array(K).fill(N);
const waiters = new Array(K).fill(null);
const problems = { unexpected: 0, parseErrors: 0, closedByServer: 0, sessionErrors: [] };
let delivering = false; // set once the broadcasts start: a stream ending after that is a problem

function received(k, i, t) {
  if (!(k >= 0 && k < K)) { problems.unexpected++; return; }
  if (recvCount[k][i]++ === 0) {
    recvAt[k][i] = t;
    if (--remaining[k] === 0 && waiters[k] !== null) waiters[k]();
  }
}

/**
 * One connection. Answers come in order (no pipelining): `next()` resolves with the next
 * whole response, except for a text/event-stream answer, which resolves at its head and
 * then feeds its events to `onEvent`.
 */
class Conn {
  constructor(index) {
    this.index = index;
    this.buf = '';
    this.head = null; // { status, headers } of the response being read
    this.pending = null; // { resolve, reject }
    this.sse = false;
    this.sseBuf = '';
    this.onEvent = null;
    this.closed = false;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: HOST, port: PORT });
      this.sock = sock;
      sock.setNoDelay(true);
      sock.setEncoding('latin1');
      sock.once('connect', () => resolve(this));
      sock.on('data', (d) => this.data(d));
      sock.on('error', (e) => this.fail(e));
      sock.on('close', () => {
        this.closed = true;
        this.fail(new Error('connection closed'));
        if (this.sse && delivering && !stopping) problems.closedByServer++;
      });
      sock.once('error', reject);
    });
  }

  fail(e) {
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
  }

  send(raw, timeoutMs = 0) {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('connection closed'));
      let timer = null;
      if (timeoutMs > 0) timer = setTimeout(() => this.fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const done = (f) => (v) => { if (timer !== null) clearTimeout(timer); f(v); };
      this.pending = { resolve: done(resolve), reject: done(reject) };
      this.sock.write(raw, 'latin1');
    });
  }

  data(d) {
    if (this.sse) return this.chunked(d);
    this.buf += d;
    for (;;) {
      if (this.head === null) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = this.buf.slice(0, end).split('\r\n');
        this.buf = this.buf.slice(end + 4);
        const headers = {};
        for (let j = 1; j < lines.length; j++) {
          const c = lines[j].indexOf(':');
          headers[lines[j].slice(0, c).trim().toLowerCase()] = lines[j].slice(c + 1).trim();
        }
        this.head = { status: Number(lines[0].split(' ')[1]), headers };
        if ((headers['content-type'] ?? '').startsWith('text/event-stream')) {
          this.sse = true;
          const rest = this.buf;
          this.buf = '';
          const p = this.pending;
          this.pending = null;
          p?.resolve({ ...this.head, body: '' });
          if (rest !== '') this.chunked(rest);
          return;
        }
      }
      const len = Number(this.head.headers['content-length'] ?? 0);
      if (this.buf.length < len) return;
      const body = this.buf.slice(0, len);
      this.buf = this.buf.slice(len);
      const res = { ...this.head, body };
      this.head = null;
      const p = this.pending;
      this.pending = null;
      p?.resolve(res);
      if (this.buf === '') return;
    }
  }

  /** Transfer-Encoding: chunked, then SSE framing. */
  chunked(d) {
    const t = performance.now();
    this.buf += d;
    let at = 0;
    for (;;) {
      const eol = this.buf.indexOf('\r\n', at);
      if (eol < 0) break;
      const size = parseInt(this.buf.slice(at, eol), 16);
      if (size === 0) { at = eol + 2; this.sse = false; break; } // the server ended the stream
      if (this.buf.length < eol + 2 + size + 2) break;
      this.sseBuf += this.buf.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
    this.buf = at === 0 ? this.buf : this.buf.slice(at);
    for (;;) {
      let end = this.sseBuf.indexOf('\n\n');
      if (end < 0) break;
      const block = this.sseBuf.slice(0, end);
      this.sseBuf = this.sseBuf.slice(end + 2);
      let data = null;
      let id = null;
      for (const line of block.split('\n')) {
        if (line.startsWith('data:')) data = (data === null ? '' : data + '\n') + line.slice(line[5] === ' ' ? 6 : 5);
        else if (line.startsWith('id:')) id = line.slice(line[3] === ' ' ? 4 : 3);
        // (':' comments are heartbeats; 'retry:' / 'event:' need nothing here)
      }
      if (data === null && id === null) continue; // a comment
      this.onEvent?.(id, data, t);
    }
  }
}

const ACCEPT_BOTH = 'application/json, text/event-stream';
const initBody = (i) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: o.protocol, capabilities: {}, clientInfo: { name: `fanout-${i}`, version: '1' } } });
const INITIALIZED = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });

const conns = new Array(N).fill(null);
const sessionIds = new Array(N).fill(null);

/** Opens session i: initialize, initialized, GET stream (resolves once it is live). */
async function openSession(i) {
  const c = await new Conn(i).connect();
  conns[i] = c;
  const r1 = await c.send(request('POST', { Accept: ACCEPT_BOTH }, initBody(i)));
  const sid = r1.headers['mcp-session-id'];
  if (r1.status !== 200 || sid === undefined) throw new Error(`initialize: ${r1.status} ${r1.body.slice(0, 200)}`);
  const negotiated = JSON.parse(r1.body).result?.protocolVersion;
  sessionIds[i] = sid;
  const common = { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': negotiated };
  const r2 = await c.send(request('POST', { Accept: ACCEPT_BOTH, ...common }, INITIALIZED));
  if (r2.status !== 202) throw new Error(`notifications/initialized: ${r2.status} ${r2.body.slice(0, 200)}`);
  let primed;
  const live = new Promise((resolve) => (primed = resolve));
  const primes = negotiated >= '2025-11-25';
  c.onEvent = (id, data, t) => {
    if (data === '' || data === null) { primed(); return; } // the priming event (id, empty data)
    let msg;
    try { msg = JSON.parse(data); } catch { problems.parseErrors++; return; }
    if (msg.method !== 'notifications/message' || msg.params?.logger !== 'fanout') { problems.unexpected++; return; }
    received(msg.params.data.seq, i, t);
  };
  const r3 = await c.send(request('GET', { Accept: 'text/event-stream', ...common }));
  if (r3.status !== 200) throw new Error(`GET /mcp: ${r3.status} ${r3.body.slice(0, 200)}`);
  if (primes) await live;
}

async function openRange(from, to) {
  let next = from;
  let failed = 0;
  const worker = async () => {
    while (next < to) {
      const i = next++;
      const timer = setTimeout(() => conns[i]?.fail(new Error('timed out (10 s)')), 10_000);
      try {
        await openSession(i);
      } catch (e) {
        failed++;
        if (problems.sessionErrors.length < 5) problems.sessionErrors.push(`session ${i}: ${e.message}`);
      } finally {
        clearTimeout(timer);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, to - from) }, worker));
  return failed;
}

// ── the control connection (on session 0): tools/call ─────────────────────────────────
let ctl;
let rpcId = 100;
async function callTool(name, args) {
  const body = JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method: 'tools/call', params: { name, arguments: args } });
  // (the server closes a keep-alive connection idle for 5 s: open another one then)
  if (ctl.closed) ctl = await new Conn(-1).connect();
  const r = await ctl.send(request('POST', { Accept: ACCEPT_BOTH, 'Mcp-Session-Id': sessionIds[0], 'MCP-Protocol-Version': o.protocol }, body), 30_000);
  if (r.status !== 200) throw new Error(`tools/call ${name}: ${r.status} ${r.body.slice(0, 200)}`);
  const msg = JSON.parse(r.body);
  if (msg.error || msg.result?.isError) throw new Error(`tools/call ${name}: ${r.body.slice(0, 300)}`);
  return msg.result.structuredContent;
}

async function memory(pid) {
  const raw = rssKB(pid);
  const m = await callTool('stats', {});
  await sleep(o.settle * 1000);
  return { rawRss: raw, rss: rssKB(pid), heapUsed: m.heapUsed, external: m.external, sessions: m.sessions };
}

// ── stats helpers ─────────────────────────────────────────────────────────────────────
function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const int = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');

// ── run ───────────────────────────────────────────────────────────────────────────────
let stopping = false;
const started = performance.now();
const { child: server, port } = await startServer();
PORT = port;
const pid = server.pid;
const lines = [];
const log = (s) => process.stderr.write(`mcp-fanout: ${s}\n`);
let exitCode = 0;

try {
  // Warm-up (session 0 first: it is the control session too), then the baseline.
  log(`server pid ${pid} on port ${port}; opening ${o.warmup} warm-up sessions`);
  let failed = await openRange(0, 1);
  if (failed) throw new Error(`the first session failed: ${problems.sessionErrors.join('; ')}`);
  ctl = await new Conn(-1).connect();
  failed += await openRange(1, o.warmup);
  await sleep(o.settle * 1000);
  const before = await memory(pid);

  log(`opening ${N - o.warmup} sessions, ${o.concurrency} at a time`);
  const cpu0 = cpuUs(pid);
  const t0 = performance.now();
  failed += await openRange(o.warmup, N);
  const openMs = performance.now() - t0;
  const openCpu = cpuUs(pid) - cpu0;
  const openedNow = N - o.warmup;
  await sleep(o.settle * 1000);
  const after = await memory(pid);
  log(`opened in ${(openMs / 1000).toFixed(1)} s; ${failed} failed; server RSS ${int(before.rss)} → ${int(after.rss)} KB`);
  if (failed > 0) throw new Error(`${failed} of ${N} sessions failed to open: ${problems.sessionErrors.join('; ')}`);
  if (after.sessions !== N) notes.push(`the server counts ${after.sessions} sessions (expected ${N})`);

  // Idle CPU over 1 s (no heartbeat yet: they start 15 s after a stream opens).
  const idleC0 = cpuUs(pid);
  const idleT0 = performance.now();
  await sleep(1000);
  const idleRate = (cpuUs(pid) - idleC0) / ((performance.now() - idleT0) / 1000); // µs per s

  // Broadcasts.
  delivering = true;
  const rows = [];
  for (let k = 0; k < K; k++) {
    const done = new Promise((resolve) => (waiters[k] = resolve));
    const c0 = cpuUs(pid);
    const s0 = performance.now();
    const call = callTool('fanout', { n: k });
    const res = await call;
    const callMs = performance.now() - s0;
    const timedOut = await Promise.race([done.then(() => false), sleep(15_000).then(() => true)]);
    const allMs = performance.now() - s0;
    const cpu = cpuUs(pid) - c0;
    const delays = [];
    for (let i = 0; i < N; i++) if (recvCount[k][i] > 0) delays.push(recvAt[k][i] - s0);
    delays.sort((a, b) => a - b);
    rows.push({ k, got: delays.length, timedOut, callMs, broadcastMs: res.broadcastMs, serverSessions: res.sessions,
      min: delays[0], p50: pct(delays, 50), p99: pct(delays, 99), max: delays.at(-1), allMs, cpu, delays });
    log(`broadcast ${k}: ${delays.length}/${N} streams in ${f1(delays.at(-1))} ms (server loop ${f1(res.broadcastMs)} ms)`);
    await sleep(300);
  }
  await sleep(500); // late duplicates would show here
  // What the broadcasts left behind (the event store keeps each stream's events for resumption).
  const afterCast = await memory(pid);

  // Exactly once?
  let missing = 0;
  let dups = 0;
  for (let k = 0; k < K; k++) for (let i = 0; i < N; i++) {
    if (recvCount[k][i] === 0) missing++;
    else if (recvCount[k][i] > 1) dups += recvCount[k][i] - 1;
  }

  // Close everything (clients first), then stop the server.
  stopping = true;
  const closeC0 = cpuUs(pid);
  const tc = performance.now();
  for (const c of conns) c?.sock.destroy();
  ctl.sock.destroy();
  await sleep(1000);
  const closeCpu = cpuUs(pid) - closeC0;
  const rssClosed = rssKB(pid);

  // ── summary ───────────────────────────────────────────────────────────────────────
  const pooled = rows.flatMap((r) => r.delays).sort((a, b) => a - b);
  const sum = (f) => rows.reduce((s, r) => s + f(r), 0);
  const cpuPerEvent = sum((r) => r.cpu) / sum((r) => r.got);
  const idleShare = idleRate * sum((r) => r.allMs) / 1000 / sum((r) => r.got);
  const kbPerSession = (after.rss - before.rss) / openedNow;
  lines.push(`## MCP broadcast fan-out: ${int(N)} sessions × ${K} broadcasts (Streamable HTTP, standalone SSE streams)`, '');
  lines.push(`Conduit \`serve --config ${CONFIG} --workers 1\`${PIN ? ' pinned to CPU 0, client pinned to CPU 1' : ' (not pinned: no taskset or one CPU)'}; ` +
    `Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} ×${CPUS}, load average at start ${LOAD_AT_START} (other processes on these CPUs add noise); protocol ${o.protocol}; ` +
    `sessions opened ${o.concurrency} at a time, one keep-alive connection each (initialize, notifications/initialized, GET held open).`, '');
  lines.push('| memory and setup | value |', '|---|---|');
  lines.push(`| server RSS, ${int(o.warmup)} warm-up sessions (after GC) | ${int(before.rss)} KB |`);
  lines.push(`| server RSS, ${int(N)} sessions with open streams (after GC) | ${int(after.rss)} KB |`);
  lines.push(`| **KB per idle session incl. its SSE connection** (ΔRSS / ${int(openedNow)}) | **${f2(kbPerSession)}** |`);
  lines.push(`| same, before the forced GC | ${f2((after.rawRss - before.rawRss) / openedNow)} |`);
  lines.push(`| V8 heap used per session | ${f2((after.heapUsed - before.heapUsed) / 1024 / openedNow)} KB |`);
  lines.push(`| time to open ${int(openedNow)} sessions | ${f2(openMs / 1000)} s (${int(openedNow / (openMs / 1000))} /s) |`);
  lines.push(`| server CPU per session opened (3 requests + stream) | ${f1(openCpu / openedNow)} µs |`);
  lines.push(`| server CPU while idle, 1 s (before any 15 s heartbeat) | ${int(idleRate)} µs/s |`);
  lines.push(`| server heap retained per delivered event, after the broadcasts (GC) | ${int((afterCast.heapUsed - after.heapUsed) / (N * K))} B (RSS ${afterCast.rss >= after.rss ? '+' : '−'}${int(Math.abs(afterCast.rss - after.rss))} KB) |`);
  lines.push(`| server CPU to drop ${int(N + 1)} connections (1 s window) | ${int(closeCpu)} µs; RSS then ${int(rssClosed)} KB |`, '');
  lines.push('| broadcast | delivered | tools/call RTT ms | server loop ms | first ms | p50 ms | p99 ms | max (all) ms | CPU ms | CPU µs / event |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    lines.push(`| ${r.k} | ${int(r.got)}/${int(N)}${r.timedOut ? ' **TIMEOUT**' : ''} | ${f1(r.callMs)} | ${f1(r.broadcastMs)} | ${f1(r.min)} | ${f1(r.p50)} | ${f1(r.p99)} | ${f1(r.max)} | ${f1(r.cpu / 1000)} | ${f2(r.cpu / Math.max(1, r.got))} |`);
  }
  const med = (f) => { const v = rows.map(f).sort((a, b) => a - b); return v[Math.floor((v.length - 1) / 2)]; };
  lines.push(`| **all** | ${int(pooled.length)}/${int(N * K)} | ${f1(med((r) => r.callMs))} (median) | ${f1(med((r) => r.broadcastMs))} (median) | ${f1(pooled[0])} | **${f1(pct(pooled, 50))}** | **${f1(pct(pooled, 99))}** | **${f1(pooled.at(-1))}** | ${f1(sum((r) => r.cpu) / 1000)} | **${f2(cpuPerEvent)}** |`, '');
  lines.push(`Fan-out latency: from the client writing the tools/call \`fanout\` to this client parsing the event on each stream (p50/p99/max over streams; max = the last stream). ` +
    `The server's broadcast loop runs synchronously inside the tool, so the tools/call answer follows it. ` +
    `CPU per event: server CPU (all threads, schedstat) from the call until the last stream had it, ÷ events delivered; ` +
    `about ${f2(idleShare)} µs of that per event is the server's idle rate over the same time (no SSE heartbeat falls in a run this short: they start 15 s after a stream opens). The client (one process, one core) parses every event, so its own pace is part of the tail.`, '');
  lines.push('| check | result |', '|---|---|');
  lines.push(`| events missing (stream × broadcast) | ${missing === 0 ? '0' : `**${int(missing)} MISSING**`} |`);
  lines.push(`| events duplicated | ${dups === 0 ? '0' : `**${int(dups)} DUPLICATED**`} |`);
  lines.push(`| unexpected events / unparseable data | ${problems.unexpected} / ${problems.parseErrors} |`);
  lines.push(`| streams the server closed during the broadcasts | ${problems.closedByServer} |`);
  for (const n of notes) lines.push(`| note | ${n} |`);
  lines.push('', `Run took ${f1((performance.now() - started) / 1000)} s.`);
  if (missing || dups || problems.unexpected || problems.parseErrors || problems.closedByServer) {
    exitCode = 1;
    process.stderr.write(`\nmcp-fanout: FAILED: ${missing} events missing, ${dups} duplicated, ${problems.unexpected} unexpected, ${problems.parseErrors} unparseable, ${problems.closedByServer} streams closed by the server\n`);
  }
} catch (e) {
  exitCode = 1;
  process.stderr.write(`\nmcp-fanout: FAILED: ${e.stack ?? e}\n`);
} finally {
  stopping = true;
  for (const c of conns) c?.sock?.destroy();
  ctl?.sock?.destroy();
  if (server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    if (await Promise.race([exited.then(() => true), sleep(6000).then(() => false)]) === false) {
      notes.push('the server did not exit within 6 s of SIGTERM: killed');
      log(notes.at(-1));
      server.kill('SIGKILL');
    }
  }
}
if (lines.length) process.stdout.write(lines.join('\n') + '\n');
process.exit(exitCode);
