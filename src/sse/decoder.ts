// Streaming Server-Sent Events decoder: WHATWG HTML §9.2.6 "Interpreting an event
// stream", for embedders that consume SSE (and for testing the framer).
//
// Bytes may be split anywhere: between CR and LF, inside a UTF-8 sequence, inside the
// leading BOM. Lines are cut at the byte level (CR and LF never occur inside a UTF-8
// sequence) and each value is decoded on its own; that gives the same text as decoding
// the whole stream first, because a line break always ends a pending UTF-8 sequence
// (with U+FFFD if it was incomplete). Data lines are kept as bytes and decoded once
// per event.
//
// What the spec asks, in the order of the algorithm:
//   - one UTF-8 BOM at the very start of the stream is dropped (elsewhere it is text);
//   - lines end at CR, LF or CRLF;
//   - an empty line dispatches; a line starting with ':' is a comment;
//   - "name:value" (one leading space of the value dropped), or a whole line without a
//     colon as a name with an empty value;
//   - event: sets the type; data: appends value + LF; id: sets the last event ID buffer
//     unless the value contains NUL; retry: sets the reconnection time if the value is
//     all ASCII digits; other names are ignored;
//   - dispatch: the last event ID is set (even when nothing is dispatched); an empty
//     data buffer dispatches nothing; otherwise the final LF is dropped and the event
//     goes out with type (default "message"), data and last event ID;
//   - at the end of the stream, an incomplete event is discarded.

/** A dispatched event (the fields of the MessageEvent a browser would fire). */
export interface SseMessage {
  /** The event type: the `event:` field, or "message". */
  type: string;
  data: string;
  /** The last event ID at dispatch (it carries over from earlier events). */
  lastEventId: string;
  /** The reconnection time in effect (the last valid `retry:`), or undefined. */
  retry: number | undefined;
}

export interface SseDecoderOptions {
  onEvent?: (event: SseMessage) => void;
  /** A valid `retry:` field was read (it takes effect at once, not at dispatch). */
  onRetry?: (ms: number) => void;
  /** A comment line, without the ':' and one leading space. */
  onComment?: (text: string) => void;
}

const LF = 10;
const CR = 13;
const COLON = 58;
const SP = 32;
const BOM = [0xef, 0xbb, 0xbf];

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const decode = (b: Uint8Array, start: number, end: number) => (start === end ? '' : utf8.decode(b.subarray(start, end)));

/** Whether b[start..end) is the ASCII name `name`. */
function isName(b: Uint8Array, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (b[start + i] !== name.charCodeAt(i)) return false;
  return true;
}

/** A byte buffer that grows by doubling. */
class Bytes {
  buf: Uint8Array;
  len: number;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.len = 0;
  }
  private room(n: number): void {
    if (this.buf.length - this.len < n) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
  }
  append(src: Uint8Array, start: number, end: number): void {
    this.room(end - start);
    this.buf.set(src.subarray(start, end), this.len);
    this.len += end - start;
  }
  push(byte: number): void {
    this.room(1);
    this.buf[this.len++] = byte;
  }
}

export class SseDecoder {
  onEvent: ((event: SseMessage) => void) | undefined;
  onRetry: ((ms: number) => void) | undefined;
  onComment: ((text: string) => void) | undefined;
  /** The part of a line received so far. */
  private readonly line: Bytes;
  /** The data buffer (values + LF), as bytes. */
  private readonly data: Bytes;
  private eventType: string;
  private idBuffer: string;
  private _lastEventId: string;
  private _retry: number | undefined;
  /** Bytes of the stream seen so far, while < 3 (the BOM check needs the first three). */
  private head: number;
  /** The last chunk ended in CR: a leading LF in the next one belongs to it. */
  private skipLF: boolean;

  constructor(options: SseDecoderOptions = {}) {
    this.onEvent = options.onEvent;
    this.onRetry = options.onRetry;
    this.onComment = options.onComment;
    this.line = new Bytes(256);
    this.data = new Bytes(256);
    this.eventType = '';
    this.idBuffer = '';
    this._lastEventId = '';
    this._retry = undefined;
    this.head = 0;
    this.skipLF = false;
  }

  /** The last event ID: send it as `Last-Event-ID` when reconnecting. */
  get lastEventId(): string {
    return this._lastEventId;
  }

