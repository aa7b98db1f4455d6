// The in-memory stores' bounds, and broadcasts to many sessions.
import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../../src/mcp/stores/events.js';
import { createMcpServer } from '../../src/mcp/server.js';
import type { OutgoingMessage } from '../../src/mcp/protocol.js';

describe('MemoryEventStore', () => {
  it('bounds a stream by count and bytes, and answers a replay after a kept event', () => {
    const st = new MemoryEventStore({ maxEventsPerStream: 3 });
    const ids = ['a', 'b', 'c', 'd', 'e'].map((d) => st.append('s', '1', d));
    expect(ids).toEqual(['1_0', '1_1', '1_2', '1_3', '1_4']);
    expect(st.replay('s', '1_2')).toEqual({ streamId: '1', events: [{ id: '1_3', data: 'd' }, { id: '1_4', data: 'e' }] });
    expect(st.replay('s', '1_0')).toBeNull(); // (1_1 is gone: a replay from 1_0 would miss it)
    expect(st.replay('s', '1_9')).toBeNull();
    expect(st.replay('other', '1_2')).toBeNull();
  });

  it('keeps every stream within an overall byte budget, forgetting the least recently appended first', () => {
    const st = new MemoryEventStore({ maxBytes: 100 });
    st.append('old', '1', 'x'.repeat(40));
    st.append('mid', '1', 'y'.repeat(40));
    st.append('old', '2', 'z'.repeat(10)); // ('old' stream 2 is now more recent than 'mid')
    expect(st.bytes).toBe(90);
    st.append('new', '1', 'w'.repeat(30)); // 120 > 100: 'old'/1 (least recently appended) goes
    expect(st.bytes).toBe(80);
    expect(st.replay('old', '1_0')).toBeNull();
    expect(st.replay('mid', '1_0')).toEqual({ streamId: '1', events: [] });
    expect(st.replay('old', '2_0')).toEqual({ streamId: '2', events: [] });
    st.dropSession('mid');
    expect(st.bytes).toBe(40);
    expect(st.replay('mid', '1_0')).toBeNull();
  });
});

describe('broadcasts', () => {
  it('reach 1,500 sessions in slices (the event loop is not held for all of them), once each, in order', async () => {
    const server = createMcpServer({ name: 's', version: '1' });
    server.tool('t', { description: 't' }, () => 'x');
    const got: string[][] = [];
    const sessions = Array.from({ length: 1500 }, (_, i) => {
      got.push([]);
      const s = server.openSession(`s${i}`, { send: (m: OutgoingMessage) => got[i].push(String((m as { params?: { data?: string } }).params?.data)) });
      s.initialized = true;
      return s;
    });
    server.broadcast('notifications/message', { level: 'info', data: 'one' });
    server.broadcast('notifications/message', { level: 'info', data: 'two' });
    // The first slice went out at once; the rest follow on later turns.
    expect(got[0]).toEqual(['one']);
    expect(got[1499]).toEqual([]);
    for (let i = 0; i < 20 && got[1499].length < 2; i++) await new Promise((r) => setImmediate(r));
    for (const g of got) expect(g).toEqual(['one', 'two']);
    for (const s of sessions) s.close();
    expect(server.sessionCount).toBe(0);
  });
});
