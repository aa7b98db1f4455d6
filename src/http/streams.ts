// Streamed response bodies held by their connection: SSE streams (SseStreamImpl) and
// chunked bodies (ChunkedStream). A stream's bytes wait until the connection reaches its
// response (answers go in request order), then are written as they come: chunked for
// HTTP/1.1 clients, raw for HTTP/1.0 (the connection closes at its end), nothing for HEAD.
// What waits is bounded per connection (StreamOwner.buffered), and waiting for room is
// event-driven: a writer queued behind another stream wakes when its turn comes.

import { SseFramer, type SseEvent } from '../sse/framer.js';
import { ConduitError, ErrorCodes } from '../errors.js';
import type { BodyStream, SseStream } from './api.js';
import type { Wire } from '../net/wire.js';

/** The connection a stream belongs to. */
export interface StreamOwner {
  /** The stream at the head of the queue ended: the connection moves on. */
  streamEnded(stream: HeldStream): void;
  /**
   * A stream's output grew: `delta` more bytes held by a stream still waiting its turn
   * (negative: released), or 0 after a write to the wire. The owner checks what waits for
   * the client against the connection's budget, and drops the connection past it (the
   * streams end).
   */
  buffered(delta: number): void;
  /** An error from application code the stream called (an onClose callback). */
  reportError(e: unknown): void;
}

let sharedFramer: SseFramer | null = null;
const framer = () => (sharedFramer ??= new SseFramer());

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

export abstract class HeldStream {
  closed = false;
  protected wire: Wire | null = null;
  /** Bytes waiting for the connection to reach this response (none: null). */
  private held: Buffer[] | null = null;
  protected heldBytes = 0;
  private closers: Array<() => void> | null = null;

  constructor(protected readonly owner: StreamOwner, private readonly chunked: boolean,
    protected readonly bodyless: boolean) {}

  /** The connection got to this response: write what is held. */
  attach(wire: Wire): void {
    this.wire = wire;
    const held = this.held;
    const bytes = this.heldBytes;
    this.held = null;
    this.heldBytes = 0;
    if (bytes > 0) this.owner.buffered(-bytes);
    if (held !== null) for (const b of held) wire.write(b);
    if (this.closed) this.owner.streamEnded(this);
    else this.attached();
  }

  protected attached(): void {}

  /** Whether the connection has reached this response (its head is written). */
  get started(): boolean {
    return this.wire !== null;
  }

