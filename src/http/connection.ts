// One HTTP/1.1 connection: bytes in through the WASM parser, answers out in request order.
// It owns the wire (transport), the framing of what it writes, the order of pipelined
// answers, backpressure between output and input, and its timers: headersTimeout /
// requestTimeout while a request arrives, keepAliveTimeout while it is idle, while its last
// answer waits for a client that does not take it and (as the linger time) after the
// server's FIN. (The wires add sendTimeout for output that stalls, in every state.) What a
// request does once it has arrived is lifecycle.ts.

import { ConduitError, ErrorCodes, HttpError, type HttpParseError } from '../errors.js';
import type { Wire, WireSink } from '../net/wire.js';
import { buildErrorResponse, errorResponseFor } from './error-responses.js';
import { handle, lookup, streams, type Dispatcher, type Routed } from './lifecycle.js';
import { HttpParser, RequestHead, type HttpParserOptions } from './parser.js';
import { BodyReader } from './request.js';
import { Res, type ResponseOwner } from './response.js';
import { SseStreamImpl, type HeldStream } from './streams.js';

/** What a connection needs of its app. */
export interface ConnectionHost extends Dispatcher {
  /** What every connection's parser is made with (the callbacks below included). */
  readonly parserOptions: HttpParserOptions;
  readonly keepAliveTimeout: number;
  readonly requestTimeout: number;
  readonly headersTimeout: number;
  readonly maxBufferedOutput: number;
  /** The connection is closed: forget it. */
  forget(conn: Connection): void;
}

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);
/** Answers owed that never make a connection wait, while nothing is unsent. */
const PIPELINE_FREE = 8;
/** Answers owed on one connection (pipelining) before its requests wait to be taken. */
const MAX_OWED = 64;
/** Bytes of answers unsent on one connection before its requests wait to be taken. */
const OUTPUT_HIGH_WATER = 64 * 1024;
/** Responses written together are copied into one buffer up to this many bytes, gathered (writev) above. */
const GATHER_ABOVE = 32 * 1024;
/** The bits of Connection.flags. */
const CLOSING = 1;
const GONE = 2;
const INPUT_ENDED = 4;
const BATCHING = 8;
const IDLE_TIMED = 16;
const INPUT_HELD = 32;
const DRAIN_WATCHED = 64;
const WIRE_ENDED = 128;
/** The empty queue of responses (frozen: the queue is replaced, never this array changed). */
const NO_RESPONSES: readonly Res[] = Object.freeze([]);
const HEADERS_TIMEOUT = buildErrorResponse(408, 'the request head did not arrive within headersTimeout');
const REQUEST_TIMEOUT = buildErrorResponse(408, 'the request did not arrive within requestTimeout');

export class Connection implements WireSink, ResponseOwner {
  /**
   * The responses owed, in request order. Empty, it is NO_RESPONSES (an idle connection
   * holds no array of its own), and the first response gets a one-element array (a push
   * would give it room for 17, which a connection held open by a stream would keep).
   */
  private queue: readonly Res[] = NO_RESPONSES;
  private head: RequestHead | null = null;
  /** The route of the request under way, when it was looked up as its head arrived. */
  private routed: Routed | null = null;
  /** Body chunks of the request under way (none: null). */
  private body: Buffer[] | null = null;
  /** The body of a request on a streaming route, handed to its handler as it arrives. */
  private reader: BodyReader | null = null;
  /** That request's response. */
  private readerRes: Res | null = null;
  /**
   * The connection's yes/no states, one bit each (see the accessors below): a field each
   * would cost 8 bytes each per connection.
   */
  private flags = 0;
  private streaming: HeldStream | null = null;
  /**
   * While a request arrives: requestTimeout from its first byte, and headersTimeout until
   * its head has arrived (when that is shorter).
   */
  private requestTimer: NodeJS.Timeout | null = null;
  private headTimer: NodeJS.Timeout | null = null;
  /** Bytes held by streamed responses waiting their turn (see buffered()). */
  private queuedBytes = 0;

