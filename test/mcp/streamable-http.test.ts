// MCP Streamable HTTP (and the legacy HTTP+SSE transport) on real sockets: serveMcp()
// on a createServer() App bound to 127.0.0.1, driven with undici and raw node:net.
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type App } from '../../src/http/app.js';
import { McpError } from '../../src/mcp/protocol.js';
import { serveMcp, type McpEndpoints, type ServeMcpOptions } from '../../src/mcp/serve.js';
import { createMcpServer, type McpServer } from '../../src/mcp/server.js';
import { MemorySessionStore } from '../../src/mcp/stores/sessions.js';
import { bearerAuth } from '../../src/mcp/transports/auth.js';
import type { HttpSession } from '../../src/mcp/transports/streamable-http.js';
import { RawConn, rawRequest, type RawResponse } from '../support/raw-conn.js';
import { TRANSPORTS, until } from '../support/server.js';

const LATEST = '2025-11-25';
const ACCEPT = 'application/json, text/event-stream';
const JSON_HEADERS = { 'content-type': 'application/json', accept: ACCEPT };

const agent = new Agent({ keepAliveTimeout: 1000, connections: 64 });
afterAll(() => agent.close());

// ── the server under test ───────────────────────────────────────────────────────────

interface Running {
  app: App;
  server: McpServer;
  mcp: McpEndpoints;
  port: number;
  base: string;
}
let running: Running[] = [];
/** The transport of the describe.each block running. */
let transport: 'native' | 'net' = 'net';

afterEach(async () => {
  const all = running;
  running = [];
  for (const r of all) {
    r.mcp.close();
    await r.app.close({ deadline: 1000 });
  }
});

/** `p`, or a rejection after `ms` (so that a hang fails fast, saying what it waited for). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms))),
  ]);
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Tools the tests use; `gate` blocks until released (or aborted) and reports both. */
function makeServer() {
  const server = createMcpServer({ name: 'http-test', version: '1.0.0' });
  const gate = {
    started: deferred<{ id: unknown }>(),
    release: deferred<string>(),
    aborted: deferred<{ reason: unknown; at: number }>(),
  };
  server.tool('echo', { inputSchema: { type: 'object', properties: { text: { type: 'string' } } } }, (a) => String(a.text ?? ''));
  server.tool('progress', {}, async (_a, ctx) => {
    ctx.progress(1, 2, 'half');
    await new Promise((r) => setImmediate(r));
    ctx.progress(2, 2, 'all');
    return 'done';
  });
  server.tool('whoami', {}, (_a, ctx) => ({ authInfo: ctx.authInfo ?? null, sessionId: ctx.sessionId ?? null }));
  const waitTool = (sendFirst: boolean) => (_a: Record<string, unknown>, ctx: import('../../src/mcp/server.js').RequestContext) => {
    if (sendFirst) ctx.progress(0, 1, 'started');
    gate.started.resolve({ id: ctx.requestId });
    return new Promise((resolve, reject) => {
      ctx.signal.addEventListener('abort', () => {
        gate.aborted.resolve({ reason: ctx.signal.reason, at: Date.now() });
        reject(ctx.signal.reason);
      });
      gate.release.promise.then((v) => resolve(v));
    });
  };
  server.tool('ask-sample', {}, async (_a, ctx) => ({ got: await ctx.sample({ messages: [{ role: 'user', content: { type: 'text', text: 'hi?' } }], maxTokens: 9 }) }));
  server.resource('mem://counter', { name: 'counter', mimeType: 'text/plain' }, () => 'n');
  server.tool('wait', {}, waitTool(false));
  server.tool('wait-stream', {}, waitTool(true));
  server.tool('reconnect', {}, async (_a, ctx) => {
    ctx.progress(1, 3, 'before the break');
    ctx.closeStream();
    await gate.release.promise;
    ctx.progress(2, 3, 'after the break');
    return 'finished after reconnect';
  });
  return { server, gate };
}

async function start(options: ServeMcpOptions = {}, setup?: (server: McpServer) => void) {
  const { server, gate } = makeServer();
  setup?.(server);
  const app = createServer({ keepAliveTimeout: 5000, transport });
  const mcp = serveMcp(app, server, { heartbeatMs: 0, ...options });
  const { port } = await app.listen();
  const r: Running = { app, server, mcp, port, base: `http://127.0.0.1:${port}` };
  running.push(r);
  return { ...r, gate };
}

// ── HTTP helpers (undici) ───────────────────────────────────────────────────────────

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
}

/** Splits an SSE byte stream into events (every field kept, comments dropped). */
function sseParser(onEvent: (e: SseEvent) => void) {
  const td = new TextDecoder();
  let buf = '';
  return (chunk: Uint8Array) => {
    buf += td.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const lines = block.split('\n').filter((l) => !l.startsWith(':'));
      if (lines.length === 0) continue;
      const e: SseEvent = {};
      for (const l of lines) {
        const c = l.indexOf(':');
        const k = c < 0 ? l : l.slice(0, c);
        let v = c < 0 ? '' : l.slice(c + 1);
        if (v.startsWith(' ')) v = v.slice(1);
        if (k === 'data') e.data = e.data === undefined ? v : `${e.data}\n${v}`;
        else (e as Record<string, string>)[k] = v;
      }
      onEvent(e);
    }
  };
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The body as JSON (JSON answers), or undefined. */
  json: any;
  /** SSE answers: the events, and the JSON-RPC messages among them. */
  events: SseEvent[];
  messages: any[];
}

