// Strict, streaming HTTP/1.1 request parser (RFC 9112), working in place over a slot.
//
// Calling convention (picohttpparser's, extended for bodies): the host passes the bytes
// it has not yet seen consumed, from the start of the unconsumed data. The parser
// returns
//   >= 0  bytes consumed; what they produced is in the HttpResult scratch (events,
//         head spans, body spans). The host keeps [consumed, len) and calls again with
//         those bytes first and any new bytes after them.
//   -1    nothing consumed and nothing produced: more input is needed.
//   < -1  a negated Status; HttpResult.errorOffset says where. The parser is then dead.
//
// A request head is parsed only when it is complete; an incomplete head is re-scanned
// from its first byte on the next call (as picohttpparser does), which keeps the
// per-connection state to 64 bytes and the head spans valid without copying. Errors
// are still found in incomplete input: every byte present is validated, so a bad byte
// is reported as soon as it arrives rather than when the head ends. Bodies stream: each
// call hands out body spans (de-chunked) for whatever body bytes are present.
//
// At most one message is handled per call, so pipelined requests take one call each.

import {
  ParserState, HttpResult, Events, MessageFlags,
  FIELDS_OFFSET, FIELD_SIZE, BODY_SPANS_OFFSET, BODY_SPAN_SIZE, MAX_BODY_SPANS, MAX_FIELDS,
} from "../abi";
import { Status } from "../status";
import { C, isClass, scanToken, scanValue, scanTarget, allClass, allHostChars, nonTokenMask } from "./chars";
import { Method, identifyMethod } from "./methods";

/** Where the next byte belongs. */
export namespace Phase {
  export const HEAD: u32 = 0;
  export const BODY_LENGTH: u32 = 1;
  export const CHUNK_SIZE: u32 = 2;
  export const CHUNK_DATA: u32 = 3;
  export const CHUNK_DATA_END: u32 = 4;
  export const TRAILERS: u32 = 5;
  /** The last message said `close` (or was HTTP/1.0 without keep-alive): no more requests. */
  export const CLOSED: u32 = 6;
  /** Upgrade/CONNECT: the bytes that follow belong to another protocol. */
  export const UPGRADED: u32 = 7;
  export const FAILED: u32 = 8;
}

const CR: u32 = 13;
const LF: u32 = 10;
const SP: u32 = 32;
const HT: u32 = 9;
const COLON: u32 = 58;
const SEMI: u32 = 59;
const EQUALS: u32 = 61;
const DQUOTE: u32 = 34;
const BACKSLASH: u32 = 92;
const COMMA: u32 = 44;

const NEED_MORE: i32 = -1;
/** 2^53 - 1: lengths must stay exact as JavaScript numbers. */
const MAX_SAFE: u64 = 0x1fffffffffffff;

// Little-endian words, lowercased, for recognising field names and tokens.
const W_HOST: u32 = 0x74736f68; // "host"
const W_EXPE: u32 = 0x65707865; // "expe"
const H_CT: u32 = 0x7463; // "ct"
const W_UPGR: u32 = 0x72677075; // "upgr"
const H_AD: u32 = 0x6461; // "ad"
const D_CONNECTI: u64 = 0x697463656e6e6f63; // "connecti"
const H_ON: u32 = 0x6e6f; // "on"
const D_CONTENT_: u64 = 0x2d746e65746e6f63; // "content-"
const W_TYPE: u32 = 0x65707974; // "type"
const W_LENG: u32 = 0x676e656c; // "leng"
const H_TH: u32 = 0x6874; // "th"
const D_TRANSFER: u64 = 0x726566736e617274; // "transfer"
const D_ENCODIN: u64 = 0x6e69646f636e652d; // "-encodin"
const D_HTTP11: u64 = 0x312e312f50545448; // "HTTP/1.1"
const D_HTTP10: u64 = 0x302e312f50545448; // "HTTP/1.0"
const W_CRLF: u32 = 0x0a0d;
const W_HTTP: u32 = 0x70747468; // "http"
const W_GET_SP: u32 = 0x20544547; // "GET "
const W_POST: u32 = 0x54534f50; // "POST"
const W_CLOS: u32 = 0x736f6c63; // "clos"
const D_KEEP_ALI: u64 = 0x696c612d7065656b; // "keep-ali"
const H_VE: u32 = 0x6576; // "ve"
const W_CHUN: u32 = 0x6e756863; // "chun"
const W_KED: u32 = 0x64656b; // "ked" (3 bytes, compared under a 24-bit mask)
const D_100_CONT: u64 = 0x746e6f632d303031; // "100-cont"
const W_INUE: u32 = 0x65756e69; // "inue"

const LOWER32: u32 = 0x20202020;
const WELL_KNOWN_LENGTHS: u32 = (1 << 4) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 12) | (1 << 14) | (1 << 17);
const LOWER64: u64 = 0x2020202020202020;

// ── per-call context (the module is single-threaded; these are reset every call) ──
let base: usize = 0; // start of the input of this call
let R: HttpResult = changetype<HttpResult>(0);
let S: ParserState = changetype<ParserState>(0);

// Head accumulators, reset at the start of every head parse.
// Facts gathered from the fields of the head being parsed, one bit each.
let seen: u32 = 0;
const TE_SEEN: u32 = 1;
const TE_CHUNKED: u32 = 2; // chunked appeared (a second one is an error)
const TE_LAST_CHUNKED: u32 = 4; // the last coding so far is chunked
const TE_OTHER: u32 = 8; // some coding other than chunked appeared
const CL_SEEN: u32 = 16;
const CONN_CLOSE: u32 = 32;
const CONN_KEEP_ALIVE: u32 = 64;
const CONN_UPGRADE: u32 = 128;
let teOffset: usize = 0;
let clValue: u64 = 0;

/** Lays out the result area; called by index.ts with the scratch address. */
export function setScratch(scratch: usize): void {
  R = changetype<HttpResult>(scratch);
}

