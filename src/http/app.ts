// The server a user builds: App holds the routes, hooks and options, listens on a
// transport (native addon or node:net, from src/net/) and makes a Connection for each
// client; close() shuts down gracefully. createServer() is the public way to make one.

import dns from 'node:dns/promises';
import net from 'node:net';
import { ConduitError, ErrorCodes } from '../errors.js';
import { listenNative } from '../net/native-wire.js';
import { listenNet } from '../net/net-wire.js';
import { nativeTransport } from '../net/native.js';
import type { Listener, WireOptions } from '../net/wire.js';
import { WasmCore } from '../wasm/loader.js';
import type { Handler, HookName, Hooks, ListenOptions, RouteOptions, ServerOptions } from './api.js';
import { CONNECTION_CALLBACKS, Connection, type ConnectionHost } from './connection.js';
import type { HttpParserOptions } from './parser.js';
import { Router } from './router.js';

/** A model an app declares (app.model()): conduit serve runs it (KServe routes, an MCP tool). */
export interface ModelDeclaration {
  name: string;
  path: string;
  /** version, and batching (maxBatchSize, ...) and session (device, ...) options. */
  options: Record<string, unknown>;
}

export class App implements ConnectionHost {
  readonly router = new Router<Handler>();
  /** The models declared with model(), for conduit serve. */
  readonly models: ModelDeclaration[] = [];
  /** What every connection's parser is made with (one object for all of them). */
  readonly parserOptions: HttpParserOptions;
  readonly keepAliveTimeout: number;
  readonly requestTimeout: number;
  readonly headersTimeout: number;
  readonly maxConnections: number;
  readonly maxBufferedOutput: number;
  readonly sendTimeout: number;
  readonly transport: 'native' | 'net';
  /** The WASM core whose slots the connections' parsers use (one per connection). */
  readonly core: WasmCore;
  /** Open connections: shutdown() ends one gracefully, destroy() at once. */
  readonly connections = new Set<{ shutdown(): void; destroy(): void }>();
  /** Called with every server-side error (handlers, hooks); what it throws is ignored. */
  onError: (err: unknown) => void = () => {};
  readonly hooks: Hooks = { onRequest: [], preHandler: [], onSend: [], onError: [] };
  /** Handlers of routes added with `{ stream: true }`. */
  readonly streamHandlers = new Set<Handler>();
  /** Set while listening. */
  private listener: Listener | null = null;

  constructor(options: ServerOptions = {}) {
    const { keepAliveTimeout = 5000, requestTimeout = 30_000, headersTimeout = 10_000, maxConnections = 1024,
      maxBufferedOutput = 8 * 1024 * 1024, sendTimeout = 30_000, transport, ...limits } = options;
    for (const [name, v] of [['keepAliveTimeout', keepAliveTimeout], ['requestTimeout', requestTimeout], ['headersTimeout', headersTimeout],
      ['maxConnections', maxConnections], ['maxBufferedOutput', maxBufferedOutput], ['sendTimeout', sendTimeout]] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new ConduitError(ErrorCodes.INVALID_OPTION, `${name} must be a positive integer, got ${v}`);
    }
    if (transport !== undefined && transport !== 'native' && transport !== 'net') {
      throw new ConduitError(ErrorCodes.INVALID_OPTION, `transport must be 'native' or 'net', got ${String(transport)}`);
    }
    this.keepAliveTimeout = keepAliveTimeout;
    this.requestTimeout = requestTimeout;
    this.headersTimeout = headersTimeout;
    this.maxConnections = maxConnections;
    this.maxBufferedOutput = maxBufferedOutput;
    this.sendTimeout = sendTimeout;
    const native = nativeTransport();
    if (transport === 'native' && native.module === null) {
      throw new ConduitError(ErrorCodes.TRANSPORT_UNAVAILABLE, `transport 'native' is not available: ${native.reason}`);
    }
    this.transport = transport ?? (native.module !== null ? 'native' : 'net');
    this.core = new WasmCore({ slotSize: 32 * 1024, slotCount: maxConnections });
    this.parserOptions = { ...limits, core: this.core, ...CONNECTION_CALLBACKS };
  }

  /** app.onError, which must not take the connection (or the process) down when it throws. */
  reportError(e: unknown): void {
    try {
      this.onError(e);
    } catch {
      // (nothing better to do with an error reporter that fails)
    }
  }

  forget(conn: Connection): void {
    this.connections.delete(conn);
  }

  /**
   * Adds a route. With `{ stream: true }` the handler runs as soon as the head has arrived
   * and reads the body with `req.stream()` (for large uploads); otherwise the body is
   * buffered (up to maxBodySize) before the handler runs.
   */
  route(method: string | string[], pattern: string, handler: Handler, options: RouteOptions = {}): this {
    if (typeof handler !== 'function') throw new ConduitError(ErrorCodes.INVALID_ROUTE, `the handler of ${pattern} must be a function`);
    let h = handler;
    if (options.stream === true) {
      h = (req, res) => handler(req, res); // (its own identity marks the route)
      this.streamHandlers.add(h);
    }
    this.router.add(method, pattern, h);
    return this;
  }

