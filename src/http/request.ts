// What a handler reads: the Request (Req) over a parsed head and its body, buffered or
// streamed (BodyReader, with backpressure to the socket).

import { ConduitError, ErrorCodes, HttpError } from '../errors.js';
import type { Request } from './api.js';
import type { RequestHead } from './parser.js';
import type { RouteParams } from './router.js';
import type { Wire } from '../net/wire.js';

const utf8 = new TextDecoder();

/** A streamed request body: chunks as they arrive; input pauses while highWaterMark bytes wait. */
export class BodyReader implements AsyncIterable<Uint8Array> {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private ended = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;
  private paused = false;
  private taken = false;
  /** Nobody will read the rest: it is dropped as it arrives. */
  private discarding = false;
  /** all(): called on every chunk and at the end. */
  private onChunk: (() => void) | null = null;

  /**
   * `onFirstRead` runs when a consumer first asks for the body (the server sends
   * 100 Continue then, when the client asked for it).
   */
  constructor(private readonly wire: Pick<Wire, 'pauseInput' | 'resumeInput'>, private readonly onFirstRead: (() => void) | null = null,
    private highWaterMark = 64 * 1024) {}

  /** Whether a consumer is reading the chunks (began, and has not stopped). */
  get reading(): boolean {
    return this.taken && !this.discarding;
  }

  /**
   * Drops what waits and what is still to come, and reads on if input was paused: the
   * handler answered without reading the body, or stopped reading it. (The parser's
   * limits and requestTimeout still bound what is read.)
   */
  discard(): void {
    if (this.discarding) return;
    this.discarding = true;
    this.chunks = [];
    this.bytes = 0;
    this.unpause();
  }

  push(chunk: Uint8Array): void {
    if (this.discarding) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= this.highWaterMark && !this.paused) {
      this.paused = true;
      this.wire.pauseInput();
    }
    this.notify();
  }
  end(): void {
    this.ended = true;
    this.unpause();
    this.notify();
  }
  fail(e: Error): void {
    if (this.ended) return;
    this.error = e;
    this.ended = true;
    this.unpause();
    this.notify();
  }
  /** The body is complete (or failed): nothing is left to hold back, so input goes on. */
  private unpause(): void {
    if (!this.paused) return;
    this.paused = false;
    // (this runs inside the parser's callbacks: input resumes after them)
    queueMicrotask(() => this.wire.resumeInput());
  }
  private notify(): void {
    if (this.onChunk !== null) {
      this.onChunk();
      return;
    }
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** All of the body (req.bytes()): resolved once when it ended, rejected past `max` bytes. */
  all(max: number): Promise<Uint8Array> {
    if (this.taken) return Promise.reject(new ConduitError(ErrorCodes.BODY_READ_TWICE, 'the request body stream is read once'));
    this.taken = true;
    if (!this.ended) this.onFirstRead?.();
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.bytes > max) {
          this.discard();
          reject(tooLarge(max));
          return true;
        }
        if (this.error !== null) {
          reject(this.error);
          return true;
        }
        if (!this.ended) return false;
        const chunks = this.chunks;
        this.chunks = [];
        resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.bytes));
        return true;
      };
      if (check()) return;
      // Reading all of it: nothing to hold back for (max bounds what is kept).
      this.highWaterMark = Infinity;
      if (this.paused) this.unpause();
      this.onChunk = () => {
        if (check()) this.onChunk = null;
      };
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.taken) throw new ConduitError(ErrorCodes.BODY_READ_TWICE, 'the request body stream is read once');
    this.taken = true;
    if (!this.ended) this.onFirstRead?.();
    try {
      for (;;) {
        const c = this.chunks.shift();
        if (c !== undefined) {
          this.bytes -= c.length;
          if (this.paused && this.bytes < this.highWaterMark) {
            this.paused = false;
            this.wire.resumeInput();
          }
          yield c;
          continue;
        }
        if (this.error !== null) throw this.error;
        if (this.ended) return;
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      // The consumer stopped early (break, return, throw): the rest is not wanted.
      if (!this.ended) this.discard();
    }
  }
}

function tooLarge(max: number): HttpError {
  return new HttpError(413, `the request body is larger than ${max} bytes`, ErrorCodes.BODY_TOO_LARGE);
}

export class Req implements Request {
  private _query: URLSearchParams | undefined = undefined;

  constructor(readonly head: RequestHead, readonly path: string, readonly search: string,
    readonly params: RouteParams, readonly route: string | null, readonly body: Uint8Array,
    private readonly reader: BodyReader | null = null) {}

  bytes(max = Infinity): Promise<Uint8Array> {
    if (max !== Infinity && (!Number.isSafeInteger(max) || max < 0)) {
      return Promise.reject(new ConduitError(ErrorCodes.INVALID_OPTION, `req.bytes(max): max must be a non-negative integer, got ${max}`));
    }
    // Content-Length says too much: refused before any of the body is read.
    const cl = this.head.contentLength;
    if (cl >= 0 && cl > max) {
      this.reader?.discard();
      return Promise.reject(tooLarge(max));
    }
    if (this.reader !== null) return this.reader.all(max);
    return this.body.length > max ? Promise.reject(tooLarge(max)) : Promise.resolve(this.body);
  }

  stream(): AsyncIterable<Uint8Array> {
    if (this.reader !== null) return this.reader;
    const body = this.body;
    return (async function* () {
      if (body.length > 0) yield body;
    })();
  }
  get method(): string {
    return this.head.method;
  }
  header(name: string): string | undefined {
    return this.head.get(name);
  }
  text(): string {
    this.buffered();
    return utf8.decode(this.body);
  }
  json(): unknown {
    this.buffered();
    try {
      return JSON.parse(utf8.decode(this.body));
    } catch (e) {
      throw new HttpError(400, `the request body is not valid JSON (${(e as Error).message})`, ErrorCodes.INVALID_JSON_BODY);
    }
  }
  get query(): URLSearchParams {
    return (this._query ??= new URLSearchParams(this.search));
  }
  private buffered(): void {
    if (this.reader !== null) throw new ConduitError(ErrorCodes.BODY_STREAMED, 'this route streams its body: read it with req.stream()');
  }
}
