// The in-memory stores' bounds, and broadcasts to many sessions.
import { describe, expect, it } from 'vitest';
import { MemoryEventStore, type EventStore } from '../../src/mcp/stores/events.js';
import { MemorySessionStore, type SessionStore } from '../../src/mcp/stores/sessions.js';
import type { BusMessage, NotificationBus } from '../../src/mcp/stores/notifications.js';
import type { HttpSession } from '../../src/mcp/transports/streamable-http.js';
import { serveMcp } from '../../src/mcp/serve.js';
import { createServer } from '../../src/http/app.js';
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
    const old1 = st.append('old', '1', 'x'.repeat(40));
    const mid1 = st.append('mid', '1', 'y'.repeat(40));
    const old2 = st.append('old', '2', 'z'.repeat(10)); // ('old' stream 2 is now more recent than 'mid')
    expect(st.bytes).toBe(90);
    st.append('new', '1', 'w'.repeat(30)); // 120 > 100: 'old'/1 (least recently appended) goes
    expect(st.bytes).toBe(80);
    expect(st.replay('old', old1)).toBeNull();
    expect(st.replay('mid', mid1)).toEqual({ streamId: '1', events: [] });
    expect(st.replay('old', old2)).toEqual({ streamId: '2', events: [] });
    st.dropSession('mid');
    expect(st.bytes).toBe(40);
    expect(st.replay('mid', mid1)).toBeNull();
  });

  it('never gives an id twice, even to a stream forgotten (past maxStreamsPerSession) and made again', () => {
    const st = new MemoryEventStore({ maxStreamsPerSession: 2 });
    const ids: string[] = [];
    for (let round = 0; round < 5; round++) for (const stream of ['a', 'b', 'c']) ids.push(st.append('s', stream, `${stream}${round}`));
    expect(new Set(ids).size).toBe(ids.length);
    // A resume from before a stream was forgotten fails; one from its new life works.
    expect(st.replay('s', ids[0])).toBeNull();
    const c5 = st.append('s', 'c', 'c5');
    st.append('s', 'c', 'c6');
    expect(st.replay('s', c5)?.events.map((e) => e.data)).toEqual(['c6']);
    expect(st.replay('s', ids.at(-1)!)?.events.map((e) => e.data)).toEqual(['c5', 'c6']);
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

describe('stores behind interfaces (what a Redis implementation plugs into)', () => {
  it('a shared NotificationBus carries broadcasts and resource updates between two server processes', () => {
    // Two McpServers stand for two machines; the bus stands for Redis pub/sub.
    const listeners = new Set<(m: BusMessage) => void>();
    const bus: NotificationBus = {
      publish: (m) => { for (const l of listeners) l(JSON.parse(JSON.stringify(m)) as BusMessage); },
      subscribe: (l) => { listeners.add(l); return () => listeners.delete(l); },
    };
    const a = createMcpServer({ name: 'a', version: '1', notifications: bus });
    const b = createMcpServer({ name: 'b', version: '1', notifications: bus });
    const got: Record<string, string[]> = { a: [], b: [], bSub: [] };
    const open = (server: typeof a, key: string) => {
      const s = server.openSession(key, { send: (m: OutgoingMessage) => got[key].push((m as { method: string }).method) });
      s.initialized = true;
      return s;
    };
    open(a, 'a');
    open(b, 'b');
    const sub = open(b, 'bSub');
    sub.subscriptions = new Set(['x://doc']);
    a.broadcast('notifications/message', { level: 'info', data: 'hello' });
    a.notifyResourceUpdated('x://doc');
    expect(got.a).toEqual(['notifications/message']);
    expect(got.b).toEqual(['notifications/message']);
    expect(got.bSub).toEqual(['notifications/message', 'notifications/resources/updated']);
  });

  it('serveMcp runs on a custom SessionStore and EventStore', async () => {
    const events = new MemoryEventStore();
    const appended: string[] = [];
    const eventStore: EventStore = {
      append: (s, st, d) => { const id = events.append(s, st, d); appended.push(id); return id; },
      replay: (s, id) => events.replay(s, id),
      dropStream: (s, st) => events.dropStream(s, st),
      dropSession: (s) => events.dropSession(s),
    };
    const inner = new MemorySessionStore<HttpSession>();
    const added: string[] = [];
    const sessions: SessionStore<HttpSession> = {
      get: (id) => inner.get(id),
      add: (id, s) => { added.push(id); return inner.add(id, s); },
      delete: (id) => inner.delete(id),
      get size() { return inner.size; },
      close: () => inner.close(),
    };
    const server = createMcpServer({ name: 's', version: '1' });
    server.tool('p', { description: 'progress' }, (_a, ctx) => { ctx.progress(1, 1); return 'ok'; });
    const app = createServer();
    serveMcp(app, server, { sessions, eventStore });
    const { port } = await app.listen({ port: 0 });
    try {
      const base = `http://127.0.0.1:${port}/mcp`;
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const init = await fetch(base, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) });
      const sid = init.headers.get('mcp-session-id')!;
      expect(added).toEqual([sid]);
      const call = await fetch(base, { method: 'POST', headers: { ...headers, 'mcp-session-id': sid }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'p', _meta: { progressToken: 1 } } }) });
      expect(call.headers.get('content-type')).toBe('text/event-stream');
      await call.text();
      // priming, progress, result: every event went through the store
      expect(appended.length).toBe(3);
    } finally {
      await app.close();
    }
  });
});
