// The native transport on real sockets (127.0.0.1): accept, read into WASM memory,
// write from it, EOF and half-close, batched readiness, and no leaked descriptors;
// writev against element getters, the lingering close (shutdown, discard), and the
// port-sharing modes of listen (exclusive, join, lead) as this kernel applies them.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const addonPath = fileURLToPath(new URL('../../native/build/Release/conduit_native.node', import.meta.url));

/** One accepted connection on a fresh Transport, its node:net client, and what the client got. */
async function connectedPair(mod: NativeModule, clientOptions: { allowHalfOpen?: boolean } = {}) {
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
  const client = net.connect({ port: t.localPort(listenFd), host: '127.0.0.1', ...clientOptions });
  const got: Buffer[] = [];
  client.on('data', (d) => got.push(d));
  const fd = await fdP;
  return {
    t,
    fd,
    client,
    received: () => Buffer.concat(got),
    /** Waits (2 s at most) until the client has at least n bytes. */
    async receive(n: number) {
      for (let i = 0; i < 400 && Buffer.concat(got).length < n; i++) await sleep(5);
      return Buffer.concat(got);
    },
    stop() {
      client.destroy();
      t.close(fd);
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
    const p = await connectedPair(mod);
    const { t, fd, client } = p;
    try {
      const base = Buffer.from('0123456789abcdef');
      const parts = [Buffer.from('<'), new Uint8Array(0), base.subarray(3, 9), base.subarray(10), Buffer.from('>')];
      const want = Buffer.concat(parts);
      expect(t.writev(fd, parts)).toBe(want.length);
      expect((await p.receive(want.length)).equals(want)).toBe(true);

      // A client that does not read: the kernel takes a prefix, then nothing (EAGAIN).
      client.pause();
      const big = Array.from({ length: 64 }, (_, k) => Buffer.alloc(1024 * 1024, k));
      const n = t.writev(fd, big);
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThan(64 * 1024 * 1024);
      expect(t.writev(fd, big)).toBe(-mod.EAGAIN);
      client.resume();
      const after = (await p.receive(want.length + n)).subarray(want.length);
      expect(after.equals(Buffer.concat(big).subarray(0, n))).toBe(true);

      expect(() => t.writev(fd, 'abc' as unknown as Uint8Array[])).toThrow(TypeError);
      expect(() => t.writev(fd, [new Float64Array(2) as unknown as Uint8Array])).toThrow(TypeError);
    } finally {
      p.stop();
    }
  });

  it('writev: an element getter that throws makes writev throw that error (no abort: checked in a child process)', () => {
    const script = `
      const mod = require(process.argv[1]);
      const t = new mod.Transport(() => {});
      const lfd = t.listen('127.0.0.1', 0, 8);
      const outcome = (list) => {
        try { return 'returned ' + t.writev(lfd, list); } catch (e) { return e.constructor.name + ': ' + e.message; }
      };
      const own = [Buffer.from('a'), null, Buffer.from('c')];
      Object.defineProperty(own, 1, { get() { throw new RangeError('from the getter'); } });
      // A hole: its element is read through the prototype.
      Object.defineProperty(Array.prototype, 1, { configurable: true, get() { throw new SyntaxError('from the prototype'); } });
      const holey = [Buffer.from('a'), , Buffer.from('c')];
      const outcomes = [outcome(own), outcome(holey)];
      delete Array.prototype[1];
      console.log(JSON.stringify(outcomes));
      t.close(lfd);
      t.destroy();`;
    const r = spawnSync(process.execPath, ['-e', script, addonPath], { encoding: 'utf8', timeout: 10_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(['RangeError: from the getter', 'SyntaxError: from the prototype']);
  });

  it("writev: a getter that detaches an earlier element's buffer: that element sends 0 bytes, never its old memory", async () => {
    const p = await connectedPair(mod);
    try {
      const first = new Uint8Array(4096).fill(0x58); // ('X': its own ArrayBuffer, not Buffer's shared pool)
      let moved: ArrayBuffer | undefined; // (kept alive: the stale pointer of a broken writev would still read 'X's)
      const list = [first, null as unknown as Uint8Array, Buffer.from('tail')];
      Object.defineProperty(list, 1, {
        get() {
          moved = structuredClone(first.buffer, { transfer: [first.buffer] });
          return Buffer.from('mid');
        },
      });
      expect(p.t.writev(p.fd, list)).toBe(7);
      expect(first.byteLength).toBe(0);
      expect(moved!.byteLength).toBe(4096);
      await p.receive(7);
      await sleep(20); // (anything more would have arrived by now)
      expect(p.received().toString()).toBe('midtail');

      // A Proxy is not an array to the addon: refused before any trap runs.
      const trapped: PropertyKey[] = [];
      const proxy = new Proxy([Buffer.from('x')], { get: (target, key, recv) => (trapped.push(key), Reflect.get(target, key, recv)) });
      expect(() => p.t.writev(p.fd, proxy)).toThrow(TypeError);
      expect(trapped).toEqual([]);
    } finally {
      p.stop();
    }
  });

  it("exports this platform's errno values for JS to compare with (never Linux literals)", () => {
    const { errno } = os.constants;
    for (const name of ['EAGAIN', 'ECONNABORTED', 'EINTR', 'EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', 'EPIPE', 'ECONNRESET'] as const) {
      expect([name, mod[name]]).toEqual([name, errno[name]]);
    }
  });

  it('shutdown() sends our FIN and keeps reading; discard() drops input, then reports EOF (a lingering close)', async () => {
    const p = await connectedPair(mod, { allowHalfOpen: true });
    const { t, fd, client } = p;
    const clientErrors: Error[] = [];
    client.on('error', (e) => clientErrors.push(e));
    const clientEnded = new Promise((r) => client.once('end', r));
    const clientClosed = new Promise((r) => client.once('close', r));
    try {
      expect(t.discard(fd, 100)).toBe(-mod.EAGAIN); // nothing waits
      client.write('hello world');
      let n = -mod.EAGAIN;
      for (let i = 0; i < 400 && n === -mod.EAGAIN; i++) {
        n = t.discard(fd, 5);
        if (n === -mod.EAGAIN) await sleep(5);
      }
      expect(n).toBe(5); // (max respected)
      expect(t.discard(fd, 1000)).toBe(6);
      expect(t.discard(fd, 1000)).toBe(-mod.EAGAIN);

      expect(t.shutdown(fd)).toBe(0);
      await clientEnded; // our FIN arrived

      // The client (half-open) still sends: the server still reads, and drops it.
      const big = Buffer.alloc(300_000, 7);
      client.end(big);
      let dropped = 0;
      let last = -mod.EAGAIN;
      for (let i = 0; i < 2000; i++) {
        last = t.discard(fd, 64 * 1024);
        if (last > 0) {
          expect(last).toBeLessThanOrEqual(64 * 1024);
          dropped += last;
        } else if (last === 0) {
          break;
        } else {
          expect(last).toBe(-mod.EAGAIN);
          await sleep(2);
        }
      }
      expect(dropped).toBe(big.length);
      expect(last).toBe(0); // EOF: the client's FIN, after all its bytes
      expect(t.discard(fd, 10)).toBe(0);
      expect(t.close(fd)).toBe(0);
      await clientClosed;
      expect(clientErrors).toEqual([]); // a clean close: no reset
      expect(p.received().length).toBe(0);

      // Only this transport's descriptors; arguments are checked.
      const { EBADF } = os.constants.errno;
      expect(t.shutdown(fd)).toBe(-EBADF); // (closed)
      expect(t.discard(0, 10)).toBe(-EBADF); // (stdin: not ours)
      for (const call of [
        () => t.shutdown(undefined as unknown as number),
        () => t.discard(fd, 0),
        () => t.discard(fd, Number.NaN),
        () => t.discard('1' as unknown as number, 10),
        () => t.discard(fd, undefined as unknown as number),
      ]) expect(call).toThrow(TypeError);
    } finally {
      p.stop();
    }
  });

  it("listen 'lead': a free port is taken, then joiners (reusePort true) share it; connections are spread over all", async () => {
    const listeners = new Set<number>();
    const accepted = new Map<number, number>();
    const transports: NativeTransport[] = [];
    const server = () => {
      const t: NativeTransport = new mod.Transport((count) => {
        for (let i = 0; i < count; i++) {
          const lfd = t.events[i * 2];
          if (!listeners.has(lfd)) continue;
          for (;;) {
            const c = t.accept(lfd);
            if (c < 0) break;
            accepted.set(lfd, (accepted.get(lfd) ?? 0) + 1);
            t.close(c);
          }
        }
      });
      transports.push(t);
      return t;
    };
    const [a, b, c] = [server(), server(), server()];
    const clients: net.Socket[] = [];
    try {
      const lead = a.listen('127.0.0.1', 0, 128, 'lead');
      const port = a.localPort(lead);
      const joiners = [b.listen('127.0.0.1', port, 128, true), c.listen('127.0.0.1', port, 128, true)];
      for (const [t, fd] of [[a, lead], [b, joiners[0]], [c, joiners[1]]] as const) {
        listeners.add(fd);
        expect(t.localPort(fd)).toBe(port);
      }
      // Still taken for anyone else: a plain listener is refused.
      expect(() => c.listen('127.0.0.1', port, 16)).toThrow(expect.objectContaining({ errno: mod.EADDRINUSE }));

      // The kernel hashes each connection (its 4-tuple) to one listener of the group: with
      // 60 connections, one listener getting none has a chance of about 1e-10.
      for (let i = 0; i < 60; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        clients.push(s);
      }
      const total = () => [...accepted.values()].reduce((x, y) => x + y, 0);
      for (let i = 0; i < 400 && total() < 60; i++) await sleep(5);
      expect(total()).toBe(60);
      expect([lead, ...joiners].map((fd) => (accepted.get(fd) ?? 0) > 0)).toEqual([true, true, true]);
    } finally {
      for (const s of clients) s.destroy();
      for (const t of transports) {
        for (const fd of listeners) t.close(fd); // (-EBADF for the others' descriptors)
        t.destroy();
      }
    }
  });

  it("listen 'lead' is refused (EADDRINUSE) on a port a lead holds, or a group of joiners holds; refused modes are TypeErrors", () => {
    const a = new mod.Transport(() => {});
    const b = new mod.Transport(() => {});
    try {
      // Two servers started one after the other: the second one's lead fails.
      const lead = a.listen('127.0.0.1', 0, 16, 'lead');
      const port = a.localPort(lead);
      expect(() => b.listen('127.0.0.1', port, 16, 'lead')).toThrow(expect.objectContaining({ errno: mod.EADDRINUSE }));
      a.close(lead);

      // A group of joiners alone (no lead) on a port: a lead is refused too...
      const j1 = a.listen('127.0.0.1', 0, 16, true);
      const taken = a.localPort(j1);
      const j2 = a.listen('127.0.0.1', taken, 16, true);
      expect(() => b.listen('127.0.0.1', taken, 16, 'lead')).toThrow(expect.objectContaining({ errno: mod.EADDRINUSE }));
      // ...because of them: once they are gone, the same lead binds.
      a.close(j1);
      a.close(j2);
      const after = b.listen('127.0.0.1', taken, 16, 'lead');
      expect(b.localPort(after)).toBe(taken);
      b.close(after);

      for (const mode of ['join', 1, null, {}]) {
        expect(() => a.listen('127.0.0.1', 0, 16, mode as unknown as boolean)).toThrow(TypeError);
      }
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  it('SO_REUSEPORT only when asked: listeners share a port then, and a taken port is refused otherwise', () => {
    const a = new mod.Transport(() => {});
    const shared = a.listen('127.0.0.1', 0, 16, true);
    const port = a.localPort(shared);
    const again = a.listen('127.0.0.1', port, 16, true); // a second worker's listener
    expect(a.localPort(again)).toBe(port);
    expect(() => a.listen('127.0.0.1', port, 16)).toThrow(expect.objectContaining({ errno: mod.EADDRINUSE }));
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
      b.setMemory(new Uint8Array(new SharedArrayBuffer(16)));
      expect(b.read(fd, 10, 100)).toBe(-14); // EFAULT: outside the memory given
    } finally {
      a.close(fd);
      a.destroy();
      b.destroy();
    }
  });

  it('arguments of the wrong kind are TypeErrors (never an abort); memory must be shared; destroy() forgets it', () => {
    const t = new mod.Transport(() => {});
    try {
      const lfd = t.listen('127.0.0.1', 0, 8);
      for (const call of [
        () => t.wantWritable(undefined as unknown as number, true),
        () => t.listen('127.0.0.1', '0' as unknown as number, 5, true),
        () => t.listen(7 as unknown as string, 0, 5),
        () => t.listen('127.0.0.1', 70000, 5),
        () => t.listen('127.0.0.1', -1, 5),
        () => t.read(lfd, Number.NaN, 1),
        () => t.write(lfd, 0.5, 1),
        () => t.accept('x' as unknown as number),
        () => t.writeBuffer(lfd, 'text' as unknown as Uint8Array),
        () => t.close(-1),
      ]) expect(call).toThrow(TypeError);
      // A plain ArrayBuffer can be detached (transferred) under the addon: refused.
      expect(() => t.setMemory(new Uint8Array(64))).toThrow(/shared memory/);
      const shared = new Uint8Array(new SharedArrayBuffer(64));
      t.setMemory(shared);
      expect(t.read(lfd, 0, 8)).toBeLessThan(0); // (a listener: an errno, but a real call)
      t.close(lfd);
    } finally {
      t.destroy();
    }
    // After destroy() the memory is forgotten: offsets are refused, not followed.
    expect(t.read(0, 0, 8)).toBe(-14);
    expect(t.write(1, 0, 8)).toBe(-14);
  });

  it('a script that transfers `events` away gets a fresh buffer; readiness still arrives', async () => {
    let seen = 0;
    let lfd = -1;
    const t: NativeTransport = new mod.Transport((count) => {
      for (let i = 0; i < count; i++) if (t.events[i * 2] === lfd) seen++;
      for (;;) if (t.accept(lfd) < 0) break;
    });
    try {
      lfd = t.listen('127.0.0.1', 0, 8);
      structuredClone(t.events.buffer, { transfer: [t.events.buffer as ArrayBuffer] });
      expect(t.events.length).toBe(0); // (detached)
      const s = net.connect(t.localPort(lfd), '127.0.0.1');
      s.on('error', () => {});
      for (let i = 0; i < 100 && seen === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(seen).toBe(1);
      expect(t.events.length).toBe(mod.MAX_EVENTS * 2);
      s.destroy();
      t.close(lfd);
    } finally {
      t.destroy();
    }
  });

  it('a worker terminated while it is inside the addon takes nothing down with it', async () => {
    const { Worker } = await import('node:worker_threads');
    const url = new URL('../../dist/net/native.js', import.meta.url).href;
    const code = `const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(url)}).then(({ nativeTransport }) => {
        const t = new (nativeTransport().module.Transport)(() => {});
        const lfd = t.listen('127.0.0.1', 0, 8);
        parentPort.postMessage('ready');
        for (;;) t.localPort(lfd);
      });`;
    for (let round = 0; round < 3; round++) {
      const w = new Worker(code, { eval: true });
      await new Promise((r) => w.once('message', r));
      await new Promise((r) => setTimeout(r, 20));
      expect(await w.terminate()).toBe(1);
    }
  });

  it('out of descriptors (EMFILE): waiting connections are dropped, not stranded; later ones are served', async () => {
    const { spawn } = await import('node:child_process');
    // (the HTTP app alone: under 48 descriptors the module loader itself must fit)
    const url = new URL('../../dist/http/app.js', import.meta.url).href;
    const server = `import { createServer } from ${JSON.stringify(url)};
      const app = createServer({ transport: 'native' });
      app.get('/', () => 'ok');
      const { port } = await app.listen();
      console.log(port);
      setTimeout(() => process.exit(0), 20000);`;
    const child = spawn('sh', ['-c', `ulimit -n 48 && exec ${JSON.stringify(process.execPath)} --input-type=module -e "$0"`, server],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = Number(await new Promise((r) => child.stdout!.once('data', (d) => r(String(d).trim()))));
      const hogs = Array.from({ length: 60 }, () => {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        return s;
      });
      await new Promise((r) => setTimeout(r, 400));
      for (const s of hogs) s.destroy();
      await new Promise((r) => setTimeout(r, 300));
      const ask = () => new Promise<string>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
        let got = '';
        s.on('data', (d) => (got += d));
        s.on('error', () => {});
        s.on('close', () => resolve(got.split('\r\n')[0]));
        setTimeout(() => s.destroy(), 3000);
      });
      for (let i = 0; i < 3; i++) expect(await ask()).toBe('HTTP/1.1 200 OK');
    } finally {
      child.kill();
    }
  }, 20_000);
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
