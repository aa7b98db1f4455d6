// Character classes and the scanning kernels the HTTP parser is built on.
//
// Each kernel returns the first position in [p, end) whose byte is NOT in a class (or
// `end`). The SIMD build looks at 16 bytes per step; the scalar build walks the class
// table (tokens) or 8 bytes at a time in a u64 (values, targets). Both give identical
// answers: the kernels may load up to 15 bytes past `end` (the slot padding makes that
// safe) but never report a position at or beyond `end`.

/** Byte classes (bits of CLASS_TABLE). */
export namespace C {
  /** tchar (RFC 9110 §5.6.2): field names, methods, tokens. */
  export const TCHAR: u8 = 1;
  /** field-vchar / SP / HTAB / obs-text (RFC 9110 §5.5): allowed inside field values. */
  export const VALUE: u8 = 2;
  /** visible ASCII 0x21-0x7E: allowed in the request-target. */
  export const TARGET: u8 = 4;
  /** HEXDIG. */
  export const HEX: u8 = 8;
  /** reg-name / IP-literal / port characters allowed in Host (RFC 3986 §3.2.2). */
  export const HOST: u8 = 16;
  /** qdtext (RFC 9110 §5.6.4). */
  export const QDTEXT: u8 = 32;
  /** DIGIT. */
  export const DIGIT: u8 = 64;
  /** URI scheme characters (ALPHA / DIGIT / "+" / "-" / "."). */
  export const SCHEME: u8 = 128;
}

// 256 bytes: CLASS_TABLE[b] = bits of C for byte b.
// @ts-ignore: decorator
@lazy export const CLASS_TABLE = memory.data<u8>([
    0,  0,  0,  0,  0,  0,  0,  0,  0, 34,  0,  0,  0,  0,  0,  0, // 0x00
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, // 0x10
   34, 55,  6, 39, 55, 55, 55, 55, 54, 54, 55,183, 54,183,183, 38, // 0x20
  255,255,255,255,255,255,255,255,255,255, 54, 54, 38, 54, 38, 38, // 0x30
   38,191,191,191,191,191,191,183,183,183,183,183,183,183,183,183, // 0x40
  183,183,183,183,183,183,183,183,183,183,183, 54,  6, 54, 39, 55, // 0x50
   39,191,191,191,191,191,191,183,183,183,183,183,183,183,183,183, // 0x60
  183,183,183,183,183,183,183,183,183,183,183, 38, 39, 38, 55,  0, // 0x70
   34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, // 0x80
   34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, // 0x90
   34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, // 0xa0
   34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, // 0xb0
   34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, // 0xc0
   34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, // 0xd0
   34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, // 0xe0
   34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, // 0xf0
]);

// @ts-ignore: decorator
@inline export function isClass(p: usize, c: u8): bool {
  return (load<u8>(CLASS_TABLE + <usize>load<u8>(p)) & c) != 0;
}

// ── SIMD constants ───────────────────────────────────────────────────────────────
//
// tchar membership with two shuffles (the nibble-table trick simdjson uses to classify
// structural characters): rows[lo] holds, for the 8 ASCII high nibbles 0..7, a bit
// set when (hi << 4 | lo) is a tchar; highBit[hi] is 1 << hi for hi < 8 and 0 for the
// non-ASCII high nibbles. A byte is a tchar iff rows[lo] & highBit[hi] != 0.
// The rows were computed from the RFC 9110 tchar set, and test/wasm/chars.test.ts
// checks the kernel against CLASS_TABLE for every byte value at every lane.

// rows then highBit (32 bytes). Kept in memory rather than as v128.const: V8 builds a
// 128-bit immediate with several instructions on every use, a load from L1 is one.
// @ts-ignore: decorator
@lazy const TCHAR_NIBBLES = memory.data<u8>([
  0xe8, 0xfc, 0xf8, 0xfc, 0xfc, 0xfc, 0xfc, 0xfc, 0xf8, 0xf8, 0xf4, 0x54, 0xd0, 0x54, 0xf4, 0x70,
  1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0,
], 16);

// The same for the Host characters (C.HOST): rows only; highBit is shared.
// @ts-ignore: decorator
@lazy const HOST_NIBBLES = memory.data<u8>([
  0xa8, 0xfc, 0xf8, 0xf8, 0xfc, 0xfc, 0xfc, 0xfc, 0xfc, 0xfc, 0xfc, 0x7c, 0x54, 0x7c, 0xd4, 0x70,
], 16);

/** Bit i set when lane i of v is not in the ASCII set whose nibble rows are at `rows`. */
// @ts-ignore: decorator
@inline function notInSetMask(v: v128, rows: usize): i32 {
  const lo = v128.and(v, i8x16.splat(0x0f));
  const hi = i8x16.shr_u(v, 4);
  const hit = v128.and(i8x16.swizzle(v128.load(rows), lo), i8x16.swizzle(v128.load(TCHAR_NIBBLES, 16), hi));
  return i8x16.bitmask(i8x16.eq(hit, i8x16.splat(0)));
}

/** Bit i set when lane i of v is not a tchar. */
// @ts-ignore: decorator
@inline export function nonTokenMask(v: v128): i32 {
  return notInSetMask(v, TCHAR_NIBBLES);
}