function fail(status: Status, at: usize): i32 {
  R.status = <u32>status;
  R.errorOffset = <u32>(at - base);
  S.status = <u32>status;
  S.errorOffset = <u32>(at - base);
  S.phase = Phase.FAILED;
  return -(<i32>status);
}

// @ts-ignore: decorator
@inline function isOws(c: u32): bool {
  return c == SP || c == HT;
}

/** Initialises a parser state with its limits. */
export function init(
  state: usize, maxRequestLine: u32, maxHeaderBytes: u32, maxHeaders: u32,
  maxChunkExtensions: u32, maxBody: f64,
): void {
  const s = changetype<ParserState>(state);
  s.phase = Phase.HEAD;
  s.flags = 0;
  s.remaining = 0;
  s.bodyLen = 0;
  s.extBytes = 0;
  s.status = 0;
  s.maxRequestLine = maxRequestLine;
  s.maxHeaderBytes = maxHeaderBytes;
  s.maxHeaders = maxHeaders < MAX_FIELDS ? maxHeaders : MAX_FIELDS;
  s.maxChunkExtensions = maxChunkExtensions;
  s.maxBody = maxBody >= <f64>MAX_SAFE ? MAX_SAFE : <u64>maxBody;
  s.messages = 0;
  s.errorOffset = 0;
}

/** Parses from buf[0..len) for the parser whose state is at `state`. See the header. */
export function execute(state: usize, buf: usize, len: u32): i32 {
  S = changetype<ParserState>(state);
  base = buf;
  const r = R;
  r.events = 0;
  r.bodyCount = 0;
  r.fieldCount = 0;
  r.status = 0;
  r.errorOffset = 0;
  const end = buf + <usize>len;
  const phase = S.phase;
  if (phase == Phase.FAILED) {
    r.status = S.status;
    return -(<i32>S.status);
  }
  if (phase == Phase.HEAD) {
    if (len == 0) return NEED_MORE;
    const h = parseHead(buf, end);
    if (h < 0) return h;
    if (S.phase == Phase.HEAD || S.phase >= Phase.CLOSED) return h; // message had no body
    const b = parseBody(buf + <usize>h, end);
    return b < 0 ? b : h + b;
  }
  if (phase == Phase.CLOSED) {
    if (len == 0) return NEED_MORE;
    return fail(Status.DATA_AFTER_CLOSE, buf);
  }
  if (phase == Phase.UPGRADED) {
    if (len == 0) return NEED_MORE;
    return fail(Status.UPGRADED, buf);
  }
  if (phase > Phase.FAILED) return fail(Status.INVALID_STATE, buf);
  const b = parseBody(buf, end);
  if (b == 0 && r.events == 0) return NEED_MORE;
  return b;
}

// ── request head ─────────────────────────────────────────────────────────────────

/** Need-more inside the request line: enforce its limit on what is buffered so far. */
function needMoreLine(buf: usize, end: usize): i32 {
  if (end - buf > <usize>S.maxRequestLine) return fail(Status.REQUEST_LINE_TOO_LONG, buf + <usize>S.maxRequestLine);
  return NEED_MORE;
}

