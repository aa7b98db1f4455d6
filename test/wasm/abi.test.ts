// The TypeScript mirror of the ABI (src/wasm/abi.generated.ts) must match the module and
// assembly/status.ts; the loader must refuse a module whose layout differs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-ignore -- plain ESM
import { generate, readStatuses } from '../../src/wasm/gen-abi.mjs';
import { ABI, STATUS_INFO, Status, WasmCore, wasmBytes } from '../../src/index.js';

describe('ABI mirror', () => {
  it('src/wasm/abi.generated.ts is what the generator makes from the current sources', () => {
    const committed = readFileSync(new URL('../../src/wasm/abi.generated.ts', import.meta.url), 'utf8');
    expect(committed).toBe(generate());
  });

  it('every Status line of assembly/status.ts was read (none dropped by a malformed comment)', () => {
    const src = readFileSync(new URL('../../assembly/status.ts', import.meta.url), 'utf8');
    const lines = src.split('\n').filter((l) => /^\s+[A-Z0-9_]+ = \d+,/.test(l));
    expect(readStatuses(src)).toHaveLength(lines.length);
    expect(STATUS_INFO).toHaveLength(lines.length);
    for (const s of STATUS_INFO) {
      expect([0, 200, 400, 413, 414, 431, 500, 501, 505]).toContain(s.http);
      expect(s.reason.length).toBeGreaterThan(5);
    }
  });

  it('both builds export the same layout as the mirror', () => {
    for (const variant of ['simd', 'scalar'] as const) {
      const m = new WebAssembly.Module(wasmBytes(variant));
      const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
      const inst = new WebAssembly.Instance(m, { env: { memory, abort() {} } });
      for (const [k, v] of Object.entries(ABI)) {
        expect((inst.exports[`ABI_${k}`] as WebAssembly.Global).value, `${variant} ABI_${k}`).toBe(v);
      }
      expect((inst.exports.ABI_SIMD as WebAssembly.Global).value).toBe(variant === 'simd' ? 1 : 0);
    }
  });

  it('the loader refuses a module whose layout differs from the mirror', () => {
    const mutable = ABI as unknown as Record<string, number>;
    const saved = mutable.FIELDS_OFFSET;
    mutable.FIELDS_OFFSET = saved + 4;
    try {
      expect(() => new WasmCore({ slotCount: 1 })).toThrow(/ABI_FIELDS_OFFSET/);
    } finally {
      mutable.FIELDS_OFFSET = saved;
    }
  });

  it('status numbers are append-only: the first codes keep their numbers', () => {
    // Changing one of these breaks logs and hosts that stored them; add new codes at the end.
    expect(Status.OK).toBe(0);
    expect(Status.NEED_MORE).toBe(1);
    expect(Status.INVALID_METHOD).toBe(2);
    expect(Status.MISSING_HOST).toBe(21);
    expect(Status.DATA_AFTER_CLOSE).toBe(40);
  });
});
