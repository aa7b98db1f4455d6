// Differential fuzzing of Conduit's HTTP/1.1 request parser against llhttp (see
// test/fuzz/http-diff.mjs): a fixed seed, 100,000 mutated inputs, each parsed by
// Conduit's SIMD build (whole input and random pieces), its scalar build (the same
// pieces) and llhttp (the same pieces). Every disagreement must be a named, checked
// category; anything else — including SIMD != scalar and whole != split — fails.
//
// Longer runs: `npm run build && node test/fuzz/http-diff.mjs --iterations 1000000 --seed N`.
import { describe, expect, it } from 'vitest';
import * as conduit from '../../src/index.js';
// @ts-ignore -- plain ESM with JSDoc types
import { createDiffer, signature, CATEGORIES, seedCorpus } from './http-diff.mjs';
import { unexplainedCollector } from '../support/unexplained.js';

const SEED = 0xc0ffee;
const ITERATIONS = 100_000;

const differ = createDiffer({ conduit });
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('differential fuzzing against llhttp', () => {
  it('classifier: agreement, named categories, and what must stay UNEXPLAINED', () => {
    const cat = (s: string, cuts: number[] = []) => {
      const b = bytes(s);
      const pieces: Uint8Array[] = [];
      let p = 0;
      for (const c of cuts) {
        pieces.push(b.subarray(p, c));
        p = c;
      }
      pieces.push(b.subarray(p));
      return differ.check(b, pieces).category;
    };
    expect(cat('GET / HTTP/1.1\r\nHost: a\r\n\r\n', [3, 17])).toBeNull();
    expect(cat('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a="b"\r\nhello\r\n0\r\nT: 1\r\n\r\n', [60])).toBeNull();
    expect(cat('GET / HTTP/1.1\r\n\r\n')).toBe('MISSING_HOST');
    expect(cat('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')).toBe('DUPLICATE_HOST');
    expect(cat('GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')).toBe('TE_IN_HTTP10');
    expect(cat('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n')).toBe('TRANSFER_CODING_NOT_CHUNKED');
    expect(cat('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')).toBe('LLHTTP_ONLY_METHOD');
    expect(cat('GET * HTTP/1.1\r\nHost: a\r\n\r\n')).toBe('ASTERISK_FORM_NOT_OPTIONS');
    expect(cat('GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n')).toBe('NON_HTTP_ABSOLUTE_FORM');
    expect(cat('GET http://u@a/x HTTP/1.1\r\nHost: a\r\n\r\n')).toBe('ABSOLUTE_FORM_AUTHORITY');
    expect(cat('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n')).toBe('TE_EMPTY_ELEMENT');
    expect(cat('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\t\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n')).toBe('CONNECTION_OPTION_SEMANTICS');
    expect(cat('\nGET / HTTP/1.1\r\nHost: a\r\n\r\n')).toBe('STRAY_CR_LF_BEFORE_REQUEST');

    // Not explained: a Conduit result that accepts what llhttp refuses for a framing
    // reason, or a build / split disagreement. (Fabricated results: the classifier must
    // not wave these through.)
    const smuggle = bytes('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
    const real = differ.compare(smuggle, [smuggle]);
    const fakeAccept = {
      ...real.conduit, error: null,
      messages: [{ method: 'POST', target: '/', versionMinor: 1, headers: [['Host', 'a'], ['Content-Length', '1'], ['Content-Length', '2']], body: bytes('a'), trailers: [], keepAlive: true, upgrade: false, complete: true }],
    };
    expect(differ.classify(smuggle, fakeAccept, real.llhttp)).toBe('UNEXPLAINED');
    const ok = bytes('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const good = differ.compare(ok, [ok]);
    expect(differ.classify(ok, good.conduit, good.llhttp)).toBeNull();
    expect(differ.classify(ok, { ...good.conduit, inconsistency: 'SIMD and scalar builds differ' }, good.llhttp)).toBe('UNEXPLAINED');
    // A Conduit MISSING_HOST where the message does have a Host is not MISSING_HOST.
    const hosted = differ.compare(ok, [ok]);
    const fakeMissing = { ...hosted.conduit, messages: [], error: { status: 'MISSING_HOST', http: 400, offset: 24 } };
    expect(differ.classify(ok, fakeMissing, hosted.llhttp)).toBe('UNEXPLAINED');
  });

  it(`${ITERATIONS} mutated inputs (seed ${SEED}): every disagreement explained`, () => {
    // Up to two examples of each kind of UNEXPLAINED disagreement (what each side said).
    const { examples, onDisagreement } = unexplainedCollector(signature);
    const t0 = performance.now();
    const result = differ.fuzz({
      seed: SEED,
      iterations: ITERATIONS,
      onDisagreement,
    });
    const secs = (performance.now() - t0) / 1000;
    const { counts, stats } = result;
    const lines = Object.entries(counts as Record<string, number>).sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${k.padEnd(32)} ${v}`);
    console.log(`http-diff: ${ITERATIONS} inputs in ${secs.toFixed(1)} s (seed ${SEED}, ${seedCorpus().length} seeds)\n${lines.join('\n')}\n`
      + `  accepted by Conduit ${stats.conduitAccepted}, by llhttp ${stats.llhttpAccepted}, by both ${stats.bothAccepted}; `
      + `rejected by both ${stats.bothRejected}; messages completed ${stats.messagesCompleted}; upgraded ${stats.upgraded}; split ${stats.split}`);

    expect(examples, `UNEXPLAINED disagreements:\n\n${examples.join('\n\n')}`).toEqual([]);
    expect(counts.UNEXPLAINED ?? 0).toBe(0);
    expect(stats.simdScalarMismatch).toBe(0);
    expect(stats.splitMismatch).toBe(0);
    expect(stats.thrown).toBe(0);

    // Not vacuous: the inputs reach every outcome, in numbers.
    expect(stats.conduitAccepted).toBeGreaterThan(ITERATIONS * 0.25);
    expect(stats.conduitRejected).toBeGreaterThan(ITERATIONS * 0.25);
    expect(stats.bothAccepted).toBeGreaterThan(ITERATIONS * 0.25);
    expect(stats.bothRejected).toBeGreaterThan(ITERATIONS * 0.25);
    expect(counts.AGREE).toBeGreaterThan(ITERATIONS * 0.7);
    expect(stats.messagesCompleted).toBeGreaterThan(ITERATIONS * 0.3);
    expect(stats.upgraded).toBeGreaterThan(1000);
    expect(stats.split).toBeGreaterThan(ITERATIONS * 0.7);
    expect(Object.keys(stats.conduitStatuses).length).toBeGreaterThan(25);
    // ...and the deliberate differences show up (each category is checked precisely).
    for (const k of ['MISSING_HOST', 'DUPLICATE_HOST', 'INVALID_HOST', 'TE_IN_HTTP10', 'TRANSFER_CODING_NOT_CHUNKED',
      'INVALID_CONNECTION', 'LLHTTP_ONLY_METHOD', 'NON_HTTP_PROTOCOL', 'UNSUPPORTED_VERSION', 'ASTERISK_FORM_NOT_OPTIONS',
      'CONNECT_NOT_AUTHORITY_FORM', 'CONNECT_WITH_BODY', 'ABSOLUTE_FORM_AUTHORITY', 'CONNECTION_OPTION_SEMANTICS',
      'CONTROL_FIELD_IN_TRAILERS', 'STRAY_CR_LF_BEFORE_REQUEST']) {
      expect(counts[k] ?? 0, k).toBeGreaterThan(10);
    }
    for (const k of Object.keys(counts)) {
      if (k !== 'AGREE' && k !== 'UNEXPLAINED') expect(CATEGORIES, `category ${k} is documented`).toHaveProperty(k);
    }
    expect(secs).toBeLessThan(45);
  }, 120_000);
});
