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

  constructor(private readonly socket: net.Socket, private readonly lingerMs: number) {}

  write(b: Uint8Array): void {
    this.socket.write(b);
  }

  writeAll(list: readonly Uint8Array[]): void {
    this.socket.cork(); // (node:net then hands libuv all of them in one writev)
    for (const b of list) this.socket.write(b);
    this.socket.uncork();
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
export function listenNet(host: string, port: number, o: WireOptions): Promise<Listener> {
  let open = 0;
  return new Promise((resolve, reject) => {
    // allowHalfOpen: a client that half-closes after pipelining still gets its answers.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      if (open >= o.maxConnections) {
        socket.destroy();
        return;
      }
      const wire = new NetWire(socket, o.lingerMs);
      const sink = o.accept(wire);
      if (sink === null) {
        socket.destroy();
        return;
      }
      open++;
      socket.setNoDelay(true);
      socket.on('timeout', () => socket.destroy());
      socket.on('data', (d: Buffer) => sink.data(d));
      socket.on('end', () => sink.ended());
      socket.on('error', () => {});
      socket.on('close', () => {
        open--;
        wire.closed();
        sink.closed();
      });
    });
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        host,
        port: (server.address() as net.AddressInfo).port,
        stopAccepting: () => server.close(),
        release: () => {},
      });
    });
  });
}
