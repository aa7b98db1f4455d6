// Server-Sent Events framer (WHATWG HTML §9.2 "Server-sent events"), in place.
//
// An event { id?, event?, retry?, data } is written as
//
//   id: <id>\n  event: <event>\n  retry: <digits>\n  data: <line 1>\n ... data: <line n>\n  \n
//
// where <line 1..n> are `data` split at every CR, LF and CRLF. A client joins the data
// lines with LF and drops the final LF, so it gets `data` back exactly, except that
// each CR and CRLF arrives as LF (SSE cannot carry a CR in data). Every line, the
// empty ones included, gets a `data: ` line, so:
//   - an empty `data` is one `data: \n`: the client's data buffer is "\n", not empty,
//     and the event is dispatched with data "" (an event with no data line is not);
//   - a trailing line break gives a last `data: \n`, and the client's data ends in LF;
//   - the space after the colon is always written, so a line that starts with a space
//     keeps it (the client strips exactly one).
//
// So the data part is `data: ` + data with each line break replaced by `\ndata: `,
// then `\n\n`: one pass that copies and rewrites. The copy runs 16 bytes per step in
// the SIMD build (load, store, and a compare against CR and LF whose bitmask gives the
// first break), and 8 bytes per step in a u64 in the scalar build (SWAR, below). Both
// stop at the same break and write the same bytes. Loads may run up to 15 bytes past
// the input (the slot padding makes that safe); stores never pass the output's end.
//
// Input and output must not overlap. Nothing is allocated; writers return the next
// output position, or FULL when the output area is too small.

import { SseStatus } from "./status";

const LF: u32 = 10;
const CR: u32 = 13;

/** Returned by the writers when the output area is too small. */
export const FULL: usize = <usize>-1;

// Field openers as little-endian words; only the low `len` bytes count.
export const OPEN_DATA: u64 = 0x0000203a61746164; //      "data: "  (6)
export const NL_DATA: u64 = 0x00203a617461640a; //        "\ndata: " (7)
export const OPEN_COMMENT: u64 = 0x203a; //               ": "      (2)
export const NL_COMMENT: u64 = 0x203a0a; //               "\n: "    (3)
const OPEN_ID: u64 = 0x203a6469; //                       "id: "    (4)
const OPEN_EVENT: u64 = 0x00203a746e657665; //            "event: " (7)
const OPEN_RETRY: u64 = 0x00203a7972746572; //            "retry: " (7)
export const END_EVENT: u64 = 0x0a0a; //                  "\n\n"    (2)

/** Writes the low `len` (<= 8) bytes of `word` at o. */
// @ts-ignore: decorator
@inline export function putWord(o: usize, oEnd: usize, word: u64, len: usize): usize {
  if (oEnd - o >= 8) {
    store<u64>(o, word);
    return o + len;
  }
  if (oEnd - o < len) return FULL;
  for (let i: usize = 0; i < len; i++) store<u8>(o + i, <u8>(word >> (<u64>i << 3)));
  return o + len;
}

// ── SWAR ─────────────────────────────────────────────────────────────────────────
//
// A byte of x equals c iff the byte of x ^ (c * 0x01..) is zero, and "has a zero byte"
// is (y - 0x01..) & ~y & 0x80.. (the classic test from "Bit Twiddling Hacks"). Borrows
// can flag bytes above the first zero but never below it, so the LOWEST flagged byte is
// exact, and it is the only one used.

const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/** High bit of each byte of x that is CR or LF (lowest flag exact). */
// @ts-ignore: decorator
@inline function breaks64(x: u64): u64 {
  const a = x ^ (ONES * LF);
  const b = x ^ (ONES * CR);
  return (((a - ONES) & ~a) | ((b - ONES) & ~b)) & HIGHS;
}

/**
 * Copies [p, end) to o with every line break (CR, LF or CRLF) replaced by the `nlLen`
 * bytes of `nl`. `skipLF`: the previous piece of this text ended in CR, so a leading
 * LF completes that CRLF and is dropped.
 */
