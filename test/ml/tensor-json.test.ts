// KServe infer bodies parsed on the WASM core (validation, then the tensor kernel straight
// into typed arrays): values exactly those of JSON.parse (Math.fround for FP32) on numbers
// of every shape, including the ones the kernel hands back (long mantissas, near-halfway
// FP32 values, large exponents); nested and out-of-order members; chunked long data; every
// datatype; the binary tensor extension; and an error naming the problem for each bad input.
import { describe, expect, it } from 'vitest';
import { fromHalf, parseInferRequest, toHalf, TensorRequestError } from '../../src/ml/tensor-json.js';

const te = new TextEncoder();
const body = (x: unknown) => te.encode(typeof x === 'string' ? x : JSON.stringify(x));
const one = (datatype: string, data: unknown, shape = [Array.isArray(data) ? data.length : 1]) =>
  parseInferRequest(body({ inputs: [{ name: 'x', datatype, shape, data }] })).inputs[0].tensor;
const raw = (datatype: string, text: string, n: number) =>
  parseInferRequest(body(`{"inputs":[{"name":"x","datatype":"${datatype}","shape":[${n}],"data":[${text}]}]}`)).inputs[0].tensor;

/** Number texts of every kind, as clients write them. */
function corpus(): string[] {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const out = ['0', '-0', '1', '-1', '0.5', '1e0', '1E+2', '1e-2', '123456789012345678901234567890', '0.1', '0.2', '0.30000000000000004',
    '5e-324', '2.2250738585072014e-308', '1.7976931348623157e308', '1e22', '1e23', '1e-22', '1e-23', '9007199254740993',
    '3.4028234663852886e38', '1.1754943508222875e-38', '1.401298464324817e-45', '0.000001', '-123.456e-7', '100000000000000000000000'];
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < 4000; i++) {
    const v = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 16 - 8);
    out.push(String(v), v.toFixed(Math.floor(rnd() * 10)), v.toExponential(Math.floor(rnd() * 17)));
    f32[0] = v;
    out.push(String(f32[0])); // (a float32 value as JavaScript prints it: 17 digits, often)
    // Near the midpoint between two float32 values: where a careless rounding goes wrong
    const a = f32[0];
    u32[0] += 1;
    const mid = (a + f32[0]) / 2;
    out.push(mid.toPrecision(17), (mid * (1 + 2 ** -52)).toPrecision(17), (mid * (1 - 2 ** -52)).toPrecision(17), mid.toPrecision(25));
  }
  return out;
}