function parseHead(buf: usize, end: usize): i32 {
  const r = R;
  let p = buf;

  // RFC 9112 §2.2: ignore empty lines (CRLF only) before the request-line.
  while (true) {
    if (p >= end) return needMoreLine(buf, end);
    const c = <u32>load<u8>(p);
    if (c == CR) {
      if (p + 1 >= end) return needMoreLine(buf, end);
      if (<u32>load<u8>(p + 1) != LF) return fail(Status.BARE_CR, p);
      p += 2;
      continue;
    }
    if (c == LF) return fail(Status.BARE_LF, p);
    break;
  }

  // method SP — GET and POST by one load each, the rest by scanning
  const m = p;
  let mEnd: usize;
  let method: u32;
  const w0 = load<u32>(m);
  if (w0 == W_GET_SP && m + 3 < end) {
    mEnd = m + 3;
    method = Method.GET;
  } else if (w0 == W_POST && m + 4 < end && <u32>load<u8>(m + 4) == SP) {
    mEnd = m + 4;
    method = Method.POST;
  } else {
    mEnd = scanToken(m, end);
    if (mEnd >= end) return needMoreLine(buf, end);
    if (<u32>load<u8>(mEnd) != SP || mEnd == m) return fail(Status.INVALID_METHOD, mEnd);
    method = identifyMethod(m, mEnd - m);
    if (method == 0) return fail(Status.UNKNOWN_METHOD, m);
  }

  // request-target SP
  const t = mEnd + 1;
  const tEnd = scanTarget(t, end);
  if (tEnd >= end) return needMoreLine(buf, end);
  const tc = <u32>load<u8>(tEnd);
  if (tc != SP) {
    if (tc == CR || tc == LF) return fail(Status.INVALID_VERSION, tEnd); // no HTTP-version (HTTP/0.9)
    return fail(tEnd == t ? Status.EMPTY_TARGET : Status.INVALID_TARGET, tEnd);
  }
  if (tEnd == t) return fail(Status.EMPTY_TARGET, t);

  // HTTP-version CRLF
  const v = tEnd + 1;
  let minor: u32 = 1;
  if (v + 10 <= end && load<u64>(v) == D_HTTP11 && <u32>load<u16>(v + 8) == W_CRLF) {
    minor = 1;
  } else if (v + 10 <= end && load<u64>(v) == D_HTTP10 && <u32>load<u16>(v + 8) == W_CRLF) {
    minor = 0;
  } else {
    const res = parseVersionSlow(buf, v, end);
    if (res < 0) return res;
    minor = <u32>res;
  }
  p = v + 10;
  if (p - buf > <usize>S.maxRequestLine) return fail(Status.REQUEST_LINE_TOO_LONG, buf + <usize>S.maxRequestLine);

  // request-target form (RFC 9112 §3.2)
  let flags: u32 = 0;
  const tLen = tEnd - t;
  const t0 = <u32>load<u8>(t);
  if (method == Method.CONNECT) {
    if (!isAuthorityForm(t, tEnd)) return fail(Status.INVALID_TARGET_FORM, t);
    flags |= MessageFlags.TARGET_AUTHORITY;
  } else if (t0 == 47 /* / */) {
    // origin-form
  } else if (t0 == 42 /* * */ && tLen == 1) {
    if (method != Method.OPTIONS) return fail(Status.INVALID_TARGET_FORM, t);
    flags |= MessageFlags.TARGET_ASTERISK;
  } else {
    const st = checkAbsoluteForm(t, tEnd);
    if (st != 0) return st;
    flags |= MessageFlags.TARGET_ABSOLUTE;
  }

  // field lines
  seen = 0;
  clValue = 0;
  // hostIdx .. contentTypeIdx: seven i32 fields, all -1.
  const idx = changetype<usize>(r) + offsetof<HttpResult>("hostIdx");
  store<u64>(idx, <u64>-1, 0);
  store<u64>(idx, <u64>-1, 8);
  store<u64>(idx, <u64>-1, 16);
  store<u32>(idx, <u32>-1, 24);
  if (p < end && isOws(<u32>load<u8>(p))) return fail(Status.WHITESPACE_AFTER_START_LINE, p);
  const fe = parseFields(buf, p, end, false);
  if (fe < 0) return fe;
  const headEnd = buf + <usize>fe;

  // Semantics of the head (RFC 9112 §3.2, §6.1, §6.3, §9.3; RFC 9110 §7.6.1, §10.1.1).
  if (minor == 1 && r.hostIdx < 0) return fail(Status.MISSING_HOST, headEnd - 2);
  const sn = seen;
  if ((sn & TE_SEEN) != 0) {
    if (minor == 0) return fail(Status.TRANSFER_ENCODING_HTTP10, teOffset);
    if ((sn & CL_SEEN) != 0) return fail(Status.CONTENT_LENGTH_WITH_TE, teOffset);
    if ((sn & (TE_CHUNKED | TE_LAST_CHUNKED)) == TE_CHUNKED) return fail(Status.CHUNKED_NOT_FINAL, teOffset);
    // Conduit decodes no transfer coding but chunked (gzip, deflate, compress: 501).
    if ((sn & (TE_LAST_CHUNKED | TE_OTHER)) != TE_LAST_CHUNKED) return fail(Status.UNSUPPORTED_TRANSFER_ENCODING, teOffset);
    flags |= MessageFlags.CHUNKED | MessageFlags.HAS_BODY;
  } else if ((sn & CL_SEEN) != 0) {
    flags |= MessageFlags.CONTENT_LENGTH;
    if (clValue > 0) flags |= MessageFlags.HAS_BODY;
    if (clValue > S.maxBody) return fail(Status.BODY_TOO_LARGE, fieldValueAt(r.contentLengthIdx));
  }
  if (method == Method.CONNECT) {
    if ((flags & MessageFlags.HAS_BODY) != 0) return fail(Status.CONNECT_WITH_BODY, (sn & TE_SEEN) != 0 ? teOffset : fieldValueAt(r.contentLengthIdx));
    flags |= MessageFlags.CONNECT;
  }
  const close = (sn & CONN_CLOSE) != 0;
  const keepAlive = (sn & CONN_KEEP_ALIVE) != 0;
  if (close) flags |= MessageFlags.CONNECTION_CLOSE;
  if (keepAlive) flags |= MessageFlags.CONNECTION_KEEP_ALIVE;
  if ((sn & CONN_UPGRADE) != 0 && r.upgradeIdx >= 0) flags |= MessageFlags.UPGRADE;
  if (minor == 1 ? !close : (keepAlive && !close)) flags |= MessageFlags.KEEP_ALIVE;
  if (r.expectIdx >= 0 && minor == 1) {
    if (isExpectContinue(r.expectIdx)) flags |= MessageFlags.EXPECT_CONTINUE;
    else flags |= MessageFlags.EXPECT_OTHER;
  }

  r.events = Events.HEAD;
  r.flags = flags;
  r.method = method;
  r.versionMinor = minor;
  r.methodOff = <u32>(m - buf);
  r.methodLen = <u32>(mEnd - m);
  r.targetOff = <u32>(t - buf);
  r.targetLen = <u32>tLen;
  r.headLen = <u32>fe;
  r.contentLength = clValue;

  S.flags = flags;
  S.bodyLen = 0;
  S.extBytes = 0;
  if ((flags & MessageFlags.CHUNKED) != 0) {
    S.phase = Phase.CHUNK_SIZE;
  } else if (clValue > 0) {
    S.phase = Phase.BODY_LENGTH;
    S.remaining = clValue;
  } else {
    messageComplete();
  }
  return fe;
}

/** Slow path of the HTTP-version: validates what is present, byte by byte. */
function parseVersionSlow(buf: usize, v: usize, end: usize): i32 {
  // "HTTP/" DIGIT "." DIGIT CRLF
  const avail = end - v;
  for (let i: usize = 0; i < 5; i++) {
    if (i >= avail) return needMoreLine(buf, end);
    if (<u32>load<u8>(v + i) != <u32>load<u8>(changetype<usize>(HTTP_SLASH) + i)) return fail(Status.INVALID_VERSION, v + i);
  }
  if (avail < 6) return needMoreLine(buf, end);
  const major = <u32>load<u8>(v + 5) - 48;
  if (major > 9) return fail(Status.INVALID_VERSION, v + 5);
  if (avail < 7) return needMoreLine(buf, end);
  if (<u32>load<u8>(v + 6) != 46 /* . */) return fail(Status.INVALID_VERSION, v + 6);
  if (avail < 8) return needMoreLine(buf, end);
  const minor = <u32>load<u8>(v + 7) - 48;
  if (minor > 9) return fail(Status.INVALID_VERSION, v + 7);
  // A well-formed version we do not speak is final as soon as its digits are read,
  // whatever follows them (so the answer cannot depend on where the input was split).
  if (major != 1 || minor > 1) return fail(Status.UNSUPPORTED_VERSION, v);
  if (avail < 9) return needMoreLine(buf, end);
  const c = <u32>load<u8>(v + 8);
  if (c == LF) return fail(Status.BARE_LF, v + 8);
  if (c != CR) return fail(Status.INVALID_VERSION, v + 8);
  if (avail < 10) return needMoreLine(buf, end);
  if (<u32>load<u8>(v + 9) != LF) return fail(Status.BARE_CR, v + 8);
  return <i32>minor;
}

