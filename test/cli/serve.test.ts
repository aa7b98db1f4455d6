// `conduit serve`, started as a user starts it: the demo app, a config module, signals,
// and one-line errors.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeTransport } from '../../src/net/native.js';

const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const NATIVE = nativeTransport().module !== null;
const INDEX = new URL('../../dist/index.js', import.meta.url).href;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Starts `conduit serve ...args` and resolves with its URL once it listens. */
function start(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^/\s]+\/)/.exec(out);
      if (m) resolve({ child, url: m[1], exit });
    });
    child.stderr!.on('data', (d) => reject(new Error(String(d))));
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

describe('conduit serve', () => {
  it('serves the demo app on 127.0.0.1 and stops on SIGTERM with exit code 0', async () => {
    const { child, url, exit } = await start(['--port', '0']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await (await fetch(`${url}health`)).json()).toEqual({ status: 'ok' });
    const echo = await fetch(`${url}echo`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(await echo.text()).toBe('hello');
    expect(echo.headers.get('content-type')).toBe('text/plain');
    // The SSE clock: read the first event, then go away.
    const res = await fetch(`${url}events`, { headers: { 'last-event-id': '41' } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toMatch(/^id: 42\nevent: tick\ndata: \d{4}-\d\d-\d\dT/);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('loads an app from --config (a function adding routes)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
    const file = join(dir, 'app.mjs');
    writeFileSync(file, 'export default (app) => { app.get("/hi/:name", (req) => `hi ${req.params.name}`); };\n');
    const { url } = await start(['--port', '0', '--config', file]);
    expect(await (await fetch(`${url}hi/ana`)).text()).toBe('hi ana');
    expect((await fetch(`${url}health`)).status).toBe(404);
  });

  it('serves a config\'s MCP server (export mcp) with its own serveMcp options (export mcpOptions), and refuses bad ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
    const file = join(dir, 'tools.mjs');
    writeFileSync(file, `import { createMcpServer } from ${JSON.stringify(INDEX)};\n` +
      'export const mcp = createMcpServer({ name: "mine", version: "2.0.0" });\n' +
      'mcp.tool("hi", { description: "hi" }, () => "hi there");\n' +
      'mcp.resource("x://broken", { name: "broken" }, () => { throw new Error("reader exploded"); });\n' +
      'export const mcpOptions = { path: "/tools", legacySse: false };\n');
    const { url, child } = await start(['--port', '0', '--workers', '1', '--config', file]);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(`${url}tools`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) });
    expect(init.status).toBe(200);
    expect((await init.json()).result.serverInfo).toEqual({ name: 'mine', version: '2.0.0' });
    const sid = init.headers.get('mcp-session-id')!;
    const read = await fetch(`${url}tools`, { method: 'POST', headers: { ...headers, 'mcp-session-id': sid }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'x://broken' } }) });
    expect((await read.json()).error).toEqual({ code: -32603, message: 'reader exploded' });
    for (let i = 0; i < 100 && !stderr.includes('reader exploded'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(stderr).toMatch(/handler error: Error: reader exploded/);
    expect((await fetch(`${url}mcp`, { method: 'POST', headers, body: '{}' })).status).toBe(404);
    expect((await fetch(`${url}sse`)).status).toBe(404);
    const bad = join(dir, 'bad.mjs');
    writeFileSync(bad, 'export const mcp = { tool: 1 };\n');
    const r = spawnSync(process.execPath, [BIN, 'serve', '--port', '0', '--workers', '1', '--config', bad], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/'mcp' export must be an McpServer/);
  });

  it('serves the demo model with no config, and models given with --model (KServe v2); a model that cannot load is a 503 saying why', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i / 16) }] });
    const headers = { 'content-type': 'application/json' };
    const demo = await start(['--port', '0', '--workers', '1']);
    let log = '';
    demo.child.stderr!.on('data', (d) => (log += d));
    const r = await fetch(`${demo.url}v2/models/demo/infer`, { method: 'POST', headers, body });
    expect(r.status).toBe(200);
    expect((await r.json()).outputs[0]).toMatchObject({ name: 'output', datatype: 'FP32', shape: [1, 4] });
    // The model is an MCP tool too.
    const mh = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(`${demo.url}mcp`, { method: 'POST', headers: mh, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) });
    const sh = { ...mh, 'mcp-session-id': init.headers.get('mcp-session-id')! };
    const call = await fetch(`${demo.url}mcp`, { method: 'POST', headers: sh, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'infer_demo', arguments: { data: Array.from({ length: 32 }, (_, i) => i / 32) } } }) });
    const result = (await call.json()).result;
    expect(result.structuredContent.outputs).toEqual([expect.objectContaining({ name: 'output', shape: [2, 4] })]);
    const badCall = await fetch(`${demo.url}mcp`, { method: 'POST', headers: sh, body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'infer_demo', arguments: { data: [1, 2, 3] } } }) });
    expect((await badCall.json()).result).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/3 values are not whole rows of 16/) }] });
    for (let i = 0; i < 100 && !log.includes('model demo'); i++) await new Promise((res) => setTimeout(res, 10));
    expect(log).toMatch(/model demo: [\d.]+ KiB on (cpu|cuda) \(.*\), loaded in \d+ ms \(version 1\)/);

    const dir = mkdtempSync(join(tmpdir(), 'conduit-models-'));
    const { writeMlp, seededMlp } = await import(new URL('../../dist/ml/onnx-writer.js', import.meta.url).href) as typeof import('../../src/ml/onnx-writer.js');
    writeFileSync(join(dir, 'small.onnx'), writeMlp(seededMlp([2, 3], 1)));
    const mine = await start(['--port', '0', '--workers', '1', '--model', `small=${join(dir, 'small.onnx')}`, '--device', 'cpu']);
    const ok = await fetch(`${mine.url}v2/models/small/infer`, { method: 'POST', headers, body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }) });
    expect((await ok.json()).outputs[0].shape).toEqual([1, 3]);
    expect((await fetch(`${mine.url}v2/models/demo`)).status).toBe(404); // (no demo when models are given)
    // An explicit CUDA that does not load: a 503 that says why (where CUDA is there: a 200).
    const cuda = await start(['--port', '0', '--workers', '1', '--model', `small=${join(dir, 'small.onnx')}`, '--device', 'cuda']);
    const c = await fetch(`${cuda.url}v2/models/small/infer`, { method: 'POST', headers, body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }) });
    if (c.status !== 200) {
      expect(c.status).toBe(503);
      expect((await c.json()).error).toMatch(/CUDA execution provider is not available/);
    }

    // --models: Triton's layout with a config.json per model (batching, session options).
    const repo = mkdtempSync(join(tmpdir(), 'conduit-repo-'));
    mkdirSync(join(repo, 'clf', '3'), { recursive: true });
    writeFileSync(join(repo, 'clf', '3', 'model.onnx'), writeMlp(seededMlp([2, 3], 2)));
    writeFileSync(join(repo, 'clf', 'config.json'), JSON.stringify({ maxBatchSize: 4, device: 'cpu' }));
    const triton = await start(['--port', '0', '--workers', '1', '--models', repo]);
    const meta = await (await fetch(`${triton.url}v2/models/clf`)).json();
    expect(meta.versions).toEqual(['3']);
    writeFileSync(join(repo, 'clf', 'config.json'), JSON.stringify({ maxBatchSize: 0 }));
    const badConfig = spawnSync(process.execPath, [BIN, 'serve', '--models', repo], { encoding: 'utf8' });
    expect(badConfig.status).toBe(2);
    expect(badConfig.stderr).toMatch(/config\.json: maxBatchSize must be an integer ≥ 1, got 0/);
    writeFileSync(join(repo, 'clf', 'config.json'), JSON.stringify({ batch: 4 }));
    expect(spawnSync(process.execPath, [BIN, 'serve', '--models', repo], { encoding: 'utf8' }).stderr).toMatch(/unknown key 'batch'/);

    const bad = spawnSync(process.execPath, [BIN, 'serve', '--model', 'nopath'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--model takes NAME=PATH, got 'nopath'/);
    const size = spawnSync(process.execPath, [BIN, 'serve', '--model-memory', 'lots'], { encoding: 'utf8' });
    expect(size.stderr).toMatch(/--model-memory must be a size such as 512MiB or 2GiB, got 'lots'/);
  });

  it('a config declares models with app.model(): served by one worker, or by two (threads, processes) through the one inference service; bad options are refused at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-appmodel-'));
    const { writeMlp, seededMlp } = await import(new URL('../../dist/ml/onnx-writer.js', import.meta.url).href) as typeof import('../../src/ml/onnx-writer.js');
    writeFileSync(join(dir, 'm.onnx'), writeMlp(seededMlp([3, 2], 9)));
    const config = join(dir, 'app.mjs');
    writeFileSync(config, `export default (app) => { app.model('clf', ${JSON.stringify(join(dir, 'm.onnx'))}, { version: '7', maxBatchSize: 8, device: 'cpu' }); app.get('/x', () => 'x'); };\n`);
    const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] });
    for (const [workers, env] of [['1', {}], ['2', {}], ['2', { CONDUIT_TRANSPORT: 'net' }]] as const) {
      const s = await start(['--port', '0', '--workers', workers, '--config', config], env);
      const meta = await (await fetch(`${s.url}v2/models/clf`)).json();
      expect(meta.versions, `workers ${workers}`).toEqual(['7']);
      const r = await fetch(`${s.url}v2/models/clf/versions/7/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect((await r.json()).outputs[0].shape).toEqual([1, 2]);
      expect((await fetch(`${s.url}v2/models/demo`)).status).toBe(404);
      s.child.kill('SIGTERM');
      await s.exit;
    }
    writeFileSync(config, `export default (app) => { app.model('clf', ${JSON.stringify(join(dir, 'm.onnx'))}, { maxBatch: 8 }); };\n`);
    for (const workers of ['1', '2']) {
      const bad = spawnSync(process.execPath, [BIN, 'serve', '--port', '0', '--workers', workers, '--config', config], { encoding: 'utf8', timeout: 20_000 });
      expect(bad.status, `workers ${workers}: ${bad.stderr}`).toBe(1);
      expect(bad.stderr).toMatch(/app\.model\('clf'\): unknown key 'maxBatch'/);
    }
  });

  it('loads a TypeScript config (transpiled, types not checked) and leaves no temporary file behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
    const file = join(dir, 'app.ts');
    writeFileSync(file, `import type { App, Request } from ${JSON.stringify(INDEX)};\n` +
      'interface Greeting { text: string }\n' +
      'const greet = (req: Request): Greeting => ({ text: `hi ${req.params.name as string}` });\n' +
      'export default (app: App): void => { app.get("/hi/:name", (req) => greet(req)); };\n');
    const { url } = await start(['--port', '0', '--workers', '1', '--config', file]);
    expect(await (await fetch(`${url}hi/ts`)).json()).toEqual({ text: 'hi ts' });
    expect(readdirSync(dir)).toEqual(['app.ts']);
  });

  it('says in one line what is wrong: busy port, missing or invalid config, bad options', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const run = (args: string[]) => spawnSync(process.execPath, [BIN, 'serve', ...args], { encoding: 'utf8' });
      let r = run(['--port', String(port)]);
      expect([r.status, r.stderr]).toEqual([1, `conduit serve: cannot listen on 127.0.0.1:${port}: the port is already in use\n`]);
      r = run(['--config', '/nonexistent/app.mjs']);
      expect([r.status, r.stderr]).toEqual([1, 'conduit serve: cannot read config /nonexistent/app.mjs: no such file\n']);
      const dir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
      writeFileSync(join(dir, 'bad.mjs'), 'export default 42;\n');
      r = run(['--config', join(dir, 'bad.mjs')]);
      expect(r.stderr).toMatch(/^conduit serve: invalid config .*bad\.mjs: its default export must be/);
      writeFileSync(join(dir, 'broken.mjs'), 'export default (;\n');
      r = run(['--config', join(dir, 'broken.mjs')]);
      expect(r.stderr).toMatch(/^conduit serve: cannot load config .*broken\.mjs: /);
      writeFileSync(join(dir, 'throws.mjs'), 'export default (app) => { throw new Error("no database"); };\n');
      for (const workers of ['1', '2']) {
        r = run(['--port', '0', '--workers', workers, '--config', join(dir, 'throws.mjs')]);
        expect([r.status, r.stderr]).toEqual([1, `conduit serve: config ${join(dir, 'throws.mjs')} failed while setting up the app: no database\n`]);
      }
      expect(run(['--port', 'abc']).stderr).toBe("conduit serve: --port must be a number from 0 to 65535, got 'abc'\n");
      expect(run(['--frobnicate']).stderr).toBe("conduit serve: unknown option '--frobnicate' (try conduit serve --help)\n");
      expect(run(['--help']).stdout).toContain('--config <file>');
    } finally {
      busy.close();
    }
  });

  it.skipIf(!NATIVE)('--workers: a port another server holds is refused, not silently shared (SO_REUSEPORT)', async () => {
    const first = await start(['--port', '0', '--workers', '2']);
    const port = new URL(first.url).port;
    const r = spawnSync(process.execPath, [BIN, 'serve', '--port', port, '--workers', '2'], { encoding: 'utf8', timeout: 10_000 });
    expect([r.status, r.stderr]).toEqual([1, `conduit serve: cannot listen on 127.0.0.1:${port}: the port is already in use\n`]);
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
  });

  it.skipIf(!NATIVE)('--workers: two servers started together on one port: one listens, the other is refused (no probe-then-bind race)', async () => {
    for (let round = 0; round < 3; round++) {
      const free = net.createServer();
      await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
      const port = String((free.address() as net.AddressInfo).port);
      await new Promise((r) => free.close(r));
      const launch = () => {
        const child = spawn(process.execPath, [BIN, 'serve', '--port', port, '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        let out = '';
        let err = '';
        child.stdout!.on('data', (d) => (out += d));
        child.stderr!.on('data', (d) => (err += d));
        const listening = new Promise<boolean>((resolve) => {
          child.stdout!.on('data', () => { if (out.includes('listening on')) resolve(true); });
          child.on('exit', () => resolve(false));
        });
        return { child, listening, out: () => out, err: () => err };
      };
      const a = launch();
      await new Promise((r) => setTimeout(r, 50));
      const b = launch();
      const [upA, upB] = await Promise.all([a.listening, b.listening]);
      expect([upA, upB].filter(Boolean), `round ${round}: ${a.err()} ${b.err()}`).toHaveLength(1);
      const loser = upA ? b : a;
      expect(loser.err()).toBe(`conduit serve: cannot listen on 127.0.0.1:${port}: the port is already in use\n`);
      const winner = upA ? a : b;
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      winner.child.kill('SIGTERM');
      await new Promise((r) => winner.child.once('exit', r));
    }
  }, 30_000);

  it('--workers: when every worker is gone and none can restart, it says so and exits 1 (not 0, not forever)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
    const marker = join(dir, 'down');
    const file = join(dir, 'app.mjs');
    // Loads until the marker exists; then every worker exits, and no restart can load.
    writeFileSync(file, `import { existsSync, writeFileSync } from 'node:fs';
if (existsSync(${JSON.stringify(marker)})) throw new Error('database unavailable');
export default (app) => {
  app.get('/down', () => { writeFileSync(${JSON.stringify(marker)}, ''); return 'going down'; });
  setInterval(() => { if (existsSync(${JSON.stringify(marker)})) process.exit(4); }, 20);
};
`);
    const { child, url, exit } = await start(['--port', '0', '--workers', '2', '--config', file]);
    let stderr = '';
    child.stderr!.removeAllListeners('data');
    child.stderr!.on('data', (d) => { stderr += d; });
    await fetch(`${url}down`);
    expect(await exit).toBe(1);
    expect(stderr).toMatch(/could not restart: cannot load config .*database unavailable/);
    expect(stderr).toMatch(/giving up after 5 tries/);
    expect(stderr).toMatch(/no worker left: .*; stopping/);
  }, 30_000);

  it('--workers on node:net: SIGTERM while a worker restarts still stops at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
    const file = join(dir, 'app.mjs');
    writeFileSync(file, 'export default (app) => { app.get("/crash", () => { setTimeout(() => process.exit(3), 5); return "bye"; }); };\n');
    const { child, url, exit } = await start(['--port', '0', '--workers', '2', '--config', file], { CONDUIT_TRANSPORT: 'net' });
    let stderr = '';
    child.stderr!.removeAllListeners('data');
    child.stderr!.on('data', (d) => { stderr += d; });
    await fetch(`${url}crash`, { headers: { connection: 'close' } });
    for (let i = 0; i < 200 && !/restarting/.test(stderr); i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 60)); // (the new process is starting)
    const t0 = Date.now();
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000); // (the stop reached it; not the 5 s kill)
  }, 20_000);

  it('a config may export an App made with createServer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
    const file = join(dir, 'app.mjs');
    writeFileSync(file, `import { createServer } from ${JSON.stringify(INDEX)};\n` +
      'const app = createServer();\napp.get("/", () => ({ ok: true }));\nexport default app;\n');
    const { url } = await start(['--port', '0', '--config', file]);
    expect(await (await fetch(url)).json()).toEqual({ ok: true });
  });

  it.skipIf(!NATIVE)('--workers: a crashed worker is restarted while the other keeps serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
    const file = join(dir, 'app.mjs');
    writeFileSync(file, 'import { threadId } from "node:worker_threads";\n' +
      'export default (app) => {\n' +
      '  app.get("/who", () => ({ threadId }));\n' +
      '  app.get("/crash", () => { setTimeout(() => process.exit(3), 10); return "bye"; });\n' +
      '};\n');
    const { child, url } = await start(['--port', '0', '--workers', '2', '--config', file]);
    let stderr = '';
    child.stderr!.removeAllListeners('data');
    child.stderr!.on('data', (d) => { stderr += d; });
    // Both workers answer (the kernel spreads new connections between the listeners).
    const seen = new Set<number>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      seen.add(((await (await fetch(`${url}who`, { headers: { connection: 'close' } })).json()) as { threadId: number }).threadId);
    }
    expect(seen.size).toBe(2);
    await fetch(`${url}crash`, { headers: { connection: 'close' } });
    // Once the crash is seen (the dead worker's sockets are closed by then; a connection
    // the kernel had queued on its listener in the instant of the crash is reset: SO_REUSEPORT
    // does not move it), every request is answered by the surviving worker while the
    // crashed one restarts.
    for (let i = 0; i < 100 && !/exited with code 3/.test(stderr); i++) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 20; i++) {
      expect((await fetch(`${url}who`, { headers: { connection: 'close' } })).status).toBe(200);
    }
    for (let i = 0; i < 100 && !/restarted/.test(stderr); i++) await new Promise((r) => setTimeout(r, 20));
    // After the restart, every request is answered again, by both workers.
    seen.clear();
    for (let i = 0; i < 40; i++) {
      const r = await fetch(`${url}who`, { headers: { connection: 'close' } });
      expect(r.status).toBe(200);
      seen.add(((await r.json()) as { threadId: number }).threadId);
    }
    expect(seen.size).toBe(2);
    expect(stderr).toMatch(/worker \d exited with code 3; restarting/);
    expect(stderr).toMatch(/worker \d restarted/);
  });

  it('--workers on node:net: processes behind one acceptor share the connections; a crashed one is restarted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
    const file = join(dir, 'app.mjs');
    writeFileSync(file, 'export default (app) => {\n' +
      '  app.get("/who", () => String(process.pid));\n' +
      '  app.get("/crash", () => { setTimeout(() => process.exit(3), 10); return "bye"; });\n' +
      '};\n');
    const { child, url, exit } = await start(['--port', '0', '--workers', '2', '--config', file], { CONDUIT_TRANSPORT: 'net' });
    let stderr = '';
    child.stderr!.removeAllListeners('data');
    child.stderr!.on('data', (d) => { stderr += d; });
    const who = async () => {
      const r = await fetch(`${url}who`, { headers: { connection: 'close' } });
      expect(r.status).toBe(200);
      return Number(await r.text());
    };
    const seen = new Set<number>();
    for (let i = 0; i < 10; i++) seen.add(await who());
    expect(seen.size).toBe(2); // round-robin by the acceptor
    expect(seen.has(child.pid!)).toBe(false); // (the primary only accepts)
    await fetch(`${url}crash`, { headers: { connection: 'close' } });
    for (let i = 0; i < 100 && !/restarted/.test(stderr); i++) await new Promise((r) => setTimeout(r, 20));
    expect(stderr).toMatch(/worker \d exited with code 3; restarting/);
    const after = new Set<number>();
    for (let i = 0; i < 10; i++) after.add(await who());
    expect(after.size).toBe(2);
    expect([...after].filter((p) => !seen.has(p))).toHaveLength(1); // one new process
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