  /** After a framing error or a `close` response: no further requests are processed. */
  private get closing(): boolean { return (this.flags & CLOSING) !== 0; }
  private set closing(v: boolean) { this.flag(CLOSING, v); }
  /** The transport closed: nothing more happens here (parser callbacks included). */
  private get gone(): boolean { return (this.flags & GONE) !== 0; }
  private set gone(v: boolean) { this.flag(GONE, v); }
  /** The client half-closed: answer what was received, then close. */
  private get inputEnded(): boolean { return (this.flags & INPUT_ENDED) !== 0; }
  private set inputEnded(v: boolean) { this.flag(INPUT_ENDED, v); }
  /** While one read is parsed, responses ready at once are written together after it. */
  private get batching(): boolean { return (this.flags & BATCHING) !== 0; }
  private set batching(v: boolean) { this.flag(BATCHING, v); }
  /** Whether keepAliveTimeout runs (see updateIdle). */
  private get idleTimed(): boolean { return (this.flags & IDLE_TIMED) !== 0; }
  private set idleTimed(v: boolean) { this.flag(IDLE_TIMED, v); }
  /** Requests are not taken while the client leaves its answers unread (see holdInput). */
  private get inputHeld(): boolean { return (this.flags & INPUT_HELD) !== 0; }
  private set inputHeld(v: boolean) { this.flag(INPUT_HELD, v); }
  /** A drain callback is registered for releaseInputIfRoom (one at a time). */
  private get drainWatched(): boolean { return (this.flags & DRAIN_WATCHED) !== 0; }
  private set drainWatched(v: boolean) { this.flag(DRAIN_WATCHED, v); }
  /** endWire() ran: the wire is closing. */
  private get wireEnded(): boolean { return (this.flags & WIRE_ENDED) !== 0; }
  private set wireEnded(v: boolean) { this.flag(WIRE_ENDED, v); }
  private flag(bit: number, v: boolean): void {
    this.flags = v ? this.flags | bit : this.flags & ~bit;
  }

  readonly parser: ConnectionParser;

  constructor(private readonly wire: Wire, private readonly host: ConnectionHost) {
    this.parser = new ConnectionParser(this, host.parserOptions);
    wire.setIdle(host.keepAliveTimeout);
    this.idleTimed = true;
    // Between requests a connection holds no pool slot: it leases one when bytes come.
    this.parser.releaseIfIdle();
  }

  reportError(e: unknown): void {
    this.host.reportError(e);
  }

  // ── input ──────────────────────────────────────────────────────────────────────────

  readRoom(): number {
    return this.parser.readRoom();
  }

  readPtr(): number {
    return this.parser.readPtr();
  }

  readIdle(): void {
    this.parser.releaseIfIdle();
  }

  /** Bytes the native transport read to readPtr(). */
  received(n: number): void {
    if (this.closing) return;
    this.batching = true;
    this.settle(this.parser.commit(n));
    this.parser.releaseIfIdle();
  }

  /** Bytes from node:net. */
  data(d: Buffer): void {
    if (this.closing) return;
    this.batching = true;
    this.settle(this.parser.execute(d));
    this.parser.releaseIfIdle();
  }

  headArrived(h: RequestHead): void {
    const host = this.host;
    this.head = h; // (this.body is null: dispatch took the last one's)
    this.routed = null;
    // The head arrived within headersTimeout: the body gets the rest of requestTimeout.
    if (this.headTimer !== null) {
      clearTimeout(this.headTimer);
      this.headTimer = null;
    }
    if (!h.hasBody || (!h.expectContinue && host.streamHandlers.size === 0)) return;
    const routed = (this.routed = lookup(host, h));
    // A route that streams its body gets the request now, and the body as it comes; it
    // asks for the body (100 Continue) when the handler starts reading it.
    if (streams(host, routed)) {
      const res = this.newResponse(h);
      const reader = new BodyReader(this.wire, h.expectContinue ? () => this.sendContinue(res) : null);
      this.reader = reader;
      this.readerRes = res;
      handle(host, h, routed, res, EMPTY, reader);
      return;
    }
    // A buffered body is asked for (100 Continue) only for a route that will take it — not
    // for a 404 or 405 — and when nothing is owed before it (answers go in order; a client
    // that gets no 100 sends the body after a while anyway, RFC 9110 §10.1.1).
    if (h.expectContinue && routed.found?.kind === 'found' && this.queue.length === 0) this.wire.write(CONTINUE);
  }

