// End to end with the official MCP SDK (v1) client against Conduit's MCP server on all
// three transports: Streamable HTTP (/mcp) and the legacy HTTP+SSE transport (/sse) of one
// in-process App, and stdio (`conduit serve --stdio` with a TypeScript config, spawned
// from the built package). Then Streamable HTTP resumption (the server closing the stream,
// SEP-1699; the client's connection dropping) and one McpServer on several transports at once.
import { existsSync } from 'node:fs';
import http from 'node:http';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema,
  type JSONRPCMessage, type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { createServer, type App } from '../../src/http/app.js';
import { createMcpServer, type McpServer } from '../../src/mcp/server.js';
import { serveMcp, type McpEndpoints, type ServeMcpOptions } from '../../src/mcp/serve.js';
import { serveStdio, type StdioServer } from '../../src/mcp/transports/stdio.js';
import { addE2eTools, type E2eState } from './fixtures/e2e-tools.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const CONFIG = 'test/mcp/fixtures/e2e-app.ts';
const PROTOCOL = '2025-11-25';

/** Polls `cond` every 5 ms until it holds; throws naming `what` after `ms`. */
async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const textOf = (r: unknown): string => ((r as { content: Array<{ type: string; text: string }> }).content[0]?.text ?? '');

// ── the server under test (the two HTTP transports) ──────────────────────────────────

interface HttpServer {
  app: App;
  mcp: McpServer;
  state: E2eState;
  endpoints: McpEndpoints;
  base: string;
  port: number;
  errors: unknown[];
}

async function startHttp(options: ServeMcpOptions = {}, name = 'conduit-e2e'): Promise<HttpServer> {
  const mcp = createMcpServer({ name, version: '1.0.0', instructions: 'e2e suite' });
  const errors: unknown[] = [];
  mcp.onError = (e) => errors.push(e);
  const state = addE2eTools(mcp);
  const app = createServer();
  const endpoints = serveMcp(app, mcp, options);
  const { port } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, mcp, state, endpoints, base: `http://127.0.0.1:${port}`, port, errors };
}

async function stopHttp(s: HttpServer | undefined): Promise<void> {
  if (s === undefined) return;
  s.endpoints.close();
  await s.app.close({ deadline: 1000 });
}

// ── SDK clients ──────────────────────────────────────────────────────────────────────

/** What a client's handlers saw. */
class Recorder {
  logs: Array<{ level: string; logger?: string; data: unknown }> = [];
  updated: string[] = [];
  toolsChanged = 0;
  samplingRequests: Array<Record<string, unknown>> = [];
  elicitRequests: Array<Record<string, unknown>> = [];
  rootsRequests = 0;
  /** What the elicitation handler answers. */
  elicitAnswer: Record<string, unknown> = { action: 'accept', content: { name: 'Ada', age: 36 } };
  /** The text the sampling handler answers (before the prompt). */
  sampleTag = 'model says';
  /** Sampling requests whose handler saw its signal aborted (the server cancelled them). */
  samplingCancelled: string[] = [];
  errors: Error[] = [];

  reset(): void {
    this.logs = [];
    this.updated = [];
    this.samplingRequests = [];
    this.elicitRequests = [];
    this.rootsRequests = 0;
    this.samplingCancelled = [];
    this.elicitAnswer = { action: 'accept', content: { name: 'Ada', age: 36 } };
  }
}

function makeClient(rec: Recorder, name = 'e2e-client'): Client {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } });
  client.setRequestHandler(CreateMessageRequestSchema, async (req, extra) => {
    rec.samplingRequests.push(req.params as unknown as Record<string, unknown>);
    const first = req.params.messages[0].content as { type: string; text?: string };
    if (first.text === 'never answer') {
      // Waits for the server to cancel this request (notifications/cancelled).
      await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve(), { once: true }));
      rec.samplingCancelled.push(String(extra.signal.reason));
      throw new Error('cancelled');
    }
    return { model: 'test-model', role: 'assistant', content: { type: 'text', text: `${rec.sampleTag}: ${first.text}` } };
  });
  client.setRequestHandler(ElicitRequestSchema, (req) => {
    rec.elicitRequests.push(req.params as unknown as Record<string, unknown>);
    return rec.elicitAnswer as { action: 'accept' };
  });
  client.setRequestHandler(ListRootsRequestSchema, () => {
    rec.rootsRequests++;
    return { roots: [{ uri: 'file:///work/project', name: 'project' }, { uri: 'file:///tmp', name: 'tmp' }] };
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    rec.logs.push(n.params as Recorder['logs'][number]);
  });
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    rec.updated.push(n.params.uri);
  });
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    rec.toolsChanged++;
  });
  client.onerror = (e) => rec.errors.push(e);
  return client;
}

type Kind = 'streamable-http' | 'legacy-sse' | 'stdio';

/** A connected client, and how to make its server do things. */
interface Conn {
  client: Client;
  rec: Recorder;
  /** Makes the server send notifications/resources/updated for `uri`. */
  touch(uri: string): Promise<void>;
  /** Registers a tool on the server after the client connected. */
  addTool(name: string): Promise<void>;
  /** What the e2e tools recorded on the server. */
  state(): Promise<E2eState>;
  /** The server's stderr (stdio). */
  stderr(): string;
  close(): Promise<void>;
}

