// The buffer pool: layout, lease/release with generations, and inputs placed flush
// against the end of memory so that any read past the 64-byte padding traps.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ABI, ConduitError, WasmCore } from '../../src/index.js';
// @ts-ignore -- plain ESM
import { loadRequestFixtures } from '../support/llhttp-fixtures.mjs';

describe('BufferPool', () => {
  it('lays slots out to the last byte of memory, 64-byte aligned, with padding after each', () => {
    const core = new WasmCore({ slotSize: 4096, slotCount: 5 });
    const { pool } = core;
    expect(pool.base % 64).toBe(0);
    expect(pool.base + pool.slotCount * pool.stride).toBe(core.memory.buffer.byteLength);
    expect(pool.stride).toBe(ABI.SLOT_HEADER + 4096 + ABI.SLOT_PADDING);
    expect(pool.base).toBeGreaterThanOrEqual(core.scratch + ABI.SCRATCH_SIZE);
    const slots = Array.from({ length: 5 }, () => pool.lease());
    expect(new Set(slots.map((s) => s.index)).size).toBe(5);
    for (const s of slots) {
      expect(s.data % 64).toBe(0);
      expect(s.data - s.state).toBe(ABI.SLOT_HEADER);
      expect(s.capacity).toBe(4096);
    }
  });

  it('detects stale leases by generation and refuses double release', () => {
    const core = new WasmCore({ slotSize: 1024, slotCount: 2 });
    const { pool } = core;
    const a = pool.lease();
    const b = pool.lease();
    expect(pool.tryLease()).toBeNull();
    expect(() => pool.lease()).toThrow(expect.objectContaining({ code: 'CONDUIT_ERR_POOL_EXHAUSTED' }));
    pool.release(a);
    expect(pool.isLive(a)).toBe(false);
    expect(() => pool.check(a)).toThrow(ConduitError);
    expect(() => pool.release(a)).toThrow(expect.objectContaining({ code: 'CONDUIT_ERR_STALE_SLOT' }));
    const c = pool.lease();
    expect(c.index).toBe(a.index);
    expect(c.generation).not.toBe(a.generation);
    expect(pool.isLive(c)).toBe(true);
    expect(pool.isLive(b)).toBe(true);
  });

  it('validates its options', () => {
    expect(() => new WasmCore({ slotSize: 1000 })).toThrow(/multiple of 64/);
    expect(() => new WasmCore({ slotCount: 0 })).toThrow(/slotCount/);
  });
});

describe.each(['simd', 'scalar'] as const)('inputs flush against the end of memory (%s build)', (variant) => {
  // The last slot's padding ends at the last byte of memory: a kernel reading more than
  // 64 bytes past the end of its input traps with "memory access out of bounds".
  const core = new WasmCore({ variant, slotSize: 32768, slotCount: 3 });
  const slots = [core.pool.lease(), core.pool.lease(), core.pool.lease()];
  const last = slots.reduce((a, b) => (a.index > b.index ? a : b));
  const near = slots.find((s) => s !== last)!;
  const ex = core.exports;

  /** Parses input placed at `at`, all calls (pipelining), returning (ret, events) pairs. */
  function parseAt(slot: typeof last, input: Uint8Array, flush: boolean, padding: number): number[] {
    ex.http_init(slot.state, 8192, 16384, 100, 16384, 1 << 24);
    const start = flush ? slot.data + slot.capacity - input.length : slot.data;
    core.u8.set(input, start);
    core.u8.fill(padding, start + input.length, start + input.length + ABI.SLOT_PADDING);
    const out: number[] = [];
    let off = 0;
    for (let i = 0; i < 1000; i++) {
      const ret = ex.http_execute(slot.state, start + off, input.length - off);
      out.push(ret, core.u32[(core.scratch + ABI.RESULT_EVENTS) >>> 2]);
      if (ret <= 0) break;
      off += ret;
    }
    return out;
  }

  const inputs: Uint8Array[] = [
    ...loadRequestFixtures().map((c: { raw: Uint8Array }) => c.raw),
    ...JSON.parse(readFileSync(new URL('../fixtures/http/smuggling/cases.json', import.meta.url), 'utf8'))
      .map((c: { raw: string }) => Buffer.from(c.raw, 'latin1')),
  ].filter((b) => b.length <= 32768);

  it('every fixture and every prefix of it parses the same flush against the end, whatever the padding holds', () => {
    let checked = 0;
    for (const input of inputs) {
      const step = input.length > 2000 ? 61 : 1;
      for (let len = 1; len <= input.length; len += step) {
        const piece = input.subarray(0, len);
        const reference = parseAt(near, piece, false, 0);
        for (const padding of [0x00, 0x0d, 0x0a, 0x20, 0xff]) {
          expect(parseAt(last, piece, true, padding)).toEqual(reference);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5000);
  });

  it('the guard is real: a 16-byte SIMD load that starts within 15 bytes of the end of memory traps', () => {
    if (variant !== 'simd') return;
    const end = core.memory.buffer.byteLength;
    const input = Buffer.from('GET /abc');
    core.u8.set(input, end - input.length);
    ex.http_init(last.state, 8192, 16384, 100, 16384, 1 << 24);
    // Input deliberately placed inside the last padding, with no padding after it.
    expect(() => ex.http_execute(last.state, end - input.length, input.length)).toThrow(/out of bounds/);
  });
});
