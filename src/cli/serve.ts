// `conduit serve`: the HTTP server with a user's app module, or the built-in demo app, as
// one instance or as worker instances.

import { availableParallelism } from 'node:os';
import { DEMO_ROUTES, loadApp, loadConfig, mcpOptionsFor } from '../app/load.js';
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
}

function parseArgs(args: string[]): Options | string {
  const o: Options = {
    host: '127.0.0.1', port: 3000, config: undefined,
    workers: availableParallelism(), stdio: false,
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
    app = await loadApp(o.config, mcpOptionsFor(o.host));
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
  let mcp;
  try {
    mcp = (await loadConfig(o.config)).mcp;
  } catch (e) {
    process.stderr.write(`conduit serve: ${(e as Error).message}\n`);
    return 1;
  }
  if (mcp === null) {
    process.stderr.write(`conduit serve: --stdio needs an MCP server: config ${o.config} has no 'mcp' export (export const mcp = createMcpServer(...))\n`);
    return 1;
  }
  mcp.onError = (err) => process.stderr.write(`conduit serve: handler error: ${(err as Error)?.stack ?? err}\n`);
  process.stderr.write(`conduit serve: MCP server ${mcp.info.name} ${mcp.info.version} on stdio\n`);
  const served = serveStdio(mcp);
  onSignals(() => served.close(), process.stderr);
  await served.closed;
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
    process.stderr.write(LISTEN_CODES.has(err.code ?? '') ? listenError(o, err) : `conduit serve: ${err.message}\n`);
    return 1;
  }
  process.stdout.write(banner(o, o.host, running.port, ` (${o.workers} workers)`));
  return new Promise((done) => {
    failed = (why) => {
      process.stderr.write(`conduit serve: ${why}; stopping\n`);
      void running.stop().then(() => done(1));
    };
    onSignals(() => void running.stop().then(() => done(0)));
  });
}
