// The response fast path: {"jsonrpc":"2.0","id":<id>,"result":<result>} around a result
// that is already serialised JSON, written straight into pool memory (where a socket
// write can take it from) — no JSON.stringify of the result, no intermediate string.

import type { WasmCore } from '../wasm/loader.js';
import type { Slot } from '../wasm/pool.js';
import { holdSlot, releaseSlot, type Lease } from '../wasm/leases.js';
import { ConduitError, ErrorCodes } from '../errors.js';
import type { JsonRpcId } from './parse.js';

const enc = new TextEncoder();
const PREFIX = enc.encode('{"jsonrpc":"2.0","id":');
const MIDDLE = enc.encode(',"result":');
const CLOSE = 0x7d; // }

/**
 * Writes JSON-RPC result envelopes into one pool slot. Without a core of the caller's, the
 * slot is held from the shared cores (src/wasm/leases.ts) and a larger one is taken when an
 * envelope does not fit; with one, the slot is the caller's core's, and an envelope larger
 * than its slots is written to a buffer of its own instead (the caller's core is never
 * swapped for another).
 */
export class JsonRpcResultWriter {
  private core: WasmCore;
  private slot: Slot;
  /** The held slot (no core given). */
  private lease: Lease | null;

  constructor(options: { core?: WasmCore; slotSize?: number } = {}) {
    if (options.core !== undefined) {
      this.lease = null;
      this.core = options.core;
      this.slot = this.core.pool.lease();
    } else {
      this.lease = holdSlot(options.slotSize ?? 64 * 1024, this);
      ({ core: this.core, slot: this.slot } = this.lease);
    }
  }

  /**
   * The envelope for `id` around `result` (serialised JSON: bytes or a string), as a view
   * into WASM memory valid until the next call (or, with a core given and an envelope
   * larger than its slots, a buffer of its own). The result is not re-validated: pass
   * what JSON.stringify (or validateJson) produced.
   */
  write(id: JsonRpcId, result: Uint8Array | string): Uint8Array {
    const idText = id === null ? 'null' : typeof id === 'number' ? numberText(id) : JSON.stringify(id);
    const resultBytes = typeof result === 'string' ? enc.encode(result) : result;
    const n = PREFIX.length + idText.length * 3 + MIDDLE.length + resultBytes.length + 1;
    if (n > this.slot.capacity && this.lease !== null) this.grow(n);
    // (the caller's core: its slots are the size they are, and an envelope larger than them
    // gets a buffer of its own)
    const own = n > this.slot.capacity;
    const u8 = own ? new Uint8Array(n) : this.core.u8;
    const start = own ? 0 : this.slot.data;
    let p = start;
    u8.set(PREFIX, p);
    p += PREFIX.length;
    p += encodeUtf8(u8, p, idText);
    u8.set(MIDDLE, p);
    p += MIDDLE.length;
    u8.set(resultBytes, p);
    p += resultBytes.length;
    u8[p++] = CLOSE;
    return u8.subarray(start, p);
  }

  /** Releases the slot. */
  destroy(): void {
    if (this.lease !== null) releaseSlot(this.lease);
    else if (this.core.pool.isLive(this.slot)) this.core.pool.release(this.slot);
  }

  /** A held slot of at least n bytes instead of the one held now. */
  private grow(n: number): void {
    releaseSlot(this.lease!);
    this.lease = holdSlot(n, this);
    ({ core: this.core, slot: this.slot } = this.lease);
  }
}

function numberText(id: number): string {
  if (!Number.isFinite(id)) throw new ConduitError(ErrorCodes.INVALID_OPTION, `a JSON-RPC id must be a finite number, got ${id}`);
  return String(id);
}

/** Writes `s` (JSON.stringify output of an id) as UTF-8: byte by byte when it is ASCII, the common case. */
function encodeUtf8(u8: Uint8Array, p: number, s: string): number {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    for (let i = 0; i < s.length; i++) u8[p + i] = s.charCodeAt(i);
    return s.length;
  }
  const b = enc.encode(s);
  u8.set(b, p);
  return b.length;
}