describe('parseInferRequest: numbers', () => {
  const texts = corpus();
  const expected = texts.map((t) => JSON.parse(t) as number);

  it('FP64: every value is exactly JSON.parse’s', () => {
    const t = raw('FP64', texts.join(','), texts.length);
    const got = t.data as Float64Array;
    for (let i = 0; i < texts.length; i++) if (!Object.is(got[i], expected[i])) expect([texts[i], got[i]]).toEqual([texts[i], expected[i]]);
  });

  it('FP32: every value is exactly Math.fround(JSON.parse), near-halfway ones included', () => {
    const fits = texts.filter((_, i) => Number.isFinite(Math.fround(expected[i])));
    const t = raw('FP32', fits.join(','), fits.length);
    const got = t.data as Float32Array;
    for (let i = 0; i < fits.length; i++) {
      const want = Math.fround(JSON.parse(fits[i]) as number);
      if (!Object.is(got[i], want)) expect([fits[i], got[i]]).toEqual([fits[i], want]);
    }
  });

  it('long data in chunks (100,003 values), nested arrays flattened row-major, whitespace anywhere', () => {
    const n = 100_003;
    const values = Array.from({ length: n }, (_, i) => Math.sin(i) * 1000);
    const t = raw('FP32', values.join(' ,\n'), n);
    expect(t.data).toEqual(Float32Array.from(values));
    const d = raw('FP64', values.map(String).join(','), n);
    expect(d.data).toEqual(Float64Array.from(values));
    expect(one('FP32', [[1, 2, 3], [4, 5, 6]], [2, 3]).data).toEqual(Float32Array.from([1, 2, 3, 4, 5, 6]));
    expect(one('INT32', [[[1], [2]], [[3], [4]]], [2, 2, 1]).data).toEqual(Int32Array.from([1, 2, 3, 4]));
  });

  it('data before datatype and shape: the same values', () => {
    const r = parseInferRequest(body('{"inputs":[{"data":[[0.1,2e3],[-3,4.5]],"name":"x","shape":[2,2],"datatype":"FP32"}],"id":"q"}'));
    expect(r.id).toBe('q');
    expect(r.inputs[0].tensor).toEqual({ type: 'float32', dims: [2, 2], data: Float32Array.from([0.1, 2e3, -3, 4.5]) });
    const b = parseInferRequest(body('{"inputs":[{"data":[true,false],"name":"x","shape":[2],"datatype":"BOOL"}]}'));
    expect(b.inputs[0].tensor.data).toEqual(Uint8Array.from([1, 0]));
  });

  it('every datatype, with its range checked', () => {
    expect(one('INT8', [-128, 127]).data).toEqual(Int8Array.from([-128, 127]));
    expect(one('UINT8', [0, 255]).data).toEqual(Uint8Array.from([0, 255]));
    expect(one('INT16', [-32768, 32767]).data).toEqual(Int16Array.from([-32768, 32767]));
    expect(one('UINT16', [65535]).data).toEqual(Uint16Array.from([65535]));
    expect(one('INT32', [-(2 ** 31), 2 ** 31 - 1]).data).toEqual(Int32Array.from([-(2 ** 31), 2 ** 31 - 1]));
    expect(one('UINT32', [2 ** 32 - 1]).data).toEqual(Uint32Array.from([2 ** 32 - 1]));
    expect(one('INT64', [-(2 ** 53) + 1, 2 ** 53 - 1]).data).toEqual(BigInt64Array.from([-(2n ** 53n) + 1n, 2n ** 53n - 1n]));
    expect(one('UINT64', [0, 2 ** 40]).data).toEqual(BigUint64Array.from([0n, 2n ** 40n]));
    expect(one('BOOL', [true, false, true]).data).toEqual(Uint8Array.from([1, 0, 1]));
    expect(one('FP16', [1, -2, 65504, 0.5, 1e-7]).data).toEqual(Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x3800, 0x0002]));
    for (const [dt, v] of [['INT8', 128], ['UINT8', -1], ['INT16', 40000], ['UINT16', 70000], ['INT32', 2 ** 31], ['UINT32', 2 ** 32], ['INT64', 2 ** 60], ['INT32', 1.5]] as const) {
      expect(() => one(dt, [v]), `${dt} ${v}`).toThrow(/must be an integer from/);
    }
    expect(() => one('FP16', [70000])).toThrow(/out of FP16's range/);
    expect(() => one('FP32', [1e39])).toThrow(/out of range/);
    expect(() => one('BOOL', [1, 0])).toThrow(/BOOL data must be true or false/);
    expect(() => one('FP32', [true])).toThrow(/must be numbers, not booleans/);
  });

  it('FP16 conversion: ties to even, subnormals, both ways', () => {
    for (let h = 0; h < 0x7c00; h++) expect(toHalf(fromHalf(h))).toBe(h);
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // (a tie: to even)
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalf(2 ** -25)).toBe(0); // (half the smallest subnormal: to even, 0)
    expect(toHalf(-0)).toBe(0x8000);
  });
});

