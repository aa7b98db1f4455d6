// `conduit serve --workers 2`: an MCP session belongs to the worker that created it, and
// requests for it work whichever worker the kernel (threads) or the acceptor (processes)
// hands their connection to: they are forwarded to the owner.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeTransport } from '../../src/net/native.js';

const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function start(env: Record<string, string>, extra: string[] = []): Promise<number> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--workers', '2', ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)\//.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: string }

/** One request on a connection of its own (so that it may land on either worker). */
function request(port: number, method: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = http.request({
      host: '127.0.0.1', port, path: '/mcp', method, agent: false,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: b }));
    });
    r.on('error', reject);
    r.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const modes = [
  ...(nativeTransport().module !== null ? [['threads (native transport)', {}] as const] : []),
  ['processes (node:net)', { CONDUIT_TRANSPORT: 'net' }] as const,
];

describe.each(modes)('MCP sessions across 2 workers: %s', (_name, env) => {
  it('every request for a session is answered, whichever worker its connection reaches', async () => {
    const port = await start(env);
    const init = await request(port, 'POST', { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    expect(init.status).toBe(200);
    const sid = init.headers['mcp-session-id'] as string;
    expect(sid).toMatch(/^[01]\.[A-Za-z0-9_-]{22}$/);
    const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
    expect((await request(port, 'POST', { jsonrpc: '2.0', method: 'notifications/initialized' }, h)).status).toBe(202);
    // 24 connections: the chance that all reach the owner by luck is 2^-24.
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) =>
      request(port, 'POST', { jsonrpc: '2.0', id: 10 + i, method: 'tools/call', params: { name: 'echo', arguments: { message: `m${i}` } } }, h)));
    for (const [i, a] of answers.entries()) {
      expect(a.status).toBe(200);
      expect(JSON.parse(a.body)).toEqual({ jsonrpc: '2.0', id: 10 + i, result: { content: [{ type: 'text', text: `m${i}` }] } });
    }
    // Streams relayed event by event: progress, then the result.
    const streamed = await Promise.all(Array.from({ length: 6 }, (_, i) => request(port, 'POST', {
      jsonrpc: '2.0', id: 100 + i, method: 'tools/call', params: { name: 'slow_progress', arguments: { steps: 2, delay_ms: 5 }, _meta: { progressToken: i } },
    }, h)));
    for (const [i, a] of streamed.entries()) {
      expect(a.headers['content-type']).toBe('text/event-stream');
      const data = a.body.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6).map((l) => JSON.parse(l.slice(6)));
      expect(data.map((d) => d.method ?? 'result')).toEqual(['notifications/progress', 'notifications/progress', 'result']);
      expect(data[2]).toMatchObject({ id: 100 + i, result: { content: [{ text: 'done after 2 steps' }] } });
    }
    // DELETE from any worker ends it for all.
    expect((await request(port, 'DELETE', undefined, h)).status).toBe(200);
    const after = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      request(port, 'POST', { jsonrpc: '2.0', id: 200 + i, method: 'ping' }, h)));
    expect(after.map((a) => a.status)).toEqual(Array(8).fill(404));
  }, 30_000);
});

describe.each(modes)('2026-07-28 tasks across 2 workers: %s', (_name, env) => {
  it('tasks/get and tasks/cancel reach the worker that made the task, whichever worker their connection reaches', async () => {
    const port = await start(env, ['--config', new URL('./conformance-app.ts', import.meta.url).pathname]);
    const V = '2026-07-28';
    const caps = { extensions: { 'io.modelcontextprotocol/tasks': {} } };
    const call = (method: string, params: Record<string, unknown>, name: string) => new Promise<{ status: number; body: any }>((resolve, reject) => {
      const r = http.request({
        host: '127.0.0.1', port, path: '/mcp', method: 'POST', agent: false,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V, 'mcp-method': method, 'mcp-name': name },
      }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(b) }));
      });
      r.on('error', reject);
      r.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': caps } } }));
    });
    const tasks: string[] = [];
    // Six tasks, and more while one worker has made them all: the kernel spreads connections
    // by hashing them (SO_REUSEPORT), so six may all land on one worker (1 run in 32).
    const bothWorkers = () => new Set(tasks.map((t) => t[0])).size === 2;
    for (let i = 0; i < 6 || (!bothWorkers() && i < 40); i++) {
      const r = await call('tools/call', { name: 'slow_compute', arguments: { seconds: 5 } }, 'slow_compute');
      expect(r.body.result.resultType).toBe('task');
      expect(r.body.result.taskId).toMatch(/^[01]\./);
      tasks.push(r.body.result.taskId);
    }
    expect(new Set(tasks.map((t) => t[0])).size).toBe(2); // (both workers made tasks)
    for (const t of tasks) {
      for (let k = 0; k < 3; k++) {
        const g = await call('tasks/get', { taskId: t }, t);
        expect(g.status).toBe(200);
        expect(g.body.result).toMatchObject({ taskId: t, status: 'working' });
      }
      expect((await call('tasks/cancel', { taskId: t }, t)).status).toBe(200);
      expect((await call('tasks/get', { taskId: t }, t)).body.result.status).toBe('cancelled');
    }
  }, 30_000);
});
