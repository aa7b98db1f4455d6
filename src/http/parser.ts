// Streaming HTTP/1.1 request parser: the TypeScript face of assembly/http/parser.ts.
//
// Bytes are copied (once) into the parser's pool slot; the WASM parser reads them in
// place and reports spans. Heads are handed out as RequestHead objects that decode
// strings only when asked; body chunks are views into WASM memory, valid only during
// the onBody callback (copy them to keep them).

import { ABI, Events, MessageFlags, Phase, Status } from '../wasm/abi.generated.js';
import { WasmCore } from '../wasm/loader.js';
import type { Slot } from '../wasm/pool.js';
import { ConduitError, ErrorCodes, HttpParseError } from '../errors.js';
import { allocBytes, bytesOver, latin1 } from '../wasm/text.js';
import { holdSlot, releaseSlot, type Lease } from '../wasm/leases.js';

export interface HttpLimits {
  /** Longest request line (including leading empty lines), bytes. Default 8 KiB; over it: 414. */
  maxRequestLine?: number;
  /** Largest head (request line + field lines), and largest trailer section, bytes. Default 16 KiB; over it: 431. */
  maxHeaderBytes?: number;
  /** Most field lines in a head or trailer section. Default 100, at most 256; over it: 431. */
  maxHeaders?: number;
  /** Most chunk-extension bytes in one message. Default 16 KiB; over it: 413. */
  maxChunkExtensions?: number;
  /** Largest body, bytes (Content-Length or de-chunked total). Default 16 MiB; over it: 413. */
  maxBodySize?: number;
}

export const DEFAULT_LIMITS: Readonly<Required<HttpLimits>> = Object.freeze({
  maxRequestLine: 8 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaders: 100,
  maxChunkExtensions: 16 * 1024,
  maxBodySize: 16 * 1024 * 1024,
});

export type HeaderList = Array<[name: string, value: string]>;

export interface HttpParserOptions extends HttpLimits {
  /** The WASM core whose pool the parser leases its slot from; default: a 32 KiB slot held from the shared cores (src/wasm/leases.ts). */
  core?: WasmCore;
  /**
   * Without `core`: false puts the slot in plain (unshared) memory, which V8 copies into and
   * out of faster, for a parser whose memory no other thread and no native code reads.
   * Default true.
   */
  sharedMemory?: boolean;
  // Each callback gets the parser last, so one set of functions can serve many parsers
  // (a server's connections) without a closure per parser.
  /** A request head completed. */
  onHead?: (head: RequestHead, parser: HttpParser) => void;
  /** Body bytes (de-chunked). A view into WASM memory, valid only during the call. */
  onBody?: (chunk: Uint8Array, parser: HttpParser) => void;
  /** A message completed; `trailers` holds a chunked body's trailer fields, if any. */
  onMessageComplete?: (trailers: HeaderList | null, parser: HttpParser) => void;
  /**
   * Instead of onHead: the head as plain decoded values, read straight from WASM memory
   * (no RequestHead, no copy of the head's bytes). For callers that want every string at
   * once (parseHttpRequest).
   */
  onHeadValues?: (head: HeadValues, parser: HttpParser) => void;
}

/** A head as plain values (onHeadValues). */
export interface HeadValues {
  method: string;
  target: string;
  version: '1.1' | '1.0';
  /** MessageFlags bits. */
  flags: number;
  /** The Content-Length value; -1 when the message has none. */
  contentLength: number;
  headers: HeaderList;
}

/** The Content-Length of the last HEAD event (its flags given), or -1 when the head has none. */
export function headContentLength(core: WasmCore, flags: number): number {
  return (flags & MessageFlags.CONTENT_LENGTH) !== 0 ? Number(core.view.getBigUint64(core.scratch + ABI.RESULT_CONTENT_LENGTH, true)) : -1;
}

