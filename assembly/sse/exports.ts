// SSE kernel exports. Re-exported by assembly/index.ts.
//
// Every export writes into an output area [out, out + cap) of the one memory and
// returns the bytes written (>= 0) or a negated SseStatus (sse/status.ts). Lengths of
// id and event below 0 mean "absent" (an empty id is meaningful: it resets the
// client's last event ID). `retry` is used only when hasRetry != 0. Inputs need 16
// readable bytes after their end (a pool slot's padding gives 64).

import { SseStatus } from "./status";
import {
  FULL, OPEN_COMMENT, NL_COMMENT, NL_DATA, END_EVENT, checkFields, copyLines, openEvent, putWord,
} from "./framer";

export const SSE_ERR_OUTPUT_TOO_SMALL: i32 = SseStatus.OUTPUT_TOO_SMALL;
export const SSE_ERR_ID_LINE_BREAK: i32 = SseStatus.ID_LINE_BREAK;
export const SSE_ERR_ID_NUL: i32 = SseStatus.ID_NUL;
export const SSE_ERR_EVENT_LINE_BREAK: i32 = SseStatus.EVENT_LINE_BREAK;
export const SSE_ERR_RETRY_INVALID: i32 = SseStatus.RETRY_INVALID;

/** Flags of sse_lines. */
export const SSE_LINES_SKIP_LF: u32 = 1;
export const SSE_LINES_CLOSE: u32 = 2;
export const SSE_LINES_COMMENT: u32 = 4;

// @ts-ignore: decorator
@inline function result(o: usize, out: usize): i32 {
  return o == FULL ? -SseStatus.OUTPUT_TOO_SMALL : <i32>(o - out);
}

/** Frames one whole event: field lines, data lines, blank line. */
export function sse_frame(
  out: usize, cap: u32, data: usize, dataLen: u32,
  id: usize, idLen: i32, event: usize, eventLen: i32, retry: f64, hasRetry: i32,
): i32 {
  const s = checkFields(id, idLen, event, eventLen, retry, hasRetry != 0);
  if (s != 0) return -s;
  const oEnd = out + cap;
  let o = openEvent(out, oEnd, id, idLen, event, eventLen, retry, hasRetry != 0);
  if (o != FULL) o = copyLines(o, oEnd, data, data + dataLen, NL_DATA, 7, false);
  if (o != FULL) o = putWord(o, oEnd, END_EVENT, 2);
  return result(o, out);
}

/**
 * The start of an event framed in pieces (data too large for one call): field lines
 * and the `data: ` of the first data line. Continue with sse_lines.
 */
export function sse_open(
  out: usize, cap: u32, id: usize, idLen: i32, event: usize, eventLen: i32, retry: f64, hasRetry: i32,
): i32 {
  const s = checkFields(id, idLen, event, eventLen, retry, hasRetry != 0);
  if (s != 0) return -s;
  return result(openEvent(out, out + cap, id, idLen, event, eventLen, retry, hasRetry != 0), out);
}

/**
 * A piece of an event's data (or of a comment's text, with SSE_LINES_COMMENT): each
 * line break becomes `\ndata: ` (`\n: `). SSE_LINES_SKIP_LF: the previous piece ended
 * in CR, so a leading LF is the rest of that CRLF. SSE_LINES_CLOSE: the last piece; the
 * frame's closing `\n\n` follows.
 */
export function sse_lines(out: usize, cap: u32, text: usize, len: u32, flags: u32): i32 {
  const oEnd = out + cap;
  const comment = (flags & SSE_LINES_COMMENT) != 0;
  let o = copyLines(out, oEnd, text, text + len, comment ? NL_COMMENT : NL_DATA, comment ? 3 : 7,
    (flags & SSE_LINES_SKIP_LF) != 0);
  if (o != FULL && (flags & SSE_LINES_CLOSE) != 0) o = putWord(o, oEnd, END_EVENT, 2);
  return result(o, out);
}

/** A comment frame: `: <line>\n` per line of the text, then a blank line. */
export function sse_comment(out: usize, cap: u32, text: usize, len: u32): i32 {
  const oEnd = out + cap;
  let o = putWord(out, oEnd, OPEN_COMMENT, 2);
  if (o != FULL) o = copyLines(o, oEnd, text, text + len, NL_COMMENT, 3, false);
  if (o != FULL) o = putWord(o, oEnd, END_EVENT, 2);
  return result(o, out);
}
