// What a handler reads, on real sockets, both transports: buffered bodies (JSON, chunked,
// 100 Continue) and streamed ones (backpressure, failures, timeouts), the query.
import net from 'node:net';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createServer, HttpError } from '../../src/index.js';
import { TRANSPORTS, srv, useTransport, start, exchange, statuses } from '../support/server.js';

describe.each(TRANSPORTS)('HTTP requests (%s transport)', (t) => {
  useTransport(t);

  it('reads JSON and chunked bodies, and sends 100 Continue when asked', async () => {
    const port = await start((a) => a.post('/echo', (req) => ({ got: req.json() })));
    const raw = await exchange(port,
      'POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n', '{"a":1}',
      'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n');
    expect(statuses(raw)).toEqual([100, 200, 200]);
    expect(raw).toContain('{"got":{"a":1}}');
    expect(raw).toContain('{"got":[1,2]}');
  });

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

  it('req.bytes(max): the whole body in one piece on any route; 413 before reading when Content-Length is over max, or as soon as a chunked body is', async () => {
    const port = await start((a) => {
      a.post('/s', async (req) => `${(await req.bytes(8)).length}`, { stream: true });
      a.post('/b', async (req) => `${(await req.bytes(8)).length}`);
      a.post('/twice', async (req) => {
        await req.bytes();
        await req.bytes();
      }, { stream: true });
    });
    const raw = await exchange(port,
      'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', '2\r\nde\r\n0\r\n\r\n',
      'POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd',
      'POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n123456789',
      // over max mid-way through a chunked body: 413, the rest dropped, the connection goes on
      'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n',
      'POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz');
    expect(statuses(raw)).toEqual([200, 200, 413, 413, 200]);
    expect(raw).toContain('\r\n\r\n5HTTP/1.1 200');
    expect(raw).toContain('\r\n\r\n4HTTP/1.1 413');
    // Content-Length over max: answered before the client sends any of the body.
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d));
    s.write('POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 9000000\r\n\r\n');
    for (let i = 0; i < 200 && !got.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 10));
    s.destroy();
    expect(got).toMatch(/^HTTP\/1\.1 413 /);
    const twice = await exchange(port, 'POST /twice HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab');
    expect(statuses(twice)).toEqual([500]);
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

  it('invalid JSON bodies get 400, HttpError picks the status, the query is decoded; IPv6 loopback works', async () => {
    const logged: unknown[] = [];
    srv.app = createServer({ transport: srv.transport });
    srv.app.onError = (e) => logged.push(e);
    srv.app.post('/json', (req) => ({ got: req.json() }));
    srv.app.get('/find', (req) => {
      if (req.query.get('q') === null) throw new HttpError(404, 'nothing to find');
      if (req.query.get('q') === 'down') throw new HttpError(503, 'secret detail');
      return { q: req.query.get('q'), tags: req.query.getAll('t') };
    });
    const { port } = await srv.app.listen({ host: '::1' });
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
    expect(() => new HttpError(200, 'no')).toThrow(expect.objectContaining({ code: 'CONDUIT_ERR_INVALID_STATUS' }));
  });

  it('streamed request bodies: 100 Continue goes out when the handler starts reading, never when it answers without reading', async () => {
    const port = await start((a) => {
      a.post('/read', async (req) => {
        let n = 0;
        for await (const c of req.stream()) n += c.length;
        return `read ${n}`;
      }, { stream: true });
      a.post('/refuse', () => {
        throw new HttpError(403, 'not you');
      }, { stream: true });
    });
    const head = (path: string) => `POST ${path} HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n`;
    const read = await exchange(port, head('/read'), 'body');
    expect(statuses(read)).toEqual([100, 200]);
    expect(read).toMatch(/\r\n\r\nread 4$/);
    const refused = await exchange(port, head('/refuse'), 'body');
    expect(statuses(refused)).toEqual([403]);
  });
});
