// The MCP server: one registry of tools, resources and prompts, built once and serving
// every session on every transport. It answers the protocol's methods for a
// ProtocolSession (protocol.ts); transports (transports/) carry the messages.

import { randomUUID } from 'node:crypto';
import { ConduitError, ErrorCodes } from '../errors.js';
import {
  LOG_LEVELS, McpError, McpErrorCode, ProtocolSession, shared,
  type Dispatcher, type OutgoingMessage, type IncomingRequest, type LogLevel, type RequestId,
} from './protocol.js';
import { compileSchema, type CompiledSchema, type JsonSchema } from './schema.js';
import { MemoryNotificationBus, type NotificationBus } from './stores/notifications.js';
import { UriTemplate } from './uri-template.js';
import { MemoryTaskStore, type TaskRecord, type TaskStore } from './stores/tasks.js';
import { answersOf, INPUT_METHODS, InputRounds, META, StateSeal, STATELESS_VERSION, StatelessErrorCode, type SealOptions } from './mrtr.js';

/** Protocol revisions this server speaks, newest first. */
export const SUPPORTED_PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;
export const LATEST_PROTOCOL_VERSION = SUPPORTED_PROTOCOL_VERSIONS[0];

export interface McpServerOptions {
  name: string;
  version: string;
  title?: string;
  description?: string;
  websiteUrl?: string;
  icons?: unknown[];
  /** Sent in the initialize result: how to use this server. */
  instructions?: string;
  /**
   * Extra capabilities to declare (merged over what the registry serves: tools, resources,
   * prompts, logging, completions are declared when something serves them).
   */
  capabilities?: Record<string, unknown>;
  /** Items per page of tools/list, prompts/list, resources/list (default 100). */
  pageSize?: number;
  /** Time (ms) a request to the client (sampling, elicitation, roots) may take. Default 60000. */
  clientRequestTimeout?: number;
  /** Where cross-session notifications go (default: in memory, this process). */
  notifications?: NotificationBus;
  /** 2026-07-28: how requestStates are sealed (key, lifetime). Default: a random key, 10 minutes. */
  requestState?: SealOptions;
  /**
   * 2026-07-28 caching hints (ttlMs, cacheScope) per method: server/discover, tools/list,
   * prompts/list, resources/list, resources/templates/list, resources/read (a resource's
   * own `ttlMs` / `cacheScope` win). Default 0 / 'private'.
   */
  caching?: Partial<Record<CachedMethod, CacheHint>>;
  /** Where tasks live (default: in memory, 10,000 tasks / 64 MiB of results). */
  taskStore?: TaskStore;
  /** How long a task is kept after its last update (ms; default 5 minutes), and the poll interval suggested. */
  taskTtlMs?: number;
  taskPollIntervalMs?: number;
}

/** The tasks extension's id (capabilities.extensions, clientCapabilities.extensions). */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