  /** 100 Continue for a streamed body, when its handler starts reading and nothing is owed before it. */
  private sendContinue(res: Res): void {
    if (!this.closing && !res.sent && this.queue[0] === res) this.wire.write(CONTINUE);
  }

  bodyArrived(chunk: Uint8Array): void {
    if (this.reader !== null) this.reader.push(Buffer.from(chunk));
    else (this.body ??= []).push(Buffer.from(chunk));
  }

  messageComplete(): void {
    const h = this.head!;
    this.head = null;
    if (this.reader !== null) {
      this.reader.end();
      this.reader = null;
      this.readerRes = null;
    } else {
      let body: Buffer = EMPTY;
      if (this.body !== null) {
        body = this.body.length === 1 ? this.body[0] : Buffer.concat(this.body);
        this.body = null;
      }
      handle(this.host, h, this.routed ?? lookup(this.host, h), this.newResponse(h), body, null);
    }
    this.routed = null;
    // Upgrade / CONNECT: this server speaks no other protocol, so the request is answered
    // as HTTP with Connection: close (RFC 9110 §7.8 lets a server ignore Upgrade). What
    // follows on the connection belongs to the other protocol and is not read.
    if (h.upgrade || h.connect) this.closing = true;
    // A client that pipelines requests faster than it reads the answers: no more requests
    // are taken (parsed, dispatched, read) until their output drains.
    else if (!this.inputHeld && this.backedUp()) this.holdInput();
  }

  /** The response of a request, queued in order. */
  private newResponse(h: RequestHead): Res {
    const keepAlive = h.keepAlive && !this.closing && !h.upgrade && !h.connect;
    const res = new Res(keepAlive, h.method === 'HEAD', this, h.version === '1.1');
    this.enqueue(res);
    return res;
  }

  private enqueue(res: Res): void {
    if (this.queue.length === 0) this.queue = [res];
    else (this.queue as Res[]).push(res);
  }

  /** The first response is done with. */
  private dequeue(): void {
    if (this.queue.length === 1) this.queue = NO_RESPONSES;
    else (this.queue as Res[]).shift();
  }

  /** After the parser ran (batching): its error or timers, then the answers ready, in one write. */
  private settle(err: HttpParseError | null): void {
    this.batching = false;
    this.parsed(err);
    this.flush();
  }

  private parsed(err: HttpParseError | null): void {
    if (err !== null) {
      this.fail(err);
      return;
    }
    // A request is under way (bytes of it arrived, it has not completed): its head must
    // arrive within headersTimeout of its first byte and its body within requestTimeout,
    // however slowly its bytes trickle in.
    // (Not while requests wait for the client to read its answers: that is on the output.)
    if (this.parser.midMessage && !this.inputHeld && !this.gone) {
      if (this.requestTimer === null) {
        const { headersTimeout, requestTimeout } = this.host;
        this.requestTimer = setTimeout(timedOut, requestTimeout, this, false);
        if (this.head === null && headersTimeout < requestTimeout) this.headTimer = setTimeout(timedOut, headersTimeout, this, true);
      }
    } else {
      this.stopRequestTimers();
    }
  }

  private stopRequestTimers(): void {
    if (this.requestTimer !== null) {
      clearTimeout(this.requestTimer);
      this.requestTimer = null;
    }
    if (this.headTimer !== null) {
      clearTimeout(this.headTimer);
      this.headTimer = null;
    }
  }

