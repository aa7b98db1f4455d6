// Bytes and strings for the WASM core's TypeScript face, with no `node:` import: the
// runtime's Buffer where it has one (Node, Bun and Deno all do; its latin1Slice and write
// are the fastest way V8 has to make and fill these strings), portable code otherwise
// (browsers, workers). Both paths give the same strings and bytes; test/core checks it.
//
// Contract: latin1() and writeUtf8() take byte arrays made by bytesOver() or allocBytes()
// (Buffers where the runtime has Buffer).

interface BufferLike extends Uint8Array {
  latin1Slice(start: number, end: number): string;
  write(s: string, offset: number, length: number, encoding: 'utf8'): number;
}
interface BufferCtor {
  from(buffer: ArrayBufferLike): BufferLike;
  allocUnsafe(n: number): BufferLike;
  byteLength(s: string, encoding: 'utf8'): number;
  prototype: BufferLike;
}

const NodeBuffer = (globalThis as unknown as { Buffer?: BufferCtor }).Buffer;
/** Whether the runtime's Buffer (with the methods used here) is used. */
export const nativeBuffer = NodeBuffer !== undefined && typeof NodeBuffer.prototype.latin1Slice === 'function' &&
  typeof NodeBuffer.allocUnsafe === 'function';

const encoder = new TextEncoder();

/** A byte view over a whole (WebAssembly) memory buffer, for latin1()/writeUtf8() in place. */
export const bytesOver: (buffer: ArrayBufferLike) => Uint8Array = nativeBuffer
  ? (buffer) => NodeBuffer!.from(buffer)
  : (buffer) => new Uint8Array(buffer);

/** n uninitialised (Buffer) or zeroed (portable) bytes. */
export const allocBytes: (n: number) => Uint8Array = nativeBuffer
  ? (n) => NodeBuffer!.allocUnsafe(n)
  : (n) => new Uint8Array(n);

// (String.fromCharCode.apply takes at most ~64K arguments on some engines: 4 KiB pieces)
const PIECE = 4096;
function latin1Portable(b: Uint8Array, start: number, end: number): string {
  if (end - start <= PIECE) return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
  let s = '';
  for (let i = start; i < end; i += PIECE) {
    s += String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + PIECE)) as unknown as number[]);
  }
  return s;
}

/**
 * b[start, end) as latin1 (each byte one UTF-16 unit), as Node decodes header bytes.
 * Not TextDecoder('latin1'): the Encoding Standard maps that label to windows-1252.
 */
export const latin1: (b: Uint8Array, start: number, end: number) => string = nativeBuffer
  ? (b, start, end) => (b as BufferLike).latin1Slice(start, end)
  : latin1Portable;

/**
 * Writes s as UTF-8 into b at `at`, at most `room` bytes, never a partial character;
 * returns the bytes written.
 */
export const writeUtf8: (b: Uint8Array, s: string, at: number, room: number) => number = nativeBuffer
  ? (b, s, at, room) => (b as BufferLike).write(s, at, room, 'utf8')
  : (b, s, at, room) => encoder.encodeInto(s, b.subarray(at, at + room)).written;

/** The UTF-8 length of s (a lone surrogate counts 3 bytes, as it is written as U+FFFD). */
export const utf8Length: (s: string) => number = nativeBuffer
  ? (s) => NodeBuffer!.byteLength(s, 'utf8')
  : utf8LengthPortable;

function utf8LengthPortable(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: 4 bytes for 2 units
      i++;
    } else n += 2;
  }
  return n;
}

/** A copy of b (a Buffer where the runtime has one). */
export function copyBytes(b: Uint8Array): Uint8Array {
  const out = allocBytes(b.length);
  out.set(b);
  return out;
}
