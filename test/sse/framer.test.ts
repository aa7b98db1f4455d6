// The SSE framer: exact bytes, errors, comments, batches, the piece path for large
// events, the kernel's bounds, and SIMD/scalar agreement. Every suite runs on both builds.
import { describe, expect, it } from 'vitest';
import { ConduitError, WasmCore, type WasmVariant } from '../../src/index.js';
import { SseFramer, type SseEvent } from '../../src/sse/framer.js';
import { SseStatus } from '../../src/wasm/abi.generated.js';
import { int, prng, randomText, referenceFrame } from './support.js';

const VARIANTS: WasmVariant[] = ['simd', 'scalar'];
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConduitError);
    return (err as ConduitError).code;
  }
  return undefined;
}

const EXACT: Array<[SseEvent, string]> = [
  [{ data: 'hello' }, 'data: hello\n\n'],
  [{ data: '' }, 'data: \n\n'],
  [{ data: '{"jsonrpc":"2.0","method":"notifications/progress"}', event: 'message', id: '42' },
    'id: 42\nevent: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n'],
  [{ data: 'x', id: '', event: '', retry: 0 }, 'id: \nevent: \nretry: 0\ndata: x\n\n'],
  [{ data: 'x', retry: 9007199254740991 }, 'retry: 9007199254740991\ndata: x\n\n'],
  [{ data: 'a\nb' }, 'data: a\ndata: b\n\n'],
  [{ data: 'a\r\nb\rc\n\rd' }, 'data: a\ndata: b\ndata: c\ndata: \ndata: d\n\n'],
  [{ data: '\n' }, 'data: \ndata: \n\n'],
  [{ data: 'trailing\r\n' }, 'data: trailing\ndata: \n\n'],
  [{ data: ' lead: space' }, 'data:  lead: space\n\n'],
  [{ data: 'é😀\0€' }, 'data: é😀\0€\n\n'],
  [{ data: 'x', id: 'tab\there', event: 'nul\0ok' }, 'id: tab\there\nevent: nul\0ok\ndata: x\n\n'],
  [{ data: Buffer.from('bytes\r\nok') }, 'data: bytes\ndata: ok\n\n'],
  [{ data: 'x'.repeat(40) + '\n' + 'y'.repeat(17) }, `data: ${'x'.repeat(40)}\ndata: ${'y'.repeat(17)}\n\n`],
];

