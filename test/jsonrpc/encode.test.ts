// The response fast path writes exactly what JSON.stringify of the envelope would.
import { describe, expect, it } from 'vitest';
import { JsonRpcResultWriter, parseJsonRpc } from '../../src/index.js';

describe('JsonRpcResultWriter', () => {
  it('wraps a serialised result, for every id kind, byte-identical to JSON.stringify', () => {
    const w = new JsonRpcResultWriter({ slotSize: 1024 });
    const result = { content: [{ type: 'text', text: 'héllo "world"\n' }], isError: false };
    for (const id of [1, 0, -7, 1.5, 'abc', 'ünï"\\', '', null]) {
      const out = w.write(id, JSON.stringify(result));
      expect(Buffer.from(out).toString('utf8')).toBe(JSON.stringify({ jsonrpc: '2.0', id, result }));
      const parsed = parseJsonRpc(out);
      expect(parsed.ok && parsed.messages[0].kind).toBe('response');
    }
    w.destroy();
  });

  it('takes the result as bytes, and grows past its slot for big results', () => {
    const w = new JsonRpcResultWriter({ slotSize: 1024 });
    const big = Buffer.from(JSON.stringify({ text: 'x'.repeat(100_000) }));
    const out = w.write('req-1', big);
    expect(JSON.parse(Buffer.from(out).toString())).toEqual({ jsonrpc: '2.0', id: 'req-1', result: { text: 'x'.repeat(100_000) } });
    w.destroy();
  });

  it('refuses a non-finite number id', () => {
    const w = new JsonRpcResultWriter({ slotSize: 1024 });
    expect(() => w.write(Number.NaN, '1')).toThrow(/finite/);
    w.destroy();
  });
});
