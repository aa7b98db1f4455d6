// Loading the app `conduit serve` runs: a user's config module (JS, or TypeScript
// transpiled on the fly) or the built-in demo app. Shared by the CLI (one instance) and
// each worker instance, below both.

import { pathToFileURL } from 'node:url';
import { basename, dirname, join, resolve } from 'node:path';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { ConduitError, ErrorCodes } from '../errors.js';
import { App, createServer } from '../http/app.js';
import type { McpServer } from '../mcp/server.js';
import { serveMcp, type McpEndpoints, type ServeMcpOptions } from '../mcp/serve.js';
import { demoMcpServer } from './demo-mcp.js';
import { InferenceClient, InferenceService, type InferenceConnector } from '../ml/inference.js';
import { serveKserve } from '../ml/http.js';
import type { Device } from '../ml/model.js';
import { seededMlp, writeMlp } from '../ml/onnx-writer.js';
import { modelsAsTools } from './model-tools.js';
import { DynamicBatcher } from '../ml/batcher.js';

/** What the demo app serves, for the listen banner. */
export const DEMO_ROUTES = '/health, /echo, /events; MCP at /mcp and /sse (tools echo, add, slow_progress); model demo at /v2/models/demo/infer';

/** The built-in demo app. */
export function demoApp(app: App): void {
  app.get('/health', () => ({ status: 'ok' }));
  app.post('/echo', (req, res) => {
    res.header('Content-Type', req.header('content-type') ?? 'application/octet-stream').send(req.body);
  });
  app.get('/events', (req, res) => {
    let id = Number(req.header('last-event-id') ?? 0) || 0;
    const stream = res.sse();
    const tick = () => stream.send({ id: String(++id), event: 'tick', data: new Date().toISOString() });
    tick();
    const timer = setInterval(tick, 1000);
    stream.onClose(() => clearInterval(timer));
  });
}

const configError = (message: string) => new ConduitError(ErrorCodes.INVALID_CONFIG, message);

/**
 * A TypeScript config: transpiled with the `typescript` package (the project's own, else
 * Conduit's) to a temporary .mjs beside it, so that its imports resolve as they would from
 * the .ts file, imported, and removed. Types are not checked.
 */
