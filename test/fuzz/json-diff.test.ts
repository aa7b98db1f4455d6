// Differential fuzzing of Conduit's JSON tokenizer and JSON-RPC envelope extraction
// against JSON.parse (see test/fuzz/json-diff.mjs): a fixed seed, 100,000 mutated
// inputs, each run through the SIMD and scalar builds (validateJson and parseJsonRpc,
// which must agree exactly) and the reference (valid UTF-8 AND JSON.parse accepts).
// Every disagreement must be a named, checked category; anything else fails.
//
// Longer runs: `npm run build && node test/fuzz/json-diff.mjs --iterations 1000000 --seed N`.
import { describe, expect, it } from 'vitest';
import * as conduit from '../../src/index.js';
// @ts-ignore -- plain ESM with JSDoc types
import { createDiffer, signature, CATEGORIES, seedCorpus, MAX_DEPTH, memberLists, nestingDepth, firstInvalidUtf8 } from './json-diff.mjs';
import { unexplainedCollector } from '../support/unexplained.js';

const SEED = 0x15_0a_2026;
const ITERATIONS = 100_000;


const differ = createDiffer({ conduit });
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
type Verdict = null | { category: string; why?: string };
const cat = (b: Uint8Array, maxDepth = MAX_DEPTH) => (differ.classify(differ.compare(b, maxDepth)) as Verdict)?.category ?? null;

