// The SSE decoder against WHATWG HTML §9.2.6 "Interpreting an event stream". Cases are
// data: input → the events dispatched (type, data, lastEventId). Each case is fed whole,
// cut at every split point, cut at every pair of split points (short inputs), and byte
// by byte: the result must not depend on how the bytes arrive.
import { describe, expect, it } from 'vitest';
import { SseDecoder } from '../../src/sse/decoder.js';
import { decodeChunks, split, type Decoded } from './support.js';

type Ev = [type: string, data: string, lastEventId: string];
interface Case {
  name: string;
  /** The stream: a string (sent as UTF-8), or raw bytes. */
  input: string | Uint8Array;
  events: Ev[];
  comments?: string[];
  retries?: number[];
  /** lastEventId after the stream (default: that of the last event, or ''). */
  lastEventId?: string;
}

const raw = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

const CASES: Case[] = [
  { name: 'one event', input: 'data: hello\n\n', events: [['message', 'hello', '']] },
  { name: 'no space after the colon', input: 'data:hello\n\n', events: [['message', 'hello', '']] },
  { name: 'only one leading space is stripped', input: 'data:  two\n\n', events: [['message', ' two', '']] },
  { name: 'a colon in the value', input: 'data: a:b: c\n\n', events: [['message', 'a:b: c', '']] },
  { name: 'data lines joined with LF', input: 'data: YHOO\ndata: +2\ndata: 10\n\n', events: [['message', 'YHOO\n+2\n10', '']] },
  { name: 'CRLF line ends', input: 'data: a\r\ndata: b\r\n\r\n', events: [['message', 'a\nb', '']] },
  { name: 'CR line ends', input: 'data: a\rdata: b\r\r', events: [['message', 'a\nb', '']] },
  { name: 'CR then CRLF: CR ends a line, CRLF the next (blank) one', input: 'data: a\r\r\ndata: b\n\n', events: [['message', 'a', ''], ['message', 'b', '']] },
  { name: 'LF CR is two line ends', input: 'data: a\n\rdata: b\n\n', events: [['message', 'a', ''], ['message', 'b', '']] },
  { name: 'a final LF survives only as an empty last line', input: 'data: a\ndata: \n\n', events: [['message', 'a\n', '']] },
  { name: 'empty data line dispatches ""', input: 'data:\n\n', events: [['message', '', '']] },
  { name: 'blank lines alone dispatch nothing', input: '\n\n\r\n\rdata: x\n\n\n\n', events: [['message', 'x', '']] },
  { name: 'a field name without a colon has an empty value (spec example)', input: 'data\n\ndata\ndata\n\ndata:', events: [['message', '', ''], ['message', '\n', '']] },
  { name: 'field names are case-sensitive', input: 'Data: a\n\nDATA: b\n\n', events: [] },
  { name: 'space before the colon is part of the name', input: 'data : a\n\n', events: [] },
  { name: 'unknown fields are ignored', input: 'foo: bar\ndata: a\nbaz\n\n', events: [['message', 'a', '']] },
  { name: 'comments', input: ': hello\ndata: x\n:another\n:\n\n', events: [['message', 'x', '']], comments: ['hello', 'another', ''] },
  { name: 'a comment and a blank line (heartbeat) dispatch nothing', input: ': keepalive\n\n: keepalive\n\n', events: [], comments: ['keepalive', 'keepalive'] },
  { name: 'event type', input: 'event: add\ndata: 1\n\ndata: 2\n\n', events: [['add', '1', ''], ['message', '2', '']] },
  { name: 'empty event type means message', input: 'event:\ndata: 1\n\n', events: [['message', '1', '']] },
  { name: 'last event type wins', input: 'event: a\nevent: b\ndata: 1\n\n', events: [['b', '1', '']] },
  { name: 'an event with no data is not dispatched, and its type is reset', input: 'event: x\n\ndata: y\n\n', events: [['message', 'y', '']] },
  { name: 'last event ID carries over', input: 'id: 1\ndata: a\n\ndata: b\n\n', events: [['message', 'a', '1'], ['message', 'b', '1']] },
  { name: 'id with no value resets it', input: 'id: 1\ndata: a\n\nid\ndata: b\n\n', events: [['message', 'a', '1'], ['message', 'b', '']] },
  { name: 'id containing NUL is ignored', input: 'id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n', events: [['message', 'a', '1'], ['message', 'b', '1']] },
  { name: 'id without data still sets the last event ID', input: 'id: 5\n\ndata: a\n\nid: 6\n\n', events: [['message', 'a', '5']], lastEventId: '6' },
  { name: 'id keeps a second leading space', input: 'id:  7 \ndata: a\n\n', events: [['message', 'a', ' 7 ']] },
  { name: 'id is set where its line is, for the event being built', input: 'data: a\nid: 3\n\n', events: [['message', 'a', '3']] },
  { name: 'retry: digits only', input: 'retry: 1000\nretry: 10a\nretry: -1\nretry:\nretry:  100\nretry: 1.5\nretry: 0\nretry: 007\ndata: a\n\n', events: [['message', 'a', '']], retries: [1000, 0, 7] },
  { name: 'spec example: ids and a final incomplete event', input: ': test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n', events: [['message', 'first event', '1'], ['message', 'second event', '']], comments: ['test stream'] },
  { name: 'an event not ended by a blank line is discarded at the end', input: 'data: a\n\ndata: b\n', events: [['message', 'a', '']] },
  { name: 'an unterminated last line is discarded', input: 'data: a\n\ndata: b', events: [['message', 'a', '']] },
  { name: 'UTF-8 BOM at the start is dropped', input: '\ufeffdata: x\n\n', events: [['message', 'x', '']] },
  { name: 'only one BOM is dropped: a second one is part of the field name', input: '\ufeff\ufeffdata: x\n\ndata: y\n\n', events: [['message', 'y', '']] },
  { name: 'a BOM after the start is text', input: 'data: a\n\n\ufeffdata: b\n\ndata: \ufeffc\n\n', events: [['message', 'a', ''], ['message', '\ufeffc', '']] },
  { name: 'a partial BOM is text', input: raw([0xef, 0xbb], 'data: a\n\n'), events: [] },
  { name: 'BOM then CRLF', input: '\ufeff\r\ndata: a\r\n\r\n', events: [['message', 'a', '']] },
  { name: 'multi-byte UTF-8', input: 'event: é\ndata: h€llo 😀\nid: ✓\n\n', events: [['é', 'h€llo 😀', '✓']] },
  { name: 'invalid UTF-8 becomes U+FFFD', input: raw('data: ', [0xff, 0xfe], ' a\n\n'), events: [['message', '\ufffd\ufffd a', '']] },
  { name: 'a UTF-8 sequence cut by a line end becomes U+FFFD', input: raw('data: ', [0xe2, 0x82], '\ndata: ', [0xe2, 0x82, 0xac], '\n\n'), events: [['message', '\ufffd\n€', '']] },
  { name: 'NUL in data is kept', input: 'data: a\0b\n\n', events: [['message', 'a\0b', '']] },
];

