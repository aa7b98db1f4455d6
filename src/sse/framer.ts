// Server-Sent Events framer: the TypeScript face of assembly/sse/framer.ts.
//
// Frame once, write many: frame() returns the event's wire bytes as a Buffer (its own
// memory, not a view into WASM memory) that can be handed to any number of
// subscribers; frameBatch() frames many events into one contiguous Buffer, one write
// per connection. Wire format (and how data line breaks are sent): see the header of
// assembly/sse/framer.ts.
//
// The framer leases one pool slot and cuts it in three:
//
//   ┌ fields F ──────┬ input I ───────────────┬ output O ───────────────────┐
//   │ event, id UTF-8│ data UTF-8              │ frames (a batch appends)    │
//   └────────────────┴────────────────────────┴─────────────────────────────┘
//   F = 1/16 of the slot; I and O share the rest (120 KiB each in a 256 KiB slot).
//
// Strings are encoded straight into the slot (once); the kernel writes the frame into
// the output area; one copy takes it out. An event whose data does not fit the input
// area (or whose frame does not fit the output area) is framed in pieces of K bytes,
// with K small enough that a piece's frame always fits (a piece can grow 7x: every
// byte a line break); the pieces' output is gathered in a growing JS Buffer.

import { WasmCore } from '../wasm/loader.js';
import type { Slot } from '../wasm/pool.js';
import { ConduitError, ErrorCodes, SseErrorCodes } from '../errors.js';
import { SseStatus } from '../wasm/abi.generated.js';
import { allocBytes, bytesOver, copyBytes, utf8Length, writeUtf8 } from '../wasm/text.js';
import { holdSlot, releaseSlot, type Lease } from '../wasm/leases.js';

/** One event. `data` is UTF-8 text (a string, or bytes already encoded). */
export interface SseEvent {
  data: string | Uint8Array;
  /** Sent as `id:` (an empty string is sent too: it resets the client's last event ID). */
  id?: string;
  /** Sent as `event:` (the client's event type; it defaults to "message"). */
  event?: string;
  /** Reconnection time in milliseconds, sent as `retry:` digits. */
  retry?: number;
}

export interface SseFramerOptions {
  /** The WASM core whose pool the framer leases its slot from; default: a 256 KiB slot held in plain memory (src/wasm/leases.ts). */
  core?: WasmCore;
}

interface SseExports {
  sse_frame(out: number, cap: number, data: number, dataLen: number, id: number, idLen: number,
    event: number, eventLen: number, retry: number, hasRetry: number): number;
  sse_open(out: number, cap: number, id: number, idLen: number, event: number, eventLen: number,
    retry: number, hasRetry: number): number;
  sse_lines(out: number, cap: number, text: number, len: number, flags: number): number;
  sse_comment(out: number, cap: number, text: number, len: number): number;
  [global: `SSE_ERR_${string}`]: WebAssembly.Global;
}

// Flags of sse_lines (assembly/sse/exports.ts).
const SKIP_LF = 1;
const CLOSE = 2;
const COMMENT = 4;
const TOO_SMALL = -SseStatus.OUTPUT_TOO_SMALL;
const CR = 13;

const encoder = new TextEncoder();

const checkedCores = new WeakSet<WasmCore>();
function sseExports(core: WasmCore): SseExports {
  const ex = core.exports as unknown as SseExports;
  if (!checkedCores.has(core)) {
    for (const [name, value] of Object.entries(SseStatus)) {
      const g = ex[`SSE_ERR_${name}`];
      if (g === undefined || g.value !== value) {
        throw new ConduitError(ErrorCodes.WASM_ABI,
          `WASM core SSE_ERR_${name} = ${g?.value} but assembly/sse/status.ts (via abi.generated.ts) says ${value}: rebuild with \`npm run build\``);
      }
    }
    checkedCores.add(core);
  }
  return ex;
}

