// The MCP server against a hostile client and a careless app author, on live sockets
// (127.0.0.1, both HTTP transports where the native one is built): seeded random and
// mutated JSON-RPC bodies and headers, odd request sequences, handlers that misbehave,
// and floods. What must hold: the process never dies of client bytes, every answer is
// an HTTP status with a well-formed body (JSON-RPC errors carry the request id when it
// was readable, no 5xx for client mistakes), the keep-alive connection stays usable
// after every client error, and what a client or a handler piles up stays bounded.
//
// Tests marked "Found by attack, fixed" were defects when this file was written; they pass now.
import { PassThrough } from 'node:stream';
import { McpServer as SdkMcpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type App } from '../../src/http/app.js';
import { McpError } from '../../src/mcp/protocol.js';
import { serveSdkServer } from '../../src/mcp/sdk-adapter.js';
import { serveMcp, type McpEndpoints, type ServeMcpOptions } from '../../src/mcp/serve.js';
import { createMcpServer, type McpServer, type McpServerOptions, type RequestContext } from '../../src/mcp/server.js';
import type { MemoryEventStore } from '../../src/mcp/stores/events.js';
import type { MemorySessionStore } from '../../src/mcp/stores/sessions.js';
import type { HttpSession } from '../../src/mcp/transports/streamable-http.js';
import { serveStdio } from '../../src/mcp/transports/stdio.js';
import { McpRelayNode } from '../../src/workers/mcp-relay.js';
import type { McpRelay } from '../../src/workers/messages.js';
import { createRng } from '../support/rng.mjs';
import { RawConn as Conn, rawRequest, type RawResponse } from '../support/raw-conn.js';
import { TRANSPORTS, until } from '../support/server.js';

type Rng = ReturnType<typeof createRng>;
const LATEST = '2025-11-25';
const ACCEPT = 'application/json, text/event-stream';

// ── servers under test (closed after each test) ─────────────────────────────────────

interface Live {
  app: App;
  mcp: McpEndpoints;
  server: McpServer;
  port: number;
  base: string;
}
let live: Live[] = [];
const cleanups: Array<() => void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  const all = live;
  live = [];
  for (const l of all) {
    try {
      l.mcp.close();
    } finally {
      await l.app.close({ deadline: 500 });
    }
  }
});

async function serve(transport: 'net' | 'native', server: McpServer | Parameters<typeof serveMcp>[1], options: ServeMcpOptions = {}): Promise<Live> {
  const app = createServer({ transport, keepAliveTimeout: 5000 });
  const mcp = serveMcp(app, server, { heartbeatMs: 0, ...options });
  const { port } = await app.listen({ host: '127.0.0.1', port: 0 });
  const l: Live = { app, mcp, server: server as McpServer, port, base: `http://127.0.0.1:${port}` };
  live.push(l);
  return l;
}

function mcpServer(setup: (s: McpServer) => void, options: Partial<McpServerOptions> = {}): McpServer {
  const s = createMcpServer({ name: 'hostile', version: '1.0.0', ...options });
  setup(s);
  return s;
}

/** A plausible app: tools (one that streams), a resource, a template, a prompt, completions. */
function saneApp(s: McpServer): void {
  s.tool('echo', {}, (a) => a);
  s.tool('add', { inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] } },
    (a) => ({ sum: (a.a as number) + (a.b as number) }));
  s.tool('chatty', {}, async (a, ctx) => {
    ctx.progress(1, 2, 'half');
    ctx.log('info', { args: a });
    await new Promise((r) => setImmediate(r));
    ctx.progress(2, 2);
    return 'done';
  });
  s.resource('fz://static', { name: 'static', mimeType: 'text/plain' }, () => 'static text');
  s.resourceTemplate('fz://items/{id}', { name: 'item' }, (_uri, { id }) => `item ${id}`,
    { complete: { id: (v) => ['1', '22', '333'].filter((x) => x.startsWith(v)) } });
  s.prompt('greet', { arguments: [{ name: 'name', required: true }], complete: { name: (v) => ['ann', 'bob'].filter((x) => x.startsWith(v)) } },
    ({ name }) => `hello ${name}`);
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** `p`, or a rejection after `ms` naming what it waited for. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out (${ms} ms) waiting for ${what}`)), ms))),
  ]);
}

type Raw = RawResponse;

const POST_HEADERS: Array<[string, string]> = [['Accept', ACCEPT], ['Content-Type', 'application/json']];
const mcpPost = (body: Buffer | string, extra: Array<[string, string]> = []) => rawRequest('POST', '/mcp', [...POST_HEADERS, ...extra], body);

// ── what every answer must look like ────────────────────────────────────────────────

/** Checks one JSON-RPC message the server sent; returns a reason it is malformed, or null. */
function malformed(m: unknown): string | null {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return 'not an object';
  const o = m as Record<string, unknown>;
  if (o.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
  if ('method' in o) {
    if (typeof o.method !== 'string') return 'method not a string';
    if ('params' in o && (o.params === null || typeof o.params !== 'object')) return 'params not structured';
    return null;
  }
  if (!('id' in o)) return 'no id';
  if (o.id !== null && typeof o.id !== 'string' && typeof o.id !== 'number') return 'bad id type';
  const hasResult = 'result' in o;
  const hasError = 'error' in o;
  if (hasResult === hasError) return 'needs exactly one of result / error';
  if (hasError) {
    const e = o.error as Record<string, unknown>;
    if (e === null || typeof e !== 'object') return 'error not an object';
    if (!Number.isInteger(e.code)) return 'error.code not an integer';
    if (typeof e.message !== 'string') return 'error.message not a string';
    return null;
  }
  // Every MCP result is an object.
  if (o.result === null || typeof o.result !== 'object' || Array.isArray(o.result)) return 'result is not an object';
  return null;
}

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
}

function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith(':'));
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
    out.push(e);
  }
  return out;
}

/**
 * The JSON-RPC messages of an answer (JSON body or SSE stream), after checking that the
 * answer is well-formed: no 5xx, a JSON body that parses, SSE data that parses, every
 * message a valid JSON-RPC message.
 */
function messagesOf(r: Raw, what: string): unknown[] {
  expect(r.status, `${what}: status`).toBeLessThan(500);
  const ct = r.headers['content-type'] ?? '';
  const text = r.body.toString('utf8');
  let msgs: unknown[] = [];
  if (ct.startsWith('application/json')) {
    let v: unknown;
    expect(() => (v = JSON.parse(text)), `${what}: JSON body ${text.slice(0, 200)}`).not.toThrow();
    msgs = Array.isArray(v) ? v : [v];
  } else if (ct.startsWith('text/event-stream')) {
    for (const e of parseSse(text)) {
      if (e.data === undefined || e.data === '') continue;
      let v: unknown;
      expect(() => (v = JSON.parse(e.data!)), `${what}: SSE data ${e.data.slice(0, 200)}`).not.toThrow();
      msgs.push(v);
    }
  } else if (r.status < 300) {
    expect(text, `${what}: a 2xx body without a JSON or SSE type`).toBe(r.status === 202 ? text : '');
  }
  for (const m of msgs) expect(malformed(m), `${what}: ${JSON.stringify(m).slice(0, 300)}`).toBeNull();
  return msgs;
}

/** Responses (not notifications or requests) among messages. */
const responses = (msgs: unknown[]) => msgs.filter((m) => !('method' in (m as object))) as Array<{ id: unknown; result?: any; error?: any }>;

let pingSeq = 0;
/** A ping on the connection must be answered 200 with its own id (the connection survived). */
async function pingOk(c: Conn, headers: Array<[string, string]>, what: string): Promise<void> {
  const id = `ping-${pingSeq++}`;
  const r = await c.request(mcpPost(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }), headers));
  expect(r.status, `${what}: the ping after it`).toBe(200);
  expect(JSON.parse(r.body.toString('utf8')), what).toEqual({ jsonrpc: '2.0', id, result: {} });
}

/** initialize + notifications/initialized on a connection; the headers later requests carry. */
async function initOn(c: Conn, capabilities: Record<string, unknown> = {}, version = LATEST): Promise<{ sid: string; headers: Array<[string, string]> }> {
  const r = await c.request(mcpPost(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: version, capabilities, clientInfo: { name: 'hostile', version: '1' } } })));
  expect(r.status).toBe(200);
  const sid = r.headers['mcp-session-id'];
  expect(sid).toBeTruthy();
  const headers: Array<[string, string]> = [['Mcp-Session-Id', sid], ['MCP-Protocol-Version', version]];
  const n = await c.request(mcpPost('{"jsonrpc":"2.0","method":"notifications/initialized"}', headers));
  expect(n.status).toBe(202);
  return { sid, headers };
}

// ── an SSE stream held open (fetch) ────────────────────────────────────────────────

interface OpenSse {
  status: number;
  headers: Headers;
  events: SseEvent[];
  waitFor(pred: (events: SseEvent[]) => boolean, ms?: number): Promise<void>;
  close(): void;
  ended: Promise<void>;
}

async function openSse(url: string, headers: Record<string, string>, init: { method?: string; body?: string } = {}): Promise<OpenSse> {
  const ac = new AbortController();
  const r = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body, signal: ac.signal });
  const events: SseEvent[] = [];
  const listeners = new Set<() => void>();
  let text = '';
  const ended = (async () => {
    if (r.body === null) return;
    const td = new TextDecoder();
    try {
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        text += td.decode(chunk, { stream: true });
        let i: number;
        while ((i = text.indexOf('\n\n')) >= 0) {
          events.push(...parseSse(text.slice(0, i + 2)));
          text = text.slice(i + 2);
          for (const l of [...listeners]) l();
        }
      }
    } catch {
      // (aborted)
    }
  })();
  return {
    status: r.status,
    headers: r.headers,
    events,
    ended,
    close: () => ac.abort(),
    waitFor(pred, ms = 3000) {
      return new Promise((resolve, reject) => {
        if (pred(events)) return resolve();
        const t = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for SSE events; have ${JSON.stringify(events).slice(0, 500)}`));
        }, ms);
        const check = () => {
          if (!pred(events)) return;
          clearTimeout(t);
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
      });
    },
  };
}

