// Tensor data from JSON: the leaves of a (nested) JSON array of numbers or booleans, in
// row-major order, parsed straight into f32 or f64 slots, and validated as they go (RFC
// 8259's grammar for arrays, numbers and the two literals): the host reads the small
// members around a tensor's data itself and leaves the data, nearly all of a body, here.
//
// Numbers take Clinger's fast path (a mantissa below 2^53 and a power of ten up to 22:
// one correctly rounded multiply or divide). Into f32 slots, a longer mantissa is
// rounded to 19 digits and the result is kept unless it lies within 2^-50 of a point
// halfway between two floats (where the rounding could go the other way). Any other
// number stops the scan (status SLOW) for the host to parse that one and resume after it:
// the values are exactly those of JSON.parse (then Math.fround for f32).

import { NumbersResult } from "../abi";

export namespace NumbersStatus {
  export const DONE: u32 = 0; //        the array closed; count values written
  export const SLOW: u32 = 1; //        a number at pos for the host; resume at end
  export const NOT_NUMBER: u32 = 2; //  a leaf at pos that is not a number or a boolean
  export const TOO_MANY: u32 = 3; //    more leaves than cap
  export const UNTERMINATED: u32 = 4; // input ended inside the array
  export const INVALID: u32 = 5; //     not JSON at pos
}

export namespace NumbersKinds {
  export const NUMBER: u32 = 1;
  export const BOOLEAN: u32 = 2;
}

// Powers of ten exactly representable as f64.
const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

const TWO53: u64 = 9007199254740992;

