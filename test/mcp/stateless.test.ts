// MCP 2026-07-28 (stateless) on the shared endpoint, rule by rule: the classifier on every
// combination; the validation ladder (envelope, version, each header, removed and unknown
// methods) with the HTTP status and an error that carries the request's id; results
// (resultType, serverInfo, caching hints); logs and progress only when asked; batches and
// notifications; input_required rounds with a sealed requestState (tampered, expired,
// foreign, another server's: refused), capabilities (-32021); subscriptions/listen; and
// Host/Origin checks on this path too.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type App } from '../../src/http/app.js';
import type { Envelope } from '../../src/jsonrpc/parse.js';
import { parseJsonRpc } from '../../src/jsonrpc/parse.js';
import { StateSeal } from '../../src/mcp/mrtr.js';
import { serveMcp, type McpEndpoints } from '../../src/mcp/serve.js';
import { createMcpServer, type McpServer, type RequestContext } from '../../src/mcp/server.js';
import { classify } from '../../src/mcp/transports/stateless.js';
import { RawConn, rawRequest } from '../support/raw-conn.js';

const V = '2026-07-28';
const META = (extra: Record<string, unknown> = {}) => ({ 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': {}, ...extra });

let apps: Array<{ app: App; mcp: McpEndpoints }> = [];
afterEach(async () => {
  for (const a of apps.splice(0)) {
    a.mcp.close();
    await a.app.close({ deadline: 500 });
  }
});

async function start(configure: (s: McpServer) => void = () => {}, options: Parameters<typeof createMcpServer>[0] extends infer O ? Partial<O> : never = {}) {
  const server = createMcpServer({ name: 'stateless-test', version: '2.0.0', ...options });
  server.tool('echo', { inputSchema: { type: 'object', properties: { message: { type: 'string' } } } }, (a) => ({ content: [{ type: 'text', text: String(a.message) }] }));
  server.resource('test://r', { name: 'r', ttlMs: 5000, cacheScope: 'public' }, () => 'R');
  configure(server);
  const app = createServer();
  const mcp = serveMcp(app, server, { heartbeatMs: 0 });
  const { port } = await app.listen({ port: 0 });
  apps.push({ app, mcp });
  return `http://127.0.0.1:${port}/mcp`;
}

let nextId = 1;
/** A 2026 request with the headers a conforming client sends (overridable). */
async function call(url: string, method: string, params: Record<string, unknown> = {}, headers: Record<string, string | null> = {}, meta = META()) {
  const id = nextId++;
  const p = { ...params, _meta: { ...meta, ...(params._meta as object | undefined) } };
  const h: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V, 'mcp-method': method };
  const name = method === 'tools/call' || method === 'prompts/get' ? params.name : method === 'resources/read' ? params.uri : undefined;
  if (typeof name === 'string') h['mcp-name'] = name;
  for (const [k, v] of Object.entries(headers)) {
    if (v === null) delete h[k.toLowerCase()];
    else h[k.toLowerCase()] = v;
  }
  const r = await fetch(url, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', id, method, params: p }) });
  const type = r.headers.get('content-type') ?? '';
  const text = await r.text();
  const frames = type.includes('text/event-stream')
    ? text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as Record<string, any>)
    : text === '' ? [] : [JSON.parse(text) as Record<string, any>];
  return { status: r.status, id, frames, body: frames.find((f) => 'result' in f || 'error' in f) as Record<string, any> };
}

const env = (body: unknown): Envelope[] => {
  const r = parseJsonRpc(new TextEncoder().encode(JSON.stringify(body)));
  if (!r.ok) throw new Error('bad test body');
  return r.messages;
};

describe('classify: which POSTs are 2026-07-28', () => {
  const withMeta = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META() } };
  const plain = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
  const cases: Array<[string, string | undefined, unknown, 'stateless' | 'session']> = [
    ['envelope, no header', undefined, withMeta, 'stateless'],
    ['envelope, 2025 header', '2025-11-25', withMeta, 'stateless'],
    ['header 2026, no envelope', V, plain, 'stateless'],
    ['neither', undefined, plain, 'session'],
    ['2025 header, no envelope', '2025-11-25', plain, 'session'],
    ['initialize', undefined, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25' } }, 'session'],
    ['a notification with the envelope', undefined, { jsonrpc: '2.0', method: 'notifications/x', params: { _meta: META() } }, 'stateless'],
    ['a posted response', undefined, { jsonrpc: '2.0', id: 1, result: {} }, 'session'],
    ['a 2025 batch', undefined, [plain, { ...plain, id: 2 }], 'session'],
    ['a batch with one 2026 member', undefined, [plain, { ...withMeta, id: 2 }], 'stateless'],
    ['other _meta keys only', undefined, { ...plain, params: { _meta: { progressToken: 1 } } }, 'session'],
    ['an unknown envelope version', undefined, { ...plain, params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } }, 'stateless'],
  ];
  it.each(cases)('%s', (_n, header, body, want) => expect(classify(header, env(body))).toBe(want));

  // (fetch trims header values itself: raw bytes, so that the server's own OWS handling is what is tested)
  it('headers with OWS around their values, on the wire: the version header alone classifies, and each header still matches', async () => {
    const url = new URL(await start());
    const c = await RawConn.open(Number(url.port));
    try {
      const ows = (k: string, v: string): [string, string] => [k, ` \t${v} \t`];
      const base: Array<[string, string]> = [['Accept', 'application/json, text/event-stream'], ['Content-Type', 'application/json'], ows('MCP-Protocol-Version', V)];
      // no envelope: only the header says 2026, so the request is refused by the envelope check (not taken for a 2025 one)
      c.write(rawRequest('POST', '/mcp', [...base, ows('Mcp-Method', 'tools/list')], JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })));
      const r1 = await c.read();
      expect(r1.status).toBe(400);
      expect(JSON.parse(r1.body.toString()).error).toMatchObject({ code: -32602, data: { envelope: { key: 'io.modelcontextprotocol/protocolVersion' } } });
      c.write(rawRequest('POST', '/mcp', [...base, ows('Mcp-Method', 'tools/call'), ows('Mcp-Name', 'echo')],
        JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' }, _meta: META() } })));
      const r2 = await c.read();
      expect(r2.status).toBe(200);
      expect(JSON.parse(r2.body.toString()).result.content[0].text).toBe('hi');
    } finally {
      c.close();
    }
  });
});

