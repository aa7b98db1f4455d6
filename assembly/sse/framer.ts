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
// then `\n\n`: one pass that copies and rewrites (copyLines, below), 16 bytes per
// block in the SIMD build and 8 (SWAR in a u64) in the scalar build, with identical
// output. Loads may run up to 15 bytes past the input (the slot padding makes that
// safe); stores never pass the output's end.
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

// ── the copy-and-rewrite kernel ──────────────────────────────────────────────────
//
// The input is cut into blocks at a fixed stride from its start (16 bytes in the SIMD
// build, 8 in the scalar one). For each block a mask of its CR and LF bytes is taken
// first, and then its breaks are walked bit by bit (ctz, then clear the lowest bit):
// copy the bytes since the last break with one block-wide load/store, write the line
// opener, move on. Block loads do not depend on where the breaks were, so for short
// lines the work per line is a few adds and stores instead of a load→compare→ctz→load
// chain per line (simdjson's stage-1 idea: find all the structure of a block at once,
// then flatten the bits). A CRLF is one break: its LF bit is cleared (or, when the CR
// ends a block, `s` steps over the LF at the start of the next).
//
// Every store is block-wide and lands at or after the output cursor; the bytes it puts
// past the cursor are garbage that the next store overwrites. The block loop runs
// while the output has room for a block's worst case (16 breaks × 7 bytes + 32), then
// a byte-by-byte tail finishes with exact bounds checks.

/** Output room the block loops need for one block: every byte a break, plus the last stores. */
const BLOCK_ROOM: usize = 16 * 7 + 32;

// SWAR (scalar build): a byte of x equals c iff the byte of y = x ^ (c * 0x01..) is zero.
// ((y & 0x7f..) + 0x7f..) | y has the high bit of each NONZERO byte set, with no carry
// between bytes (0x7f + 0x7f < 0x100), so its complement flags exactly the zero bytes:
// every flag is used, so the cheaper borrow-based test (exact only for the lowest
// flag) would not do.

const LOWS: u64 = 0x7f7f7f7f7f7f7f7f;
const HIGHS: u64 = 0x8080808080808080;
const ONES: u64 = 0x0101010101010101;

/** High bit of each byte of x that is CR or LF (all flags exact). */
// @ts-ignore: decorator
@inline function breaks64(x: u64): u64 {
  const a = x ^ (ONES * LF);
  const b = x ^ (ONES * CR);
  return ~((((a & LOWS) + LOWS) | a) & (((b & LOWS) + LOWS) | b)) & HIGHS;
}

/** Bit i set when lane i of v is CR or LF. */
// @ts-ignore: decorator
@inline function breaks128(v: v128): i32 {
  return i8x16.bitmask(v128.or(i8x16.eq(v, i8x16.splat(<i8>LF)), i8x16.eq(v, i8x16.splat(<i8>CR))));
}

/**
 * Copies [p, end) to o with every line break (CR, LF or CRLF) replaced by the `nlLen`
 * (<= 8) bytes of `nl`. `skipLF`: the previous piece of this text ended in CR, so a
 * leading LF completes that CRLF and is dropped. Returns the new output position, or
 * FULL.
 */
export function copyLines(o: usize, oEnd: usize, p: usize, end: usize, nl: u64, nlLen: usize, skipLF: bool): usize {
  // s: the next input byte to copy (s - b is 0, or 1 after a CRLF across blocks).
  let s = p;
  if (skipLF && p < end && <u32>load<u8>(p) == LF) s++;
  let b = p;
  if (ASC_FEATURE_SIMD) {
    while (b < end && oEnd - o >= BLOCK_ROOM) {
      let v = v128.load(b);
      let m = breaks128(v);
      if (m == 0 && s == b) {
        // A run of whole blocks without a break (long lines): plain copy. While s == b,
        // o - b is fixed, so the room check folds into the bound on b.
        const last = b + (oEnd - o) - BLOCK_ROOM;
        while (m == 0 && end - b >= 16 && b <= last) {
          v128.store(o, v);
          o += 16;
          b += 16;
          v = v128.load(b);
          m = breaks128(v);
        }
        s = b;
        if (b >= end || oEnd - o < BLOCK_ROOM) break;
      }
      let blockEnd = b + 16;
      if (blockEnd > end) {
        m &= (1 << <i32>(end - b)) - 1;
        blockEnd = end;
      }
      if (s > b) m &= ~1;
      while (m != 0) {
        const q = b + <usize>ctz(m);
        v128.store(o, v128.load(s));
        o += q - s;
        store<u64>(o, nl);
        o += nlLen;
        s = q + 1;
        if (<u32>load<u8>(q) == CR && s < end && <u32>load<u8>(s) == LF) {
          s++;
          m &= ~(1 << <i32>(s - 1 - b));
        }
        m &= m - 1;
      }
      if (s < blockEnd) {
        v128.store(o, v128.load(s));
        o += blockEnd - s;
        s = blockEnd;
      }
      b += 16;
    }
  } else {
    while (b < end && oEnd - o >= BLOCK_ROOM) {
      let x = load<u64>(b);
      let m = breaks64(x);
      if (m == 0 && s == b) {
        const last = b + (oEnd - o) - BLOCK_ROOM;
        while (m == 0 && end - b >= 8 && b <= last) {
          store<u64>(o, x);
          o += 8;
          b += 8;
          x = load<u64>(b);
          m = breaks64(x);
        }
        s = b;
        if (b >= end || oEnd - o < BLOCK_ROOM) break;
      }
      let blockEnd = b + 8;
      if (blockEnd > end) {
        m &= (<u64>1 << (<u64>(end - b) << 3)) - 1;
        blockEnd = end;
      }
      if (s > b) m &= ~<u64>0xff;
      while (m != 0) {
        const q = b + <usize>(ctz(m) >> 3);
        store<u64>(o, load<u64>(s));
        o += q - s;
        store<u64>(o, nl);
        o += nlLen;
        s = q + 1;
        if (<u32>load<u8>(q) == CR && s < end && <u32>load<u8>(s) == LF) {
          s++;
          // The LF's flag, when it is in this block (a shift by 64 would wrap).
          if (s - 1 - b < 8) m &= ~(<u64>0xff << (<u64>(s - 1 - b) << 3));
        }
        m &= m - 1;
      }
      if (s < blockEnd) {
        store<u64>(o, load<u64>(s));
        o += blockEnd - s;
        s = blockEnd;
      }
      b += 8;
    }
  }
  // Near the output's end (or the input's): byte by byte, with exact bounds.
  while (s < end) {
    const c = <u32>load<u8>(s++);
    if (c == LF || c == CR) {
      if (c == CR && s < end && <u32>load<u8>(s) == LF) s++;
      o = putWord(o, oEnd, nl, nlLen);
      if (o == FULL) return FULL;
    } else {
      if (o >= oEnd) return FULL;
      store<u8>(o++, <u8>c);
    }
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
