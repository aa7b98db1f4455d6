#!/usr/bin/env node
// The `conduit` command.

import '../wasm/node-fs.js'; // (first: node:fs for the .wasm on every Node 20)
import { readFileSync } from 'node:fs';
import { parseHttpRequest } from '../http/parse-request.js';
import { HttpParseError } from '../errors.js';
import { defaultVariant } from '../wasm/loader.js';
import { serve } from './serve.js';

const HELP = `Usage: conduit <command> [options]

Commands:
  parse [file]    Parse one HTTP/1.1 request (from file, or stdin) with Conduit's strict
                  WASM parser and print it as JSON; exit 1 with the reason if it is invalid.
  serve           Run the HTTP server (the demo app, or your app with --config);
                  see conduit serve --help.

Options:
  --help, -h      Show this help.
  --version, -v   Print the version.

Environment:
  CONDUIT_WASM=scalar   Use the scalar WASM build instead of the SIMD one.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function parseCommand(args: string[]): number {
  if (args.length > 1) {
    process.stderr.write(`conduit parse: expected at most one file, got ${args.length}\n`);
    return 2;
  }
  let bytes: Buffer;
  const file = args[0] ?? '-';
  try {
    bytes = readFileSync(file === '-' ? 0 : file);
  } catch (err) {
    process.stderr.write(`conduit parse: cannot read ${file === '-' ? 'stdin' : file}: ${(err as Error).message}\n`);
    return 2;
  }
  const r = parseHttpRequest(bytes);
  if (r instanceof HttpParseError) {
    process.stderr.write(`conduit parse: ${r.incomplete ? 'incomplete request' : 'invalid request'}: ${r.reason} ` +
      `(${r.code}, HTTP ${r.status}, at byte ${r.offset})\n`);
    return 1;
  }
  const body = r.body === null ? null : Buffer.from(r.body).toString('latin1');
  process.stdout.write(JSON.stringify({ ...r, body, wasm: defaultVariant() }, null, 2) + '\n');
  return 0;
}

export function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (cmd === 'parse') return parseCommand(rest);
  if (cmd === 'serve') {
    // Runs until a signal; exits with its code (open keep-alive sockets must not hold the process).
    void serve(rest).then((code) => process.exit(code));
    return 0;
  }
  process.stderr.write(`conduit: unknown command '${cmd}' (try --help)\n`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
