// A turn's inference requests and results packed into one SharedArrayBuffer: everything
// comes back as it went (ids, models, versions, output lists, names, types, dims, data of
// every element type, errors), the data as views of the shared memory, and a pack can be
// made process-safe (an ordinary ArrayBuffer copy) and read the same.
import { describe, expect, it } from 'vitest';
import { owned, packRequests, packResults, unpackRequests, unpackResults, unsharedPack, type WireRequest, type WireResult } from '../../src/ml/wire-tensors.js';

const tensors = () => [
  { name: 'a', type: 'float32', dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) },
  { name: 'b', type: 'int64', dims: [1], data: BigInt64Array.from([-(2n ** 60n)]) },
  { name: 'c', type: 'uint8', dims: [3], data: Uint8Array.from([1, 2, 255]) },
  { name: 'd', type: 'float64', dims: [0, 4], data: new Float64Array(0) },
  { name: 'e', type: 'bool', dims: [2], data: Uint8Array.from([1, 0]) },
  { name: 'f', type: 'int16', dims: [], data: Int16Array.from([-7]) },
];

describe('wire packs', () => {
  it('requests: round trip, data in one SharedArrayBuffer', () => {
    const reqs: WireRequest[] = [
      { id: 1, model: 'm', inputs: tensors() },
      { id: 2, model: 'm', version: '3', inputs: [tensors()[0]], outputs: ['x', 'y'] },
      { id: 2 ** 31 - 1, model: 'other', inputs: [], outputs: [] },
    ];
    const pack = packRequests(reqs);
    expect(pack.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(pack.strings.filter((s) => s === 'm')).toHaveLength(1); // (each string once)
    const back = unpackRequests(structuredClone(pack));
    expect(back).toEqual(reqs.map((r) => ({ ...r, version: r.version, outputs: r.outputs })));
    for (const t of back[0].inputs) expect(t.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    // onnxruntime gets ordinary memory
    const o = owned(back[0].inputs[0]);
    expect(o.data.buffer).toBeInstanceOf(ArrayBuffer);
    expect(o.data).toEqual(reqs[0].inputs[0].data);
  });

  it('results: outputs and errors; a process-safe copy reads the same', () => {
    const res: WireResult[] = [
      { id: 5, outputs: tensors() },
      { id: 6, code: 'CONDUIT_ERR_INVALID_TENSOR', message: 'bad "x" — é' },
      { id: 7, outputs: [] },
    ];
    const pack = packResults(res);
    expect(unpackResults(pack)).toEqual(res);
    const copy = unsharedPack(pack);
    expect(copy.buffer).toBeInstanceOf(ArrayBuffer);
    expect(unpackResults(structuredClone(copy))).toEqual(res);
    expect(unsharedPack(copy)).toBe(copy);
  });
});