const header = (h: Record<string, string | string[] | undefined>, name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

/** A request, read to its end. */
async function http(base: string, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Reply> {
  const r = await request(`${base}${path}`, { method: method as 'POST', headers, body, dispatcher: agent });
  const buf = Buffer.from(await r.body.arrayBuffer());
  const hs: Record<string, string> = {};
  for (const k of Object.keys(r.headers)) hs[k] = header(r.headers, k)!;
  const text = buf.toString('utf8');
  const events: SseEvent[] = [];
  let json: any;
  if ((hs['content-type'] ?? '').startsWith('text/event-stream')) sseParser((e) => events.push(e))(buf);
  else if ((hs['content-type'] ?? '').startsWith('application/json') && text !== '') json = JSON.parse(text);
  const messages = events.filter((e) => e.data !== undefined && e.data !== '').map((e) => JSON.parse(e.data!));
  return { status: r.statusCode, headers: hs, text, json, events, messages };
}

/** A JSON-RPC POST to /mcp. */
function post(base: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return http(base, 'POST', '/mcp', { ...JSON_HEADERS, ...headers }, typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
}

/** The one JSON-RPC response of a POST answered either way (JSON or SSE). */
function answer(r: Reply, id: unknown): any {
  if (r.json !== undefined) return Array.isArray(r.json) ? r.json.find((m: any) => m.id === id) : r.json;
  return r.messages.find((m) => m.id === id && m.method === undefined);
}

const initBody = (protocolVersion = LATEST, id: unknown = 0, capabilities: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion, capabilities, clientInfo: { name: 'http-test-client', version: '1' } },
});

/** initialize + notifications/initialized; the headers later requests carry. */
async function initSession(base: string, protocolVersion = LATEST, extra: Record<string, string> = {}, capabilities: Record<string, unknown> = {}) {
  const r = await post(base, initBody(protocolVersion, 0, capabilities), extra);
  expect(r.status).toBe(200);
  const id = r.headers['mcp-session-id'];
  expect(id).toBeDefined();
  const headers: Record<string, string> = { 'mcp-session-id': id, 'mcp-protocol-version': protocolVersion, ...extra };
  const n = await post(base, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  expect(n.status).toBe(202);
  return { id, headers, init: r };
}

let nextId = 1;
/** A tools/call POST; resolves with the whole reply. */
function callTool(base: string, headers: Record<string, string>, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>, id: unknown = nextId++) {
  return post(base, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } }, headers);
}

/** A response that stays open (an SSE stream): its events as they come. */
interface OpenStream {
  status: number;
  headers: Record<string, string>;
  events: SseEvent[];
  /** Resolves once `n` events arrived (or `pred` holds). */
  waitEvents(pred: number | ((events: SseEvent[]) => boolean), ms?: number): Promise<SseEvent[]>;
  /** Resolves when the server ended the body. */
  ended: Promise<void>;
  /** Drops the connection (the client goes away). */
  destroy(): void;
}

