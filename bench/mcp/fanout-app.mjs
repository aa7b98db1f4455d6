// Config for bench/mcp/fanout.mjs:
//   node dist/cli/main.js serve --config bench/mcp/fanout-app.mjs --port 0 --workers 1
//
// The HTTP app allows 30,000 connections (the default is 1,024), so that one process can
// hold 10,000+ standalone SSE streams. The MCP server has one tool, `fanout`, which sends
// one notifications/message to every initialized session (McpServer.broadcast: the bus
// delivers it synchronously to each session's standalone GET stream) and answers with how
// long that synchronous loop took inside the server. `stats` (below) serves the RSS readings.
import { performance } from 'node:perf_hooks';
import { createServer, createMcpServer } from '../../dist/index.js';

export default createServer({ maxConnections: 30000 });

export const mcp = createMcpServer({ name: 'fanout', version: '1' });

mcp.tool('fanout', {
  description: 'Broadcast one notifications/message (data: {seq, sentAt}) to every session',
  inputSchema: { type: 'object', properties: { n: { type: 'number' } } },
}, ({ n = 0 }) => {
  const sessions = mcp.sessionCount;
  const t0 = performance.now();
  // sentAt: wall clock with sub-ms precision (comparable across processes on one host).
  mcp.broadcast('notifications/message', { level: 'info', logger: 'fanout', data: { seq: n, sentAt: performance.timeOrigin + t0 } });
  const broadcastMs = performance.now() - t0;
  return { seq: n, sessions, broadcastMs };
});

// For RSS readings: a full GC first when the server runs with --expose-gc (fanout.mjs
// starts it so), then the V8 view of memory and the number of live sessions.
mcp.tool('stats', { description: 'GC (when exposed), then process.memoryUsage() and the session count' }, () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, sessions: mcp.sessionCount, gc: typeof globalThis.gc === 'function' };
});
