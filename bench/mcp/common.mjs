// Shared by the MCP benchmarks in bench/mcp/ (load.mjs, sessions.mjs, stdio.mjs): paths, option
// parsing and --help, child-process bookkeeping, starting a target server pinned to CPU 0,
// /proc readings (CPU ticks, RSS), the MCP handshake messages, and the report plumbing.
// Not a benchmark itself; nothing here runs on import except two probes (taskset, CLK_TCK).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HERE = fileURLToPath(new URL('./', import.meta.url));
export const PROTOCOL_VERSION = '2025-11-25';
// Conduit's CLI: this checkout's build, or another build's main.js (CONDUIT_MAIN=/path/to/dist/cli/main.js).
export const CONDUIT_MAIN = process.env.CONDUIT_MAIN ? path.resolve(process.env.CONDUIT_MAIN) : path.join(ROOT, 'dist/cli/main.js');

// ---------------------------------------------------------------- options
/** A die(msg) that prints `<prefix>: msg` on stderr and exits with code 2. */
export function makeDie(prefix) {
  return (msg) => {
    process.stderr.write(`${prefix}: ${msg}\n`);
    process.exit(2);
  };
}

/** Prints the `//` comment lines of a script (its usage docs) and exits 0. */
function printHelp(scriptUrl) {
  process.stdout.write(readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
  process.exit(0);
}

/**
 * Parses `--key[=value]` arguments into a copy of `defaults` (whose key order is kept):
 *   --target (then checked: sdk, conduit or both), --json[=FILE] (FILE defaults to
 *   bench/mcp/results/<jsonName>), --<k>=N for each k in `numbers` (o[k] = Number(N)),
 *   --help / -h (prints the header of `scriptUrl`), and whatever `extra(k, v, o)` takes
 *   (it returns true when it did). Anything else: die.
 */
export function parseOptions(argv, { scriptUrl, die, defaults, numbers = [], jsonName, extra = () => false }) {
  const o = { ...defaults };
  for (const a of argv) {
    const i = a.indexOf('=');
    const [k, v] = i < 0 ? [a, undefined] : [a.slice(0, i), a.slice(i + 1)];
    if (k === '--target') o.target = v;
    else if (k.startsWith('--') && numbers.includes(k.slice(2))) o[k.slice(2)] = Number(v);
    else if (k === '--json') o.json = v ?? path.join(HERE, 'results', jsonName);
    else if (k === '--help' || k === '-h') printHelp(scriptUrl);
    else if (!extra(k, v, o)) die(`unknown option ${a} (try --help)`);
  }
  if (!['sdk', 'conduit', 'both'].includes(o.target)) die(`--target must be sdk, conduit or both, got ${o.target}`);
  return o;
}

/** The targets that --target names, in run order. */
export const targetNames = (target) => (target === 'both' ? ['sdk', 'conduit'] : [target]);

// ---------------------------------------------------------------- environment
const LIVE = new Set();
/** Registers a child process to be killed when this process exits. */
export const track = (child) => { LIVE.add(child); child.once('exit', () => LIVE.delete(child)); return child; };

/** Kills the tracked children on exit; SIGINT/SIGTERM/SIGHUP exit with code 130 (so that happens). */
export function killChildrenOnExit() {
  process.on('exit', () => { for (const c of LIVE) c.kill('SIGKILL'); });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { process.stderr.write(`\n${sig}: stopping\n`); process.exit(130); });
}

export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
export const PIN = has('taskset');
export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The installed @modelcontextprotocol/sdk version, or '?'. */
export function sdkVersion() {
  try { return JSON.parse(readFileSync(path.join(ROOT, 'node_modules/@modelcontextprotocol/sdk/package.json'), 'utf8')).version; } catch { return '?'; }
}

// ---------------------------------------------------------------- /proc
/** pid and all its live descendants (children of every thread, recursively). */
function procTree(pid) {
  const seen = new Set();
  const visit = (p) => {
    if (seen.has(p)) return;
    seen.add(p);
    let tids = [];
    try { tids = readdirSync(`/proc/${p}/task`); } catch { return; }
    for (const t of tids) {
      let kids = '';
      try { kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8'); } catch { /* none */ }
      for (const k of kids.trim().split(/\s+/)) if (k) visit(Number(k));
    }
  };
  visit(pid);
  return [...seen];
}

/** utime+stime (clock ticks) of pid and all its live descendants (all threads included). */
export function cpuTicks(pid) {
  let total = 0;
  for (const p of procTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += Number(f[11]) + Number(f[12]); // fields 14 (utime) and 15 (stime)
    } catch { /* gone */ }
  }
  return total;
}

/** VmRSS in KB of pid plus its live descendants. */
export function rssKb(pid) {
  let total = 0;
  for (const p of procTree(pid)) {
    try { total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0); } catch { /* gone */ }
  }
  return total;
}

// ---------------------------------------------------------------- target servers
/** Arguments from an environment variable (split on white space), or none. */
export const envArgs = (name) => (process.env[name] ? process.env[name].split(/\s+/).filter(Boolean) : []);

/**
 * Spawns `node ...argv` from ROOT, pinned to CPU 0 with taskset when present (taskset execs
 * the program, so the child's pid is the server's), killed on exit. Returns the child and
 * its command line for printing (node and paths under ROOT shortened).
 */
