// The native transport on real sockets (127.0.0.1): accept, read into WASM memory,
// write from it, EOF and half-close, batched readiness, and no leaked descriptors.
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { nativeTransport, type NativeModule, type NativeTransport } from '../../src/net/native.js';
import { WasmCore } from '../../src/index.js';

const native = nativeTransport();
const openFds = () => readdirSync('/proc/self/fd').length;

/** An echo server on the native transport: every byte read into the slot is written back. */
function echoServer(mod: NativeModule) {
  const core = new WasmCore({ slotSize: 4096, slotCount: 1 });
  const slot = core.pool.lease();
  let calls = 0;
  let maxBatch = 0;
  let listenFd = -1;
  const open = new Set<number>();
  const t: NativeTransport = new mod.Transport((count) => {
    calls++;
    maxBatch = Math.max(maxBatch, count);
    for (let i = 0; i < count; i++) {
      const fd = t.events[i * 2];
      const ev = t.events[i * 2 + 1];
      if (fd === listenFd) {
        for (;;) {
          const c = t.accept(listenFd);
          if (c < 0) break;
          open.add(c);
        }
        continue;
      }
      if ((ev & (mod.READABLE | mod.HANGUP | mod.ERROR)) === 0) continue;
      // Edge-triggered: read until EAGAIN (or EOF).
      for (;;) {
        const n = t.read(fd, slot.data, slot.capacity);
        if (n > 0) {
          let off = 0;
          while (off < n) {
            const w = t.write(fd, slot.data + off, n - off);
            if (w <= 0) break; // (a full send buffer is not expected for these small tests)
            off += w;
          }
          continue;
        }
        if (n === 0) {
          t.close(fd);
          open.delete(fd);
        }
        break; // -EAGAIN or an error
      }
    }
  });
  t.setMemory(core.u8);
  listenFd = t.listen('127.0.0.1', 0, 511);
  const port = t.localPort(listenFd);
  return {
    port,
    stats: () => ({ calls, maxBatch, open: open.size }),
    stop() {
      for (const fd of open) t.close(fd);
      t.close(listenFd);
      t.destroy();
    },
  };
}

function roundTrip(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.end(payload));
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

