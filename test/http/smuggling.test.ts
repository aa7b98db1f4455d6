// test/fixtures/http/smuggling/cases.json: request-smuggling and framing cases.
// Every `reject` is refused with the listed HTTP status before any message completes;
// every `accept` yields `handlerMessages` complete requests. Whole, and at every split.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { run, split2, VARIANTS } from '../support/conduit-run.js';

interface Case {
  name: string;
  raw: string;
  expect: 'accept' | 'reject';
  status?: number;
  handlerMessages?: number;
  why: string;
}

const cases: Case[] = JSON.parse(
  readFileSync(new URL('../fixtures/http/smuggling/cases.json', import.meta.url), 'utf8'),
);

describe.each(VARIANTS)('smuggling cases (%s build)', (variant) => {
  it('loads all cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(58);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const bytes = Buffer.from(c.raw, 'latin1');
    const whole = run(variant, [bytes]);
    const done = whole.messages.filter((m) => m.complete).length;
    if (c.expect === 'reject') {
      expect(whole.error, c.why).not.toBeNull();
      if (c.status !== undefined) expect(whole.error!.http, `${c.why}: got ${whole.error!.status}`).toBe(c.status);
      expect(done, 'no request may complete').toBe(0);
    } else {
      expect(done, c.why).toBe(c.handlerMessages ?? 1);
      // Only a `close` message may be followed by refused bytes (RFC 9112 §9.6).
      if (whole.error !== null) {
        expect(whole.error.status).toBe('DATA_AFTER_CLOSE');
        expect(whole.messages[done - 1].keepAlive).toBe(false);
      }
    }
    // Large cases (limits) are split at a stride to keep the suite fast.
    const step = bytes.length > 2000 ? 97 : 1;
    for (let at = 1; at < bytes.length; at += step) {
      expect(run(variant, split2(bytes, at)), `split at ${at}`).toEqual(whole);
    }
  });
});
