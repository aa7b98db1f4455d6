import { describe, expect, it } from 'vitest';
// @ts-ignore -- plain ESM modules with JSDoc types
import { decodeHttpBlock, decodeLogString, loadRequestFixtures, loadRequestIndex } from './llhttp-fixtures.mjs';
// @ts-ignore
import { createLlhttp } from './llhttp-oracle.mjs';

const key = (c: { file: string; line: number }) => `${c.file}:${c.line}`;
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const bytesEqual = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/**
 * Strict `request` cases where undici's bundled llhttp (older than the
 * fixtures' 9.4.2) gives the other accept/reject answer.
 */
const KNOWN_VERSION_DIFFERENCES: Record<string, string> = {
  'request/connection.md:346':
    '9.4.2 treats `Connection: close\\t` as close (then rejects the next request: code 5); ' +
    "undici's llhttp keeps the connection alive and accepts it",
  'request/content-length.md:319':
    '9.4.2 accepts HTAB around the Content-Length value; ' +
    "undici's llhttp rejects it (code 11, Invalid character in Content-Length)",
};

/** Cases whose input is not ASCII: request-index.json `raw` is the unescaped JS string. */
const NON_ASCII = [
  'request/invalid.md:398', // Connection\r\033\065\325eep-Alive
  'request/invalid.md:427', // same, other header
  'request/sample.md:510', // Düsseldorf
  'request/sample.md:540', // \xff in a header value
  'request/uri.md:150', // UTF-8 in the path
];

describe('llhttp request fixtures loader', () => {
  const cases = loadRequestFixtures();
  const index = loadRequestIndex();
  const byKey = new Map(index.map((e: any) => [key(e), e]));

  it('finds all 166 request cases of request-index.json', () => {
    expect(index).toHaveLength(166);
    expect(cases).toHaveLength(166);
    expect(new Set(cases.map(key)).size).toBe(166);
    for (const c of cases) {
      const e = byKey.get(key(c));
      expect(e, key(c)).toBeDefined();
      expect(c.indexed).toBe(true);
      expect([c.title, c.mode, c.meta]).toEqual([e.title, e.mode, e.meta]);
      expect(c.outcome).toBe(e.outcome);
      expect(c.messagesCompleted).toBe(e.messagesCompleted);
    }
    const strict = cases.filter((c: any) => c.mode === 'request');
    expect(strict).toHaveLength(134);
    expect(strict.filter((c: any) => c.outcome === 'error')).toHaveLength(55);
    expect(strict.filter((c: any) => c.outcome === 'no-error')).toHaveLength(69);
    expect(strict.filter((c: any) => c.outcome === 'pause-upgrade')).toHaveLength(10);
  });

  it('decodes every ```http block to the bytes of request-index.json', () => {
    const latin1Mismatch: string[] = [];
    for (const c of cases) {
      const e = byKey.get(key(c));
      // llhttp's runner feeds the unescaped string as UTF-8 ...
      expect(bytesEqual(c.raw, Buffer.from(e.raw, 'utf8')), key(c)).toBe(true);
      // ... which is Buffer.from(raw, 'latin1') whenever the input is ASCII.
      if (!bytesEqual(c.raw, Buffer.from(e.raw, 'latin1'))) latin1Mismatch.push(key(c));
    }
    expect(latin1Mismatch).toEqual(NON_ASCII);
  });

  it('decodes every log span to the input bytes at its offset', () => {
    let spans = 0;
    for (const c of cases) {
      for (const s of c.spans) {
        expect(s.bytes.length, `${key(c)} ${s.kind}@${s.offset}`).toBe(s.length);
        expect(bytesEqual(s.bytes, c.raw.subarray(s.offset, s.offset + s.length)), `${key(c)} ${s.kind}@${s.offset}`).toBe(true);
        spans++;
      }
      expect(c.regexLines).toEqual([]);
    }
    expect(spans).toBe(1321);
  });

  it('rebuilds as many completed messages as the index counts', () => {
    for (const c of cases) {
      expect(c.messages.filter((m: any) => m.complete).length, key(c)).toBe(c.messagesCompleted);
    }
  });

  it('takes error/pause offsets from the log', () => {
    for (const c of cases) {
      if (c.outcome === 'error') {
        const e = byKey.get(key(c));
        expect(c.error, key(c)).toMatchObject({ code: e.error.code, reason: e.error.reason });
        expect(typeof c.error.offset).toBe('number');
        expect(c.pause).toBeNull();
      } else if (c.outcome === 'pause-upgrade') {
        expect(c.error).toBeNull();
        expect([22, 23]).toContain(c.pause.code);
      } else {
        expect(c.error).toBeNull();
        expect(c.pause).toBeNull();
      }
    }
  });

  it('reconstructs a sample case', () => {
    const c = cases.find((x: any) => x.file === 'request/sample.md' && x.title === 'Simple request');
    expect(c.messages).toEqual([
      {
        method: 'OPTIONS',
        target: '/url',
        versionMajor: 1,
        versionMinor: 1,
        headers: [
          ['Header1', 'Value1'],
          ['Header2', 'Value2'],
        ],
        body: new Uint8Array(0),
        complete: true,
        flags: 0,
        methodCode: 6,
      },
    ]);
    const chunked = cases.find((x: any) => key(x) === 'request/transfer-encoding.md:368');
    expect(latin1(chunked.messages[0].body)).toBe('hello world');
  });

  it('applies the md-test escape rules', () => {
    expect(latin1(decodeHttpBlock('A\\n\\\nB\n\n'))).toBe('A\nB\r\n');
    expect(latin1(decodeHttpBlock('x\\01\\ty\\x41\\\\z\n'))).toBe('x\x01\ty\x41\\\\z');
    expect(latin1(decodeLogString('a\\tb"c\\\\', 6))).toBe('a\tb"c\\\\');
    expect(latin1(decodeLogString('ÿV', 3))).toBe('\xc3\xbfV');
  });
});