const FAST_RECONNECT = { initialReconnectionDelay: 20, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1.5, maxRetries: 5 };

/** A Streamable HTTP client that records its GETs; resolves once its standalone stream is open. */
async function connectStreamable(
  base: string, rec: Recorder, name?: string, wrap: (init: RequestInit | undefined, res: Response) => Response = (_i, r) => r,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport; gets: string[]; statuses: number[] }> {
  const gets: string[] = [];
  const statuses: number[] = [];
  let standalone = 0;
  const spy = async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const isGet = (init?.method ?? 'GET') === 'GET';
    const last = isGet ? new Headers(init?.headers).get('last-event-id') ?? '' : '';
    if (isGet) gets.push(last);
    const res = wrap(init, await fetch(url, init));
    if (isGet) statuses.push(res.status);
    if (isGet && res.ok && last === '') standalone++;
    return res;
  };
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { fetch: spy, reconnectionOptions: FAST_RECONNECT });
  const client = makeClient(rec, name);
  await client.connect(transport);
  // (the client opens the GET stream after notifications/initialized; server-initiated
  // notifications go nowhere before it is open)
  await until(() => standalone > 0, 'the standalone GET stream');
  return { client, transport, gets, statuses };
}

async function connect(kind: Kind, srv: HttpServer | undefined): Promise<Conn> {
  const rec = new Recorder();
  const stateTool = async (client: Client) => (await client.callTool({ name: 'state', arguments: {} })).structuredContent as unknown as E2eState;
  if (kind === 'stdio') {
    const transport = new StdioClientTransport({
      command: process.execPath, args: [BIN, 'serve', '--stdio', '--config', CONFIG], cwd: ROOT, stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr!.on('data', (d) => (stderr += String(d)));
    const client = makeClient(rec);
    try {
      await client.connect(transport);
    } catch (e) {
      throw new Error(`conduit serve --stdio did not start (${(e as Error).message}); its stderr: ${stderr}`);
    }
    return {
      client, rec,
      async touch(uri) {
        expect(textOf(await client.callTool({ name: 'touch', arguments: { uri } }))).toBe('touched');
      },
      async addTool(name) {
        expect(textOf(await client.callTool({ name: 'add_tool', arguments: { name } }))).toBe('added');
      },
      state: () => stateTool(client),
      stderr: () => stderr,
      close: () => client.close(),
    };
  }
  const s = srv!;
  let client: Client;
  let close: () => Promise<void>;
  if (kind === 'streamable-http') {
    const c = await connectStreamable(s.base, rec);
    client = c.client;
    close = async () => {
      await c.transport.terminateSession();
      await client.close();
    };
  } else {
    client = makeClient(rec);
    await client.connect(new SSEClientTransport(new URL(`${s.base}/sse`)));
    close = () => client.close();
  }
  return {
    client, rec,
    async touch(uri) {
      s.mcp.notifyResourceUpdated(uri);
    },
    async addTool(name) {
      s.mcp.tool(name, { description: 'Added at run time.' }, () => `I am ${name}`);
    },
    state: () => stateTool(client),
    stderr: () => '',
    close,
  };
}

// ── every feature, on every transport ────────────────────────────────────────────────

let shared: HttpServer | undefined;
beforeAll(async () => {
  shared = await startHttp({ retryMs: 20 });
});
afterAll(async () => {
  await stopHttp(shared);
});

describe.each(['streamable-http', 'legacy-sse', 'stdio'] as Kind[])('the SDK client over %s', (kind) => {
  let c: Conn;
  let lateTools = 0;
  beforeAll(async () => {
    if (kind === 'stdio' && !existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build:ts`);
    c = await connect(kind, shared);
  }, 30_000);
  afterAll(async () => {
    await c?.close();
  });
  beforeEach(() => c.rec.reset());

  it('initializes: server info, capabilities, instructions', () => {
    expect(c.client.getServerVersion()).toEqual({ name: 'conduit-e2e', version: '1.0.0' });
    expect(c.client.getInstructions()).toBe('e2e suite');
    const caps = c.client.getServerCapabilities()!;
    expect(caps.tools).toEqual({ listChanged: true });
    expect(caps.resources).toEqual({ subscribe: true, listChanged: true });
    expect(caps.prompts).toEqual({ listChanged: true });
    expect(caps.logging).toEqual({});
    expect(caps.completions).toEqual({});
  });

  it('lists tools and calls one', async () => {
    const { tools } = await c.client.listTools();
    const names = tools.map((t) => t.name);
    for (const n of ['echo', 'progress', 'slow', 'state', 'sample', 'elicit', 'log', 'roots', 'touch', 'add_tool', 'reconnect']) expect(names).toContain(n);
    expect(tools.find((t) => t.name === 'echo')!.inputSchema).toMatchObject({ type: 'object', required: ['text'] });
    expect(textOf(await c.client.callTool({ name: 'echo', arguments: { text: 'hello' } }))).toBe('echo: hello');
    // Bad arguments: a tool error (isError), not a protocol error.
    const bad = await c.client.callTool({ name: 'echo', arguments: { text: 42 } });
    expect(bad.isError).toBe(true);
    // An unknown tool: a JSON-RPC error.
    await expect(c.client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/Unknown tool: no_such_tool/);
  });

  it('delivers progress notifications to onprogress', async () => {
    const seen: Progress[] = [];
    const r = await c.client.callTool({ name: 'progress', arguments: { steps: 5, delayMs: 10 } }, undefined, { onprogress: (p) => seen.push(p) });
    expect(textOf(r)).toBe('done 5');
    // (the tool pauses after the last one, but the SDK handles notifications a microtask
    // late: the last one may still lose the race with the response)
    expect(seen.length).toBeGreaterThanOrEqual(4);
    seen.forEach((p, i) => expect(p).toEqual({ progress: i + 1, total: 5, message: `step ${i + 1}` }));
  });

  it('cancels a running tool call: the handler\'s signal is aborted', async () => {
    const before = await c.state();
    const ac = new AbortController();
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const call = c.client.callTool({ name: 'slow', arguments: {} }, undefined, { signal: ac.signal, onprogress: () => started() });
    await running;
    ac.abort('the user gave up');
    await expect(call).rejects.toThrow(/the user gave up/);
    // The server got notifications/cancelled and aborted ctx.signal with its reason.
    let after!: E2eState;
    await until(async () => (after = await c.state()).slowAborted === before.slowAborted + 1, 'the slow tool to see its signal aborted');
    expect(after.slowStarted).toBe(before.slowStarted + 1);
    expect(after.abortReason).toBe('the user gave up');
    // The session goes on.
    expect(textOf(await c.client.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe('echo: still here');
  });

  it('round-trips sampling/createMessage (ctx.sample)', async () => {
    const r = await c.client.callTool({ name: 'sample', arguments: { prompt: 'what is 2+2?' } });
    expect(textOf(r)).toBe('sampled(test-model): model says: what is 2+2?');
    expect(c.rec.samplingRequests).toHaveLength(1);
    expect(c.rec.samplingRequests[0]).toMatchObject({ maxTokens: 64, messages: [{ role: 'user', content: { type: 'text', text: 'what is 2+2?' } }] });
  });

  it('round-trips elicitation/create (ctx.elicit): accept and decline', async () => {
    expect(textOf(await c.client.callTool({ name: 'elicit', arguments: {} }))).toBe('hello Ada (36)');
    expect(c.rec.elicitRequests[0]).toMatchObject({ message: 'Who are you?', requestedSchema: { type: 'object', required: ['name'] } });
    c.rec.elicitAnswer = { action: 'decline' };
    expect(textOf(await c.client.callTool({ name: 'elicit', arguments: {} }))).toBe('elicitation decline');
    expect(c.rec.elicitRequests).toHaveLength(2);
  });

  it('sends notifications/message at the level logging/setLevel set', async () => {
    // Default: everything.
    expect(textOf(await c.client.callTool({ name: 'log', arguments: {} }))).toBe('logged');
    await until(() => c.rec.logs.length >= 2, 'two log messages');
    expect(c.rec.logs).toEqual([
      { level: 'info', logger: 'e2e', data: 'an info line' },
      { level: 'error', logger: 'e2e', data: { problem: 'an error line' } },
    ]);
    c.rec.reset();
    await c.client.setLoggingLevel('warning');
    expect(textOf(await c.client.callTool({ name: 'log', arguments: {} }))).toBe('logged');
    await until(() => c.rec.logs.length >= 1, 'the error log message');
    // (the info line would have come first, on the same stream)
    expect(c.rec.logs).toEqual([{ level: 'error', logger: 'e2e', data: { problem: 'an error line' } }]);
  });

  it('round-trips roots/list (ctx.listRoots)', async () => {
    expect(textOf(await c.client.callTool({ name: 'roots', arguments: {} }))).toBe('project=file:///work/project, tmp=file:///tmp');
    expect(c.rec.rootsRequests).toBe(1);
  });

  it('lists, reads and subscribes to resources; updates reach subscribers only', async () => {
    const { resources } = await c.client.listResources();
    expect(resources).toEqual([
      { uri: 'e2e://readme', name: 'readme', title: 'Read me', mimeType: 'text/plain' },
      { uri: 'e2e://items/1', name: 'item 1' },
    ]);
    const { resourceTemplates } = await c.client.listResourceTemplates();
    expect(resourceTemplates).toEqual([{ uriTemplate: 'e2e://items/{id}', name: 'item', mimeType: 'application/json' }]);
    expect(await c.client.readResource({ uri: 'e2e://readme' })).toEqual({ contents: [{ uri: 'e2e://readme', mimeType: 'text/plain', text: 'the e2e readme' }] });
    expect(await c.client.readResource({ uri: 'e2e://items/42' })).toEqual({ contents: [{ uri: 'e2e://items/42', mimeType: 'application/json', text: '{"id":"42"}' }] });
    await expect(c.client.readResource({ uri: 'e2e://nothing' })).rejects.toMatchObject({ code: -32002 });

    await c.client.subscribeResource({ uri: 'e2e://readme' });
    await c.touch('e2e://items/1'); // (not subscribed: not sent)
    await c.touch('e2e://readme');
    await until(() => c.rec.updated.length >= 1, 'notifications/resources/updated');
    expect(c.rec.updated).toEqual(['e2e://readme']);

    await c.client.unsubscribeResource({ uri: 'e2e://readme' });
    await c.client.subscribeResource({ uri: 'e2e://items/1' });
    await c.touch('e2e://readme'); // (no longer subscribed)
    await c.touch('e2e://items/1');
    await until(() => c.rec.updated.length >= 2, 'the second update');
    expect(c.rec.updated).toEqual(['e2e://readme', 'e2e://items/1']);
    await c.client.unsubscribeResource({ uri: 'e2e://items/1' });
  });

  it('lists and gets prompts', async () => {
    const { prompts } = await c.client.listPrompts();
    expect(prompts).toEqual([{ name: 'greet', description: 'Greets someone.', arguments: [{ name: 'name', required: true }, { name: 'style' }] }]);
    const got = await c.client.getPrompt({ name: 'greet', arguments: { name: 'Ada', style: 'formal' } });
    expect(got.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Greet Ada in a formal way.' } }]);
    await expect(c.client.getPrompt({ name: 'greet', arguments: {} })).rejects.toThrow(/'name' is required/);
  });

  it('completes prompt arguments and template variables', async () => {
    const p = await c.client.complete({ ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'name', value: 'A' } });
    expect(p.completion).toEqual({ values: ['Ada', 'Alan'], total: 2, hasMore: false });
    const t = await c.client.complete({ ref: { type: 'ref/resource', uri: 'e2e://items/{id}' }, argument: { name: 'id', value: '1' } });
    expect(t.completion).toEqual({ values: ['1', '12'], total: 2, hasMore: false });
  });

  it('gets notifications/tools/list_changed for a tool added after it connected', async () => {
    const name = `late_${kind.replace(/-/g, '_')}_${++lateTools}`;
    const before = c.rec.toolsChanged;
    await c.addTool(name);
    await until(() => c.rec.toolsChanged > before, 'notifications/tools/list_changed');
    const { tools } = await c.client.listTools();
    expect(tools.map((t) => t.name)).toContain(name);
    expect(textOf(await c.client.callTool({ name, arguments: {} }))).toBe(`I am ${name}`);
  });

  it('runs concurrent tool calls, each with its own progress', async () => {
    const seen = new Map<number, number[]>();
    const calls = [2, 3, 4, 5, 6].map((steps) => {
      seen.set(steps, []);
      return c.client.callTool({ name: 'progress', arguments: { steps, delayMs: 5 } }, undefined, {
        onprogress: (p) => {
          expect(p.total).toBe(steps);
          seen.get(steps)!.push(p.progress);
        },
      });
    });
    expect((await Promise.all(calls)).map(textOf)).toEqual(['done 2', 'done 3', 'done 4', 'done 5', 'done 6']);
    for (const [steps, got] of seen) {
      expect(got.length).toBeGreaterThanOrEqual(steps - 1);
      expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
    }
  });

  it('cancelling a tool call cancels the sampling request it waits on', async () => {
    const ac = new AbortController();
    const call = c.client.callTool({ name: 'sample', arguments: { prompt: 'never answer' } }, undefined, { signal: ac.signal });
    await until(() => c.rec.samplingRequests.length === 1, 'the sampling request');
    ac.abort('stop it');
    await expect(call).rejects.toThrow(/stop it/);
    // The server sends notifications/cancelled for its own request to the client.
    await until(() => c.rec.samplingCancelled.length === 1, "the client's sampling handler to be cancelled");
    expect(await c.client.ping()).toEqual({});
  });

  it('answers ping; the server reported no errors', async () => {
    expect(await c.client.ping()).toEqual({});
    if (kind === 'stdio') expect(c.stderr()).toBe('conduit serve: MCP server conduit-e2e 1.0.0 on stdio\n');
    else expect(shared!.errors).toEqual([]);
    // (on Streamable HTTP, a cancelled call makes the client reconnect to a finished stream
    // and then fail to open a second standalone stream: see the BUG below)
    const errors = c.rec.errors.filter((e) => !(kind === 'streamable-http' && /Conflict|Maximum reconnection attempts/.test(String(e))));
    expect(errors).toEqual([]);
  });
});

// ── Streamable HTTP: resuming a stream ───────────────────────────────────────────────

/** One SSE event as a raw client sees it. */
interface RawEvent {
  id?: string;
  data: string;
  retry?: number;
}

/** Reads SSE events off a raw response as they arrive. */
function sseEvents(res: http.IncomingMessage) {
  const queue: RawEvent[] = [];
  let buf = '';
  let ended = false;
  let wake: (() => void) | null = null;
  res.setEncoding('utf8');
  res.on('data', (d: string) => {
    buf = (buf + d).replace(/\r\n/g, '\n');
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev: RawEvent = { data: '' };
      let fields = 0;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        fields++;
        if (field === 'id') ev.id = value;
        else if (field === 'data') data.push(value);
        else if (field === 'retry') ev.retry = Number(value);
      }
      if (fields === 0) continue; // (a heartbeat comment)
      ev.data = data.join('\n');
      queue.push(ev);
    }
    wake?.();
  });
  const done = () => {
    ended = true;
    wake?.();
  };
  res.on('end', done);
  res.on('close', done);
  return {
    /** The next event; null when the stream ended. */
    async next(ms = 5000): Promise<RawEvent | null> {
      const end = Date.now() + ms;
      while (queue.length === 0) {
        if (ended) return null;
        if (Date.now() > end) throw new Error(`no SSE event within ${ms} ms`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
        wake = null;
      }
      return queue.shift()!;
    },
  };
}

/** A raw request on a connection of its own; resolves with the response head. */
function rawRequest(port: number, method: string, headers: Record<string, string>, body?: unknown): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({
      host: '127.0.0.1', port, path: '/mcp', method, agent: false,
      headers: {
        accept: 'application/json, text/event-stream',
        ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }),
        ...headers,
      },
    }, (res) => resolve({ req, res }));
    req.on('error', reject);
    req.end(payload);
  });
}

const readAll = (res: http.IncomingMessage) => new Promise<string>((resolve) => {
  let s = '';
  res.setEncoding('utf8');
  res.on('data', (d) => (s += d));
  res.on('end', () => resolve(s));
});

/** A raw Streamable HTTP session, initialized: its id and the headers later requests carry. */
async function rawSession(port: number): Promise<{ id: string; headers: Record<string, string> }> {
  const { res } = await rawRequest(port, 'POST', {}, {
    jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  expect(res.statusCode).toBe(200);
  const init = JSON.parse(await readAll(res));
  expect(init.result.protocolVersion).toBe(PROTOCOL);
  const id = res.headers['mcp-session-id'] as string;
  expect(id).toBeTruthy();
  const headers = { 'mcp-session-id': id, 'mcp-protocol-version': PROTOCOL };
  const n = await rawRequest(port, 'POST', headers, { jsonrpc: '2.0', method: 'notifications/initialized' });
  expect(n.res.statusCode).toBe(202);
  await readAll(n.res);
  return { id, headers };
}

describe('Streamable HTTP resumption', () => {
  it('the server closes the stream (ctx.closeStream, retry:): the SDK client resumes with Last-Event-ID and gets the rest', async () => {
    const rec = new Recorder();
    const { client, transport, gets } = await connectStreamable(shared!.base, rec);
    try {
      const seen: Progress[] = [];
      const r = await client.callTool({ name: 'reconnect', arguments: { before: 2, after: 3, pauseMs: 100 } }, undefined, { onprogress: (p) => seen.push(p) });
      expect(textOf(r)).toBe('resumed after 5');
      // The client came back with the id of the event that closed the stream.
      const resumes = gets.filter((g) => g !== '');
      expect(resumes.length).toBeGreaterThanOrEqual(1);
      expect(resumes[0]).toMatch(/^\d+_\d+$/);
      // Progress from before and after the reconnect, in order, none twice.
      expect(seen.length).toBeGreaterThanOrEqual(4);
      seen.forEach((p, i) => expect(p).toMatchObject({ progress: i + 1, total: 5, message: i < 2 ? 'before' : 'after' }));
      expect(rec.errors).toEqual([]);
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  it('the tool finishes before the client is back: the resumed stream replays the result', async () => {
    const rec = new Recorder();
    const { client, transport, gets } = await connectStreamable(shared!.base, rec);
    try {
      const seen: Progress[] = [];
      // (pauseMs 0, nothing after: the result is kept while the client waits retry: 20 ms)
      const r = await client.callTool({ name: 'reconnect', arguments: { before: 2, after: 0, pauseMs: 0 } }, undefined, { onprogress: (p) => seen.push(p) });
      expect(textOf(r)).toBe('resumed after 2');
      expect(gets.filter((g) => g !== '').length).toBeGreaterThanOrEqual(1);
      expect(seen.map((p) => p.progress)).toEqual([1, 2]);
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  it('ctx.closeStream() before anything was sent (the answer still JSON-pending): the client resumes and gets the result', async () => {
    const rec = new Recorder();
    const { client, transport, gets } = await connectStreamable(shared!.base, rec);
    try {
      const seen: Progress[] = [];
      const r = await client.callTool({ name: 'reconnect', arguments: { before: 0, after: 2, pauseMs: 30 } }, undefined, { onprogress: (p) => seen.push(p) });
      expect(textOf(r)).toBe('resumed after 2');
      expect(gets.filter((g) => g !== '')).toHaveLength(1);
      expect(seen.length).toBeGreaterThanOrEqual(1);
      seen.forEach((p, i) => expect(p).toMatchObject({ progress: i + 1, message: 'after' }));
      expect(rec.errors).toEqual([]);
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  it('the standalone GET stream breaks: the SDK client reopens it with Last-Event-ID and notifications flow again', async () => {
    const rec = new Recorder();
    let armed = false;
    let cut = 0;
    // The standalone stream fails after the chunk with the first resources/updated.
    const wrap = (init: RequestInit | undefined, res: Response): Response => {
      if ((init?.method ?? 'GET') !== 'GET' || new Headers(init?.headers).has('last-event-id') || res.body === null) return res;
      const reader = res.body.getReader();
      let broken = false;
      return new Response(new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (broken) {
            cut++;
            await reader.cancel();
            controller.error(new TypeError('terminated: connection reset'));
            return;
          }
          const { value, done } = await reader.read();
          if (done) return controller.close();
          if (armed && new TextDecoder().decode(value).includes('notifications/resources/updated')) broken = true;
          controller.enqueue(value);
        },
      }), { status: res.status, headers: res.headers });
    };
    const { client, transport, gets, statuses } = await connectStreamable(shared!.base, rec, 'standalone-breaker', wrap);
    try {
      await client.subscribeResource({ uri: 'e2e://readme' });
      armed = true;
      shared!.mcp.notifyResourceUpdated('e2e://readme');
      await until(() => rec.updated.length === 1 && cut === 1, 'the update, then the break');
      // The client reconnects (20 ms) with the id of the last event it got.
      await until(() => statuses.length >= 2 && statuses[statuses.length - 1] === 200, 'the standalone stream to be reopened');
      expect(gets[0]).toBe('');
      expect(gets[gets.length - 1]).toMatch(/^0_\d+$/);
      shared!.mcp.notifyResourceUpdated('e2e://readme');
      await until(() => rec.updated.length === 2, 'the update on the reopened stream');
      expect(rec.updated).toEqual(['e2e://readme', 'e2e://readme']);
      await client.unsubscribeResource({ uri: 'e2e://readme' });
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  it('the SDK client\'s POST stream breaks (a network error): it resumes with Last-Event-ID and gets the rest', async () => {
    const rec = new Recorder();
    let cut = 0;
    // The body of the tools/call POST fails after the chunk with the first progress
    // notification, and its connection is dropped (the server sees the client go away).
    const wrap = (init: RequestInit | undefined, res: Response): Response => {
      if (init?.method !== 'POST' || !String(init.body).includes('"tools/call"') || res.body === null) return res;
      const reader = res.body.getReader();
      let broken = false;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (broken) {
            cut++;
            await reader.cancel();
            controller.error(new TypeError('terminated: connection reset'));
            return;
          }
          const { value, done } = await reader.read();
          if (done) return controller.close();
          if (new TextDecoder().decode(value).includes('notifications/progress')) broken = true;
          controller.enqueue(value);
        },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const { client, transport, gets } = await connectStreamable(shared!.base, rec, 'breaking-client', wrap);
    try {
      const seen: Progress[] = [];
      const r = await client.callTool({ name: 'progress', arguments: { steps: 6, delayMs: 30 } }, undefined, { onprogress: (p) => seen.push(p) });
      expect(textOf(r)).toBe('done 6');
      expect(cut).toBe(1);
      expect(gets.filter((g) => g !== '')).toHaveLength(1);
      expect(seen.length).toBeGreaterThanOrEqual(5);
      expect(seen.map((p) => p.progress)).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
      expect(rec.errors.map(String)).toEqual([expect.stringMatching(/SSE stream disconnected/)]);
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  // A cancelled request ends its primed POST stream without a response (the spec: no
  // response to a cancelled request). A SEP-1699 client reads that as "reconnect" and GETs
  // with Last-Event-ID once; the stream is over and it has all of it, so the answer is 204
  // (SSE: stop reconnecting), and the session stays quiet: no loop, no 409, no onerror.
  it('cancelling a call leaves the SDK client quiet: no reconnect to the finished stream, no 409', async () => {
    const rec = new Recorder();
    const { client, transport, gets, statuses } = await connectStreamable(shared!.base, rec);
    try {
      const ac = new AbortController();
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      const call = client.callTool({ name: 'slow', arguments: {} }, undefined, { signal: ac.signal, onprogress: () => started() });
      await running;
      ac.abort('cancelled by the test');
      await expect(call).rejects.toThrow(/cancelled by the test/);
      // (the reconnects come 20 ms apart: a few hundred ms shows them)
      await new Promise((r) => setTimeout(r, 400));
      expect(rec.errors.map(String)).toEqual([]);
      expect(statuses.filter((x) => x !== 200 && x !== 202)).toEqual([204]);
      expect(gets.length).toBe(2);
      expect(gets[0]).toBe('');
      expect(gets[1]).toMatch(/^\d+_\d+$/);
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  it('on the wire: the stream is primed (id, retry:), ctx.closeStream() ends it, and a GET with the last Last-Event-ID gets the rest', async () => {
    const port = shared!.port;
    const { headers } = await rawSession(port);
    const { res } = await rawRequest(port, 'POST', headers, {
      jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'reconnect', arguments: { before: 1, after: 1, pauseMs: 30 }, _meta: { progressToken: 'p' } },
    });
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = sseEvents(res);
    const before: RawEvent[] = [];
    for (let ev = await events.next(); ev !== null; ev = await events.next()) before.push(ev);
    // The priming event (an id, no data) first; the retry: the client waits before it
    // reconnects came before the server ended the stream; every event has an id.
    expect(before[0]).toMatchObject({ id: expect.stringMatching(/^\d+_\d+$/), data: '' });
    expect(before.some((e) => e.retry === 20)).toBe(true);
    for (const e of before) expect(e.id).toMatch(/^\d+_\d+$/);
    const messages = before.filter((e) => e.data !== '').map((e) => JSON.parse(e.data));
    expect(messages).toEqual([{ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p', progress: 1, total: 2, message: 'before' } }]);

    const resumed = await rawRequest(port, 'GET', { ...headers, accept: 'text/event-stream', 'last-event-id': before[before.length - 1].id! });
    expect(resumed.res.statusCode).toBe(200);
    const rest = sseEvents(resumed.res);
    const got: unknown[] = [];
    for (let ev = await rest.next(); ev !== null; ev = await rest.next()) if (ev.data !== '') got.push(JSON.parse(ev.data));
    expect(got).toEqual([
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p', progress: 2, total: 2, message: 'after' } },
      { jsonrpc: '2.0', id: 5, result: { content: [{ type: 'text', text: 'resumed after 2' }] } },
    ]);
  });

  it('the client\'s connection drops mid-stream: GET with Last-Event-ID and Mcp-Session-Id gets the rest and the result', async () => {
    const port = shared!.port;
    const { headers } = await rawSession(port);
    const { req, res } = await rawRequest(port, 'POST', headers, {
      jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'progress', arguments: { steps: 6, delayMs: 40 }, _meta: { progressToken: 'tok' } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const first = sseEvents(res);
    // The priming event (SEP-1699): an id and no data.
    const priming = (await first.next())!;
    expect(priming.id).toMatch(/^\d+_\d+$/);
    expect(priming.data).toBe('');
    const e1 = (await first.next())!;
    expect(JSON.parse(e1.data)).toMatchObject({ method: 'notifications/progress', params: { progressToken: 'tok', progress: 1, total: 6 } });
    let lastId = e1.id!;
    expect(lastId).toMatch(/^\d+_\d+$/);
    // The connection dies (no FIN handshake from the client: the socket is destroyed).
    req.destroy();
    res.destroy();
    await new Promise((r) => setTimeout(r, 60)); // (the tool goes on meanwhile)

    const resumed = await rawRequest(port, 'GET', { ...headers, accept: 'text/event-stream', 'last-event-id': lastId });
    expect(resumed.res.statusCode).toBe(200);
    const rest = sseEvents(resumed.res);
    const progress = [1];
    let result: { id: number; result?: unknown } | null = null;
    for (;;) {
      const ev = await rest.next();
      if (ev === null) break;
      expect(ev.id).toBeDefined();
      expect(ev.id).not.toBe(lastId);
      lastId = ev.id!;
      if (ev.data === '') continue;
      const m = JSON.parse(ev.data);
      if (m.method === 'notifications/progress') progress.push(m.params.progress);
      else {
        result = m;
        break;
      }
    }
    expect(progress).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result).toEqual({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'done 6' }] } });
    // The stream ends after the result.
    expect(await rest.next()).toBeNull();
    resumed.req.destroy();
  });

  /** Starts tools/call `slow` on a connection of its own, no progressToken (the answer stays JSON); resolves once it runs. */
  async function slowJsonCall(): Promise<{ req: http.ClientRequest; before: E2eState }> {
    const port = shared!.port;
    const { headers } = await rawSession(port);
    const before = { ...shared!.state };
    const payload = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'slow', arguments: {} } });
    const req = http.request({
      host: '127.0.0.1', port, path: '/mcp', method: 'POST', agent: false,
      headers: { ...headers, accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) },
    });
    req.on('error', () => {}); // (destroyed by the test)
    req.end(payload);
    await until(() => shared!.state.slowStarted === before.slowStarted + 1, 'the slow tool to start');
    return { req, before };
  }

  it('the connection is reset before anything was sent (a JSON answer pending): the request is aborted at once', async () => {
    const { req, before } = await slowJsonCall();
    req.socket!.resetAndDestroy(); // (RST)
    await until(() => shared!.state.slowAborted === before.slowAborted + 1, 'the slow tool to be aborted', 2000);
    expect(shared!.state.abortReason).toBe('the client closed the connection');
  });

  // A client that closes its connection normally (FIN: req.destroy(), an aborted fetch, the
  // SDK client's close()) while a JSON answer is pending: the tool's signal aborts at once.
  it('the connection is closed (FIN) before anything was sent (a JSON answer pending): the request is aborted at once', async () => {
    const { req, before } = await slowJsonCall();
    req.destroy(); // (FIN)
    await until(() => shared!.state.slowAborted === before.slowAborted + 1, 'the slow tool to be aborted', 2000);
    expect(shared!.state.abortReason).toBe('the client closed the connection');
  });

  it('a dropped stream nobody resumes: the request is aborted after resumeWindowMs', async () => {
    const srv = await startHttp({ resumeWindowMs: 150, retryMs: 20 });
    try {
      const { headers } = await rawSession(srv.port);
      const { req, res } = await rawRequest(srv.port, 'POST', headers, {
        jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'slow', arguments: {}, _meta: { progressToken: 1 } },
      });
      const events = sseEvents(res);
      expect((await events.next())!.data).toBe(''); // (priming)
      expect(JSON.parse((await events.next())!.data)).toMatchObject({ method: 'notifications/progress', params: { progress: 0 } });
      expect(srv.state.slowStarted).toBe(1);
      req.destroy();
      res.destroy();
      await new Promise((r) => setTimeout(r, 50));
      expect(srv.state.slowAborted).toBe(0); // (still within the window)
      await until(() => srv.state.slowAborted === 1, 'the slow tool to be aborted', 3000);
      expect(srv.state.abortReason).toBe('the client did not resume the stream');
    } finally {
      await stopHttp(srv);
    }
  });
});

// ── one McpServer, several transports at once ────────────────────────────────────────

/** An SDK client transport over a pair of streams (serveStdio's, in this process). */
class StreamPairTransport implements Transport {
  onmessage?: (m: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (e: Error) => void;
  private readonly buffer = new ReadBuffer();
  constructor(private readonly input: Readable, private readonly output: Writable) {}
  async start(): Promise<void> {
    this.input.on('data', (chunk: Buffer) => {
      this.buffer.append(chunk);
      try {
        for (let m = this.buffer.readMessage(); m !== null; m = this.buffer.readMessage()) this.onmessage?.(m);
      } catch (e) {
        this.onerror?.(e as Error);
      }
    });
  }
  async send(m: JSONRPCMessage): Promise<void> {
    this.output.write(serializeMessage(m));
  }
  async close(): Promise<void> {
    this.output.end();
    this.onclose?.();
  }
}

describe('one McpServer on several transports at once', () => {
  it('Streamable HTTP, legacy SSE and stdio share one registry, and each session gets its own answers', async () => {
    const srv = await startHttp({}, 'conduit-shared');
    const toServer = new PassThrough();
    const fromServer = new PassThrough();
    let stdio: StdioServer | undefined;
    const closers: Array<() => Promise<void>> = [];
    try {
      stdio = serveStdio(srv.mcp, { input: toServer, output: fromServer });
      const recs = { http: new Recorder(), sse: new Recorder(), stdio: new Recorder() };
      const h = await connectStreamable(srv.base, recs.http, 'http-client');
      closers.push(async () => {
        await h.transport.terminateSession();
        await h.client.close();
      });
      const sse = makeClient(recs.sse, 'sse-client');
      await sse.connect(new SSEClientTransport(new URL(`${srv.base}/sse`)));
      closers.push(() => sse.close());
      const local = makeClient(recs.stdio, 'stdio-client');
      await local.connect(new StreamPairTransport(fromServer, toServer));
      closers.push(() => local.close());
      const clients = { http: h.client, sse, stdio: local };
      expect(srv.mcp.sessionCount).toBe(3);

      // One registry: the same tools everywhere.
      const lists = await Promise.all(Object.values(clients).map(async (cl) => (await cl.listTools()).tools.map((t) => t.name).sort()));
      expect(lists[1]).toEqual(lists[0]);
      expect(lists[2]).toEqual(lists[0]);

      // A tool registered now: every session hears of it and can call it.
      srv.mcp.tool('shared_late', {}, (_a, ctx) => `hi session ${ctx.sessionId === undefined ? 'stdio' : 'http'}`);
      for (const [k, r] of Object.entries(recs)) await until(() => r.toolsChanged === 1, `list_changed on ${k}`);
      expect(textOf(await clients.http.callTool({ name: 'shared_late', arguments: {} }))).toBe('hi session http');
      expect(textOf(await clients.sse.callTool({ name: 'shared_late', arguments: {} }))).toBe('hi session http');
      expect(textOf(await clients.stdio.callTool({ name: 'shared_late', arguments: {} }))).toBe('hi session stdio');

      // Requests to the client go to the session that asked, even all at once.
      recs.http.sampleTag = 'http';
      recs.sse.sampleTag = 'sse';
      recs.stdio.sampleTag = 'stdio';
      const answers = await Promise.all(Object.entries(clients).map(async ([k, cl]) => textOf(await cl.callTool({ name: 'sample', arguments: { prompt: `from ${k}` } }))));
      expect(answers).toEqual(['sampled(test-model): http: from http', 'sampled(test-model): sse: from sse', 'sampled(test-model): stdio: from stdio']);

      // Resource updates reach the subscribers, whatever their transport.
      await clients.sse.subscribeResource({ uri: 'e2e://readme' });
      await clients.stdio.subscribeResource({ uri: 'e2e://readme' });
      srv.mcp.notifyResourceUpdated('e2e://readme');
      await until(() => recs.sse.updated.length === 1 && recs.stdio.updated.length === 1, 'updates on sse and stdio');
      await clients.http.subscribeResource({ uri: 'e2e://items/1' });
      srv.mcp.notifyResourceUpdated('e2e://items/1');
      await until(() => recs.http.updated.length === 1, 'the update on http');
      expect(recs.http.updated).toEqual(['e2e://items/1']);
      expect(recs.sse.updated).toEqual(['e2e://readme']);
      expect(recs.stdio.updated).toEqual(['e2e://readme']);

      // Sessions end with their transports.
      for (const close of closers.splice(0)) await close();
      await until(() => srv.mcp.sessionCount === 0, 'every session to close');
    } finally {
      for (const close of closers) await close().catch(() => {});
      stdio?.close();
      await stopHttp(srv);
    }
  });
});
