// The tasks extension (SEP-2663) on 2026-07-28: a task-eligible tools/call becomes a task
// (or answers at once when it finishes in its first turn), tasks/get shows its state and
// inlines the result or error, tasks/update answers its parked asks (partially too),
// tasks/cancel stops it; without the extension: sync for optional tools, -32021 for
// required ones and for tasks/*; the memory store's bounds (count, bytes, ttl).
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type App } from '../../src/http/app.js';
import { McpError } from '../../src/mcp/protocol.js';
import { serveMcp, type McpEndpoints } from '../../src/mcp/serve.js';
import { createMcpServer, type McpServer, type RequestContext } from '../../src/mcp/server.js';
import { MemoryTaskStore, type TaskRecord } from '../../src/mcp/stores/tasks.js';

const V = '2026-07-28';
const TASKS = { extensions: { 'io.modelcontextprotocol/tasks': {} }, elicitation: {} };
let apps: Array<{ app: App; mcp: McpEndpoints }> = [];
afterEach(async () => {
  for (const a of apps.splice(0)) {
    a.mcp.close();
    await a.app.close({ deadline: 500 });
  }
});

async function start(configure: (s: McpServer) => void, options: Record<string, unknown> = {}) {
  const server = createMcpServer({ name: 'tasks-test', version: '1.0.0', ...options });
  configure(server);
  const app = createServer();
  const mcp = serveMcp(app, server, { heartbeatMs: 0 });
  const { port } = await app.listen({ port: 0 });
  apps.push({ app, mcp });
  const url = `http://127.0.0.1:${port}/mcp`;
  let id = 1;
  lastUrl = url;
  return async (method: string, params: Record<string, unknown> = {}, caps: Record<string, unknown> = TASKS) => {
    const name = method === 'tools/call' ? params.name : method.startsWith('tasks/') ? params.taskId : undefined;
    const h: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V, 'mcp-method': method };
    if (typeof name === 'string') h['mcp-name'] = name;
    const r = await fetch(url, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', id: id++, method, params: { ...params, _meta: { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': caps } } }) });
    return { status: r.status, body: (await r.json()) as { result?: Record<string, any>; error?: { code: number; message: string; data?: any } } };
  };
}

