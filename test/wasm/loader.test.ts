// The loader: build selection (SIMD unless the runtime cannot, or CONDUIT_WASM=scalar).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { WasmCore, simdSupported, defaultVariant } from '../../src/index.js';

const DIST = new URL('../../dist/index.js', import.meta.url).href;
const variantIn = (env: Record<string, string>) =>
  spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { defaultVariant, WasmCore } from ${JSON.stringify(DIST)}; console.log(defaultVariant(), new WasmCore({ slotCount: 1 }).variant);`],
  { encoding: 'utf8', env: { ...process.env, ...env } });

describe('WASM loader', () => {
  it('Node 20 validates the SIMD build, and it is the default', () => {
    expect(simdSupported()).toBe(true);
    if (process.env.CONDUIT_WASM === undefined) expect(defaultVariant()).toBe('simd');
  });

  it('CONDUIT_WASM=scalar forces the scalar build', () => {
    const r = variantIn({ CONDUIT_WASM: 'scalar' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('scalar scalar');
    expect(variantIn({ CONDUIT_WASM: '' }).stdout.trim()).toBe('simd simd');
  });

  it('a core can be asked for either build', () => {
    expect(new WasmCore({ variant: 'scalar', slotCount: 1 }).variant).toBe('scalar');
    expect(new WasmCore({ variant: 'simd', slotCount: 1 }).variant).toBe('simd');
  });
});
