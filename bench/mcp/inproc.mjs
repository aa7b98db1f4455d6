#!/usr/bin/env node
// The MCP layer alone, in process: tools/call echo through the Streamable HTTP endpoint's
// POST handler with a stand-in request and response (no sockets, no HTTP parsing): what
// Conduit's MCP code costs per call on top of the HTTP server. load.mjs measures the
// whole server against the SDK; this isolates the part this layer owns.
//
//   node bench/mcp/inproc.mjs [calls per round]     (default 200,000; 4 rounds; needs dist/)
import { StreamableHttp } from '../../dist/index.js';
import { demoMcpServer } from '../../dist/app/demo-mcp.js';
const mcp = demoMcpServer();
const t = new StreamableHttp(mcp, {});
const routes = {}; t.mount({ route: (m, p, h) => (routes[m] = h) });
const body = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}');
class Req { constructor(h, b) { this.h = h; this.b = b; this.method = 'POST'; this.query = new URLSearchParams(); }
  header(n) { return this.h[n]; } async *stream() { yield this.b; } bytes() { return Promise.resolve(this.b); } }
class Res { constructor() { this.sent = false; this.code = 200; this.hdr = null; this.out = null; }
  status(c) { this.code = c; return this; } header(k, v) { (this.hdr ??= []).push(k, v); return this; } send(b) { this.sent = true; this.out = b; } onAborted() {} sse() { throw new Error('sse'); } }
const base = { host: '127.0.0.1:3000', accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const ir = new Res();
await routes.POST(new Req(base, Buffer.from('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}')), ir);
const sid = ir.hdr[ir.hdr.indexOf('Mcp-Session-Id') + 1];
const h = { ...base, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25', 'content-length': String(body.length) };
let id = 0;
async function one() { const r = new Res(); const b = Buffer.from(body); await routes.POST(new Req(h, b), r); if (!r.sent) throw new Error('not sent'); return r; }
console.log((await one()).out);
for (let round = 0; round < 4; round++) {
  const N = Number(process.argv[2] ?? 200000); const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await one();
  const dt = Number(process.hrtime.bigint() - t0) / N;
  console.log(`${dt.toFixed(0)} ns per tools/call (MCP layer only, incl. fake req/res)`);
}