export function copyLines(o: usize, oEnd: usize, p: usize, end: usize, nl: u64, nlLen: usize, skipLF: bool): usize {
  if (skipLF && p < end && <u32>load<u8>(p) == LF) p++;
  while (p < end) {
    // Copy whole blocks up to the next break. A block is stored before it is looked at:
    // the bytes after a break (or after `end`) are garbage that the next write covers.
    if (ASC_FEATURE_SIMD) {
      while (oEnd - o >= 16) {
        const v = v128.load(p);
        v128.store(o, v);
        const m = i8x16.bitmask(v128.or(i8x16.eq(v, i8x16.splat(<i8>LF)), i8x16.eq(v, i8x16.splat(<i8>CR))));
        const n = end - p;
        if (m == 0) {
          if (n <= 16) return o + n;
          p += 16;
          o += 16;
        } else {
          const k = <usize>ctz(m);
          if (k >= n) return o + n;
          p += k;
          o += k;
          break;
        }
      }
    } else {
      while (oEnd - o >= 8) {
        const x = load<u64>(p);
        store<u64>(o, x);
        const m = breaks64(x);
        const n = end - p;
        if (m == 0) {
          if (n <= 8) return o + n;
          p += 8;
          o += 8;
        } else {
          const k = <usize>(ctz(m) >> 3);
          if (k >= n) return o + n;
          p += k;
          o += k;
          break;
        }
      }
    }
    // At a break, or within a block of the output's end: byte by byte.
    while (p < end) {
      const b = <u32>load<u8>(p);
      if (b == LF || b == CR) break;
      if (o >= oEnd) return FULL;
      store<u8>(o, <u8>b);
      p++;
      o++;
    }
    if (p >= end) return o;
    const b = <u32>load<u8>(p++);
    if (b == CR && p < end && <u32>load<u8>(p) == LF) p++;
    o = putWord(o, oEnd, nl, nlLen);
    if (o == FULL) return FULL;
  }
  return o;
}

/** 0, or the SseStatus of the first CR / LF (/ NUL when `nul`) in [p, p + len). */
function badByte(p: usize, len: usize, nul: bool, lineBreak: i32): i32 {
  for (let end = p + len; p < end; p++) {
    const b = <u32>load<u8>(p);
    if (b == LF || b == CR) return lineBreak;
    if (nul && b == 0) return SseStatus.ID_NUL;
  }
  return 0;
}

/** 0, or the SseStatus that the event's id / event / retry break. A length < 0 means "absent". */
export function checkFields(id: usize, idLen: i32, event: usize, eventLen: i32, retry: f64, hasRetry: bool): i32 {
  if (idLen > 0) {
    const s = badByte(id, <usize>idLen, true, SseStatus.ID_LINE_BREAK);
    if (s != 0) return s;
  }
  if (eventLen > 0) {
    const s = badByte(event, <usize>eventLen, false, SseStatus.EVENT_LINE_BREAK);
    if (s != 0) return s;
  }
  // NaN fails both comparisons' complements; the trunc test catches fractions and ±Inf.
  if (hasRetry && !(retry >= 0 && retry <= 9007199254740991 && Math.trunc(retry) == retry)) {
    return SseStatus.RETRY_INVALID;
  }
  return 0;
}

function putField(o: usize, oEnd: usize, name: u64, nameLen: usize, p: usize, len: usize): usize {
  o = putWord(o, oEnd, name, nameLen);
  if (o == FULL || oEnd - o < len + 1) return FULL;
  memory.copy(o, p, len);
  o += len;
  store<u8>(o, <u8>LF);
  return o + 1;
}

function putRetry(o: usize, oEnd: usize, v: u64): usize {
  o = putWord(o, oEnd, OPEN_RETRY, 7);
  if (o == FULL) return FULL;
  let digits: usize = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  if (oEnd - o < digits + 1) return FULL;
  let q = o + digits;
  store<u8>(q, <u8>LF);
  do {
    store<u8>(--q, <u8>(48 + v % 10));
    v /= 10;
  } while (v != 0);
  return o + digits + 1;
}

/**
 * Writes the field lines (id, event, retry: present ones, in that order) and the
 * `data: ` that opens the data. The fields must have passed checkFields.
 */
export function openEvent(o: usize, oEnd: usize, id: usize, idLen: i32, event: usize, eventLen: i32, retry: f64, hasRetry: bool): usize {
  if (idLen >= 0) o = putField(o, oEnd, OPEN_ID, 4, id, <usize>idLen);
  if (o != FULL && eventLen >= 0) o = putField(o, oEnd, OPEN_EVENT, 7, event, <usize>eventLen);
  if (o != FULL && hasRetry) o = putRetry(o, oEnd, <u64>retry);
  if (o != FULL) o = putWord(o, oEnd, OPEN_DATA, 6);
  return o;
}
