// serveSdkServer: a server written against the official SDK 1.x runs behind Conduit's
// transports unchanged, and an SDK client talks to it.
import { afterEach, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { McpServer as SdkMcpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { createServer, type App } from '../../src/http/app.js';
import { serveMcp } from '../../src/mcp/serve.js';
import { serveSdkServer } from '../../src/mcp/sdk-adapter.js';
import { serveStdio } from '../../src/mcp/transports/stdio.js';

/** A server as an SDK user writes it (zod raw shapes, progress through extra.sendNotification). */
function sdkServer(): SdkMcpServer {
  const s = new SdkMcpServer({ name: 'sdk-app', version: '1.2.3' });
  s.registerTool('echo', { description: 'echo', inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
  s.registerTool('count', { description: 'progress', inputSchema: { n: z.number() } }, async ({ n }, extra) => {
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= n; i++) {
      if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: n } });
    }
    return { content: [{ type: 'text', text: `counted ${n}` }] };
  });
  s.registerResource('info', 'sdk://info', { mimeType: 'text/plain' }, async (uri) => ({ contents: [{ uri: uri.href, text: 'from the sdk' }] }));
  return s;
}

let app: App | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

async function start(): Promise<string> {
  app = createServer();
  serveMcp(app, serveSdkServer(sdkServer));
  const { port } = await app.listen({ port: 0 });
  return `http://127.0.0.1:${port}`;
}

describe('serveSdkServer', () => {
  it('serves an SDK McpServer on Streamable HTTP to the SDK client (tools, progress, resources)', async () => {
    const base = await start();
    const client = new Client({ name: 't', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    expect(client.getServerVersion()).toMatchObject({ name: 'sdk-app', version: '1.2.3' });
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo', 'count']);
    expect(await client.callTool({ name: 'echo', arguments: { message: 'hi' } })).toEqual({ content: [{ type: 'text', text: 'hi' }] });
    const seen: number[] = [];
    const r = await client.callTool({ name: 'count', arguments: { n: 3 } }, undefined, { onprogress: (p) => seen.push(p.progress) });
    expect(r.content).toEqual([{ type: 'text', text: 'counted 3' }]);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect((await client.readResource({ uri: 'sdk://info' })).contents[0]).toMatchObject({ text: 'from the sdk' });
    await client.close();
  });

  it('serves one SDK server per session (two clients at once), and the legacy SSE transport', async () => {
    const base = await start();
    const a = new Client({ name: 'a', version: '1' });
    const b = new Client({ name: 'b', version: '1' });
    await a.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    await b.connect(new SSEClientTransport(new URL(`${base}/sse`)));
    const [ra, rb] = await Promise.all([
      a.callTool({ name: 'echo', arguments: { message: 'a' } }),
      b.callTool({ name: 'echo', arguments: { message: 'b' } }),
    ]);
    expect(ra.content).toEqual([{ type: 'text', text: 'a' }]);
    expect(rb.content).toEqual([{ type: 'text', text: 'b' }]);
    await a.close();
    await b.close();
  });

  it('serves an SDK server instance on stdio (newline-delimited JSON-RPC)', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const served = serveStdio(serveSdkServer(sdkServer()), { input, output });
    const lines: Array<Record<string, unknown>> = [];
    let buf = '';
    output.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
    });
    input.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } })}\n`);
    input.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
    input.write('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"via stdio"}}}\n');
    const deadline = Date.now() + 5000;
    while (lines.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(lines[0]).toMatchObject({ id: 1, result: { protocolVersion: '2025-06-18', serverInfo: { name: 'sdk-app' } } });
    expect(lines[1]).toEqual({ jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'via stdio' }] } });
    input.end();
    await served.closed;
  });
});
