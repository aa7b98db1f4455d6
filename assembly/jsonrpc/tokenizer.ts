// JSON validation (RFC 8259) and JSON-RPC 2.0 envelope extraction in one pass.
//
// Stage 1 (stage1.ts) indexes 64 bytes at a time; stage 2 (here) walks only the
// structural positions of each block with a small grammar state machine and a depth
// stack, validates scalars (numbers, literals) where they start, and records the spans
// of the envelope members (jsonrpc, id, method, params, result, error) of the message,
// or of each member of a batch. Strings are validated by stage 1 (no raw control
// characters, valid escapes) and UTF-8 by utf8.ts on blocks that hold non-ASCII bytes.
//
// Results go to the JSON scratch area (layout.ts). Nothing is allocated.

import {
  JsonHeader, JsonMessage, JsonStatus, ValueKind, MessageBits, InvalidReason,
  MAX_MESSAGES, MAX_DEPTH, RECORDS_OFFSET, RECORD_SIZE, DEPTH_STACK_OFFSET,
} from "./layout";
import { classify, classifyOps, escapedMask, prefixXor, resetStage1, skipStringBlocks } from "./stage1";
import * as stage1 from "./stage1";
import { validateUtf8, utf8ErrorAt } from "./utf8";

const OBJ: u8 = 1;
const ARR: u8 = 2;

// Grammar states.
const S_VALUE: u32 = 0; // a value is expected
const S_VALUE_OR_CLOSE: u32 = 1; // after '[': a value or ']'
const S_KEY: u32 = 2; // after ',' in an object: a key
const S_KEY_OR_CLOSE: u32 = 3; // after '{': a key or '}'
const S_COLON: u32 = 4; // after a key
const S_AFTER: u32 = 5; // after a value: ',' or a close (or the end at depth 0)

// Envelope member ids.
const K_NONE: u32 = 0;
const K_JSONRPC: u32 = 1;
const K_ID: u32 = 2;
const K_METHOD: u32 = 3;
const K_PARAMS: u32 = 4;
const K_RESULT: u32 = 5;
const K_ERROR: u32 = 6;
const K_OTHER: u32 = 7;

let H: JsonHeader = changetype<JsonHeader>(0);
let area: usize = 0;

export function setJsonScratch(p: usize): void {
  area = p;
  H = changetype<JsonHeader>(p);
}

// Walk state (reset per parse).
let base: usize = 0;
let len: usize = 0;
let envDepth: u32 = 0; // depth of the envelope objects' members (1, or 2 in a batch)
let rec: usize = 0; // current record
let count: u32 = 0;
let keyStart: usize = 0; // opening quote of the last key
let curKey: u32 = K_NONE;
let valStart: usize = 0; // first byte of the pending envelope member value
let seenKeys: u32 = 0;
let failed: bool = false;
let tooMany: bool = false; // more batch members than records
let emptyBatch: bool = false;

// @ts-ignore: decorator
@inline function fail(status: u32, at: usize): void {
  if (!failed) {
    failed = true;
    H.status = status;
    H.errorOffset = <u32>(at - base);
  }
}