  /** headersTimeout (`head`) or requestTimeout ran out. */
  timeout(head: boolean): void {
    this.stopRequestTimers();
    if (this.closing) return;
    this.closing = true;
    this.abortWith(head ? HEADERS_TIMEOUT : REQUEST_TIMEOUT, head
      ? new ConduitError(ErrorCodes.BODY_TIMEOUT, 'the request head did not arrive within headersTimeout')
      : new ConduitError(ErrorCodes.BODY_TIMEOUT, 'the request body did not arrive within requestTimeout'));
  }

  /** A framing error: the prebuilt response for it, after the ones owed, then close. */
  private fail(err: HttpParseError): void {
    this.closing = true;
    this.abortWith(errorResponseFor(err.parserStatus) ?? buildErrorResponse(400, err.reason), err);
  }

  /**
   * No further input: `out` (a prebuilt error response) after the responses owed, then
   * close. A streamed request whose body failed gets `out` as its answer, unless its
   * handler has already answered.
   */
  private abortWith(out: Buffer, err: Error): void {
    const rr = this.readerRes;
    if (this.reader !== null && rr !== null && rr.sent) {
      // The request whose body failed has its answer already (or under way): there is no
      // request left to answer, so no error response; the connection closes once what is
      // owed is written. An answer still streaming cannot be trusted to complete: it is
      // cut (no last chunk), so that the client sees it incomplete.
      this.reader.fail(err);
      this.closing = true;
      if (rr.held !== null && !rr.held.closed) rr.held.abort();
      this.flush();
      return;
    }
    const last = this.queue[this.queue.length - 1];
    const owner = this.reader !== null && last !== undefined && !last.sent ? last : null;
    this.reader?.fail(err);
    const r = owner ?? new Res(false, false, this);
    r.out = out;
    r.keepAlive = false;
    if (owner === null) this.enqueue(r);
    this.flush();
  }

  /** The client half-closed: finish the responses owed, then close. */
  ended(): void {
    if (this.gone) return;
    this.inputEnded = true;
    // A streamed body that was under way can no longer end.
    // (an HttpError: a handler that lets it through answers 400, the client's doing)
    this.reader?.fail(new HttpError(400, 'the client ended its input before the request body ended', ErrorCodes.BODY_INCOMPLETE));
    // An SSE client never half-closes while it listens: its end means it has gone.
    // (It is ended properly, so that responses pipelined behind it stay framed.)
    if (this.streaming instanceof SseStreamImpl) this.streaming.close();
    // Handlers still working on an answer learn that the client closed its side (as
    // node:http's 'close' tells them); what they send is still delivered if it can be.
    for (const r of this.queue) if (!r.sent) r.aborted();
    if (this.queue.length === 0) this.endWire();
  }

  // ── backpressure from output to input ─────────────────────────────────────────────

  /** Whether answers wait for the client: too many owed, or too many bytes unsent. */
  private backedUp(): boolean {
    const q = this.queue;
    let bytes = this.wire.buffered();
    // (The common case, a few answers owed and nothing waiting for the client: no count.
    // At worst PIPELINE_FREE answers are made before the unsent bytes are looked at.)
    if (bytes === 0 && q.length <= PIPELINE_FREE) return false;
    if (q.length >= MAX_OWED) return true;
    for (let i = 0; i < q.length; i++) {
      const out = q[i].out;
      if (out !== null) bytes += out.length;
    }
    return bytes > OUTPUT_HIGH_WATER;
  }

  private holdInput(): void {
    this.inputHeld = true;
    this.parser.pause(); // (stops after this message; the rest stays pending, in order)
    this.wire.pauseInput();
    this.watchDrain();
  }

  /** Calls releaseInputIfRoom once the output drains (one registration at a time). */
  private watchDrain(): void {
    if (this.drainWatched || this.wire.buffered() === 0) return;
    this.drainWatched = true;
    this.wire.onDrain(() => {
      this.drainWatched = false;
      this.releaseInputIfRoom();
    });
  }

