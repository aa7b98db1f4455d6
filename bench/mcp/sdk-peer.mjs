#!/usr/bin/env node
// The reference peer for the MCP benchmarks in bench/mcp/: an MCP server on the official
// @modelcontextprotocol/sdk 1.x (a devDependency), with one tool, `echo`
// ({ message: string } -> { content: [{ type: 'text', text: message }] }), the same tool
// the Conduit demo app serves.
//
// HTTP (default): McpServer + StreamableHTTPServerTransport on node:http, stateful, the
// usual pattern from the SDK's README: one transport (and one McpServer) per session,
// `sessionIdGenerator: () => randomUUID()`, transports kept in a Map keyed by session id.
// POST/GET/DELETE on /mcp, bound to 127.0.0.1. Prints `listening <port>` on stdout when
// ready.
//
//   node bench/mcp/sdk-peer.mjs [port]          (or PORT=<port>; default 0 = any free port)
//   node bench/mcp/sdk-peer.mjs --port=<port>
//   node bench/mcp/sdk-peer.mjs --json-response   answers POSTs with application/json
//                                                  (enableJsonResponse) instead of the SDK's
//                                                  default, a text/event-stream per request
//
// stdio: the same tool over StdioServerTransport (newline-delimited JSON-RPC on stdin/stdout).
//
//   node bench/mcp/sdk-peer.mjs --stdio
//
// Nothing here is tuned: it is what a user of the SDK writes.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

function makeServer() {
  const server = new McpServer({ name: 'sdk-peer', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echoes the message back', inputSchema: { message: z.string() } },
    async ({ message }) => ({ content: [{ type: 'text', text: message }] }),
  );
  return server;
}

const args = process.argv.slice(2);

if (args.includes('--stdio')) {
  const server = makeServer();
  await server.connect(new StdioServerTransport());
} else {
  let port = Number(process.env.PORT ?? 0);
  for (const a of args) {
    if (a.startsWith('--port=')) port = Number(a.slice(7));
    else if (/^\d+$/.test(a)) port = Number(a);
  }

  const jsonResponse = args.includes('--json-response');
  /** session id -> transport */
  const transports = new Map();

  const readJson = (req) => new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text === '') return resolve(undefined);
      try { resolve(JSON.parse(text)); } catch (e) { reject(e); }
    });
    req.on('error', reject);
  });

  const jsonError = (res, status, code, message) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
  };

  const httpServer = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/mcp') return jsonError(res, 404, -32601, 'Not found');
      const sid = req.headers['mcp-session-id'];
      if (req.method === 'POST') {
        let body;
        try { body = await readJson(req); } catch { return jsonError(res, 400, -32700, 'Parse error'); }
        let transport = typeof sid === 'string' ? transports.get(sid) : undefined;
        if (transport === undefined) {
          if (sid !== undefined || !isInitializeRequest(body)) {
            return jsonError(res, sid !== undefined ? 404 : 400, -32000,
              sid !== undefined ? 'Session not found' : 'Bad Request: No valid session ID provided');
          }
          transport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            enableJsonResponse: jsonResponse,
            onsessioninitialized: (id) => { transports.set(id, transport); },
          });
          transport.onclose = () => {
            if (transport.sessionId !== undefined) transports.delete(transport.sessionId);
          };
          await makeServer().connect(transport);
        }
        await transport.handleRequest(req, res, body);
        return;
      }
      if (req.method === 'GET' || req.method === 'DELETE') {
        const transport = typeof sid === 'string' ? transports.get(sid) : undefined;
        if (transport === undefined) return jsonError(res, sid === undefined ? 400 : 404, -32000, 'Invalid or missing session ID');
        await transport.handleRequest(req, res);
        return;
      }
      res.writeHead(405, { Allow: 'GET, POST, DELETE' }).end();
    } catch (e) {
      process.stderr.write(`sdk-peer: ${e?.stack ?? e}\n`);
      if (!res.headersSent) jsonError(res, 500, -32603, 'Internal server error');
      else res.end();
    }
  });
  // Long-lived keep-alive connections for the load generator.
  httpServer.keepAliveTimeout = 600_000;
  httpServer.headersTimeout = 0;
  httpServer.requestTimeout = 0;

  httpServer.listen(port, '127.0.0.1', () => {
    process.stdout.write(`listening ${httpServer.address().port}\n`);
  });
  const stop = () => {
    httpServer.close();
    httpServer.closeAllConnections?.();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