describe('the 2026-07-28 wire', () => {
  it('results: resultType, serverInfo in _meta, caching hints where the revision has them (per method and per resource)', async () => {
    const url = await start(() => {}, { caching: { 'tools/list': { ttlMs: 60_000, cacheScope: 'public' } } });
    const list = await call(url, 'tools/list');
    expect(list.status).toBe(200);
    expect(list.body.result).toMatchObject({ resultType: 'complete', ttlMs: 60_000, cacheScope: 'public', _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'stateless-test', version: '2.0.0' } } });
    const read = await call(url, 'resources/read', { uri: 'test://r' });
    expect(read.body.result).toMatchObject({ resultType: 'complete', ttlMs: 5000, cacheScope: 'public' });
    const prompts = await call(url, 'resources/list');
    expect(prompts.body.result).toMatchObject({ ttlMs: 0, cacheScope: 'private' });
    const echo = await call(url, 'tools/call', { name: 'echo', arguments: { message: 'hi' } });
    expect(echo.body.result).toMatchObject({ resultType: 'complete', content: [{ type: 'text', text: 'hi' }] });
    expect(echo.body.result.ttlMs).toBeUndefined();
    const d = await call(url, 'server/discover');
    expect(d.body.result).toMatchObject({ supportedVersions: expect.arrayContaining([V, '2025-11-25']), capabilities: { tools: expect.any(Object), resources: expect.any(Object) }, resultType: 'complete', ttlMs: 0, cacheScope: 'private' });
    expect(d.body.result.capabilities.prompts).toBeUndefined(); // (exactly what is served)
    expect((await call(url, 'prompts/list')).status).toBe(404); // (and an undeclared feature's method is not found)
  });

  it('the ladder: envelope, version, headers, methods; each an HTTP status and an error with the request id', async () => {
    const url = await start((s) => s.tool('h', { inputSchema: { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' } } } }, (a) => `at ${String(a.region)}`));
    const expectError = (r: Awaited<ReturnType<typeof call>>, status: number, code: number, data?: unknown) => {
      expect(r.status).toBe(status);
      expect(r.body.id).toBe(r.id);
      expect(r.body.error.code).toBe(code);
      if (data !== undefined) expect(r.body.error.data).toMatchObject(data as object);
    };
    expectError(await call(url, 'tools/list', {}, {}, { 'io.modelcontextprotocol/protocolVersion': V } as never), 400, -32602, { envelope: { key: 'io.modelcontextprotocol/clientCapabilities' } });
    expectError(await call(url, 'tools/list', {}, {}, META({ 'io.modelcontextprotocol/clientCapabilities': [] })), 400, -32602, { envelope: { key: 'io.modelcontextprotocol/clientCapabilities' } });
    expectError(await call(url, 'tools/list', {}, {}, META({ 'io.modelcontextprotocol/logLevel': 'loud' })), 400, -32602, { envelope: { key: 'io.modelcontextprotocol/logLevel' } });
    expectError(await call(url, 'tools/list', {}, { 'mcp-protocol-version': '2099-01-01' }, META({ 'io.modelcontextprotocol/protocolVersion': '2099-01-01' })), 400, -32022, { supported: [V], requested: '2099-01-01' });
    expectError(await call(url, 'tools/list', {}, { 'mcp-protocol-version': null }), 400, -32020);
    expectError(await call(url, 'tools/list', {}, { 'mcp-protocol-version': '2025-11-25' }), 400, -32020);
    expectError(await call(url, 'tools/list', {}, { 'mcp-method': 'tools/call' }), 400, -32020);
    expectError(await call(url, 'tools/list', {}, { 'mcp-method': 'Tools/List' }), 400, -32020); // (values are case-sensitive)
    expect((await call(url, 'tools/list', {}, { 'MCP-METHOD': 'tools/list' })).status).toBe(200); // (names are not)
    expectError(await call(url, 'tools/call', { name: 'echo', arguments: {} }, { 'mcp-name': null }), 400, -32020);
    expectError(await call(url, 'tools/call', { name: 'echo', arguments: {} }, { 'mcp-name': 'other' }), 400, -32020);
    expect((await call(url, 'tools/call', { name: 'echo', arguments: { message: 'x' } }, { 'mcp-name': ' \techo ' })).status).toBe(200); // (OWS trimmed)
    expectError(await call(url, 'resources/read', { uri: 'test://r' }, { 'mcp-name': 'test://other' }), 400, -32020);
    // Mcp-Param-*: literal, base64, missing, mismatched, invalid base64
    const region = (h: Record<string, string | null>) => call(url, 'tools/call', { name: 'h', arguments: { region: 'Zürich' } }, h);
    expect((await region({ 'mcp-param-region': `=?base64?${Buffer.from('Zürich').toString('base64')}?=` })).body.result.content[0].text).toBe('at Zürich');
    expectError(await region({}), 400, -32020, { header: 'Mcp-Param-Region' });
    expectError(await region({ 'mcp-param-region': 'Bern' }), 400, -32020);
    expectError(await region({ 'mcp-param-region': '=?base64?WsO8cmljaA?=' }), 400, -32020); // (no padding: not valid base64)
    // Removed and unknown methods: 404 -32601
    for (const m of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe', 'no/such']) {
      expectError(await call(url, m), 404, -32601);
    }
    // Handler errors: 200 with the JSON-RPC error; an unknown resource: -32602 with data.uri
    expectError(await call(url, 'resources/read', { uri: 'test://nope' }), 200, -32602, { uri: 'test://nope' });
  });

  it('batches with a 2026 request: 400 -32600; notifications: 202; Content-Type: 415; Host and Origin checked here too', async () => {
    const url = await start();
    const h = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V };
    const batch = await fetch(url, { method: 'POST', headers: h, body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META() } }, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: META() } }]) });
    expect(batch.status).toBe(400);
    expect((await batch.json()).error.code).toBe(-32600);
    const nullId = await fetch(url, { method: 'POST', headers: { ...h, 'mcp-method': 'tools/list' }, body: JSON.stringify({ jsonrpc: '2.0', id: null, method: 'tools/list', params: { _meta: META() } }) });
    expect(nullId.status).toBe(400);
    expect((await nullId.json()).error.code).toBe(-32600);
    const note = await fetch(url, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/whatever', params: { _meta: META() } }) });
    expect(note.status).toBe(202);
    const text = await fetch(url, { method: 'POST', headers: { ...h, 'content-type': 'text/plain' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META() } }) });
    expect(text.status).toBe(415);
    const evil = await call(url, 'tools/list', {}, { origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    const local = await call(url, 'tools/list', {}, { origin: 'http://localhost:1234' });
    expect(local.status).toBe(200);
    // A Host that is not this server's (DNS rebinding): 403
    const { port } = new URL(url);
    const badHost = await new Promise<number>((resolve, reject) => {
      const r = http.request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { ...h, 'mcp-method': 'tools/list', host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      r.on('error', reject);
      r.end(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list', params: { _meta: META() } }));
    });
    expect(badHost).toBe(403);
  });

  it('logs only with logLevel, progress only with a progressToken; either turns the answer into SSE, result last', async () => {
    const url = await start((s) => s.tool('work', {}, async (_a, ctx: RequestContext) => {
      ctx.log('debug', 'low');
      ctx.log('warning', 'high');
      ctx.progress(1, 2);
      return 'done';
    }));
    const quiet = await call(url, 'tools/call', { name: 'work' });
    expect(quiet.frames).toHaveLength(1);
    const logged = await call(url, 'tools/call', { name: 'work' }, {}, META({ 'io.modelcontextprotocol/logLevel': 'info' }));
    expect(logged.frames.map((f) => f.method ?? 'result')).toEqual(['notifications/message', 'result']);
    expect(logged.frames[0].params).toMatchObject({ level: 'warning', data: 'high' });
    const progress = await call(url, 'tools/call', { name: 'work', _meta: { progressToken: 'p1' } });
    expect(progress.frames.map((f) => f.method ?? 'result')).toEqual(['notifications/progress', 'result']);
  });

  it('input_required: one handler, rounds until answered; the sealed requestState refuses tampering, expiry, another request, another server', async () => {
    const seal = new StateSeal({ key: new Uint8Array(32).fill(7), ttlMs: 60_000 });
    const handler = async (_a: unknown, ctx: RequestContext) => {
      const a = await ctx.elicit({ message: 'name?', requestedSchema: { type: 'object', properties: {} } }, { key: 'who' });
      const [b, c] = await Promise.all([ctx.sample({ messages: [], maxTokens: 5 }, { key: 'say' }), ctx.listRoots()]);
      return `${JSON.stringify(a.content)} ${JSON.stringify(b.content)} ${(c.roots as unknown[]).length}`;
    };
    const url = await start((s) => {
      s.tool('ask', {}, handler);
      s.tool('other', {}, handler);
    }, { requestState: { key: new Uint8Array(32).fill(7) } });
    const caps = META({ 'io.modelcontextprotocol/clientCapabilities': { elicitation: {}, sampling: {}, roots: {} } });
    const r1 = await call(url, 'tools/call', { name: 'ask' }, {}, caps);
    expect(r1.body.result).toMatchObject({ resultType: 'input_required', inputRequests: { who: { method: 'elicitation/create' } } });
    expect(Object.keys(r1.body.result.inputRequests)).toEqual(['who']);
    const state1 = r1.body.result.requestState as string;
    const r2 = await call(url, 'tools/call', { name: 'ask', requestState: state1, inputResponses: { who: { action: 'accept', content: { n: 1 } }, junk: { x: 1 } } }, {}, caps);
    expect(Object.keys(r2.body.result.inputRequests).sort()).toEqual(['roots_0', 'say']); // (the next round: both at once)
    const answers = { say: { role: 'assistant', content: { type: 'text', text: 'hey' } }, roots_0: { roots: [{ uri: 'file:///a' }] } };
    const r3 = await call(url, 'tools/call', { name: 'ask', requestState: r2.body.result.requestState, inputResponses: answers }, {}, caps);
    expect(r3.body.result).toMatchObject({ resultType: 'complete', content: [{ type: 'text', text: '{"n":1} {"type":"text","text":"hey"} 1' }] });
    // A missing answer: asked again, not an error
    const again = await call(url, 'tools/call', { name: 'ask', requestState: state1, inputResponses: {} }, {}, caps);
    expect(again.body.result.inputRequests.who).toBeDefined();
    // Malformed answers: an error
    const malformed = await call(url, 'tools/call', { name: 'ask', requestState: state1, inputResponses: { who: { action: 'maybe' } } }, {}, caps);
    expect(malformed.body.error.code).toBe(-32602);
    // Tampered, foreign (another tool), another server's key, expired: -32602 invalid_request_state
    const [body, mac] = state1.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), r: { who: { action: 'accept' } } })).toString('base64url');
    const refused = async (state: string, tool = 'ask') => {
      const r = await call(url, 'tools/call', { name: tool, requestState: state, inputResponses: { who: { action: 'accept', content: {} } } }, {}, caps);
      expect(r.status).toBe(200);
      expect(r.body.error).toMatchObject({ code: -32602, data: { reason: 'invalid_request_state' } });
    };
    await refused(`${forged}.${mac}`);
    await refused(`${body}.${mac.slice(0, -2)}AA`);
    await refused('garbage');
    await refused(state1, 'other');
    await refused(new StateSeal({ key: new Uint8Array(32).fill(8) }).seal('tools/call', 'ask', {}, ['who']));
    await refused(new StateSeal({ key: new Uint8Array(32).fill(7), ttlMs: -1 }).seal('tools/call', 'ask', {}, ['who']));
    expect(seal.open(seal.seal('tools/call', 'ask', { a: 1 }, ['a']), 'tools/call', 'ask')).toEqual({ answers: { a: 1 }, asked: ['a'] });
    // A client that declared no elicitation: HTTP 400 -32021 with requiredCapabilities
    const nocap = await call(url, 'tools/call', { name: 'ask' });
    expect(nocap.status).toBe(400);
    expect(nocap.body.error).toMatchObject({ code: -32021, data: { requiredCapabilities: { elicitation: {} } } });
    // The same handler on a 2025 session is a real request to the client (covered in sdk-v2.test.ts)
  });

  it('subscriptions/listen: the acknowledgement first, then only what was asked, tagged; at the cap, 503', async () => {
    let server!: McpServer;
    const url = await start((s) => {
      server = s;
      s.prompt('p', {}, () => 'p');
    });
    server.maxSubscriptions = 1;
    const h = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V, 'mcp-method': 'subscriptions/listen' };
    const ac = new AbortController();
    const r = await fetch(url, { method: 'POST', headers: h, signal: ac.signal, body: JSON.stringify({ jsonrpc: '2.0', id: 'L1', method: 'subscriptions/listen', params: { _meta: META(), notifications: { toolsListChanged: true, resourceSubscriptions: ['test://r', 'test://unknown'] } } }) });
    expect(r.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = r.body!.getReader();
    const frames: Array<Record<string, any>> = [];
    let buf = '';
    const next = async () => {
      while (!buf.includes('\n\n')) buf += new TextDecoder().decode((await reader.read()).value);
      const i = buf.indexOf('\n\n');
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = ev.split('\n').find((l) => l.startsWith('data: '));
      if (data === undefined) return next();
      frames.push(JSON.parse(data.slice(6)));
      return frames[frames.length - 1];
    };
    const ack = await next();
    expect(ack).toMatchObject({ method: 'notifications/subscriptions/acknowledged', params: { notifications: { toolsListChanged: true, resourceSubscriptions: ['test://r'] }, _meta: { 'io.modelcontextprotocol/subscriptionId': 'L1' } } });
    const second = await call(url, 'subscriptions/listen', { notifications: {} });
    expect(second.status).toBe(503);
    server.prompt('p2', {}, () => 'p2'); // (not asked for: not sent)
    server.notifyResourceUpdated('test://r');
    server.tool('t2', {}, () => 't2');
    expect(await next()).toMatchObject({ method: 'notifications/resources/updated', params: { uri: 'test://r', _meta: { 'io.modelcontextprotocol/subscriptionId': 'L1' } } });
    expect(await next()).toMatchObject({ method: 'notifications/tools/list_changed', params: { _meta: { 'io.modelcontextprotocol/subscriptionId': 'L1' } } });
    ac.abort();
    await new Promise((res) => setTimeout(res, 50));
    // (the slot came back)
    const ac2 = new AbortController();
    const third = await fetch(url, { method: 'POST', headers: h, signal: ac2.signal, body: JSON.stringify({ jsonrpc: '2.0', id: 'L3', method: 'subscriptions/listen', params: { _meta: META(), notifications: {} } }) });
    expect(third.status).toBe(200);
    expect(third.headers.get('content-type')).toMatch(/text\/event-stream/);
    ac2.abort();
  });
});