const BY_STATUS: Record<number, [code: string, message: string]> = {
  [SseStatus.ID_LINE_BREAK]: [SseErrorCodes.ID_LINE_BREAK, 'SSE event id contains CR or LF'],
  [SseStatus.ID_NUL]: [SseErrorCodes.ID_NUL, 'SSE event id contains NUL, which clients ignore'],
  [SseStatus.EVENT_LINE_BREAK]: [SseErrorCodes.EVENT_LINE_BREAK, 'SSE event type contains CR or LF'],
  [SseStatus.RETRY_INVALID]: [SseErrorCodes.RETRY_INVALID, 'SSE retry must be an integer between 0 and 2^53 - 1'],
};

/** The ConduitError for a negated SseStatus the kernel returned (never OUTPUT_TOO_SMALL). */
function sseError(status: number): ConduitError {
  const [code, message] = BY_STATUS[status] ?? [ErrorCodes.WASM_ABI, `unexpected SSE kernel status ${status}`];
  return new ConduitError(code, message);
}

const floor64 = (n: number) => Math.floor(n / 64) * 64;

/**
 * Whether Buffer#write(s) into `room` bytes wrote all of s (it wrote n). It stops before
 * a character that does not fit, so it can stop short only when it wrote more than
 * room - 4 bytes; the exact count is asked for only then.
 */
const fits = (s: string, n: number, room: number) =>
  s.length * 3 <= room || n <= room - 4 || n === utf8Length(s);

export class SseFramer {
  readonly core: WasmCore;
  private slot: Slot | null;
  /** The held slot (no core given). */
  private readonly lease: Lease | null;
  private readonly ex: SseExports;
  private readonly u8: Uint8Array;
  /** Bytes over the whole memory, for writeUtf8 (UTF-8 straight into the slot). */
  private readonly mem: Uint8Array;
  private readonly fields: number;
  private readonly fieldsEnd: number;
  private readonly input: number;
  private readonly inputRoom: number;
  private readonly out: number;
  private readonly outEnd: number;
  /** Input bytes per piece, so that a piece's frame always fits the output area. */
  private readonly piece: number;
  private readonly pieceView: Uint8Array;
  /** Output cursor: frames of the current call are in [out, o). */
  private o: number;
  /** Output that did not fit the output area, gathered in JS. */
  private acc: Uint8Array | null;
  private accLen: number;
  private busy: boolean;
  /** The event type whose bytes are at `fields` (undefined: none). */
  private lastType: string | undefined;
  private lastTypeLen: number;

  constructor(options: SseFramerOptions = {}) {
    let core = options.core;
    let slot: Slot;
    if (core === undefined) {
      // (plain memory: frames are copied out, nothing else reads the slot, and V8 copies
      // into and out of plain memory with memcpy)
      this.lease = holdSlot(256 * 1024, this, { shared: false });
      ({ core, slot } = this.lease);
    } else {
      this.lease = null;
      slot = core.pool.lease();
    }
    try {
      this.ex = sseExports(core);
    } catch (err) {
      if (this.lease !== null) releaseSlot(this.lease);
      else core.pool.release(slot);
      throw err;
    }
    this.core = core;
    this.slot = slot;
    this.u8 = core.u8;
    this.mem = bytesOver(core.memory.buffer);
    const cap = slot.capacity;
    const f = Math.max(64, floor64(cap / 16));
    const i = floor64((cap - f) / 2);
    this.fields = slot.data;
    this.fieldsEnd = slot.data + f;
    this.input = this.fieldsEnd;
    this.inputRoom = i;
    this.out = this.input + i;
    this.outEnd = slot.data + cap;
    this.piece = Math.min(i, Math.floor((this.outEnd - this.out - 16) / 7));
    this.pieceView = this.u8.subarray(this.input, this.input + this.piece);
    this.o = this.out;
    this.acc = null;
    this.accLen = 0;
    this.busy = false;
    this.lastType = undefined;
    this.lastTypeLen = 0;
  }

  /** The wire bytes of one event. */
  frame(event: SseEvent): Buffer {
    this.enter();
    try {
      this.add(event);
      return this.take();
    } finally {
      this.leave();
    }
  }

