// McpServer and ProtocolSession without HTTP: a recording Outbound stands in for the
// transport, and client messages go in as envelopes from the WASM JSON-RPC parser.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ErrorCodes } from '../../src/errors.js';
import { parseJsonRpc } from '../../src/jsonrpc/parse.js';
import { McpError, McpErrorCode, type OutgoingMessage, type Outbound, type ProtocolSession, type RequestId } from '../../src/mcp/protocol.js';
import {
  createMcpServer, LATEST_PROTOCOL_VERSION, McpServer, SUPPORTED_PROTOCOL_VERSIONS, type McpServerOptions, type RequestContext,
} from '../../src/mcp/server.js';

type Msg = OutgoingMessage & { id?: RequestId | null; method?: string; params?: any; result?: any; error?: any };
interface Sent { msg: Msg; related: RequestId | undefined }

/** A session of `server` whose messages are recorded; `send` feeds it client messages. */
function client(server: McpServer, sessionId: string | undefined = 'session-1') {
  const sent: Sent[] = [];
  const abandoned: RequestId[] = [];
  const waiters: Array<() => void> = [];
  const out: Outbound = {
    send(msg, related) {
      // (what a transport does first: a message that JSON cannot carry fails here)
      sent.push({ msg: JSON.parse(JSON.stringify(msg)) as Msg, related });
      for (const w of waiters.splice(0)) w();
    },
    abandoned(id) {
      abandoned.push(id);
      for (const w of waiters.splice(0)) w();
    },
  };
  const session: ProtocolSession = server.openSession(sessionId, out);
  let nextId = 1;

  const c = {
    sent,
    abandoned,
    session,
    /** Feeds raw JSON (a message or a batch) through parseJsonRpc into the session. */
    send(value: unknown, authInfo?: unknown): void {
      const r = parseJsonRpc(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));
      if (!r.ok) throw new Error(`test bug: ${r.error.message}`);
      for (const m of r.messages) session.receive(m, authInfo);
    },
    /** Resolves with the first recorded message that matches (already there, or to come). */
    waitFor(pred: (s: Sent) => boolean, ms = 2000): Promise<Sent> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out waiting for a message')), ms);
        const check = () => {
          const hit = sent.find(pred);
          if (hit !== undefined) {
            clearTimeout(timer);
            resolve(hit);
          } else waiters.push(check);
        };
        check();
      });
    },
    /** The response (result or error) to the request with this id. */
    async response(id: RequestId): Promise<Msg> {
      return (await c.waitFor((s) => s.msg.id === id && s.msg.method === undefined)).msg;
    },
    /** Sends a request and resolves with its response message. */
    async request(method: string, params?: unknown, id: RequestId = `c${nextId++}`): Promise<Msg> {
      c.send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
      return c.response(id);
    },
    /** A request that must succeed: its result. */
    async call(method: string, params?: unknown): Promise<any> {
      const r = await c.request(method, params);
      if (r.error !== undefined) throw new Error(`${method} failed: ${JSON.stringify(r.error)}`);
      return r.result;
    },
    notify(method: string, params?: unknown): void {
      c.send(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
    },
    /** initialize + notifications/initialized. */
    async init(protocolVersion: string = LATEST_PROTOCOL_VERSION, capabilities: Record<string, unknown> = {}): Promise<any> {
      const r = await c.call('initialize', { protocolVersion, capabilities, clientInfo: { name: 'test', version: '1' } });
      c.notify('notifications/initialized');
      return r;
    },
    notifications(method: string): Msg[] {
      return sent.filter((s) => s.msg.method === method && s.msg.id === undefined).map((s) => s.msg);
    },
  };
  return c;
}

const mk = (o: Partial<McpServerOptions> = {}) => createMcpServer({ name: 'test-server', version: '1.2.3', ...o });
/** Text of a CallToolResult's first content item. */
const text0 = (r: any) => r.content[0].text as string;
const tick = () => new Promise((r) => setImmediate(r));

