#!/usr/bin/env node
// The peer for bench/ml/load.mjs: a KServe v2 infer endpoint on node:http with
// onnxruntime-node, one session.run() per request (no batching), JSON.parse of the body.
//   node bench/ml/unbatched-peer.mjs --port=P NAME=PATH [NAME=PATH...]   (prints "listening P")
import http from 'node:http';
import ort from 'onnxruntime-node';

const args = process.argv.slice(2);
const port = Number((args.find((a) => a.startsWith('--port=')) ?? '--port=0').slice(7));
const sessions = new Map();
for (const a of args.filter((x) => x.includes('=') && !x.startsWith('--'))) {
  const [name, path] = a.split('=');
  sessions.set(name, await ort.InferenceSession.create(path, { executionProviders: ['cpu'] }));
}
const server = http.createServer((req, res) => {
  const m = /^\/v2\/models\/([^/]+)\/infer$/.exec(req.url ?? '');
  const s = m && sessions.get(m[1]);
  if (req.method !== 'POST' || !s) {
    res.writeHead(404).end('{"error":"not found"}');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const input = body.inputs[0];
      const t = new ort.Tensor('float32', Float32Array.from(input.data.flat(Infinity)), input.shape);
      const out = await s.run({ [input.name]: t });
      const outputs = Object.entries(out).map(([name, v]) => ({ name, datatype: 'FP32', shape: v.dims, data: Array.from(v.data) }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ model_name: m[1], outputs }));
    } catch (e) {
      res.writeHead(400).end(JSON.stringify({ error: String(e.message) }));
    }
  });
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
