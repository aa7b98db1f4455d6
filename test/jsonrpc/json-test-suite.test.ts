// JSONTestSuite (Nicolas Seriot, test/fixtures/json/test_parsing/) against
// Conduit's JSON tokenizer, on the SIMD and the scalar build:
//   y_  must be accepted by validateJson, and parseJsonRpc never says -32700 for them
//       (a -32600 is fine: most are not JSON-RPC messages);
//   n_  must be rejected, with the same offset from parseJsonRpc (-32700);
//   i_  parsers may do either: I_CASES records what Conduit does with each and why, and
//       the test holds Conduit to it, so that a change in behaviour is noticed.
// Every file also runs at the very end of a WASM memory (the input flush against the end
// of its slot, whose 64 padding bytes end at the last byte of memory) with the padding
// filled with bytes that would change the answer if they were read as input.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateJson, parseJsonRpc, WasmCore, ABI, type WasmVariant } from '../../src/index.js';

const DIR = fileURLToPath(new URL('../fixtures/json/test_parsing/', import.meta.url));
const VARIANTS: WasmVariant[] = ['simd', 'scalar'];
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const read = (f: string) => new Uint8Array(readFileSync(DIR + f)); // (names hold '#')

type Outcome = 'accept' | 'reject';

/** What Conduit does with each implementation-defined case (default options: maxDepth 128). */
const I_CASES: Record<string, [Outcome, string]> = {
  'i_number_double_huge_neg_exp.json': ['accept', 'any size of number is JSON (RFC 8259 §6); values are JSON.parse\'s to read'],
  'i_number_huge_exp.json': ['accept', 'any size of number is JSON (RFC 8259 §6)'],
  'i_number_neg_int_huge_exp.json': ['accept', 'any size of number is JSON (RFC 8259 §6)'],
  'i_number_pos_double_huge_exp.json': ['accept', 'any size of number is JSON (RFC 8259 §6); JSON.parse reads Infinity'],
  'i_number_real_neg_overflow.json': ['accept', 'any size of number is JSON (RFC 8259 §6); JSON.parse reads -Infinity'],
  'i_number_real_pos_overflow.json': ['accept', 'any size of number is JSON (RFC 8259 §6); JSON.parse reads Infinity'],
  'i_number_real_underflow.json': ['accept', 'any size of number is JSON (RFC 8259 §6); JSON.parse reads 0'],
  'i_number_too_big_neg_int.json': ['accept', 'any size of number is JSON (RFC 8259 §6); beyond 2^53 JSON.parse rounds'],
  'i_number_too_big_pos_int.json': ['accept', 'any size of number is JSON (RFC 8259 §6); beyond 2^53 JSON.parse rounds'],
  'i_number_very_big_negative_int.json': ['accept', 'any size of number is JSON (RFC 8259 §6); beyond 2^53 JSON.parse rounds'],
  'i_object_key_lone_2nd_surrogate.json': ['accept', 'lone surrogate escape \\uDFAA in a key: JSON allows it (RFC 8259 §8.2), as JSON.parse does'],
  'i_string_1st_surrogate_but_2nd_missing.json': ['accept', 'lone surrogate escape \\uDADA: allowed (RFC 8259 §8.2), as JSON.parse does'],
  'i_string_1st_valid_surrogate_2nd_invalid.json': ['accept', 'high surrogate escape then \\u1234: allowed (RFC 8259 §8.2), as JSON.parse does'],
  'i_string_UTF-16LE_with_BOM.json': ['reject', 'UTF-16, not UTF-8 (RFC 8259 §8.1): the NUL byte inside the string is refused first'],
  'i_string_UTF-8_invalid_sequence.json': ['reject', 'invalid UTF-8 (0xFA is never a UTF-8 byte)'],
  'i_string_UTF8_surrogate_U+D800.json': ['reject', 'invalid UTF-8: ED A0 80 encodes a surrogate (RFC 3629 §3)'],
  'i_string_incomplete_surrogate_and_escape_valid.json': ['accept', 'lone surrogate escape \\uD800 then \\n: allowed (RFC 8259 §8.2)'],
  'i_string_incomplete_surrogate_pair.json': ['accept', 'lone surrogate escape \\uDd1e then text: allowed (RFC 8259 §8.2)'],
  'i_string_incomplete_surrogates_escape_valid.json': ['accept', 'two high surrogate escapes: allowed (RFC 8259 §8.2)'],
  'i_string_invalid_lonely_surrogate.json': ['accept', 'lone surrogate escape \\ud800: allowed (RFC 8259 §8.2), as JSON.parse does'],
  'i_string_invalid_surrogate.json': ['accept', 'lone surrogate escape \\ud800 then text: allowed (RFC 8259 §8.2)'],
  'i_string_invalid_utf-8.json': ['reject', 'invalid UTF-8 (0xFF is never a UTF-8 byte)'],
  'i_string_inverted_surrogates_U+1D11E.json': ['accept', 'low then high surrogate escape: each alone is allowed (RFC 8259 §8.2)'],
  'i_string_iso_latin_1.json': ['reject', 'invalid UTF-8: a Latin-1 0xE9 with no continuation bytes'],
  'i_string_lone_second_surrogate.json': ['accept', 'lone low surrogate escape \\uDFAA: allowed (RFC 8259 §8.2)'],
  'i_string_lone_utf8_continuation_byte.json': ['reject', 'invalid UTF-8: a continuation byte 0x81 with no lead byte'],
  'i_string_not_in_unicode_range.json': ['reject', 'invalid UTF-8: F4 BF BF BF is above U+10FFFF (RFC 3629 §3)'],
  'i_string_overlong_sequence_2_bytes.json': ['reject', 'invalid UTF-8: C0 AF is an overlong "/" (RFC 3629 §3)'],
  'i_string_overlong_sequence_6_bytes.json': ['reject', 'invalid UTF-8: 0xFC starts a 6-byte form that RFC 3629 removed'],
  'i_string_overlong_sequence_6_bytes_null.json': ['reject', 'invalid UTF-8: 0xFC starts a 6-byte form that RFC 3629 removed'],
  'i_string_truncated-utf-8.json': ['reject', 'invalid UTF-8: E0 followed by FF, a truncated sequence'],
  'i_string_utf16BE_no_BOM.json': ['reject', 'UTF-16, not UTF-8 (RFC 8259 §8.1): a NUL byte before the first value'],
  'i_string_utf16LE_no_BOM.json': ['reject', 'UTF-16, not UTF-8 (RFC 8259 §8.1): a NUL byte inside the string'],
  'i_structure_500_nested_arrays.json': ['reject', 'nested 500 deep: more than the default maxDepth (128); accepted with maxDepth >= 500'],
  'i_structure_UTF-8_BOM_empty_object.json': ['reject', 'a UTF-8 BOM: senders MUST NOT add one (RFC 8259 §8.1); Conduit does not skip it'],
};

