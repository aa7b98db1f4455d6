// `conduit serve`: the HTTP server with a user's app module, or the built-in demo app.

import { pathToFileURL } from 'node:url';
import { basename, dirname, join, resolve } from 'node:path';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { createServer, App } from '../http/server.js';
import { nativeTransport } from '../net/native.js';
import { startWorkers } from '../workers/supervisor.js';

export const SERVE_HELP = `Usage: conduit serve [options]

Options:
  --host <addr>      Address to bind (default 127.0.0.1)
  --port <n>         Port (default 3000; 0 = any free port)
  --config <file>    A JS or TS module whose default export is an App (createServer()) or a
                     function (app) => void that adds routes; without it, the demo app:
                       GET /health, POST /echo, GET /events (an SSE clock)
  --workers <n>      Worker instances, each with its own WASM core, sharing the port
                     (default: the number of cores). Threads sharing the port with the
                     native transport; processes behind one acceptor with node:net
  --help             Show this help
`;

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

interface Options {
  host: string;
  port: number;
  config: string | undefined;
  workers: number;
}

function parseArgs(args: string[]): Options | string {
  const o: Options = {
    host: '127.0.0.1', port: 3000, config: undefined,
    workers: availableParallelism(),
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
      else if (a === '--workers') {
        const v = value();
        o.workers = Number(v);
        if (!/^\d+$/.test(v) || o.workers < 1 || o.workers > 256) return `--workers must be an integer from 1 to 256, got '${v}'`;
      } else return `unknown option '${a}' (try conduit serve --help)`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  return o;
}

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
    throw new Error("a TypeScript config needs the 'typescript' package (npm install -D typescript), or compile it to .js");
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

/** The app of a config module, or the demo app (also used by each worker). */
export async function loadApp(config: string | undefined): Promise<App> {
  if (config === undefined) {
    const app = createServer();
    demoApp(app);
    return app;
  }
  const file = resolve(config);
  if (!existsSync(file)) throw new Error(`cannot read config ${config}: no such file`);
  let mod: { default?: unknown };
  try {
    mod = (/\.[mc]?ts$/.test(file) ? await importTypeScript(file) : await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (e) {
    throw new Error(`cannot load config ${config}: ${(e as Error).message.split('\n')[0]}`);
  }
  const exp = mod.default;
  if (exp instanceof App) return exp;
  if (typeof exp === 'function') {
    const app = createServer();
    try {
      await (exp as (a: App) => unknown)(app);
    } catch (e) {
      throw new Error(`config ${config} failed while setting up the app: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`);
    }
    return app;
  }
  throw new Error(`invalid config ${config}: its default export must be an App (createServer()) or a function (app) => void`);
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
  if (o.workers > 1) return serveWorkers(o);
  let app: App;
  try {
    app = await loadApp(o.config);
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
  const shown = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
  process.stdout.write(`conduit serve: listening on http://${shown}:${bound.port}/${o.config === undefined ? ' (demo app: /health, /echo, /events)' : ''}\n`);
  return new Promise((done) => {
    const stop = (signal: string) => {
      process.stdout.write(`conduit serve: ${signal}, closing\n`);
      const deadline = setTimeout(() => done(0), 5000);
      deadline.unref();
      void app.close().then(() => done(0));
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

function listenError(o: Options, e: NodeJS.ErrnoException): string {
  const why = e.code === 'EADDRINUSE' ? 'the port is already in use'
    : e.code === 'EACCES' ? 'permission denied'
      : e.code === 'EADDRNOTAVAIL' ? 'the address is not available on this machine' : e.message;
  return `conduit serve: cannot listen on ${o.host}:${o.port}: ${why}\n`;
}

async function serveWorkers(o: Options): Promise<number> {
  let running;
  // Every worker gone for good: the server ends with exit code 1 (not silently with 0).
  let failed: (why: string) => void = () => {};
  try {
    // Threads sharing the port (SO_REUSEPORT) need the native transport; on node:net the
    // workers are processes behind one acceptor.
    const mode = nativeTransport().module !== null ? 'threads' : 'processes';
    running = await startWorkers({
      ...o, mode,
      log: (line) => process.stderr.write(`conduit serve: ${line}\n`),
      onFailed: (why) => failed(why),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(err.code !== undefined ? listenError(o, err) : `conduit serve: ${err.message}\n`);
    return 1;
  }
  const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
  process.stdout.write(`conduit serve: listening on http://${shown}:${running.port}/ (${o.workers} workers)` +
    `${o.config === undefined ? ' (demo app: /health, /echo, /events)' : ''}\n`);
  return new Promise((done) => {
    failed = (why) => {
      process.stderr.write(`conduit serve: ${why}; stopping\n`);
      void running.stop().then(() => done(1));
    };
    const stop = (signal: string) => {
      process.stdout.write(`conduit serve: ${signal}, closing\n`);
      void running.stop().then(() => done(0));
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