// @ts-ignore: decorator
@inline function isWs(c: u32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

/** Last non-whitespace position before p (p itself when p[-1] is not whitespace). */
function trimBack(p: usize): usize {
  while (p > base && isWs(<u32>load<u8>(p - 1))) p--;
  return p;
}

function kindAt(p: usize): u32 {
  const c = <u32>load<u8>(p);
  if (c == 0x22) return ValueKind.STRING;
  if (c == 0x7b) return ValueKind.OBJECT;
  if (c == 0x5b) return ValueKind.ARRAY;
  if (c == 0x74) return ValueKind.TRUE;
  if (c == 0x66) return ValueKind.FALSE;
  if (c == 0x6e) return ValueKind.NULL;
  return ValueKind.NUMBER;
}

/** The byte after a scalar must end it: whitespace, an op, a quote, or the end of input. */
// @ts-ignore: decorator
@inline function delimits(q: usize): bool {
  if (q >= base + len) return true;
  const c = <u32>load<u8>(q);
  return c == 0x2c || c == 0x7d || c == 0x5d || isWs(c) || c == 0x3a || c == 0x22 || c == 0x7b || c == 0x5b;
}

/** Validates the scalar at p; returns its end, or 0 (after fail()) when invalid. */
function scalar(p: usize): usize {
  const end = base + len;
  const c = <u32>load<u8>(p);
  // Fast path: an integer without sign, fraction or exponent, ended by , } or ].
  if (c - 0x31 <= 8) {
    let q = p + 1;
    while (q < end && <u32>load<u8>(q) - 48 <= 9) q++;
    if (q < end) {
      const d = <u32>load<u8>(q);
      if (d == 0x2c || d == 0x7d || d == 0x5d) return q;
    }
  }
  if (c == 0x74) { // true
    if (p + 4 <= end && load<u32>(p) == 0x65757274 && delimits(p + 4)) return p + 4;
  } else if (c == 0x66) { // false
    if (p + 5 <= end && load<u32>(p + 1) == 0x65736c61 && delimits(p + 5)) return p + 5;
  } else if (c == 0x6e) { // null
    if (p + 4 <= end && load<u32>(p) == 0x6c6c756e && delimits(p + 4)) return p + 4;
  } else {
    // number = [ "-" ] int [ frac ] [ exp ] (RFC 8259 §6)
    let q = p;
    if (q < end && load<u8>(q) == 0x2d) q++;
    if (q >= end) { fail(JsonStatus.INVALID_JSON, q); return 0; }
    let d = <u32>load<u8>(q) - 48;
    if (d > 9) { fail(JsonStatus.INVALID_JSON, q); return 0; }
    q++;
    if (d != 0) {
      while (q < end && <u32>load<u8>(q) - 48 <= 9) q++;
    }
    if (q < end && load<u8>(q) == 0x2e) {
      q++;
      if (q >= end || <u32>load<u8>(q) - 48 > 9) { fail(JsonStatus.INVALID_JSON, q); return 0; }
      while (q < end && <u32>load<u8>(q) - 48 <= 9) q++;
    }
    if (q < end && (<u32>load<u8>(q) | 0x20) == 0x65) {
      q++;
      if (q < end && (load<u8>(q) == 0x2b || load<u8>(q) == 0x2d)) q++;
      if (q >= end || <u32>load<u8>(q) - 48 > 9) { fail(JsonStatus.INVALID_JSON, q); return 0; }
      while (q < end && <u32>load<u8>(q) - 48 <= 9) q++;
    }
    if (delimits(q)) return q;
    fail(JsonStatus.INVALID_JSON, q);
    return 0;
  }
  fail(JsonStatus.INVALID_JSON, p);
  return 0;
}

// ── records ──────────────────────────────────────────────────────────────────────

// @ts-ignore: decorator
@inline function v128Zero(p: usize): void {
  store<u64>(p, 0);
  store<u64>(p, 0, 8);
}

function beginRecord(p: usize): void {
  if (count >= MAX_MESSAGES) {
    // Keep validating; the batch is refused at the end (records stop here).
    tooMany = true;
    rec = 0;
    return;
  }
  rec = area + RECORDS_OFFSET + <usize>count * RECORD_SIZE;
  // Zero the 96-byte record with plain stores (a bulk memory.fill is a runtime call in V8).
  for (let i: usize = 0; i < <usize>RECORD_SIZE; i += 16) v128Zero(rec + i);
  const m = changetype<JsonMessage>(rec);
  m.start = <u32>(p - base);
  m.kind = kindAt(p);
  count++;
  seenKeys = 0;
  curKey = K_NONE;
}

/** Compares the key [a, b) with the member names the envelope cares about. */
function keyId(a: usize, b: usize): u32 {
  const n = b - a;
  if (n == 2 && load<u16>(a) == 0x6469) return K_ID; // "id"
  if (n == 6) {
    const w = load<u32>(a);
    const h = <u32>load<u16>(a + 4);
    if (w == 0x6874656d && h == 0x646f) return K_METHOD; // "method"
    if (w == 0x61726170 && h == 0x736d) return K_PARAMS; // "params"
    if (w == 0x75736572 && h == 0x746c) return K_RESULT; // "result"
  }
  if (n == 5 && load<u32>(a) == 0x6f727265 && load<u8>(a + 4) == 0x72) return K_ERROR; // "error"
  if (n == 7 && load<u32>(a) == 0x6e6f736a && load<u32>(a + 3) == 0x6370726e) return K_JSONRPC; // "jsonrpc"
  return K_OTHER;
}

// A scratch buffer for decoding short strings with escapes (member names, "jsonrpc").
// @ts-ignore: decorator
@lazy const SMALL = memory.data(16);

/**
 * Decodes the string content [a, b) (escapes valid: stage 1 checked them) into SMALL.
 * Returns the decoded length, or -1 when it is longer than 16 bytes or decodes to
 * non-ASCII (no envelope name or "2.0" can then match).
 */
function decodeSmall(a: usize, b: usize): i32 {
  let n: usize = 0;
  let p = a;
  while (p < b) {
    if (n >= 16) return -1;
    let c = <u32>load<u8>(p);
    if (c == 0x5c) {
      const e = <u32>load<u8>(p + 1);
      p += 2;
      if (e == 0x75) { // \uXXXX
        let v: u32 = 0;
        for (let i: usize = 0; i < 4; i++) {
          const h = <u32>load<u8>(p + i);
          v = (v << 4) | (h - 48 <= 9 ? h - 48 : (h | 0x20) - 87);
        }
        p += 4;
        if (v >= 0x80) return -1;
        c = v;
      } else {
        c = e == 0x62 ? 8 : e == 0x66 ? 12 : e == 0x6e ? 10 : e == 0x72 ? 13 : e == 0x74 ? 9 : e; // b f n r t, or " \ /
      }
    } else {
      if (c >= 0x80) return -1;
      p++;
    }
    store<u8>(SMALL + n, <u8>c);
    n++;
  }
  return <i32>n;
}

function hasBackslash(a: usize, b: usize): bool {
  for (let p = a; p < b; p++) if (load<u8>(p) == 0x5c) return true;
  return false;
}

/** The value of envelope member curKey spans [valStart, end). */
function finishMember(end: usize): void {
  const k = curKey;
  curKey = K_NONE;
  if (k == K_NONE || k == K_OTHER || rec == 0) return;
  const m = changetype<JsonMessage>(rec);
  const bit: u32 = 1 << k;
  if ((seenKeys & bit) != 0) {
    if (m.invalid == 0) m.invalid = InvalidReason.DUPLICATE_MEMBER;
    return;
  }
  seenKeys |= bit;
  const s = <u32>(valStart - base);
  const e = <u32>(end - base);
  const kind = kindAt(valStart);
  if (k == K_ID) {
    m.idStart = s; m.idEnd = e; m.idKind = kind;
    if (kind == ValueKind.STRING && hasBackslash(valStart, end)) m.bits |= MessageBits.ID_ESCAPED;
  } else if (k == K_METHOD) {
    m.methodStart = s; m.methodEnd = e; m.methodKind = kind;
    if (kind == ValueKind.STRING && hasBackslash(valStart, end)) m.bits |= MessageBits.METHOD_ESCAPED;
  } else if (k == K_PARAMS) {
    m.paramsStart = s; m.paramsEnd = e; m.paramsKind = kind;
  } else if (k == K_RESULT) {
    m.resultStart = s; m.resultEnd = e; m.resultKind = kind;
  } else if (k == K_ERROR) {
    m.errorStart = s; m.errorEnd = e; m.errorKind = kind;
  } else if (k == K_JSONRPC) {
    m.jsonrpcStart = s; m.jsonrpcEnd = e; m.jsonrpcKind = kind;
  }
}

/** Message kinds, in JsonMessage.reserved. */
export namespace MsgKind {
  export const REQUEST: u32 = 1;
  export const NOTIFICATION: u32 = 2;
  export const RESPONSE: u32 = 3;
  export const ERROR: u32 = 4;
  export const INVALID: u32 = 5;
}

/** Whether the string token [s, e) (quotes included) is "2.0", escapes decoded. */
function isVersion20(s: usize, e: usize): bool {
  if (e - s == 5) return load<u32>(s) == 0x302e3222 /* "2.0 */ && load<u8>(s + 4) == 0x22;
  if (!hasBackslash(s + 1, e - 1)) return false;
  return decodeSmall(s + 1, e - 1) == 3 && (load<u32>(SMALL) & 0xffffff) == 0x302e32;
}

// @ts-ignore: decorator
@inline function isIdKind(k: u32): bool {
  return k == ValueKind.STRING || k == ValueKind.NUMBER || k == ValueKind.NULL;
}

/** Decides what the message of the current record is (JSON-RPC 2.0 §4, §5). */
function classifyRecord(end: usize): void {
  if (rec == 0) return;
  const m = changetype<JsonMessage>(rec);
  m.end = <u32>(end - base);
  let why = m.invalid;
  const has = seenKeys;
  if (why == 0) {
    if ((has & (1 << K_JSONRPC)) == 0) why = InvalidReason.NO_JSONRPC;
    else if (m.jsonrpcKind != ValueKind.STRING || !isVersion20(base + <usize>m.jsonrpcStart, base + <usize>m.jsonrpcEnd)) why = InvalidReason.BAD_JSONRPC;
    else if ((has & (1 << K_METHOD)) != 0) {
      if (m.methodKind != ValueKind.STRING) why = InvalidReason.BAD_METHOD;
      else if ((has & ((1 << K_RESULT) | (1 << K_ERROR))) != 0) why = InvalidReason.METHOD_AND_RESULT;
      else if ((has & (1 << K_PARAMS)) != 0 && m.paramsKind != ValueKind.OBJECT && m.paramsKind != ValueKind.ARRAY) why = InvalidReason.BAD_PARAMS;
      else if ((has & (1 << K_ID)) != 0 && !isIdKind(m.idKind)) why = InvalidReason.BAD_ID;
    } else if ((has & ((1 << K_RESULT) | (1 << K_ERROR))) != 0) {
      if ((has & ((1 << K_RESULT) | (1 << K_ERROR))) == ((1 << K_RESULT) | (1 << K_ERROR))) why = InvalidReason.BOTH_RESULT_AND_ERROR;
      else if ((has & (1 << K_ID)) == 0) why = InvalidReason.RESPONSE_WITHOUT_ID;
      else if (!isIdKind(m.idKind)) why = InvalidReason.BAD_ID;
      else if ((has & (1 << K_ERROR)) != 0 && m.errorKind != ValueKind.OBJECT) why = InvalidReason.BAD_ERROR;
    } else {
      why = InvalidReason.NO_METHOD_OR_RESULT;
    }
  }
  m.invalid = why;
  if (why != 0) m.reserved = MsgKind.INVALID;
  else if ((has & (1 << K_METHOD)) != 0) m.reserved = (has & (1 << K_ID)) != 0 ? MsgKind.REQUEST : MsgKind.NOTIFICATION;
  else m.reserved = (has & (1 << K_ERROR)) != 0 ? MsgKind.ERROR : MsgKind.RESPONSE;
}

// ── stage 2 ──────────────────────────────────────────────────────────────────────

// The walk's state and depth travel in one local of parse() (packed: depth << 4 | state),
// not in globals: V8 keeps wasm globals in memory, and a store-then-load per structural
// would sit on the loop's critical path.

// @ts-ignore: decorator
@inline function top(d: u32): u8 {
  return load<u8>(area + DEPTH_STACK_OFFSET + <usize>d);
}

/** A value begins at p, at depth d. */
// @ts-ignore: decorator
@inline function valueBegins(p: usize, d: u32): void {
  if (d == 1 && envDepth == 2) beginRecord(p); // a batch member
  else if (d == envDepth && top(d) == OBJ) valStart = p; // an envelope member's value
}

/** step()'s answer after fail(): the walk stops. */
const FAILED: u32 = 0xffffffff;

// @ts-ignore: decorator
@inline function failAt(status: u32, at: usize): u32 {
  fail(status, at);
  return FAILED;
}

// @ts-ignore: decorator
@inline function pack(d: u32, st: u32): u32 {
  return (d << 4) | st;
}

/** Handles one structural byte at p; returns the new packed depth/state. */
// @ts-ignore: decorator
@inline function step(p: usize, sd: u32): u32 {
  const c = <u32>load<u8>(p);
  const st = sd & 15;
  const d = sd >> 4;
  if (c == 0x22) { // opening quote
    if (st == S_KEY || st == S_KEY_OR_CLOSE) {
      keyStart = p;
      return pack(d, S_COLON);
    }
    if (st <= S_VALUE_OR_CLOSE) {
      if (d != 0) valueBegins(p, d);
      return pack(d, S_AFTER);
    }
    return failAt(JsonStatus.INVALID_JSON, p);
  }
  if (c == 0x3a) { // :
    if (st != S_COLON) {
      return failAt(JsonStatus.INVALID_JSON, p);
    }
    if (d == envDepth && rec != 0) {
      const close = trimBack(p) - 1; // the key's closing quote
      const a = keyStart + 1;
      if (hasBackslash(a, close)) {
        // "\u006dethod" is "method": compare what the name decodes to.
        changetype<JsonMessage>(rec).bits |= MessageBits.KEY_ESCAPED;
        const n = decodeSmall(a, close);
        curKey = n < 0 ? K_OTHER : keyId(SMALL, SMALL + <usize>n);
      } else {
        curKey = keyId(a, close);
      }
    }
    return pack(d, S_VALUE);
  }
  if (c == 0x2c) { // ,
    if (st != S_AFTER || d == 0) {
      return failAt(JsonStatus.INVALID_JSON, p);
    }
    const t = top(d);
    if (d == envDepth && t == OBJ) finishMember(trimBack(p));
    else if (d == 1 && envDepth == 2) endBatchMember(p);
    return pack(d, t == OBJ ? S_KEY : S_VALUE);
  }
  if (c == 0x7b || c == 0x5b) { // { [
    if (st > S_VALUE_OR_CLOSE) {
      return failAt(JsonStatus.INVALID_JSON, p);
    }
    if (d == 0) {
      envDepth = c == 0x7b ? 1 : 2;
      H.batch = c == 0x5b ? 1 : 0;
      if (c == 0x7b) beginRecord(p);
    } else {
      valueBegins(p, d);
    }
    if (d + 1 >= H.depthLimit) {
      return failAt(JsonStatus.TOO_DEEP, p);
    }
    store<u8>(area + DEPTH_STACK_OFFSET + <usize>(d + 1), c == 0x7b ? OBJ : ARR);
    return pack(d + 1, c == 0x7b ? S_KEY_OR_CLOSE : S_VALUE_OR_CLOSE);
  }
  if (c == 0x7d || c == 0x5d) { // } ]
    const want: u8 = c == 0x7d ? OBJ : ARR;
    const ok = d > 0 && top(d) == want
      && (st == S_AFTER || (want == OBJ ? st == S_KEY_OR_CLOSE : st == S_VALUE_OR_CLOSE));
    if (!ok) {
      return failAt(JsonStatus.INVALID_JSON, p);
    }
    if (want == OBJ && d == envDepth) {
      if (st == S_AFTER) finishMember(trimBack(p));
      if (rec != 0) classifyRecord(p + 1);
    }
    if (want == ARR && d == 1 && envDepth == 2) {
      if (st == S_AFTER) endBatchMember(p);
      else if (count == 0) emptyBatch = true;
    }
    return pack(d - 1, S_AFTER);
  }
  // a scalar
  if (st > S_VALUE_OR_CLOSE) {
    return failAt(JsonStatus.INVALID_JSON, p);
  }
  // (a scalar at the top is valid JSON but no JSON-RPC message: envDepth stays 0)
  if (d != 0) valueBegins(p, d);
  if (scalar(p) != 0) return pack(d, S_AFTER);
  return FAILED;
}

/**
 * Steps through the structural positions (bits of s) of the block at b. A function of
 * its own so that the engine compiles a small loop with its state in registers.
 */
function walk(b: usize, s: u64, sd: u32): u32 {
  while (s != 0) {
    sd = step(b + <usize>ctz(s), sd);
    if (sd == FAILED) return FAILED;
    s &= s - 1;
  }
  return sd;
}

/** A batch member (a value at depth 1 of the top array) ended just before p. */
function endBatchMember(p: usize): void {
  if (rec == 0) return;
  const m = changetype<JsonMessage>(rec);
  if (m.kind != ValueKind.OBJECT) {
    m.end = <u32>(trimBack(p) - base);
    m.invalid = InvalidReason.NOT_OBJECT;
    m.reserved = MsgKind.INVALID;
  }
  rec = 0;
}

/**
 * Validates input[0..n) as JSON and extracts the JSON-RPC envelope(s) into the JSON
 * scratch area. Returns the JsonStatus (0 = OK).
 */
export function parse(input: usize, n: u32, maxDepth: u32): u32 {
  base = input;
  len = <usize>n;
  envDepth = 0;
  rec = 0;
  count = 0;
  curKey = K_NONE;
  seenKeys = 0;
  failed = false;
  tooMany = false;
  emptyBatch = false;
  H.status = 0;
  H.errorOffset = 0;
  H.batch = 0;
  H.count = 0;
  H.depthLimit = maxDepth < MAX_DEPTH ? maxDepth : MAX_DEPTH;
  store<u8>(area + DEPTH_STACK_OFFSET, 0);
  resetStage1();

  const end = input + len;
  let inString: u64 = 0; // all ones when the previous block ended inside a string
  let prevScalar: u64 = 0; // 1 when the previous block ended inside a scalar run
  let utf8From: usize = input; // bytes before this are UTF-8-validated
  let sd: u32 = pack(0, S_VALUE); // depth and grammar state
  for (let b = input; b < end && !failed; b += 64) {
    if (inString != 0 && stage1.escapeCarry == 0) {
      // The body of a long string: skip the blocks with nothing to index.
      const next = skipStringBlocks(b, end);
      if (next != b) {
        const hf = stage1.skippedHighFrom;
        if (hf != 0) {
          const r = validateUtf8(utf8From > hf ? utf8From : hf, next, end);
          if (r == 0) { fail(JsonStatus.INVALID_UTF8, utf8ErrorAt); break; }
          utf8From = r;
        }
        b = next;
        if (b >= end) break;
      }
    }
    const left = end - b;
    const valid: u64 = left >= 64 ? <u64>-1 : (<u64>1 << <u64>left) - 1;
    classify(b, valid);
    const bs = stage1.mBackslash;
    const q = stage1.mQuote;
    // Fast path: a block wholly inside a string with no quote, backslash or control
    // character (long string values: the 64 KB argument) needs no further work.
    if (inString != 0 && (q | bs | stage1.mCtrl) == 0 && stage1.escapeCarry == 0) {
      if (stage1.mHigh) {
        const r = validateUtf8(utf8From > b ? utf8From : b, b + 64 < end ? b + 64 : end, end);
        if (r == 0) { fail(JsonStatus.INVALID_UTF8, utf8ErrorAt); break; }
        utf8From = r;
      }
      continue;
    }
    const escaped = bs != 0 || stage1.escapeCarry != 0 ? escapedMask(bs) : 0;
    const realQuote = q & ~escaped;
    if (inString != 0 && realQuote == 0) {
      // Wholly inside a string, escapes and all: check it, no structure to walk.
      if ((stage1.mCtrl & valid) != 0) { fail(JsonStatus.INVALID_JSON, b + <usize>ctz(stage1.mCtrl)); break; }
      if (escaped != 0) {
        const e = checkEscapes(b, escaped & valid);
        if (e != 0) { fail(JsonStatus.INVALID_JSON, e); break; }
      }
      if (stage1.mHigh) {
        const r = validateUtf8(utf8From > b ? utf8From : b, b + 64 < end ? b + 64 : end, end);
        if (r == 0) { fail(JsonStatus.INVALID_UTF8, utf8ErrorAt); break; }
        utf8From = r;
      }
      continue;
    }
    classifyOps(b, valid);
    const str = prefixXor(realQuote) ^ inString;
    inString = <u64>(<i64>str >> 63);
    // Inside strings: no raw control characters; escapes must be valid.
    const badCtrl = stage1.mCtrl & str;
    if (badCtrl != 0) { fail(JsonStatus.INVALID_JSON, b + <usize>ctz(badCtrl)); break; }
    if (escaped != 0) {
      const e = checkEscapes(b, escaped & str & valid);
      if (e != 0) { fail(JsonStatus.INVALID_JSON, e); break; }
    }
    if (stage1.mHigh) {
      const r = validateUtf8(utf8From > b ? utf8From : b, b + 64 < end ? b + 64 : end, end);
      if (r == 0) { fail(JsonStatus.INVALID_UTF8, utf8ErrorAt); break; }
      utf8From = r;
    }
    // Structurals: ops and opening quotes outside strings, and the first byte of each
    // run of scalar bytes.
    const op = stage1.mOp & ~str;
    const scalarBytes = ~(stage1.mOp | stage1.mWs | q) & ~str & valid;
    const scalarStarts = scalarBytes & ~((scalarBytes << 1) | prevScalar);
    prevScalar = scalarBytes >> 63;
    sd = walk(b, op | (realQuote & str) | scalarStarts, sd);
    if (sd == FAILED) break;
  }
  if (!failed) {
    if (inString != 0) fail(JsonStatus.INVALID_JSON, end);
    else if ((sd >> 4) != 0 || (sd & 15) != S_AFTER) fail(len == 0 || onlyWs(input, end) ? JsonStatus.EMPTY : JsonStatus.INVALID_JSON, end);
    else if (envDepth == 0) fail(JsonStatus.NOT_OBJECT_OR_ARRAY, input);
    else if (emptyBatch) fail(JsonStatus.EMPTY_BATCH, input);
    else if (tooMany) fail(JsonStatus.BATCH_TOO_LARGE, input);
  }
  H.count = count;
  return H.status;
}

function onlyWs(a: usize, b: usize): bool {
  for (let p = a; p < b; p++) if (!isWs(<u32>load<u8>(p))) return false;
  return true;
}

/** Checks the escaped bytes (bits of m in the block at b); returns the bad position or 0. */
function checkEscapes(b: usize, m: u64): usize {
  while (m != 0) {
    const p = b + <usize>ctz(m);
    m &= m - 1;
    const c = <u32>load<u8>(p);
    // " \ / b f n r t u
    if (c == 0x22 || c == 0x5c || c == 0x2f || c == 0x62 || c == 0x66 || c == 0x6e || c == 0x72 || c == 0x74) continue;
    if (c == 0x75) {
      for (let i: usize = 1; i <= 4; i++) {
        const h = <u32>load<u8>(p + i);
        const isHex = (h - 48 <= 9) || ((h | 0x20) - 97 <= 5);
        if (!isHex || p + i >= base + len) return p + i;
      }
      continue;
    }
    return p;
  }
  return 0;
}