  /** After a flush or a drain: takes requests again once the backlog is gone. */
  private releaseInputIfRoom(): void {
    if (!this.inputHeld || this.closing) return;
    if (this.backedUp()) {
      this.watchDrain(); // (else a handler's answer will flush, and call again)
      return;
    }
    this.inputHeld = false;
    // (this may run inside the handling of a read or a write)
    queueMicrotask(() => {
      if (!this.closing) {
        this.batching = true;
        this.settle(this.parser.resume()); // (the requests pending: may hold again)
      }
      // This hold's pause ends here, always: a new hold (above) counted a pause of its own.
      this.wire.resumeInput();
      if (!this.inputHeld && !this.closing) this.parser.releaseIfIdle();
    });
  }

  // ── output ─────────────────────────────────────────────────────────────────────────

  /** Whether the connection takes no more input (framing error, close, timeout). */
  get done(): boolean {
    return this.closing;
  }

  /** Writes the responses that are ready, in request order. */
  flush(): void {
    if (this.batching || this.gone) return;
    // The responses ready together go out in one write: the first, and `more` (holding
    // all of them, the first included) once there is a second.
    let first: Buffer | null = null;
    let more: Buffer[] | null = null;
    let bytes = 0;
    while (this.queue.length > 0 && this.queue[0].out !== null) {
      const r = this.queue[0];
      if (r.held !== null) {
        if (first !== null) this.writeResponses(first, more, bytes);
        // A streamed response holds the connection: later responses wait until it ends.
        if (this.streaming === r.held) return;
        this.wire.write(r.out!);
        r.out = EMPTY; // (written: a stream may live long, its head need not)
        this.streaming = r.held;
        this.updateIdle(); // (off: a stream may be quiet for a while; SSE sends heartbeats)
        r.held.attach(this.wire);
        return;
      }
      this.dequeue();
      const b = r.out!;
      if (first === null) first = b;
      else (more ??= [first]).push(b);
      bytes += b.length;
      if (!r.keepAlive) {
        this.dropQueue();
        this.writeResponses(first, more, bytes);
        this.endWire();
        return;
      }
    }
    if (first !== null) this.writeResponses(first, more, bytes);
    if ((this.closing || this.inputEnded) && this.queue.length === 0) {
      this.endWire();
      return;
    }
    this.updateIdle();
    if (this.inputHeld) this.releaseInputIfRoom();
    // A request answered while its streamed body still arrives, unread: the rest of the
    // body is dropped as it comes, so that the connection can go on to the next request.
    const rr = this.readerRes;
    if (rr !== null && this.reader !== null && !this.reader.reading && rr.out !== null && (rr.held === null || rr.held.closed)) {
      this.reader.discard();
    }
  }

  /**
   * No more answers: the wire sends what it has, then FIN, then lingers. keepAliveTimeout
   * bounds how long a client that takes nothing may hold what is unsent (every state of
   * a connection is under some timer); the wire bounds the linger after the FIN.
   */
  private endWire(): void {
    this.closing = true;
    if (this.wireEnded) return;
    this.wireEnded = true;
    this.stopRequestTimers();
    this.parser.destroy(); // (no more input: the slot goes back now, not when the client closes)
    this.idleTimed = true;
    this.wire.setIdle(this.host.keepAliveTimeout);
    this.wire.end();
  }

  /**
   * keepAliveTimeout closes a connection idle between requests: not while a request
   * arrives (headersTimeout and requestTimeout bound that), nor while a handler works on
   * an answer (a tool or model call may take long), nor during a stream.
   */
  private updateIdle(): void {
    // (Requests held while the client does not read its answers count as idle: a client
    // that never reads is closed after keepAliveTimeout once nothing more is owed.)
    const idle = this.queue.length === 0 && this.streaming === null && (!this.parser.midMessage || this.inputHeld);
    if (idle === this.idleTimed) return;
    this.idleTimed = idle;
    this.wire.setIdle(idle ? this.host.keepAliveTimeout : 0);
  }