const dataOf = (events: SseEvent[]) => events.filter((e) => e.data !== undefined && e.data !== '').map((e) => JSON.parse(e.data!));

// ── the seeded generator of hostile JSON-RPC ────────────────────────────────────────

const WEIRD_STRINGS = ['', ' ', '\u0000', '\ud800', '\udfff', '\ud83d\ude00', '\u202e\u2066', 'é', '"', '\\', '\n\r\t', '</script>', '__proto__', 'constructor', '%00', '../../etc/passwd', '${x}', '\ufeff'];
const RAW_NUMBERS = ['0', '-0', '1', '-1', '1.5', '1e400', '-1e400', '1e-400', '123456789012345678901234567890', '9007199254740993', '2.5e10', '1E2', '-123.456e-7', '0.0'];
const METHODS = ['ping', 'tools/list', 'tools/call', 'resources/list', 'resources/templates/list', 'resources/read', 'resources/subscribe', 'resources/unsubscribe',
  'prompts/list', 'prompts/get', 'completion/complete', 'logging/setLevel', 'initialize', 'notifications/initialized', 'notifications/cancelled',
  'notifications/progress', 'notifications/roots/list_changed', 'sampling/createMessage', 'rpc.discover', '', 'tools/', 'TOOLS/LIST', 'ping ', 'tools/call\u0000',
  '\ud83d\ude00', 'x'.repeat(300), '__proto__', 'constructor', 'hasOwnProperty'];

function randString(rng: Rng): string {
  switch (rng.int(4)) {
    case 0: return rng.pick(WEIRD_STRINGS);
    case 1: return 'a'.repeat(rng.int(3000));
    case 2: {
      let s = '';
      const n = rng.int(20);
      for (let i = 0; i < n; i++) s += String.fromCodePoint(rng.chance(0.5) ? 0x20 + rng.int(0x5f) : rng.int(0x10ffff - 0xe000) + (rng.chance(0.5) ? 0 : 0xe000));
      return s;
    }
    default: return rng.pick(['echo', 'add', 'chatty', 'fz://static', 'fz://items/22', 'fz://items/%ZZ', 'greet', 'name', 'id', 'info', 'debug', 'emergency']);
  }
}

/** Raw JSON text of a random value (numbers as raw text: 1e400 and friends survive). */
function randValue(rng: Rng, depth: number): string {
  const k = rng.int(depth > 0 ? 9 : 6);
  switch (k) {
    case 0: return rng.pick(RAW_NUMBERS);
    case 1: return JSON.stringify(randString(rng));
    case 2: return rng.pick(['true', 'false', 'null']);
    case 3: return String(rng.int(1000) - 500);
    case 4: return JSON.stringify(randString(rng));
    case 5: return rng.pick(['{}', '[]', '""', '{"a":1,"a":2}', '[[[[[]]]]]']);
    case 6: {
      const n = rng.int(5);
      const items: string[] = [];
      for (let i = 0; i < n; i++) items.push(randValue(rng, depth - 1));
      return `[${items.join(',')}]`;
    }
    default: {
      const n = rng.int(5);
      const items: string[] = [];
      for (let i = 0; i < n; i++) items.push(`${JSON.stringify(randString(rng))}:${randValue(rng, depth - 1)}`);
      return `{${items.join(',')}}`;
    }
  }
}

/** A value nested `d` levels deep (arrays or objects). */
function deep(rng: Rng, d: number): string {
  return rng.chance(0.5) ? '['.repeat(d) + ']'.repeat(d) : '{"a":'.repeat(d - 1) + '{}' + '}'.repeat(d - 1);
}

/** Params plausibly shaped for `method`, with weird values. */
function randParams(rng: Rng, method: string): string | undefined {
  const r = rng.int(10);
  if (r === 0) return undefined;
  if (r === 1) return '[]';
  if (r === 2) return `[${randValue(rng, 2)}]`;
  if (r === 3) {
    const v = randValue(rng, 3);
    return v.startsWith('{') ? v : '{}';
  }
  if (r === 4) return `{"deep":${deep(rng, rng.pick([100, 120, 124]))}}`; // (root 1 + params 2 + 124 = 126, +1 in a batch)
  const meta = rng.chance(0.4) ? `,"_meta":{"progressToken":${randValue(rng, 2)}}` : rng.chance(0.1) ? `,"_meta":${randValue(rng, 1)}` : '';
  const v = () => randValue(rng, 2);
  const s = () => JSON.stringify(randString(rng));
  switch (method) {
    case 'tools/call': return `{"name":${rng.chance(0.7) ? JSON.stringify(rng.pick(['echo', 'add', 'chatty'])) : v()},"arguments":${rng.chance(0.5) ? `{"a":${v()},"b":${v()},"x":${v()}}` : v()}${meta}}`;
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe': return `{"uri":${rng.chance(0.6) ? s() : v()}${meta}}`;
    case 'prompts/get': return `{"name":${rng.chance(0.6) ? '"greet"' : v()},"arguments":${rng.chance(0.5) ? `{"name":${v()}}` : v()}${meta}}`;
    case 'completion/complete': return `{"ref":${rng.chance(0.6) ? `{"type":${JSON.stringify(rng.pick(['ref/prompt', 'ref/resource', 'ref/x']))},"name":"greet","uri":"fz://items/{id}"}` : v()},"argument":${rng.chance(0.6) ? `{"name":${rng.chance(0.5) ? '"name"' : '"id"'},"value":${rng.chance(0.7) ? s() : v()}}` : v()},"context":${v()}${meta}}`;
    case 'logging/setLevel': return `{"level":${rng.chance(0.5) ? JSON.stringify(rng.pick(['debug', 'emergency', 'warning', 'nope'])) : v()}}`;
    case 'tools/list':
    case 'prompts/list':
    case 'resources/list': return `{"cursor":${rng.chance(0.5) ? JSON.stringify(rng.pick(['', 'bzox', Buffer.from('o:0').toString('base64url'), Buffer.from('o:999999999').toString('base64url'), Buffer.from('o:-1').toString('base64url')])) : v()}${meta}}`;
    case 'notifications/cancelled': return `{"requestId":${v()},"reason":${v()}}`;
    case 'initialize': return `{"protocolVersion":${rng.chance(0.5) ? JSON.stringify(rng.pick([LATEST, '2024-11-05', '1999-01-01', ''])) : v()},"capabilities":${v()},"clientInfo":${v()}}`;
    default: return `{"x":${v()}${meta}}`;
  }
}

/**
 * The raw JSON of an id a request may carry: strings (odd ones too) and numbers a double
 * holds exactly, so that the answer must carry it back as sent. (null and ids beyond
 * 2^53 have tests of their own.)
 */
function randId(rng: Rng): { raw: string } {
  const c = rng.int(6);
  if (c === 0) return { raw: JSON.stringify(randString(rng).slice(0, 500)) };
  if (c === 1) return { raw: String(rng.int(2 ** 31)) };
  if (c === 2) return { raw: String(-rng.int(1e6)) };
  if (c === 3) return { raw: rng.pick(['0', '1.5', '-7.25', '9007199254740991']) };
  return { raw: JSON.stringify(`id-${rng.int(1e9)}`) };
}

interface Member {
  text: string;
  /** request: answered with its id; notification / response: not answered; invalid: answered with an error. */
  kind: 'request' | 'notification' | 'response' | 'invalid';
  /** The id the answer must carry (requests), parsed from the raw text. */
  id?: unknown;
  method?: string;
}

function randMember(rng: Rng): Member {
  const r = rng.int(20);
  if (r < 11) {
    const method = rng.chance(0.8) ? rng.pick(METHODS.slice(0, 13)) : rng.pick(METHODS);
    const id = randId(rng);
    const p = randParams(rng, method);
    const text = `{"jsonrpc":"2.0","id":${id.raw},"method":${JSON.stringify(method)}${p === undefined ? '' : `,"params":${p}`}}`;
    return { text, kind: 'request', id: JSON.parse(id.raw), method };
  }
  if (r < 14) {
    const method = rng.pick(['notifications/initialized', 'notifications/cancelled', 'notifications/progress', 'notifications/roots/list_changed', 'x/y', '']);
    const p = randParams(rng, method);
    return { text: `{"jsonrpc":"2.0","method":${JSON.stringify(method)}${p === undefined ? '' : `,"params":${p}`}}`, kind: 'notification', method };
  }
  if (r < 16) {
    const id = rng.chance(0.5) ? `"s${rng.int(5)}"` : randId(rng).raw;
    return rng.chance(0.5)
      ? { text: `{"jsonrpc":"2.0","id":${id},"result":${rng.chance(0.7) ? randValue(rng, 2) : '{}'}}`, kind: 'response' }
      : { text: `{"jsonrpc":"2.0","id":${id},"error":{"code":${randValue(rng, 0)},"message":${randValue(rng, 0)}}}`, kind: 'response' };
  }
  // Invalid members (readable id or not).
  const invalid = [
    '{"jsonrpc":"1.0","id":1,"method":"ping"}', '{"id":1,"method":"ping"}', '{"jsonrpc":"2.0","id":true,"method":"ping"}',
    '{"jsonrpc":"2.0","id":{},"method":"ping"}', '{"jsonrpc":"2.0","id":[1],"method":"ping"}', '{"jsonrpc":"2.0","id":7,"method":7}',
    '{"jsonrpc":"2.0","id":8,"method":"ping","params":"str"}', '{"jsonrpc":"2.0","id":9,"method":"ping","params":null}', '{"jsonrpc":"2.0","id":9,"method":"ping","params":5}',
    '{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}', '{"jsonrpc":"2.0","result":{}}', '{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}',
    '{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}', '{"jsonrpc":"2.0","id":1}', '{"jsonrpc":"2.0","id":1,"error":5}', '{}', '1', '"x"', 'null', '[]', 'true',
  ];
  return { text: rng.pick(invalid), kind: 'invalid' };
}