describe('JSONTestSuite', () => {
  it('has the fixtures', () => {
    expect(files.filter((f) => f.startsWith('y_')).length).toBe(95);
    expect(files.filter((f) => f.startsWith('n_')).length).toBe(188);
    expect(files.filter((f) => f.startsWith('i_')).sort()).toEqual(Object.keys(I_CASES).sort());
  });

  describe.each(VARIANTS)('%s build', (variant) => {
    it.each(files.filter((f) => f.startsWith('y_')))('%s is accepted', (f) => {
      const b = read(f);
      expect(validateJson(b, { variant })).toBeNull();
      const r = parseJsonRpc(b, { variant });
      if (!r.ok) expect(r.error.code, r.error.message).toBe(-32600);
    });

    it.each(files.filter((f) => f.startsWith('n_')))('%s is rejected', (f) => {
      const b = read(f);
      const v = validateJson(b, { variant });
      expect(v).not.toBeNull();
      expect(v!.offset).toBeGreaterThanOrEqual(0);
      expect(v!.offset).toBeLessThanOrEqual(b.length);
      const r = parseJsonRpc(b, { variant });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ code: -32700, offset: v!.offset });
    });

    it.each(Object.entries(I_CASES))('%s: %j', (f, [outcome]) => {
      const b = read(f);
      const v = validateJson(b, { variant });
      expect(v === null ? 'accept' : 'reject', JSON.stringify(v)).toBe(outcome);
      const r = parseJsonRpc(b, { variant });
      expect(!r.ok && r.error.code === -32700 ? 'reject' : 'accept').toBe(outcome);
    });

    it('i_structure_500_nested_arrays: accepted at maxDepth 500, refused at 499', () => {
      const b = read('i_structure_500_nested_arrays.json');
      expect(validateJson(b, { variant, maxDepth: 500 })).toBeNull();
      expect(validateJson(b, { variant, maxDepth: 499 })).toEqual({ offset: 499, message: 'Parse error: nested too deeply' });
    });
  });

  it('both builds give the same answer, error offsets included', () => {
    for (const f of files) {
      const b = read(f);
      expect(validateJson(b, { variant: 'scalar' }), f).toEqual(validateJson(b, { variant: 'simd' }));
    }
  });

  // Input flush against the end of memory, padding filled with bytes that would matter
  // if read as input: an over-read past the padding traps, and one into it changes the
  // answer (or its offset).
  describe.each(VARIANTS)('%s build, input against the end of memory', (variant) => {
    const size = 512 * 1024; // the largest file is 250 KB
    const core = new WasmCore({ variant, slotSize: size, slotCount: 1 });
    const slot = core.pool.lease();
    const memEnd = core.u8.length;
    const run = (b: Uint8Array, at: number, fill: number) => {
      core.u8.fill(fill, at + b.length, Math.min(memEnd, at + b.length + ABI.SLOT_PADDING));
      core.u8.set(b, at);
      const status = core.exports.json_parse(at, b.length, 129);
      const h = core.exports.abi_json_scratch();
      return [status, core.u32[(h + ABI.JSON_ERROR_OFFSET) >>> 2]];
    };
    it('padding ends at the last byte of memory', () => {
      expect(slot.data + slot.capacity + ABI.SLOT_PADDING).toBe(memEnd);
    });
    it('every file gives the same status and offset wherever it lies and whatever follows it', () => {
      for (const f of files) {
        const b = read(f);
        const base = run(b, slot.data, 0x20);
        for (const fill of [0x5c, 0x22, 0x75, 0x30, 0x80, 0x00, 0x5d]) {
          expect(run(b, slot.data + slot.capacity - b.length, fill), `${f} flush, padding 0x${fill.toString(16)}`).toEqual(base);
        }
      }
    });
  });
});