export interface CacheHint {
  ttlMs?: number;
  cacheScope?: 'public' | 'private';
}
export type CachedMethod = 'server/discover' | 'tools/list' | 'prompts/list' | 'resources/list' | 'resources/templates/list' | 'resources/read';
const CACHED = new Set<string>(['server/discover', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read']);

/** Asks the client for input (elicitation, sampling, roots): `key` names it in a 2026 input_required round. */
export interface AskOptions {
  /** The inputRequests key on 2026-07-28 (default: the kind and its place among the handler's asks). */
  key?: string;
}

type Awaitable<T> = T | Promise<T>;

/** What a handler gets besides its arguments. */
export interface RequestContext {
  /** Aborted when the client cancels the request or goes away. */
  readonly signal: AbortSignal;
  readonly requestId: RequestId;
  readonly sessionId: string | undefined;
  /** What the transport's authenticate hook returned for this request. */
  readonly authInfo: unknown;
  /** The request's params._meta. */
  readonly meta: Record<string, unknown> | undefined;
  /** Sends notifications/progress; a no-op when the request carried no progressToken. */
  progress(progress: number, total?: number, message?: string): void;
  /** Sends notifications/message at `level` when the session's logging/setLevel lets it through. */
  log(level: LogLevel, data: unknown, logger?: string): void;
  /**
   * sampling/createMessage to the client. On a 2025 session a request to the client; on a
   * 2026-07-28 request an input_required round (the handler runs again with the answer).
   */
  sample(params: Record<string, unknown>, options?: AskOptions): Promise<Record<string, unknown>>;
  /** elicitation/create to the client (form mode, or `mode: 'url'`); 2026: an input_required round. */
  elicit(params: Record<string, unknown>, options?: AskOptions): Promise<Record<string, unknown>>;
  /** roots/list to the client; 2026: an input_required round. */
  listRoots(options?: AskOptions): Promise<Record<string, unknown>>;
  /** The client's capabilities (initialize's, or the 2026 request's envelope). */
  readonly clientCapabilities: Record<string, unknown>;
  /** The protocol revision of the session or request ('2026-07-28' for stateless requests). */
  readonly protocolVersion: string;
  /** Sends any notification related to this request. */
  notify(method: string, params?: Record<string, unknown>): void;
  /**
   * Closes the SSE stream this request's answer is on, when it has one (Streamable HTTP,
   * 2025-11-25): the client reconnects with Last-Event-ID and gets the rest (SEP-1699).
   */
  closeStream(): void;
}

export interface ToolDefinition {
  title?: string;
  description?: string;
  /** A JSON Schema (kept verbatim), a zod v4 schema, or a zod raw shape. Default: any object. */
  inputSchema?: unknown;
  outputSchema?: unknown;
  annotations?: Record<string, unknown>;
  icons?: unknown[];
  _meta?: Record<string, unknown>;
  /**
   * The tasks extension (2026-07-28): 'optional' — a call from a client that declared the
   * extension runs as a task (polled with tasks/get) unless it finishes in its first
   * event-loop turn; 'required' — only as a task (others get -32021), after any input it
   * asks for in its first turn was gathered by input_required rounds. Default 'forbidden'.
   */
  execution?: { taskSupport?: 'forbidden' | 'optional' | 'required' };
}
export type ToolResult = Record<string, unknown>;
export type ToolHandler = (args: Record<string, unknown>, ctx: RequestContext) => Awaitable<unknown>;

export interface ResourceMeta {
  name: string;
  /** 2026-07-28 caching hints of resources/read of this resource (not listed). */
  ttlMs?: number;
  cacheScope?: 'public' | 'private';
  title?: string;
  description?: string;
  mimeType?: string;
  size?: number;
  annotations?: Record<string, unknown>;
  icons?: unknown[];
  _meta?: Record<string, unknown>;
}
/** A read returns { contents: [...] }, a string (text) or bytes (blob). */
export type ResourceReader = (uri: string, ctx: RequestContext) => Awaitable<unknown>;
export type TemplateReader = (uri: string, variables: Record<string, string>, ctx: RequestContext) => Awaitable<unknown>;
export type Completer = (value: string, context: { arguments: Record<string, string> }) => Awaitable<string[]>;

export interface TemplateOptions {
  /** Completions for the template's variables. */
  complete?: Record<string, Completer>;
  /** Resources the template stands for, added to resources/list. */
  list?: () => Awaitable<Array<ResourceMeta & { uri: string }>>;
}

export interface PromptArgument {
  name: string;
  title?: string;
  description?: string;
  required?: boolean;
}
export interface PromptDefinition {
  title?: string;
  description?: string;
  arguments?: PromptArgument[];
  /** Instead of `arguments`: a zod schema or raw shape, or a JSON Schema of string properties. */
  argsSchema?: unknown;
  /** Completions for arguments. */
  complete?: Record<string, Completer>;
  icons?: unknown[];
  _meta?: Record<string, unknown>;
}
export type PromptGetter = (args: Record<string, string>, ctx: RequestContext) => Awaitable<unknown>;

interface Tool {
  name: string;
  taskSupport: 'forbidden' | 'optional' | 'required';
  listing: Record<string, unknown>;
  input: CompiledSchema | null;
  output: CompiledSchema | null;
  handler: ToolHandler;
}
interface Resource {
  uri: string;
  listing: Record<string, unknown>;
  read: ResourceReader;
  cache: CacheHint | undefined;
}
interface Template {
  template: UriTemplate;
  listing: Record<string, unknown>;
  read: TemplateReader;
  options: TemplateOptions;
}
interface Prompt {
  name: string;
  listing: Record<string, unknown>;
  args: CompiledSchema | null;
  required: string[];
  get: PromptGetter;
  complete: Record<string, Completer>;
}

const invalidOption = (m: string) => new ConduitError(ErrorCodes.INVALID_OPTION, m);
/** Resource subscriptions one session may hold. */
const MAX_SUBSCRIPTIONS = 1024;
const NAME = /^[A-Za-z0-9_.\-/]{1,128}$/;
const bad = (m: string) => new McpError(McpErrorCode.InvalidParams, m);

function pick<T extends object>(o: T, keys: Array<keyof T>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k as string] = o[k];
  return out;
}

/** An MCP server: register tools, resources and prompts, then serve it on transports. */
export class McpServer implements Dispatcher {
  readonly info: { name: string; version: string; title?: string; description?: string; websiteUrl?: string; icons?: unknown[] };
  readonly instructions: string | undefined;
  readonly pageSize: number;
  readonly clientRequestTimeout: number;
  private readonly extraCapabilities: Record<string, unknown>;
  private readonly tools = new Map<string, Tool>();
  private readonly resources = new Map<string, Resource>();
  private readonly templates = new Map<string, Template>();
  private readonly prompts = new Map<string, Prompt>();
  /** Sessions open now (for list_changed and resource updates in this process). */
  private readonly live = new Set<ProtocolSession>();
  readonly bus: NotificationBus;
  /** Called with errors of handlers (and hooks) that have no other place to go. */
  onError: (err: unknown) => void = () => {};
  private cached: Record<string, unknown> | null = null;
  private started = false;
  /** 2026-07-28: requestState sealing, caching hints, each request's input rounds. */
  private readonly seal: StateSeal;
  private readonly caching: Partial<Record<CachedMethod, CacheHint>>;
  private serverMeta: Readonly<Record<string, unknown>> | null = null;
  /** The tasks extension: the store, and what runs in this process (asks waiting, cancellation). */
  readonly taskStore: TaskStore;
  private readonly taskTtlMs: number;
  private readonly taskPollMs: number;
  private readonly running = new Map<string, TaskGate>();
  /** Starts every task id this process makes (conduit serve --workers: the worker's, so tasks/* reach it). */
  taskIdPrefix = '';
  private created = 0;

  constructor(options: McpServerOptions) {
    if (options === null || typeof options !== 'object') throw invalidOption('createMcpServer needs { name, version }');
    if (typeof options.name !== 'string' || options.name === '') throw invalidOption('createMcpServer: name must be a non-empty string');
    if (typeof options.version !== 'string' || options.version === '') throw invalidOption('createMcpServer: version must be a non-empty string');
    const pageSize = options.pageSize ?? 100;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw invalidOption(`pageSize must be a positive integer, got ${pageSize}`);
    const timeout = options.clientRequestTimeout ?? 60_000;
    if (!Number.isSafeInteger(timeout) || timeout < 1) throw invalidOption(`clientRequestTimeout must be a positive integer, got ${timeout}`);
    this.info = pick(options, ['name', 'version', 'title', 'description', 'websiteUrl', 'icons']) as McpServer['info'];
    this.instructions = options.instructions;
    this.pageSize = pageSize;
    this.clientRequestTimeout = timeout;
    this.extraCapabilities = options.capabilities ?? {};
    this.bus = options.notifications ?? new MemoryNotificationBus();
    // (task status is for subscriptions/listen streams only, not the 2025 sessions)
    this.bus.subscribe((n) => {
      if (n.method !== 'notifications/tasks/status') this.deliver(n.method, n.params, n.uri);
    });
    this.seal = new StateSeal(options.requestState);
    this.taskStore = options.taskStore ?? new MemoryTaskStore();
    this.taskTtlMs = options.taskTtlMs ?? 300_000;
    this.taskPollMs = options.taskPollIntervalMs ?? 500;
    this.caching = options.caching ?? {};
    for (const [m, h] of Object.entries(this.caching)) checkHint(h, `caching['${m}']`);
  }

  // ── registration ──────────────────────────────────────────────────────────────────

  tool(name: string, definition: ToolDefinition, handler: ToolHandler): this {
    if (typeof name !== 'string' || !NAME.test(name)) throw invalidOption(`tool name must be 1-128 characters of A-Z a-z 0-9 _ - . /, got ${JSON.stringify(name)}`);
    if (typeof handler !== 'function') throw invalidOption(`tool '${name}': the handler must be a function`);
    if (this.tools.has(name)) throw invalidOption(`tool '${name}' is already registered`);
    const def = definition ?? {};
    const input = def.inputSchema === undefined ? null : compileSchema(def.inputSchema, `tool '${name}' inputSchema`);
    const output = def.outputSchema === undefined ? null : compileSchema(def.outputSchema, `tool '${name}' outputSchema`);
    const listing: Record<string, unknown> = { name, ...pick(def, ['title', 'description']) };
    listing.inputSchema = input?.json ?? { type: 'object' };
    if (output !== null) listing.outputSchema = output.json;
    Object.assign(listing, pick(def, ['annotations', 'icons', '_meta', 'execution']));
    const taskSupport = def.execution?.taskSupport ?? 'forbidden';
    if (!['forbidden', 'optional', 'required'].includes(taskSupport)) throw invalidOption(`tool '${name}': execution.taskSupport must be forbidden, optional or required`);
    this.tools.set(name, { name, taskSupport, listing, input, output, handler });
    this.changed('notifications/tools/list_changed');
    return this;
  }

  resource(uri: string, meta: ResourceMeta, read: ResourceReader): this {
    if (typeof uri !== 'string' || uri === '') throw invalidOption('resource uri must be a non-empty string');
    if (typeof meta?.name !== 'string') throw invalidOption(`resource '${uri}': meta.name must be a string`);
    if (typeof read !== 'function') throw invalidOption(`resource '${uri}': read must be a function`);
    if (this.resources.has(uri)) throw invalidOption(`resource '${uri}' is already registered`);
    const { ttlMs, cacheScope, ...listed } = meta;
    checkHint({ ttlMs, cacheScope }, `resource '${uri}'`);
    this.resources.set(uri, { uri, listing: { uri, ...listed }, read, cache: ttlMs === undefined && cacheScope === undefined ? undefined : { ttlMs, cacheScope } });
    this.changed('notifications/resources/list_changed');
    return this;
  }

  resourceTemplate(uriTemplate: string, meta: ResourceMeta, read: TemplateReader, options: TemplateOptions = {}): this {
    if (typeof meta?.name !== 'string') throw invalidOption(`resource template '${uriTemplate}': meta.name must be a string`);
    if (typeof read !== 'function') throw invalidOption(`resource template '${uriTemplate}': read must be a function`);
    if (this.templates.has(uriTemplate)) throw invalidOption(`resource template '${uriTemplate}' is already registered`);
    const template = new UriTemplate(uriTemplate);
    for (const k of Object.keys(options.complete ?? {})) {
      if (!template.variables.includes(k)) throw invalidOption(`resource template '${uriTemplate}': complete.${k} names no variable of the template`);
    }
    this.templates.set(uriTemplate, { template, listing: { uriTemplate, ...meta }, read, options });
    this.changed('notifications/resources/list_changed');
    return this;
  }

  prompt(name: string, definition: PromptDefinition, get: PromptGetter): this {
    if (typeof name !== 'string' || !NAME.test(name)) throw invalidOption(`prompt name must be 1-128 characters of A-Z a-z 0-9 _ - . /, got ${JSON.stringify(name)}`);
    if (typeof get !== 'function') throw invalidOption(`prompt '${name}': get must be a function`);
    if (this.prompts.has(name)) throw invalidOption(`prompt '${name}' is already registered`);
    const def = definition ?? {};
    let args = def.arguments;
    let schema: CompiledSchema | null = null;
    if (def.argsSchema !== undefined) {
      schema = compileSchema(def.argsSchema, `prompt '${name}' argsSchema`);
      const props = (schema.json.properties ?? {}) as Record<string, JsonSchema>;
      const req = new Set((schema.json.required ?? []) as string[]);
      args = Object.entries(props).map(([n, p]) => ({ name: n, ...(typeof p.description === 'string' ? { description: p.description } : {}), required: req.has(n) }));
    }
    const listing: Record<string, unknown> = { name, ...pick(def, ['title', 'description']) };
    if (args !== undefined) listing.arguments = args;
    Object.assign(listing, pick(def, ['icons', '_meta']));
    const complete = def.complete ?? {};
    for (const k of Object.keys(complete)) {
      if (!(args ?? []).some((a) => a.name === k)) throw invalidOption(`prompt '${name}': complete.${k} names no argument`);
    }
    this.prompts.set(name, { name, listing, args: schema, required: (args ?? []).filter((a) => a.required).map((a) => a.name), get, complete });
    this.changed('notifications/prompts/list_changed');
    return this;
  }

  removeTool(name: string): boolean {
    return this.tools.delete(name) && this.changed('notifications/tools/list_changed');
  }
  removeResource(uri: string): boolean {
    return this.resources.delete(uri) && this.changed('notifications/resources/list_changed');
  }
  removeResourceTemplate(uriTemplate: string): boolean {
    return this.templates.delete(uriTemplate) && this.changed('notifications/resources/list_changed');
  }
  removePrompt(name: string): boolean {
    return this.prompts.delete(name) && this.changed('notifications/prompts/list_changed');
  }

  /** Tells the sessions subscribed to `uri` that it changed (notifications/resources/updated). */
  notifyResourceUpdated(uri: string): void {
    this.bus.publish({ method: 'notifications/resources/updated', params: { uri }, uri });
  }

  /** Sends a notification to every open session (on this process; through the bus beyond it). */
  broadcast(method: string, params?: Record<string, unknown>): void {
    this.bus.publish({ method, params });
  }

  private changed(method: string): true {
    this.cached = null;
    if (this.started) this.bus.publish({ method });
    return true;
  }

  /** Broadcasts waiting for their turn (each goes to every session before the next). */
  private fanout: Array<{ message: OutgoingMessage; uri: string | undefined; targets: ProtocolSession[]; next: number }> = [];

  /**
   * A notification for every initialized session (subscribed to `uri`, for an update):
   * serialised once, and sent in slices of 512 sessions a turn, so that a broadcast to
   * 10,000 sessions does not hold the event loop for its whole length. Broadcasts keep
   * their order in every session.
   */
  private deliver(method: string, params: Record<string, unknown> | undefined, uri: string | undefined): void {
    const message = shared(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
    this.fanout.push({ message, uri, targets: [...this.live], next: 0 });
    if (this.fanout.length === 1) this.pump();
  }

  private pump(): void {
    const job = this.fanout[0];
    const end = Math.min(job.targets.length, job.next + 512);
    for (let i = job.next; i < end; i++) {
      const s = job.targets[i];
      if (!s.initialized || s.isClosed) continue;
      if (job.uri !== undefined && (s.subscriptions === null || !s.subscriptions.has(job.uri))) continue;
      s.sendShared(job.message);
    }
    job.next = end;
    if (end === job.targets.length) this.fanout.shift();
    if (this.fanout.length > 0) setImmediate(() => this.pump());
  }

  /** The capabilities declared: exactly what the registry serves, plus the extras given. */
  get capabilities(): Record<string, unknown> {
    if (this.cached !== null) return this.cached;
    const caps: Record<string, unknown> = { logging: {} };
    if (this.tools.size > 0) caps.tools = { listChanged: true };
    if (this.resources.size > 0 || this.templates.size > 0) caps.resources = { subscribe: true, listChanged: true };
    if (this.prompts.size > 0) caps.prompts = { listChanged: true };
    let completes = false;
    for (const p of this.prompts.values()) if (Object.keys(p.complete).length > 0) completes = true;
    for (const t of this.templates.values()) if (t.options.complete !== undefined) completes = true;
    if (completes) caps.completions = {};
    this.cached = { ...caps, ...this.extraCapabilities };
    return this.cached;
  }

  // ── sessions ──────────────────────────────────────────────────────────────────────

  /** Makes a session for a transport; it is live (gets broadcasts) until closed. */
  openSession(id: string | undefined, out: ProtocolSession['out']): ProtocolSession {
    this.started = true;
    const s = new ProtocolSession(id, out, this);
    this.live.add(s);
    s.onClose = () => this.live.delete(s);
    return s;
  }

  /**
   * A session for one 2026-07-28 request: not tracked among the live sessions (a stateless
   * request gets no broadcasts; subscriptions/listen streams do, through subscribe()).
   */
  statelessSession(out: ProtocolSession['out']): ProtocolSession {
    this.started = true;
    return new ProtocolSession(undefined, out, this);
  }

  get sessionCount(): number {
    return this.live.size;
  }

  reportError(err: unknown): void {
    try {
      this.onError(err);
    } catch {
      // (an error reporter that throws has nowhere to report to)
    }
  }

  // ── dispatch ──────────────────────────────────────────────────────────────────────

  notification(session: ProtocolSession, method: string, _params: Record<string, unknown>): void {
    if (method === 'notifications/initialized') session.initialized = true;
    // notifications/roots/list_changed and the rest need nothing from the server.
  }

  request(req: IncomingRequest): unknown {
    if (req.session.protocolVersion === STATELESS_VERSION) return this.stateless(req);
    return this.dispatch(req);
  }

  /** [argument, header name] of each inputSchema property of a tool with "x-mcp-header" (2026-07-28 Mcp-Param-*). */
  headerParams(tool: string): Array<[string, string]> {
    const props = ((this.tools.get(tool)?.listing.inputSchema as JsonSchema | undefined)?.properties ?? {}) as Record<string, JsonSchema>;
    const out: Array<[string, string]> = [];
    for (const [k, v] of Object.entries(props)) if (typeof v?.['x-mcp-header'] === 'string') out.push([k, v['x-mcp-header'] as string]);
    return out;
  }

  /** The capabilities of the stateless revision: what it serves (list_changed and updates through subscriptions/listen). */
  get statelessCapabilities(): Record<string, unknown> {
    for (const t of this.tools.values()) {
      if (t.taskSupport !== 'forbidden') {
        const ext = (this.capabilities.extensions ?? {}) as Record<string, unknown>;
        return { ...this.capabilities, extensions: { ...ext, [TASKS_EXTENSION]: {} } };
      }
    }
    return this.capabilities;
  }

  /** Live subscriptions/listen streams (2026-07-28), and their cap. */
  private listeners = 0;
  maxSubscriptions = 1000;

  /**
   * A subscriptions/listen stream (2026-07-28): `send` gets each notification the filter
   * asks for (tools / prompts / resources list_changed, updates of the listed resource
   * URIs), tagged with the subscription id. Returns the accepted filter and how to stop,
   * or null at the cap of live subscriptions.
   */
  subscribe(filter: Record<string, unknown>, id: RequestId, send: (method: string, params: Record<string, unknown>) => void,
    clientCapabilities: Record<string, unknown> = {}): { accepted: Record<string, unknown>; stop: () => void } | null {
    if (this.listeners >= this.maxSubscriptions) return null;
    this.started = true;
    const caps = this.capabilities as Record<string, Record<string, unknown> | undefined>;
    const accepted: Record<string, unknown> = {};
    if (filter.toolsListChanged === true && caps.tools !== undefined) accepted.toolsListChanged = true;
    if (filter.promptsListChanged === true && caps.prompts !== undefined) accepted.promptsListChanged = true;
    if (filter.resourcesListChanged === true && caps.resources !== undefined) accepted.resourcesListChanged = true;
    const uris = Array.isArray(filter.resourceSubscriptions) ? (filter.resourceSubscriptions as unknown[]).filter((u): u is string => typeof u === 'string' && this.hasResource(u)).slice(0, MAX_SUBSCRIPTIONS) : [];
    if (uris.length > 0) accepted.resourceSubscriptions = uris;
    const wanted = new Set(uris);
    // Task status changes go to the streams of clients that declared the tasks extension.
    const tasks = (clientCapabilities.extensions as Record<string, unknown> | undefined)?.[TASKS_EXTENSION] !== undefined;
    const tag = (params: Record<string, unknown> | undefined) => ({ ...params, _meta: { ...(params?._meta as Record<string, unknown> | undefined), [META.subscriptionId]: id } });
    const off = this.bus.subscribe((n) => {
      const ok = (n.method === 'notifications/tools/list_changed' && accepted.toolsListChanged === true)
        || (n.method === 'notifications/prompts/list_changed' && accepted.promptsListChanged === true)
        || (n.method === 'notifications/resources/list_changed' && accepted.resourcesListChanged === true)
        || (n.method === 'notifications/resources/updated' && n.uri !== undefined && wanted.has(n.uri))
        || (n.method === 'notifications/tasks/status' && tasks);
      if (ok) send(n.method, tag(n.params));
    });
    this.listeners++;
    let stopped = false;
    return {
      accepted,
      stop: () => {
        if (stopped) return;
        stopped = true;
        this.listeners--;
        off();
      },
    };
  }

  /** A 2026-07-28 request: discover, removed methods, input rounds, and every result decorated. */
  private stateless(req: IncomingRequest): unknown {
    const method = req.method;
    if (method === 'server/discover') return this.decorate(method, this.discover(), undefined);
    if (REMOVED.has(method)) throw new McpError(McpErrorCode.MethodNotFound, `Method not found: ${method} is not part of ${STATELESS_VERSION}`);
    if (method === 'tasks/get' || method === 'tasks/update' || method === 'tasks/cancel') return this.decorate(method, this.taskMethod(req), undefined);
    let out: unknown;
    if (INPUT_METHODS.has(method)) {
      const p = req.params;
      const target = String(method === 'resources/read' ? p.uri : p.name);
      const rounds = new InputRounds(method, target, answersOf(p, method, target, this.seal), this.seal);
      const extra: RequestExtra = { rounds, gate: null };
      req.extra = extra;
      const tool = method === 'tools/call' ? this.tools.get(target) : undefined;
      if (tool !== undefined && tool.taskSupport !== 'forbidden') {
        const ext = (req.session.clientCapabilities.extensions as Record<string, unknown> | undefined)?.[TASKS_EXTENSION];
        if (ext === undefined && tool.taskSupport === 'required') {
          throw new McpError(StatelessErrorCode.MissingCapability, `Missing capability: tool ${target} runs only as a task (the ${TASKS_EXTENSION} extension)`,
            { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } });
        }
        if (ext !== undefined) {
          const gate = new TaskGate(this, tool.taskSupport === 'required', rounds);
          extra.gate = gate;
          out = gate.run(this.dispatch(req));
        } else out = rounds.race(this.dispatch(req));
      } else out = rounds.race(this.dispatch(req));
    } else out = this.dispatch(req);
    const hint = method === 'resources/read' ? this.resources.get(req.params.uri as string)?.cache : undefined;
    if (out instanceof Promise) return out.then((v) => this.decorate(method, v, hint));
    return this.decorate(method, out, hint);
  }

  // ── tasks (the extension) ───────────────────────────────────────────────────────────

  /** A new task in the store (working), for a gate; throws 503-worthy when the store is full. */
  createTask(gate: TaskGate): TaskRecord {
    const now = new Date().toISOString();
    const task: TaskRecord = { taskId: this.taskIdPrefix + randomUUID(), status: 'working', createdAt: now, lastUpdatedAt: now, ttlMs: this.taskTtlMs, pollIntervalMs: this.taskPollMs };
    if (!this.taskStore.create(task)) throw new McpError(McpErrorCode.InternalError, 'too many tasks: try again later');
    // (a running task the store no longer keeps — expired after ttlMs — is cancelled: its
    // handler is not held forever)
    if (++this.created % 64 === 0) {
      for (const [id, g] of this.running) if (this.taskStore.get(id) === undefined) g.cancel(true);
    }
    this.running.set(task.taskId, gate);
    return task;
  }

  /** A task this process no longer runs. */
  forgetTask(taskId: string): void {
    this.running.delete(taskId);
  }

  /** Updates a task's data (status, input requests, result...). */
  updateTask(taskId: string, patch: Partial<TaskRecord>): void {
    const t = this.taskStore.get(taskId);
    if (t === undefined) return;
    const next: TaskRecord = { ...t, ...patch, lastUpdatedAt: new Date().toISOString() };
    for (const k of Object.keys(patch) as Array<keyof TaskRecord>) if (patch[k] === undefined) delete next[k];
    this.taskStore.put(next);
    const done = next.status === 'completed' || next.status === 'failed' || next.status === 'cancelled';
    if (done) this.running.delete(taskId);
    // (notifications/tasks/status on subscriptions/listen streams: the new status, the result or error when terminal)
    if (patch.status !== undefined && patch.status !== t.status || patch.inputRequests !== undefined) {
      const params: Record<string, unknown> = { taskId, status: next.status, lastUpdatedAt: next.lastUpdatedAt };
      if (next.result !== undefined) params.result = next.result;
      if (next.error !== undefined) params.error = next.error;
      if (next.status === 'input_required') params.inputRequests = next.inputRequests;
      this.bus.publish({ method: 'notifications/tasks/status', params });
    }
  }

  private taskMethod(req: IncomingRequest): Record<string, unknown> {
    const ext = (req.session.clientCapabilities.extensions as Record<string, unknown> | undefined)?.[TASKS_EXTENSION];
    if (ext === undefined) {
      throw new McpError(StatelessErrorCode.MissingCapability, `Missing capability: ${req.method} needs the ${TASKS_EXTENSION} extension`,
        { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } });
    }
    const id = req.params.taskId;
    if (typeof id !== 'string') throw bad('Invalid params: taskId must be a string');
    const task = this.taskStore.get(id);
    if (task === undefined) throw bad(`Invalid params: unknown task ${id}`);
    const gate = this.running.get(id);
    if (req.method === 'tasks/get') {
      const out: Record<string, unknown> = { ...task };
      if (task.status !== 'input_required') delete out.inputRequests;
      return out;
    }
    if (req.method === 'tasks/cancel') {
      gate?.cancel();
      return {};
    }
    // tasks/update: answers to the task's pending input requests (acked; the task's state
    // shows on the next tasks/get)
    const responses = req.params.inputResponses;
    if (responses === null || typeof responses !== 'object' || Array.isArray(responses)) throw bad('Invalid params: inputResponses must be an object');
    gate?.answer(responses as Record<string, unknown>);
    return {};
  }

  private discover(): Record<string, unknown> {
    const r: Record<string, unknown> = { supportedVersions: [STATELESS_VERSION, ...SUPPORTED_PROTOCOL_VERSIONS], capabilities: this.statelessCapabilities };
    if (this.instructions !== undefined) r.instructions = this.instructions;
    return r;
  }

  /** resultType, serverInfo in _meta, and the caching hints where the revision has them. */
  private decorate(method: string, v: unknown, hint: CacheHint | undefined): unknown {
    const r = (v ?? {}) as Record<string, unknown>;
    // (the usual result has no _meta of its own: one shared object then)
    const meta = r._meta === undefined ? (this.serverMeta ??= Object.freeze({ [META.serverInfo]: this.info })) : { ...(r._meta as Record<string, unknown>), [META.serverInfo]: this.info };
    if (r.resultType === 'input_required' || r.resultType === 'task') return { ...r, _meta: meta };
    const out: Record<string, unknown> = { ...r, resultType: 'complete', _meta: meta };
    if (CACHED.has(method)) {
      const h = { ...this.caching[method as CachedMethod], ...hint };
      out.ttlMs = h.ttlMs ?? 0;
      out.cacheScope = h.cacheScope ?? 'private';
    }
    return out;
  }

  private dispatch(req: IncomingRequest): unknown {
    const p = req.params;
    switch (req.method) {
      case 'initialize': return this.initialize(req.session, p);
      case 'ping': return {};
      case 'tools/list': return this.need('tools', this.tools.size) ?? this.page(this.tools, p, 'tools');
      case 'tools/call': return this.need('tools', this.tools.size) ?? this.callTool(req);
      case 'resources/list': return this.need('resources', this.resources.size + this.templates.size) ?? this.listResources(p);
      case 'resources/templates/list': return this.need('resources', this.resources.size + this.templates.size) ?? this.page(this.templates, p, 'resourceTemplates');
      case 'resources/read': return this.need('resources', this.resources.size + this.templates.size) ?? this.readResource(req);
      case 'resources/subscribe':
      case 'resources/unsubscribe': {
        const e = this.need('resources', this.resources.size + this.templates.size);
        if (e !== undefined) return e;
        if (typeof p.uri !== 'string') throw bad('Invalid params: uri must be a string');
        if (req.method === 'resources/unsubscribe') {
          req.session.subscriptions?.delete(p.uri);
          return {};
        }
        // Only what this server has, and a bounded number per session.
        if (!this.hasResource(p.uri)) throw new McpError(McpErrorCode.ResourceNotFound, `Resource not found: ${p.uri}`, { uri: p.uri });
        const subs = (req.session.subscriptions ??= new Set());
        if (!subs.has(p.uri) && subs.size >= MAX_SUBSCRIPTIONS) throw bad(`Invalid params: at most ${MAX_SUBSCRIPTIONS} subscriptions per session`);
        subs.add(p.uri);
        return {};
      }
      case 'prompts/list': return this.need('prompts', this.prompts.size) ?? this.page(this.prompts, p, 'prompts');
      case 'prompts/get': return this.need('prompts', this.prompts.size) ?? this.getPrompt(req);
      case 'completion/complete': return this.need('completions', this.capabilities.completions === undefined ? 0 : 1) ?? this.complete(p);
      case 'logging/setLevel': {
        const i = LOG_LEVELS.indexOf(p.level as LogLevel);
        if (i < 0) throw bad(`Invalid params: level must be one of ${LOG_LEVELS.join(', ')}`);
        req.session.logLevel = i;
        return {};
      }
      default:
        throw new McpError(McpErrorCode.MethodNotFound, `Method not found: ${req.method}`);
    }
  }

  /** Whether a URI names a resource of this server (registered, or matching a template). */
  private hasResource(uri: string): boolean {
    if (this.resources.has(uri)) return true;
    for (const t of this.templates.values()) if (t.template.match(uri) !== null) return true;
    return false;
  }

  /** A method of a capability this server does not serve is not found. */
  private need(capability: string, count: number): undefined {
    if (count === 0 && this.extraCapabilities[capability] === undefined) throw new McpError(McpErrorCode.MethodNotFound, `Method not found (this server has no ${capability})`);
    return undefined;
  }

  private initialize(session: ProtocolSession, p: Record<string, unknown>): Record<string, unknown> {
    const requested = p.protocolVersion;
    if (typeof requested !== 'string') throw bad('Invalid params: protocolVersion must be a string');
    const version = (SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
    session.protocolVersion = version;
    session.clientCapabilities = (p.capabilities ?? {}) as Record<string, unknown>;
    session.clientInfo = p.clientInfo as ProtocolSession['clientInfo'];
    const result: Record<string, unknown> = { protocolVersion: version, capabilities: this.capabilities, serverInfo: this.info };
    if (this.instructions !== undefined) result.instructions = this.instructions;
    return result;
  }

  private page<T extends { listing: Record<string, unknown> }>(items: Map<string, T>, p: Record<string, unknown>, key: string): Record<string, unknown> {
    const all = [...items.values()];
    const start = this.cursor(p.cursor, all.length);
    const end = Math.min(all.length, start + this.pageSize);
    const out: Record<string, unknown> = { [key]: all.slice(start, end).map((t) => t.listing) };
    if (end < all.length) out.nextCursor = Buffer.from(`o:${end}`).toString('base64url');
    return out;
  }

  private cursor(c: unknown, n: number): number {
    if (c === undefined) return 0;
    const m = typeof c === 'string' ? /^o:(\d{1,9})$/.exec(Buffer.from(c, 'base64url').toString('latin1')) : null;
    if (m === null || Number(m[1]) > n) throw bad('Invalid params: unknown cursor');
    return Number(m[1]);
  }

  private async listResources(p: Record<string, unknown>): Promise<Record<string, unknown>> {
    const listed: Array<Record<string, unknown>> = [...this.resources.values()].map((r) => r.listing);
    for (const t of this.templates.values()) if (t.options.list) listed.push(...((await t.options.list()) as unknown as Array<Record<string, unknown>>));
    const start = this.cursor(p.cursor, listed.length);
    const end = Math.min(listed.length, start + this.pageSize);
    const out: Record<string, unknown> = { resources: listed.slice(start, end) };
    if (end < listed.length) out.nextCursor = Buffer.from(`o:${end}`).toString('base64url');
    return out;
  }

  context(req: IncomingRequest): RequestContext {
    const extra = req.extra as RequestExtra | undefined;
    return new Context(req, this.clientRequestTimeout, extra?.rounds ?? null, extra?.gate ?? null);
  }

  /** tools/call: synchronous when the handler is (no promise, no microtask on the hot path). */
  private callTool(req: IncomingRequest): unknown {
    const name = req.params.name;
    if (typeof name !== 'string') throw bad('Invalid params: name must be a string');
    const tool = this.tools.get(name);
    if (tool === undefined) throw bad(`Unknown tool: ${name}`);
    let args = req.params.arguments ?? {};
    if (args === null || typeof args !== 'object' || Array.isArray(args)) return errorResult(`Invalid arguments for tool ${name}: arguments must be an object`);
    if (tool.input !== null) {
      const r = tool.input.check(args);
      if (!r.ok) return errorResult(`Invalid arguments for tool ${name}: ${r.message}`);
      args = r.value as Record<string, unknown>;
    }
    let value: unknown;
    try {
      value = tool.handler(args as Record<string, unknown>, this.context(req));
    } catch (e) {
      return toolFailed(req, e);
    }
    if (value instanceof Promise) return value.then((v) => checkedResult(tool, v), (e) => toolFailed(req, e));
    return checkedResult(tool, value);
  }

  private async readResource(req: IncomingRequest): Promise<unknown> {
    const uri = req.params.uri;
    if (typeof uri !== 'string') throw bad('Invalid params: uri must be a string');
    const ctx = this.context(req);
    const r = this.resources.get(uri);
    if (r !== undefined) return resourceResult(uri, r.listing.mimeType as string | undefined, await r.read(uri, ctx));
    for (const t of this.templates.values()) {
      const vars = t.template.match(uri);
      if (vars !== null) return resourceResult(uri, t.listing.mimeType as string | undefined, await t.read(uri, vars, ctx));
    }
    // (2026-07-28: an unknown URI is invalid params, SEP-2164; before, -32002)
    const code = req.session.protocolVersion === STATELESS_VERSION ? McpErrorCode.InvalidParams : McpErrorCode.ResourceNotFound;
    throw new McpError(code, `Resource not found: ${uri}`, { uri });
  }

  private async getPrompt(req: IncomingRequest): Promise<unknown> {
    const name = req.params.name;
    if (typeof name !== 'string') throw bad('Invalid params: name must be a string');
    const prompt = this.prompts.get(name);
    if (prompt === undefined) throw bad(`Unknown prompt: ${name}`);
    let args = (req.params.arguments ?? {}) as Record<string, string>;
    if (args === null || typeof args !== 'object' || Array.isArray(args)) throw bad('Invalid params: arguments must be an object');
    for (const r of prompt.required) if (args[r] === undefined) throw bad(`Invalid arguments for prompt ${name}: '${r}' is required`);
    if (prompt.args !== null) {
      const r = prompt.args.check(args);
      if (!r.ok) throw bad(`Invalid arguments for prompt ${name}: ${r.message}`);
      args = r.value as Record<string, string>;
    }
    const v = await prompt.get(args, this.context(req));
    if (typeof v === 'string') return { messages: [{ role: 'user', content: { type: 'text', text: v } }] };
    if (!isObject(v) || !Array.isArray(v.messages) || !v.messages.every(isObject)) {
      throw handlerBug(`prompt ${name} returned neither a string nor { messages: [...] }`);
    }
    return v;
  }

  private async complete(p: Record<string, unknown>): Promise<unknown> {
    const ref = p.ref as { type?: string; name?: string; uri?: string } | undefined;
    const arg = p.argument as { name?: string; value?: string } | undefined;
    if (typeof arg?.name !== 'string' || typeof arg.value !== 'string') throw bad('Invalid params: argument must have a name and a value');
    const context = { arguments: ((p.context as { arguments?: Record<string, string> } | undefined)?.arguments ?? {}) };
    let completer: Completer | undefined;
    if (ref?.type === 'ref/prompt') {
      const prompt = this.prompts.get(String(ref.name));
      if (prompt === undefined) throw bad(`Unknown prompt: ${String(ref.name)}`);
      completer = prompt.complete[arg.name];
    } else if (ref?.type === 'ref/resource') {
      const t = this.templates.get(String(ref.uri));
      if (t === undefined) throw bad(`Unknown resource template: ${String(ref.uri)}`);
      completer = t.options.complete?.[arg.name];
    } else throw bad("Invalid params: ref.type must be 'ref/prompt' or 'ref/resource'");
    const values = completer === undefined ? [] : await completer(arg.value, context);
    if (!Array.isArray(values) || !values.every((x) => typeof x === 'string')) {
      throw handlerBug(`the completer of ${arg.name} returned something other than an array of strings`);
    }
    return { completion: { values: values.slice(0, 100), total: values.length, hasMore: values.length > 100 } };
  }
}

/**
 * A handler's context. Nothing is made until asked for: the signal on first read, and
 * each function when it is read (so `const { progress, signal } = ctx` works too).
 */
class Context implements RequestContext {
  constructor(private readonly req: IncomingRequest, private readonly timeoutMs: number, private readonly rounds: InputRounds | null,
    private readonly gate: TaskGate | null) {}

  get clientCapabilities(): Record<string, unknown> {
    return this.req.session.clientCapabilities;
  }
  get protocolVersion(): string {
    return this.req.session.protocolVersion;
  }

  get signal(): AbortSignal {
    return this.gate?.signal ?? this.req.signal;
  }
  get requestId(): RequestId {
    return this.req.id;
  }
  get sessionId(): string | undefined {
    return this.req.session.id;
  }
  get authInfo(): unknown {
    return this.req.authInfo;
  }
  get meta(): Record<string, unknown> | undefined {
    return this.req.params._meta as Record<string, unknown> | undefined;
  }

  get progress(): RequestContext['progress'] {
    const req = this.req;
    return (progress, total, message) => {
      const token = (req.params._meta as Record<string, unknown> | undefined)?.progressToken;
      // (progress stops with the request: MUST, per the spec)
      if (token === undefined || req.done || req.aborted) return;
      const params: Record<string, unknown> = { progressToken: token, progress };
      if (total !== undefined) params.total = total;
      if (message !== undefined) params.message = message;
      req.session.notify('notifications/progress', params, req.id);
    };
  }

  get log(): RequestContext['log'] {
    const req = this.req;
    return (level, data, logger) => {
      const i = LOG_LEVELS.indexOf(level);
      if (i < 0) throw invalidOption(`log level must be one of ${LOG_LEVELS.join(', ')}`);
      if (i < req.session.logLevel || req.aborted) return;
      const params = logger === undefined ? { level, data } : { level, logger, data };
      // (after the answer, a log line is the session's, not the request's)
      if (req.done) req.session.notify('notifications/message', params);
      else req.session.notify('notifications/message', params, req.id);
    };
  }

  private ask(method: string, params: unknown, capability: string | null, options: AskOptions | undefined): Promise<Record<string, unknown>> {
    const session = this.req.session;
    const stateless = session.protocolVersion === STATELESS_VERSION;
    if (capability !== null && session.clientCapabilities[capability] === undefined) {
      // 2026: the request needed a capability its client did not declare (-32021, an HTTP
      // 400). 2025: a plain Error (in a tool, an isError result; the client's request was valid).
      if (stateless) {
        return Promise.reject(new McpError(StatelessErrorCode.MissingCapability, `Missing capability: this request needs the client's '${capability}' capability (${method})`, { requiredCapabilities: { [capability]: {} } }));
      }
      return Promise.reject(new Error(`the client does not support ${method} (no '${capability}' capability)`));
    }
    if (stateless && this.gate !== null && this.gate.takesAsk()) {
      const key = options?.key ?? this.rounds!.nextKey(capability ?? 'input');
      return this.gate.ask(key, method, (params ?? {}) as Record<string, unknown>);
    }
    if (stateless) {
      if (this.rounds === null) {
        return Promise.reject(new McpError(McpErrorCode.InvalidRequest, `${this.req.method} cannot ask the client for input on ${STATELESS_VERSION} (only tools/call, prompts/get and resources/read can)`));
      }
      const key = options?.key ?? this.rounds.nextKey(capability ?? 'input');
      return this.rounds.ask(key, method, (params ?? {}) as Record<string, unknown>);
    }
    return session.request(method, params, { related: this.req.id, signal: this.req.signal, timeoutMs: this.timeoutMs }) as Promise<Record<string, unknown>>;
  }

  get sample(): RequestContext['sample'] {
    return (params, options) => this.ask('sampling/createMessage', params, 'sampling', options);
  }

  get elicit(): RequestContext['elicit'] {
    return (params, options) => {
      if (params?.mode === 'url') {
        const el = this.req.session.clientCapabilities.elicitation as Record<string, unknown> | undefined;
        if (el?.url === undefined) return Promise.reject(new Error('the client does not support URL-mode elicitation'));
      }
      return this.ask('elicitation/create', params, 'elicitation', options);
    };
  }

  get listRoots(): RequestContext['listRoots'] {
    return (options) => this.ask('roots/list', {}, 'roots', options);
  }

  get notify(): RequestContext['notify'] {
    return (method, params) => this.req.session.notify(method, params, this.req.id);
  }

  get closeStream(): RequestContext['closeStream'] {
    return () => (this.req.session.out as { closeStream?(id: RequestId): void }).closeStream?.(this.req.id);
  }
}

/**
 * One task-eligible tools/call (the tasks extension): the handler runs; if it finishes in
 * its first turn its result is answered at once; if a 'required' tool asks for input in
 * its first turn, input_required rounds gather it first; otherwise a task is created and
 * answered (CreateTaskResult), and the handler goes on in it: its asks park the task in
 * input_required until tasks/update answers them, its end completes (or fails) it, and
 * tasks/cancel aborts its signal and cancels it.
 */
class TaskGate {
  private task: TaskRecord | null = null;
  private readonly ac = new AbortController();
  private readonly pending = new Map<string, { method: string; params: Record<string, unknown>; resolve(v: Record<string, unknown>): void }>();
  private settled = false;

  constructor(private readonly server: McpServer, private readonly mrtrFirst: boolean, private readonly rounds: InputRounds) {}

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** Whether an ask goes to the task (made now if needed), rather than to input_required rounds. */
  takesAsk(): boolean {
    return this.task !== null || !this.mrtrFirst;
  }

  run(out: unknown): unknown {
    const p = out instanceof Promise ? out : Promise.resolve(out);
    return new Promise((resolve, reject) => {
      let answered = false;
      const answer = (v: unknown) => {
        if (!answered) {
          answered = true;
          resolve(v);
        }
      };
      p.then((v) => {
        if (this.task === null) answer(v);
        else this.finish('completed', v as Record<string, unknown>, undefined);
      }, (e: unknown) => {
        if (this.task === null) {
          answered = true;
          reject(e);
        } else this.finish('failed', undefined, e);
      });
      // After the first turn: input rounds first (a required tool's asks), else a task.
      setImmediate(() => {
        if (answered) return;
        if (this.rounds.waiting) {
          answer(this.rounds.inputRequired());
          return;
        }
        try {
          const t = this.ensure();
          const { inputRequests, ...now } = this.server.taskStore.get(t.taskId) ?? t;
          void inputRequests;
          answer({ resultType: 'task', ...now });
        } catch (e) {
          answered = true;
          reject(e);
        }
      });
    });
  }

  private ensure(): TaskRecord {
    if (this.task === null) this.task = this.server.createTask(this);
    return this.task;
  }

  ask(key: string, method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const t = this.ensure();
    return new Promise((resolve) => {
      this.pending.set(key, { method, params, resolve });
      this.server.updateTask(t.taskId, { status: 'input_required', inputRequests: this.requests() });
    });
  }

  private requests(): Record<string, { method: string; params: Record<string, unknown> }> {
    const out: Record<string, { method: string; params: Record<string, unknown> }> = {};
    for (const [k, v] of this.pending) out[k] = { method: v.method, params: v.params };
    return out;
  }

  /** tasks/update: the answered asks resume; the task stays input_required while any is pending. */
  answer(responses: Record<string, unknown>): void {
    if (this.task === null || this.settled) return;
    for (const [k, v] of Object.entries(responses)) {
      const p = this.pending.get(k);
      if (p === undefined || v === null || typeof v !== 'object') continue;
      this.pending.delete(k);
      p.resolve(v as Record<string, unknown>);
    }
    this.server.updateTask(this.task.taskId, this.pending.size > 0
      ? { status: 'input_required', inputRequests: this.requests() }
      : { status: 'working', inputRequests: undefined });
  }

  /** tasks/cancel (or `expired`: the store dropped the task): the handler's signal aborts. */
  cancel(expired = false): void {
    if (this.task === null || this.settled) return;
    this.settled = true;
    this.ac.abort(new McpError(McpErrorCode.RequestTimeout, expired ? 'the task expired' : 'the task was cancelled'));
    if (expired) this.server.forgetTask(this.task.taskId);
    else this.server.updateTask(this.task.taskId, { status: 'cancelled', inputRequests: undefined });
  }

  private finish(status: 'completed' | 'failed', result: Record<string, unknown> | undefined, e: unknown): void {
    if (this.settled || this.task === null) return;
    this.settled = true;
    if (status === 'completed') {
      const { _meta, resultType, ...rest } = result ?? {};
      void resultType;
      const meta = { ...(_meta as Record<string, unknown> | undefined) };
      delete meta['io.modelcontextprotocol/related-task'];
      this.server.updateTask(this.task.taskId, { status, result: Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest, inputRequests: undefined });
      return;
    }
    const err = e instanceof McpError ? { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) }
      : { code: McpErrorCode.InternalError, message: e instanceof Error ? e.message : 'internal error' };
    this.server.reportError(e);
    this.server.updateTask(this.task.taskId, { status: 'failed', error: err, inputRequests: undefined });
  }
}