function mutate(rng: Rng, text: string): Buffer {
  let b = Buffer.from(text, 'utf8');
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(9)) {
      case 0: if (b.length > 0) b[Math.min(at, b.length - 1)] ^= 1 << rng.int(8); break;
      case 1: b = Buffer.concat([b.subarray(0, at), Buffer.from([rng.pick([0x00, 0xff, 0xc3, 0xe2, 0xed, 0xf4, 0x22, 0x5c, 0x7b, 0x5d, 0x0a, 0x2c])]), b.subarray(at)]); break;
      case 2: b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(8)))]); break;
      case 3: b = b.subarray(0, at); break;
      case 4: b = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]); break;
      case 5: b = Buffer.concat([b, Buffer.from(rng.pick([' x', '\u0000', '}', ',{}', ']', '\n{"jsonrpc":"2.0","id":1,"method":"ping"}']))]); break;
      case 6: b = Buffer.concat([b, b]); break;
      case 7: b = Buffer.from(`[${b.toString('latin1')}]`, 'latin1'); break;
      default: b = Buffer.concat([b.subarray(0, at), Buffer.from('\\u0000'), b.subarray(at)]);
    }
  }
  return b;
}

interface Case {
  body: Buffer;
  /** What the answer must hold (null: only well-formedness). */
  expect: null | { batch: boolean; members: Member[] };
}

function randCase(rng: Rng): Case {
  const r = rng.int(10);
  if (r < 4) {
    const m = randMember(rng);
    return { body: Buffer.from(m.text), expect: { batch: false, members: [m] } };
  }
  if (r < 7) {
    const n = 1 + rng.int(8);
    const members: Member[] = [];
    for (let i = 0; i < n; i++) members.push(randMember(rng));
    return { body: Buffer.from(`[${members.map((m) => m.text).join(',')}]`), expect: { batch: true, members } };
  }
  const m = rng.chance(0.7) ? randMember(rng).text : `[${randMember(rng).text},${randMember(rng).text}]`;
  return { body: mutate(rng, m), expect: null };
}

/**
 * The id an answer to a request carries: its own, except for ids MCP refuses (null, or a
 * number that is not a safe integer: MCP ids are strings or integers), answered -32600
 * with id null.
 */
function answerId(id: unknown): unknown {
  return id === null || (typeof id === 'number' && !Number.isSafeInteger(id)) ? null : id;
}

/**
 * The answer to a case must fit it: single requests and batches get a response for each
 * request (with its id) and each invalid member, nothing for notifications and responses.
 */
function checkCase(c: Case, r: Raw, what: string): void {
  const msgs = messagesOf(r, what);
  if (c.expect === null) {
    expect([200, 202, 400], `${what}: status`).toContain(r.status);
    return;
  }
  const { batch, members } = c.expect;
  const answered = members.filter((m) => m.kind === 'request' || m.kind === 'invalid');
  const hasInit = members.some((m) => m.kind === 'request' && m.method === 'initialize');
  if (!batch) {
    const m = members[0];
    if (m.kind === 'invalid') {
      expect(r.status, what).toBe(400);
      expect(responses(msgs).length, what).toBe(1);
      expect(responses(msgs)[0].error?.code, what).toBe(-32600);
    } else if (m.kind === 'request') {
      expect(r.status, what).toBe(200);
      const rs = responses(msgs);
      expect(rs.length, what).toBe(1);
      expect(rs[0].id, `${what}: the answer's id`).toEqual(answerId(m.id));
    } else {
      expect(r.status, what).toBe(202);
    }
    return;
  }
  if (hasInit && members.length > 1) {
    expect(r.status, what).toBe(400);
    return;
  }
  if (answered.length === 0) {
    expect(r.status, what).toBe(202);
    return;
  }
  expect(r.status, what).toBe(200);
  const rs = responses(msgs);
  expect(rs.length, `${what}: one answer per request and invalid member`).toBe(answered.length);
  // Every request's id comes back (a multiset: duplicates get an error each).
  const ids = rs.map((x) => JSON.stringify(x.id));
  for (const m of answered.filter((x) => x.kind === 'request')) {
    const i = ids.indexOf(JSON.stringify(answerId(m.id)));
    expect(i, `${what}: an answer for id ${JSON.stringify(m.id)}`).toBeGreaterThanOrEqual(0);
    ids.splice(i, 1);
  }
}

// ── the suites ──────────────────────────────────────────────────────────────────────

