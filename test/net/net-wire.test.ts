// The node:net transport's timers, which are one sweep per listener (no node timer per
// socket): idle connections, output the client does not take (sendTimeout) and the
// lingering close, on a stand-in socket and a stand-in clock (Date.now), so that every
// boundary is exact. (Over real sockets, both transports: test/http/connection.test.ts.)
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NetWire, dropListenerState, listenerState, rebase, sweepWires, type NetListenerState } from '../../src/net/net-wire.js';
import type { WireSink } from '../../src/net/wire.js';

/** What NetWire uses of a node:net socket. */
class FakeSocket extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  paused = false;
  finished: (() => void) | null = null;
  /** Whether the kernel takes what is written at once (else it waits, in writableLength). */
  takes = true;
  write(b: Uint8Array): boolean {
    if (!this.takes) this.writableLength += b.length;
    return true;
  }
  cork(): void {}
  uncork(): void {}
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  end(cb: () => void): this {
    this.finished = cb;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

const sink = (): WireSink & { got: number } => ({
  got: 0,
  done: false,
  readRoom: () => 0,
  readPtr: () => 0,
  received() {},
  readIdle() {},
  data(d: Buffer) {
    this.got += d.length;
  },
  ended() {},
  closed() {},
});

describe('NetWire timers (one sweep per listener)', () => {
  let now = 0;
  let state: NetListenerState;
  beforeEach(() => {
    now = Date.now() + 1000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    state = listenerState(300, 500); // lingerMs, sendTimeoutMs
  });
  afterEach(() => {
    dropListenerState(state);
    vi.restoreAllMocks();
  });

  function wire() {
    const s = new FakeSocket();
    const w = new NetWire(s as unknown as net.Socket, state);
    w.sink = sink();
    state.open.add(w);
    return { s, w };
  }

  it('an idle connection is closed once idle for longer than its idle time, not before; input and output start that time again; 0 is never', () => {
    const idle = wire();
    const reading = wire();
    const writing = wire();
    const never = wire();
    for (const { w } of [idle, reading, writing]) w.setIdle(1000);
    never.w.setIdle(0);
    now += 800;
    reading.w.data(Buffer.from('GET'));
    writing.w.write(Buffer.from('HTTP/1.1 200 OK\r\n'));
    now += 200;
    sweepWires(state);
    expect([idle, reading, writing, never].map(({ s }) => s.destroyed)).toEqual([false, false, false, false]);
    now += 1;
    sweepWires(state);
    expect([idle, reading, writing, never].map(({ s }) => s.destroyed)).toEqual([true, false, false, false]);
    now += 800;
    sweepWires(state);
    expect([reading, writing].map(({ s }) => s.destroyed)).toEqual([true, true]);
    now += 1e9;
    sweepWires(state);
    expect(never.s.destroyed).toBe(false);
    expect((reading.w.sink as ReturnType<typeof sink>).got).toBe(3);
  });

  it('setIdle starts the idle time again (a new state of the connection)', () => {
    const { s, w } = wire();
    w.setIdle(1000);
    now += 900;
    w.setIdle(1000);
    now += 900;
    sweepWires(state);
    expect(s.destroyed).toBe(false);
    now += 101;
    sweepWires(state);
    expect(s.destroyed).toBe(true);
  });

  it('output the client takes none of closes the connection after sendTimeout; while it takes some, the connection is neither stalled nor idle', () => {
    const stalled = wire();
    const slow = wire();
    stalled.w.setIdle(0); // (a stream: no idle time)
    slow.w.setIdle(1000);
    for (const { s, w } of [stalled, slow]) {
      s.takes = false;
      w.write(Buffer.alloc(100));
    }
    sweepWires(state);
    // The slow client takes a little every sweep, for longer than both timeouts.
    for (let i = 1; i <= 6; i++) {
      now += 250;
      slow.s.writableLength = 100 - i * 10;
      sweepWires(state);
      if (i === 2) expect(stalled.s.destroyed).toBe(false); // 500 ms: not more than sendTimeout yet
      if (i === 3) expect(stalled.s.destroyed).toBe(true);
    }
    expect(slow.s.destroyed).toBe(false);
    // Then it takes nothing more: sendTimeout.
    now += 500;
    sweepWires(state);
    expect(slow.s.destroyed).toBe(false);
    now += 1;
    sweepWires(state);
    expect(slow.s.destroyed).toBe(true);
  });

  it('all output taken: no stall, however long ago it was written', () => {
    const { s, w } = wire();
    w.setIdle(0);
    s.takes = false;
    w.write(Buffer.alloc(100));
    sweepWires(state);
    s.writableLength = 0;
    now += 10_000;
    sweepWires(state);
    expect(s.destroyed).toBe(false);
  });

  it('end(): input waits until our FIN is out; then the client has lingerMs to close, whatever it sends', () => {
    const { s, w } = wire();
    w.setIdle(5000);
    w.end();
    expect(s.paused).toBe(true);
    now += 4000; // (the FIN waits for output the client takes slowly)
    s.finished!();
    expect(s.paused).toBe(false);
    now += 200;
    w.data(Buffer.from('more')); // (dropped by the sink; no new time)
    w.setIdle(5000); // (the linger time stays)
    now += 100;
    sweepWires(state);
    expect(s.destroyed).toBe(false);
    now += 1;
    sweepWires(state);
    expect(s.destroyed).toBe(true);
  });

  it('end() before the FIN is out: the idle time still bounds a client that takes nothing', () => {
    const { s, w } = wire();
    w.setIdle(300); // (shorter than sendTimeout here)
    s.takes = false;
    w.write(Buffer.alloc(100));
    w.end();
    now += 200;
    sweepWires(state);
    now += 100;
    sweepWires(state);
    expect(s.destroyed).toBe(false);
    now += 1;
    sweepWires(state);
    expect(s.destroyed).toBe(true);
  });

  it('the clock starting again from 0 (every 12 days or so) keeps every wire\'s times', () => {
    now += 2 ** 31;
    rebase(); // (from a known point: the clock is 0 now)
    const { s, w } = wire();
    const busy = wire();
    w.setIdle(1000);
    busy.w.setIdle(0);
    now += 2 ** 30 - 400;
    w.data(Buffer.from('x'));
    sweepWires(state);
    busy.s.takes = false; // the client takes none of it from here on
    busy.w.write(Buffer.alloc(10));
    now += 300;
    sweepWires(state);
    now += 200; // the clock passes 2^30: it starts again from 0
    sweepWires(state);
    expect([s.destroyed, busy.s.destroyed]).toEqual([false, false]);
    now += 1;
    sweepWires(state);
    expect([s.destroyed, busy.s.destroyed]).toEqual([false, true]); // 501 ms stalled, sendTimeout 500
    now += 499;
    sweepWires(state);
    expect(s.destroyed).toBe(false); // idle 1000 ms: not more than its idle time yet
    now += 1;
    sweepWires(state);
    expect(s.destroyed).toBe(true);
  });

  it('a socket that closes leaves its listener, and its sink learns it once', () => {
    const { w } = wire();
    let closed = 0;
    w.sink = { ...sink(), closed: () => closed++ };
    w.closed();
    w.closed();
    expect(state.open.has(w)).toBe(false);
    expect(closed).toBe(1);
  });
});
