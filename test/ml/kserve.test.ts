// The KServe v2 routes on a live server (built dist/, as conduit serve runs them): health,
// metadata, infer with JSON tensors (flat and nested data), output selection, id echo,
// and every error status: 400, 404, 413 (before the body), 503.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../dist/http/app.js';
import { InferenceClient } from '../../dist/ml/inference.js';
import { serveKserve } from '../../dist/ml/http.js';
import { mlpReference, seededMlp, writeMlp } from '../../dist/ml/onnx-writer.js';

const spec = seededMlp([4, 8, 3], 5);
let base = '';
let port = 0;
let client: InferenceClient;
let app: ReturnType<typeof createServer>;

beforeAll(async () => {
  client = new InferenceClient();
  await client.add({ name: 'mlp', version: '1', data: writeMlp(spec), options: { device: 'cpu' } });
  await client.add({ name: 'mlp', version: '2', data: writeMlp(seededMlp([4, 8, 3], 6)), options: { device: 'cpu' } });
  app = createServer();
  serveKserve(app, client, { maxBodyBytes: 1 << 20 });
  port = (await app.listen({ port: 0 })).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await app.close();
  await client.close();
});

const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('KServe v2 routes', () => {
  it('health, server and model metadata', async () => {
    expect(await (await fetch(`${base}/v2/health/live`)).json()).toEqual({ live: true });
    expect(await (await fetch(`${base}/v2/health/ready`)).json()).toEqual({ ready: true });
    expect((await (await fetch(`${base}/v2`)).json()).extensions).toContain('statistics');
    const meta = await (await fetch(`${base}/v2/models/mlp`)).json();
    expect(meta).toEqual({
      name: 'mlp', versions: ['1', '2'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 3] }],
    });
    expect((await fetch(`${base}/v2/models/mlp/versions/1/ready`)).status).toBe(200);
  });

  it('infers with flat and nested data, echoes the id, selects outputs; results equal the reference', async () => {
    const x = [0.1, -0.2, 0.3, 0.4, 1, 2, 3, 4];
    const r = await post('/v2/models/mlp/versions/1/infer', { id: 'req-7', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: [[0.1, -0.2, 0.3, 0.4], [1, 2, 3, 4]] }], outputs: [{ name: 'output' }] });
    expect(r.status).toBe(200);
    const j = await r.json();
    expect(j).toMatchObject({ model_name: 'mlp', model_version: '1', id: 'req-7' });
    expect(j.outputs[0]).toMatchObject({ name: 'output', datatype: 'FP32', shape: [2, 3] });
    const ref = mlpReference(spec, Float32Array.from(x), 2);
    (j.outputs[0].data as number[]).forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(1e-5));
    const flat = await (await post('/v2/models/mlp/versions/1/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: x }] })).json();
    expect(flat.outputs[0].data).toEqual(j.outputs[0].data);
  });

  it('400 for requests that do not fit the model, 404 for unknown models and versions', async () => {
    const bad = async (body: unknown, re: RegExp, path = '/v2/models/mlp/infer') => {
      const r = await post(path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect((await r.json()).error).toMatch(re);
    };
    await bad('{not json', /not valid JSON/);
    await bad({ inputs: [] }, /non-empty "inputs"/);
    await bad({ inputs: [{ name: 'input', datatype: 'FP99', shape: [1, 4], data: [1, 2, 3, 4] }] }, /datatype "FP99"/);
    await bad({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3] }] }, /shape \[1, 4\]: 3 values \(4 expected\)/);
    await bad({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }, /dimension 1 is 3, the model takes 4/);
    await bad({ inputs: [{ name: 'input', datatype: 'INT32', shape: [1, 4], data: [1, 2, 3, 4] }] }, /type int32, the model takes float32/);
    await bad({ inputs: [{ name: 'nope', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }, /has no input 'nope'/);
    await bad({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 'x', 4] }] }, /data\[2\] must be a number/);
    await bad({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }], outputs: [{ name: 'zz' }] }, /has no output 'zz'/);
    const unknown = await post('/v2/models/ghost/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
    expect(unknown.status).toBe(404);
    expect((await fetch(`${base}/v2/models/mlp/versions/9`)).status).toBe(404);
    expect((await fetch(`${base}/v2/models/ghost/stats`)).status).toBe(404);
  });

  it('the binary tensor extension: binary inputs, binary outputs (per output or all), header length checked', async () => {
    const x = Float32Array.from([0.5, -1, 2, 0.25, 3, 1, -2, 0]);
    const head = new TextEncoder().encode(JSON.stringify({ id: 'b1', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], parameters: { binary_data_size: 32 } }], outputs: [{ name: 'output', parameters: { binary_data: true } }] }));
    const bodyOf = (h: Uint8Array) => Buffer.concat([h, Buffer.from(x.buffer)]);
    const r = await fetch(`${base}/v2/models/mlp/versions/1/infer`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) }, body: bodyOf(head) });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    const n = Number(r.headers.get('inference-header-content-length'));
    const all = new Uint8Array(await r.arrayBuffer());
    const meta = JSON.parse(new TextDecoder().decode(all.subarray(0, n)));
    expect(meta).toMatchObject({ id: 'b1', outputs: [{ name: 'output', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } }] });
    expect(meta.outputs[0].data).toBeUndefined();
    const out = new Float32Array(all.slice(n).buffer);
    const ref = mlpReference(spec, x, 2);
    expect(out.length).toBe(6);
    out.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(1e-5));
    // binary in, JSON out; binary_data_output for all outputs
    const jsonOut = new TextEncoder().encode(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], parameters: { binary_data_size: 32 } }] }));
    const j = await fetch(`${base}/v2/models/mlp/versions/1/infer`, { method: 'POST', headers: { 'inference-header-content-length': String(jsonOut.length) }, body: bodyOf(jsonOut) });
    expect(j.headers.get('content-type')).toBe('application/json');
    expect((await j.json()).outputs[0].data).toHaveLength(6);
    const allBin = await post('/v2/models/mlp/versions/1/infer', { parameters: { binary_data_output: true }, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
    expect(Number(allBin.headers.get('inference-header-content-length'))).toBeGreaterThan(0);
    expect((await allBin.arrayBuffer()).byteLength).toBe(Number(allBin.headers.get('inference-header-content-length')) + 12);
    for (const bad of ['x', '-1', String(head.length + 1000)]) {
      const e = await fetch(`${base}/v2/models/mlp/infer`, { method: 'POST', headers: { 'inference-header-content-length': bad }, body: bodyOf(head) });
      expect(e.status, bad).toBe(400);
      expect((await e.json()).error).toMatch(/Inference-Header-Content-Length/);
    }
  });

  it('413 for a 20 MiB body, answered before the body is sent; the server serves on', async () => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d));
    s.write(`POST /v2/models/mlp/infer HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ${20 * 1024 * 1024}\r\n\r\n`);
    for (let i = 0; i < 200 && !got.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 10));
    s.destroy();
    expect(got).toMatch(/^HTTP\/1\.1 413 /);
    expect((await post('/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] })).status).toBe(200);
  });

  it('statistics and repository control', async () => {
    const stats = await (await fetch(`${base}/v2/models/mlp/stats`)).json();
    expect(stats.model_stats.map((m: { version: string }) => m.version).sort()).toEqual(['1', '2']);
    const index = await (await post('/v2/repository/index', {})).json();
    expect(index).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'mlp', version: '1', state: 'READY' })]));
    expect((await post('/v2/repository/models/mlp/unload', {})).status).toBe(200);
    expect((await post('/v2/repository/models/mlp/load', {})).status).toBe(200);
    expect((await post('/v2/repository/models/ghost/load', {})).status).toBe(404);
  });
});
