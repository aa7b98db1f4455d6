import { describe, expect, it } from 'vitest';
// @ts-ignore -- plain ESM module with JSDoc types
import { createLlhttp, llhttpExportNames, LLHTTP_ERROR } from './llhttp-oracle.mjs';

const enc = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

/** JSON form with bodies as latin1 strings, for deep comparisons. */
const snapshot = (r: unknown) =>
  JSON.stringify(r, (_k, v) => (v instanceof Uint8Array ? `bytes:${text(v)}` : v));

const split = (bytes: Uint8Array, size: number) => {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
};

const simd = createLlhttp({ simd: true });
const scalar = createLlhttp({ simd: false });

const GET = 'GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n';
const CHUNKED =
  'POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' +
  '5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer-X: t\r\n\r\n';
const PIPELINED =
  'GET /a HTTP/1.1\r\nHost: a\r\n\r\n' +
  'POST /b HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nxyz';
const BARE_LF = 'GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n';
const CONNECT = 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01';

describe('llhttp oracle (undici WASM build)', () => {
  it('exposes the llhttp getters it relies on', () => {
    const names = llhttpExportNames();
    for (const n of [
      'llhttp_alloc',
      'llhttp_execute',
      'llhttp_get_method',
      'llhttp_get_http_major',
      'llhttp_get_http_minor',
      'llhttp_get_error_pos',
      'llhttp_get_error_reason',
      'llhttp_method_name',
      'llhttp_errno_name',
    ]) {
      expect(names).toContain(n);
    }
    expect(llhttpExportNames({ simd: false })).toEqual(names);
  });

  it('parses a simple GET', () => {
    const r = simd.parseRequest([enc(GET)]);
    expect(r.error).toBeNull();
    expect(r.paused).toBe(false);
    expect(r.messages).toHaveLength(1);
    const m = r.messages[0];
    expect(m).toMatchObject({
      method: 'GET',
      target: '/index.html?q=1',
      versionMajor: 1,
      versionMinor: 1,
      headers: [
        ['Host', 'example.com'],
        ['Accept', '*/*'],
      ],
      upgrade: false,
      keepAlive: true,
      complete: true,
    });
    expect(m.body).toHaveLength(0);
  });

  it('de-chunks a chunked POST body', () => {
    const r = simd.parseRequest([enc(CHUNKED)]);
    expect(r.error).toBeNull();
    expect(r.messages).toHaveLength(1);
    const m = r.messages[0];
    expect(m.method).toBe('POST');
    expect(m.complete).toBe(true);
    expect(text(m.body)).toBe('hello, world');
    // llhttp reports trailers through the same header callbacks.
    expect(m.headers).toEqual([
      ['Host', 'a'],
      ['Transfer-Encoding', 'chunked'],
      ['Trailer-X', 't'],
    ]);
  });

  it('parses a pipelined pair', () => {
    const r = simd.parseRequest([enc(PIPELINED)]);
    expect(r.error).toBeNull();
    expect(r.messages.map((m: any) => [m.method, m.target, m.complete, text(m.body)])).toEqual([
      ['GET', '/a', true, ''],
      ['POST', '/b', true, 'xyz'],
    ]);
  });

  it('reports an unfinished message as complete:false', () => {
    const r = simd.parseRequest([enc('POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc')]);
    expect(r.error).toBeNull();
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0].complete).toBe(false);
    expect(text(r.messages[0].body)).toBe('abc');
    const eof = simd.parseRequest([enc('POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc')], {
      finish: true,
    });
    expect(eof.error?.code).toBe(LLHTTP_ERROR.INVALID_EOF_STATE);
  });

  it('rejects a bare LF with an absolute error offset', () => {
    const r = simd.parseRequest([enc(BARE_LF)]);
    expect(r.paused).toBe(false);
    expect(r.error).not.toBeNull();
    // The LF at offset 23 ends "Host: a" without a CR.
    expect(BARE_LF.indexOf('\n', 16)).toBe(23);
    expect(r.error).toMatchObject({
      code: LLHTTP_ERROR.CR_EXPECTED,
      name: 'HPE_CR_EXPECTED',
      reason: 'Missing expected CR after header value',
      offset: 23,
    });
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0].complete).toBe(false);
    // The offset is absolute in the concatenated input, also when the error is in a later chunk.
    const chunked = simd.parseRequest([enc(BARE_LF.slice(0, 20)), enc(BARE_LF.slice(20))]);
    expect(chunked.error?.offset).toBe(23);
    // Bare LF after the request line: llhttp's error_pos is one past the LF
    // here (14), as in the fixtures ("Only LFs present": LF at 15, off=16).
    expect(simd.parseRequest([enc('GET / HTTP/1.1\nHost: a\r\n\r\n')]).error).toMatchObject({
      code: LLHTTP_ERROR.INVALID_VERSION,
      reason: 'Expected CRLF after version',
      offset: 15,
    });
  });

  it('rejects data after Connection: close / HTTP/1.0', () => {
    const r = simd.parseRequest([enc('GET / HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\n\r\n')]);
    expect(r.messages.filter((m: any) => m.complete)).toHaveLength(1);
    expect(r.messages[0].keepAlive).toBe(false);
    expect(r.error?.code).toBe(LLHTTP_ERROR.CLOSED_CONNECTION);
  });

  it('pauses on CONNECT and reports where the tunnel data starts', () => {
    const r = simd.parseRequest([enc(CONNECT)]);
    expect(r.error).toBeNull();
    expect(r.paused).toBe(true);
    expect(r.pause).toMatchObject({
      code: LLHTTP_ERROR.PAUSED_UPGRADE,
      reason: 'Pause on CONNECT/Upgrade',
      offset: CONNECT.indexOf('\x16'),
    });
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]).toMatchObject({
      method: 'CONNECT',
      target: 'example.com:443',
      upgrade: true,
      complete: true,
    });
  });

  it('SIMD and scalar builds agree', () => {
    for (const input of [GET, CHUNKED, PIPELINED, BARE_LF, CONNECT]) {
      expect(snapshot(scalar.parseRequest([enc(input)]))).toBe(
        snapshot(simd.parseRequest([enc(input)])),
      );
    }
  });

  it('gives the same result for 1-byte chunks (and other splits)', () => {
    const inputs = [
      GET,
      CHUNKED,
      PIPELINED,
      BARE_LF,
      CONNECT,
      // errors inside an open span: cut pieces must not leak into the result
      'GET /ab\x7fc HTTP/1.1\r\n\r\n',
      'GET / HTTP/1.1\r\nFo@: x\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n',
    ];
    for (const input of inputs) {
      const bytes = enc(input);
      const whole = snapshot(simd.parseRequest([bytes]));
      for (const size of [1, 2, 3, 7]) {
        expect(snapshot(simd.parseRequest(split(bytes, size))), `${JSON.stringify(input)} / ${size}`).toBe(whole);
      }
    }
  });

  it('span parser counts messages and reuses its buffer', () => {
    const sp = simd.createSpanParser({ capacity: 64 });
    const bytes = enc(GET + PIPELINED + GET);
    expect(sp.execute(bytes)).toBe(0); // larger than capacity: grows once
    expect(sp.messages).toBe(4);
    expect(sp.stats[7]).toBe(3); // body bytes
    sp.reset();
    expect(sp.messages).toBe(0);
    for (const c of split(bytes, 5)) expect(sp.execute(c)).toBe(0);
    expect(sp.messages).toBe(4);
    sp.reset();
    expect(sp.execute(enc(BARE_LF))).toBe(LLHTTP_ERROR.CR_EXPECTED);
    expect(sp.lastError()).toMatchObject({ code: LLHTTP_ERROR.CR_EXPECTED, pos: 23 });
    sp.reset();
    expect(sp.execute(enc(GET))).toBe(0);
    expect(sp.messages).toBe(1);
    sp.dispose();
  });
});