describe('parseInferRequest: the request', () => {
  it('outputs, parameters, binary output flags; unknown members ignored', () => {
    const r = parseInferRequest(body({
      id: 'é-1', extra: { deep: [1, { a: '}' }] }, parameters: { binary_data_output: true, x: 1 },
      inputs: [{ name: 'in\u00e9', datatype: 'FP32', shape: [1], data: [1], parameters: { p: 'q' } }],
      outputs: [{ name: 'a' }, { name: 'b', parameters: { binary_data: true } }],
    }));
    expect(r.id).toBe('é-1');
    expect(r.binaryOutputs).toBe(true);
    expect(r.parameters).toEqual({ binary_data_output: true, x: 1 });
    expect(r.outputs).toEqual([{ name: 'a', binary: false }, { name: 'b', binary: true }]);
    expect(r.inputs[0].name).toBe('iné');
    expect(r.inputs[0].parameters).toEqual({ p: 'q' });
  });

  it('the binary tensor extension: tensors after the JSON header, in input order', () => {
    const json = te.encode(JSON.stringify({ inputs: [
      { name: 'a', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } },
      { name: 'b', datatype: 'INT64', shape: [1], parameters: { binary_data_size: 8 } },
      { name: 'c', datatype: 'INT32', shape: [2], data: [7, 8] },
    ] }));
    const bin = new Uint8Array([...new Uint8Array(Float32Array.from([1.5, -2]).buffer), ...new Uint8Array(BigInt64Array.from([-5n]).buffer)]);
    const all = new Uint8Array(json.length + bin.length);
    all.set(json);
    all.set(bin, json.length);
    // (at an odd offset in a larger buffer, as a request body may be)
    const padded = new Uint8Array(all.length + 1);
    padded.set(all, 1);
    const r = parseInferRequest(padded.subarray(1), json.length);
    expect(r.inputs.map((x) => x.tensor.data)).toEqual([Float32Array.from([1.5, -2]), BigInt64Array.from([-5n]), Int32Array.from([7, 8])]);
    expect(() => parseInferRequest(all.subarray(0, all.length - 1), json.length)).toThrow(/ends before its 8 bytes/);
    const extra = new Uint8Array(all.length + 3);
    extra.set(all);
    expect(() => parseInferRequest(extra, json.length)).toThrow(/3 bytes of binary data that no input claims/);
    expect(() => parseInferRequest(all, all.length + 1)).toThrow(/not within the body/);
    const wrongSize = te.encode(JSON.stringify({ inputs: [{ name: 'a', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 4 } }] }));
    expect(() => parseInferRequest(wrongSize)).toThrow(/binary_data_size 4, the shape and datatype take 8 bytes/);
    const both = te.encode(JSON.stringify({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1], data: [1], parameters: { binary_data_size: 4 } }] }));
    expect(() => parseInferRequest(new Uint8Array([...both, 0, 0, 0, 0]), both.length)).toThrow(/both data and binary_data_size/);
  });

  it('names the problem of every bad body (a TensorRequestError: a 400)', () => {
    const cases: Array<[string, RegExp]> = [
      ['{not json', /not valid JSON \(invalid JSON at byte 1\)/],
      ['', /not valid JSON/],
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":["\xff"]}]}', /invalid UTF-8|must be a number/],
      ['[1,2]', /the body must be an object/],
      ['{"inputs":[]}', /non-empty "inputs"/],
      ['{"inputs":{}}', /"inputs" must be an array/],
      ['{"id":3,"inputs":[]}', /"id" must be a string/],
      ['{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":["a"]}]}', /BYTES tensors are not supported/],
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1]}]}', /shape \[2\]: 1 values \(2 expected\)/],
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,2,3]}]}', /shape \[2\]: 3 values \(2 expected\)/],
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,null]}]}', /data\[1\] must be a number/],
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[{"a":1}]}]}', /data\[0\] must be a number/],
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":1}]}', /data must be an array/],
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[-1],"data":[1]}]}', /shape must be an array of non-negative integers/],
      ['{"inputs":[{"name":"x","datatype":"FP32","data":[1]}]}', /shape must be/],
      ['{"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}', /name must be a string/],
      ['{"inputs":[{"name":"x","shape":[1],"data":[1]}]}', /datatype is missing/],
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]}', /data is missing/],
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]},{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}', /input x is given twice/],
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"nam":"y"}]}', /"outputs" must be an array of/],
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"parameters":[]}', /"parameters" must be an object/],
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[4294967296,4294967296],"data":[1]}]}', /too large/],
      // (a shape the body cannot hold: refused before anything that size is allocated)
      ['{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2000000000],"data":[1]}]}', /1 values \(2000000000 expected\)/],
      ['{"inputs":[{"name":"x","datatype":"INT64","shape":[2000000000],"data":[1,2]}]}', /2 values \(2000000000 expected\)/],
    ];
    for (const [text, re] of cases) {
      let err: unknown;
      try {
        parseInferRequest(te.encode(text));
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(TensorRequestError);
      expect((err as Error).message, text).toMatch(re);
    }
    // Invalid UTF-8 bytes inside a string
    expect(() => parseInferRequest(new Uint8Array([...te.encode('{"id":"'), 0xff, ...te.encode('","inputs":[]}')]))).toThrow(/invalid UTF-8/);
  });
});