describe.skipIf(native.module === null)(`native transport (${native.reason})`, () => {
  const mod = native.module!;

  it('echoes bytes through WASM memory, and closes on EOF after a half-close', async () => {
    const srv = echoServer(mod);
    try {
      const payload = Buffer.alloc(100_000);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
      const back = await roundTrip(srv.port, payload);
      expect(back.equals(payload)).toBe(true);
      expect(srv.stats().open).toBe(0);
    } finally {
      srv.stop();
    }
  });

  it('reports readiness in batches, and leaks no descriptor over a thousand connections', async () => {
    const srv = echoServer(mod);
    const before = openFds();
    try {
      for (let round = 0; round < 10; round++) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => roundTrip(srv.port, Buffer.from(`hello ${round}/${i}`))));
      }
      expect(srv.stats().open).toBe(0);
      expect(srv.stats().maxBatch).toBeGreaterThan(1);
    } finally {
      srv.stop();
    }
    expect(openFds()).toBeLessThanOrEqual(before);
  });

  it('writev gathers buffers in order (views, empty ones), returns a short count when the socket fills, and checks its input', async () => {
    let listenFd = -1;
    let accepted: (fd: number) => void = () => {};
    const t: NativeTransport = new mod.Transport((count) => {
      for (let i = 0; i < count; i++) {
        if (t.events[i * 2] !== listenFd) continue;
        const c = t.accept(listenFd);
        if (c >= 0) accepted(c);
      }
    });
    listenFd = t.listen('127.0.0.1', 0, 16);
    const fdP = new Promise<number>((r) => (accepted = r));
    const client = net.connect(t.localPort(listenFd), '127.0.0.1');
    const got: Buffer[] = [];
    client.on('data', (d) => got.push(d));
    const fd = await fdP;
    try {
      const base = Buffer.from('0123456789abcdef');
      const parts = [Buffer.from('<'), new Uint8Array(0), base.subarray(3, 9), base.subarray(10), Buffer.from('>')];
      const want = Buffer.concat(parts);
      expect(t.writev(fd, parts)).toBe(want.length);
      for (let i = 0; i < 100 && Buffer.concat(got).length < want.length; i++) await new Promise((r) => setTimeout(r, 5));
      expect(Buffer.concat(got).equals(want)).toBe(true);
      got.length = 0;

      // A client that does not read: the kernel takes a prefix, then nothing (EAGAIN).
      client.pause();
      const big = Array.from({ length: 64 }, (_, k) => Buffer.alloc(1024 * 1024, k));
      const n = t.writev(fd, big);
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThan(64 * 1024 * 1024);
      expect(t.writev(fd, big)).toBe(-mod.EAGAIN);
      client.resume();
      for (let i = 0; i < 400 && Buffer.concat(got).length < n; i++) await new Promise((r) => setTimeout(r, 5));
      expect(Buffer.concat(got).equals(Buffer.concat(big).subarray(0, n))).toBe(true);

      expect(() => t.writev(fd, 'abc' as unknown as Uint8Array[])).toThrow(TypeError);
      expect(() => t.writev(fd, [new Float64Array(2) as unknown as Uint8Array])).toThrow(TypeError);
    } finally {
      client.destroy();
      t.close(fd);
      t.close(listenFd);
      t.destroy();
    }
  });

  it('SO_REUSEPORT only when asked: listeners share a port then, and a taken port is refused otherwise', () => {
    const a = new mod.Transport(() => {});
    const shared = a.listen('127.0.0.1', 0, 16, true);
    const port = a.localPort(shared);
    const again = a.listen('127.0.0.1', port, 16, true); // a second worker's listener
    expect(a.localPort(again)).toBe(port);
    expect(() => a.listen('127.0.0.1', port, 16)).toThrow(expect.objectContaining({ errno: 98 }));
    a.close(shared);
    a.close(again);
    a.destroy();
  });

  it('a port in use is refused to a socket without SO_REUSEPORT; bad addresses and offsets are named', async () => {
    const a = new mod.Transport(() => {});
    const fd = a.listen('127.0.0.1', 0, 16, true);
    const port = a.localPort(fd);
    const b = new mod.Transport(() => {});
    try {
      // SO_REUSEPORT lets listeners share a port (one per worker); a socket without it
      // (node:net here) is refused by the kernel.
      const other = net.createServer();
      const outcome = await new Promise<string>((resolve) => {
        other.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        other.once('listening', () => {
          other.close();
          resolve('listening');
        });
        other.listen({ port, host: '127.0.0.1', exclusive: true });
      });
      expect(outcome).toBe('EADDRINUSE');
      expect(() => b.listen('not-an-ip', 0, 16)).toThrow(/not an IPv4 or IPv6 address/);
      b.setMemory(new Uint8Array(16));
      expect(b.read(fd, 10, 100)).toBe(-14); // EFAULT: outside the memory given
    } finally {
      a.close(fd);
      a.destroy();
      b.destroy();
    }
  });
});

describe('transport selection', () => {
  it('CONDUIT_TRANSPORT=net is honoured, and the reason is one line', async () => {
    const { spawnSync } = await import('node:child_process');
    const url = new URL('../../dist/net/native.js', import.meta.url).href;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e',
      `import { nativeTransport } from ${JSON.stringify(url)}; const t = nativeTransport(); console.log(t.module === null, t.reason);`],
    { encoding: 'utf8', env: { ...process.env, CONDUIT_TRANSPORT: 'net' } });
    expect(r.stdout.trim()).toBe('true CONDUIT_TRANSPORT=net');
    expect(native.reason.split('\n')).toHaveLength(1);
  });
});