describe.each(TRANSPORTS)('on the %s transport', (transport) => {
  describe('client bytes: the process never dies, every answer is well-formed, keep-alive survives', () => {
    it('seeded random and mutated JSON-RPC bodies (singles, batches, byte mutations), a ping after each', async () => {
      const l = await serve(transport, mcpServer(saneApp), { maxBodyBytes: 1 << 20 });
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { headers } = await initOn(c, { sampling: {}, roots: {} });
      const rng = createRng(0x5eed + (transport === 'native' ? 1 : 0));
      for (let i = 0; i < 220; i++) {
        const kase = randCase(rng);
        const what = `case ${i}: ${kase.body.toString('utf8').slice(0, 200)}`;
        const r = await c.request(mcpPost(kase.body, headers));
        checkCase(kase, r, what);
        await pingOk(c, headers, what);
      }
      // Nothing is left running, and the server serves a fresh connection too.
      const hs = l.mcp.streamable.sessions.get(headers[0][1])!;
      expect(hs.proto.inflightCount).toBe(0);
      const c2 = await Conn.open(l.port);
      cleanups.push(() => c2.close());
      await pingOk(c2, headers, 'a new connection');
    });

    it('stateless mode: seeded random bodies, every answer well-formed, nothing left open', async () => {
      const l = await serve(transport, mcpServer(saneApp), { stateless: true });
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const headers: Array<[string, string]> = [['MCP-Protocol-Version', LATEST]];
      const rng = createRng(0xbeef);
      for (let i = 0; i < 120; i++) {
        const kase = randCase(rng);
        const what = `stateless case ${i}: ${kase.body.toString('utf8').slice(0, 200)}`;
        checkCase(kase, await c.request(mcpPost(kase.body, headers)), what);
        await pingOk(c, headers, what);
      }
      expect(await until(() => l.server.sessionCount === 0, 2000)).toBe(true);
    });

    it('bodies at the edges: BOM, NUL, trailing bytes, depth at and past the limit, huge numbers, 1 MiB strings, invalid UTF-8', async () => {
      const l = await serve(transport, mcpServer(saneApp), { maxBodyBytes: 2 << 20 });
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { headers } = await initOn(c);
      const call = (params: string, id = 1) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":${params}}`;
      const cases: Array<[string, Buffer | string, number, number | null]> = [
        ['BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}')]), 400, -32700],
        ['NUL before', Buffer.from('\u0000{"jsonrpc":"2.0","id":1,"method":"ping"}'), 400, -32700],
        ['NUL inside a string', Buffer.from('{"jsonrpc":"2.0","id":"a\u0000b","method":"ping"}'), 400, -32700],
        ['escaped NUL', '{"jsonrpc":"2.0","id":"a\\u0000b","method":"ping"}', 200, null],
        ['trailing garbage', '{"jsonrpc":"2.0","id":1,"method":"ping"} x', 400, -32700],
        ['two messages', '{"jsonrpc":"2.0","id":1,"method":"ping"}{"jsonrpc":"2.0","id":2,"method":"ping"}', 400, -32700],
        ['trailing whitespace', '{"jsonrpc":"2.0","id":1,"method":"ping"} \r\n\t', 200, null],
        ['empty body', '', 400, -32700],
        ['whitespace only', '   ', 400, -32700],
        ['empty batch', '[]', 400, -32600],
        ['scalar', '42', 400, -32600],
        ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 400, -32700],
        ['overlong UTF-8', Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('","method":"ping"}')]), 400, -32700],
        ['lone surrogate escape', '{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}', 200, null],
        ['depth 128 (the limit)', call(`{"name":"echo","arguments":{"d":${'['.repeat(125)}${']'.repeat(125)}}}`), 200, null],
        ['depth 129', call(`{"name":"echo","arguments":{"d":${'['.repeat(126)}${']'.repeat(126)}}}`), 400, -32700],
        ['depth 128 in a batch', `[${call(`{"name":"echo","arguments":{"d":${'['.repeat(124)}${']'.repeat(124)}}}`)}]`, 200, null],
        ['depth past the limit', call(`{"name":"echo","arguments":{"d":${'['.repeat(200)}${']'.repeat(200)}}}`), 400, -32700],
        ['depth 5000', call(`{"d":${'['.repeat(5000)}${']'.repeat(5000)}}`), 400, -32700],
        ['huge numbers', call('{"name":"add","arguments":{"a":1e400,"b":-1e400}}'), 200, null],
        ['tiny numbers', call('{"name":"add","arguments":{"a":1e-400,"b":123456789012345678901234567890}}'), 200, null],
        ['1 MiB string', call(`{"name":"echo","arguments":{"s":"${'x'.repeat(1 << 20)}"}}`), 200, null],
        ['many keys', call(`{"name":"echo","arguments":{${Array.from({ length: 20000 }, (_, i) => `"k${i}":${i}`).join(',')}}}`), 200, null],
        ['duplicate keys in params', call('{"name":"echo","name":"add","arguments":{"a":1,"a":2,"b":3}}'), 200, null],
        ['__proto__ in arguments', call('{"name":"add","arguments":{"__proto__":{"a":1},"a":1,"b":2}}'), 200, null],
        ['unicode method', '{"jsonrpc":"2.0","id":1,"method":"\\ud83d\\ude00/\\u202e"}', 200, null],
        ['params array', '{"jsonrpc":"2.0","id":1,"method":"ping","params":[1,2]}', 200, null],
        ['too large', `{"s":"${'x'.repeat(2 << 20)}"}`, 413, null],
      ];
      for (const [name, body, status, code] of cases) {
        const r = await c.request(mcpPost(body, headers), 10_000);
        const msgs = messagesOf(r, name);
        expect(r.status, name).toBe(status);
        if (code !== null) expect(responses(msgs)[0]?.error?.code, name).toBe(code);
        if (status === 200) expect(responses(msgs).length, name).toBe(1);
        await pingOk(c, headers, name); // (after a 413 too: the body is drained, not parsed as a request)
      }
      const c2 = await Conn.open(l.port);
      cleanups.push(() => c2.close());
      await pingOk(c2, headers, 'after the edges');
    });

    it('seeded random headers: odd session ids, protocol versions, repeated Accept / Content-Type; never 5xx, keep-alive survives', async () => {
      const l = await serve(transport, mcpServer(saneApp));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      let { sid, headers } = await initOn(c);
      const rng = createRng(77);
      const sessionIds = () => {
        const n = rng.pick([0, 1, 22, 200, 4000]);
        let s = '';
        for (let i = 0; i < n; i++) s += String.fromCharCode(rng.chance(0.9) ? 0x21 + rng.int(0x5e) : 0x80 + rng.int(0x80));
        return rng.pick([s, `${sid}x`, sid.slice(1), sid.toUpperCase(), ` ${sid}`, `${sid}, ${sid}`, '__proto__', '0.abc', '-1.abc', sid]);
      };
      const versions = ['', ' ', LATEST, `${LATEST} `, `${LATEST}, 2025-06-18`, '2024-11-05', '1999-01-01', '9999-99-99', 'x'.repeat(1000), '../', '2025-11-25\t'];
      const accepts = ['application/json, text/event-stream', '*/*', 'application/json', 'text/event-stream', 'application/*, text/*', 'TEXT/EVENT-STREAM, APPLICATION/JSON',
        'application/json;q=0, text/event-stream;q=0', ',,,', ';;', 'text/event-stream;'.repeat(200)];
      const types = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json-seq', 'text/plain', 'application/json, application/json', '', ';', 'application/json;;;'];
      for (let i = 0; i < 120; i++) {
        const hs: Array<[string, string]> = [];
        for (let k = 0; k < 1 + rng.int(2); k++) hs.push(['Accept', rng.pick(accepts)]);
        for (let k = 0; k < 1 + rng.int(2); k++) hs.push(['Content-Type', rng.pick(types)]);
        if (rng.chance(0.8)) hs.push(['Mcp-Session-Id', rng.chance(0.4) ? sid : sessionIds()]);
        if (rng.chance(0.2)) hs.push(['Mcp-Session-Id', sessionIds()]);
        if (rng.chance(0.6)) hs.push(['MCP-Protocol-Version', rng.pick(versions)]);
        if (rng.chance(0.1)) hs.push(['Last-Event-ID', rng.pick(['../', '_', '1_', '-1', '1_99999999999999999999'])]);
        const method = rng.pick(['POST', 'POST', 'POST', 'GET', 'DELETE', 'PUT', 'PATCH']);
        const body = method === 'POST' || rng.chance(0.2) ? JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping' }) : undefined;
        const what = `headers case ${i}: ${method} ${JSON.stringify(hs).slice(0, 300)}`;
        const r = await c.request(rawRequest(method, '/mcp', hs, body));
        if (method === 'DELETE' && r.status === 200) ({ sid, headers } = await initOn(c)); // (it named the session)
        if (method === 'GET' && r.status === 200) throw new Error(`${what}: an SSE stream was not expected here`);
        messagesOf(r, what);
        expect([200, 202, 400, 404, 405, 406, 409, 415], what).toContain(r.status);
        if (r.status >= 400 && (r.headers['content-type'] ?? '').startsWith('application/json')) {
          const e = JSON.parse(r.body.toString('utf8'));
          expect(e.error, what).toBeDefined();
        }
        await pingOk(c, headers, what);
      }
    });

    it('odd sequences: requests before initialize, initialize twice, DELETE then reuse, GET twice, GET after DELETE', async () => {
      const l = await serve(transport, mcpServer(saneApp));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const ping = (id: number) => `{"jsonrpc":"2.0","id":${id},"method":"ping"}`;
      // Before any initialize: no session id is a 400, an invented one a 404.
      let r = await c.request(mcpPost(ping(1)));
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body.toString()).error.code).toBe(-32000);
      r = await c.request(mcpPost(ping(2), [['Mcp-Session-Id', 'made-up']]));
      expect(r.status).toBe(404);
      r = await c.request(mcpPost('{"jsonrpc":"2.0","method":"notifications/initialized"}'));
      expect(r.status).toBe(400);
      // initialize as a notification is not an initialize.
      r = await c.request(mcpPost(`{"jsonrpc":"2.0","method":"initialize","params":{"protocolVersion":"${LATEST}","capabilities":{}}}`));
      expect(r.status).toBe(400);
      // initialize twice on one connection: two independent sessions.
      const a = await initOn(c);
      const b = await initOn(c);
      expect(a.sid).not.toBe(b.sid);
      // initialize naming an existing session starts another one; the first keeps working.
      r = await c.request(mcpPost(`{"jsonrpc":"2.0","id":"again","method":"initialize","params":{"protocolVersion":"${LATEST}","capabilities":{}}}`, a.headers));
      expect(r.status).toBe(200);
      expect(r.headers['mcp-session-id']).not.toBe(a.sid);
      await pingOk(c, a.headers, 'a after a re-initialize');
      // initialize in a batch is refused (and creates nothing).
      const before = l.mcp.streamable.sessions.size;
      r = await c.request(mcpPost(`[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"${LATEST}","capabilities":{}}},${ping(2)}]`));
      expect(r.status).toBe(400);
      expect(l.mcp.streamable.sessions.size).toBe(before);
      // DELETE, then every use of the id is a 404; DELETE again too.
      r = await c.request(rawRequest('DELETE', '/mcp', a.headers));
      expect(r.status).toBe(200);
      for (const raw of [mcpPost(ping(3), a.headers), mcpPost('{"jsonrpc":"2.0","method":"notifications/initialized"}', a.headers),
        rawRequest('DELETE', '/mcp', a.headers), rawRequest('GET', '/mcp', [['Accept', 'text/event-stream'], ...a.headers])]) {
        r = await c.request(raw);
        expect(r.status).toBe(404);
        expect(JSON.parse(r.body.toString()).error.code).toBe(-32001);
      }
      await pingOk(c, b.headers, 'b after a was deleted');
      // GET twice: the second is a 409; after the first goes away a GET works again.
      const url = `${l.base}/mcp`;
      const gh = { accept: 'text/event-stream', 'mcp-session-id': b.sid, 'mcp-protocol-version': LATEST };
      const g1 = await openSse(url, gh);
      cleanups.push(() => g1.close());
      expect(g1.status).toBe(200);
      r = await c.request(rawRequest('GET', '/mcp', [['Accept', 'text/event-stream'], ...b.headers]));
      expect(r.status).toBe(409);
      g1.close();
      const hs = l.mcp.streamable.sessions.get(b.sid)!;
      expect(await until(() => hs.standalone === null || hs.standalone.closed, 2000)).toBe(true);
      const g2 = await openSse(url, gh);
      cleanups.push(() => g2.close());
      expect(g2.status).toBe(200);
      // DELETE while the GET stream is open ends the stream.
      r = await c.request(rawRequest('DELETE', '/mcp', b.headers));
      expect(r.status).toBe(200);
      await within(g2.ended, 2000, 'the GET stream to end on DELETE');
      expect(l.server.sessionCount).toBe(l.mcp.streamable.sessions.size);
    });

    it('Last-Event-ID garbage opens a plain stream (or 204), never replays another session, never 5xx', async () => {
      const l = await serve(transport, mcpServer(saneApp), { retryMs: 50 });
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      // Another session with events on its streams (a streamed tool call).
      const other = await initOn(c);
      const rs = await c.request(mcpPost('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"chatty","arguments":{"secret":"s3cr3t"},"_meta":{"progressToken":1}}}', other.headers));
      const otherIds = parseSse(rs.body.toString()).map((e) => e.id).filter((x): x is string => x !== undefined);
      expect(otherIds.length).toBeGreaterThan(2);
      const garbage = ['../', '_', '1_', '_1', '1__1', '1_99999999999999999999', '-1', '1_-1', '1_-5', '0_-1', '0_0', '%2e%2e/', '1_1e1', '1_0x1', '1_ 1',
        'x'.repeat(4000), '\u00ff\u00fe', ...otherIds, `${otherIds[0]}/../${otherIds[1]}`];
      for (const id of garbage) {
        const s = await initOn(c);
        const what = `Last-Event-ID ${JSON.stringify(id.slice(0, 60))}`;
        const g = await openSse(`${l.base}/mcp`, { accept: 'text/event-stream', 'mcp-session-id': s.sid, 'mcp-protocol-version': LATEST, 'last-event-id': id });
        cleanups.push(() => g.close());
        expect([200, 204], what).toContain(g.status);
        if (g.status === 200) {
          await new Promise((r) => setTimeout(r, 20));
          const got = JSON.stringify(g.events);
          expect(got, what).not.toContain('s3cr3t');
          for (const m of dataOf(g.events)) expect(malformed(m), what).toBeNull();
        }
        g.close();
        await pingOk(c, s.headers, what);
      }
    });

    it('batches mixing everything: unknown response ids, cancels for unknown / same-batch ids, odd progress tokens, duplicates, invalid members', async () => {
      const l = await serve(transport, mcpServer(saneApp));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { headers } = await initOn(c);
      const batch = [
        { jsonrpc: '2.0', id: 'a', method: 'ping' },
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'a' } },
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'never-sent', reason: 5 } },
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: { x: 1 } } },
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: [1, 2] },
        { jsonrpc: '2.0', id: 's0', result: { role: 'assistant' } },
        { jsonrpc: '2.0', id: 'nope', error: { code: 'x', message: 5 } },
        { jsonrpc: '2.0', id: 12, error: { code: -1, message: 'no' } },
        { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'chatty', arguments: {}, _meta: { progressToken: { nested: [1, { deep: true }] } } } },
        { jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: 'chatty', arguments: {}, _meta: { progressToken: null } } },
        { jsonrpc: '2.0', id: 'd', method: 'tools/call', params: { name: 'chatty', arguments: {}, _meta: { progressToken: 'x'.repeat(10_000) } } },
        { jsonrpc: '2.0', id: 'e', method: 'tools/call', params: { name: 'chatty', arguments: {}, _meta: { progressToken: [true] } } },
        { jsonrpc: '2.0', id: 'f', method: 'tools/call', params: { name: 'echo', arguments: { a: 1 }, _meta: 'not an object' } },
        { jsonrpc: '2.0', id: 'a', method: 'ping' },
        { jsonrpc: '2.0', id: 7, method: 'no/such/method' },
        { jsonrpc: '2.0', id: 8, method: 'ping', params: 'x' },
        { jsonrpc: '1.0', id: 9, method: 'ping' },
        42,
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 'x' } },
      ];
      const r = await c.request(mcpPost(JSON.stringify(batch), headers));
      expect(r.status).toBe(200);
      const rs = responses(messagesOf(r, 'mixed batch'));
      const byId = (id: unknown) => rs.filter((m) => m.id === id);
      expect(rs.length).toBe(11); // a, b, c, d, e, f, a (dup), 7, 8, 9, 42
      expect(byId('a').length).toBe(2);
      expect(byId('a').some((m) => m.error?.code === -32600)).toBe(true);
      expect(byId('a').some((m) => m.result !== undefined)).toBe(true);
      for (const id of ['b', 'c', 'd', 'e']) expect(byId(id)[0].result.content[0].text, id).toBe('done');
      expect(byId('f')[0].result.structuredContent).toEqual({ a: 1 });
      expect(byId(7)[0].error.code).toBe(-32601);
      expect(byId(8)[0].error.code).toBe(-32600);
      expect(byId(9)[0].error.code).toBe(-32600);
      expect(byId(null).length).toBe(1);
      // The progress notifications carry the odd tokens back as sent.
      const notes = messagesOf(r, 'mixed batch').filter((m) => (m as { method?: string }).method === 'notifications/progress') as Array<{ params: { progressToken: unknown } }>;
      expect(notes.some((n) => JSON.stringify(n.params.progressToken) === JSON.stringify({ nested: [1, { deep: true }] }))).toBe(true);
      await pingOk(c, headers, 'after the mixed batch');
    });

    it('huge batches: 256 members answered in one array; 257 is a -32600 with the connection kept', async () => {
      const l = await serve(transport, mcpServer(saneApp));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { headers } = await initOn(c);
      const members = Array.from({ length: 256 }, (_, i) => (i % 3 === 0
        ? { jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'add', arguments: { a: i, b: 1 } } }
        : i % 3 === 1 ? { jsonrpc: '2.0', id: `p${i}`, method: 'ping' } : { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: i - 2 } }));
      const r = await c.request(mcpPost(JSON.stringify(members), headers));
      expect(r.status).toBe(200);
      const rs = responses(messagesOf(r, '256'));
      expect(rs.length).toBe(members.filter((m) => 'id' in m).length);
      expect(rs.find((m) => m.id === 255)!.result.structuredContent).toEqual({ sum: 256 });
      const over = await c.request(mcpPost(JSON.stringify([...members, { jsonrpc: '2.0', id: 'x', method: 'ping' }]), headers));
      expect(over.status).toBe(400);
      expect(JSON.parse(over.body.toString()).error.code).toBe(-32600);
      await pingOk(c, headers, 'after 257');
    });
  });

  describe('resource exhaustion', () => {
    it('many requests in flight on one session (a 256-member batch of held calls, 48 concurrent POSTs) do not block a ping', async () => {
      const gate = deferred();
      const l = await serve(transport, mcpServer((s) => {
        s.tool('hold', {}, async (a) => {
          await gate.promise;
          return `released ${a.n}`;
        });
      }));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { sid, headers } = await initOn(c);
      c.write(mcpPost(JSON.stringify(Array.from({ length: 256 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'hold', arguments: { n: i } } }))), headers));
      const conns = await Promise.all(Array.from({ length: 48 }, () => Conn.open(l.port)));
      cleanups.push(() => conns.forEach((x) => x.close()));
      conns.forEach((x, i) => x.write(mcpPost(JSON.stringify({ jsonrpc: '2.0', id: `c${i}`, method: 'tools/call', params: { name: 'hold', arguments: { n: `c${i}` } } }), headers)));
      const hs = l.mcp.streamable.sessions.get(sid)!;
      expect(await until(() => hs.proto.inflightCount === 256 + 48, 5000)).toBe(true);
      // Meanwhile the session answers at once.
      const other = await Conn.open(l.port);
      cleanups.push(() => other.close());
      await pingOk(other, headers, 'a ping while 304 calls are held');
      // A reused id among those in flight is refused, and not run.
      const dup = await other.request(mcpPost('{"jsonrpc":"2.0","id":"c3","method":"ping"}', headers));
      expect(JSON.parse(dup.body.toString())).toMatchObject({ id: 'c3', error: { code: -32600 } });
      gate.resolve();
      const big = responses(messagesOf(await c.read(10_000), 'the 256 batch'));
      expect(big.length).toBe(256);
      expect(big.find((m) => m.id === 200)!.result.content[0].text).toBe('released 200');
      for (const [i, x] of conns.entries()) {
        const m = responses(messagesOf(await x.read(10_000), `POST ${i}`));
        expect(m[0]).toMatchObject({ id: `c${i}`, result: { content: [{ text: `released c${i}` }] } });
      }
      expect(hs.proto.inflightCount).toBe(0);
      expect(hs.routes.size).toBe(0);
    });

    it('many GET streams across sessions; a tool registered after start reaches each; all close cleanly', async () => {
      const l = await serve(transport, mcpServer(saneApp));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const sessions = [];
      for (let i = 0; i < 40; i++) sessions.push(await initOn(c));
      const streams = await Promise.all(sessions.map((s) => openSse(`${l.base}/mcp`, { accept: 'text/event-stream', 'mcp-session-id': s.sid, 'mcp-protocol-version': LATEST })));
      cleanups.push(() => streams.forEach((g) => g.close()));
      expect(streams.every((g) => g.status === 200)).toBe(true);
      // Registering after start (an app-author habit) notifies every session.
      l.server.tool('late', {}, () => 'late but here');
      const changed = (evs: SseEvent[]) => dataOf(evs).some((m) => m.method === 'notifications/tools/list_changed');
      await Promise.all(streams.map((g) => g.waitFor(changed, 3000)));
      const r = await c.request(mcpPost('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"late"}}', sessions[7].headers));
      expect(JSON.parse(r.body.toString()).result.content[0].text).toBe('late but here');
      l.server.broadcast('notifications/message', { level: 'info', data: 'to all' });
      await Promise.all(streams.map((g) => g.waitFor((evs) => dataOf(evs).some((m) => m.params?.data === 'to all'), 3000)));
      for (const g of streams) g.close();
      const all = sessions.map((s) => l.mcp.streamable.sessions.get(s.sid)!);
      expect(await until(() => all.every((hs) => hs.idle()), 3000)).toBe(true);
    });

    it('a tool sending 1000 sampling requests the client never answers: each times out, nothing is left pending, the event store stays bounded', async () => {
      const l = await serve(transport, mcpServer((s) => {
        s.tool('flood', {}, async (_a, ctx) => {
          const rs = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => ctx.sample({ messages: [{ role: 'user', content: { type: 'text', text: `q${i}` } }], maxTokens: 1 })));
          const codes = new Set(rs.map((x) => (x.status === 'rejected' ? (x.reason as McpError).code : 'ok')));
          return { rejected: rs.filter((x) => x.status === 'rejected').length, codes: [...codes] };
        });
      }, { clientRequestTimeout: 250 }), { resumeWindowMs: 100 });
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { sid, headers } = await initOn(c, { sampling: {} });
      const t0 = Date.now();
      const r = await c.request(mcpPost('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"flood"}}', headers), 10_000);
      expect(Date.now() - t0).toBeLessThan(5000);
      const msgs = messagesOf(r, 'flood');
      expect(msgs.filter((m) => (m as { method?: string }).method === 'sampling/createMessage').length).toBe(1000);
      expect(responses(msgs)[0].result.structuredContent).toEqual({ rejected: 1000, codes: [-32001] });
      const hs = l.mcp.streamable.sessions.get(sid)!;
      expect((hs.proto as unknown as { pending: { size: number } }).pending.size).toBe(0);
      const store = (l.mcp.streamable as unknown as { events: MemoryEventStore }).events;
      expect(store.bytes).toBeLessThanOrEqual(1 << 20);
      // The same flood, but the client drops the stream at once: after the resume window
      // the call is aborted and its requests to the client are rejected at once.
      c.write(mcpPost('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"flood"}}', headers));
      await new Promise((res) => setTimeout(res, 30));
      c.close();
      expect(await until(() => hs.proto.inflightCount === 0, 3000)).toBe(true);
      expect((hs.proto as unknown as { pending: { size: number } }).pending.size).toBe(0);
      expect(store.bytes).toBeLessThanOrEqual(1 << 20);
    });

    // Found by attack, fixed: event ids repeated within a session once it had more than 16
    // SSE streams (20); 15 stays under that bound.
    it.each([15, 20])('%i SSE answers at once in a session: every event id is unique', async (streams) => {
      const gate = deferred();
      const l = await serve(transport, mcpServer((s) => {
        s.tool('hold', {}, async (_a, ctx) => {
          ctx.progress(1, 2);
          await gate.promise;
          ctx.progress(2, 2);
          return 'ok';
        });
      }));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { headers } = await initOn(c);
      const conns = await Promise.all(Array.from({ length: streams }, () => Conn.open(l.port)));
      cleanups.push(() => conns.forEach((x) => x.close()));
      conns.forEach((x, i) => x.write(mcpPost(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'hold', _meta: { progressToken: i } } }), headers)));
      await new Promise((r) => setTimeout(r, 100));
      gate.resolve();
      const ids: string[] = [];
      for (const x of conns) for (const e of parseSse((await x.read(5000)).body.toString())) if (e.id !== undefined) ids.push(e.id);
      expect(ids.length).toBe(streams * 4);
      expect(new Set(ids).size).toBe(ids.length);
    });
  });

  describe('app-author mistakes: a proper JSON-RPC error or isError result, never a crash or a hang', () => {
    function carelessApp(s: McpServer, late: { fired: Promise<void> }) {
      const circular: Record<string, unknown> = { a: 1 };
      circular.self = circular;
      const afterReturn = deferred();
      late.fired = afterReturn.promise;
      const tools: Record<string, (a: Record<string, unknown>, ctx: RequestContext) => unknown> = {
        throwString: () => { throw 'a string'; },
        throwUndefined: () => { throw undefined; },
        throwNull: () => { throw null; },
        throwObject: () => { throw { code: 1, detail: 'plain object' }; },
        throwNullProto: () => { throw Object.create(null); },
        throwToStringThrows: () => { throw { toString() { throw new Error('nope'); } }; },
        throwMcpError: () => { throw new McpError(-32099, 'custom', { x: 1 }); },
        throwMcpErrorBadData: () => { throw new McpError(-32099, 'custom', { big: 1n }); },
        rejectString: async () => Promise.reject('async string'),
        rejectUndefined: async () => Promise.reject(undefined),
        returnUndefined: () => undefined,
        returnNull: () => null,
        returnNumber: () => 42,
        returnNaN: () => NaN,
        returnBool: () => false,
        returnArray: () => [1, 'two', { three: 3 }],
        returnCircular: () => circular,
        returnBigInt: () => 10n,
        returnObjectWithBigInt: () => ({ n: 10n }),
        returnContentWithBigInt: () => ({ content: [{ type: 'text', text: 'x', n: 1n }] }),
        returnToJsonThrows: () => ({ toJSON() { throw new Error('toJSON failed'); } }),
        returnDate: () => new Date(0),
        returnMap: () => new Map([[1, 2]]),
        returnPromiseOfCircular: async () => circular,
        badLogLevel: (_a, ctx) => { ctx.log('loud' as never, 'x'); return 'unreached'; },
        progressBigInt: (_a, ctx) => { ctx.progress(1n as unknown as number); ctx.notify('x/y', { big: 2n } as never); return 'survived'; },
        notifyCircular: (_a, ctx) => { ctx.notify('x/y', circular); ctx.log('info', circular); return 'survived'; },
        sampleWithoutCapability: async (_a, ctx) => ctx.sample({ messages: [], maxTokens: 1 }),
        elicitWithoutCapability: async (_a, ctx) => ctx.elicit({ message: 'x', requestedSchema: { type: 'object', properties: {} } }),
        elicitUrlWithoutCapability: async (_a, ctx) => ctx.elicit({ mode: 'url', message: 'x', url: 'https://x', elicitationId: '1' }),
        rootsWithoutCapability: async (_a, ctx) => ctx.listRoots(),
        closeStreamInJson: (_a, ctx) => { ctx.closeStream(); ctx.closeStream(); return 'closed twice'; },
        lateCalls: (_a, ctx) => {
          setTimeout(() => {
            ctx.progress(5, 10, 'after the answer');
            ctx.log('error', 'after the answer');
            ctx.notify('notifications/message', { level: 'info', data: 'late notify' });
            ctx.closeStream();
            void ctx.sample({ messages: [], maxTokens: 1 }).catch(() => {});
            afterReturn.resolve();
          }, 20);
          return 'returned';
        },
      };
      for (const [name, fn] of Object.entries(tools)) s.tool(name, {}, fn);
      s.tool('withOutputSchema', { outputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } }, () => ({ n: 'not a number' }));
      s.tool('outputSchemaNoStructured', { outputSchema: { type: 'object' } }, () => 'just text');
      s.resource('bad://throws', { name: 't' }, () => { throw 'reader string'; });
      s.resource('bad://throws-undefined', { name: 't' }, () => { throw undefined; });
      s.resource('bad://circular', { name: 't' }, () => ({ contents: [circular] }));
      s.resource('bad://bigint', { name: 't' }, () => ({ contents: [{ uri: 'bad://bigint', text: 1n }] }));
      s.prompt('throws', {}, () => { throw 'prompt string'; });
      s.prompt('circular', {}, () => circular);
      s.prompt('completes', { arguments: [{ name: 'a' }, { name: 'b' }], complete: {
        a: () => { throw 'completer string'; },
        b: () => Promise.reject(new Error('completer rejected')),
      } }, () => 'ok');
    }

    it('tools, resources, prompts and completers that throw non-Errors or return what JSON cannot hold', async () => {
      const late = { fired: Promise.resolve() };
      const errors: unknown[] = [];
      const server = mcpServer((s) => carelessApp(s, late), { clientRequestTimeout: 200 });
      server.onError = (e) => errors.push(e);
      const l = await serve(transport, server);
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { sid, headers } = await initOn(c);
      const g = await openSse(`${l.base}/mcp`, { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': LATEST });
      cleanups.push(() => g.close());
      const tools = JSON.parse((await c.request(mcpPost('{"jsonrpc":"2.0","id":"l","method":"tools/list"}', headers))).body.toString()).result.tools.map((t: { name: string }) => t.name);
      expect(tools.length).toBeGreaterThan(30);
      const reqs: Array<[string, Record<string, unknown>]> = [
        ...tools.map((name: string) => ['tools/call', { name, arguments: {}, _meta: { progressToken: name } }] as [string, Record<string, unknown>]),
        ...['bad://throws', 'bad://throws-undefined', 'bad://circular', 'bad://bigint'].map((uri) => ['resources/read', { uri }] as [string, Record<string, unknown>]),
        ['prompts/get', { name: 'throws' }], ['prompts/get', { name: 'circular' }],
        ['completion/complete', { ref: { type: 'ref/prompt', name: 'completes' }, argument: { name: 'a', value: '' } }],
        ['completion/complete', { ref: { type: 'ref/prompt', name: 'completes' }, argument: { name: 'b', value: '' } }],
      ];
      let n = 0;
      for (const [method, params] of reqs) {
        const id = `r${n++}`;
        const what = `${method} ${JSON.stringify(params)}`;
        let r = await within(c.request(mcpPost(JSON.stringify({ jsonrpc: '2.0', id, method, params }), headers)), 3000, what);
        expect(r.status, what).toBe(200);
        if (params.name === 'closeStreamInJson') {
          // The stream closed for a reconnect (SEP-1699): the answer comes with Last-Event-ID.
          const evs = parseSse(r.body.toString());
          expect(responses(messagesOf(r, what)).length, what).toBe(0);
          r = await c.request(rawRequest('GET', '/mcp', [['Accept', 'text/event-stream'], ['Last-Event-ID', evs.at(-1)!.id!], ...headers]));
          expect(r.status, what).toBe(200);
        }
        const answer = responses(messagesOf(r, what));
        expect(answer.length, what).toBe(1);
        expect(answer[0].id, what).toBe(id);
        const a = answer[0];
        if (a.error !== undefined) {
          expect(Number.isInteger(a.error.code), what).toBe(true);
        } else if (method === 'tools/call') {
          expect(Array.isArray(a.result.content), what).toBe(true);
          for (const item of a.result.content) expect(item, what).toMatchObject({ type: 'text', text: expect.any(String) });
        }
        await pingOk(c, headers, what);
      }
      // Specific answers the README promises.
      const call = async (name: string) => responses(messagesOf(await c.request(mcpPost(JSON.stringify({ jsonrpc: '2.0', id: name, method: 'tools/call', params: { name } }), headers)), name))[0];
      expect((await call('throwString')).result).toEqual({ content: [{ type: 'text', text: 'a string' }], isError: true });
      expect((await call('throwUndefined')).result.isError).toBe(true);
      expect((await call('throwMcpError')).error).toEqual({ code: -32099, message: 'custom', data: { x: 1 } });
      expect((await call('returnCircular')).error.code).toBe(-32603);
      expect((await call('returnBigInt')).error.code).toBe(-32603);
      expect((await call('badLogLevel')).result.isError).toBe(true);
      const noCap = (await call('sampleWithoutCapability')).result;
      expect(noCap.isError).toBe(true); // (the tool failed; the client's request was valid)
      expect(noCap.content[0].text).toMatch(/does not support sampling/);
      expect((await call('withOutputSchema')).error.code).toBe(-32602);
      expect((await call('progressBigInt')).result.content[0].text).toBe('survived');
      // Calls after the answer went nowhere harmful; the session keeps working.
      await within(late.fired, 2000, 'the late calls');
      await new Promise((r) => setTimeout(r, 300));
      await pingOk(c, headers, 'after the late calls');
      for (const m of dataOf(g.events)) {
        expect(malformed(m)).toBeNull();
        expect(m.method).not.toBe('notifications/progress'); // (progress stops with its request)
      }
      const hs = l.mcp.streamable.sessions.get(sid)!;
      expect(await until(() => (hs.proto as unknown as { pending: { size: number } }).pending.size === 0, 2000)).toBe(true);
      expect(hs.proto.inflightCount).toBe(0);
      expect(errors.length).toBeGreaterThan(0);
    });

    it('a handler that honours its signal: a client cancel ends its POST at once and leaves the rest of the batch answered', async () => {
      const started = deferred();
      const l = await serve(transport, mcpServer((s) => {
        s.tool('wait', {}, (_a, ctx) => new Promise((_, reject) => {
          started.resolve();
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }));
      }));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { headers } = await initOn(c);
      c.write(mcpPost('[{"jsonrpc":"2.0","id":"w","method":"tools/call","params":{"name":"wait"}},{"jsonrpc":"2.0","id":"p","method":"ping"}]', headers));
      await within(started.promise, 2000, 'the tool to start');
      const c2 = await Conn.open(l.port);
      cleanups.push(() => c2.close());
      const r = await c2.request(mcpPost('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"w","reason":"changed my mind"}}', headers));
      expect(r.status).toBe(202);
      const got = responses(messagesOf(await c.read(2000), 'the batch'));
      expect(got).toEqual([{ jsonrpc: '2.0', id: 'p', result: {} }]);
      await pingOk(c, headers, 'after the cancel');
      // The cancel in the same batch as its request.
      const same = await c.request(mcpPost('[{"jsonrpc":"2.0","id":"w2","method":"tools/call","params":{"name":"wait"}},'
        + '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"w2"}},{"jsonrpc":"2.0","id":"p2","method":"ping"}]', headers), 2000);
      expect(responses(messagesOf(same, 'same-batch cancel'))).toEqual([{ jsonrpc: '2.0', id: 'p2', result: {} }]);
      // A lone cancelled call: its POST ends without an answer.
      c.write(mcpPost('{"jsonrpc":"2.0","id":"w3","method":"tools/call","params":{"name":"wait"}}', headers));
      await new Promise((res) => setTimeout(res, 30));
      await c2.request(mcpPost('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"w3"}}', headers));
      expect(responses(messagesOf(await c.read(2000), 'the lone cancelled call'))).toEqual([]);
      await pingOk(c, headers, 'after the lone cancel');
    });

    // Found by attack, fixed: a cancelled request whose handler never settles holds its POST (and every other answer of the same batch) forever.
    it('a handler that ignores its signal and never settles: a client cancel still ends its POST and frees the batch', async () => {
      const started = deferred();
      const l = await serve(transport, mcpServer((s) => {
        s.tool('never', {}, () => {
          started.resolve();
          return new Promise(() => {});
        });
      }));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { sid, headers } = await initOn(c);
      c.write(mcpPost('[{"jsonrpc":"2.0","id":"n","method":"tools/call","params":{"name":"never"}},{"jsonrpc":"2.0","id":"p","method":"ping"}]', headers));
      await within(started.promise, 2000, 'the tool to start');
      const c2 = await Conn.open(l.port);
      cleanups.push(() => c2.close());
      expect((await c2.request(mcpPost('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"n"}}', headers))).status).toBe(202);
      const got = responses(messagesOf(await c.read(2000), 'the batch'));
      expect(got).toEqual([{ jsonrpc: '2.0', id: 'p', result: {} }]);
      // A lone call: its POST ends too, and the session is idle again.
      c.write(mcpPost('{"jsonrpc":"2.0","id":"n2","method":"tools/call","params":{"name":"never"}}', headers));
      await new Promise((r) => setTimeout(r, 50));
      await c2.request(mcpPost('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"n2"}}', headers));
      const lone = await c.read(2000);
      expect(responses(messagesOf(lone, 'the lone call'))).toEqual([]);
      expect(l.mcp.streamable.sessions.get(sid)!.idle()).toBe(true);
    });

    // Found by attack, fixed: a resource reader, prompt getter or completer returning garbage is sent to the client as the result, unchecked.
    it('resource readers, prompt getters and completers returning garbage get -32603 or a well-formed result', async () => {
      const l = await serve(transport, mcpServer((s) => {
        s.resource('bad://number', { name: 'n' }, () => 42 as unknown as string);
        s.resource('bad://null', { name: 'n' }, () => null as unknown as string);
        s.resource('bad://array', { name: 'n' }, () => [1] as unknown as string);
        s.resource('bad://contents-string', { name: 'n' }, () => ({ contents: 'x' }));
        s.prompt('number', {}, () => 7 as unknown as string);
        s.prompt('undefined', {}, () => undefined as unknown as string);
        s.prompt('c', { arguments: [{ name: 'a' }, { name: 'b' }], complete: { a: () => 'abc' as unknown as string[], b: () => [1, null, {}] as unknown as string[] } }, () => 'x');
      }));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { headers } = await initOn(c);
      const ask = async (method: string, params: unknown) => responses(messagesOf(await c.request(mcpPost(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), headers)), method))[0];
      for (const uri of ['bad://number', 'bad://null', 'bad://array', 'bad://contents-string']) {
        const a = await ask('resources/read', { uri });
        if (a.error === undefined) expect(Array.isArray(a.result.contents), uri).toBe(true);
        else expect(a.error.code, uri).toBe(-32603);
      }
      for (const name of ['number', 'undefined']) {
        const a = await ask('prompts/get', { name });
        if (a.error === undefined) expect(Array.isArray(a.result.messages), name).toBe(true);
        else expect(a.error.code, name).toBe(-32603);
      }
      for (const arg of ['a', 'b']) {
        const a = await ask('completion/complete', { ref: { type: 'ref/prompt', name: 'c' }, argument: { name: arg, value: '' } });
        if (a.error === undefined) {
          expect(Array.isArray(a.result.completion.values), arg).toBe(true);
          for (const v of a.result.completion.values) expect(typeof v, arg).toBe('string');
        } else expect(a.error.code, arg).toBe(-32603);
      }
    });

    // Found by attack, fixed: a tool returning a Symbol, a function or undefined-in-JSON value answers a CallToolResult whose text item has no text.
    it('a tool returning a Symbol or a function gets a well-formed result', async () => {
      const l = await serve(transport, mcpServer((s) => {
        s.tool('sym', {}, () => Symbol('x'));
        s.tool('fn', {}, () => () => 1);
      }));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { headers } = await initOn(c);
      for (const name of ['sym', 'fn']) {
        const a = responses(messagesOf(await c.request(mcpPost(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name } }), headers)), name))[0];
        if (a.error !== undefined) expect(a.error.code).toBe(-32603);
        else for (const item of a.result.content) expect(item, name).toMatchObject({ type: 'text', text: expect.any(String) });
      }
    });

    // Found by attack, fixed: ctx.sample / ctx.elicit with params JSON cannot hold leaves a pending entry (and its 60 s timer) behind, and later sends notifications/cancelled for a request the client never got.
    it('ctx.sample with params JSON cannot hold leaves nothing pending', async () => {
      const l = await serve(transport, mcpServer((s) => {
        s.tool('bigsample', {}, async (_a, ctx) => {
          try {
            await ctx.sample({ x: 1n } as never);
            return 'sent?';
          } catch (e) {
            return `rejected: ${(e as Error).message}`;
          }
        });
      }));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { sid, headers } = await initOn(c, { sampling: {} });
      const a = responses(messagesOf(await c.request(mcpPost('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"bigsample"}}', headers)), 'bigsample'))[0];
      expect(a.result.content[0].text).toMatch(/^rejected/);
      const hs = l.mcp.streamable.sessions.get(sid)!;
      expect((hs.proto as unknown as { pending: { size: number } }).pending.size).toBe(0);
    });
  });

  describe('client-held state', () => {
    // Found by attack, fixed: resources/subscribe keeps any URI a client names, without limit.
    it('resources/subscribe refuses URIs the server does not serve', async () => {
      const l = await serve(transport, mcpServer(saneApp));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { sid, headers } = await initOn(c);
      for (let i = 0; i < 8; i++) {
        const batch = Array.from({ length: 256 }, (_, k) => ({ jsonrpc: '2.0', id: k, method: 'resources/subscribe', params: { uri: `nope://${i}/${k}/${'y'.repeat(1000)}` } }));
        const rs = responses(messagesOf(await c.request(mcpPost(JSON.stringify(batch), headers)), 'subscribe batch'));
        for (const r of rs) expect(r.error?.code).toBe(-32002);
      }
      // (served ones are still fine)
      const ok = await c.request(mcpPost('{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"fz://static"}}', headers));
      expect(JSON.parse(ok.body.toString()).result).toEqual({});
      const proto = l.mcp.streamable.sessions.get(sid)!.proto as unknown as { subscriptions: Set<string> | null };
      expect(proto.subscriptions?.size ?? 0).toBeLessThanOrEqual(1);
    });
  });

  describe('ids', () => {
    // Found by attack, fixed: a lone invalid request whose id was readable is answered with id null.
    it('a lone invalid request with a readable id is answered with that id', async () => {
      const l = await serve(transport, mcpServer(saneApp));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { headers } = await initOn(c);
      for (const body of ['{"jsonrpc":"2.0","id":5,"method":7}', '{"jsonrpc":"2.0","id":5,"method":"ping","params":"x"}', '{"jsonrpc":"1.0","id":5,"method":"ping"}']) {
        const r = await c.request(mcpPost(body, headers));
        const a = responses(messagesOf(r, body))[0];
        expect(a.error.code, body).toBe(-32600);
        expect(a.id, body).toBe(5);
        // (in a batch it already is)
        const b = responses(messagesOf(await c.request(mcpPost(`[${body}]`, headers)), body))[0];
        expect(b.id).toBe(5);
      }
    });

    // Found by attack, fixed: a request with "id": null is run and answered with id null.
    it('a request with id null is refused with -32600', async () => {
      const l = await serve(transport, mcpServer(saneApp));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { headers } = await initOn(c);
      const r = await c.request(mcpPost('{"jsonrpc":"2.0","id":null,"method":"ping"}', headers));
      expect(responses(messagesOf(r, 'id null'))[0].error?.code).toBe(-32600);
    });

    // Found by attack, fixed: numeric ids JavaScript numbers cannot hold come back changed.
    it('an integer id beyond 2^53 (or 1e400) comes back verbatim or is refused', async () => {
      const l = await serve(transport, mcpServer(saneApp));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      const { headers } = await initOn(c);
      for (const raw of ['12345678901234567890', '1e400']) {
        const r = await c.request(mcpPost(`{"jsonrpc":"2.0","id":${raw},"method":"ping"}`, headers));
        const text = r.body.toString();
        const ok = text.includes(`"id":${raw}`) || JSON.parse(text).error?.code === -32600;
        expect(ok, `${raw}: ${text}`).toBe(true);
      }
    });

    // Found by attack, fixed: an initialize that fails still creates a session and hands out its id.
    it('an initialize that fails creates no session', async () => {
      const l = await serve(transport, mcpServer(saneApp));
      const c = await Conn.open(l.port);
      cleanups.push(() => c.close());
      for (const params of ['[]', '{}', '{"protocolVersion":5}']) {
        const r = await c.request(mcpPost(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":${params}}`));
        expect(JSON.parse(r.body.toString()).error.code).toBe(-32602);
        expect(r.headers['mcp-session-id'], params).toBeUndefined();
      }
      expect(l.mcp.streamable.sessions.size).toBe(0);
      expect(l.server.sessionCount).toBe(0);
    });
  });
});