// HEX_VALUE[b]: the value of hex digit b, or 0xff (256 bytes).
// @ts-ignore: decorator
@lazy const HEX_VALUE = memory.data<u8>([
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 255, 255, 255, 255, 255,
  255, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
]);

// "HTTP/" (5 bytes)
// @ts-ignore: decorator
@lazy const HTTP_SLASH = memory.data<u8>([72, 84, 84, 80, 47]);

/** authority-form = uri-host ":" port (RFC 9112 §3.2.3), for CONNECT. */
function isAuthorityForm(t: usize, end: usize): bool {
  let colon: usize = 0;
  for (let p = t; p < end; p++) {
    const c = <u32>load<u8>(p);
    if (c == COLON) colon = p;
    else if (!isClass(p, C.HOST)) return false;
  }
  if (colon == 0 || colon == t || colon + 1 >= end) return false;
  for (let p = colon + 1; p < end; p++) if (!isClass(p, C.DIGIT)) return false;
  return true;
}

/**
 * absolute-form (RFC 9112 §3.2.2), for the only schemes an origin server serves:
 * "http://" or "https://" (case-insensitive) authority [ path-abempty [ "?" query ] ].
 * The authority must be host [":" port] in Host characters: not empty (RFC 9110
 * §4.2.1) and without userinfo (RFC 9110 §4.2.4: treat it as an error). The server uses
 * this authority instead of Host (RFC 9112 §3.2.2), so it is held to the same
 * characters as Host. Other schemes (urn:, ftp:, ...) are proxy business: 400.
 * Returns 0 or a negated Status.
 */
function checkAbsoluteForm(t: usize, end: usize): i32 {
  let p = t + 4;
  if (p >= end || (load<u32>(t) | LOWER32) != W_HTTP) return fail(Status.INVALID_TARGET_FORM, t);
  if ((<u32>load<u8>(p) | 0x20) == 115 /* s */) p++;
  // "://" — the three bytes after the scheme (the padding makes the load safe)
  if (p + 3 > end || (load<u32>(p) & 0xffffff) != 0x2f2f3a) return fail(Status.INVALID_TARGET_FORM, t);
  const a = p + 3;
  let q = a;
  while (q < end) {
    const c = <u32>load<u8>(q);
    if (c == 47 /* / */ || c == 63 /* ? */) break; // ('#' is no host character: refused)
    if (!isClass(q, C.HOST)) return fail(Status.INVALID_AUTHORITY, q);
    q++;
  }
  if (q == a) return fail(Status.INVALID_AUTHORITY, a);
  return 0;
}

// @ts-ignore: decorator
@inline function fieldPtr(i: i32): usize {
  return changetype<usize>(R) + FIELDS_OFFSET + <usize>i * FIELD_SIZE;
}

function fieldValueAt(i: i32): usize {
  return base + <usize>load<u32>(fieldPtr(i), 8);
}

function isExpectContinue(i: i32): bool {
  const f = fieldPtr(i);
  const vp = base + <usize>load<u32>(f, 8);
  const vl = load<u32>(f, 12);
  return vl == 12 && allClass(vp, vp + 12, C.TCHAR)
    && (load<u64>(vp) | LOWER64) == D_100_CONT && (load<u32>(vp + 8) | LOWER32) == W_INUE;
}

/** Need-more inside a field section: enforce the size limit on what is buffered. */
function needMoreFields(limitBase: usize, end: usize): i32 {
  if (end - limitBase > <usize>S.maxHeaderBytes) return fail(Status.HEADERS_TOO_LARGE, limitBase + <usize>S.maxHeaderBytes);
  return NEED_MORE;
}

/**
 * Parses field lines from p up to and including the blank line. Returns the offset
 * (from buf) just past the blank line, NEED_MORE, or a negated Status. The header
 * section is limited together with the request line (from buf); a trailer section is
 * limited on its own (from its first byte).
 */
function parseFields(buf: usize, p: usize, end: usize, trailers: bool): i32 {
  const limitBase = trailers ? p : buf;
  // An empty section (just the blank line) needs no index.
  if (ASC_FEATURE_SIMD && <u32>load<u16>(p) != W_CRLF) return parseFieldsIndexed(buf, p, end, trailers, limitBase);
  return parseFieldsFrom(buf, p, end, trailers, limitBase, 0);
}

// ── SIMD build: field lines from a structural index ──────────────────────────────
//
// Walking a line byte-class by byte-class makes every header wait for the scans of the
// one before it: the next line's start is known only after the name scan, the OWS skip
// and the value scan have each finished (a chain of loads, shuffles and bit scans,
// measured ~40 cycles a line). Instead, as simdjson does for JSON, a first stage marks
// the bytes that matter in 64-byte blocks — `stop` bytes (any control character other
// than HTAB, and DEL: in a valid line only its CR, and the LF after it) and colons — as
// bits of two u64 words. The second stage finds a line's colon and its CR with one
// shift and one count-trailing-zeros each, so the next line's start depends on little
// more than a bit scan; checking the name's characters, trimming OWS and recording the
// field happen off that critical path. Any line that is not a clean `name: value CRLF`
// (the blank line, an error, the end of the input) is handed to the line-by-line parser
// below, which decides exactly as it does in the scalar build.

let blkBase: usize = 0; // first byte of the current block
let blkStop: u64 = 0; // bit i: byte blkBase+i is a stop byte (or at/after end)

/**
 * Marks the stop bytes of the 64 bytes at b: controls (HTAB included: a line with a tab
 * takes the line-by-line path) and DEL; every position at or after end is a stop too.
 */