/** A parsed request head. Its bytes are its own copy: it stays valid after the parser moves on. */
export class RequestHead {
  /** Method name, e.g. "GET". */
  readonly method: string;
  /** Method id (position in the WASM method table). */
  readonly methodId: number;
  /** "1.1" or "1.0". */
  readonly version: '1.1' | '1.0';
  /** MessageFlags bits. */
  readonly flags: number;
  /** Content-Length, or -1 when absent. */
  readonly contentLength: number;
  /** The head's bytes (request line through the blank line): a Buffer where the runtime has Buffer. */
  readonly raw: Uint8Array;
  /** Field table: 4 numbers per field (nameOff, nameLen, valueOff, valueLen) into raw. */
  readonly fields: Uint32Array;
  private readonly targetOff: number;
  private readonly targetLen: number;
  /** Field-table index of the first Host / Content-Type / Upgrade field, or -1 (found during the scan). */
  private readonly hostIdx: number;
  private readonly contentTypeIdx: number;
  private readonly upgradeIdx: number;
  private _target: string | undefined;
  private _headers: HeaderList | undefined;

  constructor(core: WasmCore, input: number, headLen: number) {
    const r = core.scratch;
    const u32 = core.u32;
    const w = r >>> 2;
    this.methodId = u32[w + ABI.RESULT_METHOD / 4];
    this.method = core.methods[this.methodId];
    this.version = u32[w + ABI.RESULT_VERSION_MINOR / 4] === 1 ? '1.1' : '1.0';
    this.flags = u32[w + ABI.RESULT_FLAGS / 4];
    this.contentLength = headContentLength(core, this.flags);
    this.targetOff = u32[w + ABI.RESULT_TARGET_OFF / 4];
    this.targetLen = u32[w + ABI.RESULT_TARGET_LEN / 4];
    const i32 = core.i32;
    this.hostIdx = i32[w + ABI.RESULT_HOST_IDX / 4];
    this.contentTypeIdx = i32[w + ABI.RESULT_CONTENT_TYPE_IDX / 4];
    this.upgradeIdx = i32[w + ABI.RESULT_UPGRADE_IDX / 4];
    const raw = allocBytes(headLen);
    raw.set(core.u8.subarray(input, input + headLen));
    this.raw = raw;
    const n = u32[w + ABI.RESULT_FIELD_COUNT / 4];
    const f = (r + ABI.FIELDS_OFFSET) >>> 2;
    this.fields = u32.slice(f, f + n * 4);
    this._target = undefined;
    this._headers = undefined;
  }

  /** The request-target exactly as sent. */
  get target(): string {
    if (this._target === undefined) this._target = latin1(this.raw, this.targetOff, this.targetOff + this.targetLen);
    return this._target;
  }

  /** The Host field value (the parser found it while scanning; no lookup). */
  get host(): string | undefined {
    return this.hostIdx < 0 ? undefined : this.headerValue(this.hostIdx);
  }
  /** The first Content-Type field value. */
  get contentType(): string | undefined {
    return this.contentTypeIdx < 0 ? undefined : this.headerValue(this.contentTypeIdx);
  }
  /** The Upgrade field value (the protocol asked for; meaningful when `upgrade` is true). */
  get upgradeProtocol(): string | undefined {
    return this.upgradeIdx < 0 ? undefined : this.headerValue(this.upgradeIdx);
  }

  get keepAlive(): boolean {
    return (this.flags & MessageFlags.KEEP_ALIVE) !== 0;
  }
  get upgrade(): boolean {
    return (this.flags & MessageFlags.UPGRADE) !== 0;
  }
  get connect(): boolean {
    return (this.flags & MessageFlags.CONNECT) !== 0;
  }
  get expectContinue(): boolean {
    return (this.flags & MessageFlags.EXPECT_CONTINUE) !== 0;
  }
  get chunked(): boolean {
    return (this.flags & MessageFlags.CHUNKED) !== 0;
  }
  /** Whether a body follows the head (chunked, or Content-Length > 0). */
  get hasBody(): boolean {
    return (this.flags & MessageFlags.HAS_BODY) !== 0;
  }

