// Keyed: one entry in fields, a Map only for more at once; it must behave as a Map does.
import { describe, expect, it } from 'vitest';
import { Keyed } from '../../src/mcp/keyed.js';

describe('Keyed', () => {
  it('agrees with a Map over a random sequence of set / delete / get / has', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 6);
    const k = new Keyed<string | number, number>();
    const m = new Map<string | number, number>();
    for (let i = 0; i < 20_000; i++) {
      const key = rnd() % 2 === 0 ? rnd() : String(rnd());
      const op = rnd();
      if (op < 3) {
        k.set(key, i);
        m.set(key, i);
      } else if (op < 5) expect(k.delete(key)).toBe(m.delete(key));
      expect(k.get(key)).toBe(m.get(key));
      expect(k.has(key)).toBe(m.has(key));
      expect(k.size).toBe(m.size);
    }
    expect(k.values().sort()).toEqual([...m.values()].sort());
    k.clear();
    expect(k.size).toBe(0);
    expect(k.values()).toEqual([]);
  });

  it('tells 1 from "1" (JSON-RPC ids of both types are different requests)', () => {
    const k = new Keyed<string | number, string>();
    k.set(1, 'number');
    k.set('1', 'string');
    expect(k.get(1)).toBe('number');
    expect(k.get('1')).toBe('string');
    expect(k.size).toBe(2);
  });
});
