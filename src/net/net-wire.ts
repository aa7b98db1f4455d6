// The node:net transport: a socket as a Wire, and the listener that makes them. Used when
// the native addon is not built (or transport: 'net'); the HTTP layer above is the same.

import net from 'node:net';
import type { Listener, Wire, WireOptions, WireSink } from './wire.js';

/** A node:net socket as a Wire. */
export class NetWire implements Wire {
  private holds = 0;
  /** end() was called: input holds no longer apply, the client's bytes are dropped. */
  private ending = false;
  private lingerTimer: NodeJS.Timeout | null = null;
  /** Bytes handed to the socket, and how many of them the kernel had taken at the last check. */
  private written = 0;
  private taken = 0;
  private stalledSince = 0;

  constructor(private readonly socket: net.Socket, private readonly lingerMs: number) {}

  write(b: Uint8Array): void {
    this.written += b.length;
    this.socket.write(b);
  }

  writeAll(list: readonly Uint8Array[]): void {
    this.socket.cork(); // (node:net then hands libuv all of them in one writev)
    for (const b of list) this.write(b);
    this.socket.uncork();
  }

  /**
   * Whether output has waited longer than `ms` without the kernel taking any of it
   * (checked by the listener's sweep: what node:net was given, minus what still waits in
   * it, is what the kernel took).
   */
  stalled(at: number, ms: number): boolean {
    const waiting = this.socket.writableLength;
    const taken = this.written - waiting;
    if (waiting === 0 || taken > this.taken) {
      this.taken = taken;
      this.stalledSince = at;
      return false;
    }
    return at - this.stalledSince > ms;
  }

  buffered(): number {
    return this.socket.writableLength;
  }

  onDrain(cb: () => void): void {
    if (this.socket.writableLength === 0 || this.socket.destroyed) cb();
    else this.socket.once('drain', cb);
  }

  end(): void {
    if (this.ending) return;
    this.ending = true;
    const s = this.socket;
    // Until our FIN is out the client's bytes are not read (so they cannot keep the idle
    // time running while it does not read our answer); then they are read and dropped
    // (the sink is done), and the client has lingerMs to close its side.
    s.pause();
    s.end(() => {
      if (s.destroyed) return;
      this.lingerTimer = setTimeout(() => s.destroy(), this.lingerMs);
      this.lingerTimer.unref();
      s.resume();
    });
  }

  setIdle(ms: number): void {
    this.socket.setTimeout(ms);
  }

  destroy(): void {
    this.socket.destroy();
  }

  pauseInput(): void {
    if (this.holds++ === 0 && !this.ending) this.socket.pause();
  }

  resumeInput(): void {
    if (this.holds === 0) return;
    if (--this.holds === 0 && !this.ending) this.socket.resume();
  }

  /** The socket closed: no timer outlives it. */
  closed(): void {
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
  }
}

/** Listens on host:port with node:net; each connection gets a NetWire and the sink accept() gives. */
export function listenNet(host: string, port: number, o: WireOptions & { sweepMs: number }): Promise<Listener> {
  const open = new Set<NetWire>();
  // Stalled output is found by a sweep (one timer per listener), as on the native transport.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const w of open) if (w.stalled(now, o.sendTimeoutMs)) w.destroy();
  }, o.sweepMs);
  return new Promise((resolve, reject) => {
    // allowHalfOpen: a client that half-closes after pipelining still gets its answers.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      if (open.size >= o.maxConnections) {
        socket.destroy();
        return;
      }
      const wire = new NetWire(socket, o.lingerMs);
      const sink = o.accept(wire);
      if (sink === null) {
        socket.destroy();
        return;
      }
      open.add(wire);
      socket.setNoDelay(true);
      socket.on('timeout', () => socket.destroy());
      socket.on('data', (d: Buffer) => sink.data(d));
      socket.on('end', () => sink.ended());
      socket.on('error', () => {});
      socket.on('close', () => {
        open.delete(wire);
        wire.closed();
        sink.closed();
      });
    });
    const failed = (e: Error) => {
      clearInterval(sweep);
      reject(e);
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve({
        host,
        port: (server.address() as net.AddressInfo).port,
        stopAccepting: () => server.close(),
        release: () => {
          clearInterval(sweep);
          for (const w of open) w.destroy();
        },
      });
    });
  });
}
