// Streamed responses on real sockets, both transports: SSE and res.stream(), in order
// behind other answers, with backpressure, bounded buffers, and ends seen by the handler.
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createServer, SseDecoder, type SseStream } from '../../src/index.js';
import { TRANSPORTS, srv, useTransport, start, exchange, dechunker, statuses, until } from '../support/server.js';

describe.each(TRANSPORTS)('HTTP streamed responses (%s transport)', (t) => {
  useTransport(t);

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
    expect(srv.app!.connections.size).toBe(0);
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

  it('heartbeats: 30 streams with one period share one timer, and each gets its keepalive comments', async () => {
    const port = await start((a) => a.get('/hb', (_req, res) => { res.sse({ heartbeatMs: 25 }).send({ data: 'open' }); }));
    const intervals = vi.spyOn(globalThis, 'setInterval');
    try {
      const socks = Array.from({ length: 30 }, () => net.connect(port, '127.0.0.1'));
      const got = socks.map(() => '');
      socks.forEach((s, i) => {
        s.on('data', (d) => (got[i] += d.toString('latin1')));
        s.write('GET /hb HTTP/1.1\r\nHost: a\r\n\r\n');
      });
      for (let i = 0; i < 300 && got.some((g) => (g.match(/: keepalive/g) ?? []).length < 2); i++) await new Promise((r) => setTimeout(r, 5));
      for (const g of got) expect((g.match(/: keepalive/g) ?? []).length).toBeGreaterThanOrEqual(2);
      expect(intervals.mock.calls.filter((c) => c[1] === 25)).toHaveLength(1); // (a timer each would be 30)
      for (const s of socks) s.destroy();
    } finally {
      intervals.mockRestore();
    }
  });

  it('a client that leaves ends every stream it asked for, the pipelined ones still waiting too', async () => {
    const { closed, sock, got } = await threeStreams();
    expect(got()).not.toContain('stream 2'); // (held behind the first)
    sock.destroy();
    for (let i = 0; i < 200 && (closed.length < 3 || srv.app!.connections.size > 0); i++) await new Promise((r) => setTimeout(r, 5));
    expect(closed.sort()).toEqual(['1', '2', '3']);
    expect(srv.app!.connections.size).toBe(0);
  });

  it('graceful shutdown ends every stream a connection asked for, in order, each with its last chunk', async () => {
    const { closed, sock, got } = await threeStreams();
    const ended = new Promise((r) => sock.on('close', r));
    const t0 = Date.now();
    await srv.app!.close({ deadline: 2000 });
    await ended;
    expect(Date.now() - t0).toBeLessThan(1000); // (not held until the deadline)
    expect(closed.sort()).toEqual(['1', '2', '3']);
    // Each answer owed goes out whole: the open stream, then the two that waited their turn.
    const answers = got().split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(3);
    answers.forEach((a, i) => expect(a).toMatch(new RegExp(`data: stream ${i + 1}\n\n\r\n0\r\n\r\n$`)));
    srv.app = null;
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

  it('streamed downloads queued behind an endless SSE stream wait on an event, not a timer (no polling)', async () => {
    let waiting = 0;
    const port = await start((a) => {
      a.get('/events', (_req, res) => { res.sse({ heartbeatMs: 0 }).comment('open'); });
      a.get('/download/:n', async (_req, res) => {
        const s = res.stream({ highWaterMark: 1024 });
        s.write(Buffer.alloc(2048, 0x61)); // over the high-water mark at once: wait for room
        waiting++;
        await s.drained();
      });
    });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const sock = net.connect(port, '127.0.0.1', () => sock.write('GET /events HTTP/1.1\r\nHost: a\r\n\r\n' +
      Array.from({ length: 40 }, (_, i) => `GET /download/${i} HTTP/1.1\r\nHost: a\r\n\r\n`).join('')));
    sock.on('error', () => {});
    expect(await until(() => waiting === 40)).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    // Forty writers waiting their turn hold no timer each (the server's own few at most).
    expect(timers() - before).toBeLessThan(5);
    sock.destroy();
    expect(await until(() => srv.app!.connections.size === 0)).toBe(true);
  });

  it('streams queued behind another share one budget (maxBufferedOutput): past it the client is dropped, every stream ends', async () => {
    const closed: string[] = [];
    const started: string[] = [];
    const port = await start((a) => {
      a.get('/endless', (_req, res) => {
        const s = res.sse({ heartbeatMs: 0 });
        s.onClose(() => closed.push('endless'));
        s.comment('open');
      });
      a.get('/chatty/:n', (req, res) => {
        started.push(req.params.n);
        const s = res.sse({ heartbeatMs: 0 });
        s.onClose(() => closed.push(req.params.n));
        // 100 KiB each, while queued: under the budget alone, over it together.
        for (let i = 0; i < 10; i++) s.send({ data: 'x'.repeat(10 * 1024) });
      });
    }, { maxBufferedOutput: 256 * 1024 });
    const sock = net.connect(port, '127.0.0.1', () => sock.write('GET /endless HTTP/1.1\r\nHost: a\r\n\r\n' +
      [1, 2, 3, 4].map((n) => `GET /chatty/${n} HTTP/1.1\r\nHost: a\r\n\r\n`).join('')));
    sock.on('error', () => {});
    expect(await until(() => closed.includes('endless'))).toBe(true);
    expect(await until(() => srv.app!.connections.size === 0)).toBe(true);
    // Dropped by the third (300 KiB together); a request not yet dispatched then never is.
    expect(started.length).toBeGreaterThanOrEqual(3);
    expect(closed.sort()).toEqual([...started, 'endless'].sort());
    sock.destroy();
  });

  it('sendTimeout: a stream whose client takes none of it is closed, the writer waiting for room and the SSE sender both', async () => {
    const closed: string[] = [];
    let released = false;
    const port = await start((a) => {
      a.get('/download', async (_req, res) => {
        const s = res.stream();
        s.onClose(() => closed.push('download'));
        const block = Buffer.alloc(256 * 1024, 0x64);
        while (!s.closed) if (!s.write(block)) await s.drained(); // (waits for room: none comes)
        released = true; // (drained() resolved once the stream closed)
      });
      a.get('/events', (_req, res) => {
        const s = res.sse({ heartbeatMs: 0 });
        s.onClose(() => closed.push('events'));
        for (let i = 0; i < 128; i++) s.send({ data: 'e'.repeat(64 * 1024) }); // 8 MiB: more than the socket takes
      });
    }, { sendTimeout: 300, maxBufferedOutput: 64 * 1024 * 1024 });
    const clients = ['/download', '/events'].map((path) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`));
      s.pause(); // never reads
      s.on('error', () => {});
      return s;
    });
    expect(await until(() => closed.length === 2, 5000)).toBe(true);
    expect(closed.sort()).toEqual(['download', 'events']);
    expect(await until(() => released)).toBe(true);
    expect(await until(() => srv.app!.connections.size === 0)).toBe(true);
    for (const s of clients) s.destroy();
    expect(() => createServer({ sendTimeout: 0 })).toThrow(/sendTimeout must be a positive integer/);
  });
});