  get headerCount(): number {
    return this.fields.length >>> 2;
  }

  /** Field name i, as sent (latin1). */
  headerName(i: number): string {
    return latin1(this.raw, this.fields[i * 4], this.fields[i * 4] + this.fields[i * 4 + 1]);
  }

  /** Field value i, without leading/trailing whitespace (latin1, as Node decodes). */
  headerValue(i: number): string {
    return latin1(this.raw, this.fields[i * 4 + 2], this.fields[i * 4 + 2] + this.fields[i * 4 + 3]);
  }

  /** All fields in order, names as sent. */
  get headers(): HeaderList {
    if (this._headers === undefined) {
      // (one string for the head, the rest substrings of it: see headValues)
      const f = this.fields;
      const text = latin1(this.raw, 0, this.raw.length);
      const list: HeaderList = new Array(f.length >>> 2);
      for (let i = 0; i < f.length; i += 4) list[i >>> 2] = [text.substring(f[i], f[i] + f[i + 1]), text.substring(f[i + 2], f[i + 2] + f[i + 3])];
      this._headers = list;
    }
    return this._headers;
  }

  /** Value of the first field named `name` (case-insensitive), or undefined. */
  get(name: string): string | undefined {
    const n = name.length;
    const raw = this.raw;
    const f = this.fields;
    for (let i = 0; i < f.length; i += 4) {
      if (f[i + 1] !== n) continue;
      let j = 0;
      const off = f[i];
      for (; j < n; j++) {
        let a = raw[off + j];
        let b = name.charCodeAt(j);
        if (a >= 65 && a <= 90) a |= 0x20;
        if (b >= 65 && b <= 90) b |= 0x20;
        if (a !== b) break;
      }
      if (j === n) return latin1(raw, f[i + 2], f[i + 2] + f[i + 3]);
    }
    return undefined;
  }
}

function limit(name: string, value: number | undefined, def: number, min: number, max: number): number {
  // Defaults shrink to fit a core with small slots; explicit values must fit.
  const v = value ?? Math.min(def, max);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new ConduitError(ErrorCodes.INVALID_OPTION, `${name} must be an integer between ${min} and ${max}, got ${value}`);
  }
  return v;
}

export type Limits = readonly [number, number, number, number, number];
let lastLimits: Limits = [0, 0, 0, 0, 0];
/** The limits as an array shared by the parsers that have the same ones (a server's connections). */
function sharedLimits(a: number, b: number, c: number, d: number, e: number): Limits {
  const l = lastLimits;
  if (l[0] !== a || l[1] !== b || l[2] !== c || l[3] !== d || l[4] !== e) lastLimits = [a, b, c, d, e];
  return lastLimits;
}

/** The limits for http_init (checked against a slot of `capacity` bytes); throws INVALID_OPTION. */
export function limitsFor(options: HttpLimits, capacity: number): Limits {
  const maxRequestLine = limit('maxRequestLine', options.maxRequestLine, DEFAULT_LIMITS.maxRequestLine, 16, capacity - 64);
  const maxHeaderBytes = limit('maxHeaderBytes', options.maxHeaderBytes, DEFAULT_LIMITS.maxHeaderBytes, 16, capacity - 64);
  const maxHeaders = limit('maxHeaders', options.maxHeaders, DEFAULT_LIMITS.maxHeaders, 1, ABI.MAX_FIELDS);
  const maxChunkExtensions = limit('maxChunkExtensions', options.maxChunkExtensions, DEFAULT_LIMITS.maxChunkExtensions, 0, capacity - 64);
  const maxBodySize = limit('maxBodySize', options.maxBodySize, DEFAULT_LIMITS.maxBodySize, 0, Number.MAX_SAFE_INTEGER);
  return sharedLimits(maxRequestLine, maxHeaderBytes, maxHeaders, maxChunkExtensions, maxBodySize);
}

