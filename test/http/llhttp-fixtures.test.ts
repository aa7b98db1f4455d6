// llhttp's request fixtures (test/fixtures/http/llhttp/request/*.md) against
// Conduit's parser: the same accept/reject decision and the same parsed fields, for the
// whole input and at every split point, on the SIMD and the scalar build.
import { describe, expect, it } from 'vitest';
// @ts-ignore -- plain ESM with JSDoc types
import { loadRequestFixtures } from '../support/llhttp-fixtures.mjs';
import { run, split2, pieces, VARIANTS, core, type RunResult } from '../support/conduit-run.js';
import { HttpParser } from '../../src/index.js';

interface Fixture {
  file: string;
  line: number;
  title: string;
  mode: string;
  raw: Uint8Array;
  outcome: 'error' | 'no-error' | 'pause-upgrade';
  messagesCompleted: number;
  finish: number | null;
  messages: Array<{
    method: string; target: string; versionMajor: number; versionMinor: number;
    headers: Array<[string, string]>; body: Uint8Array; complete: boolean;
  }>;
}

const fixtures: Fixture[] = loadRequestFixtures();
const key = (c: Fixture) => `${c.file}:${c.line}`;

/**
 * Strict cases llhttp accepts and Conduit rejects on purpose, with the Status Conduit
 * gives and the reason. Every case whose only problem is a missing Host is also run
 * with a Host field added (below), so its parsed fields are still compared.
 */
/** Cases that test an llhttp feature outside a request parser's job. */
const NOT_APPLICABLE: Record<string, string> = {
  'request/content-length.md:446':
    'uses skipBody (on_headers_complete returning 1, as a client does after HEAD): a response-side feature',
};

const MISSING_HOST_REASON = 'RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without Host';
const STRICTER: Record<string, { status: string; why: string }> = {
  'request/method.md:98': {
    status: 'CONNECT_WITH_BODY',
    why: 'RFC 9110 §9.3.6: a CONNECT request has no content; a Content-Length on it leaves the tunnel/body boundary ambiguous, so Conduit rejects it instead of ignoring it',
  },
  'request/method.md:137': {
    status: 'INVALID_TARGET_FORM',
    why: 'RFC 9112 §3.2.4: asterisk-form is only for server-wide OPTIONS (this is SSDP M-SEARCH *)',
  },
  'request/method.md:374': { status: 'INVALID_VERSION', why: 'ICE/1.0 is not HTTP (RFC 9112 §2.3 HTTP-version = "HTTP/" DIGIT "." DIGIT)' },
  'request/method.md:404': { status: 'INVALID_VERSION', why: 'RTSP/1.0 is not HTTP (RFC 9112 §2.3)' },
  'request/method.md:432': { status: 'UNKNOWN_METHOD', why: 'ANNOUNCE is an RTSP method; Conduit answers 501 for methods it does not implement (RFC 9110 §9.1)' },
  'request/method.md:460': { status: 'UNKNOWN_METHOD', why: 'PRI is the HTTP/2 connection preface (RFC 9113 §3.4); Conduit does not speak HTTP/2 prior-knowledge, so 501' },
  'request/transfer-encoding.md:753': {
    status: 'UNSUPPORTED_TRANSFER_ENCODING',
    why: 'deflate, chunked: RFC 9112 §6.1 — a server that does not implement a transfer coding SHOULD answer 501; Conduit decodes only chunked (found once Host is added)',
  },
  'request/transfer-encoding.md:795': {
    status: 'UNSUPPORTED_TRANSFER_ENCODING',
    why: 'deflate then chunked over two field lines: as above (found once Host is added)',
  },
  'request/uri.md:224': {
    status: 'INVALID_AUTHORITY',
    why: 'userinfo (a%12:b!&*$@) in an absolute-form target: RFC 9110 §4.2.4 says to treat it as an error; the server would use this authority instead of Host',
  },
  'request/sample.md:316': { status: 'INVALID_VERSION', why: 'HTTP/0.9 simple requests ("GET /" with no version) are not HTTP/1.1 (RFC 9112 §3)' },
};

/** A fixture input with "Host: fixture" added after each request line of HTTP/1.1 messages. */
function withHost(c: Fixture): Uint8Array {
  let s = Buffer.from(c.raw).toString('latin1');
  let from = 0;
  for (const m of c.messages) {
    if (m.versionMinor !== 1 || m.headers.some(([n]) => n.toLowerCase() === 'host')) continue;
    const line = `${m.method} ${m.target} HTTP/1.1\r\n`;
    const at = s.indexOf(line, from);
    if (at < 0) continue;
    const end = at + line.length;
    s = s.slice(0, end) + 'Host: fixture\r\n' + s.slice(end);
    from = end;
  }
  return Buffer.from(s, 'latin1');
}

const trimOws = (v: string) => v.replace(/^[ \t]+|[ \t]+$/g, '');