  /** The wire bytes of many events, back to back in one Buffer (the concatenation of their frames). */
  frameBatch(events: Iterable<SseEvent>): Buffer {
    this.enter();
    try {
      if (Array.isArray(events)) {
        for (let i = 0; i < events.length; i++) this.add(events[i]);
      } else {
        for (const e of events) this.add(e);
      }
      return this.take();
    } finally {
      this.leave();
    }
  }

  /**
   * A comment frame, `: <text>\n\n` (one `: ` line per line of text): clients ignore
   * it, which makes it the heartbeat that keeps proxies from closing an idle stream.
   */
  comment(text: string): Buffer {
    this.enter();
    try {
      if (typeof text !== 'string') throw new ConduitError(SseErrorCodes.INVALID_EVENT, 'SSE comment text must be a string');
      const n = this.putData(text);
      const w = n < 0 ? TOO_SMALL : this.ex.sse_comment(this.o, this.outEnd - this.o, this.input, n);
      if (w >= 0) this.o += w;
      else this.pieces(text, 0, -1, -1, 0, 0, true);
      return this.take();
    } finally {
      this.leave();
    }
  }

  /** Releases the framer's slot. Frames already returned stay valid. */
  destroy(): void {
    if (this.slot !== null) {
      if (this.lease !== null) releaseSlot(this.lease);
      else if (this.core.pool.isLive(this.slot)) this.core.pool.release(this.slot);
      this.slot = null;
    }
  }

  private enter(): void {
    if (this.slot === null) throw new ConduitError(ErrorCodes.STALE_SLOT, 'SseFramer used after destroy()');
    if (this.busy) throw new ConduitError(ErrorCodes.INVALID_OPTION, 'SseFramer called again while framing (from an iterator or getter)');
    this.busy = true;
    this.o = this.out;
    this.acc = null;
    this.accLen = 0;
  }

  private leave(): void {
    this.busy = false;
    this.acc = null;
  }

  /** Frames one event at the output cursor. */
  private add(event: SseEvent): void {
    if (typeof event !== 'object' || event === null) {
      throw new ConduitError(SseErrorCodes.INVALID_EVENT, 'an SSE event must be an object { data, id?, event?, retry? }');
    }
    const { id, event: type, retry, data } = event;
    // The event type goes first, at a fixed place, so that a repeated type (the usual
    // case) is not encoded again; the kernel still writes `id:` before `event:`.
    let typeLen = -1;
    if (type !== undefined) {
      if (type === this.lastType) {
        typeLen = this.lastTypeLen;
      } else {
        this.lastType = undefined;
        typeLen = this.putField(type, this.fields, 'event');
        this.lastType = type;
        this.lastTypeLen = typeLen;
      }
    }
    const idAt = this.fields + Math.max(typeLen, 0);
    // Without a type, the id takes the type's place.
    if (typeLen < 0 && id !== undefined) this.lastType = undefined;
    const idLen = id === undefined ? -1 : this.putField(id, idAt, 'id');
    const hasRetry = retry === undefined ? 0 : 1;
    const r = typeof retry === 'number' ? retry : hasRetry === 1 ? NaN : 0;
    let n: number;
    if (typeof data === 'string') {
      n = this.putData(data);
    } else if (data instanceof Uint8Array) {
      n = data.length <= this.inputRoom ? data.length : -1;
      if (n >= 0) this.u8.set(data, this.input);
    } else {
      throw new ConduitError(SseErrorCodes.INVALID_EVENT, 'SSE event data must be a string or a Uint8Array');
    }
    if (n >= 0) {
      let w = this.ex.sse_frame(this.o, this.outEnd - this.o, this.input, n, idAt, idLen, this.fields, typeLen, r, hasRetry);
      if (w === TOO_SMALL && this.o > this.out) {
        this.flush(n + 64);
        w = this.ex.sse_frame(this.o, this.outEnd - this.o, this.input, n, idAt, idLen, this.fields, typeLen, r, hasRetry);
      }
      if (w >= 0) {
        this.o += w;
        return;
      }
      if (w !== TOO_SMALL) throw sseError(-w);
    }
    this.pieces(data, idAt, idLen, typeLen, r, hasRetry, false);
  }

