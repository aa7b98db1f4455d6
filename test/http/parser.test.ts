// The public parser API: parseHttpRequest and the streaming HttpParser.
import { describe, expect, it } from 'vitest';
import { HttpParseError, HttpParser, parseHttpRequest, WasmCore, type ParsedRequest, type RequestHead } from '../../src/index.js';

const b = (s: string) => Buffer.from(s, 'latin1');

function ok(r: ParsedRequest | HttpParseError): ParsedRequest {
  if (r instanceof HttpParseError) throw new Error(`unexpected parse error ${r.code} at ${r.offset}`);
  return r;
}
function err(r: ParsedRequest | HttpParseError): HttpParseError {
  if (!(r instanceof HttpParseError)) throw new Error('expected a parse error');
  return r;
}

describe('parseHttpRequest', () => {
  it('parses a GET', () => {
    const r = ok(parseHttpRequest(b('GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n')));
    expect(r).toEqual({
      method: 'GET', target: '/a?b=c', version: '1.1',
      headers: [['Host', 'example.com'], ['Accept', '*/*']],
      body: null, trailers: [], keepAlive: true, upgrade: false, expectContinue: false, consumed: 55,
    });
  });

  it('returns a Content-Length body and reports bytes consumed for the next pipelined request', () => {
    const input = b('POST /rpc HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const r = ok(parseHttpRequest(input));
    expect(Buffer.from(r.body!).toString()).toBe('hello');
    expect(r.consumed).toBe(input.indexOf('GET'));
    const next = ok(parseHttpRequest(input.subarray(r.consumed)));
    expect(next.method).toBe('GET');
  });

  it('de-chunks a chunked body and returns its trailers', () => {
    const r = ok(parseHttpRequest(b('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'
      + '5;x=y\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nChecksum: abc\r\n\r\n')));
    expect(Buffer.from(r.body!).toString()).toBe('hello world');
    expect(r.trailers).toEqual([['Checksum', 'abc']]);
  });

  it('tells an incomplete request from an invalid one', () => {
    for (const partial of ['GET / HTTP/1.1\r\nHost: a\r\n', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc', 'GET', '']) {
      const e = err(parseHttpRequest(b(partial)));
      expect(e.incomplete).toBe(true);
      expect(e.code).toBe('CONDUIT_ERR_HTTP_INCOMPLETE');
    }
    const bad = err(parseHttpRequest(b('GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n')));
    expect(bad.incomplete).toBe(false);
    expect(bad).toMatchObject({ status: 400, code: 'CONDUIT_ERR_HTTP_INVALID_HEADER_VALUE', offset: 31 });
    expect(bad.reason).toMatch(/control character/);
    expect(bad).toBeInstanceOf(Error);
  });

  it('maps statuses: 400, 413, 414, 431, 501, 505', () => {
    const cases: Array<[string, number, string, Parameters<typeof parseHttpRequest>[1]?]> = [
      ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'DUPLICATE_HOST'],
      ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world', 413, 'BODY_TOO_LARGE', { maxBodySize: 10 }],
      [`GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414, 'REQUEST_LINE_TOO_LONG'],
      [`GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(17000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
      [`GET / HTTP/1.1\r\nHost: a\r\n${'X: 1\r\n'.repeat(100)}\r\n`, 431, 'TOO_MANY_HEADERS'],
      ['BREW / HTTP/1.1\r\nHost: a\r\n\r\n', 501, 'UNKNOWN_METHOD'],
      ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', 501, 'UNSUPPORTED_TRANSFER_ENCODING'],
      ['GET / HTTP/1.2\r\nHost: a\r\n\r\n', 505, 'UNSUPPORTED_VERSION'],
    ];
    for (const [input, status, name, options] of cases) {
      const e = err(parseHttpRequest(b(input), options));
      expect([e.status, e.code], input.slice(0, 60)).toEqual([status, `CONDUIT_ERR_HTTP_${name}`]);
    }
  });

  it('finds limits in incomplete input too (no waiting for the end of an oversized head)', () => {
    const e = err(parseHttpRequest(b(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(20000)}`)));
    expect(e.code).toBe('CONDUIT_ERR_HTTP_HEADERS_TOO_LARGE');
    expect(e.offset).toBe(16384);
    const line = err(parseHttpRequest(b(`GET /${'a'.repeat(10000)}`)));
    expect(line.code).toBe('CONDUIT_ERR_HTTP_REQUEST_LINE_TOO_LONG');
    const ext = err(parseHttpRequest(b(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a=${'b'.repeat(200)}`), { maxChunkExtensions: 100 }));
    expect([ext.status, ext.code]).toEqual([413, 'CONDUIT_ERR_HTTP_CHUNK_EXTENSIONS_TOO_LARGE']);
    const chunkedBody = err(parseHttpRequest(b('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello!\r\n6\r\n'), { maxBodySize: 10 }));
    expect([chunkedBody.status, chunkedBody.code]).toEqual([413, 'CONDUIT_ERR_HTTP_BODY_TOO_LARGE']);
  });

  it('keep-alive follows the version and Connection', () => {
    const ka = (s: string) => ok(parseHttpRequest(b(s))).keepAlive;
    expect(ka('GET / HTTP/1.1\r\nHost: a\r\n\r\n')).toBe(true);
    expect(ka('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).toBe(false);
    expect(ka('GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, CLOSE\r\n\r\n')).toBe(false);
    expect(ka('GET / HTTP/1.0\r\n\r\n')).toBe(false);
    expect(ka('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n')).toBe(true);
  });

  it('reports Expect: 100-continue, Upgrade and CONNECT', () => {
    const e = ok(parseHttpRequest(b('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi')));
    expect(e.expectContinue).toBe(true);
    expect(ok(parseHttpRequest(b('POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n'))).expectContinue).toBe(false);
    const head = 'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
    const u = ok(parseHttpRequest(b(`${head}\x81\x00`)));
    expect(u.upgrade).toBe(true);
    expect(u.consumed).toBe(head.length);
    expect(ok(parseHttpRequest(b('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n'))).upgrade).toBe(false);
    const c = ok(parseHttpRequest(b('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')));
    expect(c.upgrade).toBe(true);
    expect(err(parseHttpRequest(b('CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n'))).code).toBe('CONDUIT_ERR_HTTP_INVALID_TARGET_FORM');
  });

  it('rejects invalid limits with a named option', () => {
    expect(() => parseHttpRequest(b(''), { maxHeaders: 1000 })).toThrow(/maxHeaders/);
    expect(() => parseHttpRequest(b(''), { maxBodySize: -1 })).toThrow(/maxBodySize/);
  });
});

describe('HttpParser (streaming)', () => {
  it('releaseIfIdle(): gives the slot back between messages only, leases again on input, keeps limits and counts', () => {
    const core = new WasmCore({ slotSize: 4096, slotCount: 2 });
    const heads: string[] = [];
    const p = new HttpParser({ core, maxHeaderBytes: 64, onHead: (h) => heads.push(h.target) });
    expect(core.pool.available).toBe(1);
    expect(p.execute(b('GET /1 HTTP/1.1\r\nHost: a\r\n\r\n'))).toBeNull();
    expect(p.releaseIfIdle()).toBe(true);
    expect(p.releaseIfIdle()).toBe(false); // (already)
    expect(core.pool.available).toBe(2);
    // The slot is free for another parser meanwhile.
    const other = new HttpParser({ core });
    expect(other.execute(b('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBeNull();
    // The idle parser leases again (the last slot) and goes on; messages keep counting.
    expect(p.readRoom()).toBe(4096 - 8);
    expect(p.execute(b('GET /2 HTTP/1.1\r\nHost: a\r\n'))).toBeNull();
    expect(core.pool.available).toBe(0);
    expect(p.releaseIfIdle()).toBe(false); // mid-message: it keeps its slot
    expect(p.execute(b('\r\n'))).toBeNull();
    expect(heads).toEqual(['/1', '/2']);
    expect(p.messages).toBe(2);
    expect(p.releaseIfIdle()).toBe(true);
    // Its limits survive the new lease.
    const tooBig = p.execute(b(`GET /3 HTTP/1.1\r\nHost: a\r\nX: ${'y'.repeat(80)}\r\n\r\n`));
    expect(tooBig?.status).toBe(431);
    expect(p.releaseIfIdle()).toBe(false); // after an error: no
    // After Connection: close the stream takes nothing more, so the slot is kept (it holds that state).
    const c = new HttpParser({ core: new WasmCore({ slotSize: 4096, slotCount: 1 }) });
    expect(c.execute(b('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'))).toBeNull();
    expect(c.releaseIfIdle()).toBe(false);
    expect(c.execute(b('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))).not.toBeNull();
    // Parsers on the shared cores keep their slot; a destroyed one is stale.
    expect(new HttpParser().releaseIfIdle()).toBe(false);
    expect(other.releaseIfIdle()).toBe(true);
    other.destroy();
    expect(() => other.execute(b('GET'))).toThrow(/after destroy/);
    expect(other.readRoom()).toBe(0);
  });

  it('passes the parser to its callbacks, so one set of functions serves many parsers', () => {
    const seen = new Map<HttpParser, string[]>();
    const log = (p: HttpParser, what: string) => seen.set(p, [...(seen.get(p) ?? []), what]);
    const options = {
      onHead: (h: RequestHead, p: HttpParser) => log(p, `head ${h.target}`),
      onBody: (c: Uint8Array, p: HttpParser) => log(p, `body ${Buffer.from(c).toString()}`),
      onMessageComplete: (_t: unknown, p: HttpParser) => log(p, 'done'),
    };
    const one = new HttpParser(options);
    const two = new HttpParser(options);
    expect(one.execute(b('POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n1'))).toBeNull();
    expect(two.execute(b('GET /two HTTP/1.1\r\nHost: a\r\n\r\n'))).toBeNull();
    expect(seen.get(one)).toEqual(['head /one', 'body 1', 'done']);
    expect(seen.get(two)).toEqual(['head /two', 'done']);
    one.destroy();
    two.destroy();
  });

  it('streams a body much larger than its slot, byte-exact, in any piece size', () => {
    const core = new WasmCore({ slotSize: 4096, slotCount: 2 });
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff;
    const input = Buffer.concat([b(`PUT /blob HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
    for (const piece of [1000, 4096, 65536, input.length]) {
      const got: Buffer[] = [];
      let done = 0;
      const p = new HttpParser({ core, onBody: (c) => got.push(Buffer.from(c)), onMessageComplete: () => done++ });
      for (let i = 0; i < input.length; i += piece) expect(p.execute(input.subarray(i, i + piece))).toBeNull();
      expect(done).toBe(1);
      expect(Buffer.concat(got).equals(body)).toBe(true);
      expect(p.pendingBytes).toBe(0);
      p.destroy();
    }
    expect(core.pool.available).toBe(2);
  });

  it('hands out every chunk when one call holds more chunks than the span table', () => {
    const parts: string[] = [];
    let chunked = '';
    for (let i = 0; i < 500; i++) {
      const s = `c${i};`;
      parts.push(s);
      chunked += `${s.length.toString(16)}\r\n${s}\r\n`;
    }
    const r = ok(parseHttpRequest(b(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}0\r\n\r\n`)));
    expect(Buffer.from(r.body!).toString()).toBe(parts.join(''));
  });

  it('reports errors at their offset in the whole stream and then refuses input', () => {
    const p = new HttpParser();
    const first = b('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(p.execute(first)).toBeNull();
    expect(p.execute(b('GET / HTTP/1.1\r\nHo'))).toBeNull();
    const e = p.execute(b('st: a\r\nBad Name: x\r\n\r\n'));
    expect(e).toMatchObject({ code: 'CONDUIT_ERR_HTTP_WHITESPACE_BEFORE_COLON', status: 400 });
    expect(e!.offset).toBe(first.length + 'GET / HTTP/1.1\r\nHost: a\r\nBad'.length);
    expect(p.execute(first)).toBe(e);
    expect(p.messages).toBe(1);
    p.destroy();
  });

  it('gives heads that stay valid after the parser moves on, with lazy case-insensitive lookup', () => {
    const heads: RequestHead[] = [];
    const p = new HttpParser({ onHead: (h) => heads.push(h) });
    p.execute(b('GET /one HTTP/1.1\r\nHost: a\r\nX-Trace: 1\r\n\r\nGET /two HTTP/1.1\r\nhost: b\r\nx-trace: 2\r\n\r\n'));
    p.execute(b('GET /three HTTP/1.1\r\nHOST: c\r\n\r\n'));
    p.destroy();
    expect(heads.map((h) => [h.target, h.get('HOST'), h.get('x-TRACE')])).toEqual([
      ['/one', 'a', '1'], ['/two', 'b', '2'], ['/three', 'c', undefined],
    ]);
    expect(heads[0].headerCount).toBe(2);
    expect(heads.map((h) => h.host)).toEqual(['a', 'b', 'c']);
    expect(heads[0].contentType).toBeUndefined();
    expect(heads[0].headerName(1)).toBe('X-Trace');
  });

  it('exposes the well-known fields the scan found', () => {
    let head: RequestHead | undefined;
    const p = new HttpParser({ onHead: (h) => { head = h; } });
    p.execute(b('POST /x HTTP/1.1\r\nX: 1\r\nCONTENT-TYPE: application/json\r\nHost: h:1\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n'));
    p.destroy();
    expect([head!.host, head!.contentType, head!.upgradeProtocol, head!.upgrade, head!.contentLength]).toEqual(['h:1', 'application/json', 'websocket', true, 0]);
  });

  it('after Connection: close, further bytes are an error; after an upgrade they are handed over', () => {
    const p = new HttpParser();
    expect(p.execute(b('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'))).toBeNull();
    expect(p.execute(b('GET / HTTP/1.1\r\n'))?.code).toBe('CONDUIT_ERR_HTTP_DATA_AFTER_CLOSE');
    p.destroy();
    const u = new HttpParser();
    expect(u.execute(b('GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\nABC'))).toBeNull();
    expect(u.execute(b('DEF'))).toBeNull();
    expect(Buffer.from(u.upgradeData!).toString()).toBe('ABCDEF');
    expect(u.finish()).toBeNull();
    u.destroy();
  });

  it('finish() says whether the stream ended inside a message', () => {
    const p = new HttpParser();
    p.execute(b('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
    expect(p.finish()).toBeNull();
    p.execute(b('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab'));
    expect(p.finish()).toMatchObject({ incomplete: true, code: 'CONDUIT_ERR_HTTP_INCOMPLETE' });
    p.destroy();
  });

  it('pause() stops after the current callback and resume() goes on', () => {
    const seen: string[] = [];
    const p = new HttpParser({
      onHead: (h) => seen.push(h.target),
      onMessageComplete: () => p.pause(),
    });
    p.execute(b('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n'));
    expect(seen).toEqual(['/1']);
    p.resume();
    expect(seen).toEqual(['/1', '/2']);
    p.resume();
    p.resume();
    expect(seen).toEqual(['/1', '/2', '/3']);
    p.destroy();
  });

  it('input given while paused is kept, in order, for resume()', () => {
    const seen: string[] = [];
    const p = new HttpParser({ onHead: (h) => seen.push(h.target), onMessageComplete: () => p.pause() });
    p.execute(b('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n'));
    expect(seen).toEqual(['/1']); // (paused after the first)
    expect(p.execute(b('GET /3 HTTP/1.1\r\nHost: a\r\n\r\n'))).toBeNull();
    expect(seen).toEqual(['/1']);
    p.resume();
    expect(seen).toEqual(['/1', '/2']);
    p.resume();
    expect(seen).toEqual(['/1', '/2', '/3']);
    p.destroy();
  });

  it('a callback that destroys the parser stops it there: its slot (back in the pool) is not parsed again', () => {
    // (A connection whose 100 Continue write fails from onHead is closed, and its parser
    // destroyed, inside the callback: a request pipelined behind must not be dispatched.)
    const core = new WasmCore({ slotSize: 4096, slotCount: 2 });
    const pipelined = b('POST /a HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\nHost: a\r\n\r\n');
    for (const when of ['head', 'body', 'complete'] as const) {
      const seen: string[] = [];
      const p: HttpParser = new HttpParser({
        core,
        onHead: (h) => {
          seen.push(`head ${h.target}`);
          if (when === 'head') p.destroy();
        },
        onBody: () => {
          seen.push('body');
          if (when === 'body') p.destroy();
        },
        onMessageComplete: () => {
          seen.push('complete');
          if (when === 'complete') p.destroy();
        },
      });
      expect(p.execute(pipelined), when).toBeNull();
      expect(seen, when).toEqual({ head: ['head /a'], body: ['head /a', 'body'], complete: ['head /a', 'body', 'complete'] }[when]);
      expect(core.pool.available, when).toBe(2); // (the slot went back, once)
      expect(() => p.execute(b('GET / HTTP/1.1\r\n\r\n')), when).toThrow(/after destroy/);
    }
  });

  it('releases its slot on destroy() and refuses use afterwards', () => {
    const core = new WasmCore({ slotSize: 32768, slotCount: 1 });
    const p = new HttpParser({ core });
    expect(core.pool.available).toBe(0);
    expect(() => new HttpParser({ core })).toThrow(expect.objectContaining({ code: 'CONDUIT_ERR_POOL_EXHAUSTED' }));
    p.destroy();
    expect(core.pool.available).toBe(1);
    expect(() => p.execute(b('GET'))).toThrow(expect.objectContaining({ code: 'CONDUIT_ERR_STALE_SLOT' }));
  });

  it('the shared pool grows instead of failing when many parsers are alive', () => {
    const parsers = Array.from({ length: 150 }, () => new HttpParser());
    for (const p of parsers) expect(p.execute(b('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))).toBeNull();
    for (const p of parsers) p.destroy();
  });
});

describe('parseHttpRequest: the reused parser', () => {
  it('gives what a fresh parser gives, call after call, whatever the previous call left (every smuggling case and llhttp request fixture, twice, interleaved)', async () => {
    const { readFileSync } = await import('node:fs');
    const cases = JSON.parse(readFileSync(new URL('../fixtures/http/smuggling/cases.json', import.meta.url), 'utf8')) as Array<{ name: string; raw: string }>;
    const inputs = cases.map((c) => Buffer.from(c.raw, 'latin1'));
    const index = JSON.parse(readFileSync(new URL('../fixtures/http/llhttp/request-index.json', import.meta.url), 'utf8')) as unknown;
    const rawOf = (x: unknown): string | undefined => (typeof (x as { raw?: unknown })?.raw === 'string' ? (x as { raw: string }).raw : undefined);
    for (const e of (Array.isArray(index) ? index : Object.values(index as object)) as unknown[]) {
      const raw = rawOf(e);
      if (raw !== undefined) inputs.push(Buffer.from(raw, 'latin1'));
    }
    // (plus halves: incomplete input between complete ones)
    for (const b of inputs.slice(0, 40)) inputs.push(b.subarray(0, Math.floor(b.length / 2)));
    expect(inputs.length).toBeGreaterThan(60);
    const fresh = (b: Uint8Array) => parseHttpRequest(b, { maxHeaders: 100 }); // (limits of its own: a new parser each call)
    const plain = (r: unknown) => JSON.parse(JSON.stringify(r, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v instanceof Error ? { ...v, message: v.message, name: v.name } : v)));
    for (let round = 0; round < 2; round++) {
      for (const b of inputs) expect(plain(parseHttpRequest(b))).toEqual(plain(fresh(b)));
    }
    // And the head it decodes straight from WASM memory is what a RequestHead says
    let checked = 0;
    for (const b of inputs) {
      const r = parseHttpRequest(b);
      if (r instanceof HttpParseError) continue;
      let seen: Record<string, unknown> | null = null;
      const chunks: Buffer[] = [];
      let framed = false;
      let done = false;
      const p = new HttpParser({
        onHead(h) {
          seen ??= { method: h.method, target: h.target, version: h.version, headers: h.headers, keepAlive: h.keepAlive, upgrade: h.upgrade || h.connect, expectContinue: h.expectContinue };
          framed = h.chunked || h.contentLength >= 0;
        },
        onBody(c) {
          if (!done) chunks.push(Buffer.from(c));
        },
        onMessageComplete() {
          done = true;
        },
      });
      p.execute(b);
      p.destroy();
      expect({ method: r.method, target: r.target, version: r.version, headers: r.headers, keepAlive: r.keepAlive, upgrade: r.upgrade, expectContinue: r.expectContinue }).toEqual(seen);
      // (and the body, one buffer filled in place, is the chunks the streaming parser gave)
      expect(r.body === null ? null : Buffer.from(r.body).toString('latin1')).toBe(framed ? Buffer.concat(chunks).toString('latin1') : null);
      checked++;
    }
    expect(checked).toBeGreaterThan(25);
  });
  it('a Content-Length body gets a buffer of its size, not of the input (pipelined input behind it); HeadValues says that length', () => {
    const next = 'GET /next HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(2000);
    const r = ok(parseHttpRequest(b(`POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello${next}`)));
    expect(Buffer.from(r.body!).toString()).toBe('hello');
    expect(r.body!.length).toBe(5);
    // Small bodies are carved out of one slab: the next one starts 8 bytes on (5, rounded up).
    const r2 = ok(parseHttpRequest(b('POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi')));
    if (r2.body!.buffer === r.body!.buffer) expect(r2.body!.byteOffset - r.body!.byteOffset).toBe(8);
    // (a chunked body: the input bounds it, and what it did not use goes back to the slab)
    const c = ok(parseHttpRequest(b('POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n')));
    expect(Buffer.from(c.body!).toString()).toBe('abc');
    const c2 = ok(parseHttpRequest(b('POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nyo')));
    if (c2.body!.buffer === c.body!.buffer) expect(c2.body!.byteOffset - c.body!.byteOffset).toBe(8);
    // Bodies are the caller's: thousands of later parses (through several slabs) leave them as they were.
    for (let i = 0; i < 3000; i++) ok(parseHttpRequest(b(`POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\n\r\n${'x'.repeat(40)}`)));
    expect([r, r2, c, c2].map((q) => Buffer.from(q.body!).toString())).toEqual(['hello', 'hi', 'abc', 'yo']);
    const big = ok(parseHttpRequest(b(`POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 20000\r\n\r\n${'y'.repeat(20000)}`)));
    expect(big.body!.buffer.byteLength).toBe(20000); // (over 8 KiB: a buffer of its own)
    // A small chunked body ahead of much pipelined input keeps no input-sized buffer.
    const ahead = ok(parseHttpRequest(b(`POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n${next.repeat(3)}`)));
    expect(Buffer.from(ahead.body!).toString()).toBe('abc');
    expect(ahead.body!.buffer.byteLength).toBeLessThanOrEqual(64 * 1024);
    const lengths: number[] = [];
    const p = new HttpParser({ onHeadValues: (h) => lengths.push(h.contentLength) });
    p.execute(b('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n'));
    p.destroy();
    expect(lengths).toEqual([3, -1]);
  });
});