// @ts-ignore: decorator
@inline function indexBlock(b: usize, end: usize): void {
  blkBase = b;
  if (ASC_FEATURE_SIMD) {
    const sp = i8x16.splat(0x20);
    const del = i8x16.splat(0x7f);
    const v0 = v128.load(b);
    const v1 = v128.load(b, 16);
    const v2 = v128.load(b, 32);
    const v3 = v128.load(b, 48);
    const s0 = <u64>i8x16.bitmask(v128.or(i8x16.lt_u(v0, sp), i8x16.eq(v0, del)));
    const s1 = <u64>i8x16.bitmask(v128.or(i8x16.lt_u(v1, sp), i8x16.eq(v1, del)));
    const s2 = <u64>i8x16.bitmask(v128.or(i8x16.lt_u(v2, sp), i8x16.eq(v2, del)));
    const s3 = <u64>i8x16.bitmask(v128.or(i8x16.lt_u(v3, sp), i8x16.eq(v3, del)));
    let stop = s0 | (s1 << 16) | (s2 << 32) | (s3 << 48);
    if (b + 64 > end) stop |= end > b ? (<u64>-1 << <u64>(end - b)) : <u64>-1;
    blkStop = stop;
  }
}

/** First stop byte at or after `from` (at most `end`). */
// @ts-ignore: decorator
@inline function nextStop(from: usize, end: usize): usize {
  while (true) {
    const off = from - blkBase;
    if (off < 64) {
      const m = blkStop >> <u64>off;
      if (m != 0) return from + <usize>ctz(m);
      from = blkBase + 64;
    }
    indexBlock(from, end);
  }
}

function parseFieldsIndexed(buf: usize, p: usize, end: usize, trailers: bool, limitBase: usize): i32 {
  if (ASC_FEATURE_SIMD) {
    const r = R;
    const limitEnd = limitBase + <usize>S.maxHeaderBytes;
    const maxCount = S.maxHeaders;
    let count: u32 = 0;
    let entry = changetype<usize>(r) + FIELDS_OFFSET;
    indexBlock(p, end);
    while (true) {
      // the blank line that ends the section
      if (<u32>load<u16>(p) == W_CRLF && p + 1 < end) {
        r.fieldCount = count;
        if (p + 2 > limitEnd) return fail(Status.HEADERS_TOO_LARGE, limitEnd);
        return <i32>(p + 2 - buf);
      }
      // The line's first stop byte must be its CRLF. The next line's start depends on
      // this bit scan alone; the checks below only decide whether to leave the loop.
      const cr = nextStop(p, end);
      if (cr + 1 >= end || <u32>load<u16>(cr) != W_CRLF) break;
      // name ":" — a non-empty run of tchars ending in the colon
      let colon: usize;
      const m = nonTokenMask(v128.load(p));
      if (m != 0) colon = p + <usize>ctz(m);
      else colon = scanToken(p + 16, cr);
      if (colon == p || colon >= cr || <u32>load<u8>(colon) != COLON) break;
      const nLen = colon - p;
      // OWS value OWS (no HTAB can be here: it is a stop byte)
      let v = colon + 1;
      while (<u32>load<u8>(v) == SP) v++; // stops at the CR at the latest
      let vEnd = cr;
      while (vEnd > v && <u32>load<u8>(vEnd - 1) == SP) vEnd--;

      if (count >= maxCount) return fail(Status.TOO_MANY_HEADERS, p);
      const st = recordField(entry, p, nLen, v, vEnd, count, trailers);
      if (st != 0) return st;
      count++;
      entry += FIELD_SIZE;
      p = cr + 2;
      if (p > limitEnd) return fail(Status.HEADERS_TOO_LARGE, limitEnd);
    }
    return parseFieldsFrom(buf, p, end, trailers, limitBase, count);
  }
  return 0;
}

/**
 * Field lines, one at a time, from p (with `count` fields already recorded) up to and
 * including the blank line.
 */
function parseFieldsFrom(buf: usize, p: usize, end: usize, trailers: bool, limitBase: usize, count: u32): i32 {
  const r = R;
  const limitEnd = limitBase + <usize>S.maxHeaderBytes;
  const maxCount = S.maxHeaders;
  let entry = changetype<usize>(r) + FIELDS_OFFSET + <usize>count * FIELD_SIZE;
  // The slot padding makes the byte at `end` (and a few after it) readable, so the
  // common path loads first and checks `end` only on its rare branches.
  while (true) {
    const c = <u32>load<u8>(p);
    if (c <= SP || p >= end) {
      if (p >= end) return needMoreFields(limitBase, end);
      if (c == CR) {
        if (p + 1 >= end) return needMoreFields(limitBase, end);
        if (<u32>load<u8>(p + 1) != LF) return fail(Status.BARE_CR, p);
        r.fieldCount = count;
        if (p + 2 > limitEnd) return fail(Status.HEADERS_TOO_LARGE, limitEnd);
        return <i32>(p + 2 - buf);
      }
      if (c == LF) return fail(Status.BARE_LF, p);
      if (isOws(c)) return fail(Status.OBS_FOLD, p);
      // any other control character fails as an invalid name below
    }

    // field-name ":"
    const nEnd = scanToken(p, end);
    const d = <u32>load<u8>(nEnd);
    if (d != COLON || nEnd >= end) {
      if (nEnd >= end) return needMoreFields(limitBase, end);
      if (nEnd > p && isOws(d)) return fail(Status.WHITESPACE_BEFORE_COLON, nEnd);
      return fail(Status.INVALID_HEADER_NAME, nEnd);
    }
    if (nEnd == p) return fail(Status.EMPTY_HEADER_NAME, p);

    // OWS field-value OWS CRLF
    let v = nEnd + 1;
    while (v < end && isOws(<u32>load<u8>(v))) v++;
    const ve = scanValue(v, end);
    if (<u32>load<u16>(ve) != W_CRLF || ve + 1 >= end) {
      if (ve >= end) return needMoreFields(limitBase, end);
      const e = <u32>load<u8>(ve);
      if (e != CR) return fail(e == LF ? Status.BARE_LF : Status.INVALID_HEADER_VALUE, ve);
      if (ve + 1 >= end) return needMoreFields(limitBase, end);
      return fail(Status.BARE_CR, ve);
    }
    let vEnd = ve;
    while (vEnd > v && isOws(<u32>load<u8>(vEnd - 1))) vEnd--;

    if (count >= maxCount) return fail(Status.TOO_MANY_HEADERS, p);
    const st = recordField(entry, p, nEnd - p, v, vEnd, count, trailers);
    if (st != 0) return st;
    count++;
    entry += FIELD_SIZE;
    p = ve + 2;
    if (p > limitEnd) return fail(Status.HEADERS_TOO_LARGE, limitEnd);
  }
}