export function spawnPinned(argv, stdio) {
  const args = [process.execPath, ...argv];
  const [cmd, ...rest] = PIN ? ['taskset', '-c', '0', ...args] : args;
  const printable = [cmd, ...rest].map((a) => a === process.execPath ? 'node' : a.startsWith(ROOT) ? path.relative(ROOT, a) : a).join(' ');
  const child = track(spawn(cmd, rest, { cwd: ROOT, stdio }));
  return { child, printable };
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the child has exited. */
export async function stopChild(child) {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(t);
}

/** The Streamable HTTP targets: node arguments for a server on 127.0.0.1:port. */
const HTTP_TARGETS = {
  sdk: (port) => [path.join(HERE, 'sdk-peer.mjs'), `--port=${port}`, ...envArgs('SDK_ARGS')],
  'sdk-v2': (port) => [path.join(HERE, 'sdk-v2-peer.mjs'), `--port=${port}`],
  conduit: (port) => [CONDUIT_MAIN, 'serve', '--port', String(port), '--workers', '1', ...envArgs('CONDUIT_ARGS')],
};

/** How an early exit is described: `code C, signal S[, error]`. */
const exitDetail = (x) => `code ${x.code}, signal ${x.signal}${x.error ? `, ${x.error.message}` : ''}`;

/**
 * Starts an HTTP target (see HTTP_TARGETS) and waits until its port accepts TCP connections
 * (its stdout is not relied upon), for at most 30 s. `describeExit` words an exit before
 * that ({ code, signal } or { code: null, signal: null, error }). Returns { pid, command,
 * output(), stop() }.
 */
export async function startHttpServer(name, port, { describeExit = exitDetail } = {}) {
  const { child, printable } = spawnPinned(HTTP_TARGETS[name](port), ['ignore', 'pipe', 'pipe']);
  let output = '';
  const keep = (d) => { output = (output + d.toString()).slice(-4000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  child.once('exit', (code, signal) => { exited = { code, signal }; });
  child.once('error', (e) => { exited = { code: null, signal: null, error: e }; });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      throw new Error(`${name}: server exited before listening (${describeExit(exited)})\n  command: ${printable}\n  output: ${output.trim() || '(none)'}`);
    }
    if (await tcpConnects(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name}: port ${port} did not accept connections within 30 s\n  command: ${printable}\n  output: ${output.trim() || '(none)'}`);
    }
    await sleep(100);
  }
  return {
    pid: child.pid, command: printable, output: () => output,
    stop: async () => { if (!exited) await stopChild(child); },
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function tcpConnects(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.setTimeout(500, () => done(false));
  });
}

// ---------------------------------------------------------------- MCP messages
/** initialize (id 0), as every benchmark client sends it. */
export const INITIALIZE = {
  jsonrpc: '2.0', id: 0, method: 'initialize',
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'conduit-mcp-bench', version: '1.0.0' } },
};
export const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' };
/** tools/call echo {"message":"hello"} with id 1. */
export const ECHO_CALL = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hello' } } };

/** The JSON-RPC messages of a response body, JSON or SSE (data: lines). */
export function messagesOf(contentType, text) {
  if ((contentType ?? '').includes('text/event-stream')) {
    const out = [];
    for (const ev of text.split(/\r?\n\r?\n/)) {
      const data = ev.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data) { try { out.push(JSON.parse(data)); } catch { /* not JSON */ } }
    }
    return out;
  }
  try { const j = JSON.parse(text); return Array.isArray(j) ? j : [j]; } catch { return []; }
}

/** Throws unless the HTTP answer ({ status, text }) to notifications/initialized is 200, 202 or 204. */
export function checkInitialized(note) {
  if (note.status !== 202 && note.status !== 200 && note.status !== 204) {
    throw new Error(`notifications/initialized: HTTP ${note.status}: ${note.text.slice(0, 300)}`);
  }
}

// ---------------------------------------------------------------- running and reporting
/**
 * bench(name) for each name, one after the other, into `results` (names already failed
 * there are skipped). A throw is printed loudly and recorded as { error: message };
 * `hasErrors(result)` tells whether a run that finished had errors. Returns whether any failed.
 */
export async function runTargets(names, bench, hasErrors, results) {
  let failed = false;
  for (const name of names) {
    if (results[name]?.error) continue;
    try {
      results[name] = await bench(name);
      if (hasErrors(results[name])) failed = true;
    } catch (e) {
      failed = true;
      results[name] = { error: e.message };
      console.error(`\n!!!! ${name} FAILED: ${e.message}`);
    }
  }
  return failed;
}

export const fmtN = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
export const fmtF = (n, d) => (Number.isFinite(n) ? n.toFixed(d) : '—');
export const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `×${(a / b).toFixed(2)}` : '—');
/** The first line of an error, fit for a Markdown table cell. */
export const errorCell = (error) => error.split('\n')[0].replace(/\|/g, '\\|');

/**
 * The end of a run: the FAILED note, the JSON file (o.json, when asked for: `data()`, as
 * `<prefix>: wrote FILE` says on stderr) and the exit code (1 when anything failed).
 */
export function finish({ failed, json, prefix, data }) {
  if (failed) console.log('\n**Some runs FAILED or had errors; see above.**');
  if (json) {
    mkdirSync(path.dirname(json), { recursive: true });
    writeFileSync(json, JSON.stringify(data(), null, 2) + '\n');
    console.error(`${prefix}: wrote ${json}`);
  }
  process.exitCode = failed ? 1 : 0;
}
