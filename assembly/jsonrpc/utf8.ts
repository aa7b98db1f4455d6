// UTF-8 validation (RFC 3629 §4: no overlongs, no surrogates, nothing above U+10FFFF),
// run by the tokenizer only on blocks that hold non-ASCII bytes.

/** Where the last failed validation found its first bad byte. */
export let utf8ErrorAt: usize = 0;

// @ts-ignore: decorator
@inline function bad(at: usize): usize {
  utf8ErrorAt = at;
  return 0;
}

/**
 * Validates the sequences that start in [p, stop); a sequence may run past `stop` but
 * not past `end`. Returns the position after the last sequence, or 0 when invalid
 * (utf8ErrorAt then says where).
 */
export function validateUtf8(p: usize, stop: usize, end: usize): usize {
  while (p < stop) {
    // ASCII runs 8 bytes at a time (a load may pass `stop`: the padding makes that safe,
    // and only bytes before `stop` are skipped as ASCII).
    if (p + 8 <= stop && (load<u64>(p) & 0x8080808080808080) == 0) {
      p += 8;
      continue;
    }
    const c = <u32>load<u8>(p);
    if (c < 0x80) {
      p++;
      continue;
    }
    let n: usize;
    let lo: u32 = 0x80;
    let hi: u32 = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0; // no overlongs
      else if (c == 0xed) hi = 0x9f; // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;
      else if (c == 0xf4) hi = 0x8f; // <= U+10FFFF
    } else return bad(p);
    const c1 = <u32>load<u8>(p + 1);
    if (p + 1 >= end || c1 < lo || c1 > hi) return bad(p);
    for (let i: usize = 2; i <= n; i++) {
      const ci = <u32>load<u8>(p + i);
      if (p + i >= end || ci < 0x80 || ci > 0xbf) return bad(p);
    }
    p += n + 1;
  }
  return p;
}