describe.each(VARIANTS)('SseFramer (%s build)', (variant) => {
  const core = new WasmCore({ variant, slotCount: 4, slotSize: 1024 });
  const framer = new SseFramer({ core });

  it('frames events to the exact expected bytes', () => {
    for (const [event, wire] of EXACT) {
      expect(text(framer.frame(event)), JSON.stringify(event)).toBe(wire);
    }
  });

  it('a repeated event type is written again correctly whatever came between', () => {
    const seq: Array<[SseEvent, string]> = [
      [{ event: 'update', data: '1' }, 'event: update\ndata: 1\n\n'],
      [{ id: 'zzzzzzzz', data: '2' }, 'id: zzzzzzzz\ndata: 2\n\n'],
      [{ event: 'update', id: '7', data: '3' }, 'id: 7\nevent: update\ndata: 3\n\n'],
      [{ event: 'update', data: '4' }, 'event: update\ndata: 4\n\n'],
      [{ event: 'up', data: '5' }, 'event: up\ndata: 5\n\n'],
      [{ event: 'update', id: 'é', data: '6' }, 'id: é\nevent: update\ndata: 6\n\n'],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [event, wire] of seq) expect(text(framer.frame(event))).toBe(wire);
      expect(text(framer.frameBatch(seq.map(([e]) => e)))).toBe(seq.map(([, w]) => w).join(''));
    }
  });

  it('refuses CR/LF in id and event, NUL in id, and a retry that is not an integer in range', () => {
    const cases: Array<[SseEvent, string]> = [
      [{ data: '', id: 'a\nb' }, 'CONDUIT_ERR_SSE_ID_LINE_BREAK'],
      [{ data: '', id: 'a\r' }, 'CONDUIT_ERR_SSE_ID_LINE_BREAK'],
      [{ data: '', id: 'a\0' }, 'CONDUIT_ERR_SSE_ID_NUL'],
      [{ data: '', event: '\nx' }, 'CONDUIT_ERR_SSE_EVENT_LINE_BREAK'],
      [{ data: '', event: 'x\r\n' }, 'CONDUIT_ERR_SSE_EVENT_LINE_BREAK'],
      [{ data: '', retry: -1 }, 'CONDUIT_ERR_SSE_RETRY_INVALID'],
      [{ data: '', retry: 1.5 }, 'CONDUIT_ERR_SSE_RETRY_INVALID'],
      [{ data: '', retry: NaN }, 'CONDUIT_ERR_SSE_RETRY_INVALID'],
      [{ data: '', retry: Infinity }, 'CONDUIT_ERR_SSE_RETRY_INVALID'],
      [{ data: '', retry: 2 ** 53 }, 'CONDUIT_ERR_SSE_RETRY_INVALID'],
      [{ data: '', retry: '5' as unknown as number }, 'CONDUIT_ERR_SSE_RETRY_INVALID'],
      [{ data: 5 as unknown as string }, 'CONDUIT_ERR_SSE_INVALID_EVENT'],
      [{ data: '', id: 7 as unknown as string }, 'CONDUIT_ERR_SSE_INVALID_EVENT'],
      [null as unknown as SseEvent, 'CONDUIT_ERR_SSE_INVALID_EVENT'],
      [{ data: '', id: 'i'.repeat(40), event: 'e'.repeat(40) }, 'CONDUIT_ERR_SSE_FIELD_TOO_LONG'],
      // Large data takes the piece path: its fields are checked there too.
      [{ data: 'd'.repeat(5000), id: 'a\nb' }, 'CONDUIT_ERR_SSE_ID_LINE_BREAK'],
    ];
    for (const [event, code] of cases) {
      expect(codeOf(() => framer.frame(event)), JSON.stringify(event)).toBe(code);
      expect(codeOf(() => framer.frameBatch([{ data: 'ok' }, event])), 'in a batch').toBe(code);
    }
    // The framer is usable after an error.
    expect(text(framer.frame({ data: 'ok' }))).toBe('data: ok\n\n');
  });

  it('id and event may together fill the field area (1/16 of the slot) but no more', () => {
    expect(text(framer.frame({ data: '', id: 'i'.repeat(32), event: 'é'.repeat(16) })))
      .toBe(`id: ${'i'.repeat(32)}\nevent: ${'é'.repeat(16)}\ndata: \n\n`);
    expect(codeOf(() => framer.frame({ data: '', id: 'i'.repeat(33), event: 'é'.repeat(16) }))).toBe('CONDUIT_ERR_SSE_FIELD_TOO_LONG');
  });

  it('comment frames: one ": " line per line of text', () => {
    expect(text(framer.comment('keepalive'))).toBe(': keepalive\n\n');
    expect(text(framer.comment(''))).toBe(': \n\n');
    expect(text(framer.comment('a\r\nb\rc\n'))).toBe(': a\n: b\n: c\n: \n\n');
    const long = 'k'.repeat(3000) + '\r\n' + 'm'.repeat(3000);
    expect(text(framer.comment(long))).toBe(`: ${'k'.repeat(3000)}\n: ${'m'.repeat(3000)}\n\n`);
  });

  it('a batch is the concatenation of the single frames (also past the output area)', () => {
    const rand = prng(7);
    for (let round = 0; round < 200; round++) {
      const events: SseEvent[] = [];
      for (let k = int(rand, 12); k >= 0; k--) {
        events.push({ data: randomText(rand, int(rand, rand() < 0.1 ? 3000 : 120)), id: rand() < 0.5 ? String(round) : undefined });
      }
      const batch = framer.frameBatch(events);
      expect(Buffer.compare(batch, Buffer.concat(events.map((e) => framer.frame(e))))).toBe(0);
      expect(Buffer.compare(framer.frameBatch(events.values()), batch), 'from an iterator').toBe(0);
    }
    expect(framer.frameBatch([]).length).toBe(0);
  });

  it('large events (framed in pieces) with CR, LF and multi-byte characters at every piece boundary', () => {
    // 1 KiB slots: 448 input bytes, pieces of 70 bytes.
    for (let at = 0; at < 300; at++) {
      for (const [brk, ch] of [['\r\n', 'a'], ['\r', 'é'], ['\n', '😀']]) {
        const data = 'a'.repeat(at) + brk + ch.repeat(600);
        expect(Buffer.compare(framer.frame({ data }), referenceFrame({ data })), `${JSON.stringify(brk)} at ${at}`).toBe(0);
        const bytes = Buffer.from(data);
        expect(Buffer.compare(framer.frame({ data: bytes, id: '1' }), referenceFrame({ data: bytes, id: '1' }))).toBe(0);
      }
    }
    const many = '\n'.repeat(5000);
    expect(Buffer.compare(framer.frame({ data: many, event: 'e' }), referenceFrame({ data: many, event: 'e' }))).toBe(0);
  });

  it('every byte value before and after a line break, at every lane of a block', () => {
    // Catches masks that flag a neighbour of CR/LF (e.g. SWAR borrow tests flag 0x0B
    // after LF) and lane/block-boundary slips.
    for (let c = 0; c < 256; c++) {
      for (const brk of [[10], [13], [13, 10], [10, 13]]) {
        for (let at = 0; at < 18; at++) {
          const data = new Uint8Array([...Array(at).fill(97), c, ...brk, c, c, ...brk, ...brk, c]);
          const want = referenceFrame({ data });
          expect(Buffer.compare(framer.frame({ data }), want), `byte ${c} around ${brk} at ${at}`).toBe(0);
        }
      }
    }
  });

  it('frames are buffers of their own: later frames do not change them', () => {
    const a = framer.frame({ data: 'first' });
    framer.frame({ data: 'second' });
    expect(text(a)).toBe('data: first\n\n');
    expect(a.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });

  it('calling the framer again while it frames (from an iterator) is refused', () => {
    function* events(): Generator<SseEvent> {
      yield { data: 'a' };
      framer.frame({ data: 'inner' });
    }
    expect(codeOf(() => framer.frameBatch(events()))).toBe('CONDUIT_ERR_INVALID_OPTION');
    expect(text(framer.frame({ data: 'after' }))).toBe('data: after\n\n');
  });

  it('destroy() releases the slot; the framer then refuses to frame', () => {
    const before = core.pool.available;
    const f = new SseFramer({ core });
    expect(core.pool.available).toBe(before - 1);
    f.destroy();
    f.destroy();
    expect(core.pool.available).toBe(before);
    expect(codeOf(() => f.frame({ data: 'x' }))).toBe('CONDUIT_ERR_STALE_SLOT');
  });

  it('the module exports the SSE status codes the TypeScript mirror expects', () => {
    const ex = core.exports as unknown as Record<string, WebAssembly.Global>;
    for (const [name, value] of Object.entries(SseStatus)) expect(ex[`SSE_ERR_${name}`]?.value, name).toBe(value);
  });
});