// ── the other transports ────────────────────────────────────────────────────────────

describe('legacy HTTP+SSE transport: seeded hostile POSTs', () => {
  it('every POST is 202 or 400, every message on the stream is well-formed, the stream answers a ping at the end', async () => {
    const l = await serve('net', mcpServer(saneApp));
    const g = await openSse(`${l.base}/sse`, { accept: 'text/event-stream' });
    cleanups.push(() => g.close());
    await g.waitFor((evs) => evs.some((e) => e.event === 'endpoint'));
    const endpoint = g.events.find((e) => e.event === 'endpoint')!.data!;
    const c = await Conn.open(l.port);
    cleanups.push(() => c.close());
    const rng = createRng(4242);
    const expectedIds: string[] = [];
    for (let i = 0; i < 150; i++) {
      const kase = randCase(rng);
      const what = `legacy case ${i}: ${kase.body.toString('utf8').slice(0, 200)}`;
      const r = await c.request(rawRequest('POST', endpoint, [['Content-Type', 'application/json']], kase.body));
      expect([202, 400], what).toContain(r.status);
      if (r.status === 400) expect(JSON.parse(r.body.toString()).error.code, what).toBeLessThan(0);
      if (kase.expect !== null && r.status === 202 && !(kase.expect.batch && kase.expect.members.some((m) => m.method === 'initialize') && kase.expect.members.length > 1)) {
        for (const m of kase.expect.members) if (m.kind === 'request') expectedIds.push(JSON.stringify(answerId(m.id)));
      }
    }
    const r = await c.request(rawRequest('POST', endpoint, [['Content-Type', 'application/json']], '{"jsonrpc":"2.0","id":"final","method":"ping"}'));
    expect(r.status).toBe(202);
    await g.waitFor((evs) => dataOf(evs.filter((e) => e.event === 'message')).some((m) => m.id === 'final'), 5000);
    const msgs = dataOf(g.events.filter((e) => e.event === 'message'));
    for (const m of msgs) expect(malformed(m), JSON.stringify(m).slice(0, 200)).toBeNull();
    // An answer for every request (mutated bodies may hold more).
    const got = responses(msgs).map((m) => JSON.stringify(m.id));
    for (const id of expectedIds) {
      const i = got.indexOf(id);
      expect(i, `an answer for id ${id}`).toBeGreaterThanOrEqual(0);
      got.splice(i, 1);
    }
    // Unknown or missing session ids.
    expect((await c.request(rawRequest('POST', '/messages?sessionId=nope', [['Content-Type', 'application/json']], '{}'))).status).toBe(404);
    expect((await c.request(rawRequest('POST', '/messages', [['Content-Type', 'application/json']], '{}'))).status).toBe(400);
    expect((await c.request(rawRequest('POST', `${endpoint}&sessionId=x`, [['Content-Type', 'text/plain']], '{}'))).status).toBe(415);
  });
});