describe('differential fuzzing against JSON.parse', () => {
  it('reference helpers', () => {
    expect(nestingDepth('[{"a":"[[[{"},[]]')).toBe(2);
    expect(nestingDepth('1')).toBe(0);
    expect(memberLists('{"a":1,"b\\u0022":"x","a":{"z":"y"}}', 1)).toEqual([[
      { name: 'a', escaped: false, literal: undefined },
      { name: 'b"', escaped: true, literal: '"x"' },
      { name: 'a', escaped: false, literal: undefined },
    ]]);
    expect(memberLists('[{"k":1},2,[{"n":3}],{"m":"v"}]', 2).map((l: Array<{ name: string }>) => l.map((m) => m.name)))
      .toEqual([['k'], ['m']]);
    expect(firstInvalidUtf8(bytes('ab\xc3\xa9\xed\xa0\x80'))).toBe(4);
    expect(firstInvalidUtf8(utf8('é€😀'))).toBe(-1);
  });

  it('classifier: agreement, named categories, and what must stay UNEXPLAINED', () => {
    expect(cat(utf8('{"jsonrpc":"2.0","id":1,"method":"tools/list"}'))).toBeNull();
    expect(cat(utf8('[{"jsonrpc":"2.0","method":"a"},1,{"jsonrpc":"2.0","id":null,"result":"\\ud800"}]'))).toBeNull();
    expect(cat(bytes('{"a":"\xff"}'))).toBeNull(); // both reject
    expect(cat(utf8('[1e400, -0, 123456789012345678901234567890]'))).toBeNull(); // -32600 both
    expect(cat(bytes('\xef\xbb\xbf{"jsonrpc":"2.0","method":"a"}'))).toBe('UTF8_BOM');
    expect(cat(utf8('['.repeat(1001) + ']'.repeat(1001)))).toBe('DEEPER_THAN_MAX_DEPTH');
    expect(cat(utf8('[[[]]]'), 2)).toBe('DEEPER_THAN_MAX_DEPTH');
    expect(cat(utf8('[[[]]]'), 3)).toBeNull();
    // Once known bugs, now fixed: these must agree with the reference.
    expect(cat(utf8('{"jsonrpc":"2.0","method":"a","\\u006dethod":"b"}'))).toBeNull();
    expect(cat(utf8('{"jsonrpc":"2\\u002e0","method":"a"}'))).toBeNull();
    expect(cat(utf8('{"jsonrpc":"2.0","id":1,"result":1,"params":[1]}'))).toBeNull();

    // Fabricated Conduit answers: the classifier must not wave these through.
    const ok = differ.compare(utf8('{"jsonrpc":"2.0","id":7,"method":"m","params":[1]}'));
    const fake = (patch: Record<string, unknown>) => differ.classify({ ...ok, simd: { ...ok.simd, ...patch }, scalar: { ...ok.scalar, ...patch } });
    expect(differ.classify(ok)).toBeNull();
    expect(differ.classify({ ...ok, scalar: { ...ok.scalar, validate: { offset: 0, message: 'Parse error: invalid JSON' } } }).category).toBe('UNEXPLAINED');
    const msg = ok.simd.parse.messages[0];
    expect(fake({ parse: { ...ok.simd.parse, messages: [{ ...msg, id: '7' }] } }).category).toBe('UNEXPLAINED');
    expect(fake({ parse: { ...ok.simd.parse, messages: [{ ...msg, params: [2] }] } }).category).toBe('UNEXPLAINED');
    expect(fake({ parse: { ...ok.simd.parse, messages: [{ ...msg, kind: 'notification' }] } }).category).toBe('UNEXPLAINED');
    expect(fake({ parse: { ok: false, error: { code: -32600, message: 'x' } } }).category).toBe('UNEXPLAINED');
    expect(fake({ validate: { offset: 3, message: 'Parse error: nested too deeply' } }).category).toBe('UNEXPLAINED');
    // A BOM category needs the BOM; a depth category needs the depth.
    const deep = differ.compare(utf8('[[1]]'), 1);
    expect(differ.classify(deep).category).toBe('DEEPER_THAN_MAX_DEPTH');
    expect(differ.classify({ ...deep, maxDepth: 2 }).category).toBe('UNEXPLAINED');
    const bad = differ.compare(bytes('["\xff"]'));
    expect(differ.classify(bad)).toBeNull();
    expect(differ.classify({ ...bad, ref: { valid: true, text: '[""]', value: [''] } }).category).toBe('UNEXPLAINED');
  });

  it(`${ITERATIONS} mutated inputs (seed ${SEED}): every disagreement explained`, () => {
    const { examples, onDisagreement } = unexplainedCollector(signature);
    const t0 = performance.now();
    const { counts, stats } = differ.fuzz({
      seed: SEED,
      iterations: ITERATIONS,
      onDisagreement,
    });
    const secs = (performance.now() - t0) / 1000;
    const lines = Object.entries(counts as Record<string, number>).sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${k.padEnd(34)} ${v}`);
    console.log(`json-diff: ${ITERATIONS} inputs in ${secs.toFixed(1)} s (seed ${SEED}, ${seedCorpus().length} seeds)\n${lines.join('\n')}\n`
      + `  accepted by Conduit ${stats.conduitAccepted}, by the reference ${stats.referenceAccepted}; rejected by both `
      + `${stats.bothRejected}; envelopes compared ${stats.envelopesCompared} (${stats.batches} batches) `
      + `${JSON.stringify(stats.kinds)}; nesting-limit checks ${stats.depthChecks}; inputs > 8 KB ${stats.bigInputs}`);

    expect(examples, `UNEXPLAINED disagreements:\n\n${examples.join('\n\n')}`).toEqual([]);
    expect(counts.UNEXPLAINED ?? 0).toBe(0);
    expect(stats.thrown).toBe(0);
    for (const k of Object.keys(counts)) {
      if (k !== 'AGREE') expect(CATEGORIES, `category ${k} is documented`).toHaveProperty(k);
    }
    // Not vacuous: the inputs reach every outcome, in numbers.
    expect(counts.AGREE).toBeGreaterThan(ITERATIONS * 0.95);
    expect(stats.conduitAccepted).toBeGreaterThan(ITERATIONS * 0.3);
    expect(stats.conduitRejected).toBeGreaterThan(ITERATIONS * 0.3);
    expect(stats.envelopesCompared).toBeGreaterThan(ITERATIONS * 0.2);
    expect(stats.batches).toBeGreaterThan(ITERATIONS * 0.05);
    for (const k of ['request', 'notification', 'response', 'error', 'invalid', '-32600']) expect(stats.kinds[k] ?? 0, k).toBeGreaterThan(1000);
    for (const m of ['invalid JSON', 'invalid UTF-8', 'nested too deeply', 'empty input']) {
      expect(stats.rejections[`Parse error: ${m}`] ?? 0, m).toBeGreaterThan(50);
    }
    expect(stats.depthChecks).toBeGreaterThan(1000);
    expect(stats.bigInputs).toBeGreaterThan(200);
    expect(counts.DEEPER_THAN_MAX_DEPTH ?? 0).toBeGreaterThan(50);
    expect(secs).toBeLessThan(20);
  }, 120_000);
});