/** A promise and the function that resolves it. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function expectInvalidOption(fn: () => unknown, message?: RegExp): void {
  let err: any;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a throw').toBeDefined();
  expect(err.code).toBe(ErrorCodes.INVALID_OPTION);
  if (message !== undefined) expect(err.message).toMatch(message);
}

describe('initialize', () => {
  it.each([...SUPPORTED_PROTOCOL_VERSIONS])('echoes the supported version %s', async (v) => {
    const server = mk();
    const c = client(server);
    const r = await c.call('initialize', { protocolVersion: v, capabilities: {}, clientInfo: { name: 'x', version: '0' } });
    expect(r.protocolVersion).toBe(v);
    expect(c.session.protocolVersion).toBe(v);
    expect(r.serverInfo).toEqual({ name: 'test-server', version: '1.2.3' });
  });

  it('answers an unknown version with the latest one', async () => {
    expect(LATEST_PROTOCOL_VERSION).toBe('2025-11-25');
    for (const v of ['1999-01-01', '2026-01-01', '']) {
      const c = client(mk());
      const r = await c.call('initialize', { protocolVersion: v, capabilities: {} });
      expect(r.protocolVersion).toBe('2025-11-25');
    }
  });

  it('refuses an initialize without a string protocolVersion (-32602)', async () => {
    const c = client(mk());
    const r = await c.request('initialize', { protocolVersion: 20251125, capabilities: {} });
    expect(r.error.code).toBe(-32602);
  });

  it('sends instructions and server info when given, and records the client', async () => {
    const server = mk({ title: 'Test', instructions: 'Use the tools.', websiteUrl: 'https://example.com' });
    const c = client(server);
    const r = await c.call('initialize', { protocolVersion: '2025-06-18', capabilities: { sampling: {} }, clientInfo: { name: 'cli', version: '9' } });
    expect(r.instructions).toBe('Use the tools.');
    expect(r.serverInfo).toEqual({ name: 'test-server', version: '1.2.3', title: 'Test', websiteUrl: 'https://example.com' });
    expect(c.session.clientInfo).toEqual({ name: 'cli', version: '9' });
    expect(c.session.clientCapabilities).toEqual({ sampling: {} });
    expect(c.session.initialized).toBe(false);
    c.notify('notifications/initialized');
    expect(c.session.initialized).toBe(true);
  });

  it('declares no tools capability without tools, and tools/list is then -32601', async () => {
    const server = mk();
    const c = client(server);
    const r = await c.init();
    expect(r.capabilities).toEqual({ logging: {} });
    for (const m of ['tools/list', 'tools/call', 'resources/list', 'resources/read', 'resources/templates/list', 'prompts/list', 'prompts/get', 'completion/complete']) {
      const e = await c.request(m, {});
      expect(e.error?.code, m).toBe(-32601);
    }
  });

  it('declares exactly what is registered', async () => {
    const server = mk();
    server.tool('t', {}, () => 'x');
    expect((await client(server).init()).capabilities).toEqual({ logging: {}, tools: { listChanged: true } });

    const s2 = mk();
    s2.resource('file:///a', { name: 'a' }, () => 'a');
    expect((await client(s2).init()).capabilities).toEqual({ logging: {}, resources: { subscribe: true, listChanged: true } });

    const s3 = mk();
    s3.prompt('p', {}, () => 'hi');
    expect((await client(s3).init()).capabilities).toEqual({ logging: {}, prompts: { listChanged: true } });

    const s4 = mk();
    s4.prompt('p', { arguments: [{ name: 'a' }], complete: { a: () => ['x'] } }, () => 'hi');
    s4.resourceTemplate('x://{id}', { name: 'x' }, () => 'x');
    expect((await client(s4).init()).capabilities).toEqual({
      logging: {}, prompts: { listChanged: true }, resources: { subscribe: true, listChanged: true }, completions: {},
    });

    const s5 = mk({ capabilities: { experimental: { foo: {} } } });
    expect((await client(s5).init()).capabilities).toEqual({ logging: {}, experimental: { foo: {} } });
  });

  it('recomputes capabilities after tools are removed', async () => {
    const server = mk();
    server.tool('t', {}, () => 'x');
    server.removeTool('t');
    const c = client(server);
    expect((await c.init()).capabilities).toEqual({ logging: {} });
    expect((await c.request('tools/list')).error.code).toBe(-32601);
  });
});

describe('tools', () => {
  it('lists a plain JSON Schema verbatim and validates with it', async () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'https://example.com/schemas/order',
      type: 'object',
      title: 'Order',
      $defs: {
        item: {
          $anchor: 'item',
          type: 'object',
          properties: { sku: { type: 'string', pattern: '^[A-Z]{3}-\\d+$' }, qty: { type: 'integer', minimum: 1 } },
          required: ['sku', 'qty'],
          additionalProperties: false,
        },
      },
      properties: {
        items: { type: 'array', items: { $ref: '#item' }, minItems: 1 },
        shipping: { anyOf: [{ type: 'null' }, { type: 'string', enum: ['ground', 'air'] }] },
        kind: { type: 'string' },
        coupon: { type: 'string' },
      },
      allOf: [{ required: ['items'] }, { not: { required: ['forbidden'] } }],
      if: { properties: { kind: { const: 'gift' } }, required: ['kind'] },
      then: { required: ['coupon'] },
      else: { properties: { coupon: false } },
      additionalProperties: false,
      'x-mcp-custom': { keep: true },
    };
    const copy = structuredClone(schema);
    const server = mk();
    const seen: unknown[] = [];
    server.tool('order', { description: 'Places an order', inputSchema: schema }, (args) => {
      seen.push(args);
      return 'ok';
    });
    const c = client(server);
    await c.init();
    const list = await c.call('tools/list');
    expect(list.tools).toHaveLength(1);
    expect(list.tools[0]).toEqual({ name: 'order', description: 'Places an order', inputSchema: copy });
    expect(list.nextCursor).toBeUndefined();

    const good = { items: [{ sku: 'ABC-1', qty: 2 }], shipping: null };
    expect(await c.call('tools/call', { name: 'order', arguments: good })).toEqual({ content: [{ type: 'text', text: 'ok' }] });
    expect(seen).toEqual([good]);
    expect(await c.call('tools/call', { name: 'order', arguments: { items: [{ sku: 'ABC-1', qty: 1 }], kind: 'gift', coupon: 'C' } }))
      .toEqual({ content: [{ type: 'text', text: 'ok' }] });

    const cases: Array<[unknown, RegExp]> = [
      [{ items: [{ sku: 'abc', qty: 1 }] }, /items\.0\.sku.*pattern/],
      [{ items: [{ sku: 'ABC-1', qty: 0 }] }, /items\.0\.qty.*>= 1/],
      [{ items: [] }, /items.*fewer than 1/],
      [{}, /items/],
      [{ items: [{ sku: 'ABC-1', qty: 1 }], extra: 1 }, /additional properties.*'extra'/],
      [{ items: [{ sku: 'ABC-1', qty: 1 }], shipping: 'sea' }, /shipping/],
      [{ items: [{ sku: 'ABC-1', qty: 1 }], kind: 'gift' }, /coupon/],
      [{ items: [{ sku: 'ABC-1', qty: 1 }], kind: 'plain', coupon: 'C' }, /coupon|boolean schema/],
    ];
    for (const [args, problem] of cases) {
      const r = await c.call('tools/call', { name: 'order', arguments: args });
      expect(r.isError, JSON.stringify(args)).toBe(true);
      expect(text0(r), JSON.stringify(args)).toMatch(/^Invalid arguments for tool order: /);
      expect(text0(r), JSON.stringify(args)).toMatch(problem);
    }
    expect(seen).toHaveLength(2);
    // The schema object given was not changed by compiling or listing it.
    expect(schema).toEqual(copy);
  });

  it('describes a zod v4 schema as JSON Schema and validates with it (defaults applied)', async () => {
    const server = mk();
    const seen: unknown[] = [];
    server.tool('greet', {
      inputSchema: z.object({ name: z.string().min(1).describe('who'), times: z.number().int().default(1), loud: z.boolean().optional() }),
    }, (args) => {
      seen.push(args);
      return `hi ${String(args.name)}`;
    });
    const c = client(server);
    await c.init();
    const { tools } = await c.call('tools/list');
    const s = tools[0].inputSchema;
    expect(s.type).toBe('object');
    expect(s.properties.name).toMatchObject({ type: 'string', minLength: 1, description: 'who' });
    expect(s.properties.times).toMatchObject({ type: 'integer', default: 1 });
    expect(s.properties.loud).toMatchObject({ type: 'boolean' });
    expect(s.required).toEqual(['name']);

    expect(text0(await c.call('tools/call', { name: 'greet', arguments: { name: 'Ada' } }))).toBe('hi Ada');
    expect(seen).toEqual([{ name: 'Ada', times: 1 }]);
    const bad = await c.call('tools/call', { name: 'greet', arguments: { name: 5, times: 1.5 } });
    expect(bad.isError).toBe(true);
    expect(text0(bad)).toMatch(/^Invalid arguments for tool greet: /);
    expect(text0(bad)).toMatch(/name/);
    expect(seen).toHaveLength(1);
  });

  it('builds an object schema from a zod raw shape and validates field by field', async () => {
    const server = mk();
    const seen: unknown[] = [];
    server.tool('add', { inputSchema: { a: z.number(), b: z.number().default(10), note: z.string().optional() } }, (args) => {
      seen.push(args);
      return String((args.a as number) + (args.b as number));
    });
    const c = client(server);
    await c.init();
    const { tools } = await c.call('tools/list');
    expect(tools[0].inputSchema).toEqual({
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number', default: 10 }, note: { type: 'string' } },
      required: ['a'],
    });
    expect(text0(await c.call('tools/call', { name: 'add', arguments: { a: 1, b: 2 } }))).toBe('3');
    expect(text0(await c.call('tools/call', { name: 'add', arguments: { a: 1 } }))).toBe('11');
    expect(seen).toEqual([{ a: 1, b: 2 }, { a: 1, b: 10 }]);
    const bad = await c.call('tools/call', { name: 'add', arguments: { a: 'one', note: 3 } });
    expect(bad.isError).toBe(true);
    expect(text0(bad)).toMatch(/a: /);
    expect(text0(bad)).toMatch(/note: /);
  });

  it('answers invalid arguments with an isError result that names the problem', async () => {
    const server = mk();
    let calls = 0;
    server.tool('sum', {
      inputSchema: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'], additionalProperties: false },
    }, () => {
      calls++;
      return 'ok';
    });
    const c = client(server);
    await c.init();
    const missing = await c.call('tools/call', { name: 'sum', arguments: {} });
    expect(missing).toEqual({ isError: true, content: [{ type: 'text', text: expect.stringMatching(/Invalid arguments for tool sum: .*'x'/) }] });
    const wrongType = await c.call('tools/call', { name: 'sum', arguments: { x: 'nine' } });
    expect(text0(wrongType)).toBe('Invalid arguments for tool sum: x: must be number');
    const notObject = await c.call('tools/call', { name: 'sum', arguments: [1, 2] });
    expect(notObject.isError).toBe(true);
    expect(text0(notObject)).toMatch(/arguments must be an object/);
    const absent = await c.call('tools/call', { name: 'sum' });
    expect(absent.isError).toBe(true);
    expect(calls).toBe(0);
  });

  it('answers an unknown tool with -32602', async () => {
    const server = mk();
    server.tool('t', {}, () => 'x');
    const c = client(server);
    await c.init();
    const r = await c.request('tools/call', { name: 'nope', arguments: {} });
    expect(r.error.code).toBe(-32602);
    expect(r.error.message).toMatch(/nope/);
    expect((await c.request('tools/call', { arguments: {} })).error.code).toBe(-32602);
  });

  it('turns a string, an object or a full CallToolResult into the result', async () => {
    const server = mk();
    const full = { content: [{ type: 'image', data: 'AAAA', mimeType: 'image/png' }, { type: 'text', text: 'caption' }], isError: false, _meta: { k: 1 } };
    server.tool('str', {}, () => 'plain text');
    server.tool('obj', {}, () => ({ temperature: 21.5, unit: 'C' }));
    server.tool('full', {}, () => full);
    server.tool('async', {}, async () => {
      await tick();
      return 'later';
    });
    server.tool('nothing', {}, () => undefined);
    const c = client(server);
    await c.init();
    expect(await c.call('tools/call', { name: 'str' })).toEqual({ content: [{ type: 'text', text: 'plain text' }] });
    const obj = await c.call('tools/call', { name: 'obj' });
    expect(obj.structuredContent).toEqual({ temperature: 21.5, unit: 'C' });
    expect(obj.content).toEqual([{ type: 'text', text: JSON.stringify({ temperature: 21.5, unit: 'C' }) }]);
    expect(JSON.parse(text0(obj))).toEqual(obj.structuredContent);
    expect(await c.call('tools/call', { name: 'full' })).toEqual(full);
    expect(await c.call('tools/call', { name: 'async' })).toEqual({ content: [{ type: 'text', text: 'later' }] });
    expect(await c.call('tools/call', { name: 'nothing' })).toEqual({ content: [] });
  });

  it('validates structured output against outputSchema', async () => {
    const server = mk();
    let out: unknown = { celsius: 20 };
    server.tool('weather', {
      outputSchema: { type: 'object', properties: { celsius: { type: 'number' } }, required: ['celsius'] },
    }, () => out);
    server.tool('weather-zod', { outputSchema: { celsius: z.number() } }, () => out);
    const c = client(server);
    await c.init();
    const { tools } = await c.call('tools/list');
    expect(tools[0].outputSchema).toEqual({ type: 'object', properties: { celsius: { type: 'number' } }, required: ['celsius'] });
    expect(tools[1].outputSchema).toEqual({ type: 'object', properties: { celsius: { type: 'number' } }, required: ['celsius'] });
    for (const name of ['weather', 'weather-zod']) {
      out = { celsius: 20 };
      expect((await c.call('tools/call', { name })).structuredContent).toEqual({ celsius: 20 });
      out = { celsius: 'warm' };
      const bad = await c.request('tools/call', { name });
      expect(bad.error.code, name).toBe(-32602);
      expect(bad.error.message).toMatch(/Output validation error/);
      out = 'just text';
      const none = await c.request('tools/call', { name });
      expect(none.error.code).toBe(-32602);
      expect(none.error.message).toMatch(/no structuredContent/);
      // An error result needs no structured content.
      out = { content: [{ type: 'text', text: 'failed' }], isError: true };
      expect(await c.call('tools/call', { name })).toEqual(out);
    }
  });

  it('answers a handler that throws an Error with an isError result', async () => {
    const server = mk();
    const errors: unknown[] = [];
    server.onError = (e) => errors.push(e);
    server.tool('boom', {}, () => {
      throw new Error('the disk is full');
    });
    server.tool('boom-async', {}, async () => {
      await tick();
      throw new TypeError('bad thing');
    });
    server.tool('boom-string', {}, () => {
      throw 'a string'; // eslint-disable-line no-throw-literal
    });
    const c = client(server);
    await c.init();
    expect(await c.call('tools/call', { name: 'boom' })).toEqual({ content: [{ type: 'text', text: 'the disk is full' }], isError: true });
    expect(await c.call('tools/call', { name: 'boom-async' })).toEqual({ content: [{ type: 'text', text: 'bad thing' }], isError: true });
    expect(await c.call('tools/call', { name: 'boom-string' })).toEqual({ content: [{ type: 'text', text: 'a string' }], isError: true });
  });

  it('answers a handler that throws McpError with that JSON-RPC error', async () => {
    const server = mk();
    server.tool('denied', {}, () => {
      throw new McpError(-32042, 'needs a URL elicitation', { elicitations: [{ url: 'https://x' }] });
    });
    server.tool('denied-async', {}, async () => {
      await tick();
      throw new McpError(McpErrorCode.InvalidParams, 'no such city');
    });
    const c = client(server);
    await c.init();
    expect((await c.request('tools/call', { name: 'denied' }, 'd1')).error)
      .toEqual({ code: -32042, message: 'needs a URL elicitation', data: { elicitations: [{ url: 'https://x' }] } });
    expect((await c.request('tools/call', { name: 'denied-async' }, 'd2')).error).toEqual({ code: -32602, message: 'no such city' });
  });

  it('paginates with pageSize 2 over 5 tools with opaque cursors; an invalid cursor is -32602', async () => {
    const server = mk({ pageSize: 2 });
    for (const n of ['a', 'b', 'c', 'd', 'e']) server.tool(n, {}, () => n);
    const c = client(server);
    await c.init();
    const names: string[][] = [];
    const cursors: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await c.call('tools/list', cursor === undefined ? {} : { cursor });
      names.push(r.tools.map((t: { name: string }) => t.name));
      if (r.nextCursor === undefined) break;
      expect(typeof r.nextCursor).toBe('string');
      expect(r.nextCursor).not.toMatch(/^\d+$/); // (not a bare offset)
      cursors.push(r.nextCursor);
      cursor = r.nextCursor;
    }
    expect(names).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(new Set(cursors).size).toBe(2);
    for (const bad of ['garbage!', '', '2', Buffer.from('o:99').toString('base64url'), 17, null]) {
      const r = await c.request('tools/list', { cursor: bad });
      expect(r.error?.code, JSON.stringify(bad)).toBe(-32602);
    }
  });

  it('sends list_changed on add and remove once a session started, not before initialized', async () => {
    const server = mk();
    server.tool('first', {}, () => '1');
    const c = client(server);
    const early = client(server, 'not-initialized');
    await c.init();
    await early.call('initialize', { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {} });
    const before = c.sent.length;

    server.tool('second', {}, () => '2');
    expect(c.notifications('notifications/tools/list_changed')).toEqual([{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }]);
    expect(c.sent.at(-1)!.related).toBeUndefined();
    expect(server.removeTool('second')).toBe(true);
    expect(c.notifications('notifications/tools/list_changed')).toHaveLength(2);
    expect(server.removeTool('second')).toBe(false);
    expect(c.notifications('notifications/tools/list_changed')).toHaveLength(2);

    server.resource('mem://x', { name: 'x' }, () => 'x');
    server.resourceTemplate('mem://t/{id}', { name: 't' }, () => 't');
    server.removeResource('mem://x');
    server.removeResourceTemplate('mem://t/{id}');
    expect(c.notifications('notifications/resources/list_changed')).toHaveLength(4);
    server.prompt('p', {}, () => 'p');
    server.removePrompt('p');
    expect(c.notifications('notifications/prompts/list_changed')).toHaveLength(2);
    expect(c.sent.length - before).toBe(8);
    // A session that has not sent notifications/initialized gets none of them.
    expect(early.sent.filter((s) => s.msg.method !== undefined)).toEqual([]);

    // A closed session gets nothing more.
    c.session.close();
    const n = c.sent.length;
    server.tool('third', {}, () => '3');
    expect(c.sent.length).toBe(n);
  });
});

describe('resources', () => {
  function resourceServer() {
    const server = mk();
    server.resource('file:///readme.md', { name: 'readme', mimeType: 'text/markdown' }, () => '# Hello');
    server.resource('file:///logo.png', { name: 'logo', mimeType: 'image/png' }, () => new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0xff]));
    server.resource('file:///plain', { name: 'plain' }, async () => 'no type');
    server.resource('file:///custom', { name: 'custom' }, () => ({ contents: [{ uri: 'file:///custom', text: 'a' }, { uri: 'file:///custom#2', text: 'b' }] }));
    const reads: Array<[string, Record<string, string>]> = [];
    server.resourceTemplate('users://{id}/profile', { name: 'profile', mimeType: 'application/json' }, (uri, vars) => {
      reads.push([uri, vars]);
      return JSON.stringify({ id: vars.id });
    });
    server.resourceTemplate('repo://{owner}/{name}/blob', { name: 'blob' }, (_uri, vars) => `${vars.owner}|${vars.name}`);
    return { server, reads };
  }

  it('reads a string as text contents and bytes as a base64 blob', async () => {
    const { server } = resourceServer();
    const c = client(server);
    await c.init();
    expect(await c.call('resources/read', { uri: 'file:///readme.md' }))
      .toEqual({ contents: [{ uri: 'file:///readme.md', mimeType: 'text/markdown', text: '# Hello' }] });
    expect(await c.call('resources/read', { uri: 'file:///logo.png' }))
      .toEqual({ contents: [{ uri: 'file:///logo.png', mimeType: 'image/png', blob: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff]).toString('base64') }] });
    expect(await c.call('resources/read', { uri: 'file:///plain' })).toEqual({ contents: [{ uri: 'file:///plain', text: 'no type' }] });
    expect((await c.call('resources/read', { uri: 'file:///custom' })).contents).toHaveLength(2);
  });

  it('reads a Uint8Array view at an offset as just its bytes', async () => {
    const server = mk();
    const backing = new Uint8Array([1, 2, 3, 4, 5, 6]);
    server.resource('bin://part', { name: 'part' }, () => backing.subarray(2, 4));
    const c = client(server);
    await c.init();
    expect((await c.call('resources/read', { uri: 'bin://part' })).contents[0].blob).toBe(Buffer.from([3, 4]).toString('base64'));
  });

  it('answers an unknown URI with -32002 and data.uri', async () => {
    const { server } = resourceServer();
    const c = client(server);
    await c.init();
    const r = await c.request('resources/read', { uri: 'file:///missing' });
    expect(r.error).toEqual({ code: -32002, message: expect.stringMatching(/file:\/\/\/missing/), data: { uri: 'file:///missing' } });
    expect((await c.request('resources/read', {})).error.code).toBe(-32602);
  });

  it('matches templates, passes their variables percent-decoded, and lists them', async () => {
    const { server, reads } = resourceServer();
    const c = client(server);
    await c.init();
    const r = await c.call('resources/read', { uri: 'users://ada%20lovelace%2Fx/profile' });
    expect(r).toEqual({ contents: [{ uri: 'users://ada%20lovelace%2Fx/profile', mimeType: 'application/json', text: '{"id":"ada lovelace/x"}' }] });
    expect(reads).toEqual([['users://ada%20lovelace%2Fx/profile', { id: 'ada lovelace/x' }]]);
    expect(text0({ content: (await c.call('resources/read', { uri: 'repo://me/my%C3%A9repo/blob' })).contents })).toBe('me|myérepo');
    // A '/' where a variable is does not match; neither does a malformed escape or an extra suffix.
    for (const uri of ['users://a/b/profile', 'users://%E0%A4%A/profile', 'users://a/profile/more', 'users:///profile']) {
      expect((await c.request('resources/read', { uri })).error?.code, uri).toBe(-32002);
    }
    const { resourceTemplates } = await c.call('resources/templates/list');
    expect(resourceTemplates).toEqual([
      { uriTemplate: 'users://{id}/profile', name: 'profile', mimeType: 'application/json' },
      { uriTemplate: 'repo://{owner}/{name}/blob', name: 'blob' },
    ]);
    const { resources } = await c.call('resources/list');
    expect(resources.map((x: { uri: string }) => x.uri)).toEqual(['file:///readme.md', 'file:///logo.png', 'file:///plain', 'file:///custom']);
  });

  it('adds what a template lists to resources/list', async () => {
    const server = mk({ pageSize: 2 });
    server.resource('a://1', { name: 'one' }, () => '1');
    server.resourceTemplate('a://t/{n}', { name: 'tn' }, (_u, v) => v.n, {
      list: async () => [{ uri: 'a://t/x', name: 'x' }, { uri: 'a://t/y', name: 'y' }],
    });
    const c = client(server);
    await c.init();
    const p1 = await c.call('resources/list');
    expect(p1.resources.map((r: { uri: string }) => r.uri)).toEqual(['a://1', 'a://t/x']);
    const p2 = await c.call('resources/list', { cursor: p1.nextCursor });
    expect(p2).toEqual({ resources: [{ uri: 'a://t/y', name: 'y' }] });
  });

  it('sends resources/updated only to sessions subscribed to the URI', async () => {
    const { server } = resourceServer();
    const a = client(server, 'a');
    const b = client(server, 'b');
    await a.init();
    await b.init();
    expect(await a.call('resources/subscribe', { uri: 'file:///readme.md' })).toEqual({});
    server.notifyResourceUpdated('file:///readme.md');
    server.notifyResourceUpdated('file:///plain');
    expect(a.notifications('notifications/resources/updated')).toEqual([
      { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'file:///readme.md' } },
    ]);
    expect(b.notifications('notifications/resources/updated')).toEqual([]);
    await b.call('resources/subscribe', { uri: 'file:///plain' });
    server.notifyResourceUpdated('file:///plain');
    expect(b.notifications('notifications/resources/updated')).toHaveLength(1);
    expect(a.notifications('notifications/resources/updated')).toHaveLength(1);
    await a.call('resources/unsubscribe', { uri: 'file:///readme.md' });
    server.notifyResourceUpdated('file:///readme.md');
    expect(a.notifications('notifications/resources/updated')).toHaveLength(1);
    expect((await a.request('resources/subscribe', { uri: 7 })).error.code).toBe(-32602);
  });
});

describe('prompts', () => {
  it('gets a prompt with arguments; a missing required argument is -32602', async () => {
    const server = mk();
    const seen: unknown[] = [];
    server.prompt('review', {
      description: 'Review code',
      arguments: [{ name: 'code', required: true, description: 'the code' }, { name: 'style' }],
    }, (args) => {
      seen.push(args);
      return `Review this (${args.style ?? 'any'} style): ${args.code}`;
    });
    server.prompt('full', {}, () => ({ description: 'd', messages: [{ role: 'assistant', content: { type: 'text', text: 'a' } }] }));
    const c = client(server);
    await c.init();
    const { prompts } = await c.call('prompts/list');
    expect(prompts[0]).toEqual({
      name: 'review', description: 'Review code', arguments: [{ name: 'code', required: true, description: 'the code' }, { name: 'style' }],
    });
    expect(await c.call('prompts/get', { name: 'review', arguments: { code: 'x = 1', style: 'terse' } })).toEqual({
      messages: [{ role: 'user', content: { type: 'text', text: 'Review this (terse style): x = 1' } }],
    });
    expect(seen).toEqual([{ code: 'x = 1', style: 'terse' }]);
    const missing = await c.request('prompts/get', { name: 'review', arguments: { style: 'terse' } });
    expect(missing.error.code).toBe(-32602);
    expect(missing.error.message).toMatch(/'code' is required/);
    expect((await c.request('prompts/get', { name: 'review' })).error.code).toBe(-32602);
    expect((await c.request('prompts/get', { name: 'nope' })).error).toEqual({ code: -32602, message: 'Unknown prompt: nope' });
    expect(await c.call('prompts/get', { name: 'full' })).toEqual({ description: 'd', messages: [{ role: 'assistant', content: { type: 'text', text: 'a' } }] });
    expect(seen).toHaveLength(1);
  });

  it('derives arguments from a zod argsSchema and validates them', async () => {
    const server = mk();
    server.prompt('translate', { argsSchema: { text: z.string().describe('what to translate'), lang: z.enum(['fr', 'de']).optional() } },
      (args) => `${args.lang ?? 'fr'}: ${args.text}`);
    const c = client(server);
    await c.init();
    const { prompts } = await c.call('prompts/list');
    expect(prompts[0].arguments).toEqual([
      { name: 'text', description: 'what to translate', required: true },
      { name: 'lang', required: false },
    ]);
    expect((await c.call('prompts/get', { name: 'translate', arguments: { text: 'hi', lang: 'de' } })).messages[0].content.text).toBe('de: hi');
    const bad = await c.request('prompts/get', { name: 'translate', arguments: { text: 'hi', lang: 'xx' } });
    expect(bad.error.code).toBe(-32602);
    expect(bad.error.message).toMatch(/lang/);
    expect((await c.request('prompts/get', { name: 'translate', arguments: {} })).error.message).toMatch(/'text' is required/);
  });
});

describe('completion/complete', () => {
  function completionServer() {
    const server = mk();
    const contexts: unknown[] = [];
    const many = Array.from({ length: 150 }, (_, i) => `v${i}`);
    server.prompt('lang', {
      arguments: [{ name: 'language', required: true }, { name: 'framework' }, { name: 'plain' }],
      complete: {
        language: (value) => ['python', 'perl', 'php', 'rust'].filter((l) => l.startsWith(value)),
        framework: async (value, ctx) => {
          contexts.push(ctx);
          return ctx.arguments.language === 'python' ? ['django', 'flask'].filter((f) => f.startsWith(value)) : [];
        },
      },
    }, () => 'x');
    server.resourceTemplate('gh://{owner}/{repo}', { name: 'repo' }, () => 'r', {
      complete: { owner: () => many, repo: (value, ctx) => [`${ctx.arguments.owner}/${value}-one`] },
    });
    return { server, contexts };
  }

  it('completes prompt arguments (with context)', async () => {
    const { server, contexts } = completionServer();
    const c = client(server);
    await c.init();
    expect(await c.call('completion/complete', { ref: { type: 'ref/prompt', name: 'lang' }, argument: { name: 'language', value: 'p' } }))
      .toEqual({ completion: { values: ['python', 'perl', 'php'], total: 3, hasMore: false } });
    expect(await c.call('completion/complete', {
      ref: { type: 'ref/prompt', name: 'lang' }, argument: { name: 'framework', value: 'f' }, context: { arguments: { language: 'python' } },
    })).toEqual({ completion: { values: ['flask'], total: 1, hasMore: false } });
    expect(contexts).toEqual([{ arguments: { language: 'python' } }]);
    // An argument without a completer completes to nothing.
    expect(await c.call('completion/complete', { ref: { type: 'ref/prompt', name: 'lang' }, argument: { name: 'plain', value: '' } }))
      .toEqual({ completion: { values: [], total: 0, hasMore: false } });
    expect((await c.request('completion/complete', { ref: { type: 'ref/prompt', name: 'nope' }, argument: { name: 'a', value: '' } })).error.code).toBe(-32602);
    expect((await c.request('completion/complete', { ref: { type: 'ref/prompt', name: 'lang' } })).error.code).toBe(-32602);
    expect((await c.request('completion/complete', { ref: { type: 'ref/other' }, argument: { name: 'a', value: '' } })).error.code).toBe(-32602);
  });

  it('completes template variables, capping values at 100 with hasMore', async () => {
    const { server } = completionServer();
    const c = client(server);
    await c.init();
    const r = await c.call('completion/complete', { ref: { type: 'ref/resource', uri: 'gh://{owner}/{repo}' }, argument: { name: 'owner', value: '' } });
    expect(r.completion.values).toHaveLength(100);
    expect(r.completion.values[0]).toBe('v0');
    expect(r.completion.values[99]).toBe('v99');
    expect(r.completion.total).toBe(150);
    expect(r.completion.hasMore).toBe(true);
    expect(await c.call('completion/complete', {
      ref: { type: 'ref/resource', uri: 'gh://{owner}/{repo}' }, argument: { name: 'repo', value: 'x' }, context: { arguments: { owner: 'me' } },
    })).toEqual({ completion: { values: ['me/x-one'], total: 1, hasMore: false } });
    expect((await c.request('completion/complete', { ref: { type: 'ref/resource', uri: 'gh://nope' }, argument: { name: 'owner', value: '' } })).error.code)
      .toBe(-32602);
  });
});

describe('context: logging, progress, cancellation, client requests', () => {
  it('logging/setLevel filters ctx.log', async () => {
    const server = mk();
    server.tool('chatty', {}, (_a, ctx) => {
      ctx.log('debug', 'd');
      ctx.log('info', { n: 1 }, 'mylogger');
      ctx.log('warning', 'w');
      ctx.log('error', 'e');
      ctx.log('emergency', 'x');
      return 'done';
    });
    const c = client(server);
    await c.init();
    await c.call('tools/call', { name: 'chatty' });
    expect(c.notifications('notifications/message').map((m) => m.params.level)).toEqual(['debug', 'info', 'warning', 'error', 'emergency']);
    expect(c.notifications('notifications/message')[1].params).toEqual({ level: 'info', logger: 'mylogger', data: { n: 1 } });
    // Log messages of a request are related to it (a transport puts them on its stream).
    expect(c.sent.filter((s) => s.msg.method === 'notifications/message').every((s) => s.related === 'c2')).toBe(true);

    c.sent.length = 0;
    expect(await c.call('logging/setLevel', { level: 'warning' })).toEqual({});
    await c.call('tools/call', { name: 'chatty' });
    expect(c.notifications('notifications/message').map((m) => m.params.level)).toEqual(['warning', 'error', 'emergency']);
    expect((await c.request('logging/setLevel', { level: 'loud' })).error.code).toBe(-32602);
  });

  it('ping answers {}; an unknown method is -32601; non-object params are -32602', async () => {
    const c = client(mk());
    await c.init();
    expect(await c.request('ping', undefined, 'p')).toEqual({ jsonrpc: '2.0', id: 'p', result: {} });
    expect(await c.request('ping', {}, 42)).toEqual({ jsonrpc: '2.0', id: 42, result: {} });
    const r = await c.request('no/such/method', {}, 'u');
    expect(r.error.code).toBe(-32601);
    expect(r.error.message).toMatch(/no\/such\/method/);
    expect((await c.request('ping', [1, 2], 'arr')).error.code).toBe(-32602);
    // An unknown notification is ignored.
    const n = c.sent.length;
    c.notify('notifications/whatever', { a: 1 });
    expect(c.sent.length).toBe(n);
  });

  it('notifications/cancelled aborts the handler signal and no response is sent', async () => {
    const server = mk();
    const started = deferred();
    let reason: unknown;
    let afterAbort = false;
    server.tool('slow', {}, (_a, ctx) => new Promise((_resolve, reject) => {
      started.resolve();
      ctx.signal.addEventListener('abort', () => {
        reason = ctx.signal.reason;
        // A late log or progress after the abort goes nowhere.
        ctx.log('error', 'too late');
        afterAbort = true;
        reject(new Error('aborted'));
      });
    }));
    const c = client(server);
    await c.init();
    c.send({ jsonrpc: '2.0', id: 'slow-1', method: 'tools/call', params: { name: 'slow', _meta: { progressToken: 1 } } });
    await started.promise;
    expect(c.session.inflightCount).toBe(1);
    c.notify('notifications/cancelled', { requestId: 'slow-1', reason: 'user pressed stop' });
    expect(afterAbort).toBe(true);
    expect((reason as McpError).message).toBe('user pressed stop');
    await c.waitFor(() => c.abandoned.length > 0);
    expect(c.abandoned).toEqual(['slow-1']);
    for (let i = 0; i < 5; i++) await tick();
    expect(c.sent.filter((s) => s.msg.id === 'slow-1' || s.related === 'slow-1')).toEqual([]);
    expect(c.session.inflightCount).toBe(0);
    // The id is free again.
    server.tool('fast', {}, () => 'f');
    expect((await c.request('tools/call', { name: 'fast' }, 'slow-1')).result).toEqual({ content: [{ type: 'text', text: 'f' }] });
    // Cancelling an unknown or finished request does nothing.
    const n = c.sent.length;
    c.notify('notifications/cancelled', { requestId: 'never' });
    c.notify('notifications/cancelled', {});
    expect(c.sent.length).toBe(n);
  });

  it('sends progress only when the request carried a progressToken', async () => {
    const server = mk();
    server.tool('work', {}, async (_a, ctx) => {
      ctx.progress(1, 3, 'one');
      await tick();
      ctx.progress(2, 3);
      ctx.progress(3);
      return 'done';
    });
    const c = client(server);
    await c.init();
    await c.call('tools/call', { name: 'work' });
    expect(c.notifications('notifications/progress')).toEqual([]);

    await c.request('tools/call', { name: 'work', _meta: { progressToken: 'tok-9' } }, 'with-token');
    const progress = c.sent.filter((s) => s.msg.method === 'notifications/progress');
    expect(progress.map((p) => p.msg.params)).toEqual([
      { progressToken: 'tok-9', progress: 1, total: 3, message: 'one' },
      { progressToken: 'tok-9', progress: 2, total: 3 },
      { progressToken: 'tok-9', progress: 3 },
    ]);
    expect(progress.every((p) => p.related === 'with-token')).toBe(true);
    // Progress notifications come before the response.
    const order = c.sent.filter((s) => s.related === 'with-token').map((s) => s.msg.method ?? 'response');
    expect(order).toEqual(['notifications/progress', 'notifications/progress', 'notifications/progress', 'response']);

    c.sent.length = 0;
    await c.request('tools/call', { name: 'work', _meta: { progressToken: 0 } }, 'zero-token');
    expect(c.notifications('notifications/progress')).toHaveLength(3);
    expect(c.notifications('notifications/progress')[0].params.progressToken).toBe(0);
  });

  // Progress stops with the request (the spec: "Progress notifications MUST stop after
  // completion"); found sending late progress, fixed in src/mcp/server.ts Context.progress.
  it('sends no progress after the response', async () => {
    const server = mk();
    let saved: RequestContext | undefined;
    server.tool('quick', {}, (_a, ctx) => {
      saved = ctx;
      return 'done';
    });
    const c = client(server);
    await c.init();
    await c.request('tools/call', { name: 'quick', _meta: { progressToken: 'late' } }, 'q1');
    saved!.progress(5, 10);
    await tick();
    expect(c.notifications('notifications/progress')).toEqual([]);
  });

  it('rejects ctx.sample / ctx.elicit / ctx.listRoots when the client lacks the capability', async () => {
    const server = mk();
    let outcomes: string[] = [];
    const attempt = async (f: () => Promise<unknown>) => {
      try {
        await f();
        outcomes.push('resolved');
      } catch (e) {
        outcomes.push(`${(e as McpError).code}: ${(e as Error).message}`);
      }
    };
    server.tool('ask', {}, async (_a, ctx) => {
      await attempt(() => ctx.sample({ messages: [], maxTokens: 5 }));
      await attempt(() => ctx.elicit({ message: 'm', requestedSchema: { type: 'object' } }));
      await attempt(() => ctx.elicit({ mode: 'url', message: 'm', url: 'https://x', elicitationId: 'e' }));
      await attempt(() => ctx.listRoots());
      return 'ok';
    });
    server.tool('ask-url', {}, async (_a, ctx) => {
      await attempt(() => ctx.elicit({ mode: 'url', message: 'm', url: 'https://x', elicitationId: 'e' }));
      return 'ok';
    });
    server.tool('ask-uncaught', {}, async (_a, ctx) => ctx.sample({ messages: [], maxTokens: 5 }));

    const c = client(server);
    await c.init(LATEST_PROTOCOL_VERSION, {});
    expect(text0(await c.call('tools/call', { name: 'ask' }))).toBe('ok');
    expect(outcomes).toHaveLength(4);
    // (plain Errors: the tool's failure, not an invalid request of the client's)
    expect(outcomes[0]).toMatch(/sampling/);
    expect(outcomes[1]).toMatch(/elicitation/);
    expect(outcomes[2]).toMatch(/URL-mode|elicitation/);
    expect(outcomes[3]).toMatch(/roots/);
    // Nothing was sent to the client.
    expect(c.sent.filter((s) => s.msg.method !== undefined && s.msg.id !== undefined)).toEqual([]);
    // A rejection the handler does not catch is the tool's isError result.
    const uncaught = (await c.request('tools/call', { name: 'ask-uncaught' })).result;
    expect(uncaught.isError).toBe(true);
    expect(uncaught.content[0].text).toMatch(/does not support sampling/);

    // A client with form elicitation only: URL mode is still refused.
    outcomes = [];
    const form = client(server, 'form-only');
    await form.init(LATEST_PROTOCOL_VERSION, { elicitation: { form: {} } });
    expect(text0(await form.call('tools/call', { name: 'ask-url' }))).toBe('ok');
    expect(outcomes).toEqual([expect.stringMatching(/URL-mode/)]);
  });

  it('resolves a server→client request when the client answers it; an unknown response id is ignored', async () => {
    const server = mk();
    server.tool('summarise', {}, async (_a, ctx) => {
      const r = await ctx.sample({ messages: [{ role: 'user', content: { type: 'text', text: 'sum up' } }], maxTokens: 50 });
      let roots: unknown;
      try {
        roots = await ctx.listRoots();
      } catch (e) {
        roots = { failed: (e as McpError).code, message: (e as Error).message, data: (e as McpError).data };
      }
      return { sampled: r, roots };
    });
    const c = client(server);
    await c.init(LATEST_PROTOCOL_VERSION, { sampling: {}, roots: { listChanged: true } });
    c.send({ jsonrpc: '2.0', id: 't1', method: 'tools/call', params: { name: 'summarise' } });
    const req = await c.waitFor((s) => s.msg.method === 'sampling/createMessage');
    expect(req.related).toBe('t1');
    expect(req.msg.params).toEqual({ messages: [{ role: 'user', content: { type: 'text', text: 'sum up' } }], maxTokens: 50 });
    expect(req.msg.id).toBeDefined();

    // Answers to ids this server never used (or already settled) are ignored.
    const n = c.sent.length;
    c.send({ jsonrpc: '2.0', id: 'nope', result: { x: 1 } });
    c.send({ jsonrpc: '2.0', id: 12345, error: { code: -1, message: 'no' } });
    expect(c.sent.length).toBe(n);

    c.send({ jsonrpc: '2.0', id: req.msg.id, result: { role: 'assistant', content: { type: 'text', text: 'short' }, model: 'm' } });
    // A second answer to the same id is ignored too.
    c.send({ jsonrpc: '2.0', id: req.msg.id, result: { role: 'assistant', content: { type: 'text', text: 'again' }, model: 'm' } });
    const roots = await c.waitFor((s) => s.msg.method === 'roots/list');
    expect(roots.msg.id).not.toBe(req.msg.id);
    c.send({ jsonrpc: '2.0', id: roots.msg.id, error: { code: -32601, message: 'no roots here', data: { why: 'x' } } });
    const res = await c.response('t1');
    expect(res.result.structuredContent).toEqual({
      sampled: { role: 'assistant', content: { type: 'text', text: 'short' }, model: 'm' },
      roots: { failed: -32601, message: 'no roots here', data: { why: 'x' } },
    });
  });

  it('times out a server→client request after clientRequestTimeout and tells the client', async () => {
    const server = mk({ clientRequestTimeout: 30 });
    server.tool('ask', {}, async (_a, ctx) => {
      try {
        await ctx.elicit({ message: 'name?', requestedSchema: { type: 'object', properties: {} } });
        return 'answered';
      } catch (e) {
        return `failed ${(e as McpError).code}`;
      }
    });
    const c = client(server);
    await c.init(LATEST_PROTOCOL_VERSION, { elicitation: {} });
    const r = await c.request('tools/call', { name: 'ask' }, 'q');
    expect(text0(r.result)).toBe('failed -32001');
    const req = c.sent.find((s) => s.msg.method === 'elicitation/create')!;
    expect(c.notifications('notifications/cancelled')).toEqual([
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: req.msg.id, reason: 'timed out' } },
    ]);
  });

  it('cancelling a tool cancels its pending server→client request (notifications/cancelled to the client)', async () => {
    const server = mk();
    server.tool('ask', {}, (_a, ctx) => ctx.sample({ messages: [], maxTokens: 1 }));
    const c = client(server);
    await c.init(LATEST_PROTOCOL_VERSION, { sampling: {} });
    c.send({ jsonrpc: '2.0', id: 'x', method: 'tools/call', params: { name: 'ask' } });
    const req = await c.waitFor((s) => s.msg.method === 'sampling/createMessage');
    c.notify('notifications/cancelled', { requestId: 'x' });
    const cancel = await c.waitFor((s) => s.msg.method === 'notifications/cancelled');
    expect(cancel.msg.params.requestId).toBe(req.msg.id);
    await c.waitFor(() => c.abandoned.includes('x'));
    expect(c.sent.filter((s) => s.msg.id === 'x')).toEqual([]);
  });

  it('answers a resource reader or prompt getter that throws with -32603 and reports the error', async () => {
    const server = mk();
    const errors: unknown[] = [];
    server.onError = (e) => errors.push(e);
    server.resource('bad://r', { name: 'r' }, () => {
      throw new Error('disk gone');
    });
    server.resource('gone://r', { name: 'g' }, () => {
      throw new McpError(McpErrorCode.ResourceNotFound, 'moved away', { uri: 'gone://r' });
    });
    server.prompt('bad', {}, async () => {
      throw new Error('template broken');
    });
    const c = client(server);
    await c.init();
    expect((await c.request('resources/read', { uri: 'bad://r' })).error).toEqual({ code: -32603, message: 'disk gone' });
    expect((await c.request('resources/read', { uri: 'gone://r' })).error).toEqual({ code: -32002, message: 'moved away', data: { uri: 'gone://r' } });
    expect((await c.request('prompts/get', { name: 'bad' })).error).toEqual({ code: -32603, message: 'template broken' });
    expect(errors.map((e) => (e as Error).message)).toEqual(['disk gone', 'template broken']);
  });

  it('matches template literals literally (regex characters escaped)', async () => {
    const server = mk();
    server.resourceTemplate('file:///{name}.txt', { name: 'txt' }, (_u, v) => v.name);
    server.resourceTemplate('q://a+b/{x}(1)', { name: 'weird' }, (_u, v) => v.x);
    const c = client(server);
    await c.init();
    expect((await c.call('resources/read', { uri: 'file:///notes.v2.txt' })).contents[0].text).toBe('notes.v2');
    expect((await c.request('resources/read', { uri: 'file:///notesXtxt' })).error.code).toBe(-32002);
    expect((await c.call('resources/read', { uri: 'q://a+b/y(1)' })).contents[0].text).toBe('y');
    expect((await c.request('resources/read', { uri: 'q://aab/y1' })).error.code).toBe(-32002);
  });

  it('answers a duplicate in-flight id with -32600 and runs the first one to completion', async () => {
    const server = mk();
    const gate = deferred();
    let runs = 0;
    server.tool('wait', {}, async () => {
      runs++;
      await gate.promise;
      return 'first';
    });
    const c = client(server);
    await c.init();
    c.send({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'wait' } });
    c.send({ jsonrpc: '2.0', id: 7, method: 'ping' });
    const dup = await c.response(7);
    expect(dup.error.code).toBe(-32600);
    expect(dup.error.message).toMatch(/already in flight/);
    expect(runs).toBe(1);
    gate.resolve();
    const done = await c.waitFor((s) => s.msg.id === 7 && s.msg.result !== undefined);
    expect(done.msg.result).toEqual({ content: [{ type: 'text', text: 'first' }] });
    // The same id is accepted once the first request finished; a string "7" never collided.
    expect((await c.request('ping', undefined, '7')).result).toEqual({});
  });

  it('passes authInfo, ids and _meta to the handler', async () => {
    const server = mk();
    let seen: Partial<RequestContext> = {};
    server.tool('who', {}, (_a, ctx) => {
      seen = { authInfo: ctx.authInfo, requestId: ctx.requestId, sessionId: ctx.sessionId, meta: ctx.meta };
      return 'ok';
    });
    const c = client(server, 'sess-42');
    await c.init();
    c.send({ jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'who', _meta: { trace: 't' } } }, { clientId: 'abc' });
    await c.response(99);
    expect(seen).toEqual({ authInfo: { clientId: 'abc' }, requestId: 99, sessionId: 'sess-42', meta: { trace: 't' } });
  });

  it('close() aborts running handlers and rejects pending client requests', async () => {
    const server = mk();
    const aborted = deferred<unknown>();
    server.tool('hang', {}, (_a, ctx) => new Promise(() => ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason))));
    const c = client(server);
    await c.init();
    expect(server.sessionCount).toBe(1);
    c.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hang' } });
    await tick();
    c.session.close('bye');
    expect(((await aborted.promise) as McpError).code).toBe(McpErrorCode.ConnectionClosed);
    expect(server.sessionCount).toBe(0);
    expect(c.session.isClosed).toBe(true);
    // Nothing more is handled.
    const n = c.sent.length;
    c.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    await tick();
    expect(c.sent.length).toBe(n);
  });
});

describe('registration errors', () => {
  it('refuses bad server options', () => {
    expectInvalidOption(() => createMcpServer(undefined as unknown as McpServerOptions));
    expectInvalidOption(() => createMcpServer({ name: '', version: '1' }), /name/);
    expectInvalidOption(() => createMcpServer({ name: 'n' } as McpServerOptions), /version/);
    expectInvalidOption(() => mk({ pageSize: 0 }), /pageSize/);
    expectInvalidOption(() => mk({ pageSize: 1.5 }), /pageSize/);
    expectInvalidOption(() => mk({ clientRequestTimeout: -1 }), /clientRequestTimeout/);
    expect(new McpServer({ name: 'a', version: 'b' })).toBeInstanceOf(McpServer);
  });

  it('refuses bad and duplicate tool and prompt names', () => {
    const server = mk();
    for (const name of ['', 'has space', 'é', 'a'.repeat(129), 'semi;colon', 42 as unknown as string]) {
      expectInvalidOption(() => server.tool(name, {}, () => 'x'), /tool name/);
      expectInvalidOption(() => server.prompt(name, {}, () => 'x'), /prompt name/);
    }
    server.tool('a'.repeat(128), {}, () => 'x');
    server.tool('ns/tool.v1-beta_2', {}, () => 'x');
    expectInvalidOption(() => server.tool('ns/tool.v1-beta_2', {}, () => 'y'), /already registered/);
    expectInvalidOption(() => server.tool('t2', {}, 'not a function' as never), /function/);
    server.prompt('p', {}, () => 'x');
    expectInvalidOption(() => server.prompt('p', {}, () => 'x'), /already registered/);
    server.resource('x://1', { name: 'one' }, () => '1');
    expectInvalidOption(() => server.resource('x://1', { name: 'one' }, () => '1'), /already registered/);
    expectInvalidOption(() => server.resource('', { name: 'e' }, () => '1'));
    expectInvalidOption(() => server.resource('x://2', {} as never, () => '1'), /name/);
    server.resourceTemplate('x://t/{id}', { name: 't' }, () => 't');
    expectInvalidOption(() => server.resourceTemplate('x://t/{id}', { name: 't' }, () => 't'), /already registered/);
  });

  it('refuses bad schemas', () => {
    const server = mk();
    expectInvalidOption(() => server.tool('s1', { inputSchema: { type: 'string' } }, () => 'x'), /must describe an object/);
    expectInvalidOption(() => server.tool('s2', { inputSchema: 42 }, () => 'x'), /JSON Schema object or a zod schema/);
    expectInvalidOption(() => server.tool('s3', { inputSchema: [{ type: 'object' }] }, () => 'x'));
    expectInvalidOption(() => server.tool('s4', { inputSchema: { type: 'object', properties: 5 } }, () => 'x'), /invalid JSON Schema/);
    expectInvalidOption(() => server.tool('s5', { inputSchema: { type: 'object', required: 'a' } }, () => 'x'), /invalid JSON Schema/);
    expectInvalidOption(() => server.tool('s6', { outputSchema: { type: 'object', minimum: 'x' } }, () => 'x'), /outputSchema/);
    expectInvalidOption(() => server.tool('s7', { inputSchema: null }, () => 'x'));
    expectInvalidOption(() => server.prompt('p1', { argsSchema: 'nope' }, () => 'x'), /argsSchema/);
    // A schema that failed registered nothing.
    expect(() => server.tool('s1', { inputSchema: { type: 'object' } }, () => 'x')).not.toThrow();
  });

  // A tool's inputSchema must describe an object (MCP; SDK clients reject a tools/list
  // whose inputSchema is not): found accepting z.string(), fixed in src/mcp/schema.ts.
  it('refuses a zod schema that is not an object as a tool inputSchema', () => {
    const server = mk();
    expectInvalidOption(() => server.tool('zs', { inputSchema: z.string() }, () => 'x'), /object/);
    expectInvalidOption(() => server.tool('za', { inputSchema: z.array(z.number()) }, () => 'x'), /object/);
    expectInvalidOption(() => server.tool('zo', { outputSchema: z.number() }, () => 'x'), /object/);
  });

  it('refuses completers for arguments and variables that do not exist, and bad templates', () => {
    const server = mk();
    expectInvalidOption(() => server.prompt('p', { arguments: [{ name: 'a' }], complete: { b: () => [] } }, () => 'x'), /complete\.b/);
    expectInvalidOption(() => server.resourceTemplate('t://{a}', { name: 't' }, () => 'x', { complete: { b: () => [] } }), /complete\.b/);
    expectInvalidOption(() => server.resourceTemplate('t://{a}/{a}', { name: 't' }, () => 'x'), /twice/);
    expectInvalidOption(() => server.resourceTemplate('t://{+a}', { name: 't' }, () => 'x'), /level-1/);
    expectInvalidOption(() => server.resourceTemplate('t://{a', { name: 't' }, () => 'x'), /level-1/);
    expectInvalidOption(() => server.resourceTemplate('', { name: 't' }, () => 'x'));
  });
});

describe('app-author habits', () => {
  it('validates a draft-07 JSON Schema (what SDK-era tools emit) and lists it verbatim', async () => {
    const server = createMcpServer({ name: 's', version: '1' });
    const schema = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], definitions: { x: { type: 'string' } } };
    server.tool('d7', { description: 'draft-07', inputSchema: schema }, ({ n }) => `n=${n}`);
    const c = client(server);
    await c.init();
    expect((await c.call('tools/list')).tools[0].inputSchema).toEqual(schema);
    expect(await c.call('tools/call', { name: 'd7', arguments: { n: 3 } })).toEqual({ content: [{ type: 'text', text: 'n=3' }] });
    const bad = await c.call('tools/call', { name: 'd7', arguments: { n: 'x' } });
    expect(bad.isError).toBe(true);
    expect(bad.content[0].text).toMatch(/n: must be integer/);
  });

  it('lets a handler destructure its context ({ progress, log, signal, meta })', async () => {
    const server = createMcpServer({ name: 's', version: '1' });
    server.tool('d', { description: 'destructures' }, (_a, { progress, log, signal, meta, requestId }) => {
      progress(1, 2);
      log('error', 'careful');
      return `${signal.aborted} ${String(meta?.progressToken)} ${String(requestId)}`;
    });
    const c = client(server);
    await c.init();
    const r = await c.request('tools/call', { name: 'd', _meta: { progressToken: 't' } }, 'req-1');
    expect(r.result).toEqual({ content: [{ type: 'text', text: 'false t req-1' }] });
    expect(c.sent.filter((s) => s.msg.method === 'notifications/progress').map((s) => s.msg.params)).toEqual([{ progressToken: 't', progress: 1, total: 2 }]);
    expect(c.sent.filter((s) => s.msg.method === 'notifications/message').map((s) => s.msg.params)).toEqual([{ level: 'error', data: 'careful' }]);
  });
});
