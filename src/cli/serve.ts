// `conduit serve`: the HTTP server with a user's app module, or the built-in demo app, as
// one instance or as worker instances.

import { availableParallelism } from 'node:os';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { declaredModels, DEMO_ROUTES, loadApp, loadConfig, mcpOptionsFor, modelNames, modelOptions, startInference, type MlOptions } from '../app/load.js';
import { modelsAsTools } from '../app/model-tools.js';
import { InferenceClient, type InferenceService } from '../ml/inference.js';
import { serveStdio } from '../mcp/transports/stdio.js';
import type { App } from '../http/app.js';
import { nativeTransport } from '../net/native.js';
import { startWorkers } from '../workers/supervisor.js';

export const SERVE_HELP = `Usage: conduit serve [options]

Options:
  --host <addr>      Address to bind (default 127.0.0.1)
  --port <n>         Port (default 3000; 0 = any free port)
  --config <file>    A JS or TS module whose default export is an App (createServer()) or a
                     function (app) => void that adds routes, and/or whose export 'mcp' is
                     an McpServer (createMcpServer()), served at /mcp (Streamable HTTP) and
                     /sse + /messages (legacy HTTP+SSE); without it, the demo app:
                       GET /health, POST /echo, GET /events (an SSE clock), and an MCP
                       server with the tools echo, add, slow_progress
  --stdio            Serve the MCP server on stdin/stdout (newline-delimited JSON-RPC)
                     instead of HTTP; logs go to stderr, EOF on stdin ends the process
  --model NAME=PATH  Serve an ONNX model (repeatable) on the KServe v2 API (/v2/models/NAME/infer);
                     without --config, --model or --models, the demo model 'demo' (16 → 32 → 4)
  --models DIR       Serve every DIR/*.onnx, and DIR/NAME/VERSION/model.onnx (Triton's layout)
  --device <d>       auto (CUDA when its provider is installed, else CPU; default), cuda, webgpu, cpu
  --model-memory <n> Bytes of models kept loaded, least recently used unloaded first
                     (e.g. 512MiB, 2GiB; default 2GiB)
  --preload          Load the models at start instead of on first use
  --workers <n>      Worker instances, each with its own WASM core, sharing the port
                     (default: the number of cores). Threads sharing the port with the
                     native transport; processes behind one acceptor with node:net
  --help             Show this help
`;

interface Options {
  host: string;
  port: number;
  config: string | undefined;
  workers: number;
  stdio: boolean;
  ml: MlOptions;
}

/** 2GiB, 512MiB, 100KB, 12345 → bytes (NaN when it is none of these). */
function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?$/i.exec(v.trim());
  if (m === null) return NaN;
  const unit = (m[2] ?? 'B').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3, tb: 1e12, tib: 1024 ** 4 };
  return Math.floor(Number(m[1]) * mult[unit]);
}

/**
 * A model's config.json (Triton-style, optional): batching (maxBatchSize, maxQueueDelayMs,
 * preferredBatchSizes, maxQueue) and session options (device, intraOpThreads,
 * graphOptimization). An error message when it is not valid.
 */
function modelConfig(file: string): { batching?: Record<string, unknown>; options?: Record<string, unknown> } | string {
  if (!existsSync(file)) return {};
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    return `--models: ${file} is not valid JSON: ${(e as Error).message}`;
  }
  if (c === null || typeof c !== 'object' || Array.isArray(c)) return `--models: ${file} must hold an object`;
  return modelOptions(c, `--models: ${file}`);
}

/** The models of a directory: DIR/*.onnx, and DIR/NAME/VERSION/model.onnx. */
function modelsIn(dir: string): MlOptions['models'] | string {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    return `--models: cannot read ${dir}: ${(e as Error).message}`;
  }
  const out: MlOptions['models'] = [];
  for (const e of entries) {
    if (e.isFile() && e.name.endsWith('.onnx')) {
      const name = e.name.slice(0, -5);
      const config = modelConfig(join(dir, `${name}.json`));
      if (typeof config === 'string') return config;
      out.push({ name, path: join(dir, e.name), ...config });
    } else if (e.isDirectory()) {
      const config = modelConfig(join(dir, e.name, 'config.json'));
      if (typeof config === 'string') return config;
      for (const v of readdirSync(join(dir, e.name), { withFileTypes: true })) {
        const file = join(dir, e.name, v.name, 'model.onnx');
        if (v.isDirectory() && existsSync(file)) out.push({ name: e.name, version: v.name, path: file, ...config });
      }
    }
  }
  if (out.length === 0) return `--models: no *.onnx and no NAME/VERSION/model.onnx in ${dir}`;
  return out;
}