describe('stdio transport: seeded hostile lines', () => {
  it('every line gets well-formed output (a -32700 for bad JSON), the session reads on, EOF ends it', async () => {
    const server = mcpServer(saneApp);
    const input = new PassThrough();
    const output = new PassThrough();
    const lines: string[] = [];
    let pending = '';
    output.on('data', (d: Buffer) => {
      pending += d.toString('utf8');
      let i: number;
      while ((i = pending.indexOf('\n')) >= 0) {
        lines.push(pending.slice(0, i));
        pending = pending.slice(i + 1);
      }
    });
    const stdio = serveStdio(server, { input, output, maxLineBytes: 1 << 20 });
    input.write(`${JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST, capabilities: {} } })}\n`);
    const rng = createRng(99);
    for (let i = 0; i < 200; i++) {
      const kase = randCase(rng);
      input.write(Buffer.concat([kase.body.filter((b) => b !== 0x0a), Buffer.from('\n')]));
    }
    input.write(`${'x'.repeat((1 << 20) + 10)}\n`);
    input.write('{"jsonrpc":"2.0","id":"last","method":"ping"}\n');
    expect(await until(() => lines.some((l) => l.includes('"last"')), 5000)).toBe(true);
    for (const l of lines) {
      let m: unknown;
      expect(() => (m = JSON.parse(l)), l.slice(0, 200)).not.toThrow();
      for (const x of Array.isArray(m) ? m : [m]) expect(malformed(x), l.slice(0, 200)).toBeNull();
    }
    input.end();
    await within(stdio.closed, 2000, 'EOF to end the session');
    expect(server.sessionCount).toBe(0);
  });
});