/** Whether the 8 bytes of x (little-endian) are all ASCII digits. */
@inline function eightDigits(x: u64): bool {
  return ((x & 0xF0F0F0F0F0F0F0F0) | (((x + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0) >> 4)) == 0x3333333333333333;
}

/** The value of 8 ASCII digits (the first in the low byte), in three multiplies (SWAR). */
@inline function eightDigitsValue(x: u64): u64 {
  x -= 0x3030303030303030;
  x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FF; //      pairs: d0d1, d2d3, ...
  x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFF; //    quads
  return (x * 10000 + (x >> 32)) & 0xFFFFFFFF; //       all eight
}

@inline function isDigit(c: u32): bool {
  return c - 48 < 10;
}

/**
 * Scans input[p..end) (starting at the array's '[' with depth 0, or resuming with the
 * depth and count a previous call left), writing values to out (f32 when f32 != 0,
 * else f64) up to cap. Results in `r`; returns the status.
 */
export function scanNumbers(p: usize, end: usize, out: usize, cap: u32, f32: u32, r: usize): u32 {
  let depth = load<u32>(r, offsetof<NumbersResult>("depth"));
  let count = load<u32>(r, offsetof<NumbersResult>("count"));
  let kinds = load<u32>(r, offsetof<NumbersResult>("kinds"));
  // What may come next: a value (after ',' and at the start), a value or ']' (after '['),
  // or ',' / ']' (after a value).
  let expect = load<u32>(r, offsetof<NumbersResult>("expect"));
  let status = NumbersStatus.UNTERMINATED;
  let pos = p;
  while (p < end) {
    const c = <u32>load<u8>(p);
    // (every byte that may start a value, and the brackets, is above ',')
    if (c <= 0x2C) {
      if (c == 0x2C) { // ,
        if (expect != EXPECT_SEPARATOR || depth == 0) {
          pos = p;
          status = NumbersStatus.INVALID;
          break;
        }
        expect = EXPECT_VALUE;
        p++;
        continue;
      }
      if (c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09) {
        p++;
        continue;
      }
      // A string: valid JSON perhaps, but not tensor data; anything else is not JSON.
      pos = p;
      status = c == 0x22 && expect != EXPECT_SEPARATOR ? NumbersStatus.NOT_NUMBER : NumbersStatus.INVALID;
      break;
    }
    pos = p;
    if (c == 0x5D) { // ]
      if (expect == EXPECT_VALUE) {
        status = NumbersStatus.INVALID;
        break;
      }
      depth--;
      p++;
      expect = EXPECT_SEPARATOR;
      if (depth == 0) {
        status = NumbersStatus.DONE;
        break;
      }
      continue;
    }
    if (expect == EXPECT_SEPARATOR) {
      status = NumbersStatus.INVALID;
      break;
    }
    if (c == 0x5B) { // [
      depth++;
      p++;
      expect = EXPECT_VALUE_OR_CLOSE;
      continue;
    }
    if (depth == 0) { // (not an array at all)
      status = NumbersStatus.INVALID;
      break;
    }
    if (count >= cap) {
      status = NumbersStatus.TOO_MANY;
      break;
    }
    let v: f64 = 0;
    if (c == 0x74) { // true
      if (p + 4 > end || load<u32>(p) != 0x65757274) {
        status = NumbersStatus.INVALID;
        break;
      }
      v = 1;
      p += 4;
      kinds |= NumbersKinds.BOOLEAN;
    } else if (c == 0x66) { // false
      if (p + 5 > end || load<u32>(p + 1) != 0x65736C61) {
        status = NumbersStatus.INVALID;
        break;
      }
      p += 5;
      kinds |= NumbersKinds.BOOLEAN;
    } else if (c == 0x2D || isDigit(c)) {
      kinds |= NumbersKinds.NUMBER;
      // -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
      const neg = c == 0x2D;
      if (neg) p++;
      let w: u64 = 0;
      let digits: i32 = 0;
      let exp10: i32 = 0;
      let truncated = false;
      let d = <u32>load<u8>(p);
      if (p >= end || !isDigit(d) || (d == 48 && p + 1 < end && isDigit(<u32>load<u8>(p + 1)))) {
        status = NumbersStatus.INVALID;
        break;
      }
      // The integer part, then (frac = 1) the fraction: a digit past the 19 kept moves the
      // exponent up in the integer part; a kept digit moves it down in the fraction.
      let frac: i32 = 0;
      let bad = false;
      while (true) {
        while (p < end && isDigit(d)) {
          // (eight at a time once there are significant digits and room for eight more; the
          // input is followed by zero bytes, which are not digits)
          if (w != 0 && digits <= 11 && eightDigits(load<u64>(p))) {
            w = w * 100000000 + eightDigitsValue(load<u64>(p));
            digits += 8;
            exp10 -= frac << 3;
            p += 8;
            d = <u32>load<u8>(p);
            continue;
          }
          if (digits < 19) {
            w = w * 10 + <u64>(d - 48);
            if (w != 0) digits++;
            exp10 -= frac;
          } else {
            exp10 += 1 - frac;
            if (d != 48) truncated = true;
          }
          p++;
          d = <u32>load<u8>(p);
        }
        if (frac != 0 || p >= end || d != 0x2E) break; // .
        p++;
        d = <u32>load<u8>(p);
        bad = p >= end || !isDigit(d);
        if (bad) break;
        frac = 1;
      }
      if (bad) {
        status = NumbersStatus.INVALID;
        break;
      }
      if (p < end && (d == 0x65 || d == 0x45)) { // e E
        p++;
        d = <u32>load<u8>(p);
        let eneg = false;
        if (p < end && (d == 0x2D || d == 0x2B)) {
          eneg = d == 0x2D;
          p++;
          d = <u32>load<u8>(p);
        }
        if (p >= end || !isDigit(d)) {
          status = NumbersStatus.INVALID;
          break;
        }
        let e: i32 = 0;
        while (p < end && isDigit(d)) {
          if (e < 100000) e = e * 10 + <i32>(d - 48);
          p++;
          d = <u32>load<u8>(p);
        }
        exp10 += eneg ? -e : e;
      }
      if (w == 0) v = 0;
      else if (exp10 < -22 || exp10 > 22 || (f32 == 0 && (truncated || w > TWO53))) {
        status = NumbersStatus.SLOW;
        break;
      } else {
        v = <f64>w;
        v = exp10 < 0 ? v / unchecked(POW10[-exp10]) : v * unchecked(POW10[exp10]);
        if (f32 != 0 && (truncated || w > TWO53) && nearHalfway(v)) {
          status = NumbersStatus.SLOW;
          break;
        }
      }
      if (neg) v = -v;
    } else {
      // An object, null: valid JSON perhaps, but not tensor data; anything else is not JSON.
      status = c == 0x7B || c == 0x6E ? NumbersStatus.NOT_NUMBER : NumbersStatus.INVALID;
      break;
    }
    if (f32 != 0) store<f32>(out + (<usize>count << 2), <f32>v);
    else store<f64>(out + (<usize>count << 3), v);
    count++;
    // (the usual next byte, taken here)
    if (p < end && load<u8>(p) == 0x2C) {
      p++;
      expect = EXPECT_VALUE;
    } else expect = EXPECT_SEPARATOR;
  }
  // (SLOW: the number is taken as read; the host writes its value and resumes after it)
  if (status == NumbersStatus.SLOW) expect = EXPECT_SEPARATOR;
  store<u32>(r, depth, offsetof<NumbersResult>("depth"));
  store<u32>(r, count, offsetof<NumbersResult>("count"));
  store<u32>(r, kinds, offsetof<NumbersResult>("kinds"));
  store<u32>(r, expect, offsetof<NumbersResult>("expect"));
  store<u32>(r, <u32>(pos), offsetof<NumbersResult>("pos"));
  store<u32>(r, <u32>(p), offsetof<NumbersResult>("end"));
  return status;
}

const EXPECT_VALUE_OR_CLOSE: u32 = 0;
const EXPECT_VALUE: u32 = 1;
const EXPECT_SEPARATOR: u32 = 2;

/**
 * Whether v (positive, within 2^-52 or so of the decimal's true value) is so close to a
 * point halfway between two f32 values that rounding it could differ from rounding the
 * true value; also outside the normal f32 range, where this check does not hold.
 */
function nearHalfway(v: f64): bool {
  if (!(v >= 1.1754943508222875e-38 && v <= 3.4028234663852886e38)) return true;
  const f = <f32>v;
  const fv = <f64>f;
  if (fv == v) return false;
  const bits = reinterpret<u32>(f);
  const next = reinterpret<f32>(v > fv ? bits + 1 : bits - 1);
  const mid = (fv + <f64>next) * 0.5;
  return Math.abs(v - mid) <= v * 8.881784197001252e-16; // 2^-50
}
