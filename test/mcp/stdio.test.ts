// MCP over stdio, as a client spawns it (`conduit serve --stdio`) and in process
// (serveStdio): stdout carries JSON-RPC only, a malformed line is answered with -32700 and
// the server reads on, a line past the limit is refused and skipped, EOF ends it cleanly.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createMcpServer } from '../../src/mcp/server.js';
import { serveStdio } from '../../src/mcp/transports/stdio.js';
import type { ProtocolSession } from '../../src/mcp/protocol.js';

const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });

describe('conduit serve --stdio', () => {
  it('answers line by line, -32700 for a malformed line and on it goes; stdout is JSON-RPC only; EOF exits 0', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exit = new Promise<number | null>((r) => child.on('exit', r));
    child.stdin.write(`${INIT}\n`);
    child.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\r\n'); // (CRLF is fine)
    child.stdin.write('this is not json\n');
    child.stdin.write('\n   \n'); // (blank lines are skipped)
    child.stdin.write(Buffer.from([0xff, 0xfe, 0x7b, 0x0a])); // (bytes that are not UTF-8)
    child.stdin.write('[{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message":"split ');
    child.stdin.write('across writes"}}}]\n');
    child.stdin.write('{"jsonrpc":"2.0","id":4,"method":"no/such"}\n');
    child.stdin.end();
    expect(await exit).toBe(0);
    const lines = out.split('\n').filter((l) => l !== '');
    const msgs = lines.map((l) => JSON.parse(l)); // (every stdout line is JSON)
    for (const m of msgs) expect(m.jsonrpc).toBe('2.0');
    expect(msgs[0]).toMatchObject({ id: 1, result: { serverInfo: { name: 'conduit-demo' } } });
    const errors = msgs.filter((m) => m.id === null).map((m) => m.error.code);
    expect(errors).toEqual([-32700, -32700]);
    expect(msgs.find((m) => m.id === 2)).toEqual({ jsonrpc: '2.0', id: 2, result: {} });
    expect(msgs.find((m) => m.id === 3).result.content).toEqual([{ type: 'text', text: 'split across writes' }]);
    expect(msgs.find((m) => m.id === 4).error.code).toBe(-32601);
    expect(err).toMatch(/^conduit serve: MCP server conduit-demo 0\.1\.0 on stdio\n$/);
  });

  it('serves the models as tools over stdio too (infer_demo), logging to stderr only', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--stdio', '--device', 'cpu'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exit = new Promise<number | null>((r) => child.on('exit', r));
    child.stdin.write(`${INIT}\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n`);
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'infer_demo', arguments: { data: Array.from({ length: 16 }, (_, i) => i / 16) } } })}\n`);
    for (let i = 0; i < 500 && !out.includes('"id":3'); i++) await new Promise((r) => setTimeout(r, 10));
    child.stdin.end();
    expect(await exit).toBe(0);
    const msgs = out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    expect(msgs.find((m) => m.id === 2).result.tools.map((t: { name: string }) => t.name)).toContain('infer_demo');
    expect(msgs.find((m) => m.id === 3).result.structuredContent.outputs).toEqual([expect.objectContaining({ name: 'output', shape: [1, 4] })]);
    expect(err).toMatch(/model demo: .* on cpu/);
  });

  it('--stdio with a config that has no MCP server says so and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-stdio-'));
    const file = join(dir, 'routes-only.mjs');
    writeFileSync(file, 'export default (app) => { app.get("/x", () => "x"); };\n');
    const child = spawn(process.execPath, [BIN, 'serve', '--stdio', '--config', file], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(1);
    expect(err).toMatch(/^conduit serve: --stdio needs an MCP server: config .* has no 'mcp' export/);
  });
});

describe('serveStdio', () => {
  it('refuses a line longer than maxLineBytes (-32600) and reads the next one', async () => {
    const server = createMcpServer({ name: 's', version: '1' });
    const input = new PassThrough();
    const output = new PassThrough();
    let out = '';
    output.on('data', (d) => (out += d));
    const served = serveStdio(server, { input, output, maxLineBytes: 64 });
    input.write(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"${'x'.repeat(40)}`);
    input.write(`${'y'.repeat(100)}"}}\n`);
    input.write('{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    input.end();
    await served.closed;
    const msgs = out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    expect(msgs).toEqual([
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: a line longer than 64 bytes' } },
      { jsonrpc: '2.0', id: 2, result: {} },
    ]);
    expect((served.session as ProtocolSession).isClosed).toBe(true);
  });
});