function parseArgs(args: string[]): Options | string {
  const o: Options = {
    host: '127.0.0.1', port: 3000, config: undefined,
    workers: availableParallelism(), stdio: false, ml: { models: [] },
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--host') o.host = value();
      else if (a === '--port') {
        const v = value();
        o.port = Number(v);
        if (!/^\d+$/.test(v) || o.port > 65535) return `--port must be a number from 0 to 65535, got '${v}'`;
      } else if (a === '--config') o.config = value();
      else if (a === '--stdio') o.stdio = true;
      else if (a === '--model') {
        const v = value();
        const eq = v.indexOf('=');
        if (eq <= 0 || eq === v.length - 1) return `--model takes NAME=PATH, got '${v}'`;
        o.ml.models.push({ name: v.slice(0, eq), path: v.slice(eq + 1) });
      } else if (a === '--models') {
        const found = modelsIn(value());
        if (typeof found === 'string') return found;
        o.ml.models.push(...found);
      } else if (a === '--device') {
        const v = value();
        if (!['auto', 'cuda', 'webgpu', 'cpu'].includes(v)) return `--device must be auto, cuda, webgpu or cpu, got '${v}'`;
        o.ml.device = v as MlOptions['device'];
      } else if (a === '--model-memory') {
        const v = value();
        const n = parseSize(v);
        if (!Number.isSafeInteger(n) || n <= 0) return `--model-memory must be a size such as 512MiB or 2GiB, got '${v}'`;
        o.ml.memoryBudget = n;
      } else if (a === '--preload') o.ml.preload = true;
      else if (a === '--workers') {
        const v = value();
        o.workers = Number(v);
        if (!/^\d+$/.test(v) || o.workers < 1 || o.workers > 256) return `--workers must be an integer from 1 to 256, got '${v}'`;
      } else return `unknown option '${a}' (try conduit serve --help)`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (o.config === undefined && o.ml.models.length === 0) o.ml.demo = true;
  return o;
}

/** The one line a listening server prints. */
function banner(o: Options, host: string, port: number, extra = ''): string {
  const shown = host.includes(':') ? `[${host}]` : host;
  return `conduit serve: listening on http://${shown}:${port}/${extra}${o.config === undefined ? ` (demo app: ${DEMO_ROUTES})` : ''}\n`;
}

/** Runs `stop` once, on the first SIGINT or SIGTERM, after saying which. */
function onSignals(stop: () => void, log: NodeJS.WritableStream = process.stdout): void {
  const handler = (signal: string) => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    log.write(`conduit serve: ${signal}, closing\n`);
    stop();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** Runs the server until SIGINT/SIGTERM; resolves with the exit code. */
export async function serve(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const o = parseArgs(args);
  if (typeof o === 'string') {
    process.stderr.write(`conduit serve: ${o}\n`);
    return 2;
  }
  if (o.stdio) return serveOnStdio(o);
  if (o.workers > 1) return serveWorkers(o);
  let app: App;
  try {
    app = await loadApp(o.config, mcpOptionsFor(o.host), undefined, { ml: o.ml, log: (line) => process.stderr.write(`conduit serve: ${line}\n`) });
  } catch (e) {
    process.stderr.write(`conduit serve: ${(e as Error).message}\n`);
    return 1;
  }
  app.onError = (err) => process.stderr.write(`conduit serve: handler error: ${(err as Error)?.stack ?? err}\n`);
  let bound: { host: string; port: number };
  try {
    bound = await app.listen({ host: o.host, port: o.port });
  } catch (e) {
    process.stderr.write(listenError(o, e as NodeJS.ErrnoException));
    return 1;
  }
  process.stdout.write(banner(o, bound.host, bound.port));
  return new Promise((done) => {
    onSignals(() => {
      const deadline = setTimeout(() => done(0), 5000);
      deadline.unref();
      void app.close().then(() => done(0));
    });
  });
}

/** `--stdio`: stdout carries JSON-RPC only; everything else goes to stderr. */
async function serveOnStdio(o: Options): Promise<number> {
  const log = (line: string) => process.stderr.write(`conduit serve: ${line}\n`);
  let mcp;
  let inference: InferenceService | null = null;
  try {
    const loaded = await loadConfig(o.config);
    mcp = loaded.mcp;
    if (mcp === null) {
      process.stderr.write(`conduit serve: --stdio needs an MCP server: config ${o.config} has no 'mcp' export (export const mcp = createMcpServer(...))\n`);
      return 1;
    }
    // The models (--model, --models, app.model(), the demo) are tools here too (infer_<name>).
    const ml = { ...o.ml, models: [...o.ml.models, ...declaredModels(loaded.app)] };
    inference = await startInference(ml, log);
    if (inference !== null) modelsAsTools(mcp, new InferenceClient(inference), modelNames(ml));
  } catch (e) {
    await inference?.close();
    process.stderr.write(`conduit serve: ${(e as Error).message}\n`);
    return 1;
  }
  mcp.onError = (err) => process.stderr.write(`conduit serve: handler error: ${(err as Error)?.stack ?? err}\n`);
  process.stderr.write(`conduit serve: MCP server ${mcp.info.name} ${mcp.info.version} on stdio\n`);
  const served = serveStdio(mcp);
  onSignals(() => served.close(), process.stderr);
  await served.closed;
  await inference?.close();
  return 0;
}

/** The codes of a listen() that failed (the others are the app's: a config that fails to load...). */
const LISTEN_CODES = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL']);

function listenError(o: Options, e: NodeJS.ErrnoException): string {
  const why = e.code === 'EADDRINUSE' ? 'the port is already in use'
    : e.code === 'EACCES' ? 'permission denied'
      : e.code === 'EADDRNOTAVAIL' ? 'the address is not available on this machine' : e.message;
  return `conduit serve: cannot listen on ${o.host}:${o.port}: ${why}\n`;
}

async function serveWorkers(o: Options): Promise<number> {
  let running;
  const log = (line: string) => process.stderr.write(`conduit serve: ${line}\n`);
  // Every worker gone for good: the server ends with exit code 1 (not silently with 0).
  let failed: (why: string) => void = () => {};
  // The models run in one inference worker, here, for all the workers: their concurrent
  // requests batch together.
  let inference: InferenceService | null = null;
  try {
    // (with a config, always: its app.model()s are added when the first worker declares them)
    inference = await startInference(o.ml, log, o.config !== undefined);
    // Threads sharing the port (SO_REUSEPORT) need the native transport; on node:net the
    // workers are processes behind one acceptor.
    const mode = nativeTransport().module !== null ? 'threads' : 'processes';
    const service = inference;
    const added = new Set<string>();
    running = await startWorkers({
      ...o, mode, log, inference: service ?? undefined,
      // (every worker declares the same models: the first adds them)
      addModels: async (models) => {
        for (const m of models) {
          const key = `${m.name}\0${m.version ?? '1'}`;
          if (added.has(key)) continue;
          added.add(key);
          await service!.add({ name: m.name, version: m.version, path: m.path, options: { device: o.ml.device ?? 'auto', ...m.options } }, m.batching);
        }
      },
      onFailed: (why) => failed(why),
    });
  } catch (e) {
    await inference?.close();
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(LISTEN_CODES.has(err.code ?? '') ? listenError(o, err) : `conduit serve: ${err.message}\n`);
    return 1;
  }
  process.stdout.write(banner(o, o.host, running.port, ` (${o.workers} workers)`));
  const stop = (code: number) => running.stop().then(() => inference?.close()).then(() => code);
  return new Promise((done) => {
    failed = (why) => {
      process.stderr.write(`conduit serve: ${why}; stopping\n`);
      void stop(1).then(done);
    };
    onSignals(() => void stop(0).then(done));
  });
}
