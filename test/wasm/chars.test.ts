// The scanning kernels, through the parser: every byte value at every SIMD lane position
// (and across a 16-byte block boundary) in a field name, a field value and the target,
// on both builds. The SIMD masks and the scalar class table must agree with the RFC sets.
import { describe, expect, it } from 'vitest';
import { run, VARIANTS } from '../support/conduit-run.js';

const TCHAR = new Set([...'!#$%&\'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((c) => c.charCodeAt(0)));
const isValueByte = (b: number) => b === 9 || b === 32 || (b >= 0x21 && b <= 0x7e) || b >= 0x80;
const isTargetByte = (b: number) => b >= 0x21 && b <= 0x7e;

const req = (s: string) => Buffer.from(s, 'latin1');
const LANES = [0, 1, 7, 14, 15, 16, 17, 31, 33];

describe.each(VARIANTS)('character classes (%s build)', (variant) => {
  it('field names: exactly the tchars are accepted at every lane', () => {
    for (let b = 0; b < 256; b++) {
      for (const lane of LANES) {
        const name = 'x'.repeat(lane + 1) + String.fromCharCode(b) + 'y';
        const r = run(variant, [req(`GET / HTTP/1.1\r\nHost: a\r\n${name}: v\r\n\r\n`)]);
        if (b === 0x3a) {
          // ':' ends the name early: "xx:y: v" is name "xx", value "y: v".
          expect(r.error).toBeNull();
          expect(r.messages[0].headers[1]).toEqual(['x'.repeat(lane + 1), 'y: v']);
        } else {
          expect(r.error === null, `byte 0x${b.toString(16)} lane ${lane}`).toBe(TCHAR.has(b));
          if (r.error === null) expect(r.messages[0].headers[1][0]).toBe(name);
        }
      }
    }
  });

  it('field values: VCHAR, SP, HTAB and obs-text are accepted, controls and DEL are not', () => {
    for (let b = 0; b < 256; b++) {
      for (const lane of LANES) {
        const value = 'v'.repeat(lane + 1) + String.fromCharCode(b) + 'z';
        const r = run(variant, [req(`GET / HTTP/1.1\r\nHost: a\r\nX: ${value}\r\n\r\n`)]);
        expect(r.error === null, `byte 0x${b.toString(16)} lane ${lane}`).toBe(isValueByte(b));
        if (r.error === null) expect(r.messages[0].headers[1][1]).toBe(value);
        else expect(r.error.offset).toBe(`GET / HTTP/1.1\r\nHost: a\r\nX: `.length + lane + 1);
      }
    }
  });

  it('request-target: visible ASCII only', () => {
    for (let b = 0; b < 256; b++) {
      for (const lane of LANES) {
        const target = '/' + 't'.repeat(lane) + String.fromCharCode(b) + 'z';
        const r = run(variant, [req(`GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`)]);
        expect(r.error === null, `byte 0x${b.toString(16)} lane ${lane}`).toBe(isTargetByte(b));
        if (r.error === null) expect(r.messages[0].target).toBe(target);
      }
    }
  });
});

describe('field lines across 64-byte index blocks (both builds agree with the expected fields)', () => {
  it('names of 1..70 bytes and values of 0..140 bytes, with SP/HTAB padding, in any position', () => {
    let checked = 0;
    for (let nameLen = 1; nameLen <= 70; nameLen += 3) {
      for (let valueLen = 0; valueLen <= 140; valueLen += 7) {
        for (const ows of [' ', '', '\t', '  ', ' \t ']) {
          for (const prefix of [0, 5, 29]) {
            const name = 'N'.repeat(nameLen);
            const value = valueLen === 0 ? '' : 'v' + 'a\tb '.repeat(valueLen >> 2).slice(0, Math.max(0, valueLen - 2)) + 'z';
            const filler = `X: ${'f'.repeat(prefix)}\r\n`;
            const input = req(`GET / HTTP/1.1\r\nHost: a\r\n${filler}${name}:${ows}${value}${ows}\r\nY: 1\r\n\r\n`);
            const results = VARIANTS.map((v) => run(v, [input]));
            expect(results[0]).toEqual(results[1]);
            expect(results[0].error).toBeNull();
            expect(results[0].messages[0].headers[2]).toEqual([name, value]);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(4000);
  });
});