  protected put(b: Uint8Array): void {
    if (this.closed || this.bodyless || b.length === 0) return;
    const framed = this.chunked ? Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`, 'latin1'), b, CRLF]) : Buffer.from(b);
    // A client this far behind (not reading this stream, or not even the responses before
    // it) is dropped by the owner: memory stays bounded.
    if (this.wire === null) {
      (this.held ??= []).push(framed);
      this.heldBytes += framed.length;
      this.owner.buffered(framed.length);
    } else {
      this.wire.write(framed);
      this.owner.buffered(0);
    }
  }

  onClose(cb: () => void): void {
    if (this.closed) this.runCloser(cb);
    else (this.closers ??= []).push(cb);
  }

  /** Ends the body: the last chunk, then the connection moves on. */
  close(): void {
    if (this.closed) return;
    if (this.chunked && !this.bodyless) {
      if (this.wire === null) (this.held ??= []).push(LAST_CHUNK);
      else this.wire.write(LAST_CHUNK);
    }
    this.finish();
  }

  /** The connection is gone (or the stream is replaced by an error answer): no last chunk. */
  abort(): void {
    if (this.closed) return;
    const bytes = this.heldBytes;
    this.held = null;
    this.heldBytes = 0;
    if (bytes > 0) this.owner.buffered(-bytes);
    this.finish();
  }

  protected finish(): void {
    this.closed = true;
    this.stopped();
    const closers = this.closers;
    this.closers = null;
    if (closers !== null) for (const cb of closers) this.runCloser(cb);
    if (this.wire !== null) this.owner.streamEnded(this);
  }

  /** An application's onClose callback: what it throws is reported, never thrown into the server. */
  private runCloser(cb: () => void): void {
    try {
      cb();
    } catch (e) {
      this.owner.reportError(e);
    }
  }

  protected stopped(): void {}
}

/** An SSE stream, with keepalive comments on a timer. */
/**
 * Heartbeats: one interval timer per period for every stream that uses it (not a timer
 * per stream: 10,000 open streams cost one timer and one callback a period). A stream
 * gets a comment every period at most; its first one may come early (a few bytes).
 */
class Heartbeats {
  private readonly streams = new Set<SseStreamImpl>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly periodMs: number, private readonly owner: Map<number, Heartbeats>) {}

  add(s: SseStreamImpl): void {
    this.streams.add(s);
    if (this.timer === null) {
      this.timer = setInterval(() => {
        for (const st of this.streams) st.comment('keepalive');
      }, this.periodMs);
      this.timer.unref();
    }
  }

  delete(s: SseStreamImpl): void {
    this.streams.delete(s);
    if (this.streams.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
      this.owner.delete(this.periodMs);
    }
  }
}
const heartbeats = new Map<number, Heartbeats>();

export class SseStreamImpl extends HeldStream implements SseStream {
  private beats: Heartbeats | null = null;

  constructor(owner: StreamOwner, private readonly heartbeatMs: number, chunked: boolean, bodyless: boolean) {
    super(owner, chunked, bodyless);
  }

  protected override attached(): void {
    if (this.heartbeatMs > 0) {
      let h = heartbeats.get(this.heartbeatMs);
      if (h === undefined) heartbeats.set(this.heartbeatMs, (h = new Heartbeats(this.heartbeatMs, heartbeats)));
      h.add(this);
      this.beats = h;
    }
  }

  protected override stopped(): void {
    this.beats?.delete(this);
    this.beats = null;
  }

  send(event: SseEvent): void {
    this.put(framer().frame(event));
  }
  comment(text: string): void {
    this.put(framer().comment(text));
  }
}

/** A chunked body with backpressure (write() / drained()). */
export class ChunkedStream extends HeldStream implements BodyStream {
  /** Callers of drained() waiting for room (none: null); released on room or close. */
  private waiting: Array<() => void> | null = null;

  constructor(owner: StreamOwner, private readonly highWaterMark: number, chunked: boolean, bodyless: boolean) {
    super(owner, chunked, bodyless);
  }

  private get pending(): number {
    return this.wire === null ? this.heldBytes : this.wire.buffered();
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.closed) {
      if (this.bodyless) return false; // (HEAD: the body is not sent)
      throw new ConduitError(ErrorCodes.STREAM_ENDED, 'write after the stream ended');
    }
    this.put(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    return this.pending < this.highWaterMark;
  }

  drained(): Promise<void> {
    if (this.closed || this.pending < this.highWaterMark) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.waiting !== null) {
        this.waiting.push(resolve);
        return;
      }
      this.waiting = [resolve];
      // Attached: when the wire drains. Still queued behind an earlier response: when the
      // connection reaches this one (attached()), not on a timer.
      if (this.wire !== null) this.wire.onDrain(this.check);
    });
  }

  private readonly check = (): void => {
    if (this.waiting === null) return; // (released by close)
    if (this.closed || this.pending < this.highWaterMark) this.release();
    else if (this.wire !== null) this.wire.onDrain(this.check);
  };

  protected override attached(): void {
    this.check();
  }

  private release(): void {
    const w = this.waiting;
    this.waiting = null;
    if (w !== null) for (const resolve of w) resolve();
  }

  protected override stopped(): void {
    this.release();
  }

  end(chunk?: string | Uint8Array): void {
    if (this.closed) return;
    if (chunk !== undefined) this.write(chunk);
    this.close();
  }
}
