// Both protocol eras on one endpoint, as the official clients use them, in one run against
// one `conduit serve` (the conformance app, from the built package):
//   - SDK v2 (@modelcontextprotocol/client 2.4) in its three modes: legacy (2025 sessions),
//     versionNegotiation 'auto' (probes server/discover, then 2026-07-28 stateless) and
//     pinned to 2026-07-28: list tools, call one, an elicitation round trip (a real
//     server→client request on 2025; input_required rounds on 2026, the same handler), and
//     a tools/list_changed notification (the GET stream on 2025; subscriptions/listen on 2026);
//   - SDK v1 (@modelcontextprotocol/sdk) on the same endpoint at the same time.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'dist/cli/main.js');
let server: ChildProcess;
let url: URL;

beforeAll(async () => {
  server = spawn(process.execPath, [BIN, 'serve', '--config', join(ROOT, 'test/mcp/conformance-app.ts'), '--port', '0', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise<URL>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve(new URL(`http://localhost:${m[1]}/mcp`));
    });
    server.on('exit', (code) => reject(new Error(`conduit serve exited ${code}: ${out}`)));
  });
});
afterAll(() => {
  server?.kill('SIGKILL');
});

const MODES = [
  ['legacy', 'legacy', '2025-11-25'],
  ['auto (probes server/discover)', 'auto', '2026-07-28'],
  ['pinned 2026-07-28', { pin: '2026-07-28' }, '2026-07-28'],
] as const;

describe('SDK v2 client, three modes, and SDK v1, on one endpoint', () => {
  it.each(MODES)('v2 %s: tools, an elicitation round trip, list_changed', async (_name, mode, era) => {
    let changed: (tools: unknown[]) => void = () => {};
    const gotChange = new Promise<unknown[]>((r) => (changed = r));
    const client = new ClientV2({ name: 'v2-test', version: '1.0.0' }, {
      capabilities: { elicitation: {} },
      versionNegotiation: { mode },
      listChanged: { tools: { onChanged: (error: unknown, tools: unknown[] | null) => { if (!error && tools) changed(tools); } } },
    } as never);
    const asked: unknown[] = [];
    client.setRequestHandler('elicitation/create' as never, (async (req: { params: unknown }) => {
      asked.push(req.params);
      return { action: 'accept', content: { name: 'Ada' } };
    }) as never);
    const transport = new TransportV2(url);
    await client.connect(transport);
    try {
      const c = client as unknown as { getNegotiatedProtocolVersion?(): string };
      expect(c.getNegotiatedProtocolVersion?.() ?? (transport as unknown as { protocolVersion?: string }).protocolVersion).toBe(era);
      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools).toEqual(expect.arrayContaining(['test_simple_text', 'test_input_required_result_elicitation']));
      const simple = await client.callTool({ name: 'test_simple_text', arguments: {} });
      expect(simple.content).toEqual([{ type: 'text', text: 'This is a simple text response for testing.' }]);
      const hello = await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} });
      expect(hello.content).toEqual([{ type: 'text', text: 'Hello, Ada!' }]);
      expect(asked).toEqual([expect.objectContaining({ message: 'What is your name?' })]);
      // (give the list_changed subscription a moment to be in place, then change the list)
      await new Promise((r) => setTimeout(r, 100));
      await client.callTool({ name: 'test_trigger_tool_change', arguments: {} });
      const after = await Promise.race([gotChange, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
      expect(after, 'tools/list_changed reached the client').not.toBeNull();
    } finally {
      await client.close();
    }
  }, 20_000);

  it('v1 (@modelcontextprotocol/sdk) on the same endpoint, alongside', async () => {
    const client = new ClientV1({ name: 'v1-test', version: '1.0.0' }, { capabilities: {} });
    await client.connect(new TransportV1(url));
    try {
      expect((await client.listTools()).tools.length).toBeGreaterThan(10);
      const r = await client.callTool({ name: 'test_simple_text', arguments: {} });
      expect(r.content).toEqual([{ type: 'text', text: 'This is a simple text response for testing.' }]);
    } finally {
      await client.close();
    }
  });
});