export class HttpParser {
  readonly core: WasmCore;
  private slot: Slot | null;
  /** The held slot, when no core was given (with a core, its slots may be given back while idle). */
  private readonly lease: Lease | null;
  // Stream state: these initial values are what reset() restores.
  private pending = 0;
  private head = 0;
  private consumedTotal = 0;
  private failure: HttpParseError | null = null;
  private upgradeRest: Uint8Array | null = null;
  private paused = false;
  private inMessage = false;
  /** The limits given to http_init (again when an idle parser leases a slot anew). */
  private readonly limits: Limits;
  /** releaseIfIdle() gave the slot back; the next input leases one. */
  private idle = false;
  /** Messages counted in slots given back. */
  private messagesBefore = 0;
  onHead: HttpParserOptions['onHead'];
  onHeadValues: HttpParserOptions['onHeadValues'];
  onBody: HttpParserOptions['onBody'];
  onMessageComplete: HttpParserOptions['onMessageComplete'];

  constructor(options: HttpParserOptions = {}) {
    let core = options.core;
    let slot: Slot;
    if (core === undefined) {
      this.lease = holdSlot(32 * 1024, this, { shared: options.sharedMemory });
      ({ core, slot } = this.lease);
    } else {
      this.lease = null;
      slot = core.pool.lease();
    }
    this.core = core;
    this.slot = slot;
    try {
      this.limits = limitsFor(options, slot.capacity);
      core.exports.http_init(slot.state, ...this.limits);
    } catch (err) {
      if (this.lease !== null) releaseSlot(this.lease);
      else core.pool.release(slot);
      throw err;
    }
    this.onHead = options.onHead;
    this.onHeadValues = options.onHeadValues;
    this.onBody = options.onBody;
    this.onMessageComplete = options.onMessageComplete;
  }

  /** Bytes of the stream consumed so far (through the last complete element). */
  get bytesConsumed(): number {
    return this.consumedTotal;
  }

  /** Bytes held back waiting for more input (an incomplete head, chunk line, ...). */
  get pendingBytes(): number {
    return this.pending;
  }

  /** Messages completed on this stream. */
  get messages(): number {
    return this.messagesBefore + (this.slot === null ? 0 : this.core.u32[(this.slot.state + ABI.STATE_MESSAGES) >>> 2]);
  }

  /**
   * Between messages, gives the slot back to the pool so that an idle connection holds
   * none (a server with many idle keep-alive connections touches few slots); the next
   * input leases one again. Only with a `core` given to the constructor, and only when
   * nothing is pending: no partial message, no paused or upgraded input, no error, and
   * the last message did not end the stream (Connection: close). Returns whether it did.
   */
  releaseIfIdle(): boolean {
    const slot = this.slot;
    if (slot === null || this.lease !== null || this.inMessage || this.pending !== 0 || this.paused || this.stashed !== null ||
      this.failure !== null || this.upgradeRest !== null) return false;
    const u32 = this.core.u32;
    if (u32[(slot.state + ABI.STATE_PHASE) >>> 2] !== Phase.HEAD) return false;
    this.messagesBefore += u32[(slot.state + ABI.STATE_MESSAGES) >>> 2];
    this.core.pool.release(slot);
    this.slot = null;
    this.idle = true;
    this.head = 0;
    return true;
  }

  /** The slot, leased again (and the state reset) after releaseIfIdle(). */
  private live(): Slot {
    if (this.slot !== null) return this.slot;
    if (!this.idle) throw new ConduitError(ErrorCodes.STALE_SLOT, 'HttpParser used after destroy()');
    const slot = this.core.pool.lease();
    this.core.exports.http_init(slot.state, ...this.limits);
    this.slot = slot;
    this.idle = false;
    return slot;
  }

  /** The error that stopped the parser, if any. */
  get error(): HttpParseError | null {
    return this.failure;
  }

  /** Whether a message has begun (head seen, body or trailers outstanding) or bytes of one are pending. */
  get midMessage(): boolean {
    return this.inMessage || this.pending > 0;
  }

