#!/usr/bin/env node
// Heap per idle MCP session, exactly: N sessions opened in process through the Streamable
// HTTP endpoint's POST handler (initialize + notifications/initialized, as a client with
// sampling/elicitation/roots capabilities sends them), heapUsed compared after full GCs.
// No sockets: what a session itself costs, apart from any connection (sessions.mjs and
// fanout.mjs measure the RSS of a running server with real clients).
//
//   node --expose-gc bench/mcp/session-heap.mjs [N]        (default 10,000; needs dist/)
if (typeof gc !== 'function') { console.error('run with node --expose-gc'); process.exit(2); }
import { StreamableHttp } from '../../dist/index.js';
import { demoMcpServer } from '../../dist/app/demo-mcp.js';
const mcp = demoMcpServer();
const t = new StreamableHttp(mcp, {});
const routes = {}; t.mount({ route: (m, p, h) => (routes[m] = h) });
class Req { constructor(h, b) { this.h = h; this.b = b; this.method = 'POST'; this.query = new URLSearchParams(); } header(n) { return this.h[n]; } async *stream() { yield this.b; } bytes() { return Promise.resolve(this.b); } }
class Res { constructor() { this.sent = false; } status() { return this; } header(k, v) { if (k === 'Mcp-Session-Id') this.sid = v; return this; } send(b) { this.sent = true; } onAborted() {} }
const base = { host: '127.0.0.1:3000', accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const init = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } }, clientInfo: { name: 'inspector-client', version: '0.17.0' } } }));
const initd = Buffer.from('{"jsonrpc":"2.0","method":"notifications/initialized"}');
async function open() { const r = new Res(); await routes.POST(new Req(base, init), r); const r2 = new Res(); await routes.POST(new Req({ ...base, 'mcp-session-id': r.sid }, initd), r2); }
for (let i = 0; i < 100; i++) await open();
gc(); gc(); const h0 = process.memoryUsage().heapUsed;
const N = Number(process.argv[2] ?? 10000); for (let i = 0; i < N; i++) await open();
gc(); gc(); const h1 = process.memoryUsage().heapUsed;
if (t.sessions.size < N) {
  console.error(`!!!! only ${t.sessions.size} of ${N + 100} sessions opened: the figure below is meaningless`);
  process.exitCode = 1;
}
console.log(`sessions ${t.sessions.size}; heap per idle session ${((h1 - h0) / N).toFixed(0)} B`);