  /**
   * Declares an ONNX model for `conduit serve` to serve from this app's config module
   * (as --model NAME=PATH does): the KServe v2 routes under /v2/models/NAME and, with an
   * MCP server, the tool infer_NAME. `options`: version, batching (maxBatchSize,
   * maxQueueDelayMs, preferredBatchSizes, maxQueue) and session options (device,
   * intraOpThreads, graphOptimization); checked when the server starts.
   */
  model(name: string, path: string, options: Record<string, unknown> = {}): this {
    if (typeof name !== 'string' || typeof path !== 'string' || options === null || typeof options !== 'object') {
      throw new ConduitError(ErrorCodes.INVALID_OPTION, 'app.model(name, path, options?): name and path must be strings, options an object');
    }
    this.models.push({ name, path, options: { ...options } });
    return this;
  }

  /** Adds a lifecycle hook (see Hooks). */
  addHook<K extends HookName>(name: K, hook: Hooks[K][number]): this {
    if (!Object.hasOwn(this.hooks, name)) {
      throw new ConduitError(ErrorCodes.INVALID_OPTION, `unknown hook '${String(name)}' (onRequest, preHandler, onSend, onError)`);
    }
    if (typeof hook !== 'function') throw new ConduitError(ErrorCodes.INVALID_OPTION, `the ${name} hook must be a function`);
    (this.hooks[name] as Array<Hooks[K][number]>).push(hook);
    return this;
  }
  get(p: string, h: Handler, o?: RouteOptions): this { return this.route('GET', p, h, o); }
  post(p: string, h: Handler, o?: RouteOptions): this { return this.route('POST', p, h, o); }
  put(p: string, h: Handler, o?: RouteOptions): this { return this.route('PUT', p, h, o); }
  patch(p: string, h: Handler, o?: RouteOptions): this { return this.route('PATCH', p, h, o); }
  delete(p: string, h: Handler, o?: RouteOptions): this { return this.route('DELETE', p, h, o); }
  head(p: string, h: Handler, o?: RouteOptions): this { return this.route('HEAD', p, h, o); }
  options(p: string, h: Handler, o?: RouteOptions): this { return this.route('OPTIONS', p, h, o); }
  all(p: string, h: Handler, o?: RouteOptions): this { return this.route('*', p, h, o); }

  /** Listens (default 127.0.0.1, port 0 = any free one); resolves with the bound address. */
  async listen(options: ListenOptions = {}): Promise<{ host: string; port: number }> {
    const reusePort = options.reusePort ?? false;
    if (reusePort !== false && this.transport !== 'native') {
      throw new ConduitError(ErrorCodes.TRANSPORT_UNAVAILABLE, 'sharing a port between workers (reusePort) needs the native transport');
    }
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ConduitError(ErrorCodes.INVALID_OPTION, `port must be an integer between 0 and 65535, got ${port}`);
    }
    if (this.listener !== null) throw new ConduitError(ErrorCodes.INVALID_OPTION, 'the server is already listening');
    // (one sweep per listener closes idle, stalled and lingering connections: often enough
    // for the shortest of those times)
    const sweepMs = Math.max(100, Math.min(1000, Math.min(this.keepAliveTimeout, this.sendTimeout) / 4));
    const o: WireOptions & { sweepMs: number } = {
      sweepMs,
      lingerMs: this.keepAliveTimeout,
      sendTimeoutMs: this.sendTimeout,
      maxConnections: this.maxConnections,
      accept: (wire) => {
        if (this.core.pool.available === 0) return null;
        const conn = new Connection(wire, this);
        this.connections.add(conn);
        return conn;
      },
    };
    let l: Listener;
    if (this.transport === 'net') {
      l = await listenNet(host, port, o);
    } else {
      // The addon takes addresses: a name (localhost) is looked up first, as node:net does.
      const address = net.isIP(host) !== 0 ? host : (await dns.lookup(host)).address;
      l = listenNative(nativeTransport().module!, this.core.u8, address, port, reusePort, o);
    }
    this.listener = l;
    return { host: l.host, port: l.port };
  }

  /**
   * Graceful shutdown: stops accepting; idle connections close at once; requests in
   * flight are answered; SSE streams end; whatever is still open at the deadline
   * (default 5 s) is closed. Resolves when all connections are closed.
   */
  async close(options: { deadline?: number } = {}): Promise<void> {
    const l = this.listener;
    if (l === null) return;
    this.listener = null;
    l.stopAccepting();
    for (const c of [...this.connections]) c.shutdown();
    const until = Date.now() + (options.deadline ?? 5000);
    while (this.connections.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    for (const c of [...this.connections]) c.destroy();
    l.release();
  }
}

export function createServer(options?: ServerOptions): App {
  return new App(options);
}
