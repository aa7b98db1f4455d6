// The native transport: a descriptor of the epoll/kqueue addon (native.ts) as a Wire, and
// the listener that accepts them. Reads go straight into the sink's WASM memory; writes
// that the kernel does not take at once wait for WRITABLE. Idle connections, stalled
// output and lingering closes are timed by one sweep per listener, not a timer per
// connection.

import type { NativeModule, NativeTransport } from './native.js';
import type { Listener, Wire, WireOptions, WireSink } from './wire.js';

/** Bytes one discard() call may drop while lingering, and calls per readiness edge. */
const DISCARD_CHUNK = 64 * 1024;
const DISCARD_ROUNDS = 16;

// A coarse clock for idle checks (refreshed by the sweep timer and by readiness batches).
let now = Date.now();

/** A native descriptor as a Wire. */
export class NativeWire implements Wire {
  sink: WireSink | null = null;
  /** Bytes the kernel has not taken yet, in order (none: null). */
  private out: Uint8Array[] | null = null;
  private outBytes = 0;
  private drainers: Array<() => void> | null = null;
  /** end() was called: FIN once `out` is written, then linger. */
  private ending = false;
  /** Our FIN is out: the client's bytes are dropped until it closes, or until lingerUntil. */
  lingering = false;
  lingerUntil = 0;
  private closed = false;
  /** Pauses of input not yet resumed (a streamed body, output backpressure): reading waits while any. */
  private inputHolds = 0;
  /** The peer half-closed (HANGUP seen): the EOF waits after the bytes still unread. */
  private peerEnded = false;
  idleMs = 0;
  lastActive = 0;
  /** Since when the output that waits (out) has made no progress. */
  private stalledSince = 0;

  constructor(readonly fd: number, private readonly t: NativeTransport, private readonly mod: NativeModule,
    private readonly lingerMs: number, private readonly onClosed: (w: NativeWire) => void) {}

  write(b: Uint8Array): void {
    if (this.closed) return;
    this.lastActive = now;
    if (this.out !== null) {
      this.out.push(b);
      this.outBytes += b.length;
      return;
    }
    const n = this.t.writeBuffer(this.fd, b);
    if (n === b.length) return;
    this.stalledSince = now;
    if (n >= 0) this.out = [b.subarray(n)];
    else if (n === -this.mod.EAGAIN) this.out = [b];
    else {
      this.destroy();
      return;
    }
    this.outBytes += b.length - Math.max(0, n);
    this.t.wantWritable(this.fd, true); // tell us when the kernel has room
  }

  writeAll(list: readonly Uint8Array[]): void {
    if (this.closed) return;
    if (this.out !== null || list.length > this.mod.MAX_IOV) {
      for (const b of list) this.write(b);
      return;
    }
    this.lastActive = now;
    const n = this.t.writev(this.fd, list);
    if (n < 0 && n !== -this.mod.EAGAIN) {
      this.destroy();
      return;
    }
    const rest = unwritten(list, Math.max(0, n));
    if (rest === null) return;
    this.stalledSince = now;
    this.out = rest;
    for (const b of rest) this.outBytes += b.length;
    this.t.wantWritable(this.fd, true); // tell us when the kernel has room
  }

  buffered(): number {
    return this.outBytes;
  }

  onDrain(cb: () => void): void {
    if (this.outBytes === 0 || this.closed) cb();
    else (this.drainers ??= []).push(cb);
  }

  /** The kernel has room again. */
  writable(): void {
    this.lastActive = now; // (the client is reading)
    let out = this.out;
    while (out !== null && !this.closed) {
      // All that waits, in one gathering write (writev) when there is more than one buffer.
      const n = out.length === 1 ? this.t.writeBuffer(this.fd, out[0]) : this.t.writev(this.fd, out);
      if (n === -this.mod.EAGAIN) return;
      if (n < 0) {
        this.destroy();
        return;
      }
      let offered = 0;
      for (let i = 0; i < out.length && i < this.mod.MAX_IOV; i++) offered += out[i].length;
      if (n > 0) this.stalledSince = now;
      this.outBytes -= n;
      out = unwritten(out, n);
      this.out = out;
      if (n < offered) return; // a short write: the kernel is full again (a new edge will come)
    }
    if (this.closed) return;
    this.out = null;
    this.t.wantWritable(this.fd, false);
    if (this.ending) this.linger();
    else this.drained();
  }

  /**
   * Reads until the kernel has no more (edge-triggered), straight into the sink's memory.
   * `hangup`: the peer's FIN came with this readiness (it raises no edge of its own).
   */
  readable(hangup = false): void {
    if (hangup) this.peerEnded = true;
    if (this.lingering) {
      this.discard();
      return;
    }
    const sink = this.sink;
    while (!this.closed && sink !== null && !sink.done && this.inputHolds === 0) {
      const room = sink.readRoom();
      if (room <= 0) return;
      const n = this.t.read(this.fd, sink.readPtr(), room);
      if (n > 0) {
        this.lastActive = now;
        sink.received(n);
        // A short read drained the socket: what arrives later raises a new edge, so the
        // read that would only say EAGAIN is skipped (one syscall less per request).
        // Unless the peer has ended: its EOF is read now, as no edge would report it.
        if (n < room && !this.peerEnded) return;
      } else if (n === 0) {
        sink.ended();
        return;
      } else {
        if (n !== -this.mod.EAGAIN) this.destroy();
        else sink.readIdle(); // (read found nothing: memory leased for it goes back)
        return;
      }
    }
  }