describe('SseFramer on the shared core', () => {
  it('leases a slot of a shared core when given none, and frames large events in one call', () => {
    const a = new SseFramer();
    const b = new SseFramer();
    expect(a.core).toBe(b.core);
    const before = a.core.pool.available;
    const data = 'line\n'.repeat(20_000);
    expect(Buffer.compare(a.frame({ data }), referenceFrame({ data }))).toBe(0);
    a.destroy();
    expect(a.core.pool.available).toBe(before + 1);
    b.destroy();
  });
});

describe.each(VARIANTS)('sse kernel bounds (%s build)', (variant) => {
  const core = new WasmCore({ variant, slotCount: 2, slotSize: 1024 });
  const ex = core.exports as unknown as {
    sse_frame(out: number, cap: number, data: number, dataLen: number, id: number, idLen: number, event: number,
      eventLen: number, retry: number, hasRetry: number): number;
    sse_comment(out: number, cap: number, text: number, len: number): number;
  };
  const u8 = core.u8;
  // The last slot ends 64 bytes before the end of memory: inputs put flush against the
  // end of its data make any read past the padding trap.
  const first = core.pool.lease();
  const last = core.pool.lease();
  const end = last.data + last.capacity;
  const out = last.data;

  it('writes nothing past the output capacity, and reports OUTPUT_TOO_SMALL below the exact size', () => {
    const rand = prng(11);
    for (let round = 0; round < 300; round++) {
      const data = Buffer.from(randomText(rand, int(rand, 90)));
      const id = Buffer.from(randomText(rand, int(rand, 6), true));
      const at = end - data.length;
      u8.set(data, at);
      const idAt = first.data;
      u8.set(id, idAt);
      const want = referenceFrame({ data: data.toString(), id: id.toString(), retry: 30 });
      for (let cap = 0; cap <= want.length + 20; cap++) {
        u8.fill(0xaa, out, out + 600);
        const n = ex.sse_frame(out, cap, at, data.length, idAt, id.length, 0, -1, 30, 1);
        if (cap < want.length) {
          expect(n, `cap ${cap}`).toBe(-SseStatus.OUTPUT_TOO_SMALL);
        } else {
          expect(n).toBe(want.length);
          expect(Buffer.compare(u8.subarray(out, out + n), want)).toBe(0);
        }
        expect(u8.subarray(out + cap, out + 600).every((b) => b === 0xaa), `wrote past cap ${cap}`).toBe(true);
      }
      const c = ex.sse_comment(out, 600, at, data.length);
      expect(Buffer.from(u8.subarray(out, out + c)).toString()).toBe(`: ${data.toString().replace(/\r\n|\r|\n/g, '\n: ')}\n\n`);
    }
  });
});

describe('SIMD and scalar builds frame byte-identical output', () => {
  it('over random events', () => {
    const simd = new SseFramer({ core: new WasmCore({ variant: 'simd', slotCount: 1, slotSize: 4096 }) });
    const scalar = new SseFramer({ core: new WasmCore({ variant: 'scalar', slotCount: 1, slotSize: 4096 }) });
    const rand = prng(42);
    for (let round = 0; round < 3000; round++) {
      const event: SseEvent = {
        data: randomText(rand, int(rand, rand() < 0.05 ? 20_000 : 300)),
        id: rand() < 0.3 ? randomText(rand, int(rand, 10), true) : undefined,
        event: rand() < 0.3 ? randomText(rand, int(rand, 10), true) : undefined,
        retry: rand() < 0.1 ? int(rand, 100_000) : undefined,
      };
      const a = simd.frame(event);
      expect(Buffer.compare(a, scalar.frame(event)), `round ${round}`).toBe(0);
      expect(Buffer.compare(a, referenceFrame(event)), `round ${round} vs reference`).toBe(0);
    }
  });
});
