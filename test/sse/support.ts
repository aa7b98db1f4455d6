// Shared by the SSE suites: a seeded PRNG, random text with the characters that matter
// to SSE, a plain JavaScript reference framer, and a decoder driver.
import { SseDecoder, type SseMessage } from '../../src/sse/decoder.js';
import type { SseEvent } from '../../src/sse/framer.js';

/** mulberry32: a small, fixed-seed PRNG, so that failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const int = (rand: () => number, n: number) => Math.floor(rand() * n);

// Pieces text is drawn from: line breaks of every kind, NUL, ':' and ' ' (which mean
// something at a line start), 2-, 3- and 4-byte UTF-8, a lone surrogate, a BOM, ASCII.
const PIECES = ['\n', '\r', '\r\n', '\n\r', '\0', ':', ' ', 'é', '€', '😀', '\ud800', '\ufeff', 'data: ', 'a', 'z', '{"x":1}', '\t'];

/** Random text of about `len` UTF-16 units; `plain`: without CR, LF or NUL (for ids and event types). */
export function randomText(rand: () => number, len: number, plain = false): string {
  let s = '';
  while (s.length < len) {
    const r = rand();
    if (r < 0.5) {
      s += 'abcdefghijklmnopqrstuvwxyz0123456789'.slice(int(rand, 30), int(rand, 36) + 1);
    } else {
      const p = PIECES[int(rand, PIECES.length)];
      if (!plain || !/[\r\n\0]/.test(p)) s += p;
    }
  }
  return s;
}

/** What a client receives for `data`: line breaks as LF, invalid UTF-16 as U+FFFD. */
export const received = (data: string) => data.toWellFormed().replace(/\r\n|\r/g, '\n');

/** The reference framer: the wire format of assembly/sse/framer.ts, in plain JavaScript. */
export function referenceFrame(e: SseEvent): Buffer {
  let s = '';
  if (e.id !== undefined) s += `id: ${e.id}\n`;
  if (e.event !== undefined) s += `event: ${e.event}\n`;
  if (e.retry !== undefined) s += `retry: ${e.retry}\n`;
  const data = typeof e.data === 'string' ? e.data : Buffer.from(e.data).toString('latin1');
  s += `data: ${data.replace(/\r\n|\r|\n/g, '\ndata: ')}\n\n`;
  return Buffer.from(s, typeof e.data === 'string' ? 'utf8' : 'latin1');
}

export interface Decoded {
  events: SseMessage[];
  comments: string[];
  retries: number[];
  lastEventId: string;
}

/** Decodes `chunks` as one stream, then ends it. */
export function decodeChunks(chunks: Iterable<Uint8Array>, end = true): Decoded {
  const out: Decoded = { events: [], comments: [], retries: [], lastEventId: '' };
  const d = new SseDecoder({
    onEvent: (e) => out.events.push(e),
    onComment: (t) => out.comments.push(t),
    onRetry: (ms) => out.retries.push(ms),
  });
  for (const c of chunks) d.push(c);
  if (end) d.end();
  out.lastEventId = d.lastEventId;
  return out;
}

/** `bytes` cut at the given (sorted) positions. */
export function split(bytes: Uint8Array, at: number[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const p of at) {
    parts.push(bytes.subarray(prev, p));
    prev = p;
  }
  parts.push(bytes.subarray(prev));
  return parts;
}