  end(): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    if (this.out === null) this.linger();
  }

  /** Our output is out: FIN, then drop what the client sends until it closes (or lingerMs). */
  private linger(): void {
    if (this.lingering || this.closed) return;
    this.drained();
    if (this.t.shutdown(this.fd) < 0) {
      this.destroy();
      return;
    }
    this.lingering = true;
    this.lingerUntil = Date.now() + this.lingerMs;
    this.discard(); // (edge-triggered: what is already there raises no new edge)
  }

  private discard(): void {
    // (At most DISCARD_ROUNDS chunks per readiness: a client that keeps sending raises new
    // edges, and cannot hold the event loop here; the linger time ends it anyway.)
    for (let i = 0; i < DISCARD_ROUNDS; i++) {
      const n = this.t.discard(this.fd, DISCARD_CHUNK);
      if (n > 0) continue;
      if (n !== -this.mod.EAGAIN) this.destroy(); // EOF: the client closed too (or an error)
      return;
    }
  }

  setIdle(ms: number): void {
    this.idleMs = ms;
    // (the clock, not the coarse `now`: this may run from a timer long after the last
    // readiness batch, and a stale start would close the connection early)
    this.lastActive = Date.now();
  }

  pauseInput(): void {
    this.inputHolds++;
  }

  /** Reads what arrived meanwhile (edge-triggered: no new edge would report it). */
  resumeInput(): void {
    if (this.inputHolds === 0) return;
    if (--this.inputHolds > 0) return;
    this.lastActive = Date.now();
    this.readable();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.out = null;
    this.outBytes = 0;
    this.t.close(this.fd);
    const sink = this.sink;
    this.sink = null;
    sink?.closed();
    this.onClosed(this);
    this.drained();
  }

  /** Whether output has waited longer than `ms` without the client taking any of it. */
  stalled(at: number, ms: number): boolean {
    return this.out !== null && at - this.stalledSince > ms;
  }

  private drained(): void {
    const cbs = this.drainers;
    this.drainers = null;
    if (cbs !== null) for (const cb of cbs) cb();
  }
}

/** What is left of `list` after its first n bytes were written (null: nothing). */
function unwritten(list: readonly Uint8Array[], n: number): Uint8Array[] | null {
  let i = 0;
  while (i < list.length && n >= list[i].length) n -= list[i++].length;
  if (i === list.length) return null;
  const rest = list.slice(i);
  if (n > 0) rest[0] = rest[0].subarray(n);
  return rest;
}

/**
 * Listens on host (an address: names are looked up by the caller) and port with the addon;
 * `memory` is the WASM memory the sinks read into. `reusePort`: see ListenOptions.
 */
export function listenNative(mod: NativeModule, memory: Uint8Array, host: string, port: number,
  reusePort: boolean | 'lead', o: WireOptions & { sweepMs: number }): Listener {
  const wires = new Map<number, NativeWire>();
  let listenFd = -1;
  const onClosed = (w: NativeWire) => wires.delete(w.fd);
  // Every connection waiting (edge-triggered: the listener reports them once). When an
  // error other than "none left" stops it, the sweep timer tries again, so that
  // connections are not left waiting for an edge that will not come.
  let acceptStalled = false;
  const acceptAll = () => {
    acceptStalled = false;
    for (;;) {
      const c = t.accept(listenFd);
      if (c === -mod.EAGAIN) return;
      if (c === -mod.ECONNABORTED || c === -mod.EINTR) continue; // (one gone, or dropped at EMFILE)
      if (c < 0) {
        acceptStalled = true;
        return;
      }
      if (wires.size >= o.maxConnections) {
        t.close(c);
        continue;
      }
      const w = new NativeWire(c, t, mod, o.lingerMs, onClosed);
      const sink = o.accept(w);
      if (sink === null) {
        t.close(c);
        continue;
      }
      wires.set(c, w);
      w.sink = sink;
    }
  };
  const t: NativeTransport = new mod.Transport((count) => {
    now = Date.now();
    const ev = t.events;
    for (let i = 0; i < count; i++) {
      const fd = ev[i * 2];
      const e = ev[i * 2 + 1];
      if (fd === listenFd) {
        acceptAll();
        continue;
      }
      const w = wires.get(fd);
      if (w === undefined) continue;
      if ((e & mod.WRITABLE) !== 0) w.writable();
      if ((e & (mod.READABLE | mod.HANGUP | mod.ERROR)) !== 0) w.readable((e & mod.HANGUP) !== 0);
    }
  });
  t.setMemory(memory);
  try {
    listenFd = t.listen(host, port, 511, reusePort);
  } catch (err) {
    t.destroy();
    const e = err as Error & { errno?: number; code?: string };
    if (e.errno === mod.EADDRINUSE) e.code = 'EADDRINUSE';
    else if (e.errno === mod.EACCES) e.code = 'EACCES';
    else if (e.errno === mod.EADDRNOTAVAIL) e.code = 'EADDRNOTAVAIL';
    throw e;
  }
  // Idle and lingering connections are closed by a sweep (one timer, not one per connection).
  const sweep = setInterval(() => {
    now = Date.now();
    if (acceptStalled && listenFd >= 0) acceptAll();
    for (const w of wires.values()) {
      if (w.lingering ? now > w.lingerUntil : (w.idleMs > 0 && now - w.lastActive > w.idleMs) || w.stalled(now, o.sendTimeoutMs)) w.destroy();
    }
  }, o.sweepMs);
  return {
    host,
    port: t.localPort(listenFd),
    stopAccepting: () => {
      t.close(listenFd);
      listenFd = -1;
    },
    release: () => {
      clearInterval(sweep);
      for (const w of wires.values()) w.destroy();
      t.destroy();
    },
  };
}
