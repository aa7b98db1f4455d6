// conduit/core in Node, Bun and Deno: one shared set of cases (HTTP requests whole, split
// and byte by byte; JSON-RPC and JSONTestSuite texts; SSE frames and their decoding) run
// through loadCore() in each runtime must give, byte for byte, what the package root gives
// in this process. Also run: without Buffer (portable strings), with a plain (unshared)
// memory, from host-supplied bytes, and on the scalar build.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCases, toBase64 } from './cases.mjs';
import { HttpParser } from '../../src/http/parser.js';
import { parseHttpRequest, parseHttpHead } from '../../src/http/parse-request.js';
import { parseJsonRpc, validateJson } from '../../src/jsonrpc/parse.js';
import { SseFramer } from '../../src/sse/framer.js';
import { SseDecoder } from '../../src/sse/decoder.js';
import { HttpParseError } from '../../src/errors.js';
import { jsonrpcCorpus } from '../../bench/corpus/jsonrpc.mjs';
import { sseCorpus } from '../../bench/corpus/sse.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUNNER = join(ROOT, 'test/core/run-core.mjs');
const require = createRequire(import.meta.url);

function buildCases() {
  const enc = new TextEncoder();
  const http: Array<{ name: string; b64: string }> = [];
  const smuggling = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/http/smuggling/cases.json'), 'utf8')) as Array<{ name: string; raw: string }>;
  for (const c of smuggling) http.push({ name: `smuggling/${c.name}`, b64: toBase64(Buffer.from(c.raw, 'latin1')) });
  const llhttp = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/http/llhttp/request-index.json'), 'utf8')) as Array<{ file: string; line: number; raw: string }>;
  for (const c of llhttp) {
    http.push({ name: `llhttp/${c.file}:${c.line}`, b64: toBase64(enc.encode(c.raw)) });
    // (most llhttp cases have no Host, which HTTP/1.1 requires: again with one, to reach their bodies)
    const eol = c.raw.indexOf('\r\n');
    if (eol > 0 && !/\r\nhost:/i.test(c.raw)) {
      http.push({ name: `llhttp+host/${c.file}:${c.line}`, b64: toBase64(enc.encode(`${c.raw.slice(0, eol)}\r\nHost: h${c.raw.slice(eol)}`)) });
    }
  }
  // Every byte 0x80-0xFF in a field value (latin1 and windows-1252 differ at 0x80-0x9F).
  const high = Buffer.concat([
    Buffer.from('GET /q?x=%C3%A9 HTTP/1.1\r\nHost: a\r\nX-High: ', 'latin1'), Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i)),
    Buffer.from('\r\n\r\n', 'latin1'),
  ]);
  http.push({ name: 'high-bytes', b64: toBase64(high) });
  const big = Buffer.alloc(70_000, 'z');
  http.push({ name: 'chunked-70k', b64: toBase64(Buffer.concat([Buffer.from(`POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n`), big, Buffer.from('\r\n0\r\nX-T: 1\r\n\r\n')])) });
  http.push({ name: 'pipelined', b64: toBase64(Buffer.from('POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: a\r\n\r\n')) });
  http.push({ name: 'upgrade', b64: toBase64(Buffer.from('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00tail', 'latin1')) });

  const json: Array<{ name: string; b64: string }> = [];
  const dir = join(ROOT, 'test/fixtures/json/test_parsing');
  for (const f of readdirSync(dir).sort()) json.push({ name: f, b64: toBase64(readFileSync(join(dir, f))) });
  for (const c of jsonrpcCorpus as Array<{ name: string; bytes: Uint8Array }>) json.push({ name: `corpus/${c.name}`, b64: toBase64(c.bytes) });
  json.push({ name: 'batch', b64: toBase64(enc.encode('[{"jsonrpc":"2.0","id":"é\\u0041","method":"a/b","params":[1]},{"jsonrpc":"2.0","id":1,"result":{"x":"\\ud83d\\ude00"}},{"id":2},5]')) });

  const sse: Array<{ name: string; event: Record<string, unknown> }> = [];
  for (const c of sseCorpus as Array<{ name: string; event: Record<string, unknown> }>) sse.push({ name: c.name, event: c.event });
  sse.push({ name: 'line-breaks', event: { data: 'a\r\nb\rc\nd\r', id: '7', event: 'x' } });
  sse.push({ name: 'lone-surrogate', event: { data: 'x\ud800y\udc00z', id: 'é' } });
  sse.push({ name: 'bytes', event: { data: { b64: toBase64(Buffer.from('bin\r\ndata\u00e9')) }, retry: 1500 } });
  sse.push({ name: 'large-pieces', event: { data: 'é\r\n'.repeat(100_000), event: 'big' } });
  sse.push({ name: 'bad-id', event: { data: 'x', id: 'a\nb' } });
  sse.push({ name: 'bad-id-nul', event: { data: 'x', id: 'a\u0000b' } });
  sse.push({ name: 'bad-retry', event: { data: 'x', retry: -1 } });
  sse.push({ name: 'bad-event', event: { data: 'x', event: 'a\rb' } });
  return { http, json, sse };
}

