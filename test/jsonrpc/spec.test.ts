// JSON-RPC 2.0 (https://www.jsonrpc.org/specification) on parseJsonRpc, on the SIMD and
// the scalar build: the specification's section 7 examples (fixtures/jsonrpc-spec-
// examples.json), then its rules one at a time. Every rule case also runs with an extra
// escaped member name ("\u0078") in the object, which the tokenizer decodes before
// comparing (its escaped-name path): both must give the same answer.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseJsonRpc, validateJson, ConduitError, type JsonRpcParseResult, type WasmVariant } from '../../src/index.js';
import { jsonrpcCorpus } from '../../bench/corpus/jsonrpc.mjs';

const VARIANTS: WasmVariant[] = ['simd', 'scalar'];
const SPEC = JSON.parse(readFileSync(new URL('./fixtures/jsonrpc-spec-examples.json', import.meta.url), 'utf8')) as {
  cases: Array<{ name: string; input: string; expect: Record<string, unknown> }>;
};
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

/** A result as plain data; an invalid message's error keeps only its code. */
function view(r: JsonRpcParseResult) {
  if (!r.ok) return { ok: false, code: r.error.code };
  return {
    ok: true,
    batch: r.batch,
    messages: r.messages.map((m) => {
      const o = m.toJSON();
      if (m.kind === 'invalid') o.error = { code: (m.error as { code: number }).code };
      return o;
    }),
  };
}

/** The same message with one more (escaped, unrelated) member name: parse.ts's JS path. */
const viaEscapedKey = (s: string) => s.replace(/\{(?!\s*\})/, '{"\\u0078":0,');

const msg = (members: string) => `{"jsonrpc":"2.0",${members}}`;

