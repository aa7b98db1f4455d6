// `conduit serve --workers 2` with models: one inference worker for the whole server, so
// that requests reaching either HTTP worker (threads over their own MessagePorts; processes
// through the supervisor) meet in the same batcher, and every worker reports the same
// statistics. Results equal the reference for every request.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeTransport } from '../../src/net/native.js';
import { mlpReference, seededMlp } from '../../dist/ml/onnx-writer.js';

const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function start(env: Record<string, string>): Promise<{ port: number; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--workers', '2', '--device', 'cpu'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)\//.exec(out);
      if (m) resolve({ port: Number(m[1]), stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}${err}`)));
  });
}

/** One request on a connection of its own (so that it may land on either worker). */
function request(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, path, method, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(b) }));
    });
    r.on('error', reject);
    r.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const modes = [
  ...(nativeTransport().module !== null ? [['threads (native transport)', {}] as const] : []),
  ['processes (node:net)', { CONDUIT_TRANSPORT: 'net' }] as const,
];

const demo = seededMlp([16, 32, 4], 42);

describe.each(modes)('models across 2 workers: %s', (_name, env) => {
  it('one inference worker serves both: every request right, one batcher, the same statistics from either worker', async () => {
    const { port, stderr } = await start(env);
    const rows = Array.from({ length: 64 }, (_, i) => Array.from({ length: 16 }, (_, k) => Math.sin(i * 16 + k)));
    const answers = await Promise.all(rows.map((data, i) => request(port, 'POST', '/v2/models/demo/infer', {
      id: `r${i}`, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 16], data }],
    })));
    for (const [i, a] of answers.entries()) {
      expect(a.status).toBe(200);
      expect(a.body.id).toBe(`r${i}`);
      const want = mlpReference(demo, Float32Array.from(rows[i]), 1);
      const got = a.body.outputs[0].data as number[];
      for (let k = 0; k < 4; k++) expect(Math.abs(got[k] - want[k])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[k])));
    }
    // Whichever worker answers, it reports the one batcher: all 64 requests
    const stats = await Promise.all([0, 1, 2, 3, 4, 5].map(() => request(port, 'GET', '/v2/models/demo/stats')));
    for (const s of stats) {
      expect(s.status).toBe(200);
      expect(s.body.model_stats[0].stats.requests).toBe(64);
    }
    // The model was loaded once, in the one inference worker
    expect(stderr().match(/model demo: .* loaded in/g)).toHaveLength(1);
  });
});