/** Writes field `count` into the table at `entry` and acts on it if it is one the parser knows. */
// @ts-ignore: decorator
@inline function recordField(entry: usize, p: usize, nLen: usize, v: usize, vEnd: usize, count: u32, trailers: bool): i32 {
  // { nameOff, nameLen } and { valueOff, valueLen } as two little-endian u64 stores.
  store<u64>(entry, <u64>(p - base) | (<u64>nLen << 32), 0);
  store<u64>(entry, <u64>(v - base) | (<u64>(vEnd - v) << 32), 8);
  // Only names of the lengths of host, expect, upgrade, connection, content-type,
  // content-length and transfer-encoding (4, 6, 7, 10, 12, 14, 17) can matter.
  if (!trailers && nLen < 32 && ((WELL_KNOWN_LENGTHS >> <u32>nLen) & 1) != 0) {
    return recognise(p, nLen, v, vEnd, <i32>count);
  }
  return 0;
}

/** Recognises the fields the parser acts on, by length first, then by 64/32-bit loads. */
function recognise(n: usize, nLen: usize, v: usize, vEnd: usize, idx: i32): i32 {
  const r = R;
  switch (<u32>nLen) {
    case 4: {
      if ((load<u32>(n) | LOWER32) == W_HOST) {
        if (r.hostIdx >= 0) return fail(Status.DUPLICATE_HOST, n);
        if (!allHostChars(v, vEnd)) return fail(Status.INVALID_HOST, v);
        r.hostIdx = idx;
      }
      break;
    }
    case 6: {
      if ((load<u32>(n) | LOWER32) == W_EXPE && (<u32>load<u16>(n + 4) | 0x2020) == H_CT) {
        if (r.expectIdx < 0) r.expectIdx = idx;
      }
      break;
    }
    case 7: {
      if ((load<u32>(n) | LOWER32) == W_UPGR && (<u32>load<u16>(n + 4) | 0x2020) == H_AD
        && (<u32>load<u8>(n + 6) | 0x20) == 101 /* e */) {
        if (r.upgradeIdx < 0) r.upgradeIdx = idx;
      }
      break;
    }
    case 10: {
      if ((load<u64>(n) | LOWER64) == D_CONNECTI && (<u32>load<u16>(n + 8) | 0x2020) == H_ON) {
        if (r.connectionIdx < 0) r.connectionIdx = idx;
        return parseConnection(v, vEnd);
      }
      break;
    }
    case 12: {
      if ((load<u64>(n) | LOWER64) == D_CONTENT_ && (load<u32>(n + 8) | LOWER32) == W_TYPE) {
        if (r.contentTypeIdx < 0) r.contentTypeIdx = idx;
      }
      break;
    }
    case 14: {
      if ((load<u64>(n) | LOWER64) == D_CONTENT_ && (load<u32>(n + 8) | LOWER32) == W_LENG
        && (<u32>load<u16>(n + 12) | 0x2020) == H_TH) {
        if ((seen & CL_SEEN) != 0) return fail(Status.DUPLICATE_CONTENT_LENGTH, n);
        seen |= CL_SEEN;
        r.contentLengthIdx = idx;
        return parseContentLength(v, vEnd);
      }
      break;
    }
    case 17: {
      if ((load<u64>(n) | LOWER64) == D_TRANSFER && (load<u64>(n + 8) | LOWER64) == D_ENCODIN
        && (<u32>load<u8>(n + 16) | 0x20) == 103 /* g */) {
        if ((seen & TE_SEEN) == 0) {
          seen |= TE_SEEN;
          teOffset = n;
          r.transferEncodingIdx = idx;
        }
        return parseTransferEncoding(v, vEnd);
      }
      break;
    }
    default:
      break;
  }
  return 0;
}

/** Content-Length = 1*DIGIT (RFC 9110 §8.6); one value only, exact below 2^53. */
function parseContentLength(v: usize, vEnd: usize): i32 {
  if (v == vEnd) return fail(Status.INVALID_CONTENT_LENGTH, v);
  let n: u64 = 0;
  for (let p = v; p < vEnd; p++) {
    const d = <u32>load<u8>(p) - 48;
    if (d > 9) {
      const c = <u32>load<u8>(p);
      if (c == COMMA) return fail(Status.DUPLICATE_CONTENT_LENGTH, p);
      return fail(Status.INVALID_CONTENT_LENGTH, p);
    }
    n = n * 10 + <u64>d;
    if (n > MAX_SAFE) return fail(Status.CONTENT_LENGTH_OVERFLOW, p);
  }
  clValue = n;
  return 0;
}

/**
 * Transfer-Encoding = #transfer-coding (RFC 9112 §6.1, §7). Empty list elements are
 * ignored (RFC 9110 §5.6.1). A coding with bytes outside visible ASCII is malformed
 * (400); any well-formed coding other than a bare `chunked` is one Conduit does not
 * implement (501 unless chunked is misplaced, which is 400).
 */