/** The endpoint of the server start() made last. */
let lastUrl = '';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('tasks extension', () => {
  it('a task: created (CreateTaskResult), working, then completed with the result inlined; an immediate answer when it finishes in its first turn', async () => {
    const call = await start((s) => {
      s.tool('slow', { execution: { taskSupport: 'optional' } }, async (a) => {
        await wait(Number(a.ms ?? 0));
        return `slept ${String(a.ms)}`;
      });
      s.tool('quick', { execution: { taskSupport: 'optional' } }, () => 'at once');
    });
    const d = await call('server/discover');
    expect(d.body.result!.capabilities.extensions).toEqual({ 'io.modelcontextprotocol/tasks': {} });
    const created = await call('tools/call', { name: 'slow', arguments: { ms: 150 } });
    const t = created.body.result!;
    expect(t).toMatchObject({ resultType: 'task', status: 'working', ttlMs: 300_000, pollIntervalMs: 500 });
    expect(t.taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(t.requestState).toBeUndefined();
    expect(Number.isNaN(Date.parse(t.createdAt))).toBe(false);
    const working = await call('tasks/get', { taskId: t.taskId });
    expect(working.body.result).toMatchObject({ resultType: 'complete', taskId: t.taskId, status: 'working' });
    expect(working.body.result!.result).toBeUndefined();
    await wait(250);
    const done = await call('tasks/get', { taskId: t.taskId });
    expect(done.body.result).toMatchObject({ status: 'completed', result: { content: [{ type: 'text', text: 'slept 150' }] } });
    const quick = await call('tools/call', { name: 'quick', arguments: {} });
    expect(quick.body.result).toMatchObject({ resultType: 'complete', content: [{ type: 'text', text: 'at once' }] });
  });

  it('asks park the task in input_required; tasks/update answers them, one at a time too; then it completes', async () => {
    const call = await start((s) => s.tool('two', { execution: { taskSupport: 'optional' } }, async (_a, ctx: RequestContext) => {
      const [a, b] = await Promise.all([
        ctx.elicit({ message: 'a?', requestedSchema: { type: 'object', properties: {} } }, { key: 'a' }),
        ctx.elicit({ message: 'b?', requestedSchema: { type: 'object', properties: {} } }, { key: 'b' }),
      ]);
      return `${JSON.stringify(a.content)}+${JSON.stringify(b.content)}`;
    }));
    const t = (await call('tools/call', { name: 'two', arguments: {} })).body.result!;
    const parked = (await call('tasks/get', { taskId: t.taskId })).body.result!;
    expect(parked.status).toBe('input_required');
    expect(Object.keys(parked.inputRequests).sort()).toEqual(['a', 'b']);
    expect((await call('tasks/update', { taskId: t.taskId, inputResponses: { a: { action: 'accept', content: { x: 1 } } } })).body.result).toEqual({ resultType: 'complete', _meta: expect.any(Object) });
    const half = (await call('tasks/get', { taskId: t.taskId })).body.result!;
    expect(half.status).toBe('input_required');
    expect(Object.keys(half.inputRequests)).toEqual(['b']);
    await call('tasks/update', { taskId: t.taskId, inputResponses: { b: { action: 'accept', content: { y: 2 } }, zz: {} } });
    await wait(20);
    const done = (await call('tasks/get', { taskId: t.taskId })).body.result!;
    expect(done).toMatchObject({ status: 'completed', result: { content: [{ type: 'text', text: '{"x":1}+{"y":2}' }] } });
    expect(done.inputRequests).toBeUndefined();
  });

  it('tool errors complete (isError), protocol errors fail (error inlined); cancel aborts the signal and is idempotent', async () => {
    let aborted = false;
    const call = await start((s) => {
      s.tool('toolerr', { execution: { taskSupport: 'optional' } }, async () => {
        await wait(30);
        throw new Error('nope');
      });
      s.tool('protoerr', { execution: { taskSupport: 'optional' } }, async () => {
        await wait(30);
        throw new McpError(-32603, 'broken');
      });
      s.tool('forever', { execution: { taskSupport: 'optional' } }, (_a, ctx: RequestContext) => new Promise((_r, reject) => {
        ctx.signal.addEventListener('abort', () => {
          aborted = true;
          reject(ctx.signal.reason);
        });
      }));
    });
    const a = (await call('tools/call', { name: 'toolerr', arguments: {} })).body.result!;
    const b = (await call('tools/call', { name: 'protoerr', arguments: {} })).body.result!;
    const c = (await call('tools/call', { name: 'forever', arguments: {} })).body.result!;
    await wait(80);
    expect((await call('tasks/get', { taskId: a.taskId })).body.result).toMatchObject({ status: 'completed', result: { isError: true } });
    const failed = (await call('tasks/get', { taskId: b.taskId })).body.result!;
    expect(failed).toMatchObject({ status: 'failed', error: { code: -32603, message: 'broken' } });
    expect(failed.result).toBeUndefined();
    expect((await call('tasks/cancel', { taskId: c.taskId })).body.result).toMatchObject({ resultType: 'complete' });
    expect(aborted).toBe(true);
    expect((await call('tasks/get', { taskId: c.taskId })).body.result!.status).toBe('cancelled');
    expect((await call('tasks/cancel', { taskId: c.taskId })).body.result).toMatchObject({ resultType: 'complete' });
    expect((await call('tasks/cancel', { taskId: a.taskId })).status).toBe(200);
    expect((await call('tasks/get', { taskId: 'no-such-task' })).body.error!.code).toBe(-32602);
  });

  it('without the extension: optional tools answer synchronously, required ones and tasks/* are -32021 (HTTP 400)', async () => {
    const call = await start((s) => {
      s.tool('opt', { execution: { taskSupport: 'optional' } }, async () => {
        await wait(20);
        return 'sync';
      });
      s.tool('req', { execution: { taskSupport: 'required' } }, () => 'never');
    });
    const opt = await call('tools/call', { name: 'opt', arguments: {} }, {});
    expect(opt.body.result).toMatchObject({ resultType: 'complete', content: [{ text: 'sync' }] });
    const req = await call('tools/call', { name: 'req', arguments: {} }, {});
    expect(req.status).toBe(400);
    expect(req.body.error).toMatchObject({ code: -32021, data: { requiredCapabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } } } });
    const get = await call('tasks/get', { taskId: 'x' }, {});
    expect(get.status).toBe(400);
    expect(get.body.error!.code).toBe(-32021);
    for (const m of ['tasks/list', 'tasks/result']) expect((await call(m, { taskId: 'x' })).status).toBe(404);
  });

  it('the memory store: bounded in count (finished tasks go first) and bytes; each task kept ttlMs after its last update', async () => {
    const rec = (id: string, status: TaskRecord['status'], ttlMs = 60_000): TaskRecord => ({ taskId: id, status, createdAt: '', lastUpdatedAt: '', ttlMs, pollIntervalMs: 100 });
    const store = new MemoryTaskStore({ maxTasks: 2, maxBytes: 1000 });
    expect(store.create(rec('a', 'working'))).toBe(true);
    expect(store.create(rec('b', 'working'))).toBe(true);
    expect(store.create(rec('c', 'working'))).toBe(false); // (full of running tasks)
    store.put({ ...rec('a', 'completed'), result: { content: [] } });
    expect(store.create(rec('c', 'working'))).toBe(true); // (the finished one made room)
    expect(store.get('a')).toBeUndefined();
    store.put({ ...rec('b', 'completed'), result: { text: 'x'.repeat(2000) } }); // (over the bytes: dropped)
    expect(store.get('b')).toBeUndefined();
    expect(store.create(rec('d', 'working', 1))).toBe(true);
    await wait(10);
    expect(store.get('d')).toBeUndefined(); // (expired)
    store.close();
  });

  it('a running task the store dropped (expired) is cancelled: its handler is not held forever', async () => {
    let aborts = 0;
    const call = await start((s) => s.tool('hang', { execution: { taskSupport: 'optional' } }, (_a, ctx: RequestContext) => new Promise((_r, reject) => {
      ctx.signal.addEventListener('abort', () => {
        aborts++;
        reject(ctx.signal.reason);
      });
    })), { taskTtlMs: 1 });
    const first = (await call('tools/call', { name: 'hang', arguments: {} })).body.result!;
    await wait(20);
    expect((await call('tasks/get', { taskId: first.taskId })).body.error!.code).toBe(-32602); // (expired)
    for (let i = 0; i < 64; i++) await call('tools/call', { name: 'hang', arguments: {} });
    expect(aborts).toBeGreaterThanOrEqual(1);
  });

  it('status changes reach subscriptions/listen streams of clients that declared the extension (notifications/tasks/status)', async () => {
    const call = await start((s) => s.tool('job', { execution: { taskSupport: 'optional' } }, async () => {
      await wait(50);
      return 'done';
    }));
    const endpoint = lastUrl;
    const ac = new AbortController();
    const res = await fetch(endpoint, {
      method: 'POST', signal: ac.signal,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V, 'mcp-method': 'subscriptions/listen' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'L', method: 'subscriptions/listen', params: { notifications: {}, _meta: { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': TASKS } } }),
    });
    const reader = res.body!.getReader();
    let text = '';
    const t = (await call('tools/call', { name: 'job', arguments: {} })).body.result!;
    const until = Date.now() + 2000;
    while (!text.includes('"completed"') && Date.now() < until) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    const frames = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    const statuses = frames.filter((f) => f.method === 'notifications/tasks/status').map((f) => f.params);
    expect(statuses.at(-1)).toMatchObject({ taskId: t.taskId, status: 'completed', result: { content: [{ text: 'done' }] }, _meta: { 'io.modelcontextprotocol/subscriptionId': 'L' } });
  });
});
