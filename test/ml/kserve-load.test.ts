// The KServe routes under load, on a live server (built dist/): a full queue answers 503
// with Retry-After and the server serves on; a client that goes away has its queued request
// dropped before it runs; and the HTTP event loop stays responsive (GET /health) while a
// slow model runs in the inference worker.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../dist/http/app.js';
import { InferenceClient } from '../../dist/ml/inference.js';
import { serveKserve } from '../../dist/ml/http.js';
import { seededMlp, writeMlp } from '../../dist/ml/onnx-writer.js';

let base = '';
let port = 0;
let client: InferenceClient;
let app: ReturnType<typeof createServer>;

const ROWS = 1024; // (with the model below: ~9 GFLOP, tens of ms or more on one thread)
const WIDTH = 64;
const big = (rows: number) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, WIDTH], data: new Array(rows * WIDTH).fill(0.25) }] });

beforeAll(async () => {
  client = new InferenceClient();
  // A model slow enough to hold the worker (one thread), one request per run, two waiting at most
  await client.add({ name: 'slow', data: writeMlp(seededMlp([WIDTH, 2048, 2048, 10], 3)), options: { device: 'cpu', intraOpThreads: 1 } }, { maxBatchSize: 1, maxQueue: 2 });
  await client.load('slow');
  app = createServer();
  app.get('/health', () => ({ ok: true }));
  serveKserve(app, client);
  port = (await app.listen({ port: 0 })).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await app.close();
  await client.close();
});

const post = (body: unknown) => fetch(`${base}/v2/models/slow/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const stats = async () => (await (await fetch(`${base}/v2/models/slow/stats`)).json()).model_stats[0].stats as { dropped: number; refused: number; batches: number; computeMs: number };

describe('KServe under load', () => {
  it('a full queue: 503 with Retry-After, every request answered, the server serves on', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(big(i === 0 ? ROWS : 1))));
    const codes = answers.map((r) => r.status);
    expect(codes.filter((c) => c === 503).length).toBeGreaterThan(0);
    expect(codes.every((c) => c === 200 || c === 503)).toBe(true);
    for (const r of answers.filter((x) => x.status === 503)) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect((await r.json()).error).toMatch(/queue is full/);
    }
    expect((await stats()).refused).toBeGreaterThan(0);
    expect((await post(big(1))).status).toBe(200);
  });

  it('a client that goes away: its queued request is dropped before it runs', async () => {
    const before = await stats();
    const busy = post(big(ROWS));
    await new Promise((r) => setTimeout(r, 20));
    const body = JSON.stringify(big(2));
    const s = net.connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.write(`POST /v2/models/slow/infer HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await new Promise((r) => setTimeout(r, 30));
    s.destroy();
    expect((await busy).status).toBe(200);
    for (let i = 0; i < 50 && (await stats()).dropped === before.dropped; i++) await new Promise((r) => setTimeout(r, 20));
    const after = await stats();
    expect(after.dropped).toBe(before.dropped + 1);
    expect(after.batches).toBe(before.batches + 1); // (only the busy one ran)
  });

  it('GET /health stays fast while the model runs (inference is off the event loop)', async () => {
    const before = await stats();
    const work = (async () => {
      for (let i = 0; i < 3; i++) expect((await post(big(ROWS))).status).toBe(200);
    })();
    const times: number[] = [];
    let done = false;
    void work.finally(() => (done = true));
    while (!done) {
      const t0 = performance.now();
      expect((await fetch(`${base}/health`)).status).toBe(200);
      times.push(performance.now() - t0);
    }
    await work;
    const after = await stats();
    const perRun = (after.computeMs - before.computeMs) / (after.batches - before.batches);
    times.sort((a, b) => a - b);
    const p99 = times[Math.floor(times.length * 0.99)];
    expect(times.length).toBeGreaterThan(10);
    // (each run held the worker's thread for perRun ms; the HTTP loop never waited that long)
    expect(perRun).toBeGreaterThan(20);
    expect(p99).toBeLessThan(perRun / 2);
  });
});