  /**
   * One response, or several (`all`) in one write: small ones copied together (cheaper
   * than gathering them), large ones gathered by writev (cheaper than copying them).
   */
  private writeResponses(first: Buffer, all: Buffer[] | null, bytes: number): void {
    if (all === null) this.wire.write(first);
    else if (bytes <= GATHER_ABOVE) this.wire.write(Buffer.concat(all, bytes));
    else this.wire.writeAll(all);
  }

  /**
   * Nothing more will be sent: the responses still queued are dropped, and their streams
   * end (their onClose runs), those still waiting their turn too. The queue is emptied
   * first, so that an ending stream does not move the connection on to the next one.
   */
  private dropQueue(): void {
    this.closing = true;
    const q = this.queue;
    this.queue = NO_RESPONSES;
    for (const r of q) {
      r.held?.abort();
      r.aborted();
    }
  }

  /** The streamed response at the head of the queue ended: the connection moves on. */
  streamEnded(stream: HeldStream): void {
    const r = this.queue[0];
    if (r === undefined || r.held !== stream) return;
    this.streaming = null;
    this.dequeue();
    this.updateIdle();
    if (!r.keepAlive) {
      // The connection ends with this answer (HTTP/1.0: its end is the body's end).
      this.dropQueue();
      this.endWire();
      return;
    }
    // Otherwise what is owed behind it goes out, during a graceful shutdown too; flush()
    // ends the connection once nothing more is owed, if it is closing.
    this.flush();
  }

  /**
   * A stream's output grew (see StreamOwner): what streams waiting their turn hold and
   * what the wire has unsent share maxBufferedOutput; past it the client, which is not
   * reading, is dropped.
   */
  buffered(delta: number): void {
    this.queuedBytes += delta;
    if (delta >= 0 && this.queuedBytes + this.wire.buffered() > this.host.maxBufferedOutput) this.wire.destroy();
  }

  // ── the end ────────────────────────────────────────────────────────────────────────

  /**
   * Graceful shutdown: no further requests; responses already owed (in-flight handlers
   * included) are sent, SSE streams end, then the connection closes.
   */
  shutdown(): void {
    if (this.gone) return;
    this.closing = true;
    // (a copy: an ending stream moves the queue on)
    for (const r of [...this.queue]) if (r.held instanceof SseStreamImpl) r.held.close();
    if (this.queue.length === 0) this.endWire();
    else this.flush();
  }

  /** Closes at once, dropping what is unsent. */
  destroy(): void {
    this.wire.destroy();
  }

  /** The transport closed: streams end (handlers see onClose), the slot is freed. */
  closed(): void {
    if (this.gone) return;
    this.gone = true;
    this.stopRequestTimers();
    this.reader?.fail(new ConduitError(ErrorCodes.BODY_ABORTED, 'the connection closed before the request body ended'));
    this.dropQueue();
    this.parser.destroy();
    this.host.forget(this);
  }
}

/** The timers of a request under way (one function for every connection: no closure each). */
function timedOut(conn: Connection, head: boolean): void {
  conn.timeout(head);
}

/**
 * A connection's parser. Its callbacks are the same functions for every connection (see
 * CONNECTION_CALLBACKS): they find the connection here, so a connection costs no closures.
 */
class ConnectionParser extends HttpParser {
  constructor(readonly conn: Connection, options: HttpParserOptions) {
    super(options);
  }
}

/** The parser callbacks every connection shares (put them in ConnectionHost.parserOptions). */
export const CONNECTION_CALLBACKS: Pick<HttpParserOptions, 'onHead' | 'onBody' | 'onMessageComplete'> = {
  onHead: (h, p) => (p as ConnectionParser).conn.headArrived(h),
  onBody: (chunk, p) => (p as ConnectionParser).conn.bodyArrived(chunk),
  onMessageComplete: (_t, p) => (p as ConnectionParser).conn.messageComplete(),
};