describe('llhttp oracle vs fixtures (strict `request` cases)', () => {
  const cases = loadRequestFixtures();
  const oracle = createLlhttp();
  const verdict = (r: any) => (r.error ? 'error' : r.paused ? 'pause-upgrade' : 'no-error');
  const shape = (m: any) =>
    JSON.stringify([m.method, m.target, m.versionMajor, m.versionMinor, m.headers, latin1(m.body), m.complete]);

  it('agrees on accept/reject, error code/reason/offset and completed messages', () => {
    const strict = cases.filter((c: any) => c.mode === 'request');
    let agree = 0;
    let offsetsChecked = 0;
    const disagree: string[] = [];
    for (const c of strict) {
      const r = oracle.parseRequest([c.raw], { skipBody: c.meta.skipBody === true });
      if (verdict(r) !== c.outcome) {
        disagree.push(key(c));
        continue;
      }
      agree++;
      if (c.outcome === 'error') {
        expect(r.error, key(c)).toMatchObject(c.error);
        offsetsChecked++;
      }
      if (c.outcome === 'pause-upgrade') {
        expect(r.pause, key(c)).toMatchObject(c.pause);
        offsetsChecked++;
      }
      expect(r.messages.filter((m: any) => m.complete).map(shape), key(c)).toEqual(
        c.messages.filter((m: any) => m.complete).map(shape),
      );
    }
    console.info(
      `llhttp oracle vs fixtures: ${agree}/${strict.length} strict request cases agree; ` +
        `known llhttp-version differences: ${disagree.map((k) => `${k} (${KNOWN_VERSION_DIFFERENCES[k] ?? 'UNKNOWN'})`).join('; ')}`,
    );
    for (const k of disagree) expect(Object.keys(KNOWN_VERSION_DIFFERENCES), `unexpected disagreement ${k}`).toContain(k);
    expect(agree).toBeGreaterThanOrEqual(strict.length - Object.keys(KNOWN_VERSION_DIFFERENCES).length);
    expect(offsetsChecked).toBeGreaterThanOrEqual(63);
  });

  it('matches llhttp_finish() on the request-finish cases', () => {
    const finishCases = cases.filter((c: any) => c.mode === 'request-finish');
    expect(finishCases).toHaveLength(3);
    for (const c of finishCases) {
      const r = oracle.parseRequest([c.raw], { finish: true });
      // finish state 2 (unsafe) makes llhttp_finish() fail with INVALID_EOF_STATE.
      expect(r.error?.code ?? 0, key(c)).toBe(c.finish === 2 ? 14 : 0);
    }
  });

  it('gives the same result for every fixture input fed in 1-byte chunks', () => {
    const j = (r: unknown) => JSON.stringify(r, (_k, v) => (v instanceof Uint8Array ? latin1(v) : v));
    for (const c of cases) {
      const whole = j(oracle.parseRequest([c.raw]));
      const bytes = Array.from(c.raw, (b: number) => Uint8Array.of(b));
      expect(j(oracle.parseRequest(bytes)), key(c)).toBe(whole);
    }
  });
});
