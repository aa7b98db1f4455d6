#!/usr/bin/env node
// Memory per idle connection on 127.0.0.1: Conduit (native and node:net transports)
// against node:http, for idle keep-alive connections (one request answered, then quiet)
// and for idle SSE streams (subscribed, one comment received, then quiet).
// Run: `npm run build && node bench/idle-memory.mjs [connections]` (default 10,000; the
// client needs that many descriptors, `ulimit -n`). Bounded: local ports only, one round
// of connections per server, closed at the end.
//
// Reported: the server's RSS after opening N connections minus its RSS before (both
// after a full GC), divided by N. The server runs in its own process. Written to
// bench/results/idle-memory.json (bytes per connection).
//
// The floor of the node:net transport is measured the same way: "node:net socket alone"
// holds each socket with nothing of its own but the listeners every socket shares (and
// answers each request with a fixed response). Its figure is node's: the Socket and its
// stream states, the TCP handle, and the young generation of V8's heap, which V8 grows
// (up to 2 x 16 MiB) as objects survive, so that the more a connection holds, the more it
// grows: at 10,000 connections, about 1.4 KiB per connection for the socket alone and
// 2.3 KiB on the node:net transport.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { benchResult, fmt, machineLine, saveResult } from './lib.mjs';

const N = Number(process.argv[2] ?? 10_000);
const DIST = new URL('../dist/index.js', import.meta.url).href;
const RESULTS_FILE = fileURLToPath(new URL('./results/idle-memory.json', import.meta.url));

const conduit = (transport) => `import { createServer } from ${JSON.stringify(DIST)};
const app = createServer({ keepAliveTimeout: 600000, maxConnections: ${N + 100}, transport: '${transport}' });
app.get('/', (req, res) => { res.header('Content-Type', 'text/plain').send('hello world'); });
app.get('/events', (req, res) => { res.sse({ heartbeatMs: 0 }).comment('hi'); });
const { port } = await app.listen({ port: 0 });`;
const SERVERS = {
  'Conduit, native transport': conduit('native'),
  'Conduit, node:net transport': conduit('net'),
  'node:net socket alone': `import net from 'node:net';
const OK = Buffer.from('HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: 11\\r\\n\\r\\nhello world');
const SSE = Buffer.from('HTTP/1.1 200 OK\\r\\nContent-Type: text/event-stream\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n6\\r\\n: hi\\n\\n\\r\\n');
function onData(d) { this.write(d.includes('/events') ? SSE : OK); }
function onEnd() { this.end(); }
function ignore() {}
const s = net.createServer({ allowHalfOpen: true, noDelay: true }, (c) => { c.on('data', onData); c.on('end', onEnd); c.on('error', ignore); c.on('close', ignore); });
s.maxConnections = ${N + 100};
await new Promise((r) => s.listen(0, '127.0.0.1', r));
const port = s.address().port;`,
  'node:http': `import http from 'node:http';
const s = http.createServer((req, res) => {
  if (req.url === '/events') { res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' }); res.write(': hi\\n\\n'); return; }
  res.setHeader('Content-Type', 'text/plain'); res.end('hello world');
});
s.keepAliveTimeout = 600000; s.headersTimeout = 600000; s.requestTimeout = 0; s.maxConnections = ${N + 100};
await new Promise((r) => s.listen(0, '127.0.0.1', r));
const port = s.address().port;`,
};
// Each server script ends by printing its port, then answers "rss" lines on stdin with its
// RSS after a full GC.
const TAIL = `
console.log(port);
process.stdin.setEncoding('utf8');
process.stdin.on('data', () => { globalThis.gc(); globalThis.gc(); setTimeout(() => console.log(process.memoryUsage().rss), 200); });`;

function startServer(code) {
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', code + TAIL], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  let waiting = null;
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    if (waiting !== null && lines.length > 0) {
      const w = waiting;
      waiting = null;
      w(lines.shift());
    }
  });
  const next = () => new Promise((r) => (lines.length > 0 ? r(lines.shift()) : (waiting = r)));
  return {
    child,
    port: next().then(Number),
    rss: async () => {
      child.stdin.write('rss\n');
      return Number(await next());
    },
  };
}

/** Opens one connection, sends the request, resolves once the first response bytes came. */
function open(port, path) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`));
    s.once('data', () => resolve(s));
    s.on('error', reject);
  });
}

async function measure(code, path) {
  const server = startServer(code);
  const port = await server.port;
  // Warm up (code paths, pools), then the baseline.
  const warm = await Promise.all(Array.from({ length: 200 }, () => open(port, path)));
  for (const s of warm) s.destroy();
  await new Promise((r) => setTimeout(r, 300));
  const before = await server.rss();
  const socks = [];
  for (let i = 0; i < N; i += 500) socks.push(...(await Promise.all(Array.from({ length: Math.min(500, N - i) }, () => open(port, path)))));
  await new Promise((r) => setTimeout(r, 300));
  const after = await server.rss();
  for (const s of socks) s.destroy();
  server.child.kill();
  return (after - before) / N;
}

console.log(machineLine());
console.log(`connections: ${N}; server RSS delta per connection (after GC)\n`);
const results = {};
for (const [name, code] of Object.entries(SERVERS)) {
  const keepAlive = await measure(code, '/');
  const sse = await measure(code, '/events');
  results[name] = { keepAlive, sse };
  console.log(`${name.padEnd(28)} idle keep-alive ${fmt(keepAlive / 1024, 2).padStart(6)} KiB   idle SSE ${fmt(sse / 1024, 2).padStart(6)} KiB`);
}
const base = results['node:http'];
console.log('\nratio to node:http (lower is better):');
for (const [name, r] of Object.entries(results)) {
  if (name === 'node:http' || name === 'node:net socket alone') continue;
  console.log(`${name.padEnd(28)} keep-alive ${(r.keepAlive / base.keepAlive).toFixed(2)}x   SSE ${(r.sse / base.sse).toFixed(2)}x`);
}
const floor = results['node:net socket alone'];
const onNet = results['Conduit, node:net transport'];
console.log(`\nnode:net transport above its floor (node:net socket alone): keep-alive ${fmt((onNet.keepAlive - floor.keepAlive) / 1024, 2)} KiB   SSE ${fmt((onNet.sse - floor.sse) / 1024, 2)} KiB`);
saveResult(RESULTS_FILE, benchResult('idle-memory', { connections: N }, { bytesPerConnection: results }), {}, console.log);
