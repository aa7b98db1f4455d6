#!/usr/bin/env node
// The reference peer for the 2026-07-28 (stateless) benchmark: the official SDK v2
// (@modelcontextprotocol/server 2.4, devDependency) serving one tool, `echo`
// ({ message: string } -> { content: [{ type: 'text', text: message }] }), with
// createMcpHandler (both eras on one endpoint; a server per request, as the SDK builds it)
// on node:http through toNodeHandler (@modelcontextprotocol/node), bound to 127.0.0.1, the
// pattern of the SDK's README. Nothing here is tuned: it is what a user of the SDK writes.
//
//   node bench/mcp/sdk-v2-peer.mjs --port=<port>     (default 0: any free port; prints `listening <port>`)
import http from 'node:http';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { z } from 'zod';

const port = Number((process.argv.find((a) => a.startsWith('--port=')) ?? '--port=0').split('=')[1]);

const handler = createMcpHandler(() => {
  const server = new McpServer({ name: 'sdk-v2-peer', version: '1.0.0' });
  server.registerTool('echo', { description: 'Echoes the message back', inputSchema: z.object({ message: z.string() }) },
    async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
  return server;
});
const node = toNodeHandler(handler);
const server = http.createServer((req, res) => {
  if (req.url?.startsWith('/mcp')) return void node(req, res);
  res.writeHead(404).end();
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