async function open(base: string, method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string): Promise<OpenStream> {
  // A connection of its own, so that destroying it affects nothing else.
  const own = new Agent({ connections: 1, pipelining: 0 });
  const r = await request(`${base}${path}`, { method, headers, body, dispatcher: own });
  const hs: Record<string, string> = {};
  for (const k of Object.keys(r.headers)) hs[k] = header(r.headers, k)!;
  const events: SseEvent[] = [];
  const listeners = new Set<() => void>();
  const parse = sseParser((e) => {
    events.push(e);
    for (const l of listeners) l();
  });
  const ended = new Promise<void>((resolve) => {
    r.body.on('data', (c: Buffer) => parse(c));
    r.body.on('end', () => resolve());
    r.body.on('close', () => resolve());
    r.body.on('error', () => resolve());
  });
  void ended.then(() => own.destroy().catch(() => {}));
  return {
    status: r.statusCode,
    headers: hs,
    events,
    ended,
    waitEvents(pred, ms = 3000) {
      const ok = typeof pred === 'number' ? () => events.length >= pred : () => pred(events);
      return new Promise((resolve, reject) => {
        if (ok()) return resolve(events);
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for events; have ${JSON.stringify(events)}`));
        }, ms);
        const check = () => {
          if (!ok()) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(events);
        };
        listeners.add(check);
      });
    },
    destroy() {
      r.body.destroy();
      void own.destroy().catch(() => {});
    },
  };
}

const messagesOf = (events: SseEvent[]) => events.filter((e) => e.data !== undefined && e.data !== '').map((e) => JSON.parse(e.data!));

function rawPost(body: string | Buffer, extra: Record<string, string> = {}): Buffer {
  return rawRequest('POST', '/mcp', [['Accept', ACCEPT], ['Content-Type', 'application/json'], ...Object.entries(extra)], body);
}

describe.each(TRANSPORTS)('on the %s transport', (t) => {
  beforeAll(() => {
    transport = t;
  });

  // ── sessions ────────────────────────────────────────────────────────────────────────

  describe('Streamable HTTP: sessions', () => {
    it('initialize answers JSON with an Mcp-Session-Id of visible ASCII, long enough, unique', async () => {
      const { base } = await start();
      const ids = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const r = await post(base, initBody(LATEST, i));
        expect(r.status).toBe(200);
        expect(r.headers['content-type']).toMatch(/^application\/json/);
        expect(r.json).toMatchObject({ jsonrpc: '2.0', id: i, result: { protocolVersion: LATEST, serverInfo: { name: 'http-test', version: '1.0.0' } } });
        const id = r.headers['mcp-session-id'];
        expect(id).toMatch(/^[\x21-\x7e]+$/);
        expect(id.length).toBeGreaterThanOrEqual(22);
        ids.add(id);
      }
      expect(ids.size).toBe(20);
    });

    it('answers a request without a session id with 400', async () => {
      const { base } = await start();
      await initSession(base);
      const r = await post(base, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-protocol-version': LATEST });
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
    });

    it('answers an unknown session id with 404', async () => {
      const { base } = await start();
      const r = await post(base, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': 'no-such-session-0123456789' });
      expect(r.status).toBe(404);
      expect(r.json.error.code).toBe(-32001);
      const g = await http(base, 'GET', '/mcp', { accept: 'text/event-stream', 'mcp-session-id': 'no-such-session-0123456789' });
      expect(g.status).toBe(404);
    });

    it('DELETE ends a session; later requests with its id get 404', async () => {
      const { base, server } = await start();
      const s = await initSession(base);
      expect(server.sessionCount).toBe(1);
      const ok = await post(base, { jsonrpc: '2.0', id: 1, method: 'ping' }, s.headers);
      expect(ok.json).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
      const d = await http(base, 'DELETE', '/mcp', s.headers);
      expect(d.status).toBe(200);
      expect(server.sessionCount).toBe(0);
      const after = await post(base, { jsonrpc: '2.0', id: 2, method: 'ping' }, s.headers);
      expect(after.status).toBe(404);
      expect((await http(base, 'DELETE', '/mcp', s.headers)).status).toBe(404);
      expect((await http(base, 'DELETE', '/mcp', {})).status).toBe(400);
    });

    it('DELETE during a running request: the tool is aborted and its POST is answered 404', async () => {
      const { base, gate } = await start();
      const s = await initSession(base);
      const running = callTool(base, s.headers, 'wait', {}, undefined, 'del');
      await within(gate.started.promise, 3000, 'the tool to start');
      expect((await http(base, 'DELETE', '/mcp', s.headers)).status).toBe(200);
      await within(gate.aborted.promise, 3000, 'the tool to be aborted');
      const r = await running;
      expect(r.status).toBe(404);
      expect(r.json.error.code).toBe(-32000);
    });

    it('refuses an unsupported MCP-Protocol-Version with 400 and accepts a request without one', async () => {
      const { base } = await start();
      const s = await initSession(base, '2025-06-18');
      const bad = await post(base, { jsonrpc: '2.0', id: 1, method: 'ping' }, { ...s.headers, 'mcp-protocol-version': '1999-01-01' });
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/Unsupported protocol version/);
      const { 'mcp-protocol-version': _, ...noVersion } = s.headers;
      const ok = await post(base, { jsonrpc: '2.0', id: 2, method: 'ping' }, noVersion);
      expect(ok.status).toBe(200);
      expect(ok.json).toEqual({ jsonrpc: '2.0', id: 2, result: {} });
      const other = await post(base, { jsonrpc: '2.0', id: 3, method: 'ping' }, { ...s.headers, 'mcp-protocol-version': '2025-03-26' });
      expect(other.status).toBe(200);
    });

    it('evicts the least recently used idle session at maxSessions; evicted ones get 404', async () => {
      const { base, server, mcp } = await start({ maxSessions: 5 });
      const sessions: Array<Record<string, string>> = [];
      for (let i = 0; i < 10; i++) {
        const s = await initSession(base);
        sessions.push(s.headers);
      }
      expect(mcp.streamable.sessions.size).toBe(5);
      expect(server.sessionCount).toBe(5);
      for (let i = 0; i < 10; i++) {
        const r = await post(base, { jsonrpc: '2.0', id: i, method: 'ping' }, sessions[i]);
        expect(r.status, `session ${i}`).toBe(i < 5 ? 404 : 200);
      }
    });

    it('at maxSessions with every session busy, initialize is refused with 503 and Retry-After', async () => {
      const { base, gate } = await start({ maxSessions: 1 });
      const s = await initSession(base);
      const running = callTool(base, s.headers, 'wait');
      await within(gate.started.promise, 3000, 'the tool to start');
      const r = await post(base, initBody());
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('5');
      gate.release.resolve('released');
      expect(answer(await running, (await running).json.id).result.content[0].text).toBe('released');
    });

    it('ends sessions idle past sessionIdleTimeout (store sweep)', async () => {
      const { base, mcp, server } = await start({ sessionIdleTimeout: 60_000 });
      const a = await initSession(base);
      const b = await initSession(base);
      const store = mcp.streamable.sessions as MemorySessionStore<HttpSession>;
      expect(store).toBeInstanceOf(MemorySessionStore);
      expect(store.idleTimeout).toBe(60_000);
      store.sweep(Date.now() + 30_000);
      expect(store.size).toBe(2);
      // b is used again later than a: a sweep that reaches only a's age ends only a.
      const seenA = store.get(a.id)!.lastSeen;
      await until(() => Date.now() > seenA + 2, 100);
      expect((await post(base, { jsonrpc: '2.0', id: 1, method: 'ping' }, b.headers)).status).toBe(200);
      store.sweep(seenA + 60_000);
      expect(store.size).toBe(1);
      expect((await post(base, { jsonrpc: '2.0', id: 2, method: 'ping' }, a.headers)).status).toBe(404);
      expect((await post(base, { jsonrpc: '2.0', id: 3, method: 'ping' }, b.headers)).status).toBe(200);
      store.sweep(Date.now() + 61_000);
      expect(store.size).toBe(0);
      expect(server.sessionCount).toBe(0);
      expect((await post(base, { jsonrpc: '2.0', id: 4, method: 'ping' }, b.headers)).status).toBe(404);
    });

    it('stateless mode: no session id, every POST stands alone, GET and DELETE are 405', async () => {
      const { base, server } = await start({ stateless: true });
      const r = await post(base, initBody());
      expect(r.status).toBe(200);
      expect(r.headers['mcp-session-id']).toBeUndefined();
      expect(r.json.result.protocolVersion).toBe(LATEST);
      const call = await callTool(base, { 'mcp-protocol-version': LATEST }, 'echo', { text: 'no session' }, undefined, 'x');
      expect(call.status).toBe(200);
      expect(call.json.result.content[0].text).toBe('no session');
      const progress = await callTool(base, {}, 'progress', {}, { progressToken: 't' }, 'p');
      expect(progress.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(answer(progress, 'p').result.content[0].text).toBe('done');
      const g = await http(base, 'GET', '/mcp', { accept: 'text/event-stream' });
      expect(g.status).toBe(405);
      expect(g.headers.allow).toBe('POST');
      expect((await http(base, 'DELETE', '/mcp', {})).status).toBe(405);
      expect(await until(() => server.sessionCount === 0)).toBe(true);
    });

    it('2,000 abandoned sessions stay counted and bounded in memory', async () => {
      const { base, server, mcp } = await start();
      const before = process.memoryUsage().heapUsed;
      const N = 2000;
      let done = 0;
      const worker = async () => {
        while (done < N) {
          done++;
          const r = await post(base, initBody());
          if (r.status !== 200) throw new Error(`initialize: ${r.status}`);
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
      expect(server.sessionCount).toBe(N);
      expect(mcp.streamable.sessions.size).toBe(N);
      const after = process.memoryUsage().heapUsed;
      const perSession = (after - before) / N / 1024;
      console.log(`2,000 abandoned MCP sessions: heap +${((after - before) / 1048576).toFixed(1)} MiB, about ${perSession.toFixed(1)} KB/session (no GC forced)`);
      // Loose: garbage not yet collected counts too.
      expect(after - before).toBeLessThan(200 * 1024 * 1024);
      mcp.close();
      expect(server.sessionCount).toBe(0);
      expect(mcp.streamable.sessions.size).toBe(0);
    });
  });

  // ── POST bodies and headers ─────────────────────────────────────────────────────────

  describe('Streamable HTTP: POST', () => {
    it('answers a notification-only or response-only POST with 202 and an empty body', async () => {
      const { base } = await start();
      const s = await initSession(base);
      const n = await post(base, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' }, s.headers);
      expect(n.status).toBe(202);
      expect(n.text).toBe('');
      const resp = await post(base, { jsonrpc: '2.0', id: 's99', result: {} }, s.headers);
      expect(resp.status).toBe(202);
      expect(resp.text).toBe('');
      const err = await post(base, { jsonrpc: '2.0', id: 's98', error: { code: -1, message: 'x' } }, s.headers);
      expect(err.status).toBe(202);
      expect(err.text).toBe('');
      const batch = await post(base, [{ jsonrpc: '2.0', method: 'notifications/x' }, { jsonrpc: '2.0', id: 's97', result: {} }], s.headers);
      expect(batch.status).toBe(202);
      expect(batch.text).toBe('');
    });

    it('answers a batch with a JSON array holding responses for the requests only', async () => {
      const { base } = await start();
      const s = await initSession(base, '2025-03-26');
      const r = await post(base, [
        { jsonrpc: '2.0', id: 'a', method: 'ping' },
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } },
        { jsonrpc: '2.0', method: 'notifications/whatever' },
        { jsonrpc: '2.0', id: 'c', method: 'nope/nope' },
        { jsonrpc: '2.0', id: 'resp', result: {} },
      ], s.headers);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(Array.isArray(r.json)).toBe(true);
      expect(r.json).toHaveLength(3);
      const byId = new Map(r.json.map((m: any) => [m.id, m]));
      expect(byId.get('a')).toEqual({ jsonrpc: '2.0', id: 'a', result: {} });
      expect(byId.get(2)).toEqual({ jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'hi' }] } });
      expect((byId.get('c') as any).error.code).toBe(-32601);
    });

    it('answers an invalid batch member with its -32600 error in the array', async () => {
      const { base } = await start();
      const s = await initSession(base, '2025-03-26');
      const r = await post(base, [{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '1.0', id: 2, method: 'ping' }, 5], s.headers);
      expect(r.status).toBe(200);
      expect(r.json).toHaveLength(3);
      expect(r.json.find((m: any) => m.id === 1)).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
      expect(r.json.filter((m: any) => m.error?.code === -32600)).toHaveLength(2);
    });

    it('answers an empty batch with 400 -32600', async () => {
      const { base } = await start();
      const s = await initSession(base);
      const r = await post(base, '[]', s.headers);
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    });

    it('answers invalid JSON with 400 -32700', async () => {
      const { base } = await start();
      const s = await initSession(base);
      for (const body of ['{"jsonrpc":"2.0","id":1,"method":"ping"', '{bad json}', 'nul', '{"a":1,}']) {
        const r = await post(base, body, s.headers);
        expect(r.status, body).toBe(400);
        expect(r.json.error.code, body).toBe(-32700);
      }
    });

    it('answers invalid UTF-8 inside a string with -32700', async () => {
      const { base } = await start();
      const s = await initSession(base);
      const body = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}}')]);
      const r = await post(base, body, s.headers);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe(-32700);
      const lone = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}}')]);
      expect((await post(base, lone, s.headers)).json.error.code).toBe(-32700);
    });

    it('answers an Accept without text/event-stream with 406', async () => {
      const { base } = await start();
      const s = await initSession(base);
      for (const accept of ['application/json', 'text/event-stream', 'text/html']) {
        const r = await post(base, { jsonrpc: '2.0', id: 1, method: 'ping' }, { ...s.headers, accept });
        expect(r.status, accept).toBe(406);
      }
      const none = await http(base, 'POST', '/mcp', { 'content-type': 'application/json', ...s.headers }, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
      expect(none.status).toBe(406);
      expect((await post(base, { jsonrpc: '2.0', id: 1, method: 'ping' }, { ...s.headers, accept: '*/*' })).status).toBe(200);
    });

    it('answers a Content-Type that is not JSON with 415', async () => {
      const { base } = await start();
      const s = await initSession(base);
      for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
        const r = await post(base, { jsonrpc: '2.0', id: 1, method: 'ping' }, { ...s.headers, 'content-type': ct });
        expect(r.status, ct).toBe(415);
      }
      expect((await post(base, { jsonrpc: '2.0', id: 1, method: 'ping' }, { ...s.headers, 'content-type': 'application/json; charset=utf-8' })).status).toBe(200);
    });

    it('answers Content-Length: 9 MiB with 413 before the body is sent, and the connection goes on', async () => {
      const { port } = await start();
      const c = await RawConn.open(port);
      try {
        const size = 9 * 1024 * 1024;
        await c.send(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: ${ACCEPT}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
        const r = await c.read();
        expect(r.status).toBe(413);
        expect(JSON.parse(r.body.toString())).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
        expect((r.headers.connection ?? '').toLowerCase()).not.toBe('close');
        // The body the server did not want is dropped as it comes; the next request is answered.
        await c.send(Buffer.alloc(size, 0x20));
        await c.send(rawPost(JSON.stringify(initBody())));
        const next = await c.read();
        expect(next.status).toBe(200);
        expect(JSON.parse(next.body.toString()).result.protocolVersion).toBe(LATEST);
        expect(c.closed).toBe(false);
      } finally {
        c.close();
      }
    });

    it('answers a chunked body that grows past the limit with 413', async () => {
      const { port } = await start({ maxBodyBytes: 100_000 });
      const c = await RawConn.open(port);
      try {
        await c.send(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: ${ACCEPT}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
        const chunk = Buffer.alloc(16 * 1024, 0x20);
        const pending = c.read();
        let sent = 0;
        let got: RawResponse | undefined;
        void pending.then((r) => (got = r), () => {});
        while (got === undefined && sent < 1024 * 1024) {
          await c.send(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
          sent += chunk.length;
          await new Promise((r) => setImmediate(r));
        }
        const r = await pending;
        expect(r.status).toBe(413);
        expect(JSON.parse(r.body.toString()).error.code).toBe(-32600);
        expect(sent).toBeGreaterThan(100_000);
        expect(sent).toBeLessThan(1024 * 1024);
      } finally {
        c.close();
      }
    });

    it('answers 100 malformed bodies on one keep-alive connection with 400 each; the connection survives', async () => {
      const { base, port } = await start();
      const s = await initSession(base);
      const c = await RawConn.open(port);
      try {
        const bodies = ['{', '[]', '{"jsonrpc":"2.0"', '[1,2', 'null', '"str"', '{"jsonrpc":"2.0","id":1}', '\u0000', '{"a":1}}', '   '];
        for (let i = 0; i < 100; i++) {
          const body = bodies[i % bodies.length];
          await c.send(rawPost(body, { 'Mcp-Session-Id': s.id, 'MCP-Protocol-Version': LATEST }));
          const r = await c.read();
          expect(r.status, `#${i} ${JSON.stringify(body)}`).toBe(400);
          expect([-32700, -32600]).toContain(JSON.parse(r.body.toString()).error.code);
        }
        expect(c.closed).toBe(false);
        await c.send(rawPost(JSON.stringify({ jsonrpc: '2.0', id: 'ok', method: 'ping' }), { 'Mcp-Session-Id': s.id, 'MCP-Protocol-Version': LATEST }));
        const ok = await c.read();
        expect(ok.status).toBe(200);
        expect(JSON.parse(ok.body.toString())).toEqual({ jsonrpc: '2.0', id: 'ok', result: {} });
      } finally {
        c.close();
      }
    });

    it('answers a second POST with an id already in flight with -32600, and the first one finishes', async () => {
      const { base, gate } = await start();
      const s = await initSession(base);
      const first = callTool(base, s.headers, 'wait', {}, undefined, 42);
      await within(gate.started.promise, 3000, 'the tool to start');
      const second = await callTool(base, s.headers, 'echo', { text: 'x' }, undefined, 42);
      expect(second.status).toBe(200);
      expect(second.json).toMatchObject({ jsonrpc: '2.0', id: 42, error: { code: -32600 } });
      gate.release.resolve('first done');
      const r = await first;
      expect(r.json).toEqual({ jsonrpc: '2.0', id: 42, result: { content: [{ type: 'text', text: 'first done' }] } });
      // Free again afterwards.
      expect((await callTool(base, s.headers, 'echo', { text: 'again' }, undefined, 42)).json.result.content[0].text).toBe('again');
    });

    it('accepts a response to an unknown server request with 202; the session carries on', async () => {
      const { base } = await start();
      const s = await initSession(base);
      const r = await post(base, { jsonrpc: '2.0', id: 'never-sent', result: { role: 'assistant' } }, s.headers);
      expect(r.status).toBe(202);
      const r2 = await post(base, { jsonrpc: '2.0', id: 12345, error: { code: -32601, message: 'x' } }, s.headers);
      expect(r2.status).toBe(202);
      expect((await post(base, { jsonrpc: '2.0', id: 1, method: 'ping' }, s.headers)).json).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
    });

    it('refuses initialize inside a batch', async () => {
      const { base } = await start();
      const r = await post(base, [initBody(), { jsonrpc: '2.0', id: 1, method: 'ping' }]);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe(-32600);
    });
  });

  // ── SSE answers and streams ─────────────────────────────────────────────────────────

  describe('Streamable HTTP: SSE', () => {
    it('a tool that sends progress is answered with text/event-stream (priming event first, every event with an id)', async () => {
      const { base } = await start();
      const s = await initSession(base, LATEST);
      const r = await callTool(base, s.headers, 'progress', {}, { progressToken: 'pt' }, 'p1');
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(r.events.length).toBeGreaterThanOrEqual(4);
      expect(r.events[0].id).toBeTruthy();
      expect(r.events[0].data ?? '').toBe('');
      for (const e of r.events) expect(e.id, JSON.stringify(e)).toMatch(/\S/);
      expect(new Set(r.events.map((e) => e.id)).size).toBe(r.events.length);
      expect(r.messages).toEqual([
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'pt', progress: 1, total: 2, message: 'half' } },
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'pt', progress: 2, total: 2, message: 'all' } },
        { jsonrpc: '2.0', id: 'p1', result: { content: [{ type: 'text', text: 'done' }] } },
      ]);
    });

    it('a 2025-06-18 session gets no priming event, but still an id on every event', async () => {
      const { base } = await start();
      const s = await initSession(base, '2025-06-18');
      const r = await callTool(base, s.headers, 'progress', {}, { progressToken: 7 }, 'p2');
      expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(r.events).toHaveLength(3);
      for (const e of r.events) {
        expect(e.id).toMatch(/\S/);
        expect(e.data).toMatch(/^\{/);
      }
      expect(r.messages.at(-1)).toEqual({ jsonrpc: '2.0', id: 'p2', result: { content: [{ type: 'text', text: 'done' }] } });
    });

    it('a tool that sends nothing first is answered with application/json (also without a progressToken)', async () => {
      const { base } = await start();
      const s = await initSession(base);
      const r = await callTool(base, s.headers, 'echo', { text: 'json' }, undefined, 'e1');
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.json).toEqual({ jsonrpc: '2.0', id: 'e1', result: { content: [{ type: 'text', text: 'json' }] } });
      const p = await callTool(base, s.headers, 'progress', {}, undefined, 'e2');
      expect(p.headers['content-type']).toMatch(/^application\/json/);
      expect(p.json.result.content[0].text).toBe('done');
    });

    it('GET opens the standalone stream; a second GET is 409', async () => {
      const { base } = await start();
      const s = await initSession(base);
      const g = await open(base, 'GET', '/mcp', { accept: 'text/event-stream', ...s.headers });
      try {
        expect(g.status).toBe(200);
        expect(g.headers['content-type']).toMatch(/^text\/event-stream/);
        await g.waitEvents(1); // (the priming event of 2025-11-25)
        expect(g.events[0].data ?? '').toBe('');
        const second = await http(base, 'GET', '/mcp', { accept: 'text/event-stream', ...s.headers });
        expect(second.status).toBe(409);
        const noAccept = await http(base, 'GET', '/mcp', { accept: 'application/json', ...s.headers });
        expect(noAccept.status).toBe(406);
      } finally {
        g.destroy();
      }
    });

    it('sends list_changed to the standalone stream when tools are added or removed', async () => {
      const { base, server } = await start();
      const s = await initSession(base);
      const g = await open(base, 'GET', '/mcp', { accept: 'text/event-stream', ...s.headers });
      try {
        await g.waitEvents(1);
        server.tool('new-tool', {}, () => 'new');
        server.removeTool('new-tool');
        server.broadcast('notifications/message', { level: 'info', data: 'hello all' });
        await g.waitEvents((ev) => messagesOf(ev).length >= 3);
        expect(messagesOf(g.events)).toEqual([
          { jsonrpc: '2.0', method: 'notifications/tools/list_changed' },
          { jsonrpc: '2.0', method: 'notifications/tools/list_changed' },
          { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'hello all' } },
        ]);
        for (const e of g.events) expect(e.id).toMatch(/\S/);
      } finally {
        g.destroy();
      }
    });

    it('GET with Last-Event-ID replays what the standalone stream sent after that event', async () => {
      const { base, server } = await start();
      const s = await initSession(base);
      const g = await open(base, 'GET', '/mcp', { accept: 'text/event-stream', ...s.headers });
      await g.waitEvents(1);
      server.broadcast('notifications/message', { level: 'info', data: 'one' });
      server.broadcast('notifications/message', { level: 'info', data: 'two' });
      await g.waitEvents(3);
      const ids = g.events.map((e) => e.id!);
      g.destroy();
      await within(g.ended, 3000, 'the dropped stream to end');
      // (the server sees the stream close, then accepts a new GET)
      let again: OpenStream | undefined;
      for (let i = 0; i < 100 && again === undefined; i++) {
        const r = await open(base, 'GET', '/mcp', { accept: 'text/event-stream', 'last-event-id': ids[1], ...s.headers });
        if (r.status === 200) again = r;
        else {
          r.destroy();
          await new Promise((res) => setTimeout(res, 10));
        }
      }
      expect(again).toBeDefined();
      try {
        await again!.waitEvents((ev) => messagesOf(ev).some((m) => m.params?.data === 'two'));
        const replayed = again!.events.filter((e) => e.data !== '' && e.data !== undefined);
        expect(replayed[0].id).toBe(ids[2]);
        expect(messagesOf(replayed)).toEqual([{ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'two' } }]);
        // New events go on arriving on the resumed stream.
        server.broadcast('notifications/message', { level: 'info', data: 'three' });
        await again!.waitEvents((ev) => messagesOf(ev).some((m) => m.params?.data === 'three'));
      } finally {
        again!.destroy();
      }
    });

    it('what the standalone stream would have carried while it was broken is replayed on the resume', async () => {
      const { base, server, mcp } = await start();
      const s = await initSession(base);
      const g = await open(base, 'GET', '/mcp', { accept: 'text/event-stream', ...s.headers });
      await g.waitEvents(1);
      server.broadcast('notifications/message', { level: 'info', data: 'before' });
      await g.waitEvents(2);
      const last = g.events[1].id!;
      g.destroy();
      const hs = mcp.streamable.sessions.get(s.id)!;
      for (let i = 0; i < 300 && hs.standalone !== null && !hs.standalone.closed; i++) await new Promise((r) => setTimeout(r, 10));
      server.broadcast('notifications/message', { level: 'info', data: 'in the gap' });
      const again = await open(base, 'GET', '/mcp', { accept: 'text/event-stream', 'last-event-id': last, ...s.headers });
      try {
        expect(again.status).toBe(200);
        await again.waitEvents((ev) => messagesOf(ev).some((m) => m.params?.data === 'in the gap'));
        expect(messagesOf(again.events).map((m) => m.params.data)).toEqual(['in the gap']);
      } finally {
        again.destroy();
      }
    });

    it('a POST stream the server closes for a reconnect (closeStream) resumes with GET Last-Event-ID', async () => {
      const { base, gate } = await start();
      const s = await initSession(base);
      const r = await open(base, 'POST', '/mcp', { ...JSON_HEADERS, ...s.headers }, JSON.stringify({
        jsonrpc: '2.0', id: 'rc', method: 'tools/call', params: { name: 'reconnect', arguments: {}, _meta: { progressToken: 'rc' } },
      }));
      expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
      await within(r.ended, 3000, 'the server to close the stream'); // (asking for a reconnect)
      const first = r.events;
      expect(messagesOf(first)).toEqual([expect.objectContaining({ method: 'notifications/progress', params: expect.objectContaining({ message: 'before the break' }) })]);
      const retry = first.find((e) => e.retry !== undefined);
      expect(retry?.retry).toBe('1000');
      const last = first.at(-1)!.id!;
      const resumed = await open(base, 'GET', '/mcp', { accept: 'text/event-stream', 'last-event-id': last, ...s.headers });
      expect(resumed.status).toBe(200);
      gate.release.resolve('go');
      await within(resumed.ended, 3000, 'the resumed stream to end');
      expect(messagesOf(resumed.events)).toEqual([
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'rc', progress: 2, total: 3, message: 'after the break' } },
        { jsonrpc: '2.0', id: 'rc', result: { content: [{ type: 'text', text: 'finished after reconnect' }] } },
      ]);
      for (const e of resumed.events) expect(e.id).toMatch(/\S/);
    });

    it('a server→client request goes down the POST stream; the client POSTs its answer (202) and the tool finishes', async () => {
      const { base } = await start();
      const s = await initSession(base, LATEST, {}, { sampling: {} });
      const r = await open(base, 'POST', '/mcp', { ...JSON_HEADERS, ...s.headers }, JSON.stringify({
        jsonrpc: '2.0', id: 'sam', method: 'tools/call', params: { name: 'ask-sample', arguments: {} },
      }));
      expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
      await r.waitEvents((ev) => messagesOf(ev).some((m) => m.method === 'sampling/createMessage'));
      const req = messagesOf(r.events).find((m) => m.method === 'sampling/createMessage');
      expect(req.params).toEqual({ messages: [{ role: 'user', content: { type: 'text', text: 'hi?' } }], maxTokens: 9 });
      const reply = await post(base, { jsonrpc: '2.0', id: req.id, result: { role: 'assistant', content: { type: 'text', text: 'hello' }, model: 'm' } }, s.headers);
      expect(reply.status).toBe(202);
      await within(r.ended, 3000, 'the tool answer');
      expect(messagesOf(r.events).at(-1)).toEqual({
        jsonrpc: '2.0', id: 'sam',
        result: {
          content: [{ type: 'text', text: JSON.stringify({ got: { role: 'assistant', content: { type: 'text', text: 'hello' }, model: 'm' } }) }],
          structuredContent: { got: { role: 'assistant', content: { type: 'text', text: 'hello' }, model: 'm' } },
        },
      });
    });

    it('resources/updated reaches the standalone stream of a subscribed session only', async () => {
      const { base, server } = await start();
      const a = await initSession(base);
      const b = await initSession(base);
      expect((await post(base, { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'mem://counter' } }, a.headers)).json)
        .toEqual({ jsonrpc: '2.0', id: 1, result: {} });
      const ga = await open(base, 'GET', '/mcp', { accept: 'text/event-stream', ...a.headers });
      const gb = await open(base, 'GET', '/mcp', { accept: 'text/event-stream', ...b.headers });
      try {
        await ga.waitEvents(1);
        await gb.waitEvents(1);
        server.notifyResourceUpdated('mem://counter');
        server.broadcast('notifications/message', { level: 'info', data: 'marker' });
        await ga.waitEvents((ev) => messagesOf(ev).length >= 2);
        await gb.waitEvents((ev) => messagesOf(ev).length >= 1);
        expect(messagesOf(ga.events)[0]).toEqual({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'mem://counter' } });
        expect(messagesOf(gb.events).map((m) => m.method)).toEqual(['notifications/message']);
      } finally {
        ga.destroy();
        gb.destroy();
      }
    });
  });

  // ── cancellation and clients that go away ───────────────────────────────────────────

  describe('Streamable HTTP: cancellation and disconnects', () => {
    it('notifications/cancelled aborts the running tool; no response is sent for it', async () => {
      const { base, gate } = await start();
      const s = await initSession(base);
      const running = callTool(base, s.headers, 'wait', {}, undefined, 'cancel-me');
      await within(gate.started.promise, 3000, 'the tool to start');
      const n = await post(base, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'cancel-me', reason: 'stop' } }, s.headers);
      expect(n.status).toBe(202);
      const { reason } = await within(gate.aborted.promise, 3000, 'the tool to be aborted');
      expect((reason as McpError).message).toBe('stop');
      const r = await running;
      expect(r.status).toBe(200);
      expect(answer(r, 'cancel-me')).toBeUndefined();
      expect(r.messages).toEqual([]);
    });

    it('a client that drops an SSE answer mid-stream: the tool is aborted after resumeWindowMs', async () => {
      const resumeWindowMs = 150;
      const { base, gate } = await start({ resumeWindowMs });
      const s = await initSession(base);
      const r = await open(base, 'POST', '/mcp', { ...JSON_HEADERS, ...s.headers }, JSON.stringify({
        jsonrpc: '2.0', id: 'drop', method: 'tools/call', params: { name: 'wait-stream', arguments: {}, _meta: { progressToken: 1 } },
      }));
      expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
      await r.waitEvents((ev) => messagesOf(ev).length >= 1);
      const droppedAt = Date.now();
      r.destroy();
      const { at, reason } = await within(gate.aborted.promise, 3000, 'the tool to be aborted');
      expect(at - droppedAt).toBeGreaterThanOrEqual(resumeWindowMs - 10);
      expect((reason as McpError).message).toMatch(/did not resume/);
    });

    it('a client that drops an SSE answer and resumes it in time gets the rest, the response included', async () => {
      const { base, gate, mcp } = await start({ resumeWindowMs: 5000 });
      const s = await initSession(base);
      const r = await open(base, 'POST', '/mcp', { ...JSON_HEADERS, ...s.headers }, JSON.stringify({
        jsonrpc: '2.0', id: 'resume', method: 'tools/call', params: { name: 'wait-stream', arguments: {}, _meta: { progressToken: 'rs' } },
      }));
      const hs = mcp.streamable.sessions.get(s.id)!;
      await r.waitEvents((ev) => messagesOf(ev).length >= 1);
      const last = r.events.at(-1)!.id!;
      r.destroy();
      await within(r.ended, 3000, 'the dropped stream to end');
      // The tool finishes while nobody listens: its response is kept for the resume.
      gate.release.resolve('kept for you');
      // (what a resume needs is in the event store: the finished exchange is not kept)
      for (let i = 0; i < 100 && hs.exchanges.size > 0; i++) await new Promise((res) => setTimeout(res, 10));
      expect(hs.exchanges.size).toBe(0);
      const resumed = await open(base, 'GET', '/mcp', { accept: 'text/event-stream', 'last-event-id': last, ...s.headers });
      expect(resumed.status).toBe(200);
      await within(resumed.ended, 3000, 'the resumed stream to end');
      expect(messagesOf(resumed.events)).toEqual([{ jsonrpc: '2.0', id: 'resume', result: { content: [{ type: 'text', text: 'kept for you' }] } }]);
    });

    // A client that closes its connection (FIN) while a tool runs and nothing has been
    // sent yet (the answer would be application/json): the tool's signal aborts at once.
    it('a client that drops a JSON answer (FIN): the tool is aborted at once', async () => {
      const { base, gate } = await start({ resumeWindowMs: 60_000 });
      const s = await initSession(base);
      const own = new Agent({ connections: 1 });
      const ac = new AbortController();
      const req = request(`${base}/mcp`, {
        method: 'POST', headers: { ...JSON_HEADERS, ...s.headers }, dispatcher: own, signal: ac.signal,
        body: JSON.stringify({ jsonrpc: '2.0', id: 'gone', method: 'tools/call', params: { name: 'wait', arguments: {} } }),
      });
      req.catch(() => {});
      await within(gate.started.promise, 3000, 'the tool to start');
      ac.abort();
      await own.destroy().catch(() => {});
      const { reason } = await within(gate.aborted.promise, 3000, 'the tool to be aborted');
      expect((reason as McpError).message).toMatch(/closed the connection/);
    });

    it('a client whose connection is reset while a JSON answer is owed: the tool is aborted at once', async () => {
      const { base, port, gate } = await start({ resumeWindowMs: 60_000 });
      const s = await initSession(base);
      const c = await RawConn.open(port);
      await c.send(rawPost(JSON.stringify({ jsonrpc: '2.0', id: 'reset', method: 'tools/call', params: { name: 'wait', arguments: {} } }),
        { 'Mcp-Session-Id': s.id, 'MCP-Protocol-Version': LATEST }));
      await within(gate.started.promise, 3000, 'the tool to start');
      const at = Date.now();
      c.sock.resetAndDestroy();
      const aborted = await within(gate.aborted.promise, 3000, 'the tool to be aborted');
      expect((aborted.reason as McpError).message).toMatch(/closed the connection/);
      expect(aborted.at - at).toBeLessThan(1000);
      // The session carries on.
      expect((await post(base, { jsonrpc: '2.0', id: 1, method: 'ping' }, s.headers)).json).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
    });
  });

  // ── Host, Origin, authentication ────────────────────────────────────────────────────

  describe('Streamable HTTP: guard', () => {
    it('refuses an Origin that is not allowed with 403; no Origin or a loopback Origin is fine', async () => {
      const { base } = await start();
      const bad = await post(base, initBody(), { origin: 'https://evil.example' });
      expect(bad.status).toBe(403);
      expect(bad.json.error.message).toMatch(/Origin/);
      expect((await post(base, initBody())).status).toBe(200);
      expect((await post(base, initBody(), { origin: 'http://localhost:5173' })).status).toBe(200);
      expect((await post(base, initBody(), { origin: 'http://127.0.0.1' })).status).toBe(200);
      expect((await post(base, initBody(), { origin: 'null' })).status).toBe(403);
    });

    it('honours allowedOrigins', async () => {
      const { base } = await start({ allowedOrigins: ['https://app.example'] });
      expect((await post(base, initBody(), { origin: 'https://app.example' })).status).toBe(200);
      expect((await post(base, initBody(), { origin: 'http://localhost:5173' })).status).toBe(403);
    });

    it('refuses a Host that is not loopback with 403 by default', async () => {
      const { base } = await start();
      for (const host of ['evil.example', 'evil.example:80', '127.0.0.1.nip.io']) {
        const r = await post(base, initBody(), { host });
        expect(r.status, host).toBe(403);
        expect(r.json.error.message).toMatch(/Host/);
      }
      for (const host of ['localhost', 'LOCALHOST:1234', '127.0.0.1:9', '[::1]:8080']) {
        expect((await post(base, initBody(), { host })).status, host).toBe(200);
      }
      // GET and DELETE are guarded too.
      expect((await http(base, 'GET', '/mcp', { accept: 'text/event-stream', host: 'evil.example' })).status).toBe(403);
      expect((await http(base, 'DELETE', '/mcp', { host: 'evil.example' })).status).toBe(403);
    });

    it('honours allowedHosts', async () => {
      const { base } = await start({ allowedHosts: ['mcp.example.com', 'other.example:8443'] });
      expect((await post(base, initBody(), { host: 'mcp.example.com' })).status).toBe(200);
      expect((await post(base, initBody(), { host: 'mcp.example.com:3000' })).status).toBe(200);
      expect((await post(base, initBody(), { host: 'other.example:8443' })).status).toBe(200);
      expect((await post(base, initBody(), { host: 'evil.example' })).status).toBe(403);
      const any = await start({ allowedHosts: '*' });
      expect((await post(any.base, initBody(), { host: 'anything.example' })).status).toBe(200);
    });

    it('bearerAuth: 401 with resource_metadata without a token; the metadata is served; authInfo reaches the tool', async () => {
      const oauth = { resource: 'http://127.0.0.1/mcp', authorization_servers: ['https://auth.example'], scopes_supported: ['mcp'] };
      const verified: string[] = [];
      const { base } = await start({
        oauth,
        authenticate: bearerAuth({
          verify: (token) => {
            verified.push(token);
            return token === 'good-token' ? { clientId: 'client-1', scopes: ['mcp'] } : null;
          },
          resourceMetadataUrl: 'http://127.0.0.1/.well-known/oauth-protected-resource',
        }),
      });
      const none = await post(base, initBody());
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer /);
      expect(none.headers['www-authenticate']).toContain('resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource"');
      const wrong = await post(base, initBody(), { authorization: 'Bearer bad-token' });
      expect(wrong.status).toBe(401);
      expect(wrong.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(wrong.headers['www-authenticate']).toContain('resource_metadata=');

      const meta = await http(base, 'GET', '/.well-known/oauth-protected-resource', {});
      expect(meta.status).toBe(200);
      expect(meta.json).toEqual(oauth);
      expect((await http(base, 'GET', '/.well-known/oauth-protected-resource/mcp', {})).json).toEqual(oauth);

      const auth = { authorization: 'Bearer good-token' };
      const s = await initSession(base, LATEST, auth);
      const who = await callTool(base, s.headers, 'whoami', {}, undefined, 'w');
      expect(who.json.result.structuredContent).toEqual({ authInfo: { clientId: 'client-1', scopes: ['mcp'] }, sessionId: s.id });
      // Every request is authenticated, not only initialize.
      const { authorization: _, ...noAuth } = s.headers;
      expect((await callTool(base, noAuth, 'whoami')).status).toBe(401);
      expect((await http(base, 'GET', '/mcp', { accept: 'text/event-stream', ...noAuth })).status).toBe(401);
      expect(verified.filter((t) => t === 'good-token').length).toBeGreaterThanOrEqual(3);
    });

    it('bearerAuth with requiredScopes: a token without them is 403 insufficient_scope', async () => {
      const { base } = await start({
        authenticate: bearerAuth({ verify: (t) => ({ scopes: t === 'admin' ? ['mcp', 'admin'] : ['mcp'] }), requiredScopes: ['admin'] }),
      });
      const r = await post(base, initBody(), { authorization: 'Bearer user' });
      expect(r.status).toBe(403);
      expect(r.headers['www-authenticate']).toContain('error="insufficient_scope"');
      expect(r.headers['www-authenticate']).toContain('scope="admin"');
      expect((await post(base, initBody(), { authorization: 'Bearer admin' })).status).toBe(200);
    });
  });

  // ── legacy HTTP+SSE ─────────────────────────────────────────────────────────────────

  describe('legacy HTTP+SSE transport', () => {
    it('GET /sse sends the endpoint event; POST /messages?sessionId is 202 and the response comes on the stream', async () => {
      const { base, server } = await start();
      const g = await open(base, 'GET', '/sse', { accept: 'text/event-stream' });
      try {
        expect(g.status).toBe(200);
        await g.waitEvents(1);
        expect(g.events[0].event).toBe('endpoint');
        const endpoint = g.events[0].data!;
        expect(endpoint).toMatch(/^\/messages\?sessionId=[0-9a-f]{32}$/);
        expect(server.sessionCount).toBe(1);

        const init = await http(base, 'POST', endpoint, { 'content-type': 'application/json' }, JSON.stringify(initBody('2024-11-05', 1)));
        expect(init.status).toBe(202);
        await g.waitEvents(2);
        expect(g.events[1].event).toBe('message');
        expect(JSON.parse(g.events[1].data!)).toMatchObject({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2024-11-05' } });

        expect((await http(base, 'POST', endpoint, { 'content-type': 'application/json' }, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }))).status).toBe(202);
        const call = await http(base, 'POST', endpoint, { 'content-type': 'application/json' },
          JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'progress', arguments: {}, _meta: { progressToken: 'lp' } } }));
        expect(call.status).toBe(202);
        await g.waitEvents((ev) => ev.some((e) => e.data?.includes('"id":2')));
        const msgs = g.events.slice(2).map((e) => JSON.parse(e.data!));
        expect(msgs.map((m) => m.method ?? `response ${m.id}`)).toEqual(['notifications/progress', 'notifications/progress', 'response 2']);
        expect(msgs[2].result.content[0].text).toBe('done');

        const bad = await http(base, 'POST', endpoint, { 'content-type': 'application/json' }, '{oops');
        expect(bad.status).toBe(400);
        expect(bad.json.error.code).toBe(-32700);
      } finally {
        g.destroy();
      }
      expect(await until(() => server.sessionCount === 0)).toBe(true);
    });

    it('POST /messages with an unknown sessionId is 404, without one 400', async () => {
      const { base } = await start();
      const r = await http(base, 'POST', '/messages?sessionId=0123456789abcdef0123456789abcdef', { 'content-type': 'application/json' }, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
      expect(r.status).toBe(404);
      const none = await http(base, 'POST', '/messages', { 'content-type': 'application/json' }, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
      expect(none.status).toBe(400);
    });

    it('can be turned off', async () => {
      const { base } = await start({ legacySse: false });
      expect((await http(base, 'GET', '/sse', { accept: 'text/event-stream' })).status).toBe(404);
    });
  });
});
