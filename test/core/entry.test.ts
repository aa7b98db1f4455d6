// conduit/core as an entry point: nothing it loads imports a `node:` module (or any
// package), loadCore() takes every kind of source and names what is wrong with a bad one,
// and parseHttpHead (the spans-only one-shot API) points into the caller's own bytes.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCore } from '../../src/core.js';
import { parseHttpHead, parseHttpRequest } from '../../src/http/parse-request.js';
import { HttpParseError } from '../../src/errors.js';
import { unsharedModule, wasmBytes } from '../../src/wasm/loader.js';
import { MessageFlags } from '../../src/wasm/abi.generated.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A copy of a module whose ABI_VERSION global says 2: found by its export, then its i32.const init. */
function patchAbiVersion(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const module = new WebAssembly.Module(bytes);
  const globals = WebAssembly.Module.exports(module).filter((e) => e.kind === 'global').map((e) => e.name);
  expect(globals).toContain('ABI_VERSION');
  // Walk the sections to the global section (id 6) and the export section (id 7).
  let p = 8;
  const leb = () => { let v = 0; let sh = 0; for (;;) { const b = bytes[p++]; v |= (b & 0x7f) << sh; if ((b & 0x80) === 0) return v; sh += 7; } };
  const sections = new Map<number, [number, number]>();
  while (p < bytes.length) { const id = bytes[p++]; const size = leb(); sections.set(id, [p, p + size]); p += size; }
  // The export's global index.
  p = sections.get(7)![0];
  let index = -1;
  for (let n = leb(); n > 0; n--) {
    const len = leb(); const name = new TextDecoder().decode(bytes.subarray(p, p + len)); p += len;
    const kind = bytes[p++]; const idx = leb();
    if (kind === 3 && name === 'ABI_VERSION') index = idx;
  }
  expect(index).toBeGreaterThanOrEqual(0);
  // (imported globals come first in the index space: the core imports none)
  p = sections.get(6)![0];
  const out = new Uint8Array(bytes);
  for (let i = 0, n = leb(); i < n; i++) {
    p += 2; // valtype, mutability
    const op = bytes[p++];
    if (i === index) {
      expect(op).toBe(0x41); // i32.const 1
      expect(bytes[p]).toBe(1);
      out[p] = 2;
      return out;
    }
    // (skip the init expression: one constant instruction, then end)
    if (op === 0x41 || op === 0x42 || op === 0x23) leb();
    else if (op === 0x43) p += 4;
    else if (op === 0x44) p += 8;
    else if (op === 0xfd) { leb(); p += 16; } // v128.const
    else throw new Error(`global init opcode ${op}`);
    expect(bytes[p++]).toBe(0x0b);
  }
  throw new Error('ABI_VERSION not found');
}

