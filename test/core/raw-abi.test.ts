// The .wasm driven as a host that is not JavaScript would drive it (C, Rust, Go): the
// module's raw exports and its ABI_* globals only, with no Conduit TypeScript at all (this
// file imports nothing from src/). Layout: README "Using the .wasm from another runtime".
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const PAGE = 65536;
type Fn = (...args: number[]) => number;

function instantiate(file: string) {
  const memory = new WebAssembly.Memory({ initial: 8, maximum: 8, shared: true });
  const module = new WebAssembly.Module(readFileSync(new URL(`../../build/${file}`, import.meta.url)));
  const { exports } = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('abort'); } } });
  (exports._initialize as Fn)();
  const fn = (name: string) => exports[name] as Fn;
  const abi = (name: string) => (exports[`ABI_${name}`] as WebAssembly.Global).value as number;
  const dv = new DataView(memory.buffer);
  const u8 = new Uint8Array(memory.buffer);
  return { fn, abi, dv, u8 };
}

describe.each(['conduit.wasm', 'conduit-scalar.wasm'])('raw ABI (%s)', (file) => {
  const { fn, abi, dv, u8 } = instantiate(file);
  // Host-chosen addresses above abi_slots(): a 64-byte parser state, then the input.
  const state = Math.ceil(fn('abi_slots')() / 64) * 64;
  const input = state + 64;
  const put = (s: string) => {
    const b = new TextEncoder().encode(s);
    u8.set(b, input);
    u8.fill(0, input + b.length, input + b.length + 64); // (64 readable bytes after the input)
    return b.length;
  };
  const str = (at: number, len: number) => String.fromCharCode(...u8.subarray(at, at + len));
  const methodNames = () => {
    const names = [''];
    let p = fn('http_method_table')();
    for (let i = 0; i < abi('METHOD_COUNT'); i++) {
      let s = '';
      while (u8[p] !== 0) s += String.fromCharCode(u8[p++]);
      names.push(s);
      p++;
    }
    return names;
  };

  it('parses a request: method, target, fields, body spans, through the result area', () => {
    expect(state + 64 + 4096 < 8 * PAGE).toBe(true);
    fn('http_init')(state, 8192, 16384, 100, 16384, 1 << 20);
    const len = put('POST /rpc?x=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\nX-Y:  z \r\n\r\nhello');
    const consumed = fn('http_execute')(state, input, len);
    expect(consumed).toBe(len);
    const r = fn('abi_scratch')();
    const at = (field: string) => dv.getUint32(r + abi(`RESULT_${field}`), true);
    const events = at('EVENTS');
    expect(events & 1).toBe(1); // HEAD
    expect(events & 2).toBe(2); // BODY
    expect(events & 4).toBe(4); // MESSAGE_COMPLETE
    expect(methodNames()[at('METHOD')]).toBe('POST');
    expect(at('VERSION_MINOR')).toBe(1);
    expect(str(input + at('TARGET_OFF'), at('TARGET_LEN'))).toBe('/rpc?x=1');
    expect(Number(dv.getBigUint64(r + abi('RESULT_CONTENT_LENGTH'), true))).toBe(5);
    const fields = [];
    for (let i = 0; i < at('FIELD_COUNT'); i++) {
      const f = r + abi('FIELDS_OFFSET') + i * abi('FIELD_SIZE');
      fields.push([str(input + dv.getUint32(f, true), dv.getUint32(f + 4, true)), str(input + dv.getUint32(f + 8, true), dv.getUint32(f + 12, true))]);
    }
    expect(fields).toEqual([['Host', 'a.example'], ['Content-Length', '5'], ['X-Y', 'z']]);
    expect(dv.getInt32(r + abi('RESULT_HOST_IDX'), true)).toBe(0);
    expect(at('BODY_COUNT')).toBe(1);
    const span = r + abi('BODY_SPANS_OFFSET');
    expect(str(input + dv.getUint32(span, true), dv.getUint32(span + 4, true))).toBe('hello');
    expect(dv.getUint32(state + abi('STATE_MESSAGES'), true)).toBe(1);
  });

  it('returns -1 for more input and a negated status (with its offset) for bad input', () => {
    fn('http_init')(state, 8192, 16384, 100, 16384, 1 << 20);
    expect(fn('http_execute')(state, input, put('GET / HTTP/1.1\r\nHost:'))).toBe(-1);
    fn('http_init')(state, 8192, 16384, 100, 16384, 1 << 20);
    const bad = 'GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n';
    const ret = fn('http_execute')(state, input, put(bad));
    expect(ret).toBeLessThan(-1);
    const r = fn('abi_scratch')();
    expect(dv.getUint32(r + abi('RESULT_ERROR_OFFSET'), true)).toBe(bad.indexOf('\nX'));
  });

  it('validates JSON and reads a JSON-RPC envelope count; frames an SSE event', () => {
    const h = fn('abi_json_scratch')();
    const ok = fn('json_parse')(input, put('{"jsonrpc":"2.0","id":7,"method":"ping"}'), 128);
    expect(ok).toBe(0);
    expect(dv.getUint32(h + abi('JSON_STATUS'), true)).toBe(0);
    expect(dv.getUint32(h + abi('JSON_COUNT'), true)).toBe(1);
    const bad = '{"a":[1,2,}';
    expect(fn('json_parse')(input, put(bad), 128)).not.toBe(0);
    expect(dv.getUint32(h + abi('JSON_ERROR_OFFSET'), true)).toBe(bad.indexOf('}'));

    const out = input + 1024;
    const data = input;
    const id = input + 256;
    const ev = input + 512;
    const dataLen = new TextEncoder().encodeInto('a\nb', u8.subarray(data)).written;
    const idLen = new TextEncoder().encodeInto('1', u8.subarray(id)).written;
    const evLen = new TextEncoder().encodeInto('x', u8.subarray(ev)).written;
    const n = fn('sse_frame')(out, 512, data, dataLen, id, idLen, ev, evLen, 0, 0);
    expect(str(out, n)).toBe('id: 1\nevent: x\ndata: a\ndata: b\n\n');
    expect(fn('sse_frame')(out, 4, data, dataLen, id, idLen, ev, evLen, 0, 0)).toBeLessThan(0);
  });
});