  /** Encodes id or event at `at`; returns its length. */
  private putField(s: unknown, at: number, what: string): number {
    if (typeof s !== 'string') throw new ConduitError(SseErrorCodes.INVALID_EVENT, `SSE event ${what} must be a string`);
    const room = this.fieldsEnd - at;
    const len = s.length;
    if (len <= 32 && len <= room) {
      // Short ASCII (ids are mostly numbers): a JS loop beats a call into C++.
      const u8 = this.u8;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        u8[at + i] = c;
      }
      if (i === len) return len;
    }
    const n = writeUtf8(this.mem, s, at, room);
    if (!fits(s, n, room)) {
      throw new ConduitError(SseErrorCodes.FIELD_TOO_LONG,
        `SSE event id and event type take more than ${this.fieldsEnd - this.fields} bytes (1/16 of the pool slot)`);
    }
    return n;
  }

  /** Encodes text into the input area; returns its length, or -1 when it does not fit. */
  private putData(s: string): number {
    const room = this.inputRoom;
    const n = writeUtf8(this.mem, s, this.input, room);
    return fits(s, n, room) ? n : -1;
  }

  /** Frames an event (or a comment, commentText) whose data is too large for one call, piece by piece. */
  private pieces(data: string | Uint8Array, idAt: number, idLen: number, typeLen: number, retry: number, hasRetry: number,
    comment: boolean): void {
    const ex = this.ex;
    this.flush(data.length + 64);
    if (comment) {
      this.u8[this.o++] = 0x3a;
      this.u8[this.o++] = 0x20;
    } else {
      const w = ex.sse_open(this.o, this.outEnd - this.o, idAt, idLen, this.fields, typeLen, retry, hasRetry);
      if (w < 0) throw sseError(-w);
      this.o += w;
    }
    const kind = comment ? COMMENT : 0;
    let skip = 0;
    let pos = 0;
    for (;;) {
      let n: number;
      if (typeof data === 'string') {
        const r = encoder.encodeInto(pos === 0 ? data : data.substring(pos), this.pieceView);
        pos += r.read;
        n = r.written;
      } else {
        n = Math.min(this.piece, data.length - pos);
        this.u8.set(data.subarray(pos, pos + n), this.input);
        pos += n;
      }
      const last = pos >= data.length;
      if (this.outEnd - this.o < n * 7 + 16) this.flush((data.length - pos) + 64);
      const w = ex.sse_lines(this.o, this.outEnd - this.o, this.input, n, kind | skip | (last ? CLOSE : 0));
      if (w < 0) throw sseError(-w);
      this.o += w;
      if (last) return;
      if (n > 0) skip = this.u8[this.input + n - 1] === CR ? SKIP_LF : 0;
    }
  }

  /** Moves the output area's frames to the JS buffer; `more`: bytes expected after them. */
  private flush(more: number): void {
    const n = this.o - this.out;
    if (n === 0) return;
    let acc = this.acc;
    if (acc === null || acc.length - this.accLen < n) {
      const grown = allocBytes(Math.max(this.accLen + n + more, acc === null ? 0 : acc.length * 2));
      if (acc !== null) grown.set(acc.subarray(0, this.accLen));
      this.acc = acc = grown;
    }
    acc.set(this.u8.subarray(this.out, this.o), this.accLen);
    this.accLen += n;
    this.o = this.out;
  }

  /** The frames of the current call, as a Buffer of their own. */
  private take(): Buffer {
    if (this.acc === null) {
      const n = this.o - this.out;
      const b = allocBytes(n);
      b.set(this.u8.subarray(this.out, this.o));
      return b as Buffer;
    }
    this.flush(0);
    const acc = this.acc;
    const len = this.accLen;
    // A buffer much larger than its frames would pin the slack while subscribers hold it.
    if (len < acc.length - (acc.length >>> 2)) return copyBytes(acc.subarray(0, len)) as Buffer;
    return acc.subarray(0, len) as Buffer;
  }
}