describe('parseInferRequest: never accepts what is not JSON', () => {
  const accepts = (bytes: Uint8Array) => {
    try {
      parseInferRequest(bytes);
      return true;
    } catch (e) {
      if (!(e instanceof TensorRequestError)) throw e; // (only ever a 400)
      return false;
    }
  };
  const isJson = (bytes: Uint8Array) => {
    try {
      JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
      return true;
    } catch {
      return false;
    }
  };

  it('every JSONTestSuite n_ text, as the data or as a member, is refused', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = new URL('../fixtures/json/test_parsing/', import.meta.url).pathname;
    let n = 0;
    for (const f of readdirSync(dir).filter((x) => x.startsWith('n_'))) {
      const text = readFileSync(join(dir, f));
      for (const [pre, post] of [
        ['{"inputs":[{"name":"x","datatype":"FP64","shape":[1],"data":', '}]}'],
        ['{"inputs":[{"name":"x","datatype":"FP64","shape":[1],"data":[', ']}]}'],
        ['{"id":', ',"inputs":[{"name":"x","datatype":"FP64","shape":[1],"data":[1]}]}'],
        ['{"inputs":[{"name":"x","datatype":"FP64","shape":[1],"data":[1],"parameters":', '}]}'],
        ['{"inputs":[{"name":"x","datatype":"FP64","shape":[1],"data":[1]}],"extra":', '}'],
      ]) {
        const body = new Uint8Array([...te.encode(pre), ...text, ...te.encode(post)]);
        if (isJson(body)) continue; // (an n_ text can make valid JSON in context)
        n++;
        expect(accepts(body), `${f} in ${pre}…${post}`).toBe(false);
      }
    }
    expect(n).toBeGreaterThan(500);
  });

  it('random mutations of a valid body: refused whenever JSON.parse refuses them', () => {
    const base = te.encode(JSON.stringify({
      id: 'a', parameters: { k: [1, { z: null }] },
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [[1.5, -2e-3, 0], [7, 0.25, 1e2]] },
        { name: 'y', datatype: 'BOOL', shape: [2], data: [true, false] }],
      outputs: [{ name: 'o' }],
    }));
    const alphabet = te.encode('[]{},:"-+.eE0123456789 \ttruefalsnl\\x');
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    let refusedByBoth = 0;
    for (let i = 0; i < 6000; i++) {
      const b = Array.from(base);
      for (let k = 0, edits = 1 + rnd(3); k < edits; k++) {
        const at = rnd(b.length);
        const op = rnd(3);
        if (op === 0) b.splice(at, 1);
        else if (op === 1) b.splice(at, 0, alphabet[rnd(alphabet.length)]);
        else b[at] = alphabet[rnd(alphabet.length)];
      }
      const bytes = Uint8Array.from(b);
      if (!isJson(bytes)) {
        refusedByBoth++;
        expect(accepts(bytes), new TextDecoder().decode(bytes)).toBe(false);
      }
    }
    expect(refusedByBoth).toBeGreaterThan(2000);
  });
});