/** What a 2026 request carries while it runs (IncomingRequest.extra). */
interface RequestExtra {
  rounds: InputRounds;
  gate: TaskGate | null;
}

/** Methods 2026-07-28 removed. */
const REMOVED = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);

function checkHint(h: CacheHint | undefined, where: string): void {
  if (h === undefined) return;
  if (h.ttlMs !== undefined && (!Number.isSafeInteger(h.ttlMs) || h.ttlMs < 0)) throw invalidOption(`${where}.ttlMs must be a non-negative integer`);
  if (h.cacheScope !== undefined && h.cacheScope !== 'public' && h.cacheScope !== 'private') throw invalidOption(`${where}.cacheScope must be 'public' or 'private'`);
}

/** A tool handler threw: a tool error result (what the spec asks), except McpError and cancellation. */
function toolFailed(req: IncomingRequest, e: unknown): ToolResult {
  if (e instanceof McpError) throw e;
  if (req.signal.aborted) throw e;
  return errorResult(e instanceof Error ? e.message : String(e));
}

/** A handler's value as a CallToolResult, its structuredContent checked against the outputSchema. */
function checkedResult(tool: Tool, value: unknown): ToolResult {
  const result = toolResult(value);
  if (tool.output !== null && result.isError !== true) {
    if (result.structuredContent === undefined) throw bad(`Output validation error: tool ${tool.name} has an outputSchema but returned no structuredContent`);
    const r = tool.output.check(result.structuredContent);
    if (!r.ok) throw bad(`Output validation error: tool ${tool.name}: ${r.message}`);
  }
  return result;
}