  /** After an Upgrade/CONNECT message: the bytes that followed it (belonging to the new protocol). */
  get upgradeData(): Uint8Array | null {
    return this.upgradeRest;
  }

  /**
   * Stops parsing after the callback that calls it. The rest of the input, and any input
   * given to execute() before resume(), is kept in order for resume().
   */
  pause(): void {
    this.paused = true;
  }

  /**
   * Feeds bytes. Callbacks run synchronously. Returns the error that stopped the parser
   * (now or earlier), or null. After an error the parser takes no more input.
   */
  execute(input: Uint8Array): HttpParseError | null {
    if (this.failure !== null) return this.failure;
    if (this.slot === null && !this.idle) throw new ConduitError(ErrorCodes.STALE_SLOT, 'HttpParser used after destroy()');
    if (this.upgradeRest !== null) {
      this.upgradeRest = concat(this.upgradeRest, input);
      return null;
    }
    if (this.paused) {
      // Paused: keep the bytes, in order, for resume().
      if (input.length > 0) this.stash(input);
      return null;
    }
    const slot = this.live();
    const core = this.core;
    const u8 = core.u8;
    const data = slot.data;
    const room = slot.capacity - 8;
    let off = 0;
    for (;;) {
      if (off < input.length) {
        // Unconsumed bytes start at data + head, with head (0..7) chosen so that the copy
        // below lands at the source's alignment mod 8: V8 copies into shared memory
        // word by word only then (7x faster than its byte-by-byte path, measured).
        const head = ((input.byteOffset + off) - this.pending) & 7;
        if (head !== this.head) {
          if (this.pending > 0) u8.copyWithin(data + head, data + this.head, data + this.head + this.pending);
          this.head = head;
        }
        const n = Math.min(room - this.pending, input.length - off);
        if (n > 0) {
          u8.set(n === input.length ? input : input.subarray(off, off + n), data + head + this.pending);
          this.pending += n;
          off += n;
        }
      }
      if (!this.parsePending()) return this.failure;
      if (this.upgradeRest !== null) {
        this.upgradeRest = concat(this.takePending(), input.subarray(off));
        return null;
      }
      if (this.paused) {
        // Keep the unread input pending (it may exceed the slot: keep it in JS).
        if (off < input.length) this.stash(input.subarray(off));
        return null;
      }
      if (off >= input.length) return null;
      if (this.pending >= room) {
        // The slot is full of one element that is still incomplete. Limits are below the
        // slot size, so the WASM parser has already failed on anything this long.
        return this.fail(Status.HEADERS_TOO_LARGE, this.consumedTotal + this.pending);
      }
    }
  }

  /**
   * For transports that read straight into WASM memory (the native addon): the address
   * where the next bytes go (right after the pending ones), with readRoom() bytes free.
   * Put bytes there, then call commit(n). Not while paused or after an upgrade.
   */
  readPtr(): number {
    const slot = this.live();
    if (this.head !== 0 && this.pending > 0) {
      // Make room at the end: the pending bytes move to the start of the slot.
      this.core.u8.copyWithin(slot.data, slot.data + this.head, slot.data + this.head + this.pending);
    }
    this.head = 0;
    return slot.data + this.pending;
  }

  /** Free bytes at readPtr() (after releaseIfIdle(), this leases a slot again). */
  readRoom(): number {
    if (this.slot === null && !this.idle) return 0;
    return this.live().capacity - 8 - this.pending;
  }

  /** Parses n bytes the caller placed at readPtr(); returns like execute(). */
  commit(n: number): HttpParseError | null {
    if (this.failure !== null) return this.failure;
    const slot = this.slot!;
    this.pending += n;
    if (!this.parsePending()) return this.failure;
    if (this.upgradeRest !== null) {
      this.upgradeRest = this.takePending();
      return null;
    }
    if (!this.paused && this.pending >= slot.capacity - 8) {
      return this.fail(Status.HEADERS_TOO_LARGE, this.consumedTotal + this.pending);
    }
    return null;
  }