describe('serveSdkServer behind the transports', () => {
  // (The casts: with SDK 1.32's types, an SDK McpServer is not assignable to
  // SdkServerLike — SdkTransport.onmessage's extra.requestInfo.headers is
  // Record<string, string>, the SDK's IsomorphicHeaders allows string[] | undefined —
  // so the README's `serveSdkServer(build)` does not type-check; test/mcp/sdk-adapter.test.ts
  // shows the same errors under tsc.)
  type SdkArg = Parameters<typeof serveSdkServer>[0];
  const initBody = JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST, capabilities: {}, clientInfo: { name: 'h', version: '1' } } });

  // Found by attack, fixed: a request id the SDK refuses (a non-integer number, or null) hangs the POST.
  it('a request id the SDK cannot take is answered, not left hanging', async () => {
    const l = await serve('net', serveSdkServer((() => new SdkMcpServer({ name: 'sdk', version: '1' })) as unknown as SdkArg));
    const c = await Conn.open(l.port);
    cleanups.push(() => c.close());
    const init = await c.request(mcpPost(initBody));
    const headers: Array<[string, string]> = [['Mcp-Session-Id', init.headers['mcp-session-id']], ['MCP-Protocol-Version', LATEST]];
    for (const id of ['1.5', 'null']) {
      const r = await c.request(mcpPost(`{"jsonrpc":"2.0","id":${id},"method":"ping"}`, headers), 2000);
      expect(responses(messagesOf(r, `id ${id}`)).length).toBe(1);
    }
  });

  // Found by attack, fixed: an SDK server instance (not a factory) on HTTP: the second initialize leaves a half-made session in the store that breaks the store.
  it('an SDK instance on HTTP: a second initialize is refused cleanly and the store keeps working', async () => {
    const l = await serve('net', serveSdkServer(new SdkMcpServer({ name: 'sdk', version: '1' }) as unknown as SdkArg));
    const c = await Conn.open(l.port);
    cleanups.push(() => c.close());
    expect((await c.request(mcpPost(initBody))).status).toBe(200);
    const second = await c.request(mcpPost(initBody));
    expect(second.status).toBe(503);
    expect(l.mcp.streamable.sessions.size).toBe(1);
    const store = l.mcp.streamable.sessions as MemorySessionStore<HttpSession>;
    expect(() => store.sweep(Date.now() + 10 * 24 * 3600 * 1000)).not.toThrow();
    expect(store.size).toBe(0); // (the first session idles out; nothing half-made stays)
    expect(() => l.mcp.close()).not.toThrow();
  });
});

