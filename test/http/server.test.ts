// The HTTP server on node:net (127.0.0.1): routing, keep-alive, pipelining in order,
// bodies, Expect: 100-continue, framing errors, handler errors.
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, cors, HttpError, SseDecoder, type App, type SseStream } from '../../src/index.js';
import { nativeTransport } from '../../src/net/native.js';

// One suite, both transports (the native one when the addon is built here).
const TRANSPORTS = (nativeTransport().module !== null ? ['native', 'net'] : ['net']) as Array<'native' | 'net'>;

let app: App | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

let transport: 'native' | 'net' = 'net';
async function start(setup: (a: App) => void, options = {}) {
  app = createServer({ ...options, transport });
  setup(app);
  return (await app.listen()).port;
}

/** Sends raw bytes (optionally in pieces), half-closes, and returns everything the server sent. */
function exchange(port: number, ...pieces: Array<string | Buffer>): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', async () => {
      for (const p of pieces) {
        s.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
        await new Promise((r) => setTimeout(r, 5));
      }
      s.end();
    });
    s.on('data', (d) => chunks.push(d));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', reject);
  });
}

/**
 * Decodes a chunked body strictly as bytes arrive (RFC 9112 §7.1); returns the payloads of
 * the chunks completed so far, and `done` after the last chunk.
 */
function dechunker() {
  let buf = Buffer.alloc(0);
  const st = { done: false };
  return Object.assign(st, {
    push(b: Buffer): Buffer[] {
      buf = Buffer.concat([buf, b]);
      const out: Buffer[] = [];
      for (;;) {
        if (st.done) {
          if (buf.length > 0) throw new Error('bytes after the last chunk');
          return out;
        }
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return out;
        const size = buf.subarray(0, eol).toString('latin1');
        if (!/^[0-9a-f]+$/.test(size)) throw new Error(`bad chunk size line ${JSON.stringify(size)}`);
        const n = parseInt(size, 16);
        if (n === 0) {
          if (buf.length < eol + 4) return out;
          if (buf.subarray(eol + 2, eol + 4).toString('latin1') !== '\r\n') throw new Error('bad last chunk');
          buf = buf.subarray(eol + 4);
          st.done = true;
          continue;
        }
        if (buf.length < eol + 2 + n + 2) return out;
        if (buf.subarray(eol + 2 + n, eol + 4 + n).toString('latin1') !== '\r\n') throw new Error('chunk without CRLF');
        out.push(buf.subarray(eol + 2, eol + 2 + n));
        buf = buf.subarray(eol + 4 + n);
      }
    },
  });
}

