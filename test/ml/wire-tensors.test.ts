// A turn's inference requests and results packed into one SharedArrayBuffer: everything
// comes back as it went (ids, models, versions, output lists, names, types, dims, data of
// every element type, errors), the data as views of the shared memory, and a pack can be
// made process-safe (an ordinary ArrayBuffer copy) and read the same.
import { describe, expect, it } from 'vitest';
import { consumed, PackArena, packRequests, packResults, unpackRequests, unpackResults, unsharedPack, type WireRequest, type WireResult } from '../../src/ml/wire-tensors.js';

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
    // (copied out into ordinary memory: what onnxruntime takes, and the pack's space is reused)
    for (const t of back[0].inputs) expect(t.data.buffer).toBeInstanceOf(ArrayBuffer);
  });

  it('an arena: packs reuse its space once consumed, wrap around, and fall back to memory of their own when full', () => {
    const arena = new PackArena(4096);
    const req = (id: number, n: number): WireRequest => ({ id, model: 'm', inputs: [{ name: 'x', type: 'float32', dims: [n], data: new Float32Array(n).fill(id) }] });
    const sent: ReturnType<typeof packRequests>[] = [];
    for (let i = 1; i <= 3; i++) sent.push(packRequests([req(i, 200)], arena)); // (3 × ~900 B)
    expect(sent.every((p) => p.buffer === arena.buffer)).toBe(true);
    expect(new Set(sent.map((p) => p.offset)).size).toBe(3);
    const full = packRequests([req(4, 400)], arena); // (1.7 KB: no room until one is consumed)
    expect(full.buffer).not.toBe(arena.buffer);
    expect(full.seq).toBe(-1);
    expect(unpackRequests(full)[0].inputs[0].data[0]).toBe(4);
    // Consumed in order: the space comes back, a new pack wraps to the start
    for (const p of sent.slice(0, 2)) {
      expect(unpackRequests(p)[0].inputs[0].data[199]).toBe(p.seq);
      consumed(p);
    }
    const wrapped = packRequests([req(5, 400)], arena);
    expect(wrapped.buffer).toBe(arena.buffer);
    expect(wrapped.offset).toBeLessThan(sent[2].offset);
    expect(unpackRequests(wrapped)[0].inputs[0].data).toEqual(new Float32Array(400).fill(5));
    expect(unpackRequests(sent[2])[0].inputs[0].data).toEqual(new Float32Array(200).fill(3)); // (not overwritten)
    consumed(sent[2]);
    consumed(wrapped);
    for (let i = 0; i < 1000; i++) { // (steady state: one in flight at a time, never a fallback)
      const p = packRequests([req(6, 100 + (i % 300))], arena);
      expect(p.buffer).toBe(arena.buffer);
      consumed(p);
    }
  });

  it('results: outputs and errors; a process-safe copy reads the same', () => {
    const res: WireResult[] = [
      { id: 5, outputs: tensors() },
      { id: 6, code: 'CONDUIT_ERR_INVALID_TENSOR', message: 'bad "x" — é' },
      { id: 7, outputs: [] },
    ];
    const arena = new PackArena();
    const pack = packResults(res, arena);
    expect(pack.buffer).toBe(arena.buffer);
    expect(unpackResults(pack)).toEqual(res);
    const copy = unsharedPack(pack);
    expect(copy.buffer).toBeInstanceOf(ArrayBuffer);
    expect(unpackResults(structuredClone(copy))).toEqual(res);
    expect(unsharedPack(copy)).toBe(copy);
  });
});