function parseTransferEncoding(v: usize, vEnd: usize): i32 {
  // The usual value, a bare `chunked`, in two loads. (OR 0x20 maps only 'A'-'Z' onto
  // 'a'-'z', so a match means the bytes are letters.)
  if (vEnd - v == 7 && (load<u32>(v) | LOWER32) == W_CHUN && ((load<u32>(v + 3) | LOWER32) >> 8) == W_KED) {
    if ((seen & TE_CHUNKED) != 0) return fail(Status.CHUNKED_TWICE, v);
    seen |= TE_CHUNKED | TE_LAST_CHUNKED;
    return 0;
  }
  let p = v;
  while (true) {
    // one element: up to the next comma
    let e = p;
    while (e < vEnd && <u32>load<u8>(e) != COMMA) e++;
    let a = p;
    let b = e;
    while (a < b && isOws(<u32>load<u8>(a))) a++;
    while (b > a && isOws(<u32>load<u8>(b - 1))) b--;
    // RFC 9110 §5.6.1.2 lets a recipient ignore empty list elements, but parsers
    // disagree here (llhttp refuses `chunked,`, accepts an empty line before
    // `chunked`), and on the field that decides framing any disagreement is a
    // smuggling risk. Refusing is always safe: an empty element (or an empty value) is
    // a 400.
    if (a == b) return fail(Status.INVALID_TRANSFER_ENCODING, a);
    for (let q = a; q < b; q++) {
      const c = <u32>load<u8>(q);
      if (c < 0x20 || c >= 0x7f) return fail(Status.INVALID_TRANSFER_ENCODING, q);
    }
    if (b - a == 7 && (load<u32>(a) | LOWER32) == W_CHUN && ((load<u32>(a + 3) | LOWER32) >> 8) == W_KED) {
      if ((seen & TE_CHUNKED) != 0) return fail(Status.CHUNKED_TWICE, a);
      seen |= TE_CHUNKED | TE_LAST_CHUNKED;
    } else {
      seen = (seen & ~TE_LAST_CHUNKED) | TE_OTHER;
    }
    if (e >= vEnd) return 0;
    p = e + 1;
  }
}

/** Connection = #connection-option (RFC 9110 §7.6.1): close, keep-alive, upgrade matter. */
function parseConnection(v: usize, vEnd: usize): i32 {
  let p = v;
  while (p < vEnd) {
    let e = p;
    while (e < vEnd && <u32>load<u8>(e) != COMMA) e++;
    let a = p;
    let b = e;
    while (a < b && isOws(<u32>load<u8>(a))) a++;
    while (b > a && isOws(<u32>load<u8>(b - 1))) b--;
    if (a < b) {
      if (!allClass(a, b, C.TCHAR)) return fail(Status.INVALID_CONNECTION, a);
      const len = b - a;
      if (len == 5 && (load<u32>(a) | LOWER32) == W_CLOS && (<u32>load<u8>(a + 4) | 0x20) == 101 /* e */) {
        seen |= CONN_CLOSE;
      } else if (len == 10 && (load<u64>(a) | LOWER64) == D_KEEP_ALI && (<u32>load<u16>(a + 8) | 0x2020) == H_VE) {
        seen |= CONN_KEEP_ALIVE;
      } else if (len == 7 && (load<u32>(a) | LOWER32) == W_UPGR && (<u32>load<u16>(a + 4) | 0x2020) == H_AD
        && (<u32>load<u8>(a + 6) | 0x20) == 101) {
        seen |= CONN_UPGRADE;
      }
    }
    p = e + 1;
  }
  return 0;
}

// ── body ─────────────────────────────────────────────────────────────────────────

function messageComplete(): void {
  R.events |= Events.MESSAGE_COMPLETE;
  S.messages++;
  S.remaining = 0;
  S.bodyLen = 0;
  S.extBytes = 0;
  const f = S.flags;
  if ((f & (MessageFlags.UPGRADE | MessageFlags.CONNECT)) != 0) S.phase = Phase.UPGRADED;
  else if ((f & MessageFlags.KEEP_ALIVE) == 0) S.phase = Phase.CLOSED;
  else S.phase = Phase.HEAD;
}

/** Appends a body span; false when the span table is full. */
// @ts-ignore: decorator
@inline function addSpan(p: usize, n: usize): bool {
  const r = R;
  const i = r.bodyCount;
  if (i >= MAX_BODY_SPANS) return false;
  const e = changetype<usize>(r) + BODY_SPANS_OFFSET + <usize>i * BODY_SPAN_SIZE;
  store<u32>(e, <u32>(p - base), 0);
  store<u32>(e, <u32>n, 4);
  r.bodyCount = i + 1;
  r.events |= Events.BODY;
  return true;
}

/**
 * Parses body bytes from `start`; returns bytes consumed from there, or a negated Status.
 *
 * An error is only returned by a call that produced nothing before it. When a call has
 * already produced something (a head, body spans) and then meets a bad element, it
 * returns what it produced and leaves the state at the start of that element, so the
 * next call fails on it. That way the events a host sees do not depend on how the
 * bytes were split between calls.
 */
function parseBody(start: usize, end: usize): i32 {
  const ret = parseBodyElements(start, end);
  if (ret >= 0 || (elementStart == start && R.events == 0)) return ret;
  S.phase = elementPhase;
  S.status = 0;
  S.errorOffset = 0;
  R.status = 0;
  R.errorOffset = 0;
  return <i32>(elementStart - start);
}

// Phase before the element parseBodyElements failed on (for the roll-back above).
let elementPhase: u32 = 0;
// Bytes consumed before that element.
let elementStart: usize = 0;