async function importTypeScript(file: string): Promise<unknown> {
  let ts: typeof import('typescript');
  try {
    let at: string;
    try {
      at = createRequire(file).resolve('typescript');
    } catch {
      at = createRequire(import.meta.url).resolve('typescript');
    }
    ts = ((await import(pathToFileURL(at).href)) as { default: typeof import('typescript') }).default;
  } catch {
    throw configError("a TypeScript config needs the 'typescript' package (npm install -D typescript), or compile it to .js");
  }
  const out = ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  });
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.conduit.mjs`);
  writeFileSync(tmp, out.outputText);
  try {
    return await import(pathToFileURL(tmp).href);
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * The MCP options `conduit serve` uses for a bind address: the Host allow-list (DNS
 * rebinding protection) is the loopback names when bound to loopback, any host otherwise
 * (a public server is reached by names the process cannot know).
 */
export function mcpOptionsFor(host: string): ServeMcpOptions {
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  return loopback ? {} : { allowedHosts: '*' };
}

/** The models `conduit serve` serves (--model, --models, the demo), as plain data (workers get a copy). */
export interface MlOptions {
  models: Array<{
    name: string; version?: string; path: string;
    /** From the model's config.json: batcher options, and session options (device, ...). */
    batching?: Record<string, unknown>; options?: Record<string, unknown>;
  }>;
  /** Serve the demo model as 'demo' (conduit serve without a config). */
  demo?: boolean;
  device?: Device;
  /** Bytes of models kept loaded (the LRU budget). */
  memoryBudget?: number;
  /** Load every model at start instead of on first use. */
  preload?: boolean;
}

/** The demo model: a deterministic 16 → 32 → 4 MLP, built at install (build/demo.onnx) or now. */
export const DEMO_MODEL_SPEC = { widths: [16, 32, 4], seed: 42 };
export function demoModelBytes(): Uint8Array {
  const file = new URL('../../build/demo.onnx', import.meta.url);
  if (existsSync(file)) return readFileSync(file);
  return writeMlp(seededMlp(DEMO_MODEL_SPEC.widths, DEMO_MODEL_SPEC.seed));
}

const BATCHING = ['maxBatchSize', 'maxQueueDelayMs', 'preferredBatchSizes', 'maxQueue', 'queueTimeoutMs'];
const SESSION = ['device', 'intraOpThreads', 'graphOptimization'];

/**
 * A model's options (a model's config.json, or app.model()'s): batching and session
 * options, checked. An error message naming the problem (`where` first) when they are
 * not valid. `extra` keys are allowed and left out (app.model()'s version).
 */
export function modelOptions(c: Record<string, unknown>, where: string, extra: string[] = []): { batching: Record<string, unknown>; options: Record<string, unknown> } | string {
  const unknown = Object.keys(c).filter((k) => !BATCHING.includes(k) && !SESSION.includes(k) && !extra.includes(k));
  if (unknown.length > 0) return `${where}: unknown key ${unknown.map((k) => `'${k}'`).join(', ')} (known: ${[...BATCHING, ...SESSION, ...extra].join(', ')})`;
  const pick = (keys: string[]) => Object.fromEntries(Object.entries(c).filter(([k]) => keys.includes(k)));
  const batching = pick(BATCHING);
  try {
    new DynamicBatcher(async () => ({}), batching); // (checks the values)
  } catch (e) {
    return `${where}: ${(e as Error).message}`;
  }
  if (c.device !== undefined && !['auto', 'cuda', 'webgpu', 'cpu'].includes(c.device as string)) return `${where}: device must be auto, cuda, webgpu or cpu`;
  if (c.intraOpThreads !== undefined && (!Number.isSafeInteger(c.intraOpThreads) || (c.intraOpThreads as number) < 0)) return `${where}: intraOpThreads must be a non-negative integer`;
  if (c.graphOptimization !== undefined && !['disabled', 'basic', 'extended', 'all'].includes(c.graphOptimization as string)) return `${where}: graphOptimization must be disabled, basic, extended or all`;
  return { batching, options: pick(SESSION) };
}

/** The models an app declared (app.model()), as MlOptions models; throws naming a bad one. */
export function declaredModels(app: App): MlOptions['models'] {
  return app.models.map((m) => {
    const where = `app.model('${m.name}')`;
    const o = modelOptions(m.options, where, ['version']);
    if (typeof o === 'string') throw configError(o);
    if (m.options.version !== undefined && typeof m.options.version !== 'string') throw configError(`${where}: version must be a string`);
    return { name: m.name, version: m.options.version as string | undefined, path: m.path, ...o };
  });
}

/** The names of the models `ml` serves. */
export function modelNames(ml: MlOptions): string[] {
  return [...(ml.demo === true ? ['demo'] : []), ...new Set(ml.models.map((m) => m.name))];
}

/**
 * Starts the inference service for `ml` (its worker, with every model registered; loaded
 * now with `preload`), or null when there are no models.
 */
export async function startInference(ml: MlOptions, log: (line: string) => void, always = false): Promise<InferenceService | null> {
  if (ml.models.length === 0 && ml.demo !== true && !always) return null;
  const service = new InferenceService({ memoryBudget: ml.memoryBudget, log });
  try {
    const options = { device: ml.device ?? 'auto' } as const;
    if (ml.demo === true) await service.add({ name: 'demo', data: demoModelBytes(), options });
    for (const m of ml.models) {
      await service.add({ name: m.name, version: m.version, path: m.path, options: { ...options, ...m.options } }, m.batching);
    }
    if (ml.preload === true) for (const name of modelNames(ml)) await service.load(name);
  } catch (e) {
    await service.close();
    throw e;
  }
  return service;
}

/**
 * Serves the models on `app` (KServe v2 routes, and a tool each on `mcp`), their inference
 * in the worker of `inference` (the server's one service), or of a service started here.
 */
export async function serveModels(app: App, ml: MlOptions, log: (line: string) => void, mcp: McpServer | null = null,
  inference?: InferenceConnector): Promise<InferenceClient | null> {
  if (ml.models.length === 0 && ml.demo !== true) return null;
  const client = new InferenceClient(inference ?? (await startInference(ml, log))!);
  serveKserve(app, client);
  // With an MCP server, each model is a tool too (infer_<name>).
  if (mcp !== null) modelsAsTools(mcp, client, modelNames(ml));
  return client;
}

/** What a config module gives: the app, and the MCP server it exports as `mcp` (if any). */
export interface LoadedConfig {
  app: App;
  mcp: McpServer | null;
  /** The config's `mcpOptions` export: serveMcp options (maxSessions, path, authenticate...). */
  mcpOptions: ServeMcpOptions;
}

/**
 * The app of a config module with its MCP server (`export const mcp = createMcpServer()`)
 * served at /mcp and /sse, or the demo app and demo MCP server (config undefined).
 */
export async function loadApp(config: string | undefined, mcpOptions: ServeMcpOptions = {},
  onMcp?: (endpoints: McpEndpoints) => void, models?: {
    ml: MlOptions; log: (line: string) => void;
    /** The server's inference service (workers): models run there, not in a service of this app's own. */
    inference?: InferenceConnector;
    /** With `inference`: adds the models the config declares to that service. */
    register?: (models: MlOptions['models']) => Promise<void>;
  }): Promise<App> {
  const { app, mcp, mcpOptions: own } = await loadConfig(config);
  // (models first: their tools are part of the MCP server's registry from the start).
  // The app's own models (app.model()) with the CLI's; in the server's inference service
  // when there is one (workers), registered there first.
  const declared = declaredModels(app);
  if (models !== undefined || declared.length > 0) {
    const m = models ?? { ml: { models: [] }, log: () => {} };
    if (declared.length > 0 && m.inference !== undefined) {
      if (m.register === undefined) throw configError('the app declares models (app.model()), but this server has no way to add them to its inference service');
      await m.register(declared);
    }
    const ml = { ...m.ml, models: [...m.ml.models, ...declared] };
    if (ml.models.length > 0) ml.demo = false;
    await serveModels(app, ml, m.log, mcp, m.inference);
  }
  if (mcp !== null) {
    // The config's options win, except the routing between workers, which is the CLI's.
    const options: ServeMcpOptions = { ...mcpOptions, ...own };
    if (mcpOptions.router !== undefined) {
      options.router = mcpOptions.router;
      options.sessionIdPrefix = mcpOptions.sessionIdPrefix;
    }
    const endpoints = serveMcp(app, mcp, options);
    // Errors of MCP handlers (a resource reader that throws, ...) reach the app's
    // onError too (conduit serve prints them), after the MCP server's own reporter.
    const report = mcp.onError;
    mcp.onError = (e) => {
      report.call(mcp, e);
      app.reportError(e);
    };
    onMcp?.(endpoints);
  }
  return app;
}

/**
 * Loads a config module, or the demo (config undefined). Throws a ConduitError
 * (CONDUIT_ERR_INVALID_CONFIG) naming the problem: a missing file, one that fails to
 * load or to set up the app, or exports that are not an app / an MCP server.
 */
export async function loadConfig(config: string | undefined): Promise<LoadedConfig> {
  if (config === undefined) {
    const app = createServer();
    demoApp(app);
    return { app, mcp: demoMcpServer(), mcpOptions: {} };
  }
  const file = resolve(config);
  if (!existsSync(file)) throw configError(`cannot read config ${config}: no such file`);
  let mod: { default?: unknown; mcp?: unknown; mcpOptions?: unknown };
  try {
    mod = (/\.[mc]?ts$/.test(file) ? await importTypeScript(file) : await import(pathToFileURL(file).href)) as { default?: unknown; mcp?: unknown; mcpOptions?: unknown };
  } catch (e) {
    throw configError(`cannot load config ${config}: ${(e as Error).message.split('\n')[0]}`);
  }
  const mcp = (mod.mcp ?? null) as McpServer | null;
  // (structurally: a config may import another copy of conduit)
  if (mcp !== null && (typeof mcp.openSession !== 'function' || typeof mcp.tool !== 'function')) throw configError(`invalid config ${config}: its 'mcp' export must be an McpServer (createMcpServer())`);
  const mcpOptions = (mod.mcpOptions ?? {}) as ServeMcpOptions;
  if (mcpOptions === null || typeof mcpOptions !== 'object') throw configError(`invalid config ${config}: its 'mcpOptions' export must be an object (serveMcp options)`);
  const exp = mod.default;
  if (exp instanceof App) return { app: exp, mcp, mcpOptions };
  if (typeof exp === 'function') {
    const app = createServer();
    try {
      await (exp as (a: App) => unknown)(app);
    } catch (e) {
      throw configError(`config ${config} failed while setting up the app: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`);
    }
    return { app, mcp, mcpOptions };
  }
  if (exp === undefined && mcp !== null) return { app: createServer(), mcp, mcpOptions };
  throw configError(`invalid config ${config}: its default export must be an App (createServer()) or a function (app) => void (or export only 'mcp', an McpServer)`);
}