  /** The reconnection time from the last valid `retry:` field, in ms, or undefined. */
  get retry(): number | undefined {
    return this._retry;
  }

  /** Feeds bytes of the stream. Callbacks run synchronously. */
  push(bytes: Uint8Array): void {
    let i = 0;
    const n = bytes.length;
    if (this.head < 3) {
      i = this.skipBom(bytes);
      if (this.head < 3) return;
    }
    if (this.skipLF && i < n) {
      if (bytes[i] === LF) i++;
      this.skipLF = false;
    }
    // Next CR and LF at or after i (-1: none left); each is searched for again only
    // once passed, so a stream without CRs costs one failed search per chunk.
    let nextLF = bytes.indexOf(LF, i);
    let nextCR = bytes.indexOf(CR, i);
    while (i < n) {
      if (nextLF !== -1 && nextLF < i) nextLF = bytes.indexOf(LF, i);
      if (nextCR !== -1 && nextCR < i) nextCR = bytes.indexOf(CR, i);
      const j = nextLF === -1 ? nextCR : nextCR === -1 ? nextLF : Math.min(nextLF, nextCR);
      if (j === -1) {
        this.line.append(bytes, i, n);
        return;
      }
      if (this.line.len === 0) {
        this.lineDone(bytes, i, j);
      } else {
        this.line.append(bytes, i, j);
        const len = this.line.len;
        this.line.len = 0;
        this.lineDone(this.line.buf, 0, len);
      }
      i = j + 1;
      if (bytes[j] === CR) {
        if (i === n) this.skipLF = true;
        else if (bytes[i] === LF) i++;
      }
    }
  }

  /**
   * Ends the stream: an incomplete event (or line) is discarded. The decoder is then
   * ready for the next stream of the same source (a reconnection): `lastEventId` and
   * `retry` carry over; the stream's buffers, the last event ID buffer included, start
   * empty, as the spec associates them with each stream.
   */
  end(): void {
    this.line.len = 0;
    this.data.len = 0;
    this.eventType = '';
    this.idBuffer = '';
    this.head = 0;
    this.skipLF = false;
  }

  /** Drops a BOM at the stream start; returns where the rest of `bytes` starts. */
  private skipBom(bytes: Uint8Array): number {
    let i = 0;
    while (this.head < 3 && i < bytes.length) {
      if (bytes[i] !== BOM[this.head]) {
        // Not a BOM: the bytes held back so far were text.
        const held = this.head;
        this.head = 3;
        if (held > 0) this.push(new Uint8Array(BOM.slice(0, held)));
        return i;
      }
      this.head++;
      i++;
    }
    return i;
  }

  private lineDone(b: Uint8Array, start: number, end: number): void {
    if (start === end) {
      this.dispatch();
      return;
    }
    if (b[start] === COLON) {
      if (this.onComment !== undefined) {
        const v = start + 1 < end && b[start + 1] === SP ? start + 2 : start + 1;
        this.onComment(decode(b, v, end));
      }
      return;
    }
    let colon = start;
    while (colon < end && b[colon] !== COLON) colon++;
    let v = colon < end ? colon + 1 : end;
    if (v < end && b[v] === SP) v++;
    if (isName(b, start, colon, 'data')) {
      this.data.append(b, v, end);
      this.data.push(LF);
    } else if (isName(b, start, colon, 'event')) {
      this.eventType = decode(b, v, end);
    } else if (isName(b, start, colon, 'id')) {
      if (b.subarray(v, end).indexOf(0) === -1) this.idBuffer = decode(b, v, end);
    } else if (isName(b, start, colon, 'retry')) {
      if (v === end) return;
      let ms = 0;
      for (let k = v; k < end; k++) {
        const d = b[k] - 48;
        if (d < 0 || d > 9) return;
        ms = ms * 10 + d;
      }
      this._retry = ms;
      this.onRetry?.(ms);
    }
  }

  private dispatch(): void {
    this._lastEventId = this.idBuffer;
    const data = this.data;
    if (data.len === 0) {
      this.eventType = '';
      return;
    }
    const event: SseMessage = {
      type: this.eventType === '' ? 'message' : this.eventType,
      data: decode(data.buf, 0, data.len - 1),
      lastEventId: this._lastEventId,
      retry: this._retry,
    };
    data.len = 0;
    this.eventType = '';
    this.onEvent?.(event);
  }
}