function parseBodyElements(start: usize, end: usize): i32 {
  const s = S;
  let p = start;
  while (true) {
    const phase = s.phase;
    elementPhase = phase;
    elementStart = p;
    if (phase == Phase.BODY_LENGTH || phase == Phase.CHUNK_DATA) {
      const avail = <u64>(end - p);
      if (avail == 0) break;
      if (R.bodyCount >= MAX_BODY_SPANS) break;
      const n = avail < s.remaining ? avail : s.remaining;
      addSpan(p, <usize>n);
      p += <usize>n;
      s.remaining -= n;
      if (s.remaining == 0) {
        if (phase == Phase.BODY_LENGTH) {
          messageComplete();
          break;
        }
        s.phase = Phase.CHUNK_DATA_END;
      }
      continue;
    }
    if (phase == Phase.CHUNK_SIZE) {
      const q = parseChunkSize(p, end);
      if (q < 0) {
        if (q == NEED_MORE) break;
        return q;
      }
      p += <usize>q;
      // The whole chunk and its CRLF present (the usual case): hand the data out and
      // step over the CRLF here, without a trip through the two phases in between.
      if (s.phase == Phase.CHUNK_DATA) {
        const size = s.remaining;
        if (<u64>(end - p) >= size + 2 && R.bodyCount < MAX_BODY_SPANS
          && <u32>load<u16>(p + <usize>size) == W_CRLF) {
          addSpan(p, <usize>size);
          p += <usize>size + 2;
          s.remaining = 0;
          s.phase = Phase.CHUNK_SIZE;
        }
      }
      continue;
    }
    if (phase == Phase.CHUNK_DATA_END) {
      if (p >= end) break;
      if (<u32>load<u8>(p) != CR) return fail(Status.INVALID_CHUNK_DATA_END, p);
      if (p + 1 >= end) break;
      if (<u32>load<u8>(p + 1) != LF) return fail(Status.INVALID_CHUNK_DATA_END, p + 1);
      p += 2;
      s.phase = Phase.CHUNK_SIZE;
      continue;
    }
    if (phase == Phase.TRAILERS) {
      // A trailer section is handled whole, like a head: nothing is consumed until its
      // blank line has arrived. Trailers share the field table with the head, so when
      // this call produced a head, trailer fields wait for the next call (an empty
      // trailer section, the usual case, writes no field and completes now).
      if ((R.events & Events.HEAD) != 0) {
        if (p + 1 < end && <u32>load<u16>(p) == W_CRLF) {
          p += 2;
          messageComplete();
        }
        break;
      }
      const te = parseFields(p, p, end, true);
      if (te < 0) {
        if (te == NEED_MORE) break;
        return te;
      }
      if (R.fieldCount > 0) R.events |= Events.TRAILERS;
      p += <usize>te;
      messageComplete();
      break;
    }
    break;
  }
  return <i32>(p - start);
}

/**
 * chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1). Strict: 1*HEXDIG with no whitespace
 * anywhere in the line (llhttp's strict mode; BWS here has been a smuggling vector).
 * chunk-ext = *( ";" token [ "=" ( token / quoted-string ) ] ). Returns the length of
 * the line, NEED_MORE, or a negated Status.
 */
function parseChunkSize(p: usize, end: usize): i32 {
  const s = S;
  let q = p;
  let size: u64 = 0;
  while (q < end) {
    const d = <u32>load<u8>(HEX_VALUE + <usize>load<u8>(q));
    if (d > 15) break;
    size = (size << 4) | <u64>d;
    if (size > MAX_SAFE) return fail(Status.CHUNK_SIZE_OVERFLOW, q);
    q++;
  }
  if (q >= end) return NEED_MORE;
  if (q == p) return fail(Status.INVALID_CHUNK_SIZE, q);
  // No extensions (the usual case): the line is HEX CRLF.
  if (<u32>load<u16>(q) == W_CRLF && q + 1 < end) return chunkLineDone(p, q, size, 0);
  const extStart = q;
  const extBudget = <usize>(s.maxChunkExtensions - (s.extBytes < s.maxChunkExtensions ? s.extBytes : s.maxChunkExtensions));
  while (true) {
    if (q >= end) {
      if (q - extStart > extBudget) return fail(Status.CHUNK_EXTENSIONS_TOO_LARGE, extStart + extBudget);
      return NEED_MORE;
    }
    const c = <u32>load<u8>(q);
    if (c == CR) break;
    if (c == LF) return fail(Status.BARE_LF, q);
    if (c != SEMI) return fail(q == extStart ? Status.INVALID_CHUNK_SIZE : Status.INVALID_CHUNK_EXTENSION, q);
    q++;
    const nEnd = scanToken(q, end);
    if (nEnd >= end) {
      q = end; // the loop head checks the budget, then asks for more
      continue;
    }
    if (nEnd == q) return fail(Status.INVALID_CHUNK_EXTENSION, q);
    q = nEnd;
    if (<u32>load<u8>(q) != EQUALS) continue;
    q++;
    if (q >= end) continue;
    if (<u32>load<u8>(q) == DQUOTE) {
      q++;
      while (true) {
        if (q >= end) break;
        const d = <u32>load<u8>(q);
        if (d == DQUOTE) {
          q++;
          break;
        }
        if (d == BACKSLASH) {
          if (q + 1 >= end) {
            q = end;
            break;
          }
          const e = <u32>load<u8>(q + 1);
          if ((e < 0x20 && e != HT) || e == 0x7f) return fail(Status.INVALID_CHUNK_EXTENSION, q + 1);
          q += 2;
          continue;
        }
        if (!isClass(q, C.QDTEXT)) return fail(Status.INVALID_CHUNK_EXTENSION, q);
        q++;
      }
    } else {
      const vEnd = scanToken(q, end);
      if (vEnd >= end) {
        q = end;
        continue;
      }
      if (vEnd == q) return fail(Status.INVALID_CHUNK_EXTENSION, q);
      q = vEnd;
    }
  }
  // q at CR
  const extLen = q - extStart;
  if (extLen > extBudget) return fail(Status.CHUNK_EXTENSIONS_TOO_LARGE, extStart + extBudget);
  if (q + 1 >= end) return NEED_MORE;
  if (<u32>load<u8>(q + 1) != LF) return fail(Status.BARE_CR, q);
  return chunkLineDone(p, q, size, extLen);
}

/** A valid chunk-size line [p, q + 2) announced `size` bytes: account for them and move on. */
// @ts-ignore: decorator
@inline function chunkLineDone(p: usize, q: usize, size: u64, extLen: usize): i32 {
  const s = S;
  if (s.bodyLen + size > s.maxBody) return fail(Status.BODY_TOO_LARGE, p);
  s.extBytes += <u32>extLen;
  s.bodyLen += size;
  if (size == 0) {
    s.phase = Phase.TRAILERS;
  } else {
    s.remaining = size;
    s.phase = Phase.CHUNK_DATA;
  }
  return <i32>(q + 2 - p);
}
