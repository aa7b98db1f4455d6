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
  stack = p + DEPTH_STACK_OFFSET;
  initTables();
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
let depthLimit: u32 = 0;
let cacheNames: bool = false; // json_envelope: small ids as numbers, method names cached
let stack: usize = 0; // the depth stack: per open container, the state to resume after it
let sawBackslash: bool = false; // a backslash in any block indexed so far

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
// @ts-ignore: decorator
@inline function trimBack(p: usize): usize {
  // (Usually nothing to trim: compact JSON has a quote, a digit or a bracket there.)
  if (p > base && <u32>load<u8>(p - 1) > 0x20) return p;
  while (p > base && isWs(<u32>load<u8>(p - 1))) p--;
  return p;
}

// @ts-ignore: decorator
@inline function kindAt(p: usize): u32 {
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

/**
 * Validates the scalar at p; returns its end, or 0 (after fail()) when invalid. The
 * common case, an integer without sign, fraction or exponent ended by , } or ], is
 * taken inline; the rest is a call.
 */
// @ts-ignore: decorator
@inline function scalar(p: usize): usize {
  const end = base + len;
  const c = <u32>load<u8>(p);
  if (c - 0x31 <= 8) {
    let q = p + 1;
    while (q < end && <u32>load<u8>(q) - 48 <= 9) q++;
    if (q < end) {
      const d = <u32>load<u8>(q);
      if (d == 0x2c || d == 0x7d || d == 0x5d) return q;
    }
  }
  return scalarSlow(p);
}

function scalarSlow(p: usize): usize {
  const end = base + len;
  const c = <u32>load<u8>(p);
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
  if (ASC_FEATURE_SIMD) {
    v128.store(p, i64x2.splat(0));
  } else {
    store<u64>(p, 0);
    store<u64>(p, 0, 8);
  }
}

// @ts-ignore: decorator
@inline function beginRecord(p: usize): void {
  if (count >= MAX_MESSAGES) {
    // Keep validating; the batch is refused at the end (records stop here).
    tooMany = true;
    rec = 0;
    return;
  }
  rec = area + RECORDS_OFFSET + <usize>count * RECORD_SIZE;
  // Zero the record with plain stores (a bulk memory.fill is a runtime call in V8).
  for (let i: usize = 0; i < <usize>RECORD_SIZE; i += 16) v128Zero(rec + i);
  const m = changetype<JsonMessage>(rec);
  m.start = <u32>(p - base);
  m.kind = kindAt(p);
  count++;
  seenKeys = 0;
  curKey = K_NONE;
}

/** Compares the key [a, b) with the member names the envelope cares about. */
// @ts-ignore: decorator
@inline function keyId(a: usize, b: usize): u32 {
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
// @ts-ignore: decorator
@inline function finishMember(end: usize): void {
  const k = curKey;
  curKey = K_NONE;
  if (k != K_NONE && k != K_OTHER && rec != 0) recordMember(k, end);
}

function recordMember(k: u32, end: usize): void {
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
    if (kind == ValueKind.STRING && sawBackslash && hasBackslash(valStart, end)) m.bits |= MessageBits.ID_ESCAPED;
    else if (kind == ValueKind.NUMBER && cacheNames) smallInt(m, valStart, end);
  } else if (k == K_METHOD) {
    m.methodStart = s; m.methodEnd = e; m.methodKind = kind;
    if (kind == ValueKind.STRING) {
      if (sawBackslash && hasBackslash(valStart, end)) m.bits |= MessageBits.METHOD_ESCAPED;
      else if (cacheNames) cacheMethod(m, valStart + 1, end - 1);
    }
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

/** An id that is an integer of at most 9 digits (a valid JSON number at [a, b)): its value. */
function smallInt(m: JsonMessage, a: usize, b: usize): void {
  let p = a;
  const neg = load<u8>(p) == 0x2d;
  if (neg) p++;
  if (b - p > 9) return;
  let v: u32 = 0;
  while (p < b) {
    const d = <u32>load<u8>(p) - 48;
    if (d > 9) return; // a fraction or an exponent
    v = v * 10 + d;
    p++;
  }
  m.idValue = v;
  m.bits |= neg ? MessageBits.ID_INT | MessageBits.ID_NEG : MessageBits.ID_INT;
}

// The method-name cache (json_envelope): METHOD_CACHE_SLOTS entries of 64 bytes, direct
// mapped by a hash of the name: the name's bytes (at most 48), its length (u32), and the
// number of the fill that put it there (u32; fills are counted per core).
export const METHOD_CACHE_SLOTS: u32 = 64;
const METHOD_CACHE_MAX: usize = 48;
// @ts-ignore: decorator
@lazy const METHOD_CACHE = memory.data(<i32>METHOD_CACHE_SLOTS * 64, 16);

/** The method name [a, b) (no escapes): its cache slot, filled when it held another name. */
function cacheMethod(m: JsonMessage, a: usize, b: usize): void {
  const n = b - a;
  if (n == 0 || n > METHOD_CACHE_MAX) return;
  const h = ((<u32>n * 0x9e3779b1) ^ (<u32>load<u8>(a) << 8) ^ (<u32>load<u8>(b - 1) << 16) ^ (<u32>load<u8>(a + (n >> 1)) << 24)) * 0x85ebca6b;
  const slot = h >> 26;
  const entry = METHOD_CACHE + (<usize>slot << 6);
  m.methodSlot = slot;
  m.bits |= MessageBits.METHOD_CACHED;
  if (<usize>load<u32>(entry, 48) == n) {
    // Equal bytes? (Loads may pass b: the input has 64 readable bytes after it.)
    let diff: u64 = 0;
    let i: usize = 0;
    for (; i + 8 <= n; i += 8) diff |= load<u64>(a + i) ^ load<u64>(entry + i);
    if (i < n) diff |= (load<u64>(a + i) ^ load<u64>(entry + i)) & ((<u64>1 << (<u64>(n - i) << 3)) - 1);
    if (diff == 0) {
      m.methodFill = load<u32>(entry, 52);
      return;
    }
  }
  for (let i: usize = 0; i < n; i += 8) store<u64>(entry + i, load<u64>(a + i)); // (≤ 48 bytes)
  store<u32>(entry, <u32>n, 48);
  const fill = ++methodFills;
  store<u32>(entry, fill, 52);
  m.methodFill = fill;
}
let methodFills: u32 = 0;

/** Message kinds, in JsonMessage.reserved. */
export namespace MsgKind {
  export const REQUEST: u32 = 1;
  export const NOTIFICATION: u32 = 2;
  export const RESPONSE: u32 = 3;
  export const ERROR: u32 = 4;
  export const INVALID: u32 = 5;
}

/** Whether the string token [s, e) (quotes included) is "2.0", escapes decoded. */
// @ts-ignore: decorator
@inline function isVersion20(s: usize, e: usize): bool {
  if (e - s == 5) return load<u32>(s) == 0x302e3222 /* "2.0 */ && load<u8>(s + 4) == 0x22;
  return isEscapedVersion20(s, e);
}

function isEscapedVersion20(s: usize, e: usize): bool {
  if (!hasBackslash(s + 1, e - 1)) return false;
  return decodeSmall(s + 1, e - 1) == 3 && (load<u32>(SMALL) & 0xffffff) == 0x302e32;
}

// @ts-ignore: decorator
@inline function isIdKind(k: u32): bool {
  return k == ValueKind.STRING || k == ValueKind.NUMBER || k == ValueKind.NULL;
}

/** Decides what the message of the current record is (JSON-RPC 2.0 §4, §5). */
// @ts-ignore: decorator
@inline function classifyRecord(end: usize): void {
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
//
// Table-driven: each structural byte is one lookup in a small transition table, indexed
// by the grammar state and the byte's class. The state says where in the grammar the
// walk is AND in what kind of container (an object, an array, the message object whose
// members are the envelope, the batch array, the top level), so that a plain transition
// (a string, a ':' or a ',' inside params) needs no other work: no stack read, no depth
// compare. An entry is
//
//   bits 0-9 the next state × 32 (its row's offset in the table), bits 10-14 the state to
//   resume after a container opened here closes, bits 16-20 an action (X_*: push, pop, a
//   scalar to validate, envelope work). A plain transition is its row offset alone, so
//   the loop's critical path is one add and one load per structural.
//
// The depth stack holds, per open container, the state to resume after it closes. The
// walk's state and depth travel in one local (packed: depth << 5 | state), not in
// globals: V8 keeps wasm globals in memory, and a store-then-load per structural would
// sit on the loop's critical path.

// States.
const T_VAL: u32 = 0; // the top-level value is expected (the start)
const T_AFTER: u32 = 1; // after the top-level value: only the end may follow
const A_FIRST: u32 = 2; // after '[': a value or ']'
const A_VAL: u32 = 3; // after ',' in an array: a value
const A_AFTER: u32 = 4; // after a value in an array: ',' or ']'
const O_FIRST: u32 = 5; // after '{': a key or '}'
const O_KEY: u32 = 6; // after ',' in an object: a key
const O_COLON: u32 = 7; // after a key: ':'
const O_VAL: u32 = 8; // after ':': a value
const O_AFTER: u32 = 9; // after a value in an object: ',' or '}'
const E_FIRST: u32 = 10; // the same five in a message object (its members are the envelope)
const E_KEY: u32 = 11;
const E_COLON: u32 = 12;
const E_VAL: u32 = 13;
const E_AFTER: u32 = 14;
const B_FIRST: u32 = 15; // the same three in the batch array (its members are messages)
const B_VAL: u32 = 16;
const B_AFTER: u32 = 17;
const STATES: u32 = 18;

// Byte classes.
const C_QUOTE: u32 = 0;
const C_COLON: u32 = 1;
const C_COMMA: u32 = 2;
const C_OBJ: u32 = 3; // {
const C_ARR: u32 = 4; // [
const C_OBJ_END: u32 = 5; // }
const C_ARR_END: u32 = 6; // ]
const C_SCALAR: u32 = 7; // anything else that starts a run: a number, a literal, or garbage

// Actions.
const X_NONE: u32 = 0; // just the next state
const X_ERR: u32 = 1; // not valid here
const X_SCALAR: u32 = 2; // validate the scalar
const X_OPEN: u32 = 3; // push the resume state
const X_CLOSE: u32 = 4; // pop
const X_TOP_OBJ: u32 = 5; // '{' at the top: one message
const X_TOP_ARR: u32 = 6; // '[' at the top: a batch
const X_KEY: u32 = 7; // a member name of a message
const X_COLON: u32 = 8; // ... and its ':': which envelope member is it?
const X_VAL_STR: u32 = 9; // a message member's value: a string
const X_VAL_SCALAR: u32 = 10; // ... a scalar
const X_VAL_OPEN: u32 = 11; // ... an object or array
const X_COMMA: u32 = 12; // ',' after a message member's value
const X_CLOSE_MSG: u32 = 13; // '}' of a message
const X_CLOSE_MSG_EMPTY: u32 = 14; // '}' of an empty message object
const X_MEMBER_STR: u32 = 15; // a batch member: a string
const X_MEMBER_SCALAR: u32 = 16; // ... a scalar
const X_MEMBER_OPEN: u32 = 17; // ... an object (a message) or an array
const X_MEMBER_COMMA: u32 = 18; // ',' after a batch member
const X_CLOSE_BATCH: u32 = 19; // ']' of the batch
const X_CLOSE_BATCH_EMPTY: u32 = 20; // ']' of an empty batch
const X_MEMBERS: u32 = 21; // a member name in an object below the messages: its members in a row

// @ts-ignore: decorator
@lazy const BYTE_CLASS = memory.data(256);
// @ts-ignore: decorator
@lazy const TRANSITIONS = memory.data(<i32>STATES * 8 * 4, 64);

// @ts-ignore: decorator
@inline function entry(next: u32, resume: u32, action: u32): u32 {
  return (next << 5) | (resume << 10) | (action << 16);
}

function setEntry(state: u32, cls: u32, e: u32): void {
  store<u32>(TRANSITIONS + ((<usize>state << 5) | (<usize>cls << 2)), e);
}

/** A value may start in `state`: what each kind of value does there. */
function valueEntries(state: u32, after: u32, str: u32, scalar: u32, open: u32): void {
  setEntry(state, C_QUOTE, entry(after, 0, str));
  setEntry(state, C_SCALAR, entry(after, 0, scalar));
  setEntry(state, C_OBJ, entry(O_FIRST, after, open));
  setEntry(state, C_ARR, entry(A_FIRST, after, open));
}

function initTables(): void {
  for (let c: u32 = 0; c < 256; c++) {
    let k = C_SCALAR;
    if (c == 0x22) k = C_QUOTE;
    else if (c == 0x3a) k = C_COLON;
    else if (c == 0x2c) k = C_COMMA;
    else if (c == 0x7b) k = C_OBJ;
    else if (c == 0x5b) k = C_ARR;
    else if (c == 0x7d) k = C_OBJ_END;
    else if (c == 0x5d) k = C_ARR_END;
    store<u8>(BYTE_CLASS + <usize>c, <u8>(k << 2)); // (× 4: the entry's offset in a row)
  }
  for (let s: u32 = 0; s < STATES; s++) for (let c: u32 = 0; c < 8; c++) setEntry(s, c, entry(0, 0, X_ERR));
  // The top level.
  valueEntries(T_VAL, T_AFTER, X_NONE, X_SCALAR, X_OPEN);
  setEntry(T_VAL, C_OBJ, entry(E_FIRST, T_AFTER, X_TOP_OBJ));
  setEntry(T_VAL, C_ARR, entry(B_FIRST, T_AFTER, X_TOP_ARR));
  // Arrays.
  valueEntries(A_FIRST, A_AFTER, X_NONE, X_SCALAR, X_OPEN);
  valueEntries(A_VAL, A_AFTER, X_NONE, X_SCALAR, X_OPEN);
  setEntry(A_FIRST, C_ARR_END, entry(0, 0, X_CLOSE));
  setEntry(A_AFTER, C_COMMA, entry(A_VAL, 0, X_NONE));
  setEntry(A_AFTER, C_ARR_END, entry(0, 0, X_CLOSE));
  // Objects.
  setEntry(O_FIRST, C_QUOTE, entry(O_COLON, 0, X_MEMBERS));
  setEntry(O_FIRST, C_OBJ_END, entry(0, 0, X_CLOSE));
  setEntry(O_KEY, C_QUOTE, entry(O_COLON, 0, X_MEMBERS));
  setEntry(O_COLON, C_COLON, entry(O_VAL, 0, X_NONE));
  valueEntries(O_VAL, O_AFTER, X_NONE, X_SCALAR, X_OPEN);
  setEntry(O_AFTER, C_COMMA, entry(O_KEY, 0, X_NONE));
  setEntry(O_AFTER, C_OBJ_END, entry(0, 0, X_CLOSE));
  // A message object.
  setEntry(E_FIRST, C_QUOTE, entry(E_COLON, 0, X_KEY));
  setEntry(E_FIRST, C_OBJ_END, entry(0, 0, X_CLOSE_MSG_EMPTY));
  setEntry(E_KEY, C_QUOTE, entry(E_COLON, 0, X_KEY));
  setEntry(E_COLON, C_COLON, entry(E_VAL, 0, X_COLON));
  valueEntries(E_VAL, E_AFTER, X_VAL_STR, X_VAL_SCALAR, X_VAL_OPEN);
  setEntry(E_AFTER, C_COMMA, entry(E_KEY, 0, X_COMMA));
  setEntry(E_AFTER, C_OBJ_END, entry(0, 0, X_CLOSE_MSG));
  // The batch array.
  valueEntries(B_FIRST, B_AFTER, X_MEMBER_STR, X_MEMBER_SCALAR, X_MEMBER_OPEN);
  valueEntries(B_VAL, B_AFTER, X_MEMBER_STR, X_MEMBER_SCALAR, X_MEMBER_OPEN);
  setEntry(B_FIRST, C_OBJ, entry(E_FIRST, B_AFTER, X_MEMBER_OPEN));
  setEntry(B_VAL, C_OBJ, entry(E_FIRST, B_AFTER, X_MEMBER_OPEN));
  setEntry(B_FIRST, C_ARR_END, entry(0, 0, X_CLOSE_BATCH_EMPTY));
  setEntry(B_AFTER, C_COMMA, entry(B_VAL, 0, X_MEMBER_COMMA));
  setEntry(B_AFTER, C_ARR_END, entry(0, 0, X_CLOSE_BATCH));
}

/** walk()'s answer after fail(): the walk stops. */
const FAILED: u32 = 0xffffffff;

// @ts-ignore: decorator
@inline function pack(d: u32, st: u32): u32 {
  return (d << 5) | st;
}

/** The ':' after a message member's name (its opening quote at keyStart): which member? */
// @ts-ignore: decorator
@inline function memberName(p: usize): void {
  if (rec == 0) return;
  const close = trimBack(p) - 1; // the key's closing quote
  const a = keyStart + 1;
  if (sawBackslash && hasBackslash(a, close)) {
    // "\u006dethod" is "method": compare what the name decodes to.
    changetype<JsonMessage>(rec).bits |= MessageBits.KEY_ESCAPED;
    const n = decodeSmall(a, close);
    curKey = n < 0 ? K_OTHER : keyId(SMALL, SMALL + <usize>n);
  } else {
    curKey = keyId(a, close);
  }
}

/**
 * Steps through the structural positions (bits of s) of the block at b. A function of
 * its own so that the engine compiles a small loop with its state in registers.
 */
// @ts-ignore: decorator
@inline function walk(b: usize, s: u64, sd: u32): u32 {
  let si = (sd & 31) << 5; // the state's row offset
  let d = sd >> 5;
  let st: u32 = 0;
  while (s != 0) {
    const p = b + <usize>ctz(s);
    s &= s - 1;
    const e = load<u32>(TRANSITIONS + <usize>si + <usize>load<u8>(BYTE_CLASS + <usize>load<u8>(p)));
    if (e < 0x10000) {
      si = e;
      continue;
    }
    const x = e >> 16;
    st = (e >> 5) & 31; // the next state, for the actions below
    switch (x) {
      case X_ERR: {
        fail(JsonStatus.INVALID_JSON, p);
        return FAILED;
      }
      case X_SCALAR: {
        if (scalar(p) == 0) return FAILED;
        break;
      }
      case X_OPEN: {
        if (d + 1 >= depthLimit) { fail(JsonStatus.TOO_DEEP, p); return FAILED; }
        d++;
        store<u8>(stack + <usize>d, <u8>((e >> 10) & 31));
        break;
      }
      case X_CLOSE: {
        st = <u32>load<u8>(stack + <usize>d);
        d--;
        break;
      }
      case X_MEMBERS: {
        // Members of nested objects ("name":value, then ',' or '}'), taken while they are
        // what the grammar expects, as X_KEY does for a message's: the same steps as
        // their table entries (objects opened and closed included), with branches the CPU
        // predicts instead of a table load per structural on the loop's critical path.
        // Anything else (an array, a close into something that is not an object member),
        // or the end of the block, goes back to the table.
        let more = true;
        while (more) {
          more = false;
          st = O_COLON;
          if (s == 0) break;
          const q = b + <usize>ctz(s);
          if (load<u8>(q) != 0x3a) break;
          s &= s - 1;
          st = O_VAL;
          if (s == 0) break;
          const v = b + <usize>ctz(s);
          const c = <u32>load<u8>(v);
          if (c == 0x7b) { // {: open (resume O_AFTER), then a name or '}'
            if (d + 1 >= depthLimit) { fail(JsonStatus.TOO_DEEP, v); return FAILED; }
            d++;
            store<u8>(stack + <usize>d, <u8>O_AFTER);
            s &= s - 1;
            st = O_FIRST;
            if (s == 0) break;
            if (load<u8>(b + <usize>ctz(s)) != 0x22) break;
            s &= s - 1;
            more = true;
            continue;
          }
          if (c != 0x22) {
            if (load<u8>(BYTE_CLASS + <usize>c) != <u8>(C_SCALAR << 2)) break;
            if (scalar(v) == 0) return FAILED;
          }
          s &= s - 1;
          st = O_AFTER;
          // After a value: ',' and the next name, or '}' (pop) while that resumes an
          // object member too.
          while (s != 0) {
            const w = b + <usize>ctz(s);
            const cw = <u32>load<u8>(w);
            if (cw == 0x2c) {
              s &= s - 1;
              st = O_KEY;
              if (s != 0 && load<u8>(b + <usize>ctz(s)) == 0x22) {
                s &= s - 1;
                more = true;
              }
              break;
            }
            if (cw != 0x7d) break;
            s &= s - 1;
            st = <u32>load<u8>(stack + <usize>d);
            d--;
            if (st != O_AFTER) break;
          }
        }
        break;
      }
      case X_KEY: {
        // A message member, usually "name":value, then ',' or '}': the structurals after
        // the name are taken here while they are what the grammar expects (the same steps
        // as their table entries), one member after another; anything else, or the end of
        // the block, goes back to the table.
        let k = p;
        while (true) {
          keyStart = k;
          st = E_COLON;
          if (s == 0) break;
          const q = b + <usize>ctz(s);
          if (load<u8>(q) != 0x3a) break;
          s &= s - 1;
          memberName(q);
          st = E_VAL;
          if (s == 0) break;
          const v = b + <usize>ctz(s);
          const c = <u32>load<u8>(v);
          if (c == 0x22) {
            valStart = v;
          } else if (load<u8>(BYTE_CLASS + <usize>c) == <u8>(C_SCALAR << 2)) {
            valStart = v;
            if (scalar(v) == 0) return FAILED;
          } else break;
          s &= s - 1;
          st = E_AFTER;
          if (s == 0) break;
          const w = b + <usize>ctz(s);
          if (load<u8>(w) != 0x2c) break;
          s &= s - 1;
          finishMember(trimBack(w));
          st = E_KEY;
          if (s == 0) break;
          k = b + <usize>ctz(s);
          if (load<u8>(k) != 0x22) break;
          s &= s - 1;
        }
        break;
      }
      case X_COLON: {
        memberName(p);
        st = E_VAL;
        break;
      }
      case X_VAL_STR: {
        valStart = p;
        st = E_AFTER;
        break;
      }
      case X_VAL_SCALAR: {
        valStart = p;
        if (scalar(p) == 0) return FAILED;
        st = E_AFTER;
        break;
      }
      case X_VAL_OPEN: {
        valStart = p;
        if (d + 1 >= depthLimit) { fail(JsonStatus.TOO_DEEP, p); return FAILED; }
        d++;
        store<u8>(stack + <usize>d, <u8>E_AFTER);
        break;
      }
      case X_COMMA: {
        finishMember(trimBack(p));
        st = E_KEY;
        break;
      }
      case X_CLOSE_MSG: {
        finishMember(trimBack(p));
        classifyRecord(p + 1);
        st = <u32>load<u8>(stack + <usize>d);
        d--;
        break;
      }
      case X_CLOSE_MSG_EMPTY: {
        classifyRecord(p + 1);
        st = <u32>load<u8>(stack + <usize>d);
        d--;
        break;
      }
      case X_TOP_OBJ: {
        envDepth = 1;
        beginRecord(p);
        if (1 >= depthLimit) { fail(JsonStatus.TOO_DEEP, p); return FAILED; }
        d = 1;
        store<u8>(stack + 1, <u8>T_AFTER);
        st = E_FIRST;
        // The prefix every compact message starts with: {"jsonrpc":"2.0", at the start
        // of the input (so at the start of this block). Its next four structurals are
        // the name's quote (+1), ':' (+10), the value's quote (+11) and ',' (+16); their
        // steps are known (the member is "jsonrpc", its value the string "2.0").
        if (p == base && len >= 17 && load<u64>(p) == 0x70726e6f736a227b /* {"jsonrp */
          && load<u64>(p, 8) == 0x22302e32223a2263 /* c":"2.0" */ && load<u8>(p, 16) == 0x2c) {
          s &= ~(<u64>0x10c02); // bits 1, 10, 11, 16
          if (rec != 0) {
            const m = changetype<JsonMessage>(rec);
            m.jsonrpcStart = 11;
            m.jsonrpcEnd = 16;
            m.jsonrpcKind = ValueKind.STRING;
            seenKeys = 1 << K_JSONRPC;
          }
          keyStart = p + 1;
          valStart = p + 11;
          st = E_KEY;
        }
        break;
      }
      case X_TOP_ARR: {
        envDepth = 2;
        H.batch = 1;
        if (1 >= depthLimit) { fail(JsonStatus.TOO_DEEP, p); return FAILED; }
        d = 1;
        store<u8>(stack + 1, <u8>T_AFTER);
        st = B_FIRST;
        break;
      }
      case X_MEMBER_STR: {
        beginRecord(p);
        st = B_AFTER;
        break;
      }
      case X_MEMBER_SCALAR: {
        beginRecord(p);
        if (scalar(p) == 0) return FAILED;
        st = B_AFTER;
        break;
      }
      case X_MEMBER_OPEN: {
        beginRecord(p);
        if (d + 1 >= depthLimit) { fail(JsonStatus.TOO_DEEP, p); return FAILED; }
        d++;
        store<u8>(stack + <usize>d, <u8>B_AFTER);
        break;
      }
      case X_MEMBER_COMMA: {
        endBatchMember(p);
        st = B_VAL;
        break;
      }
      case X_CLOSE_BATCH: {
        endBatchMember(p);
        st = <u32>load<u8>(stack + <usize>d);
        d--;
        break;
      }
      case X_CLOSE_BATCH_EMPTY: {
        emptyBatch = true;
        st = <u32>load<u8>(stack + <usize>d);
        d--;
        break;
      }
      default: unreachable();
    }
    si = st << 5;
  }
  return pack(d, si >> 5);
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
export function parse(input: usize, n: u32, maxDepth: u32, envelope: bool): u32 {
  cacheNames = envelope;
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
  H.depthLimit = depthLimit = maxDepth < MAX_DEPTH ? maxDepth : MAX_DEPTH;
  sawBackslash = false;
  resetStage1();

  const end = input + len;
  let inString: u64 = 0; // all ones when the previous block ended inside a string
  let prevScalar: u64 = 0; // 1 when the previous block ended inside a scalar run
  let utf8From: usize = input; // bytes before this are UTF-8-validated
  let sd: u32 = pack(0, T_VAL); // depth and grammar state
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
    if (bs != 0) sawBackslash = true;
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
    else if (sd != pack(0, T_AFTER)) fail(len == 0 || onlyWs(input, end) ? JsonStatus.EMPTY : JsonStatus.INVALID_JSON, end);
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