/** A runtime's binary from its npm platform package, or why there is none here. */
function binary(name: 'bun' | 'deno'): { path: string } | { missing: string } {
  const candidates: string[] = [];
  try {
    const pkg = dirname(require.resolve(`${name}/package.json`));
    candidates.push(name === 'bun' ? join(pkg, 'bin/bun.exe') : join(pkg, 'deno'));
  } catch { /* not installed */ }
  const platform = name === 'bun' ? `@oven/bun-${process.platform}-${process.arch === 'x64' ? 'x64' : 'aarch64'}`
    : `@deno/${process.platform}-${process.arch === 'x64' ? 'x64' : 'arm64'}${process.platform === 'linux' ? '-glibc' : ''}`;
  try {
    const pkg = dirname(require.resolve(`${platform}/package.json`));
    candidates.push(name === 'bun' ? join(pkg, 'bin/bun') : join(pkg, 'deno'));
  } catch { /* no platform package for this machine */ }
  for (const c of candidates) {
    if (!existsSync(c) || statSync(c).size < 1_000_000) continue; // (bun.exe is a text placeholder until its postinstall runs)
    return { path: c };
  }
  return { missing: `no ${name} binary for ${process.platform}-${process.arch} (looked in ${candidates.join(', ') || `${name} and ${platform}`})` };
}

const bun = binary('bun');
const deno = binary('deno');

let dir: string;
let casesFile: string;
let reference: string;

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/core.js'))) throw new Error('dist/core.js is missing: run `npm run build:ts`');
  dir = mkdtempSync(join(tmpdir(), 'conduit-core-'));
  casesFile = join(dir, 'cases.json');
  const cases = buildCases();
  writeFileSync(casesFile, JSON.stringify(cases));
  const api = { parseHttpRequest, parseHttpHead, HttpParser, HttpParseError, parseJsonRpc, validateJson, SseFramer, SseDecoder };
  reference = JSON.stringify(runCases(api, cases));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[]) {
  const out = execFileSync(cmd, args, { cwd: ROOT, maxBuffer: 512 * 1024 * 1024, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out) as { runtime: string; variant: string; shared: boolean; buffer: boolean; record: unknown };
}

/** Compares a runtime's record with the reference, naming the first case that differs. */
function expectSame(got: { record: unknown }) {
  const text = JSON.stringify(got.record);
  if (text === reference) return;
  const want = JSON.parse(reference) as Record<string, Array<{ name: string }>>;
  const have = got.record as Record<string, Array<{ name: string }>>;
  for (const part of Object.keys(want)) {
    for (let i = 0; i < want[part].length; i++) {
      expect({ part, ...have[part][i] }).toEqual({ part, ...want[part][i] });
    }
  }
  expect(text).toBe(reference);
}

describe('conduit/core: the same results as the package root, in every runtime', () => {
  it('the reference covers the cases (a run that parsed nothing would match nothing)', () => {
    const r = JSON.parse(reference) as { http: Array<{ one: { method?: string } }>; json: Array<{ ok: boolean }>; sse: unknown[] };
    expect(r.http.filter((c) => c.one.method !== undefined).length).toBeGreaterThan(80);
    expect(r.json.filter((c) => c.ok).length).toBeGreaterThan(90);
    expect(r.sse.length).toBeGreaterThan(10);
    const high = r.http.find((c) => (c as { name?: string }).name === 'high-bytes')!.one as { headers: string[][] };
    expect(high.headers[1][1].split(',').map(Number)).toEqual(Array.from({ length: 128 }, (_, i) => 0x80 + i));
  });

  it.each([
    ['default', []],
    ['without Buffer (portable strings)', ['--no-buffer']],
    ['plain (unshared) memory from host bytes', ['--unshared', '--bytes']],
    ['scalar build', ['--scalar']],
  ])('node: %s', (_name, flags) => {
    const got = run(process.execPath, [RUNNER, casesFile, ...flags]);
    expect(got.runtime).toBe('node');
    expect(got.buffer).toBe(!flags.includes('--no-buffer'));
    expect(got.shared).toBe(!flags.includes('--unshared'));
    expect(got.variant).toBe(flags.includes('--scalar') ? 'scalar' : 'simd');
    expectSame(got);
  });

  const bunIt = 'path' in bun ? it : it.skip;
  bunIt.each([
    ['default', []],
    ['without Buffer, plain memory', ['--no-buffer', '--unshared']],
  ])(`bun: %s${'missing' in bun ? ` (skipped: ${bun.missing})` : ''}`, (_name, flags) => {
    const got = run((bun as { path: string }).path, [RUNNER, casesFile, ...flags]);
    expect(got.runtime).toBe('bun');
    expect(got.buffer).toBe(!flags.includes('--no-buffer'));
    expectSame(got);
  });

  const denoIt = 'path' in deno ? it : it.skip;
  denoIt.each([
    ['default', []],
    ['scalar build, plain memory from host bytes', ['--scalar', '--unshared', '--bytes']],
  ])(`deno: %s${'missing' in deno ? ` (skipped: ${deno.missing})` : ''}`, (_name, flags) => {
    // Only read access, to the repository and the cases: conduit/core needs no other permission.
    const got = run((deno as { path: string }).path, ['run', '--no-config', '--no-lock', `--allow-read=${ROOT},${dir}`, RUNNER, casesFile, ...flags]);
    expect(got.runtime).toBe('deno');
    expect(got.shared).toBe(!flags.includes('--unshared'));
    expectSame(got);
  });
});
