// src/wasm/leases.ts: the one policy by which the kernels' users get WASM memory.
import { describe, expect, it } from 'vitest';
import { holdSlot, releaseSlot, scratch, sizeClass } from '../../src/wasm/leases.js';
import { WasmCore } from '../../src/wasm/loader.js';
import { JsonRpcResultWriter } from '../../src/jsonrpc/encode.js';
import { SseFramer } from '../../src/sse/framer.js';
import { HttpParser } from '../../src/http/parser.js';

describe('held slots', () => {
  it('come from shared cores of their size class, and a released one is leased again', () => {
    expect([1, 1024, 1025, 32 * 1024, 40_000].map(sizeClass)).toEqual([1024, 1024, 2048, 32 * 1024, 64 * 1024]);
    const owner = {};
    const a = holdSlot(3000, owner);
    const b = holdSlot(4096, owner);
    expect(a.slot.capacity).toBe(4096);
    expect(b.core === a.core).toBe(true); // (one core serves the size class)
    expect(b.slot.index).not.toBe(a.slot.index);
    expect(a.core.shared).toBe(true);
    releaseSlot(a);
    releaseSlot(a); // (twice: left alone)
    const c = holdSlot(4096, owner);
    expect(c.core === a.core).toBe(true);
    expect(c.slot.index).toBe(a.slot.index);
    expect(a.core.pool.isLive(a.slot)).toBe(false);
    releaseSlot(b);
    releaseSlot(c);
  });

  it('a full size class gets another core; plain memory has cores of its own', () => {
    const owner = {};
    const first = holdSlot(1024 * 1024, owner); // (1 MiB slots: two per 2 MiB core)
    const second = holdSlot(1024 * 1024, owner);
    const third = holdSlot(1024 * 1024, owner);
    expect(second.core === first.core).toBe(true);
    expect(third.core === first.core).toBe(false);
    const plain = holdSlot(1024 * 1024, owner, { shared: false });
    expect(plain.core.shared).toBe(false);
    expect(plain.core.memory.buffer).toBeInstanceOf(ArrayBuffer);
    for (const l of [first, second, third, plain]) releaseSlot(l);
  });

  it('the kernels\' users take theirs from it: HttpParser (shared, or plain on request), SseFramer (plain)', () => {
    const p = new HttpParser();
    const q = new HttpParser({ sharedMemory: false });
    expect(p.core.shared).toBe(true);
    expect(q.core.shared).toBe(false);
    expect(new HttpParser().core === p.core).toBe(true);
    const f = new SseFramer();
    expect(f.core.shared).toBe(false);
    expect(new TextDecoder().decode(f.frame({ data: 'x' }))).toBe('data: x\n\n');
    p.destroy();
    q.destroy();
    f.destroy();
  });
});

describe('scratch lanes', () => {
  it('the smallest lane that fits, reused; a larger one made when none fits', () => {
    const a = scratch(100, { shared: false });
    expect(a.capacity).toBeGreaterThanOrEqual(64 * 1024);
    expect(scratch(a.capacity, { shared: false }) === a).toBe(true); // (identity: printing a core's memory would be slow)
    const big = scratch(a.capacity + 1, { shared: false });
    expect(big === a).toBe(false);
    expect(big.capacity).toBeGreaterThan(a.capacity);
    expect(scratch(10, { shared: false }) === a).toBe(true);
    expect(scratch(10, { shared: true }) === a).toBe(false);
  });
});

describe('JsonRpcResultWriter and its memory', () => {
  it('without a core: grows by holding a larger slot', () => {
    const w = new JsonRpcResultWriter({ slotSize: 1024 });
    const big = JSON.stringify({ s: 'x'.repeat(5000) });
    const out = w.write(1, big);
    expect(new TextDecoder().decode(out)).toBe(`{"jsonrpc":"2.0","id":1,"result":${big}}`);
    w.destroy();
  });

  it('with a core of the caller\'s: keeps to it; an envelope larger than its slots gets a buffer of its own', () => {
    const core = new WasmCore({ slotSize: 1024, slotCount: 2 });
    const w = new JsonRpcResultWriter({ core });
    const small = w.write(1, '{"ok":true}');
    expect(small.buffer === core.memory.buffer).toBe(true);
    const big = JSON.stringify({ s: 'y'.repeat(3000) });
    const out = w.write('a', big);
    expect(out.buffer === core.memory.buffer).toBe(false);
    expect(new TextDecoder().decode(out)).toBe(`{"jsonrpc":"2.0","id":"a","result":${big}}`);
    const again = w.write(2, '[]');
    expect(again.buffer === core.memory.buffer).toBe(true); // (still the caller's core: not swapped for a private one)
    expect(new TextDecoder().decode(again)).toBe('{"jsonrpc":"2.0","id":2,"result":[]}');
    w.destroy();
    expect(core.pool.available).toBe(2);
  });
});