/** Whether every byte of [p, end) is a Host character (reg-name, IP-literal, port). */
export function allHostChars(p: usize, end: usize): bool {
  if (ASC_FEATURE_SIMD) {
    while (p < end) {
      const m = notInSetMask(v128.load(p), HOST_NIBBLES);
      if (m != 0) return p + <usize>ctz(m) >= end;
      p += 16;
    }
    return true;
  } else {
    return allClass(p, end, C.HOST);
  }
}

/**
 * Bit i set when lane i may not appear inside a field value: a control character other
 * than HTAB (this catches CR and LF, which end the value), or DEL. Unsigned compare:
 * (v < 0x20 && v != 0x09) || v == 0x7f.
 */
// @ts-ignore: decorator
@inline export function valueStopMask(v: v128): i32 {
  const ctl = v128.andnot(i8x16.lt_u(v, i8x16.splat(0x20)), i8x16.eq(v, i8x16.splat(0x09)));
  return i8x16.bitmask(v128.or(ctl, i8x16.eq(v, i8x16.splat(0x7f))));
}

/** Bit i set when lane i is outside 0x21..0x7e (SP ends the target; CTL/DEL/non-ASCII are errors). */
// @ts-ignore: decorator
@inline function targetStopMask(v: v128): i32 {
  return i8x16.bitmask(v128.or(i8x16.lt_u(v, i8x16.splat(0x21)), i8x16.gt_u(v, i8x16.splat(0x7e))));
}

/** First position in [p, end) that is not a tchar, or end. */
// @ts-ignore: decorator
@inline export function scanToken(p: usize, end: usize): usize {
  if (ASC_FEATURE_SIMD) {
    while (p < end) {
      const m = nonTokenMask(v128.load(p));
      if (m != 0) {
        const q = p + <usize>ctz(m);
        return q < end ? q : end;
      }
      p += 16;
    }
    return end;
  } else {
    while (p < end && isClass(p, C.TCHAR)) p++;
    return p;
  }
}

// ── SWAR (8 bytes in a u64) ──────────────────────────────────────────────────────
//
// Short fields are common, and a 16-byte SIMD step has a fixed cost (constants, the
// move of the bitmask to a general register), so the value and target scans look at
// the first 8 bytes with plain 64-bit arithmetic first, in both builds. The classic
// "has a byte less than n" test, (x - n*0x01..) & ~x & 0x80.., can flag bytes above the
// first true one (borrows run upwards) but never below it, so the LOWEST flagged byte
// is exact, and that is the only one used.

const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/** High bit of each byte of x that is < 0x20 or == 0x7f (lowest flag exact). */
// @ts-ignore: decorator
@inline function valueStops64(x: u64): u64 {
  const y = x ^ 0x7f7f7f7f7f7f7f7f;
  return (((x - ONES * 0x20) & ~x) | ((y - ONES) & ~y)) & HIGHS;
}

/** High bit of each byte of x that is <= 0x20 or >= 0x7f (lowest flag exact). */
// @ts-ignore: decorator
@inline function targetStops64(x: u64): u64 {
  return (((x - ONES * 0x21) & ~x) | x | (x + ONES)) & HIGHS;
}

/**
 * First position in [p, end) holding a byte that cannot continue a field value (a
 * control character other than HTAB, or DEL), or end.
 */
// @ts-ignore: decorator
@inline export function scanValue(p: usize, end: usize): usize {
  // HTAB is flagged by the SWAR test (it is < 0x20); it is allowed, so step over it.
  while (true) {
    const m = valueStops64(load<u64>(p));
    if (m == 0) {
      p += 8;
      break;
    }
    const q = p + <usize>(ctz(m) >> 3);
    if (q >= end) return end;
    if (<u32>load<u8>(q) != 9) return q;
    p = q + 1;
  }
  if (ASC_FEATURE_SIMD) {
    while (p < end) {
      const m = valueStopMask(v128.load(p));
      if (m != 0) {
        const q = p + <usize>ctz(m);
        return q < end ? q : end;
      }
      p += 16;
    }
    return end;
  } else {
    while (p < end) {
      const m = valueStops64(load<u64>(p));
      if (m != 0) {
        const q = p + <usize>(ctz(m) >> 3);
        if (q >= end) return end;
        if (<u32>load<u8>(q) != 9) return q;
        p = q + 1;
      } else {
        p += 8;
      }
    }
    return end;
  }
}

/** First position in [p, end) holding a byte outside 0x21..0x7e, or end. */
// @ts-ignore: decorator
@inline export function scanTarget(p: usize, end: usize): usize {
  const m0 = targetStops64(load<u64>(p));
  if (m0 != 0) {
    const q = p + <usize>(ctz(m0) >> 3);
    return q < end ? q : end;
  }
  p += 8;
  if (ASC_FEATURE_SIMD) {
    while (p < end) {
      const m = targetStopMask(v128.load(p));
      if (m != 0) {
        const q = p + <usize>ctz(m);
        return q < end ? q : end;
      }
      p += 16;
    }
    return end;
  } else {
    while (p < end) {
      const m = targetStops64(load<u64>(p));
      if (m != 0) {
        const q = p + <usize>(ctz(m) >> 3);
        return q < end ? q : end;
      }
      p += 8;
    }
    return end;
  }
}

/** Whether every byte of [p, end) has class c (short fields: Host, chunk-ext names). */
export function allClass(p: usize, end: usize, c: u8): bool {
  while (p < end) {
    if (!isClass(p, c)) return false;
    p++;
  }
  return true;
}