  /**
   * Runs the WASM parser over the pending bytes and drops what it consumed; false after an
   * error, or when a callback destroyed the parser (then `failure` is null).
   */
  private parsePending(): boolean {
    const consumed = this.run();
    if (consumed < 0) return false;
    if (consumed > 0) {
      this.pending -= consumed;
      this.head = this.pending === 0 ? 0 : this.head + consumed;
      this.consumedTotal += consumed;
    }
    return true;
  }

  /** The pending bytes as a copy (after an upgrade they belong to the new protocol); empties them. */
  private takePending(): Uint8Array {
    const at = this.slot!.data + this.head;
    const out = this.core.u8.slice(at, at + this.pending);
    this.pending = 0;
    this.head = 0;
    return out;
  }

  private stashed: Uint8Array | null = null;
  private stash(rest: Uint8Array): void {
    this.stashed = this.stashed === null ? rest.slice() : concat(this.stashed, rest);
  }

  /** Resumes after pause(): parses the input held back (and may pause again). */
  resume(): HttpParseError | null {
    const rest = this.stashed;
    this.stashed = null;
    this.paused = false;
    return this.execute(rest ?? EMPTY);
  }

  /**
   * Signals the end of the stream. Returns an error when it ends inside a message
   * (CONDUIT_ERR_HTTP_INCOMPLETE), else null.
   */
  finish(): HttpParseError | null {
    if (this.failure !== null) return this.failure;
    if (this.upgradeRest !== null) return null;
    if (this.midMessage) return new HttpParseError(Status.NEED_MORE, this.consumedTotal + this.pending);
    return null;
  }

  /**
   * Starts over on a new stream with the same slot and limits (no lease, no allocation):
   * the parser state is reset; pending, paused and upgraded input and any error dropped.
   */
  reset(): void {
    const slot = this.live();
    this.core.exports.http_init(slot.state, ...this.limits);
    this.pending = 0;
    this.head = 0;
    this.consumedTotal = 0;
    this.failure = null;
    this.upgradeRest = null;
    this.paused = false;
    this.inMessage = false;
    this.stashed = null;
    this.messagesBefore = 0;
  }

  /** Releases the parser's slot. */
  destroy(): void {
    this.idle = false;
    if (this.slot !== null) {
      if (this.lease !== null) releaseSlot(this.lease);
      else if (this.core.pool.isLive(this.slot)) this.core.pool.release(this.slot);
      this.slot = null;
    }
  }

  private fail(status: number, offset: number): HttpParseError {
    this.failure = new HttpParseError(status, offset);
    return this.failure;
  }

  /**
   * Runs the WASM parser over the pending bytes; returns bytes consumed, or -1 after an
   * error or when a callback destroyed the parser: its slot is back in the pool (and may
   * be another parser's already), so not one more byte of it is parsed.
   */
  private run(): number {
    const core = this.core;
    const ex = core.exports;
    const slot = this.slot!;
    const u32 = core.u32;
    const w = core.scratch >>> 2;
    let start = 0;
    while (start < this.pending && !this.paused) {
      const input = slot.data + this.head + start;
      const ret = ex.http_execute(slot.state, input, this.pending - start);
      if (ret === -1) break;
      if (ret < -1) {
        this.fail(-ret, this.consumedTotal + start + u32[w + ABI.RESULT_ERROR_OFFSET / 4]);
        return -1;
      }
      const events = u32[w + ABI.RESULT_EVENTS / 4];
      if ((events & Events.HEAD) !== 0) {
        this.inMessage = true;
        if (this.onHeadValues !== undefined) this.onHeadValues(headValues(core, input), this);
        else this.onHead?.(new RequestHead(core, input, u32[w + ABI.RESULT_HEAD_LEN / 4]), this);
        if (this.slot !== slot) return -1;
      }
      if ((events & Events.BODY) !== 0 && this.onBody !== undefined) {
        const count = u32[w + ABI.RESULT_BODY_COUNT / 4];
        const spans = (core.scratch + ABI.BODY_SPANS_OFFSET) >>> 2;
        for (let i = 0; i < count; i++) {
          const at = input + u32[spans + i * 2];
          this.onBody(core.u8.subarray(at, at + u32[spans + i * 2 + 1]), this);
          if (this.slot !== slot) return -1;
        }
      }
      if ((events & Events.MESSAGE_COMPLETE) !== 0) {
        this.inMessage = false;
        let trailers: HeaderList | null = null;
        if ((events & Events.TRAILERS) !== 0) trailers = readFields(core, input);
        this.onMessageComplete?.(trailers, this);
        if (this.slot !== slot) return -1;
        start += ret;
        const phase = u32[(slot.state + ABI.STATE_PHASE) >>> 2];
        if (phase === Phase.UPGRADED) {
          this.upgradeRest = new Uint8Array(0);
          break;
        }
        continue;
      }
      start += ret;
    }
    return start;
  }
}