const bytesOf = (c: Case) => (typeof c.input === 'string' ? Buffer.from(c.input, 'utf8') : c.input);

function expected(c: Case): Decoded {
  return {
    events: c.events.map(([type, data, lastEventId]) => ({ type, data, lastEventId, retry: undefined })),
    comments: c.comments ?? [],
    retries: c.retries ?? [],
    lastEventId: c.lastEventId ?? c.events.at(-1)?.[2] ?? '',
  };
}

/** Compares without the `retry` of each event (checked apart, below). */
function strip(d: Decoded): Decoded {
  return { ...d, events: d.events.map((e) => ({ ...e, retry: undefined })) };
}

describe('SseDecoder: WHATWG event stream interpretation', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const bytes = bytesOf(c);
      const want = expected(c);
      expect(strip(decodeChunks([bytes]))).toEqual(want);
      for (let i = 0; i <= bytes.length; i++) {
        expect(strip(decodeChunks(split(bytes, [i]))), `split at ${i}`).toEqual(want);
      }
      if (bytes.length <= 64) {
        for (let i = 1; i < bytes.length; i++) {
          for (let j = i; j < bytes.length; j++) {
            expect(strip(decodeChunks(split(bytes, [i, j]))), `split at ${i}, ${j}`).toEqual(want);
          }
        }
      }
      const single = Array.from(bytes, (_, k) => bytes.subarray(k, k + 1));
      expect(strip(decodeChunks(single)), 'byte by byte').toEqual(want);
    });
  }
});

describe('SseDecoder API', () => {
  it('events carry the reconnection time in effect', () => {
    const d = decodeChunks([Buffer.from('data: a\n\nretry: 250\ndata: b\n\nretry: x\ndata: c\n\n')]);
    expect(d.events.map((e) => e.retry)).toEqual([undefined, 250, 250]);
  });

  it('end() discards an incomplete event; the next stream keeps lastEventId and retry but not the id buffer', () => {
    const events: string[] = [];
    const d = new SseDecoder({ onEvent: (e) => events.push(`${e.data}@${e.lastEventId}`) });
    d.push(Buffer.from('id: 1\nretry: 5\ndata: a\n\nid: 2\ndata: lost\n'));
    d.end();
    expect(d.lastEventId).toBe('1');
    expect(d.retry).toBe(5);
    // A new stream: a BOM is allowed again; its first event has no id line.
    d.push(Buffer.from('\ufeffdata: b\n\n'));
    expect(events).toEqual(['a@1', 'b@']);
    expect(d.retry).toBe(5);
  });

  it('end() between CR and LF: the LF of the next stream is a line of its own', () => {
    const events: string[] = [];
    const d = new SseDecoder({ onEvent: (e) => events.push(e.data) });
    d.push(Buffer.from('data: a\r'));
    d.end();
    d.push(Buffer.from('\ndata: b\n\n'));
    expect(events).toEqual(['b']);
  });

  it('callbacks can be set after construction, and are optional', () => {
    const d = new SseDecoder();
    d.push(Buffer.from(': c\nretry: 1\ndata: a\n\n'));
    const seen: string[] = [];
    d.onEvent = (e) => seen.push(e.data);
    d.push(Buffer.from('data: b\n\n'));
    expect(seen).toEqual(['b']);
    expect(d.retry).toBe(1);
  });

  it('long lines across many chunks', () => {
    const long = 'x'.repeat(100_000);
    const bytes = Buffer.from(`data: ${long}\ndata: ${long}\r\n\r\n`);
    const chunks = split(bytes, Array.from({ length: 97 }, (_, k) => Math.floor((k + 1) * bytes.length / 98)));
    expect(decodeChunks(chunks).events.map((e) => e.data)).toEqual([`${long}\n${long}`]);
  });
});