describe.each(VARIANTS)('%s build', (variant) => {
  const parse = (s: string | Uint8Array, options: { maxDepth?: number; maxBytes?: number } = {}) =>
    parseJsonRpc(typeof s === 'string' ? utf8(s) : s, { variant, ...options });
  /** The kind of a single message, or its error code. */
  const kindOf = (s: string) => {
    const r = parse(s);
    return r.ok ? r.messages[0].kind : r.error.code;
  };
  /** kindOf with and without an extra escaped member name (the tokenizer's escaped-name path). */
  const bothPaths = (s: string) => {
    const a = view(parse(s));
    const b = view(parse(viaEscapedKey(s)));
    expect(b, `escaped-name path for ${s}`).toEqual(a);
    return a.ok ? (a.messages![0] as { kind: string }).kind : a.code;
  };

  describe('specification §7 examples', () => {
    it.each(SPEC.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      expect(view(parse(c.input))).toEqual(c.expect);
    });
  });

  describe('"jsonrpc" must be exactly "2.0"', () => {
    it('"2.0" is accepted', () => expect(bothPaths(msg('"method":"m"'))).toBe('notification'));
    it.each(['2.0', '"2.0 "', '" 2.0"', '"2"', '"2.00"', '"1.0"', '"2.0\\u0000"', 'null', 'true', '["2.0"]', '{"v":"2.0"}', '"２.0"'])(
      '%s is not', (v) => expect(bothPaths(`{"jsonrpc":${v},"method":"m","id":1}`)).toBe(-32600));
    it('a missing "jsonrpc" is not', () => expect(bothPaths('{"method":"m","id":1}')).toBe(-32600));
    // KNOWN BUG (reported): the WASM path compares the raw bytes with "2.0", so an escaped
    // spelling of the same string is refused while the JS path accepts it.
    it('"2\\u002e0" (the string "2.0" with an escape) is accepted on both paths', () => {
      expect(bothPaths('{"jsonrpc":"2\\u002e0","method":"m"}')).toBe('notification');
    });
  });

  describe('"id": a string, a number or null', () => {
    it.each([
      ['1', 1], ['-1', -1], ['0', 0], ['1.5', 1.5], ['1e3', 1000], ['-2.5E-3', -0.0025], ['12345678901234567890', 12345678901234567890],
      ['9007199254740993', 9007199254740992], ['"abc"', 'abc'], ['""', ''], ['null', null], ['"\\u0031"', '1'], ['"caf\\u00e9"', 'café'],
      ['"café"', 'café'], ['"\\ud800"', '\ud800'], [`"${'x'.repeat(100)}"`, 'x'.repeat(100)], [`"${'é'.repeat(40)}"`, 'é'.repeat(40)],
    ] as Array<[string, unknown]>)('%s', (v, id) => {
      for (const s of [msg(`"method":"m","id":${v}`), msg(`"id":${v},"result":true`)]) {
        const r = parse(s);
        expect(r.ok && r.messages[0].id).toBe(id);
        bothPaths(s);
      }
    });
    it('-0 stays -0', () => {
      const r = parse(msg('"method":"m","id":-0'));
      expect(r.ok && Object.is(r.messages[0].id, -0)).toBe(true);
    });
    it.each(['{}', '[]', '[1]', '{"a":1}', 'true', 'false'])('%s is invalid', (v) => {
      expect(bothPaths(msg(`"method":"m","id":${v}`))).toBe(-32600);
      expect(bothPaths(msg(`"id":${v},"result":1`))).toBe(-32600);
    });
    it('an invalid batch member keeps its id when the id itself is usable', () => {
      const r = parse(`[${msg('"method":1,"id":5')},${msg('"method":"m","id":{}')}]`);
      expect(view(r)).toEqual({ ok: true, batch: true, messages: [
        { kind: 'invalid', id: 5, error: { code: -32600 } }, { kind: 'invalid', id: null, error: { code: -32600 } }] });
    });
  });

  describe('"method" is a string; "params" an object or an array', () => {
    it.each(['1', 'null', '{}', '[]', 'true'])('method %s is invalid', (v) => expect(bothPaths(msg(`"method":${v},"id":1`))).toBe(-32600));
    it.each(['{}', '[]', '{"a":[1,{"b":null}]}', '[1,"x",null]'])('params %s', (v) => {
      const s = msg(`"method":"m","params":${v},"id":1`);
      expect(bothPaths(s)).toBe('request');
      const r = parse(s);
      expect(r.ok && r.messages[0].params).toEqual(JSON.parse(v));
    });
    it.each(['null', '1', '"x"', 'true', 'false'])('params %s is invalid', (v) => expect(bothPaths(msg(`"method":"m","params":${v}`))).toBe(-32600));
  });

  describe('responses: "result" XOR "error", an "id", "error" an object', () => {
    it.each([
      [msg('"id":1,"result":null'), 'response'],
      [msg('"id":1,"result":{"a":[1]}'), 'response'],
      [msg('"id":null,"error":{"code":-32600,"message":"Invalid Request"}'), 'error'],
      // Conduit checks that "error" is an object; its code and message are the reader's.
      [msg('"id":1,"error":{}'), 'error'],
      [msg('"id":1,"result":1,"error":{"code":1,"message":"m"}'), -32600],
      [msg('"id":1'), -32600],
      [msg('"result":1'), -32600],
      [msg('"error":{"code":1,"message":"m"}'), -32600],
      [msg('"id":1,"error":"x"'), -32600],
      [msg('"id":1,"error":[]'), -32600],
      [msg('"id":1,"error":null'), -32600],
      [msg('"id":1,"error":1'), -32600],
      [msg('"method":"m","id":1,"result":1'), -32600],
      [msg('"method":"m","id":1,"error":{"code":1,"message":"m"}'), -32600],
      ['{"id":1,"result":1}', -32600],
      ['{}', -32600],
    ] as Array<[string, string | number]>)('%s → %s', (s, want) => expect(bothPaths(s)).toBe(want));
    // KNOWN BUG (reported): a response that also carries "params" hands them out as
    // .params on the WASM path (undefined on the JS path; responses have no params).
    it('a response\'s stray "params" member is not its params', () => {
      const r = parse(msg('"id":1,"result":true,"params":[1]'));
      expect(r.ok && r.messages[0].params).toBeUndefined();
    });
  });

  describe('duplicate envelope members are invalid', () => {
    it.each([
      msg('"jsonrpc":"2.0","method":"m"'), msg('"method":"m","method":"n","id":1'), msg('"method":"m","id":1,"id":2'),
      msg('"method":"m","params":[],"params":{}'), msg('"id":1,"result":1,"result":2'),
      msg('"id":1,"error":{"code":1,"message":"a"},"error":{"code":2,"message":"b"}'),
    ])('%s', (s) => expect(kindOf(s)).toBe(-32600));
    it('other members may repeat; params are JSON.parse\'s (last wins)', () => {
      const r = parse(msg('"x":1,"x":2,"method":"m","params":{"a":1,"a":2}'));
      expect(view(r)).toEqual({ ok: true, batch: false, messages: [{ kind: 'notification', method: 'm', params: { a: 2 } }] });
    });
    // KNOWN BUG (reported): with an escaped member name in the object, parseJsonRpc decides
    // on JSON.parse's object, where the last duplicate silently wins.
    it.each([
      msg('"method":"a","\\u006dethod":"b","id":1'), msg('"\\u0069d":1,"method":"m","id":2'),
      msg('"method":"a","method":"b","\\u0078":1'),
    ])('%s (an escaped member name in the object)', (s) => expect(kindOf(s)).toBe(-32600));
  });

  describe('member names with escapes', () => {
    it.each([
      [msg('"\\u006dethod":"tools/call","\\u0069d":7,"p\\u0061rams":{"a":1}'), { kind: 'request', id: 7, method: 'tools/call', params: { a: 1 } }],
      ['{"jsonrp\\u0063":"2.0","method":"m"}', { kind: 'notification', method: 'm' }],
      [msg('"r\\u0065sult":{"x":[1]},"id":"a"'), { kind: 'response', id: 'a', result: { x: [1] } }],
      [msg('"\\u0065rror":{"code":1,"message":"m"},"id":2'), { kind: 'error', id: 2, error: { code: 1, message: 'm' } }],
      [msg('"method":"m","\\u0078":1'), { kind: 'notification', method: 'm' }],
      [msg('"method":"m","\\"":1,"\\\\":2'), { kind: 'notification', method: 'm' }],
    ] as Array<[string, object]>)('%s', (s, want) => {
      expect(view(parse(s))).toEqual({ ok: true, batch: false, messages: [want] });
    });
    it.each(['{"\\u006aSONrpc":"2.0","method":"m"}', msg('"method\\u0000":"m"'), msg('"\\u006Dethod2":"m"')])(
      '%s is not an envelope member', (s) => expect(kindOf(s)).toBe(-32600));
    it('in a batch, only the member with the escaped name takes the JS path', () => {
      const r = parse(`[${msg('"\\u006dethod":"a"')},${msg('"method":"b","id":1')},${msg('"\\u006dethod":1')}]`);
      expect(view(r)).toEqual({ ok: true, batch: true, messages: [
        { kind: 'notification', method: 'a' }, { kind: 'request', id: 1, method: 'b' }, { kind: 'invalid', id: null, error: { code: -32600 } }] });
    });
  });

  describe('method and id strings are decoded', () => {
    it.each([
      ['"tools\\/call"', 'tools/call'], ['"\\u0074ools/call"', 'tools/call'], ['"a\\"b"', 'a"b'], ['"a\\\\b"', 'a\\b'],
      ['"\\n\\t\\r\\b\\f"', '\n\t\r\b\f'], ['"\\ud83d\\ude00"', '😀'], ['"\\uD83D\\uDE00"', '😀'], ['"\\ud800"', '\ud800'],
      ['"\\u0000"', '\u0000'], ['"café"', 'café'], ['"日本語"', '日本語'], ['"😀"', '😀'], ['"\ufeffbom"', '\ufeffbom'],
      ['"\u2028"', '\u2028'], ['"\uffff\u{10ffff}"', '\uffff\u{10ffff}'], [`"${'m'.repeat(100)}"`, 'm'.repeat(100)],
      [`"${'ü'.repeat(50)}"`, 'ü'.repeat(50)], ['""', ''],
    ])('method %s', (lit, want) => {
      for (const s of [msg(`"method":${lit},"id":${lit}`), `[${msg(`"method":${lit},"id":${lit}`)}]`]) {
        const r = parse(s);
        expect(r.ok).toBe(true);
        if (r.ok) {
          expect(r.messages[0].method).toBe(want);
          expect(r.messages[0].id).toBe(want);
        }
      }
    });
  });

  describe('method names from the core\'s name cache, ids from the kernel', () => {
    // The kernel caches short method names per core (slot + fill number) and reads small
    // integer ids itself; every answer must still be the name and id in the input.
    const names = Array.from({ length: 300 }, (_, i) => `m${i}/${'x'.repeat(i % 47)}`);
    it('many names (more than the cache holds), in batches and one by one, in any order', () => {
      for (let round = 0; round < 3; round++) {
        const order = round === 1 ? [...names].reverse() : names;
        for (let i = 0; i < order.length; i += 40) {
          const part = order.slice(i, i + 40);
          const r = parse(`[${part.map((n) => msg(`"method":"${n}","id":1`)).join(',')}]`);
          expect(r.ok && r.messages.map((m) => m.method)).toEqual(part);
        }
        for (const n of order) {
          const r = parse(msg(`"method":"${n}","id":"${n}"`));
          expect(r.ok && [r.messages[0].method, r.messages[0].id]).toEqual([n, n]);
        }
      }
    });
    it('names cached by a call that failed, by an invalid message, or by validateJson do not leak into later answers', () => {
      for (const n of names.slice(0, 100)) {
        // The batch fails (-32700) after its first member put n into the cache.
        expect(parse(`[${msg(`"method":"${n}-fail"`)},${msg('"method":"zz"')},]`).ok).toBe(false);
        // An invalid message: a method together with a result.
        expect(parse(msg(`"method":"${n}-bad","result":1,"id":1`)).ok).toBe(false);
        expect(parse(`[${msg(`"method":"${n}-bad","result":1,"id":1`)}]`).ok).toBe(true);
        expect(validateJson(utf8(msg(`"method":"${n}-v"`)), { variant })).toBeNull();
        const r = parse(msg(`"method":"${n}","id":7`));
        expect(r.ok && r.messages[0].method).toBe(n);
      }
    });
    it('a name at every length up to past the cache\'s 48 bytes, ASCII and not', () => {
      for (let n = 0; n <= 60; n++) {
        for (const name of ['a'.repeat(n), 'é'.repeat(n >> 1), `${'b'.repeat(n)}/`, `${'b'.repeat(n)}\\\\`]) {
          for (let k = 0; k < 2; k++) {
            const r = parse(msg(`"method":"${name}","id":1`));
            expect(r.ok && r.messages[0].method).toBe(JSON.parse(`"${name}"`));
          }
        }
      }
    });
    it.each([
      '0', '-0', '7', '-7', '123456789', '-123456789', '999999999', '1234567890', '-1234567890', '4294967295', '4294967296',
      '0.5', '-0.0', '1e2', '10E-1', '12345678901234567890',
    ])('id %s', (v) => {
      for (const s of [msg(`"method":"m","id":${v}`), msg(`"id":${v},"result":1`), `[${msg(`"id":${v},"error":{}`)}]`]) {
        const r = parse(s);
        expect(r.ok && Object.is(r.messages[0].id, JSON.parse(v))).toBe(true);
      }
    });
  });

  describe('the compact prefix {"jsonrpc":"2.0", (taken in one step) answers as it does after a space', () => {
    it.each([
      '{"jsonrpc":"2.0",', '{"jsonrpc":"2.0",}', '{"jsonrpc":"2.0",,', '{"jsonrpc":"2.0",1}', '{"jsonrpc":"2.0","method":"m"}',
      '{"jsonrpc":"2.0","jsonrpc":"2.0","method":"m"}', '{"jsonrpc":"2.0","id":1,"result":{"a":[1]}}', '{"jsonrpc":"2.0","method":"m"',
      '{"jsonrpc":"2.0","\\u006asonrpc":"1.0","method":"m"}', '{"jsonrpc":"2.0", "method" : "m" }', '{"jsonrpc":"2.0","method":"m"}x',
      '{"jsonrpc":"2.0","id":1,"method":"m","params":[' + '['.repeat(200) + ']'.repeat(200) + ']}', '{"jsonrpc":"2.0"}', '{"jsonrpc":"2.0"',
    ])('%s', (s) => {
      for (const maxDepth of [1, 2, 128]) {
        const a = parse(s, { maxDepth });
        const b = parse(` ${s}`, { maxDepth });
        expect(view(a)).toEqual(view(b));
        if (!a.ok && !b.ok && a.error.offset !== undefined) expect(b.error.offset).toBe(a.error.offset + 1);
        expect(validateJson(utf8(s), { variant, maxDepth })?.offset).toBe(a.ok || a.error.code === -32600 ? undefined : a.error.offset);
      }
    });
  });

  describe('batches', () => {
    const member = msg('"method":"m","params":[1]');
    it('256 members are taken', () => {
      const r = parse(`[${Array(256).fill(member).join(',')}]`);
      expect(r.ok && r.messages.length).toBe(256);
      expect(r.ok && r.messages.every((m) => m.kind === 'notification' && (m.params as number[])[0] === 1)).toBe(true);
    });
    it('257 members are a -32600', () => {
      expect(view(parse(`[${Array(257).fill(member).join(',')}]`))).toEqual({ ok: false, code: -32600 });
      expect(view(parse(`[${Array(300).fill('1').join(',')}]`))).toEqual({ ok: false, code: -32600 });
    });
    it('...but a parse error after the 256th member is still a -32700', () => {
      expect(view(parse(`[${Array(300).fill(member).join(',')},{]`))).toEqual({ ok: false, code: -32700 });
    });
    it('members that are not objects are invalid, in place', () => {
      expect(view(parse(`[${member}, 1, "x", null, [], [${member}], {}]`)).messages!.map((m) => (m as { kind: string }).kind))
        .toEqual(['notification', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid']);
    });
  });

  describe('nesting depth (maxDepth)', () => {
    /** A notification nested exactly `depth` deep (the envelope object is depth 1). */
    const nested = (depth: number, open = '[', close = ']') => {
      const levels = depth - 1;
      if (levels === 0) return msg('"method":"m"');
      const params = open === '[' ? `${open.repeat(levels)}${close.repeat(levels)}` : `${open.repeat(levels - 1)}{}${close.repeat(levels - 1)}`;
      return msg(`"method":"m","params":${params}`);
    };
    /** Where the n-th { or [ outside strings is (this chain of nesting reaches depth n there). */
    const openingAt = (s: string, n: number) => {
      let inStr = false;
      for (let i = 0; i < s.length; i++) {
        if (inStr) {
          if (s[i] === '\\') i++;
          else if (s[i] === '"') inStr = false;
        } else if (s[i] === '"') inStr = true;
        else if ((s[i] === '{' || s[i] === '[') && --n === 0) return i;
      }
      return -1;
    };
    it.each([1, 2, 5, 64, 128, 500, 1023])('maxDepth %i: at the limit accepted, one deeper -32700', (max) => {
      for (const [open, close] of [['[', ']'], ['{"a":', '}']]) {
        const at = nested(max, open, close);
        expect(view(parse(at, { maxDepth: max })).ok, `${max} ${open}`).toBe(true);
        expect(validateJson(utf8(at), { maxDepth: max, variant })).toBeNull();
        const deeper = parse(nested(max + 1, open, close), { maxDepth: max });
        expect(deeper.ok).toBe(false);
        if (!deeper.ok) {
          expect(deeper.error.code).toBe(-32700);
          expect(deeper.error.message).toMatch(/nested too deeply/);
          expect(deeper.error.offset).toBe(openingAt(nested(max + 1, open, close), max + 1));
        }
      }
    });
    it('the default is 128; a batch adds a level', () => {
      expect(parse(nested(128)).ok).toBe(true);
      expect(view(parse(nested(129)))).toEqual({ ok: false, code: -32700 });
      expect(parse(`[${nested(127)}]`).ok).toBe(true);
      expect(view(parse(`[${nested(128)}]`))).toEqual({ ok: false, code: -32700 });
    });
    it.each([0, -1, 1.5, 1024, Number.NaN])('maxDepth %s is refused', (max) => {
      expect(() => parse(nested(1), { maxDepth: max })).toThrow(ConduitError);
    });
  });

  describe('UTF-8', () => {
    it('multi-byte sequences anywhere in strings, including across 64-byte blocks', () => {
      for (let pad = 0; pad < 70; pad++) {
        const s = msg(`"method":"m","params":["${'a'.repeat(pad)}é€😀\u{10ffff}","${'é'.repeat(pad)}"],"id":"${'😀'.repeat(pad % 5)}"`);
        const r = parse(s);
        expect(r.ok && r.messages[0].params, `pad ${pad}`).toEqual(JSON.parse(s).params);
        expect(r.ok && r.messages[0].id).toBe('😀'.repeat(pad % 5));
      }
    });
    const BAD: Array<[string, string]> = [
      ['lone continuation byte', '\x80'], ['overlong "/"', '\xc0\xaf'], ['overlong 3-byte', '\xe0\x80\xaf'],
      ['UTF-16 surrogate', '\xed\xa0\x80'], ['above U+10FFFF', '\xf4\x90\x80\x80'], ['0xF5', '\xf5\x80\x80\x80'],
      ['0xFF', '\xff'], ['truncated 2-byte', '\xc3'], ['truncated 4-byte', '\xf0\x9f\x98'], ['lead byte then ASCII', '\xe2\x28\xa1'],
    ];
    it.each(BAD)('%s is a -32700 (in a value, a key, outside strings, at the end, across blocks)', (_name, seq) => {
      const e = '\xc3\xa9'; // é in UTF-8 (these strings are bytes, one char each)
      const places = [
        `{"jsonrpc":"2.0","method":"m${seq}"}`, `{"jsonrpc":"2.0","method":"m","k${seq}":1}`, `{"jsonrpc":"2.0","method":"m"}${seq}`,
        `{"jsonrpc":"2.0","method":"m","params":["${'a'.repeat(40)}${seq}`,
        ...[30, 31, 32, 60, 61, 62, 63, 64, 200].map((n) => `{"jsonrpc":"2.0","method":"m","params":["${e.repeat(n)}${seq}${'a'.repeat(n)}"]}`),
      ];
      for (const s of places) {
        const r = parse(latin1(s));
        expect(view(r), s).toEqual({ ok: false, code: -32700 });
        if (!r.ok) expect(r.error.message).toMatch(/invalid UTF-8/);
        expect(validateJson(latin1(s), { variant })).not.toBeNull();
      }
    });
  });

  describe('64-byte block boundaries: every alignment of escapes, strings and scalars', () => {
    // Each value is placed after 0..130 filler bytes, so that its escape runs, quotes and
    // scalars straddle stage 1's block boundaries (and the carries between blocks) at
    // every offset. Conduit must accept exactly what JSON.parse accepts, and read the same.
    const VALUES = [
      '"#\\\\"', '"#\\""', '"#\\\\\\""', '"#\\\\\\\\"', '"#\\u00e9"', '"#\\ud83d\\ude00"', '"#é€😀"', '"#\\/"',
      '"#"', '"#\\"', '"#\\x"', '"#\\u12"', '"#\\u12G4"', '"#\u0001"', '"#\\\\\\"', '"#é', '"#\\',
      '# 123.5e-7', '# -0', '# true', '# null', '# tru', '# 1.', '# -', '# 1e+', '# 01', '# 12345678901234567890',
    ];
    it.each(VALUES)('%s', (template) => {
      for (let pad = 0; pad <= 130; pad++) {
        const value = template.startsWith('"') ? template.replace('#', 'a'.repeat(pad)) : template.replace('#', ' '.repeat(pad));
        const s = msg(`"method":"m","params":[${value}]`);
        let expected: unknown;
        try {
          expected = JSON.parse(s).params;
        } catch {
          expected = 'refused';
        }
        const r = parse(s);
        expect(r.ok ? r.messages[0].params : 'refused', `pad ${pad}: ${s}`).toEqual(expected);
        if (!r.ok) expect(r.error.code).toBe(-32700);
      }
    });
  });

  describe('params / result / error are parsed lazily, as JSON.parse reads them', () => {
    afterEach(() => vi.restoreAllMocks());
    const samples = [
      ...jsonrpcCorpus.map((e: { bytes: Uint8Array }) => Buffer.from(e.bytes).toString('utf8')),
      ' { "jsonrpc" : "2.0" , "params" : [ 1 , { "a" : [ ] } , "x\\"y" ] , "method" : "m" } ',
      msg('"id":"r","result":{"content":[{"type":"text","text":"18 °C \\u2014 🙂"}],"n":-1.5e-7}'),
      msg('"id":1,"error":{"code":-32602,"message":"bad","data":[null,true,false,{}]}'),
      msg('"id":2,"result":"a string result"'), msg('"id":3,"result":0'), msg('"id":4,"result":null'),
      `[${msg('"id":1,"result":[1,2]')},\n${msg('"method":"n","params":{"k":"v"}')}]`,
    ];
    it.each(samples.map((s) => [s.length > 60 ? `${s.slice(0, 60)}… (${s.length} chars)` : s, s]))('%s', (_name, s) => {
      const whole = JSON.parse(s);
      const values = Array.isArray(whole) ? whole : [whole];
      const spy = vi.spyOn(JSON, 'parse');
      const r = parse(s);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(spy).not.toHaveBeenCalled(); // nothing parsed until read
      r.messages.forEach((m, i) => {
        for (const k of ['params', 'result', 'error'] as const) {
          expect(m[k], k).toEqual(values[i][k]);
          expect(m[k]).toBe(m[k]); // parsed once, then kept
          const raw = m.raw(k);
          expect(raw === undefined ? undefined : JSON.parse(Buffer.from(raw).toString('utf8'))).toEqual(values[i][k]);
        }
      });
    });
  });

  describe('whole-input answers', () => {
    it.each([
      ['', -32700], ['   \n', -32700], ['1', -32600], ['"x"', -32600], ['null', -32600], ['[]', -32600], ['[ ]', -32600],
      [`${msg('"method":"m"')} `, 'ok'], [`\r\n\t ${msg('"method":"m"')}\n`, 'ok'], [`${msg('"method":"m"')}x`, -32700],
      [`${msg('"method":"m"')}${msg('"method":"m"')}`, -32700], ['\ufeff{"jsonrpc":"2.0","method":"m"}', -32700],
    ] as Array<[string, number | 'ok']>)('%j → %s', (s, want) => {
      const r = parse(s);
      expect(r.ok ? 'ok' : r.error.code).toBe(want);
    });
    it.each([
      ['{"jsonrpc":"2.0",}', 17], ['[1,]', 3], ['{"a" 1}', 5], ['[tru]', 1], ['"abc', 4], ['{"a":1}x', 7], ['[01]', 2],
      ['[1.]', 3], ['["\\x"]', 3], ['["a\u0001"]', 3], ['[-]', 2], ['{"a":1 "b":2}', 7], ['["\\u12"]', 6],
    ] as Array<[string, number]>)('%j: -32700 at byte %i', (s, offset) => {
      const r = parse(s);
      expect(r.ok ? null : r.error).toEqual({ code: -32700, message: expect.stringMatching(/^Parse error: /), offset });
    });
    it('a backslash as the last byte: the offset is the end of input, whatever lies after it', () => {
      // Regression: the escape check used to look at the padding byte after the input (an
      // offset past the end, 3 or 4 depending on what the slot held before).
      for (const before of ['xxxu', 'xxxn', 'xxx"']) {
        parse(before);
        const r = parse('["\\');
        expect(r.ok ? null : r.error.offset, before).toBe(3);
      }
    });
    it('maxBytes: a larger message is a -32600', () => {
      const s = msg('"method":"m"');
      expect(parse(s, { maxBytes: s.length }).ok).toBe(true);
      expect(view(parse(s, { maxBytes: s.length - 1 }))).toEqual({ ok: false, code: -32600 });
    });
  });

  describe('inputs that end exactly at the end of the 64 KiB slot', () => {
    const big = jsonrpcCorpus.find((e: { name: string }) => e.name === 'tools-call-64k-text')!.bytes as Uint8Array;
    it('the 64 KiB tools/call', () => {
      expect(big.length).toBe(64 * 1024);
      const r = parse(big);
      expect(r.ok && r.messages[0].params).toEqual(JSON.parse(Buffer.from(big).toString('utf8')).params);
    });
    it.each(['"\\', '"\\u12', '"\\ud83d', '1', '-', '1e', 'tru', '"\xc3', '"\xf0\x9f\x98', '{', '['])('truncated to end in %j: -32700', (tail) => {
      const t = latin1(tail);
      const b = new Uint8Array(big.length);
      b.set(big.subarray(0, big.length - t.length));
      b.set(t, big.length - t.length);
      const r = parse(b);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe(-32700);
        expect(r.error.offset).toBeLessThanOrEqual(big.length);
      }
    });
  });
});
