// The node:net transport: a socket as a Wire, and the listener that makes them. Used when
// the native addon is not built (or transport: 'net'); the HTTP layer above is the same.
//
// What a connection costs here beyond node's own Socket is kept small, as idle connections
// may be many: the socket's listeners are the same functions for every socket (they find
// their wire through one property of the socket), and idle, stalled and lingering
// connections are closed by one sweep per listener (as on the native transport), not by a
// node timer per socket (socket.setTimeout costs a Timeout and a bound function each, and
// a timer refresh per read).

import net from 'node:net';
import type { Listener, Wire, WireOptions, WireSink } from './wire.js';

/**
 * The clock of the sweep: milliseconds since `base`, as a small integer (`| 0`). The wires
 * keep their times in it: a time from Date.now() is no small integer, and a field holding
 * one costs a boxed number per wire. The sweep starts it again from 0 long before it
 * outgrows that (rebase()).
 */
let base = Date.now();
const clock = (): number => (Date.now() - base) | 0;
/** When the clock reaches this, rebase() starts it again from 0. */
const REBASE_AT = 2 ** 30;

/** What a listener shares with its wires. */
export interface NetListenerState {
  /** Its open connections. */
  readonly open: Set<NetWire>;
  readonly lingerMs: number;
  readonly sendTimeoutMs: number;
}
/** The state of every listener open in this process (rebase() goes over their wires). */
const listeners = new Set<NetListenerState>();

/** A listener's state, known to rebase() until dropListenerState(). */
export function listenerState(lingerMs: number, sendTimeoutMs: number): NetListenerState {
  const state: NetListenerState = { open: new Set<NetWire>(), lingerMs, sendTimeoutMs };
  listeners.add(state);
  rebase();
  return state;
}

export function dropListenerState(state: NetListenerState): void {
  listeners.delete(state);
}

/** The property of a socket that holds its wire (for the listeners every socket shares). */
const WIRE = Symbol('wire');
type WiredSocket = net.Socket & { [WIRE]: NetWire };

/** A node:net socket as a Wire. */
export class NetWire implements Wire {
  private holds = 0;
  /** end() was called: input holds no longer apply, the client's bytes are dropped. */
  private ending = false;
  /** Our FIN is out: the connection closes lingerMs after it (set by end()), whatever comes. */
  private lingering = false;
  /** Closed after idleMs (0: never) without traffic since lastActive (clock() times). */
  private idleMs = 0;
  private lastActive = clock();
  /**
   * Bytes handed to the socket (modulo 2^32), how many of them the kernel had taken at the
   * last look, and since when (clock()) it has taken none.
   */
  private written = 0;
  private taken = 0;
  private stalledSince = clock();
  sink: WireSink | null = null;

  constructor(private readonly socket: net.Socket, private readonly l: NetListenerState) {}

  write(b: Uint8Array): void {
    this.written = (this.written + b.length) | 0;
    this.lastActive = clock();
    this.socket.write(b);
    this.takenAll();
  }

  writeAll(list: readonly Uint8Array[]): void {
    this.socket.cork(); // (node:net then hands libuv all of them in one writev)
    for (const b of list) this.write(b);
    this.socket.uncork();
    this.takenAll();
  }

  /** The kernel took all at once (the common case): that is not the client reading later. */
  private takenAll(): void {
    if (this.socket.writableLength === 0) this.taken = this.written;
  }

  /** Bytes from the client. */
  data(d: Buffer): void {
    if (!this.lingering) this.lastActive = clock();
    this.sink?.data(d);
  }

  /**
   * The sweep: whether this connection is due to close at `at` (clock()): lingering past
   * its time, idle for longer than idleMs, or output that has waited longer than
   * sendTimeoutMs without the kernel taking any of it. (What node:net was given, minus
   * what still waits in it, is what the kernel took. Output that waited and was taken
   * since the last look is the client reading: traffic, as of now.)
   */
  due(at: number): boolean {
    const waiting = this.socket.writableLength;
    const taken = (this.written - waiting) | 0;
    if (waiting === 0 || taken !== this.taken) {
      if (taken !== this.taken && !this.lingering) this.lastActive = at;
      this.taken = taken;
      this.stalledSince = at;
    } else if (at - this.stalledSince > this.l.sendTimeoutMs) {
      return true;
    }
    return this.idleMs > 0 && at - this.lastActive > this.idleMs;
  }

  /** Moves this wire's times back by `shift` (see rebase()); none goes below -REBASE_AT. */
  rebase(shift: number): void {
    this.lastActive = Math.max(-REBASE_AT, this.lastActive - shift);
    this.stalledSince = Math.max(-REBASE_AT, this.stalledSince - shift);
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
      this.lingering = true;
      this.idleMs = this.l.lingerMs;
      this.lastActive = clock();
      s.resume();
    });
  }

  setIdle(ms: number): void {
    if (this.lingering) return; // (the linger time is set)
    this.idleMs = ms;
    this.lastActive = clock();
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

  /** The socket closed: the listener forgets it, and its sink learns it (once). */
  closed(): void {
    this.l.open.delete(this);
    const sink = this.sink;
    this.sink = null;
    sink?.closed();
  }
}

// The listeners of every socket (`this` is the socket).
function onData(this: WiredSocket, d: Buffer): void {
  this[WIRE].data(d);
}
function onEnd(this: WiredSocket): void {
  this[WIRE].sink?.ended();
}
function onClose(this: WiredSocket): void {
  this[WIRE].closed();
}
function ignoreError(): void {
  // (a 'close' follows every error)
}

/**
 * Once the clock nears what a small integer holds, it starts again from 0, and the times
 * of every open wire move with it (every 12 days or so of uptime). `now`: for tests.
 */
export function rebase(now = Date.now()): void {
  const shift = now - base;
  if (shift < REBASE_AT) return;
  base = now;
  for (const l of listeners) for (const w of l.open) w.rebase(shift);
}

/** One round of a listener's sweep: the wires that are due are closed. */
export function sweepWires(state: NetListenerState): void {
  rebase();
  const at = clock();
  for (const w of state.open) if (w.due(at)) w.destroy();
}

/** Listens on host:port with node:net; each connection gets a NetWire and the sink accept() gives. */
export function listenNet(host: string, port: number, o: WireOptions & { sweepMs: number }): Promise<Listener> {
  const state = listenerState(o.lingerMs, o.sendTimeoutMs);
  const open = state.open;
  // Idle, stalled and lingering connections are found by a sweep (one timer per listener).
  const sweep = setInterval(() => sweepWires(state), o.sweepMs);
  const stop = () => {
    clearInterval(sweep);
    dropListenerState(state);
  };
  return new Promise((resolve, reject) => {
    // allowHalfOpen: a client that half-closes after pipelining still gets its answers.
    // noDelay: no Nagle delay on what we write (set as the connection is accepted).
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      if (open.size >= o.maxConnections) {
        socket.destroy();
        return;
      }
      const wire = new NetWire(socket, state);
      const sink = o.accept(wire);
      if (sink === null) {
        socket.destroy();
        return;
      }
      wire.sink = sink;
      open.add(wire);
      (socket as WiredSocket)[WIRE] = wire;
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('error', ignoreError);
      socket.on('close', onClose);
    });
    const failed = (e: Error) => {
      stop();
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
          stop();
          for (const w of open) w.destroy();
        },
      });
    });
  });
}
