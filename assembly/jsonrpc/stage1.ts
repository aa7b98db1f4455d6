// Stage 1 of the JSON tokenizer: a structural index of one 64-byte block, simdjson
// style. For each block it computes 64-bit masks (bit i = byte i of the block):
//
//   quote, backslash, op ({ } [ ] : ,), whitespace, control (< 0x20), and whether any
//   byte is non-ASCII.
//
// From those, with carries from the previous block:
//   escaped   bytes preceded by an odd run of backslashes (simdjson's
//             find_escaped_branchless: add the odd-start backslashes to the backslash
//             mask and let the carries mark where each run ends);
//   inString  the prefix-XOR of the unescaped quotes (x ^= x << 1, << 2, ... << 32),
//             so the opening quote is inside its string and the closing one is not;
//   structurals: ops and opening quotes outside strings, and the first byte of every
//             run of other non-whitespace bytes (scalars: numbers, true, false, null —
//             or garbage, which stage 2 rejects).
//
// The SIMD build classifies 16 bytes per compare; the scalar build walks a 256-entry
// class table. Both produce the same masks.

// @ts-ignore: decorator
@lazy const JSON_CLASS = memory.data(256);

const J_QUOTE: u8 = 1;
const J_BACKSLASH: u8 = 2;
const J_OP: u8 = 4;
const J_WS: u8 = 8;
const J_CTRL: u8 = 16;
const J_HIGH: u8 = 32;

let classReady = false;

function initClasses(): void {
  for (let b = 0; b < 256; b++) {
    let c: u8 = 0;
    if (b == 0x22) c |= J_QUOTE;
    if (b == 0x5c) c |= J_BACKSLASH;
    if (b == 0x7b || b == 0x7d || b == 0x5b || b == 0x5d || b == 0x3a || b == 0x2c) c |= J_OP;
    if (b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d) c |= J_WS;
    if (b < 0x20) c |= J_CTRL;
    if (b >= 0x80) c |= J_HIGH;
    store<u8>(JSON_CLASS + <usize>b, c);
  }
  classReady = true;
}

// Block masks (outputs of classify()).
export let mQuote: u64 = 0;
export let mBackslash: u64 = 0;
export let mOp: u64 = 0;
export let mWs: u64 = 0;
export let mCtrl: u64 = 0;
export let mHigh: bool = false;

/**
 * Classifies the 64 bytes at b (quotes, backslashes, controls, non-ASCII; in the scalar
 * build also ops and whitespace); `valid` masks off bytes at or after the end of input.
 */
export function classify(b: usize, valid: u64): void {
  if (ASC_FEATURE_SIMD) {
    const v0 = v128.load(b);
    const v1 = v128.load(b, 16);
    const v2 = v128.load(b, 32);
    const v3 = v128.load(b, 48);
    const q = i8x16.splat(0x22);
    const bs = i8x16.splat(0x5c);
    mQuote = bits4(i8x16.eq(v0, q), i8x16.eq(v1, q), i8x16.eq(v2, q), i8x16.eq(v3, q)) & valid;
    mBackslash = bits4(i8x16.eq(v0, bs), i8x16.eq(v1, bs), i8x16.eq(v2, bs), i8x16.eq(v3, bs)) & valid;
    // op / whitespace masks: classifyOps(), only when the block has structure to walk.
    mCtrl = bits4(ctrlMask(v0), ctrlMask(v1), ctrlMask(v2), ctrlMask(v3)) & valid;
    const high = <u64>i8x16.bitmask(v128.or(v128.or(v0, v1), v128.or(v2, v3)));
    // A non-ASCII byte past the end (padding) does not count: recheck exactly when set
    // (the byte sign bits of the block; a byte loop here cost a small message up to
    // ~70 ns whenever an earlier, longer message had left non-ASCII bytes in the slot).
    mHigh = high != 0 && (valid == <u64>-1 || (bits4(v0, v1, v2, v3) & valid) != 0);
  } else {
    if (!classReady) initClasses();
    let q: u64 = 0;
    let s: u64 = 0;
    let o: u64 = 0;
    let w: u64 = 0;
    let c: u64 = 0;
    let h: u32 = 0;
    for (let i: u32 = 0; i < 64; i++) {
      const k = <u64>load<u8>(JSON_CLASS + <usize>load<u8>(b + <usize>i));
      const bit = <u64>1 << <u64>i;
      if ((k & <u64>J_QUOTE) != 0) q |= bit;
      if ((k & <u64>J_BACKSLASH) != 0) s |= bit;
      if ((k & <u64>J_OP) != 0) o |= bit;
      if ((k & <u64>J_WS) != 0) w |= bit;
      if ((k & <u64>J_CTRL) != 0) c |= bit;
      if ((k & <u64>J_HIGH) != 0 && (valid & bit) != 0) h = 1;
    }
    mQuote = q & valid;
    mBackslash = s & valid;
    mOp = o & valid;
    mWs = w & valid;
    mCtrl = c & valid;
    mHigh = h != 0;
  }
}

/**
 * The op and whitespace masks of the block classify() looked at (SIMD build; the scalar
 * classify() computes them already). Not needed for a block that lies wholly inside a
 * string — the body of a long string value with escapes in it.
 */