const EMPTY = new Uint8Array(0);


/** A byte view (a Buffer where the runtime has Buffer) over a core's whole memory, to decode strings in place (one per core). */
const memoryViews = new WeakMap<WasmCore, Uint8Array>();
function memoryView(core: WasmCore): Uint8Array {
  let b = memoryViews.get(core);
  if (b === undefined) {
    b = bytesOver(core.memory.buffer);
    memoryViews.set(core, b);
  }
  return b;
}

/**
 * The head of the last HEAD event, decoded straight from WASM memory: the whole head as one
 * latin1 string (one call into the runtime), and the target, names and values as
 * substrings of it (V8 makes those without leaving JS; 4x faster than a decode per
 * string on a browser's head, measured). A kept value keeps the head's string alive.
 */
function headValues(core: WasmCore, input: number): HeadValues {
  const u32 = core.u32;
  const w = core.scratch >>> 2;
  const head = latin1(memoryView(core), input, input + u32[w + ABI.RESULT_HEAD_LEN / 4]);
  const t = u32[w + ABI.RESULT_TARGET_OFF / 4];
  const flags = u32[w + ABI.RESULT_FLAGS / 4];
  return {
    method: core.methods[u32[w + ABI.RESULT_METHOD / 4]],
    target: head.substring(t, t + u32[w + ABI.RESULT_TARGET_LEN / 4]),
    version: u32[w + ABI.RESULT_VERSION_MINOR / 4] === 1 ? '1.1' : '1.0',
    flags,
    contentLength: headContentLength(core, flags),
    headers: fieldsOf(u32, (core.scratch + ABI.FIELDS_OFFSET) >>> 2, u32[w + ABI.RESULT_FIELD_COUNT / 4], head, 0),
  };
}

/** n fields of a field table at u32[f..] whose offsets are relative to `text` (less `base`), as [name, value] substrings. */
function fieldsOf(u32: Uint32Array, f: number, n: number, text: string, base: number): HeaderList {
  const list: HeaderList = new Array(n);
  for (let i = 0; i < n; i++) {
    const no = u32[f + i * 4] - base;
    const vo = u32[f + i * 4 + 2] - base;
    list[i] = [text.substring(no, no + u32[f + i * 4 + 1]), text.substring(vo, vo + u32[f + i * 4 + 3])];
  }
  return list;
}

/** The trailer fields of the last TRAILERS event (one string from the first name to the last value's end). */
function readFields(core: WasmCore, input: number): HeaderList {
  const u32 = core.u32;
  const w = core.scratch >>> 2;
  const n = u32[w + ABI.RESULT_FIELD_COUNT / 4];
  const f = (core.scratch + ABI.FIELDS_OFFSET) >>> 2;
  if (n === 0) return [];
  const start = u32[f];
  const last = f + (n - 1) * 4;
  const text = latin1(memoryView(core), input + start, input + u32[last + 2] + u32[last + 3]);
  return fieldsOf(u32, f, n, text, start);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (b.length === 0) return a.length === 0 ? a : a.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