function errorResult(text: string): ToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/** A handler's return value as a CallToolResult. */
function toolResult(v: unknown): ToolResult {
  if (typeof v === 'string') return { content: [{ type: 'text', text: v }] };
  if (v === undefined || v === null) return { content: [] };
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.content)) return o;
    return { content: [{ type: 'text', text: JSON.stringify(o) }], structuredContent: o };
  }
  const text = typeof v === 'function' || typeof v === 'symbol' ? undefined : JSON.stringify(v);
  if (text === undefined) throw handlerBug(`a tool returned a ${typeof v}, which JSON cannot carry`);
  return { content: [{ type: 'text', text }] };
}

/** An app's handler answered with something the protocol cannot carry: -32603, reported. */
function handlerBug(message: string): McpError {
  return new McpError(McpErrorCode.InternalError, `Internal error: ${message}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function resourceResult(uri: string, mimeType: string | undefined, v: unknown): unknown {
  if (typeof v === 'string') return { contents: [mimeType === undefined ? { uri, text: v } : { uri, mimeType, text: v }] };
  if (v instanceof Uint8Array) {
    const blob = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    return { contents: [mimeType === undefined ? { uri, blob } : { uri, mimeType, blob }] };
  }
  if (!isObject(v) || !Array.isArray(v.contents) || !v.contents.every(isObject)) {
    throw handlerBug(`the reader of ${uri} returned neither a string, bytes nor { contents: [...] }`);
  }
  return v;
}

/** Creates an MCP server (register it once; it serves every session on every transport). */
export function createMcpServer(options: McpServerOptions): McpServer {
  return new McpServer(options);
}
