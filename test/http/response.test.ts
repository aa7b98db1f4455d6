// What a handler answers, on real sockets, both transports: status lines, header checks,
// one framing per response (Content-Length / chunked / Connection owned by the server).
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { reasonPhrase } from '../../src/http/status-codes.js';
import { TRANSPORTS, srv, useTransport, start, exchange, statuses } from '../support/server.js';

describe.each(TRANSPORTS)('HTTP responses (%s transport)', (t) => {
  useTransport(t);

  it('header names must be tokens and values field-value characters; obs-text values go out as latin1', async () => {
    const port = await start((a) => {
      a.get('/set/:case', (req, res) => {
        const [name, value] = ({
          space: ['Bad Name', 'x'], colon: ['X:Y', 'x'], empty: ['', 'x'], crlf: ['X-Ok', 'a\r\nInjected: 1'],
          lf: ['X-Ok', 'a\nInjected: 1'], nul: ['X-Ok', 'a\0b'], wide: ['X-Ok', 'smile \u{1F600}'], del: ['X-Ok', 'a\x7fb'],
        } as Record<string, [string, string]>)[req.params.case];
        res.header(name, value).send('unreachable');
      });
      a.get('/latin1', (_req, res) => res.header('X-Name', 'caf\u00e9\tok').send('\u00e9'));
    });
    for (const c of ['space', 'colon', 'empty', 'crlf', 'lf', 'nul', 'wide', 'del']) {
      const raw = await exchange(port, `GET /set/${c} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      expect(statuses(raw), c).toEqual([500]);
      expect(raw, c).not.toContain('Injected');
      expect(raw, c).not.toContain('unreachable');
    }
    const bytes = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.end('GET /latin1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
    const at = bytes.indexOf('\r\n\r\n');
    expect(bytes.subarray(0, at).toString('latin1')).toContain('\r\nX-Name: caf\u00e9\tok\r\n'); // one byte, 0xE9
    expect(bytes.subarray(0, at + 2).toString('latin1')).toContain('\r\nContent-Length: 2\r\n');
    expect(bytes.subarray(at + 4)).toEqual(Buffer.from('\u00e9', 'utf8')); // the body is UTF-8
  });

  it('Connection header: keep-alive echoed to an HTTP/1.0 client that asked; close on answers given while shutting down', async () => {
    const port = await start((a) => {
      a.get('/', () => 'ok');
      a.get('/slow', () => new Promise((r) => setTimeout(() => r('slow'), 100)));
    });
    const ten = await exchange(port, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', 'GET / HTTP/1.0\r\n\r\n');
    const [first, second] = ten.split(/(?=HTTP\/1\.1 )/);
    expect(first).toContain('\r\nConnection: keep-alive\r\n');
    expect(second).toContain('\r\nConnection: close\r\n');
    // In flight when close() begins: answered, and told the connection closes.
    const slow = exchange(port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
    await new Promise((r) => setTimeout(r, 30));
    const closing = srv.app!.close();
    const raw = await slow;
    await closing;
    srv.app = null;
    expect(statuses(raw)).toEqual([200]);
    expect(raw).toContain('\r\nConnection: close\r\n');
  });

  it('one framing per response: a handler\'s Content-Length must match the body, Transfer-Encoding and Connection are the server\'s', async () => {
    const errors: string[] = [];
    const port = await start((a) => {
      a.onError = (e) => errors.push((e as { code?: string }).code ?? String(e));
      a.get('/cl-wrong', (_req, res) => res.header('Content-Length', '2').send('hello'));
      a.get('/cl-right', (_req, res) => res.header('Content-Length', '5').send('hello'));
      a.get('/te', (_req, res) => res.header('Transfer-Encoding', 'chunked').send('hello'));
      a.get('/cl-stream', (_req, res) => res.header('Content-Length', '5').stream().end('hello'));
      a.get('/cl-sse', (_req, res) => res.header('content-length', '5').sse().close());
      a.get('/connection', (_req, res) => res.header('Connection', 'keep-alive').send('x'));
      a.get('/cl-204', (_req, res) => res.status(204).header('Content-Length', '0').send());
      a.get('/head-size', (_req, res) => res.header('Content-Length', '1234').send());
      a.get('/ok', () => 'ok');
    });
    const paths = ['/cl-wrong', '/cl-right', '/te', '/cl-stream', '/cl-sse', '/connection', '/cl-204', '/ok'];
    const raw = await exchange(port, paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join('') +
      'HEAD /head-size HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(raw)).toEqual([500, 200, 500, 500, 500, 500, 500, 200, 200, 200]);
    // Every answer has exactly one framing, so the pipelined ones behind stay in sync.
    const answers = raw.split(/(?=HTTP\/1\.1 )/);
    for (const [i, r] of answers.entries()) {
      const head = r.slice(0, r.indexOf('\r\n\r\n'));
      const framing = (head.match(/\r\n(Content-Length|Transfer-Encoding):/gi) ?? []).length;
      expect(framing, `answer ${i}: ${head}`).toBe(1);
    }
    expect(answers[1]).toMatch(/\r\nContent-Length: 5\r\n\r\nhello$/);
    expect(answers[8]).toMatch(/\r\nContent-Length: 1234\r\n\r\n$/); // HEAD: the size a GET would have, no body
    expect(raw).toMatch(/\r\n\r\nok$/);
    expect(errors).toEqual(Array(6).fill('CONDUIT_ERR_FRAMING_HEADER'));
  });

  it('status lines carry the registered reason phrase of every status a handler can set (none for unregistered codes)', async () => {
    const port = await start((a) => a.get('/s/:code', (req, res) => res.status(Number(req.params.code)).send()));
    const codes = Array.from({ length: 400 }, (_, i) => 200 + i);
    const raw = await exchange(port, codes.map((c) => `GET /s/${c} HTTP/1.1\r\nHost: a\r\n\r\n`).join(''));
    const lines = [...raw.matchAll(/HTTP\/1\.1 (\d{3}) ([^\r\n]*)\r\n/g)].map((m) => [Number(m[1]), m[2]] as const);
    expect(lines.map(([c]) => c)).toEqual(codes);
    for (const [code, phrase] of lines) expect(phrase, String(code)).toBe(reasonPhrase(code));
    const named = new Map(lines);
    // (the phrases the old table lacked, and others from RFC 9110 §15)
    expect([408, 414, 431, 501, 505, 418, 299, 511].map((c) => named.get(c))).toEqual([
      'Request Timeout', 'URI Too Long', 'Request Header Fields Too Large', 'Not Implemented', 'HTTP Version Not Supported', '', '',
      'Network Authentication Required']);
    expect(raw).toContain('HTTP/1.1 299 \r\n'); // (an empty phrase keeps its space: RFC 9112 §4)
  });
});