const statuses = (raw: string) => [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

describe.each(TRANSPORTS)('HTTP server (%s transport)', (t) => {
  beforeAll(() => {
    transport = t;
  });

  it('routes with params, answers 404 and 405 with Allow, and HEAD without a body', async () => {
    const port = await start((a) => {
      a.get('/users/:id', (req) => ({ id: req.params.id, q: req.search }));
      a.post('/users', () => 'created');
    });
    const raw = await exchange(port,
      'GET /users/42?x=1 HTTP/1.1\r\nHost: a\r\n\r\n' +
      'GET /nope HTTP/1.1\r\nHost: a\r\n\r\n' +
      'DELETE /users HTTP/1.1\r\nHost: a\r\n\r\n' +
      'HEAD /users/7 HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(app!.transport).toBe(t);
    expect(statuses(raw)).toEqual([200, 404, 405, 200]);
    expect(raw).toContain('{"id":"42","q":"x=1"}');
    expect(raw).toMatch(/Allow: OPTIONS, POST\r\n/);
    expect(raw.endsWith('\r\n\r\n')).toBe(true); // the HEAD response carries no body
  });

  it('answers pipelined requests in order, even when handlers finish out of order', async () => {
    const port = await start((a) => {
      a.get('/slow', () => new Promise((r) => setTimeout(() => r('slow'), 30)));
      a.get('/fast', () => 'fast');
    });
    const raw = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(raw.indexOf('slow')).toBeLessThan(raw.indexOf('fast'));
    expect(statuses(raw)).toEqual([200, 200]);
  });

  it('pipelined responses written together arrive intact and in order, small (copied into one write) and large (gathered)', async () => {
    const body = (n: number) => Buffer.alloc(40_000 + n * 1000, 0x41 + n).toString('latin1');
    const port = await start((a) => {
      a.get('/big/:n', (req) => body(Number(req.params.n)));
      a.get('/small/:n', (req) => `small ${req.params.n}`);
    });
    const reqs = ['/small/1', '/small/2', '/big/0', '/big/1', '/small/3', '/big/2'];
    const raw = await exchange(port, reqs.map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join(''));
    const bodies = raw.split(/HTTP\/1\.1 200 OK\r\n/).slice(1).map((r) => r.slice(r.indexOf('\r\n\r\n') + 4));
    expect(bodies).toEqual(['small 1', 'small 2', body(0), body(1), 'small 3', body(2)]);
  });

  it('reads JSON and chunked bodies, and sends 100 Continue when asked', async () => {
    const port = await start((a) => a.post('/echo', (req) => ({ got: req.json() })));
    const raw = await exchange(port,
      'POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n', '{"a":1}',
      'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n');
    expect(statuses(raw)).toEqual([100, 200, 200]);
    expect(raw).toContain('{"got":{"a":1}}');
    expect(raw).toContain('{"got":[1,2]}');
  });

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

  it('nothing a handler or hook does wrong takes the process down: unserialisable values, failing onSend and onError', async () => {
    const reported: string[] = [];
    const port = await start((a) => {
      a.onError = (e) => {
        reported.push(String(e));
        if (String(e).includes('report me')) throw new Error('the reporter fails too');
      };
      a.addHook('onSend', (req, _res, payload) => {
        if (req.path === '/json-only') return JSON.stringify({ data: JSON.parse(String(payload)) }); // throws on a text payload
      });
      a.get('/bigint', async () => ({ n: 1n }));
      a.get('/circular', () => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      });
      a.get('/json-only', () => {
        throw new Error('report me');
      });
      a.addHook('onError', (e) => {
        if (String(e).includes('bigint')) throw new Error('onError hook fails');
      });
      a.get('/ok', () => 'ok');
    });
    const raw = await exchange(port, ['/bigint', '/circular', '/json-only', '/ok'].map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join(''));
    expect(statuses(raw)).toEqual([500, 500, 500, 200]);
    expect(raw).toMatch(/\r\n\r\nok$/);
    expect(reported.some((r) => /BigInt/.test(r))).toBe(true);
  });

  it('a handler that fails after starting a stream: its head not yet out, a 500 instead; already out, cut and closed', async () => {
    const closed: string[] = [];
    const port = await start((a) => {
      a.get('/slow', () => new Promise((r) => setTimeout(() => r('slow'), 50)));
      a.get('/stream/:n', async (req, res) => {
        const s = res.stream();
        s.onClose(() => closed.push(req.params.n));
        s.write('partial');
        await new Promise((r) => setTimeout(r, 10));
        throw new Error('boom');
      });
      a.get('/next', () => 'next');
    });
    // Behind /slow, the stream's head has not gone out when it fails: it becomes a 500,
    // and the connection goes on.
    const queued = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /stream/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(queued)).toEqual([200, 500, 200]);
    expect(queued).not.toContain('partial');
    // At the front, its head and a chunk are out: the body is cut (no last chunk) and the
    // connection closes, so the client can tell; what was pipelined behind is not answered.
    const cut = await exchange(port, 'GET /stream/2 HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(cut)).toEqual([200]);
    expect(cut).toMatch(/\r\n\r\n7\r\npartial\r\n$/);
    expect(closed.sort()).toEqual(['1', '2']);
  });

  it('keepAliveTimeout runs only between requests: a handler slower than it still answers, then the idle close comes', async () => {
    const port = await start((a) => {
      a.get('/slow', () => new Promise((r) => setTimeout(() => r('slow'), 600)));
    }, { keepAliveTimeout: 200 });
    const t0 = Date.now();
    let answeredAt = -1;
    const raw = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n'));
      s.on('data', (d) => {
        chunks.push(d);
        answeredAt = Date.now() - t0;
      });
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    });
    const closedAt = Date.now() - t0;
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nslow$/);
    expect(answeredAt).toBeGreaterThanOrEqual(550);
    // Then idle: closed keepAliveTimeout (about) after the answer, not left open.
    expect(closedAt - answeredAt).toBeGreaterThanOrEqual(150);
    expect(closedAt - answeredAt).toBeLessThan(2000);
  });

  it('Upgrade and CONNECT are answered as HTTP with Connection: close; what follows is not read', async () => {
    let calls = 0;
    const port = await start((a) => a.get('/', () => {
      calls++;
      return 'hello';
    }));
    const up = await exchange(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n' +
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + 'x'.repeat(100_000), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(up)).toEqual([200]);
    expect(up).toContain('\r\nConnection: close\r\n');
    expect(calls).toBe(1);
    const connect = await exchange(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01binary', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(connect)).toEqual([405]);
    expect(connect).toContain('\r\nConnection: close\r\n');
    expect(calls).toBe(1);
  });

  it('a request and the client\'s FIN arriving together: answered, then closed at once (the EOF is not missed)', async () => {
    const port = await start((a) => {
      a.get('/', () => 'hi');
      a.post('/st', async (req) => {
        let n = 0;
        for await (const c of req.stream()) n += c.length;
        return `n${n}`;
      }, { stream: true });
    }, { keepAliveTimeout: 3000, requestTimeout: 5000 });
    const burst = (bytes: string) => new Promise<{ raw: string; ms: number }>((resolve) => {
      const t0 = Date.now();
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => {
        s.write(bytes);
        s.end();
      });
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => resolve({ raw: Buffer.concat(chunks).toString('latin1'), ms: Date.now() - t0 }));
    });
    const get = await burst('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(get.raw)).toEqual([200]);
    expect(get.ms).toBeLessThan(1500); // (not after keepAliveTimeout)
    // A streamed body cut short by the client's end: the reader throws a 400 HttpError.
    const cut = await burst('POST /st HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
    expect(statuses(cut.raw)).toEqual([400]);
    expect(cut.ms).toBeLessThan(1500); // (not after requestTimeout)
  });

  it('HEAD on an SSE or streaming route: the head is the answer, the stream ends at once, the connection goes on', async () => {
    const closed: string[] = [];
    const port = await start((a) => {
      a.get('/events', (_req, res) => {
        const s = res.sse();
        s.onClose(() => closed.push('sse'));
        s.send({ data: 'never sent' });
      });
      a.get('/file', async (_req, res) => {
        const s = res.stream();
        s.onClose(() => closed.push('stream'));
        for (let i = 0; i < 3; i++) if (!s.write('payload-x')) await s.drained();
        s.end();
      });
      a.get('/', () => 'next');
    });
    // (the client stays open: an SSE client that half-closes would end the stream anyway)
    const raw = await new Promise<string>((resolve) => {
      let got = '';
      const s = net.connect(port, '127.0.0.1', () =>
        s.write('HEAD /events HTTP/1.1\r\nHost: a\r\n\r\nHEAD /file HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n'));
      const done = () => {
        s.destroy();
        resolve(got);
      };
      const timer = setTimeout(done, 1500);
      s.on('data', (d) => {
        got += d.toString('latin1');
        if (got.endsWith('next')) {
          clearTimeout(timer);
          done();
        }
      });
    });
    expect(statuses(raw)).toEqual([200, 200, 200]);
    expect(raw).toContain('Content-Type: text/event-stream');
    expect(raw).not.toContain('never sent');
    expect(raw).not.toContain('payload-x');
    expect(raw).toMatch(/\r\n\r\nnext$/);
    expect(closed.sort()).toEqual(['sse', 'stream']);
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
    const closing = app!.close();
    const raw = await slow;
    await closing;
    app = null;
    expect(statuses(raw)).toEqual([200]);
    expect(raw).toContain('\r\nConnection: close\r\n');
  });

  it('a client that pipelines faster than it reads: requests wait (bounded memory), then all are answered in order', async () => {
    let calls = 0;
    const port = await start((a) => a.get('/big/:i', (req) => {
      calls++;
      const b = Buffer.alloc(256 * 1024, 0x61);
      b.write(`#${req.params.i}#`);
      return b;
    }));
    const sock = net.connect(port, '127.0.0.1');
    sock.pause(); // reads nothing for now
    await new Promise((r) => sock.once('connect', r));
    let all = '';
    for (let i = 0; i < 120; i++) all += `GET /big/${i} HTTP/1.1\r\nHost: a\r\n\r\n`;
    sock.write(all);
    await new Promise((r) => setTimeout(r, 300));
    // Only what fits the socket buffers and the high-water mark was handled: 120 x 256 KiB
    // (30 MiB) were not made and held in memory.
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(40);
    // Now the client reads: every answer comes, in order.
    const got: Buffer[] = [];
    let size = 0;
    const want = 120 * (256 * 1024);
    await new Promise<void>((resolve) => {
      sock.on('data', (d: Buffer) => {
        got.push(d);
        size += d.length;
        if (size >= want) resolve();
      });
      sock.resume();
    });
    const text = Buffer.concat(got).toString('latin1');
    const order = [...text.matchAll(/#(\d+)#/g)].map((m) => Number(m[1]));
    expect(order).toEqual(Array.from({ length: 120 }, (_, i) => i));
    expect(calls).toBe(120);
    sock.destroy();
  }, 20_000);

  it('listen(): a name such as localhost is looked up; a port outside 0..65535 is refused', async () => {
    app = createServer({ transport });
    app.get('/', () => 'here');
    await expect(app.listen({ port: 70000 })).rejects.toThrow(/port must be an integer between 0 and 65535/);
    await expect(app.listen({ port: -1 })).rejects.toThrow(RangeError);
    const { host, port } = await app.listen({ host: 'localhost' });
    const raw = await new Promise<string>((resolve, reject) => {
      let got = '';
      const s = net.connect(port, host, () => s.end('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
      s.on('data', (d) => (got += d));
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    expect(raw).toMatch(/\r\n\r\nhere$/);
  });

  it('after being held for its backlog, and after an unread streamed body, a connection takes requests again', async () => {
    const port = await start((a) => {
      const big = 'x'.repeat(16 * 1024);
      a.get('/', () => big);
      a.get('/small', () => 'small-ok');
      a.post('/up', async () => {
        await new Promise((r) => setTimeout(r, 200));
        return 'up-ok'; // (never reads the body)
      }, { stream: true });
    });
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    let got = '';
    sock.on('data', (d) => (got += d.toString('latin1')));
    const until = async (what: string) => {
      for (let i = 0; i < 400 && !got.includes(what); i++) await new Promise((r) => setTimeout(r, 5));
      return got.includes(what);
    };
    // 400 answers of 16 KiB to a client that reads late: held, released, held again...
    sock.pause();
    sock.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(400));
    await new Promise((r) => setTimeout(r, 300));
    sock.resume();
    sock.write('GET /small HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(await until('small-ok')).toBe(true);
    expect(got.split('HTTP/1.1 200 OK').length - 1).toBe(401);
    // A streamed body that ends in the read that fills the reader (70,000 bytes), and a
    // handler that answers without reading it: the connection still reads on.
    got = '';
    sock.write(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n\r\n${'b'.repeat(70000)}`);
    expect(await until('up-ok')).toBe(true);
    sock.write('GET /small HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(await until('small-ok')).toBe(true);
    sock.destroy();
  });

  it('a handler that throws gets a 500 and the connection goes on', async () => {
    const errors: unknown[] = [];
    const port = await start((a) => {
      a.onError = (e) => errors.push(e);
      a.get('/boom', () => {
        throw new Error('boom');
      });
      a.get('/ok', () => 'ok');
    });
    const raw = await exchange(port, 'GET /boom HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(raw)).toEqual([500, 200]);
    expect(errors).toHaveLength(1);
  });

  it('every smuggling case over the wire: reject → error status, no handler, closed; accept → handled', async () => {
    let calls = 0;
    const port = await start((a) => a.all('/*', () => {
      calls++;
      return 'ok';
    }));
    const cases = JSON.parse(readFileSync(new URL('../../../shared/fixtures/http/smuggling/cases.json', import.meta.url), 'utf8')) as
      Array<{ name: string; raw: string; expect: string; status?: number; handlerMessages?: number }>;
    for (const c of cases) {
      calls = 0;
      const raw = await exchange(port, c.raw);
      if (c.expect === 'reject') {
        expect(calls, c.name).toBe(0);
        const st = statuses(raw);
        expect(st.at(-1), c.name).toBe(c.status ?? st.at(-1));
        expect(st.at(-1)! >= 400, c.name).toBe(true);
      } else {
        expect(calls, c.name).toBe(c.handlerMessages ?? 1);
      }
    }
  });

  it('streams SSE events (framed by the WASM framer) with heartbeats, Last-Event-ID, and a close seen by the handler', async () => {
    let closedByClient = false;
    const port = await start((a) => {
      a.get('/events', (req, res) => {
        const s = res.sse({ heartbeatMs: 10 });
        s.send({ id: '7', event: 'tick', data: `resumed after ${req.header('last-event-id')}` });
        setTimeout(() => s.send({ data: 'line 1\nline 2' }), 30);
        s.onClose(() => {
          closedByClient = true;
        });
      });
    });
    const events: Array<{ type: string; data: string; lastEventId: string }> = [];
    let raw = '';
    const d = new SseDecoder({ onEvent: (e) => events.push(e) });
    const chunks = dechunker();
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => sock.write('GET /events HTTP/1.1\r\nHost: a\r\nLast-Event-ID: 6\r\n\r\n'));
      let headDone = false;
      sock.on('data', (b) => {
        raw += b.toString('latin1');
        let body = b;
        if (!headDone) {
          const i = raw.indexOf('\r\n\r\n');
          if (i < 0) return;
          headDone = true;
          body = Buffer.from(raw.slice(i + 4), 'latin1');
        }
        for (const c of chunks.push(body)) d.push(c);
        if (events.length === 2) sock.destroy();
      });
      sock.on('close', () => resolve());
      sock.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\nContent-Type: text\/event-stream\r\n/);
    expect(raw).toMatch(/\r\nTransfer-Encoding: chunked\r\n/);
    expect(raw).toContain(': keepalive');
    expect(events).toEqual([
      { type: 'tick', data: 'resumed after 6', lastEventId: '7' },
      { type: 'message', data: 'line 1\nline 2', lastEventId: '7' },
    ].map((e) => expect.objectContaining(e)));
    for (let i = 0; i < 100 && !closedByClient; i++) await new Promise((r) => setTimeout(r, 10));
    expect(closedByClient).toBe(true);
  });

  it('a request pipelined behind an SSE stream is answered after the stream ends', async () => {
    const port = await start((a) => {
      a.get('/stream', (_req, res) => {
        const s = res.sse({ heartbeatMs: 0 });
        s.send({ data: 'only' });
        setTimeout(() => s.close(), 20);
      });
      a.get('/after', () => 'after');
    });
    const raw = await exchange(port, 'GET /stream HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n');
    // The stream is chunked, so its end is visible and the connection carries on.
    const i = raw.indexOf('\r\n\r\n') + 4;
    const second = raw.indexOf('HTTP/1.1 200', i);
    const body = dechunker();
    expect(Buffer.concat(body.push(Buffer.from(raw.slice(i, second), 'latin1'))).toString()).toBe('data: only\n\n');
    expect(body.done).toBe(true);
    expect(raw.slice(second)).toMatch(/\r\n\r\nafter$/);
  });

  it('slowloris: trickling connections get 408 after requestTimeout, while a normal client is served', async () => {
    const port = await start((a) => a.get('/', () => 'ok'), { requestTimeout: 300, keepAliveTimeout: 5000 });
    const trickle = Array.from({ length: 200 }, () => new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1');
      const head = 'GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ';
      let i = 0;
      const timer = setInterval(() => {
        if (s.writable) s.write(i < head.length ? head[i] : 'x'); // the request line, then a header value, a byte at a time
        i++;
      }, 20);
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => {
        clearInterval(timer);
        resolve(Buffer.concat(chunks).toString('latin1'));
      });
      s.on('error', () => {});
    }));
    // Meanwhile a normal client is answered at once.
    const t0 = Date.now();
    const normal = await exchange(port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(normal)).toEqual([200]);
    expect(Date.now() - t0).toBeLessThan(250);
    const slow = await Promise.all(trickle);
    for (const r of slow) expect(statuses(r)).toEqual([408]);
  });

  it('res.stream(): chunked bodies (fetch reads them), raw for HTTP/1.0 with close, none for HEAD; later responses follow', async () => {
    const port = await start((a) => {
      a.get('/count', async (_req, res) => {
        const s = res.status(201).header('Content-Type', 'text/plain').stream();
        for (let i = 0; i < 1000; i++) if (!s.write(`line ${i}\n`)) await s.drained();
        s.end('end\n');
      });
      a.get('/after', () => 'after');
    });
    const expected = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join('') + 'end\n';
    const r = await fetch(`http://127.0.0.1:${port}/count`);
    expect(r.status).toBe(201);
    expect(r.headers.get('transfer-encoding')).toBe('chunked');
    expect(await r.text()).toBe(expected);

    const raw = await exchange(port, 'GET /count HTTP/1.1\r\nHost: a\r\n\r\nHEAD /count HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n');
    const i = raw.indexOf('\r\n\r\n') + 4;
    const d = dechunker();
    const second = raw.indexOf('HTTP/1.1 201', i);
    expect(Buffer.concat(d.push(Buffer.from(raw.slice(i, second), 'latin1'))).toString()).toBe(expected);
    expect(d.done).toBe(true);
    // HEAD: the head only (no chunks), then the pipelined GET /after.
    expect(raw.slice(second)).toMatch(/^HTTP\/1\.1 201 Created\r\nContent-Type: text\/plain\r\nTransfer-Encoding: chunked\r\n\r\nHTTP\/1\.1 200 OK\r\nContent-Length: 5\r\n\r\nafter$/);

    const old = await exchange(port, 'GET /count HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    expect(old).toMatch(/\r\nConnection: close\r\n/);
    expect(old).not.toMatch(/Transfer-Encoding/);
    expect(old.slice(old.indexOf('\r\n\r\n') + 4)).toBe(expected);
  });

  it('res.stream() backpressure: a writer that waits for drained() is held back by a client that does not read', async () => {
    const CHUNK = 64 * 1024;
    const TOTAL = 48 * 1024 * 1024;
    let written = 0;
    let finished = false;
    // Chunks of different bytes and sizes, so that a write cut short inside a queued chunk
    // (or a gathered write over several) that lost or reordered bytes would show.
    const sent = createHash('sha256');
    const port = await start((a) => a.get('/big', async (_req, res) => {
      const s = res.stream();
      for (let k = 0; written < TOTAL && !s.closed; k++) {
        const c = Buffer.alloc(Math.min(CHUNK - (k % 7) * 1001, TOTAL - written), k & 0xff);
        written += c.length;
        sent.update(c);
        if (!s.write(c)) await s.drained();
      }
      s.end();
      finished = true;
    }));
    const sock = net.connect(port, '127.0.0.1', () => sock.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n'));
    sock.pause();
    await new Promise((r) => setTimeout(r, 300));
    // Held back: what it wrote is bounded by the socket buffers plus the high-water mark,
    // far short of the whole body.
    const whilePaused = written;
    expect(whilePaused).toBeLessThan(20 * 1024 * 1024);
    expect(finished).toBe(false);
    const d = dechunker();
    let got = 0;
    const received = createHash('sha256');
    let head = true;
    let pending = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      sock.on('data', (b: Buffer) => {
        if (head) {
          pending = Buffer.concat([pending, b]);
          const i = pending.indexOf('\r\n\r\n');
          if (i < 0) return;
          head = false;
          b = pending.subarray(i + 4);
        }
        for (const c of d.push(b)) {
          got += c.length;
          received.update(c);
        }
        if (d.done) {
          sock.destroy();
          resolve();
        }
      });
      sock.on('error', reject);
      sock.resume();
    });
    expect(got).toBe(TOTAL);
    expect(received.digest('hex')).toBe(sent.digest('hex'));
    expect(finished).toBe(true);
  });

  it('res.stream(): a long stream that waits for drained() often keeps no callback per wait', async () => {
    let held = -1;
    const port = await start((a) => a.get('/many', async (_req, res) => {
      const s = res.stream({ highWaterMark: 1024 });
      for (let i = 0; i < 5000; i++) {
        s.write(`${i}\n`);
        await s.drained();
      }
      // (white-box: the stream's close callbacks and drain waiters, which used to grow by one per wait)
      const inner = s as unknown as { closers: unknown[] | null; waiting: unknown[] | null };
      held = (inner.closers?.length ?? 0) + (inner.waiting?.length ?? 0);
      s.end();
    }));
    const raw = await exchange(port, 'GET /many HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(raw).toContain('\r\n4999\n\r\n0\r\n\r\n');
    expect(held).toBe(0);
  });

  it('headersTimeout: a head that trickles in is cut with 408; a slow body gets the longer requestTimeout', async () => {
    const port = await start((a) => a.post('/', (req) => `got ${req.body.length}`), { headersTimeout: 200, requestTimeout: 900 });
    const t0 = Date.now();
    const timed = (p: Promise<string>) => p.then((raw) => ({ raw, ms: Date.now() - t0 }));
    const slowHead = timed(new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.write('POST / HTTP/1.1\r\nHost: a\r\n'));
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    }));
    const slowBody = timed(new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12'));
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    }));
    // A body that arrives after the headers timeout, but within the request timeout, is served.
    const okBody = exchange(port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n', Buffer.alloc(0),
      ...Array.from({ length: 60 }, () => Buffer.alloc(0)), 'abcd');
    const [h, b, ok] = await Promise.all([slowHead, slowBody, okBody]);
    expect(statuses(h.raw)).toEqual([408]);
    expect(h.ms).toBeLessThan(700);
    expect(statuses(b.raw)).toEqual([408]);
    expect(b.ms).toBeGreaterThanOrEqual(800);
    expect(ok).toContain('got 4');
    expect(() => createServer({ headersTimeout: 0 })).toThrow(/headersTimeout must be a positive integer/);
  });

  it.runIf(process.platform === 'linux')('no descriptor leaks after thousands of connections (answered, reset, half-closed, idle)', async () => {
    const port = await start((a) => a.get('/', () => 'ok'), { keepAliveTimeout: 100 });
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    const one = (i: number) => new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        if (i % 4 === 0) s.end('GET / HTTP/1.1\r\nHost: a\r\n\r\n'); // answered, then half-closed
        else if (i % 4 === 1) s.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'); // server closes
        else if (i % 4 === 2) s.resetAndDestroy(); // RST
        else s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n'); // kept alive, closed by the idle timeout
      });
      s.resume(); // (reads, so that the server's FIN is seen)
      s.on('close', () => resolve());
      s.on('error', () => {});
    });
    for (let i = 0; i < 2000; i += 200) await Promise.all(Array.from({ length: 200 }, (_, j) => one(i + j)));
    for (let i = 0; i < 100 && (app!.connections.size > 0 || fds() > before); i++) await new Promise((r) => setTimeout(r, 20));
    expect(app!.connections.size).toBe(0);
    expect(fds()).toBeLessThanOrEqual(before);
  }, 20_000);

  it('streamed request bodies: the handler runs at the head, reads chunks as they come, and pipelining stays in order', async () => {
    const port = await start((a) => {
      a.post('/upload', async (req, res) => {
        expect(() => req.text()).toThrow(/streams its body/);
        const h = createHash('sha256');
        let n = 0;
        for await (const c of req.stream()) {
          h.update(c);
          n += c.length;
        }
        res.json({ n, sha: h.digest('hex') });
      }, { stream: true });
      a.post('/buffered', async (req) => {
        let n = 0;
        for await (const c of req.stream()) n += c.length; // one chunk: the buffered body
        return `${n} ${req.text()}`;
      });
    });
    const body = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const r = await fetch(`http://127.0.0.1:${port}/upload`, { method: 'POST', body });
    expect(await r.json()).toEqual({ n: body.length, sha: createHash('sha256').update(body).digest('hex') });
    // chunked upload, then a pipelined buffered request: answered in order
    const raw = await exchange(port,
      'POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', '2\r\nde\r\n0\r\n\r\n',
      'POST /buffered HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi');
    expect(statuses(raw)).toEqual([200, 200]);
    expect(raw).toContain(`{"n":5,"sha":"${createHash('sha256').update('abcde').digest('hex')}"}`);
    expect(raw.indexOf('"n":5')).toBeLessThan(raw.indexOf('2 hi'));
  });

  it('streamed request bodies: a client that stops mid-body makes the reader throw; a framing error too', async () => {
    const errors: string[] = [];
    const port = await start((a) => a.post('/upload', async (req) => {
      try {
        for await (const _ of req.stream());
        return 'complete';
      } catch (e) {
        errors.push((e as Error).message);
        throw e;
      }
    }, { stream: true }));
    await exchange(port, 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly part');
    const raw = await exchange(port, 'POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n');
    expect(statuses(raw)).toEqual([400]);
    for (let i = 0; i < 50 && errors.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/before the request body ended/);
    expect(errors[1]).toMatch(/chunk/i);
  });

  it('streamed request bodies: a handler that answers without reading (or stops reading) lets the connection go on', async () => {
    const port = await start((a) => {
      a.post('/ignore', () => 'ignored', { stream: true });
      a.post('/first', async (req) => {
        for await (const c of req.stream()) return `first ${c.length > 0}`; // stops after one chunk
        return 'none';
      }, { stream: true });
      a.get('/', () => 'next');
    }, { requestTimeout: 5000 });
    const big = Buffer.alloc(1024 * 1024, 0x61);
    const t0 = Date.now();
    const raw = await exchange(port,
      'POST /ignore HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n', big,
      'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
      'POST /first HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n', big, '\r\n0\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    // Answered at once, not after requestTimeout, and nothing but the four answers.
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(statuses(raw)).toEqual([200, 200, 200, 200]);
    expect(raw).toMatch(/\r\n\r\nignored[\s\S]*\r\n\r\nnext[\s\S]*\r\n\r\nfirst true[\s\S]*\r\n\r\nnext$/);
  });

  it('streamed request bodies: a body that stalls after its request was answered closes the connection, with no extra response', async () => {
    const port = await start((a) => {
      a.post('/ignore', () => 'ignored', { stream: true });
      a.post('/echo', async (req, res) => {
        const out = res.stream();
        try {
          for await (const c of req.stream()) out.write(c);
        } catch {
          return; // (the body failed: the server cuts the answer)
        }
        out.end();
      }, { stream: true });
    }, { requestTimeout: 200 });
    const send = (head: string) => new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.write(head + 'some'));
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    });
    const ignored = await send('POST /ignore HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n');
    expect(statuses(ignored)).toEqual([200]);
    expect(ignored).toMatch(/\r\n\r\nignored$/);
    // An answer under way when its body fails is cut: no last chunk, so the client can tell.
    const echoed = await send('POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n');
    expect(statuses(echoed)).toEqual([200]);
    expect(echoed).toMatch(/\r\n\r\n4\r\nsome\r\n$/);
  });

  it('streamed request bodies: a body that stalls past requestTimeout gets 408 as its answer (not a 500)', async () => {
    let failed: unknown = null;
    const port = await start((a) => a.post('/upload', async (req) => {
      try {
        for await (const _ of req.stream());
      } catch (e) {
        failed = e;
        throw e;
      }
      return 'complete';
    }, { stream: true }), { requestTimeout: 200 });
    const raw = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nsome'));
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    });
    expect(statuses(raw)).toEqual([408]);
    expect(String(failed)).toMatch(/requestTimeout/);
  });

  it('a large streamed upload to a slow reader keeps memory bounded (reading pauses; backpressure reaches the client)', async () => {
    const TOTAL = 128 * 1024 * 1024;
    let received = 0;
    let peak = 0;
    let sent = 0;
    let sentWhenStalled = -1;
    const port = await start((a) => a.post('/upload', async (req) => {
      let unpaced = 0;
      for await (const c of req.stream()) {
        // A reader that stalls for a while (the client could send the whole body meanwhile),
        // then reads at 512 KiB per 10 ms, slower than loopback.
        if (received === 0) {
          await new Promise((r) => setTimeout(r, 600));
          sentWhenStalled = sent;
        }
        received += c.length;
        unpaced += c.length;
        if (unpaced >= 512 * 1024) {
          unpaced = 0;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      return String(received);
    }, { stream: true }), { maxBodySize: TOTAL });
    global.gc?.();
    const base = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss - base)), 10);
    const answer = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', async () => {
        s.write(`POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: ${TOTAL}\r\n\r\n`);
        const block = Buffer.alloc(256 * 1024, 0x5a);
        for (; sent < TOTAL; sent += block.length) {
          if (!s.write(block)) await new Promise((r) => s.once('drain', r)); // the client honours backpressure too
        }
      });
      s.on('data', (d) => {
        chunks.push(d);
        if (Buffer.concat(chunks).toString().endsWith(String(TOTAL))) s.destroy();
      });
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      s.on('error', reject);
    });
    clearInterval(sampler);
    expect(statuses(answer)).toEqual([200]);
    expect(received).toBe(TOTAL);
    // Unbounded buffering would hold most of the 128 MiB; with backpressure the server
    // holds the high-water mark plus socket buffers.
    expect(peak).toBeLessThan(64 * 1024 * 1024);
    // ...and the client was held back while the reader stalled.
    expect(sentWhenStalled).toBeGreaterThan(0);
    expect(sentWhenStalled).toBeLessThan(32 * 1024 * 1024);
  }, 30_000);

  it('idle keep-alive connections hold no pool slot; a connection mid-request holds one', async () => {
    const port = await start((a) => a.get('/', () => 'ok'), { maxConnections: 64 });
    const pool = app!.core.pool;
    const open = () => new Promise<net.Socket>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
      s.once('data', () => resolve(s));
    });
    const idle = await Promise.all(Array.from({ length: 40 }, open));
    expect(app!.connections.size).toBe(40);
    expect(pool.available).toBe(64);
    const partial = net.connect(port, '127.0.0.1', () => partial.write('GET / HTTP/1.1\r\nHo'));
    for (let i = 0; i < 100 && pool.available === 64; i++) await new Promise((r) => setTimeout(r, 5));
    expect(pool.available).toBe(63);
    // The idle ones still work (each leases a slot again for its next request).
    const again = await new Promise<string>((resolve) => {
      idle[0].once('data', (d) => resolve(d.toString()));
      idle[0].write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    });
    expect(again).toMatch(/\r\n\r\nok$/);
    for (const s of [...idle, partial]) s.destroy();
  });

  it('slow readers: an SSE client that never reads is dropped once maxBufferedOutput waits (memory stays bounded)', async () => {
    let sent = 0;
    let closedAt = -1;
    const port = await start((a) => a.get('/firehose', async (_req, res) => {
      const s = res.sse({ heartbeatMs: 0 });
      s.onClose(() => (closedAt = sent));
      const data = 'x'.repeat(64 * 1024);
      while (!s.closed && sent < 512 * 1024 * 1024) {
        s.send({ data });
        sent += data.length;
        await new Promise((r) => setImmediate(r));
      }
    }), { maxBufferedOutput: 1024 * 1024 });
    const sock = net.connect(port, '127.0.0.1', () => sock.write('GET /firehose HTTP/1.1\r\nHost: a\r\n\r\n'));
    sock.pause(); // never reads
    sock.on('error', () => {});
    for (let i = 0; i < 500 && closedAt < 0; i++) await new Promise((r) => setTimeout(r, 10));
    // Dropped after the socket buffers and 1 MiB filled up, not after 512 MiB.
    expect(closedAt).toBeGreaterThan(0);
    expect(closedAt).toBeLessThan(64 * 1024 * 1024);
    expect(app!.connections.size).toBe(0);
    sock.destroy();
    expect(() => createServer({ maxBufferedOutput: -1 })).toThrow(/maxBufferedOutput/);
  });

  /**
   * A server whose /events/:n streams each send one event, and a connection that pipelines
   * three of them; resolves once the first event arrived. `closed` lists the streams that
   * ended (onClose), `got()` what the client received so far.
   */
  async function threeStreams() {
    const closed: string[] = [];
    const port = await start((a) => a.get('/events/:n', (req, res) => {
      const s = res.sse({ heartbeatMs: 20 });
      s.onClose(() => closed.push(req.params.n));
      s.send({ data: `stream ${req.params.n}` });
    }));
    const sock = net.connect(port, '127.0.0.1', () =>
      sock.write('GET /events/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /events/2 HTTP/1.1\r\nHost: a\r\n\r\nGET /events/3 HTTP/1.1\r\nHost: a\r\n\r\n'));
    let got = '';
    sock.on('data', (d) => (got += d.toString('latin1')));
    for (let i = 0; i < 200 && !got.includes('stream 1'); i++) await new Promise((r) => setTimeout(r, 5));
    return { closed, sock, got: () => got };
  }

  it('a client that leaves ends every stream it asked for, the pipelined ones still waiting too', async () => {
    const { closed, sock, got } = await threeStreams();
    expect(got()).not.toContain('stream 2'); // (held behind the first)
    sock.destroy();
    for (let i = 0; i < 200 && (closed.length < 3 || app!.connections.size > 0); i++) await new Promise((r) => setTimeout(r, 5));
    expect(closed.sort()).toEqual(['1', '2', '3']);
    expect(app!.connections.size).toBe(0);
  });

  it('graceful shutdown ends every stream a connection asked for, in order, each with its last chunk', async () => {
    const { closed, sock, got } = await threeStreams();
    const ended = new Promise((r) => sock.on('close', r));
    const t0 = Date.now();
    await app!.close({ deadline: 2000 });
    await ended;
    expect(Date.now() - t0).toBeLessThan(1000); // (not held until the deadline)
    expect(closed.sort()).toEqual(['1', '2', '3']);
    // Each answer owed goes out whole: the open stream, then the two that waited their turn.
    const answers = got().split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(3);
    answers.forEach((a, i) => expect(a).toMatch(new RegExp(`data: stream ${i + 1}\n\n\r\n0\r\n\r\n$`)));
    app = null;
  });

  it('an open SSE stream does not keep its request alive (memory per idle stream stays small)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    let req: WeakRef<object> | null = null;
    let stream: SseStream | null = null;
    const port = await start((a) => a.get('/events', (q, res) => {
      req = new WeakRef(q);
      stream = res.sse({ heartbeatMs: 0 });
      stream.comment('hi');
    }));
    const sock = net.connect(port, '127.0.0.1', () => sock.write('GET /events?x=1 HTTP/1.1\r\nHost: a\r\nX-Pad: ' + 'p'.repeat(2000) + '\r\n\r\n'));
    let got = '';
    sock.on('data', (d) => (got += d.toString('latin1')));
    for (let i = 0; i < 200 && !got.includes(': hi'); i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 10));
    gc();
    await new Promise((r) => setTimeout(r, 10));
    gc();
    expect(req!.deref()).toBeUndefined();
    // The stream itself lives on.
    stream!.send({ data: 'still here' });
    for (let i = 0; i < 200 && !got.includes('data: still here'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(got).toContain('data: still here\n\n');
    sock.destroy();
  });

  it('invalid JSON bodies get 400, HttpError picks the status, the query is decoded; IPv6 loopback works', async () => {
    const logged: unknown[] = [];
    app = createServer({ transport });
    app.onError = (e) => logged.push(e);
    app.post('/json', (req) => ({ got: req.json() }));
    app.get('/find', (req) => {
      if (req.query.get('q') === null) throw new HttpError(404, 'nothing to find');
      if (req.query.get('q') === 'down') throw new HttpError(503, 'secret detail');
      return { q: req.query.get('q'), tags: req.query.getAll('t') };
    });
    const { port } = await app.listen({ host: '::1' });
    const base = `http://[::1]:${port}`;
    const bad = await fetch(`${base}/json`, { method: 'POST', body: '{"a":' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/^the request body is not valid JSON/);
    expect(await (await fetch(`${base}/json`, { method: 'POST', body: '{"a":1}' })).json()).toEqual({ got: { a: 1 } });
    const missing = await fetch(`${base}/find`);
    expect([missing.status, await missing.text()]).toEqual([404, 'nothing to find\n']);
    const down = await fetch(`${base}/find?q=down`);
    expect([down.status, await down.text()]).toEqual([503, 'Service Unavailable\n']); // 5xx details stay private
    expect(await (await fetch(`${base}/find?q=caf%C3%A9+au+lait&t=a&t=b%2Fc`)).json()).toEqual({ q: 'café au lait', tags: ['a', 'b/c'] });
    // Only the 5xx reached the server's error log.
    expect(logged).toHaveLength(1);
    expect(() => new HttpError(200, 'no')).toThrow(RangeError);
  });

  it('a second server on a port in use is refused with EADDRINUSE (no silent port sharing)', async () => {
    const port = await start((a) => a.get('/', () => 'first'));
    const second = createServer({ transport });
    await expect(second.listen({ port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('first');
  });

  it('a response larger than the socket buffers reaches a slow reader intact (writes wait for room)', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i >> 12) & 0xff;
    const port = await start((a) => a.get('/big', (_req, res) => res.send(big)));
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.write('GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
      s.pause(); // read nothing for a while: the server's writes must wait
      setTimeout(() => s.resume(), 150);
      s.on('data', (d) => chunks.push(d));
      s.on('end', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
    });
    const body = got.subarray(got.indexOf('\r\n\r\n') + 4);
    expect(body.length).toBe(big.length);
    expect(body.equals(big)).toBe(true);
  });

  it('graceful shutdown: in-flight requests answered, SSE streams ended, new connections refused, deadline enforced', async () => {
    const port = await start((a) => {
      a.get('/slow', () => new Promise((r) => setTimeout(() => r('slow done'), 100)));
      a.get('/events', (_req, res) => { res.sse({ heartbeatMs: 0 }).send({ data: 'hello' }); });
      a.get('/never', () => new Promise(() => {}));
    });
    const sse = exchangeOpen(port, 'GET /events HTTP/1.1\r\nHost: a\r\n\r\n');
    const slow = exchangeOpen(port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
    const never = exchangeOpen(port, 'GET /never HTTP/1.1\r\nHost: a\r\n\r\n');
    await new Promise((r) => setTimeout(r, 30));
    const t0 = Date.now();
    await app!.close({ deadline: 400 });
    const took = Date.now() - t0;
    app = null;
    expect(await slow).toContain('slow done');
    expect(await sse).toContain('data: hello');
    expect(statuses(await never)).toEqual([]); // closed at the deadline, no response
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(2000);
    await expect(new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve('connected'));
      s.on('error', reject);
    })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('hooks run in order, may be async, and short-circuit when one answers; onSend and onError shape the response', async () => {
    const order: string[] = [];
    const port = await start((a) => {
      a.addHook('onRequest', async (req) => {
        order.push(`onRequest ${req.path}`);
        await new Promise((r) => setTimeout(r, 5));
      });
      a.addHook('onRequest', (req, res) => {
        if (req.header('x-block') !== undefined) res.status(403).send('blocked\n');
      });
      a.addHook('preHandler', (req) => {
        order.push(`preHandler ${req.path}`);
      });
      a.addHook('onSend', (_req, res, payload) => {
        res.header('X-Hooked', 'yes');
        return typeof payload === 'string' ? payload.toUpperCase() : payload;
      });
      a.addHook('onError', (err, _req, res) => {
        res.status(503).send(`custom: ${(err as Error).message}`);
      });
      a.get('/hi', () => 'hi');
      a.get('/boom', () => {
        throw new Error('nope');
      });
    });
    const raw = await exchange(port,
      'GET /hi HTTP/1.1\r\nHost: a\r\n\r\n' +
      'GET /hi HTTP/1.1\r\nHost: a\r\nX-Block: 1\r\n\r\n' +
      'GET /boom HTTP/1.1\r\nHost: a\r\n\r\n' +
      'GET /missing HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(raw)).toEqual([200, 403, 503, 404]);
    expect(raw).toContain('\r\n\r\nHI');
    expect(raw).toContain('BLOCKED');
    expect(raw).toContain('CUSTOM: NOPE');
    expect(raw.match(/X-Hooked: yes/g)).toHaveLength(4);
    // (pipelined requests run their async hooks concurrently; each request's own hooks are in order)
    expect([...order].sort()).toEqual(['onRequest /boom', 'onRequest /hi', 'onRequest /hi', 'onRequest /missing', 'preHandler /boom', 'preHandler /hi']);
    expect(order.indexOf('onRequest /boom')).toBeLessThan(order.indexOf('preHandler /boom'));
    expect(() => app!.addHook('nope' as never, () => {})).toThrow(/unknown hook/);
  });

  it('cors(): preflight answered with the allowed methods and headers; simple requests get the origin; others nothing', async () => {
    const port = await start((a) => {
      a.addHook('onRequest', cors({ origin: ['https://app.example'], credentials: true, exposeHeaders: ['X-Total'] }));
      a.post('/api', () => ({ ok: true }));
    });
    const raw = await exchange(port,
      'OPTIONS /api HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n' +
      'Access-Control-Request-Headers: content-type\r\n\r\n' +
      'POST /api HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\nContent-Length: 0\r\n\r\n' +
      'POST /api HTTP/1.1\r\nHost: a\r\nOrigin: https://evil.example\r\nContent-Length: 0\r\n\r\n');
    const [pre, ok, evil] = raw.split(/(?=HTTP\/1\.1 )/);
    expect(pre).toMatch(/^HTTP\/1\.1 204/);
    expect(pre).toContain('Access-Control-Allow-Origin: https://app.example\r\n');
    expect(pre).toContain('Access-Control-Allow-Methods: GET, HEAD, PUT, PATCH, POST, DELETE\r\n');
    expect(pre).toContain('Access-Control-Allow-Headers: content-type\r\n');
    expect(pre).toContain('Access-Control-Allow-Credentials: true\r\n');
    expect(ok).toMatch(/^HTTP\/1\.1 200/);
    expect(ok).toContain('Access-Control-Expose-Headers: X-Total\r\n');
    expect(ok).toContain('Vary: Origin\r\n');
    expect(evil).toMatch(/^HTTP\/1\.1 200/);
    expect(evil).not.toContain('Access-Control');
    expect(evil).toContain('Vary: Origin\r\n'); // (the answer depends on the Origin: caches must know)
  });

  it('cors(): an error answer keeps the CORS headers (the page can read the error), not the handler\'s', async () => {
    const port = await start((a) => {
      a.addHook('onRequest', cors({ origin: ['https://app.example'] }));
      a.get('/401', (_req, res) => {
        res.header('X-Handler', 'yes');
        throw new HttpError(401, 'sign in');
      });
    });
    const raw = await exchange(port, 'GET /401 HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\nConnection: close\r\n\r\n');
    expect(statuses(raw)).toEqual([401]);
    expect(raw).toContain('Access-Control-Allow-Origin: https://app.example\r\n');
    expect(raw).toContain('Vary: Origin\r\n');
    expect(raw).not.toContain('X-Handler');
  });

  it('cors(): a 500 that takes the place of a stream not yet started keeps the CORS headers too', async () => {
    const port = await start((a) => {
      a.addHook('onRequest', cors({ origin: ['https://app.example'] }));
      a.get('/slow', () => new Promise((r) => setTimeout(() => r('slow'), 50)));
      a.get('/boom', async (_req, res) => {
        res.header('X-Handler', 'yes');
        res.stream().write('partial');
        await new Promise((r) => setTimeout(r, 10));
        throw new Error('boom');
      });
    });
    const raw = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\n\r\n' +
      'GET /boom HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\n\r\n');
    const [, boom] = raw.split(/(?=HTTP\/1\.1 )/);
    expect(boom).toMatch(/^HTTP\/1\.1 500 /);
    expect(boom).toContain('Access-Control-Allow-Origin: https://app.example\r\n');
    expect(boom).toContain('Vary: Origin\r\n');
    expect(boom).not.toContain('X-Handler');
  });
});


/** Writes a request and keeps the connection open; resolves with all bytes when the server closes it. */
function exchangeOpen(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => {
      s.end();
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', reject);
  });
}