// Mutated requests over real sockets, on both transports: whatever a client sends (bytes
// flipped, inserted, cut or repeated; split anywhere; then half-closed, reset or left
// hanging), the server answers with well-formed responses or closes, keeps serving
// others, and ends with no connection left open. A seeded generator makes each run the
// same; CONDUIT_SERVER_FUZZ_SEED and CONDUIT_SERVER_FUZZ_CASES change it.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type App } from '../../src/index.js';
import { nativeTransport } from '../../src/net/native.js';

const TRANSPORTS = (nativeTransport().module !== null ? ['native', 'net'] : ['net']) as Array<'native' | 'net'>;
const SEED = Number(process.env.CONDUIT_SERVER_FUZZ_SEED ?? 20261126);
const CASES = Number(process.env.CONDUIT_SERVER_FUZZ_CASES ?? 400);

/** xorshift32: small, seeded, good enough to pick mutations. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(a: readonly T[]): T => a[Math.floor(next() * a.length)] };
}

const smuggling = (JSON.parse(readFileSync(new URL('../fixtures/http/smuggling/cases.json', import.meta.url), 'utf8')) as
  Array<{ raw: string }>).map((c) => c.raw);
const SEEDS = [
  'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n',
  'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world',
  'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n',
  'POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n4\r\nabcd\r\n0\r\n\r\n',
  'GET /events HTTP/1.1\r\nHost: a\r\nLast-Event-ID: 7\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /throw HTTP/1.1\r\nHost: a\r\n\r\nGET /?q=%41 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  'GET http://a/abs HTTP/1.1\r\nHost: a\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.0\r\n\r\n',
  ...smuggling,
];
const NASTY = [0x00, 0x0a, 0x0d, 0x20, 0x09, 0x3a, 0x7f, 0x80, 0xff, 0x30, 0x46];

function mutate(r: ReturnType<typeof rng>, input: Buffer): Buffer {
  let b = input;
  for (let k = 1 + r.int(3); k > 0; k--) {
    const at = r.int(b.length + 1);
    switch (r.int(6)) {
      case 0: { // flip a byte
        if (b.length === 0) break;
        b = Buffer.from(b);
        b[Math.min(at, b.length - 1)] = r.next() < 0.5 ? r.pick(NASTY) : r.int(256);
        break;
      }
      case 1: // insert bytes
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + r.int(4) }, () => r.pick(NASTY))), b.subarray(at)]);
        break;
      case 2: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r.int(8))]);
        break;
      case 3: // repeat a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.max(0, at - r.int(32)), at), b.subarray(at)]);
        break;
      case 4: // cut the end off
        b = b.subarray(0, at);
        break;
      default: // leave it (some inputs stay valid)
        break;
    }
  }
  return b;
}

let app: App | null = null;
afterEach(async () => {
  await app?.close({ deadline: 500 });
  app = null;
});

/** One client: sends `bytes` in pieces, then half-closes, resets or waits; resolves with what came back. */
function client(port: number, r: ReturnType<typeof rng>, bytes: Buffer): Promise<Buffer> {
  const ending = r.int(3); // 0: half-close, 1: reset, 2: leave it open (the server's timeouts end it)
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + r.int(r.next() < 0.5 ? 8 : 200);
    pieces.push(bytes.subarray(at, at + n));
    at += n;
  }
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', async () => {
      for (const p of pieces) {
        if (s.destroyed) break;
        s.write(p);
        if (r.next() < 0.3) await new Promise((w) => setImmediate(w));
      }
      if (s.destroyed) return;
      if (ending === 0) s.end();
      else if (ending === 1) setTimeout(() => s.resetAndDestroy(), r.int(20));
    });
    const done = setTimeout(() => s.destroy(), 5000); // (a bound for the test, not expected)
    s.on('data', (d) => got.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(done);
      resolve(Buffer.concat(got));
    });
  });
}

describe.each(TRANSPORTS)('server under mutated requests (%s transport)', (transport) => {
  it(`${CASES} mutated clients: well-formed answers or a close, others still served, nothing left open`, async () => {
    app = createServer({ transport, keepAliveTimeout: 300, headersTimeout: 400, requestTimeout: 600, maxBodySize: 64 * 1024 });
    app.onError = () => {}; // (the /throw route's errors are expected)
    app.get('/', (req) => `ok ${req.query.get('q') ?? ''}`);
    app.post('/echo', (req) => req.body);
    app.get('/throw', () => {
      throw new Error('handler failure');
    });
    app.get('/events', (req, res) => {
      const s = res.sse({ heartbeatMs: 50 });
      s.send({ id: '8', data: `after ${req.header('last-event-id') ?? '-'}` });
      setTimeout(() => s.close(), 30);
    });
    app.post('/up', async (req) => {
      let n = 0;
      for await (const c of req.stream()) n += c.length;
      return `got ${n}`;
    }, { stream: true });
    const { port } = await app.listen();
    const r = rng(SEED);
    // (one in five goes unchanged, so that the paths of valid requests are run too)
    const inputs = Array.from({ length: CASES }, () => {
      const seed = Buffer.from(r.pick(SEEDS), 'latin1');
      return r.next() < 0.2 ? seed : mutate(r, seed);
    });
    let answered = 0;
    for (let i = 0; i < inputs.length; i += 50) {
      const outs = await Promise.all(inputs.slice(i, i + 50).map((b) => client(port, r, b)));
      for (const [k, out] of outs.entries()) {
        if (out.length === 0) continue;
        answered++;
        // Every answer starts as an HTTP/1.1 response with a real status code.
        expect(out.toString('latin1', 0, 13), `case ${i + k}: ${JSON.stringify(inputs[i + k].toString('latin1'))}`).toMatch(/^HTTP\/1\.1 [1-5]\d\d $/);
      }
      // A well-behaved client is served between the rounds.
      const ok = await client(port, rng(1), Buffer.from('GET /?q=probe HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
      expect(ok.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok probe$/);
    }
    expect(answered).toBeGreaterThan(CASES / 4);
    for (let i = 0; i < 200 && app.connections.size > 0; i++) await new Promise((w) => setTimeout(w, 10));
    expect(app.connections.size).toBe(0);
  }, 60_000);
});