function expectFieldsMatch(c: Fixture, r: RunResult, hostAdded: boolean): void {
  const expected = c.messages.filter((m) => m.complete || (m.method !== '' && r.messages.length > 0));
  const n = Math.min(c.messagesCompleted, r.messages.length);
  for (let i = 0; i < n; i++) {
    const e = expected[i];
    const g = r.messages[i];
    expect(g.method, `${key(c)} message ${i} method`).toBe(e.method);
    expect(g.target).toBe(e.target);
    expect(g.versionMinor).toBe(e.versionMinor);
    const headers = hostAdded && e.versionMinor === 1 && !e.headers.some(([h]) => h.toLowerCase() === 'host')
      ? [['Host', 'fixture'], ...e.headers] : e.headers;
    // llhttp reports trailer fields through the same callbacks as header fields.
    expect([...g.headers, ...g.trailers]).toEqual(headers.map(([h, v]) => [h, trimOws(v)]));
    expect(Buffer.from(g.body).equals(Buffer.from(e.body)), `${key(c)} body`).toBe(true);
  }
}

function completed(r: RunResult): number {
  return r.messages.filter((m) => m.complete).length;
}

const strict = fixtures.filter((c) => (c.mode === 'request' || c.mode === 'request-finish') && !(key(c) in NOT_APPLICABLE));
const lenient = fixtures.filter((c) => !(c.mode === 'request' || c.mode === 'request-finish'));

describe.each(VARIANTS)('llhttp request fixtures (%s build)', (variant) => {
  it('has the cases the fixtures README counts', () => {
    expect(strict.length + Object.keys(NOT_APPLICABLE).length).toBe(137);
    expect(lenient.length).toBe(29);
  });

  it.each(strict.map((c) => [key(c), c] as const))('%s', (_k, c) => {
    const whole = run(variant, [c.raw]);
    const s = STRICTER[key(c)];
    if (s !== undefined && whole.error?.status !== 'MISSING_HOST') {
      expect(whole.error?.status, s.why).toBe(s.status);
    } else if (whole.error?.status === 'MISSING_HOST') {
      // Deliberately stricter (MISSING_HOST_REASON); everything else is compared with Host added.
    } else if (c.outcome === 'error') {
      expect(whole.error, 'llhttp rejects this').not.toBeNull();
      expect(completed(whole)).toBe(c.messagesCompleted);
    } else {
      expect(whole.error, `llhttp accepts this; Conduit said ${whole.error?.status}`).toBeNull();
      expect(completed(whole)).toBe(c.messagesCompleted);
      expect(whole.upgraded).toBe(c.outcome === 'pause-upgrade');
      expectFieldsMatch(c, whole, false);
    }

    // With Host added, cases rejected only for a missing Host must now agree with llhttp.
    let input = c.raw;
    let ref = whole;
    if (whole.error?.status === 'MISSING_HOST') {
      input = withHost(c);
      ref = run(variant, [input]);
      if (s !== undefined) {
        expect(ref.error?.status, s.why).toBe(s.status);
      } else if (c.outcome === 'error') {
        expect(ref.error, MISSING_HOST_REASON).not.toBeNull();
      } else {
        expect(ref.error, `${MISSING_HOST_REASON}; with Host added: ${ref.error?.status}`).toBeNull();
        expect(completed(ref)).toBe(c.messagesCompleted);
        expect(ref.upgraded).toBe(c.outcome === 'pause-upgrade');
        expectFieldsMatch(c, ref, true);
      }
    }

    // The same answer however the bytes arrive: every 2-way split, and 1..8-byte pieces.
    for (let at = 1; at < input.length; at++) {
      expect(run(variant, split2(input, at)), `${key(c)} split at ${at}`).toEqual(ref);
    }
    for (let size = 1; size <= 8; size++) {
      expect(run(variant, pieces(input, size)), `${key(c)} in ${size}-byte pieces`).toEqual(ref);
    }

    if (c.mode === 'request-finish') {
      // llhttp_finish() != 0 means the stream ended inside a message.
      const p = new HttpParser({ core: core(variant) });
      try {
        p.execute(input);
        expect(p.finish() !== null, 'ending here is unsafe').toBe(c.finish !== 0);
      } finally {
        p.destroy();
      }
    }
  });

  it.each(lenient.map((c) => [key(c), c] as const))('lenient-only %s is rejected', (_k, c) => {
    // These inputs parse only with one of llhttp's leniency flags; Conduit has none.
    const whole = run(variant, [c.raw]);
    expect(whole.error, `${c.mode}`).not.toBeNull();
    // ...and not merely because of a missing Host:
    const hosted = run(variant, [withHost(c)]);
    expect(hosted.error, `${c.mode} with Host added`).not.toBeNull();
    expect(hosted.error!.status).not.toBe('MISSING_HOST');
    for (let at = 1; at < c.raw.length; at++) expect(run(variant, split2(c.raw, at))).toEqual(whole);
  });
});