export function classifyOps(b: usize, valid: u64): void {
  if (ASC_FEATURE_SIMD) {
    const v0 = v128.load(b);
    const v1 = v128.load(b, 16);
    const v2 = v128.load(b, 32);
    const v3 = v128.load(b, 48);
    // (opMask() also takes 0x0c and 0x1a, control characters: mCtrl has them.)
    mOp = bits4(opMask(v0), opMask(v1), opMask(v2), opMask(v3)) & valid & ~mCtrl;
    mWs = bits4(wsMask(v0), wsMask(v1), wsMask(v2), wsMask(v3)) & valid;
  }
}

// @ts-ignore: decorator
@inline function bits4(a: v128, b: v128, c: v128, d: v128): u64 {
  return <u64>i8x16.bitmask(a) | (<u64>i8x16.bitmask(b) << 16) | (<u64>i8x16.bitmask(c) << 32) | (<u64>i8x16.bitmask(d) << 48);
}

/** Bytes below 0x20: min(v, 0x1f) == v (two instructions; lt_u is three on x64). */
// @ts-ignore: decorator
@inline function ctrlMask(v: v128): v128 {
  return i8x16.eq(i8x16.min_u(v, i8x16.splat(0x1f)), v);
}

// Ops and whitespace by one table lookup (swizzle) on the low nibble: the table holds,
// per low nibble, the one byte of the class with that nibble (or a byte whose low
// nibble differs, which nothing can equal). The op bytes' low nibbles are a b c d, once
// '[' and ']' are folded onto '{' and '}' by OR 0x20 — which also folds 0x0c onto ','
// and 0x1a onto ':', control characters that the caller masks off.
// @ts-ignore: decorator
@inline function opMask(v: v128): v128 {
  const table = i8x16(0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x3a, 0x7b, 0x2c, 0x7d, 0, 0);
  return i8x16.eq(i8x16.swizzle(table, v128.and(v, i8x16.splat(0x0f))), v128.or(v, i8x16.splat(0x20)));
}

/** SP, HTAB, LF, CR (low nibbles 0, 9, a, d). */
// @ts-ignore: decorator
@inline function wsMask(v: v128): v128 {
  const table = i8x16(0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0x09, 0x0a, 0, 0, 0x0d, 0, 0);
  return i8x16.eq(i8x16.swizzle(table, v128.and(v, i8x16.splat(0x0f))), v);
}

/** Prefix XOR: bit i = XOR of bits 0..i. */
// @ts-ignore: decorator
@inline export function prefixXor(x: u64): u64 {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

// Carry of the escape computation: whether the first byte of the next block is escaped.
export let escapeCarry: u64 = 0;

export function resetStage1(): void {
  escapeCarry = 0;
}

/**
 * Bytes escaped by a backslash (simdjson's find_escaped_branchless). A run of
 * backslashes escapes the byte after it when the run is odd.
 */
export function escapedMask(backslash: u64): u64 {
  const EVEN: u64 = 0x5555555555555555;
  backslash &= ~escapeCarry;
  const followsEscape = (backslash << 1) | escapeCarry;
  const oddStarts = backslash & ~EVEN & ~followsEscape;
  const sum = oddStarts + backslash;
  escapeCarry = sum < oddStarts ? 1 : 0;
  const invert = sum << 1;
  return (EVEN ^ invert) & followsEscape;
}

/**
 * Inside a string, skips whole 64-byte blocks that hold no quote, backslash or control
 * byte (the body of a long string value), with one combined compare per vector.
 * Returns the first block that needs the full classification. Blocks with non-ASCII
 * bytes are reported through `skippedHigh` (first such block), for UTF-8 validation.
 */
export let skippedHighFrom: usize = 0;
export function skipStringBlocks(b: usize, end: usize): usize {
  skippedHighFrom = 0;
  if (ASC_FEATURE_SIMD) {
    const q = i8x16.splat(0x22);
    const bs = i8x16.splat(0x5c);
    const sp = i8x16.splat(0x20);
    while (b + 64 <= end) {
      const v0 = v128.load(b);
      const v1 = v128.load(b, 16);
      const v2 = v128.load(b, 32);
      const v3 = v128.load(b, 48);
      const s0 = v128.or(v128.or(i8x16.eq(v0, q), i8x16.eq(v0, bs)), i8x16.lt_u(v0, sp));
      const s1 = v128.or(v128.or(i8x16.eq(v1, q), i8x16.eq(v1, bs)), i8x16.lt_u(v1, sp));
      const s2 = v128.or(v128.or(i8x16.eq(v2, q), i8x16.eq(v2, bs)), i8x16.lt_u(v2, sp));
      const s3 = v128.or(v128.or(i8x16.eq(v3, q), i8x16.eq(v3, bs)), i8x16.lt_u(v3, sp));
      if (v128.any_true(v128.or(v128.or(s0, s1), v128.or(s2, s3)))) break;
      if (skippedHighFrom == 0 && i8x16.bitmask(v128.or(v128.or(v0, v1), v128.or(v2, v3))) != 0) skippedHighFrom = b;
      b += 64;
    }
  }
  return b;
}
