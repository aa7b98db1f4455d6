#!/usr/bin/env node
// MCP 2026-07-28 (stateless) tools/call echo under load, side by side in one run:
//   sdk-v2:        the official SDK v2 (createMcpHandler on node:http, bench/mcp/sdk-v2-peer.mjs)
//   conduit-2026:  conduit serve --workers 1, the same request on the stateless path
//   conduit-2025:  conduit serve --workers 1, tools/call echo on a 2025-11-25 session (the
//                  session path, for "no slower than Conduit's own 2025 path")
// Each server pinned to CPU 0 (taskset), wrk pinned to CPU 1; c = 1, 16, 64; unique request
// ids (built in wrk's request()). Reports req/s, p50/p99, and the server's CPU per call
// (utime+stime from /proc over the measured run ÷ requests), with ratios. 127.0.0.1 only.
//
//   node bench/mcp/stateless.mjs [--duration=5] [--conns=1,16,64]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLK_TCK, cpuTicks, fmtF, fmtN, freePort, killChildrenOnExit, PIN, startHttpServer } from './common.mjs';

killChildrenOnExit();
const opt = (k, d) => (process.argv.find((a) => a.startsWith(`--${k}=`)) ?? `--${k}=${d}`).split('=')[1];
const DURATION = Number(opt('duration', 5));
const CONNS = opt('conns', '1,16,64').split(',').map(Number);
const V = '2026-07-28';
const dir = mkdtempSync(path.join(os.tmpdir(), 'conduit-mcp-stateless-'));

const META = { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'wrk', version: '1' } };
const body2026 = (id) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hello' }, _meta: META } });
const body2025 = (id) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hello' } } });

function lua(headers, bodyOf) {
  // (the body with a placeholder id, split around it: request() joins the parts with a counter)
  const [pre, post] = bodyOf('__ID__').split('"__ID__"');
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.lua`);
  writeFileSync(file, `local counter = 0
local tid = 0
local pre = ${JSON.stringify(pre)}
local post = ${JSON.stringify(post)}
setup = function(thread) thread:set("tid", tid); tid = tid + 1 end
init = function() tid = tid end
wrk.method = "POST"
${Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join('\n')}
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, pre .. tostring(tid * 1000000000 + counter) .. post)
end
done = function(summary, latency, requests)
  io.write(string.format("LAT %f %f %d %d\\n", latency:percentile(50)/1000, latency:percentile(99)/1000, summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
`);
  return file;
}

function wrk(port, c, script, seconds) {
  const args = ['-t', String(c === 1 ? 1 : 2), '-c', String(c), '-d', `${seconds}s`, '-s', script, `http://127.0.0.1:${port}/mcp`];
  const r = spawnSync(PIN ? 'taskset' : 'wrk', PIN ? ['-c', '1', 'wrk', ...args] : args, { encoding: 'utf8' });
  const m = /LAT ([\d.]+) ([\d.]+) (\d+) (\d+)/.exec(r.stdout);
  if (m === null) throw new Error(`wrk failed: ${r.stdout}${r.stderr}`);
  return { p50: Number(m[1]), p99: Number(m[2]), requests: Number(m[3]), errors: Number(m[4]) };
}

const base = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
const h2026 = { ...base, 'MCP-Protocol-Version': V, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo' };

async function check(port, headers, body) {
  const r = await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers, body });
  const t = await r.text();
  if (r.status !== 200 || !t.includes('hello')) throw new Error(`check failed: HTTP ${r.status} ${t.slice(0, 300)}`);
  return t;
}

async function measure(name, server, headersOf) {
  const port = await freePort();
  const s = await startHttpServer(server, port);
  const rows = [];
  try {
    const headers = await headersOf(port);
    const bodyOf = name === 'conduit-2025' ? body2025 : body2026;
    console.error(`${name}: ${(await check(port, headers, bodyOf(1))).slice(0, 160).replace(/\n/g, ' ')}`);
    const script = lua(headers, bodyOf);
    wrk(port, Math.max(...CONNS), script, 3); // (warm: JIT, the SDK's lazy paths)
    for (const c of CONNS) {
      wrk(port, c, script, 1);
      const t0 = cpuTicks(s.pid);
      const r = wrk(port, c, script, DURATION);
      const cpuUs = ((cpuTicks(s.pid) - t0) / CLK_TCK) * 1e6 / r.requests;
      rows.push({ target: name, c, rps: r.requests / DURATION, p50: r.p50, p99: r.p99, cpuUs, errors: r.errors });
      console.error(`${name} c=${c}: ${fmtN(r.requests / DURATION)} req/s, p50 ${fmtF(r.p50, 2)} ms, p99 ${fmtF(r.p99, 2)} ms, ${fmtF(cpuUs, 1)} µs CPU/call${r.errors ? `, ${r.errors} ERRORS` : ''}`);
    }
  } finally {
    await s.stop();
  }
  return rows;
}

const all = [
  ...(await measure('sdk-v2', 'sdk-v2', async () => h2026)),
  ...(await measure('conduit-2026', 'conduit', async () => h2026)),
  ...(await measure('conduit-2025', 'conduit', async (port) => {
    const init = await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers: base, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'wrk', version: '1' } } }) });
    const sid = init.headers.get('mcp-session-id');
    await init.text();
    const h = { ...base, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' };
    await (await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
    return h;
  })),
];

console.log(`\nMCP tools/call echo, ${DURATION} s per level; servers pinned to core 0, wrk to core 1; node ${process.version}\n`);
console.log('| c | SDK v2 req/s | Conduit 2026 req/s | Conduit 2025 req/s | SDK v2 CPU µs/call | Conduit 2026 CPU µs/call | Conduit 2025 CPU µs/call | SDK v2 ÷ Conduit 2026 (CPU) | Conduit 2026 p50 / p99 ms | SDK v2 p50 / p99 ms |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const c of CONNS) {
  const [s, m, o] = ['sdk-v2', 'conduit-2026', 'conduit-2025'].map((t) => all.find((r) => r.target === t && r.c === c));
  console.log(`| ${c} | ${fmtN(s.rps)} | ${fmtN(m.rps)} | ${fmtN(o.rps)} | ${fmtF(s.cpuUs, 1)} | ${fmtF(m.cpuUs, 1)} | ${fmtF(o.cpuUs, 1)} | ×${fmtF(s.cpuUs / m.cpuUs, 1)} | ${fmtF(m.p50, 2)} / ${fmtF(m.p99, 2)} | ${fmtF(s.p50, 2)} / ${fmtF(s.p99, 2)} |`);
}
if (all.some((r) => r.errors > 0)) {
  console.error('errors in some runs (see above)');
  process.exitCode = 1;
}