describe('sessions across workers (McpRelayNode, two in-process instances and a supervisor stand-in)', () => {
  it('hostile session ids and bodies through the relay: every request is answered, none hangs', async () => {
    const nodes: McpRelayNode[] = [];
    // The supervisor: relays to a running instance, else answers a request with 'gone'.
    const post = (m: McpRelay) => setImmediate(() => {
      const to = nodes[m.to];
      if (to !== undefined) to.receive(m);
      else if (m.part.kind === 'request') nodes[m.from].receive({ type: 'mcp', to: m.from, from: m.to, xid: m.xid, part: { kind: 'gone' } });
    });
    const lives: Live[] = [];
    for (let i = 0; i < 2; i++) {
      nodes.push(new McpRelayNode(i, post));
      const l = await serve('net', mcpServer(saneApp), { sessionIdPrefix: nodes[i].prefix, router: nodes[i] });
      nodes[i].endpoints = l.mcp;
      lives.push(l);
    }
    const c0 = await Conn.open(lives[0].port);
    const c1 = await Conn.open(lives[1].port);
    cleanups.push(() => { c0.close(); c1.close(); });
    const { sid, headers } = await initOn(c0);
    expect(sid.startsWith('0.')).toBe(true);
    // The session's requests work from the other instance, JSON and SSE answers alike.
    await pingOk(c1, headers, 'a forwarded ping');
    const sse = await c1.request(mcpPost('{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"chatty","_meta":{"progressToken":1}}}', headers));
    expect(responses(messagesOf(sse, 'forwarded SSE'))[0].result.content[0].text).toBe('done');
    // Hostile session ids: each answered 4xx at once (no hang), the connection kept.
    for (const bad of ['0.nope', '1.nope', '7.nope', '1e0.x', ' 1.x', '0x1.x', '-1.x', '.x', '1.', '..', '9007199254740993.x', '1.5.x', 'Infinity.x', `1${sid}`, `${sid}.`]) {
      for (const [name, c] of [['c0', c0], ['c1', c1]] as const) {
        const what = `session id ${JSON.stringify(bad)} on ${name}`;
        const r = await within(c.request(mcpPost('{"jsonrpc":"2.0","id":1,"method":"ping"}', [['Mcp-Session-Id', bad]])), 2000, what);
        expect(r.status, what).toBe(404);
        expect(JSON.parse(r.body.toString()).error.code, what).toBe(-32001);
        const g = await within(c.request(rawRequest('GET', '/mcp', [['Accept', 'text/event-stream'], ['Mcp-Session-Id', bad]])), 2000, what);
        expect(g.status, what).toBe(404);
      }
    }
    // Seeded hostile bodies, forwarded.
    const rng = createRng(31337);
    for (let i = 0; i < 80; i++) {
      const kase = randCase(rng);
      const what = `relayed case ${i}: ${kase.body.toString('utf8').slice(0, 200)}`;
      checkCase(kase, await within(c1.request(mcpPost(kase.body, headers)), 3000, what), what);
    }
    await pingOk(c1, headers, 'after the relayed cases');
    expect(lives[0].mcp.streamable.sessions.get(sid)!.proto.inflightCount).toBe(0);
  });
});
