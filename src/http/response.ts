// What a handler answers with: the Response (Res) — status, headers checked as they are
// set, the body sent whole (send/json) or streamed (sse/stream, see streams.ts) — and
// how its head is built. The server owns the message framing: one Content-Length or
// chunked Transfer-Encoding per response, its own Connection header, never a handler's.

import { ConduitError, ErrorCodes } from '../errors.js';
import type { BodyStream, Response, SseStream } from './api.js';
import { ChunkedStream, HeldStream, SseStreamImpl, type StreamOwner } from './streams.js';
import { statusLine } from './status-codes.js';
import { fieldValueKind, isToken } from './tokens.js';

/** The connection a response belongs to. */
export interface ResponseOwner extends StreamOwner {
  /** The connection is shutting down (or failed): this answer closes it. */
  readonly done: boolean;
  /** A response became ready (or started streaming): write what is ready, in order. */
  flush(): void;
}

/**
 * Fields that frame the message or the connection (RFC 9112 §6, §9.6; RFC 9110 §7.6.1,
 * §7.8): set by the server only. (Content-Length is checked against the body instead.)
 */
const FRAMING = new Set(['transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'trailer', 'te', 'proxy-connection']);
const FRAMING_LENGTHS = new Set([...FRAMING, 'content-length'].map((n) => n.length));

const SSE_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n';

export class Res implements Response {
  code = 200;
  /** Headers set so far (none: null); dropped once the head is built. */
  headers: Array<[string, string]> | null = null;
  out: Buffer | null = null;
  /** Set when the response is streamed (SSE or chunked): it holds the connection until it ends. */
  held: HeldStream | null = null;
  /** onSend hooks (may replace the payload). */
  onSend: ((payload: string | Uint8Array) => string | Uint8Array) | null = null;
  /** How many headers hooks had set when the handler started (-1: not started). */
  handlerMark = -1;
  /** A header value has obs-text (0x80-0xFF): the head is encoded apart from a string body. */
  private latin1Head = false;
  /** A Content-Length was set (by a handler or hook): checked against the body at send(). */
  private contentLength: string | null = null;

  constructor(public keepAlive: boolean, private readonly isHead: boolean, private readonly owner: ResponseOwner,
    /** The client speaks HTTP/1.1: a streamed body can be chunked (else it ends with the connection). */
    private readonly canChunk = true) {}

  get sent(): boolean {
    return this.out !== null;
  }

  /** onAborted callbacks (none: null). */
  private abortCbs: Array<() => void> | null = null;

  onAborted(cb: () => void): void {
    (this.abortCbs ??= []).push(cb);
  }

  /** The connection closed with this response still queued (or streaming). */
  aborted(): void {
    const cbs = this.abortCbs;
    this.abortCbs = null;
    if (cbs === null) return;
    for (const cb of cbs) {
      try {
        cb();
      } catch (e) {
        this.owner.reportError(e);
      }
    }
  }

  status(code: number): this {
    if (!Number.isInteger(code) || code < 200 || code > 599) {
      throw new ConduitError(ErrorCodes.INVALID_STATUS, `status must be an integer in 200..599, got ${code}`);
    }
    this.code = code;
    return this;
  }

  header(name: string, value: string): this {
    if (typeof name !== 'string' || !isToken(name)) {
      throw new ConduitError(ErrorCodes.INVALID_HEADER, `header name ${JSON.stringify(name)} is not a token (RFC 9110 §5.1)`);
    }
    const kind = typeof value === 'string' ? fieldValueKind(value) : 'invalid';
    if (kind === 'invalid') {
      throw new ConduitError(ErrorCodes.INVALID_HEADER, `header ${JSON.stringify(name)}: the value ${JSON.stringify(value)} ` +
        'has a character a field value cannot hold (CR, LF, NUL, other controls, or above U+00FF)');
    }
    // (Only names as long as a framing field's are looked at: Content-Type and most others cost nothing.)
    const lower = FRAMING_LENGTHS.has(name.length) ? name.toLowerCase() : '';
    if (FRAMING.has(lower)) {
      throw new ConduitError(ErrorCodes.FRAMING_HEADER, `header ${JSON.stringify(name)} frames the message: the server sets it ` +
        '(one framing per response: Content-Length or chunked, and its own Connection header)');
    }
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) throw new ConduitError(ErrorCodes.FRAMING_HEADER, `Content-Length must be a decimal number, got ${JSON.stringify(value)}`);
      const n = String(Number(value));
      if (this.contentLength !== null && this.contentLength !== n) {
        throw new ConduitError(ErrorCodes.FRAMING_HEADER, `Content-Length set twice, to ${this.contentLength} and ${n}`);
      }
      this.contentLength = n;
      return this; // (not a header line: send() writes the one Content-Length)
    }
    if (kind === 'latin1') this.latin1Head = true;
    (this.headers ??= []).push([name, value]);
    return this;
  }

  /** Before an error answer: the handler's headers go, those hooks set (CORS...) stay. */
  dropHandlerHeaders(): void {
    this.contentLength = null;
    if (this.headers === null || this.handlerMark < 0) return;
    if (this.handlerMark === 0) this.headers = null;
    else this.headers.length = this.handlerMark;
  }

  /** Drops every header (the plain 500 when even the error answer failed). */
  clearHeaders(): void {
    this.headers = null;
    this.contentLength = null;
    this.latin1Head = false;
  }

  json(value: unknown): void {
    if (!this.headers?.some(([n]) => n.toLowerCase() === 'content-type')) this.header('Content-Type', 'application/json');
    this.send(JSON.stringify(value));
  }

  sse(options: { heartbeatMs?: number } = {}): SseStream {
    this.checkStreamable();
    const s = new SseStreamImpl(this.owner, options.heartbeatMs ?? 15_000, this.canChunk, this.isHead);
    this.startStream(s, SSE_HEAD);
    return s;
  }

  stream(options: { highWaterMark?: number } = {}): BodyStream {
    this.checkStreamable();
    if (this.code === 204 || this.code === 304) throw new ConduitError(ErrorCodes.NO_BODY_STATUS, `a ${this.code} response has no body to stream`);
    const s = new ChunkedStream(this.owner, options.highWaterMark ?? 64 * 1024, this.canChunk, this.isHead);
    this.startStream(s, statusLine(this.code));
    return s;
  }

  private checkStreamable(): void {
    if (this.out !== null) throw new ConduitError(ErrorCodes.RESPONSE_SENT, 'response already sent');
    if (this.contentLength !== null) {
      throw new ConduitError(ErrorCodes.FRAMING_HEADER, 'a streamed response is sent chunked (close-delimited to HTTP/1.0): it takes no Content-Length');
    }
  }

  private startStream(s: HeldStream, head: string): void {
    // (the hooks' headers are kept: an error answer may yet take this stream's place)
    head += this.headerLines(true);
    if (this.canChunk) head += 'Transfer-Encoding: chunked\r\n';
    else this.keepAlive = false; // HTTP/1.0: the body ends when the connection does
    if (this.owner.done) this.keepAlive = false;
    if (!this.keepAlive) head += 'Connection: close\r\n';
    this.held = s;
    this.out = Buffer.from(`${head}\r\n`, 'latin1');
    // HEAD: the head is the whole answer. The stream ends at once (onClose runs, writes are
    // dropped), so that it does not hold the connection.
    if (this.isHead) s.close();
    this.owner.flush();
  }

  /**
   * The header lines set so far. The list is dropped (the response is being sent), or
   * cut to the hooks' headers with `keepHookHeaders`.
   */
  private headerLines(keepHookHeaders = false): string {
    const hs = this.headers;
    if (hs === null) return '';
    this.headers = keepHookHeaders && this.handlerMark > 0 ? hs.slice(0, this.handlerMark) : null;
    let lines = '';
    for (let i = 0; i < hs.length; i++) lines += `${hs[i][0]}: ${hs[i][1]}\r\n`;
    return lines;
  }

  send(body: string | Uint8Array = ''): void {
    if (this.out !== null) throw new ConduitError(ErrorCodes.RESPONSE_SENT, 'response already sent');
    if (this.onSend !== null) {
      const hook = this.onSend;
      this.onSend = null; // (a hook that sends does not run the hooks again)
      body = hook(body);
      if (this.out !== null) return;
    }
    const noBody = this.code === 204 || this.code === 304;
    const given = this.contentLength;
    if (given !== null && this.code === 204) throw new ConduitError(ErrorCodes.FRAMING_HEADER, 'a 204 response has no Content-Length');
    const bytes = typeof body === 'string' && !this.latin1Head ? null : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const len = bytes === null ? Buffer.byteLength(body as string) : bytes.length;
    // A Content-Length the handler set: for HEAD and 304 the size a GET would have (sent as
    // given); otherwise it must be the body's.
    const described = this.isHead || this.code === 304;
    if (given !== null && !described && Number(given) !== len) {
      throw new ConduitError(ErrorCodes.FRAMING_HEADER, `Content-Length ${given} does not match the body (${len} bytes)`);
    }
    let head = statusLine(this.code) + this.headerLines();
    // (a connection shutting down since the request came closes after this answer)
    if (this.owner.done) this.keepAlive = false;
    if (!this.keepAlive) head += 'Connection: close\r\n';
    else if (!this.canChunk) head += 'Connection: keep-alive\r\n'; // (an HTTP/1.0 client that asked to keep it)
    if (given !== null && described) head += `Content-Length: ${given}\r\n`;
    else if (!noBody) head += `Content-Length: ${len}\r\n`;
    const withBody = !this.isHead && !noBody && len > 0;
    if (bytes === null) {
      // One allocation for head and body: the head is ASCII, the same in UTF-8.
      this.out = Buffer.from(withBody ? `${head}\r\n${body as string}` : `${head}\r\n`, 'utf8');
    } else {
      const h = Buffer.from(`${head}\r\n`, 'latin1');
      this.out = withBody ? Buffer.concat([h, bytes]) : h;
    }
    this.owner.flush();
  }
}