describe('conduit/core entry point', () => {
  it('imports only its own relative modules: no node:, no packages', () => {
    const seen = new Set<string>();
    const outside: string[] = [];
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)) {
        const spec = m[1] ?? m[2];
        if (spec.startsWith('.')) walk(join(dirname(file), spec.replace(/\.js$/, '.ts')));
        else outside.push(`${relative(ROOT, file)} imports ${spec}`);
      }
    };
    walk(join(ROOT, 'src/core.ts'));
    expect(outside).toEqual([]);
    expect([...seen].map((f) => relative(ROOT, f))).toEqual(expect.arrayContaining([
      'src/http/parser.ts', 'src/jsonrpc/parse.ts', 'src/sse/framer.ts', 'src/sse/decoder.ts', 'src/wasm/loader.ts',
    ]));
  });

  it('the package root still reads the bundled build where the runtime has no process.getBuiltinModule (Node 20 before 20.16)', () => {
    const script = `delete process.getBuiltinModule;
      const { parseHttpRequest, parseJsonRpc } = await import(${JSON.stringify(join(ROOT, 'dist/index.js'))});
      const r = parseHttpRequest(new TextEncoder().encode('GET /old HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n'));
      const j = parseJsonRpc(new TextEncoder().encode('{"jsonrpc":"2.0","id":1,"method":"m"}'));
      console.log(r.target, j.messages[0].method, typeof process.getBuiltinModule);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out.trim()).toBe('/old m undefined');
  });

  it('is a subpath export of the package', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.exports['./core']).toEqual({ types: './dist/core.d.ts', default: './dist/core.js' });
  });

  it('loads from bytes, an ArrayBuffer, a URL, a Module and a Response, and finds the bundled file itself', async () => {
    const bytes = wasmBytes('scalar');
    const url = new URL('../../build/conduit-scalar.wasm', import.meta.url);
    for (const source of [bytes, bytes.buffer.slice(0), url, url.href, new WebAssembly.Module(bytes), new Response(bytes)]) {
      const core = await loadCore(source);
      expect(core.variant).toBe('scalar');
      const r = core.parseHttpRequest(new TextEncoder().encode('GET /x HTTP/1.1\r\nHost: a\r\n\r\n'));
      expect(r).toMatchObject({ method: 'GET', target: '/x' });
    }
    const bundled = await loadCore();
    expect(bundled.variant).toBe('simd');
    expect((await loadCore(bytes)).variant).toBe('scalar');
    expect((await loadCore()).variant).toBe('simd'); // (the bundled build again, not a stale answer)
  });

  it('names what is wrong with a bad source', async () => {
    await expect(loadCore(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))).rejects.toThrow(/not the Conduit WASM core/);
    await expect(loadCore(new Uint8Array([1, 2, 3]))).rejects.toThrow(WebAssembly.CompileError);
    await expect(loadCore(new URL('file:///nonexistent/conduit.wasm'))).rejects.toThrow(/cannot read the WASM core/);
    await expect(loadCore(new WebAssembly.Module(wasmBytes('simd')), { shared: false })).rejects.toThrow(/needs the \.wasm bytes/);
    // A module whose ABI differs from this code's is refused before it replaces the build in use.
    const other = patchAbiVersion(wasmBytes('scalar'));
    await expect(loadCore(other)).rejects.toThrow(/ABI_VERSION = 2 but the TypeScript mirror says 1/);
    expect(parseHttpRequest(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))).toMatchObject({ method: 'GET' });
    await loadCore(); // (back to the bundled default for the tests that follow in this file)
  });

  it('unsharedModule flips only the memory import to unshared, and is idempotent', () => {
    const shared = wasmBytes('simd');
    const plain = unsharedModule(shared);
    const diff = [...plain].flatMap((b, i) => (b === shared[i] ? [] : [i]));
    expect(diff.length).toBe(1);
    expect(shared[diff[0]] & 2).toBe(2);
    expect(plain[diff[0]]).toBe(shared[diff[0]] & ~2);
    expect(unsharedModule(plain)).toEqual(plain);
    const mem = new WebAssembly.Memory({ initial: 2, maximum: 2 });
    expect(() => new WebAssembly.Instance(new WebAssembly.Module(plain), { env: { memory: mem, abort() {} } })).not.toThrow();
    expect(() => new WebAssembly.Instance(new WebAssembly.Module(shared), { env: { memory: mem, abort() {} } })).toThrow();
  });
});

describe('parseHttpHead: offsets into the caller\'s bytes, no strings', () => {
  const enc = new TextEncoder();
  const text = (b: Uint8Array, s: number, e: number) => Buffer.from(b.subarray(s, e)).toString('latin1');

  it('gives the same head as parseHttpRequest, at any byteOffset', () => {
    const req = 'POST /api/v1?q=1 HTTP/1.1\r\nHost: example.com\r\nContent-Type:  application/json \r\nContent-Length: 5\r\n\r\nhello';
    for (const pad of [0, 1, 3, 7, 8]) {
      const whole = new Uint8Array(pad + req.length + 9);
      whole.set(enc.encode(req), pad);
      const bytes = whole.subarray(pad, pad + req.length);
      const h = parseHttpHead(bytes);
      if (h instanceof HttpParseError) throw h;
      const r = parseHttpRequest(bytes);
      if (r instanceof HttpParseError) throw r;
      expect(h.method).toBe('POST');
      expect(text(bytes, h.targetStart, h.targetEnd)).toBe(r.target);
      expect(h.version).toBe('1.1');
      expect(h.contentLength).toBe(5);
      expect(h.flags & MessageFlags.CONTENT_LENGTH).not.toBe(0);
      expect(h.headLength).toBe(req.indexOf('hello'));
      const headers = [];
      for (let i = 0; i < h.fields.length; i += 4) {
        headers.push([text(bytes, h.fields[i], h.fields[i] + h.fields[i + 1]), text(bytes, h.fields[i + 2], h.fields[i + 2] + h.fields[i + 3])]);
      }
      expect(headers).toEqual(r.headers);
      expect(headers[1]).toEqual(['Content-Type', 'application/json']);
    }
  });

  it('incomplete heads, bad heads, and a bad body after a good head', () => {
    const inc = parseHttpHead(enc.encode('GET / HTTP/1.1\r\nHost: a\r\n'));
    expect(inc).toBeInstanceOf(HttpParseError);
    expect((inc as HttpParseError).incomplete).toBe(true);
    const bad = parseHttpHead(enc.encode('GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n'));
    expect((bad as HttpParseError).status).toBe(400);
    expect((bad as HttpParseError).code).toBe('CONDUIT_ERR_HTTP_WHITESPACE_BEFORE_COLON');
    // The body is the caller's: a broken chunk after the head does not make the head an error.
    const head = 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
    const h = parseHttpHead(enc.encode(`${head}zz\r\n`));
    expect(h).not.toBeInstanceOf(HttpParseError);
    expect((h as { headLength: number }).headLength).toBe(head.length);
    expect(parseHttpRequest(enc.encode(`${head}zz\r\n`))).toBeInstanceOf(HttpParseError);
    // Limits apply to it as to parseHttpRequest.
    const long = parseHttpHead(enc.encode(`GET /${'a'.repeat(100)} HTTP/1.1\r\nHost: a\r\n\r\n`), { maxRequestLine: 50 });
    expect((long as HttpParseError).status).toBe(414);
    // A head larger than the slot: refused, not read past.
    const huge = parseHttpHead(enc.encode(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(40_000)}\r\n\r\n`));
    expect((huge as HttpParseError).status).toBe(431);
  });
});
