// The response fast path: {"jsonrpc":"2.0","id":<id>,"result":<result>} around a result
// that is already serialised JSON, written straight into pool memory (where a socket
// write can take it from) — no JSON.stringify of the result, no intermediate string.

import { WasmCore } from '../wasm/loader.js';
import type { Slot } from '../wasm/pool.js';
import { ConduitError, ErrorCodes } from '../errors.js';
import type { JsonRpcId } from './parse.js';

const enc = new TextEncoder();
const PREFIX = enc.encode('{"jsonrpc":"2.0","id":');
const MIDDLE = enc.encode(',"result":');
const CLOSE = 0x7d; // }

/** Writes JSON-RPC result envelopes into one pool slot (the slot grows by re-leasing on a bigger core). */
export class JsonRpcResultWriter {
  private core: WasmCore;
  private slot: Slot;

  constructor(options: { core?: WasmCore; slotSize?: number } = {}) {
    this.core = options.core ?? new WasmCore({ slotSize: options.slotSize ?? 64 * 1024, slotCount: 1 });
    this.slot = this.core.pool.lease();
  }

  /**
   * The envelope for `id` around `result` (serialised JSON: bytes or a string), as a view
   * into WASM memory valid until the next call. The result is not re-validated: pass
   * what JSON.stringify (or validateJson) produced.
   */
  write(id: JsonRpcId, result: Uint8Array | string): Uint8Array {
    const idText = id === null ? 'null' : typeof id === 'number' ? numberText(id) : JSON.stringify(id);
    const resultBytes = typeof result === 'string' ? enc.encode(result) : result;
    const n = PREFIX.length + idText.length * 3 + MIDDLE.length + resultBytes.length + 1;
    if (n > this.slot.capacity) this.grow(n);
    const u8 = this.core.u8;
    let p = this.slot.data;
    u8.set(PREFIX, p);
    p += PREFIX.length;
    p += encodeUtf8(u8, p, idText);
    u8.set(MIDDLE, p);
    p += MIDDLE.length;
    u8.set(resultBytes, p);
    p += resultBytes.length;
    u8[p++] = CLOSE;
    return u8.subarray(this.slot.data, p);
  }

  /** Releases the slot. */
  destroy(): void {
    if (this.core.pool.isLive(this.slot)) this.core.pool.release(this.slot);
  }

  private grow(n: number): void {
    this.destroy();
    let size = this.slot.capacity * 2;
    while (size < n) size *= 2;
    this.core = new WasmCore({ slotSize: size, slotCount: 1 });
    this.slot = this.core.pool.lease();
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
