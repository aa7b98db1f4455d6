// Shared by the HTTP server suites (test/http/*.test.ts on real sockets, 127.0.0.1): the
// transports to run on, the server under test (closed after each test) and raw clients.
import net from 'node:net';
import { afterEach, beforeAll } from 'vitest';
import { createServer, type App, type ServerOptions } from '../../src/index.js';
import { nativeTransport } from '../../src/net/native.js';

/** One suite, both transports (the native one when the addon is built here). */
export const TRANSPORTS = (nativeTransport().module !== null ? ['native', 'net'] : ['net']) as Array<'native' | 'net'>;

/** The server under test (closed after each test) and the transport of the running block. */
export const srv: { app: App | null; transport: 'native' | 'net' } = { app: null, transport: 'net' };

/** In a describe.each(TRANSPORTS) block: its transport, and the server closed after each test. */
export function useTransport(t: 'native' | 'net'): void {
  beforeAll(() => {
    srv.transport = t;
  });
  afterEach(async () => {
    await srv.app?.close();
    srv.app = null;
  });
}

/** A server on the block's transport, set up by `setup`, listening on a free port of 127.0.0.1. */
export async function start(setup: (a: App) => void, options: ServerOptions = {}): Promise<number> {
  const app = createServer({ ...options, transport: srv.transport });
  srv.app = app;
  setup(app);
  return (await app.listen()).port;
}

/** Sends raw bytes (optionally in pieces), half-closes, and returns everything the server sent. */
export function exchange(port: number, ...pieces: Array<string | Buffer>): Promise<string> {
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

/** Writes a request and keeps the connection open; resolves with all bytes when the server closes it. */
export function exchangeOpen(port: number, request: string): Promise<string> {
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

/**
 * Decodes a chunked body strictly as bytes arrive (RFC 9112 §7.1); returns the payloads of
 * the chunks completed so far, and `done` after the last chunk.
 */
export function dechunker() {
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

/** The status codes of the responses in a raw exchange, in order. */
export const statuses = (raw: string) => [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

/** Polls `cond` every 5 ms for up to `ms`; resolves with its last value. */
export async function until(cond: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return cond();
}
