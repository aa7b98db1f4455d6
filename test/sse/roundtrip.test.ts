// Framer → decoder: random events (data with CR, LF, CRLF, NUL, multi-byte UTF-8, lone
// surrogates, BOMs), framed singly, in batches and with comments between, cut into
// random chunks, decoded. Each event must come back with its type, its data (line
// breaks as LF: SSE cannot carry a CR), the last event ID and the retry in effect.
import { describe, expect, it } from 'vitest';
import { WasmCore, type WasmVariant } from '../../src/index.js';
import { SseFramer, type SseEvent } from '../../src/sse/framer.js';
import { decodeChunks, int, prng, randomText, received, split } from './support.js';

const VARIANTS: WasmVariant[] = ['simd', 'scalar'];

describe.each(VARIANTS)('SSE round trip (%s build)', (variant) => {
  it('decoded events equal the framed ones, however the bytes are split', () => {
    // 2 KiB slots: events over ~900 bytes take the piece path.
    const framers = [
      new SseFramer({ core: new WasmCore({ variant, slotCount: 1, slotSize: 2048 }) }),
      new SseFramer({ core: new WasmCore({ variant, slotCount: 1 }) }),
    ];
    const rand = prng(variant === 'simd' ? 1 : 2);
    for (let round = 0; round < 3000; round++) {
      const framer = framers[round & 1];
      const events: SseEvent[] = [];
      for (let k = 1 + int(rand, 4); k > 0; k--) {
        events.push({
          data: randomText(rand, int(rand, rand() < 0.05 ? 5000 : 200)),
          id: rand() < 0.4 ? randomText(rand, int(rand, 8), true) : undefined,
          event: rand() < 0.3 ? randomText(rand, int(rand, 8), true) : undefined,
          retry: rand() < 0.1 ? int(rand, 1e6) : undefined,
        });
      }
      const parts: Buffer[] = [];
      if (rand() < 0.5) {
        parts.push(framer.frameBatch(events));
      } else {
        for (const e of events) {
          parts.push(framer.frame(e));
          if (rand() < 0.3) parts.push(framer.comment(randomText(rand, int(rand, 20))));
        }
      }
      const bytes = Buffer.concat(parts);
      const cuts = Array.from({ length: int(rand, 8) }, () => int(rand, bytes.length + 1)).sort((a, b) => a - b);
      const got = decodeChunks(split(bytes, cuts));

      let lastEventId = '';
      let retry: number | undefined;
      const want = events.map((e) => {
        if (e.id !== undefined) lastEventId = received(e.id);
        if (e.retry !== undefined) retry = e.retry;
        return { type: e.event ? received(e.event) : 'message', data: received(e.data as string), lastEventId, retry };
      });
      expect(got.events, `round ${round}`).toEqual(want);
    }
  });
});
