// The HTTP parser as an embedder calls it: one call per request, every string decoded.
//   - Conduit: parseHttpRequest(bytes) → { method, target, version, headers: [name, value][],
//     body (a copy), ... };
//   - llhttp (undici's WASM build, SIMD and scalar), driven as undici drives it: copy the
//     bytes into its memory, llhttp_execute, with callbacks that decode the URL and each
//     header name and value to strings (latin1, as undici does) and copy the body; the
//     method name and version from its getters. The same strings come out of both.
// One parse per request of the corpus (bench/corpus/http.mjs: browser-get, jsonrpc-post,
// headers-50, chunked-upload; pipelined-64 is left out: parseHttpRequest takes the first
// request). Both sides are checked once against each other.
//
// Run: node bench/run.mjs http-oneshot   (or node bench/http-oneshot.bench.mjs)

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { fmt, runIfMain, runTasks, saveResult, suiteResult } from './lib.mjs';
import { parseHttpRequest, HttpParseError } from '../dist/index.js';
import { httpCorpus } from './corpus/http.mjs';

export const name = 'http-oneshot';
const RESULTS_FILE = fileURLToPath(new URL('./results/http-oneshot.json', import.meta.url));
const BATCH_BYTES = 32 * 1024;
const require = createRequire(import.meta.url);
const constants = require('undici/lib/llhttp/constants.js');

/** undici-style llhttp: (bytes) => the same request object as parseHttpRequest's. */
function llhttp(simd) {
  const mod = new WebAssembly.Module(simd ? require('undici/lib/llhttp/llhttp_simd-wasm.js') : require('undici/lib/llhttp/llhttp-wasm.js'));
  let ex = null;
  let cur = null;
  let field = '';
  // (one Buffer over its memory, made again only when the memory grew: as undici keeps one)
  let view = null;
  const mem = () => (view !== null && view.buffer === ex.memory.buffer ? view : (view = Buffer.from(ex.memory.buffer)));
  const env = {
    wasm_on_url: (p, at, len) => { cur.target += mem().latin1Slice(at, at + len); return 0; },
    wasm_on_status: () => 0,
    wasm_on_message_begin: () => 0,
    wasm_on_header_field: (p, at, len) => { field = mem().latin1Slice(at, at + len); return 0; },
    wasm_on_header_value: (p, at, len) => { cur.headers.push([field, mem().latin1Slice(at, at + len)]); return 0; },
    wasm_on_headers_complete: (p, _s, upgrade, keepAlive) => {
      cur.method = METHODS[ex.llhttp_get_method(p)];
      cur.version = ex.llhttp_get_http_minor(p) === 1 ? '1.1' : '1.0';
      cur.upgrade = upgrade === 1;
      cur.keepAlive = keepAlive === 1;
      return 0;
    },
    wasm_on_body: (p, at, len) => { cur.chunks.push(new Uint8Array(ex.memory.buffer, at, len).slice()); return 0; },
    wasm_on_message_complete: () => { cur.complete = true; return constants.ERROR.PAUSED; },
  };
  ex = new WebAssembly.Instance(mod, { env }).exports;
  const METHODS = Object.fromEntries(Object.entries(constants.METHODS).map(([k, v]) => [v, k]));
  const parser = ex.llhttp_alloc(constants.TYPE.REQUEST);
  let buf = 0;
  let cap = 0;
  return (bytes) => {
    if (bytes.length > cap) {
      if (buf !== 0) ex.free(buf);
      cap = Math.max(bytes.length, 64 * 1024);
      buf = ex.malloc(cap);
    }
    new Uint8Array(ex.memory.buffer, buf, bytes.length).set(bytes);
    ex.llhttp_reset(parser);
    cur = { method: '', target: '', version: '1.1', headers: [], chunks: [], upgrade: false, keepAlive: false, complete: false };
    const ret = ex.llhttp_execute(parser, buf, bytes.length);
    if (ret !== 0 && ret !== constants.ERROR.PAUSED) throw new Error(`llhttp error ${ret}`);
    if (!cur.complete) throw new Error('llhttp: incomplete');
    const body = cur.chunks.length === 1 ? cur.chunks[0] : new Uint8Array(Buffer.concat(cur.chunks));
    return { method: cur.method, target: cur.target, version: cur.version, headers: cur.headers, body };
  };
}

const conduit = (bytes) => {
  const r = parseHttpRequest(bytes);
  if (r instanceof HttpParseError) throw new Error(`Conduit: ${r.message}`);
  return r;
};

export async function run(options = {}) {
  const time = options.time ?? 1000;
  const warmupTime = options.warmupTime ?? 300;
  const log = options.log ?? ((s) => console.log(s));
  const filter = options.corpusFilter ?? [];
  const corpus = httpCorpus.filter((e) => e.messages === 1 && (filter.length === 0 || filter.some((f) => e.name.includes(f))));
  const parsers = [['conduit', conduit], ['llhttp-simd', llhttp(true)], ['llhttp-scalar', llhttp(false)]];
  // The same strings from both
  for (const e of corpus) {
    const a = conduit(e.bytes);
    for (const [id, p] of parsers.slice(1)) {
      const b = p(e.bytes);
      const same = a.method === b.method && a.target === b.target && a.version === b.version && JSON.stringify(a.headers) === JSON.stringify(b.headers)
        && Buffer.compare(Buffer.from(a.body ?? new Uint8Array(0)), Buffer.from(b.body)) === 0;
      if (!same) throw new Error(`${e.name}: Conduit and ${id} disagree`);
    }
  }
  const bench = new Bench({ name, time, warmupTime, throws: true });
  const reps = new Map();
  let sink = 0;
  for (const e of corpus) {
    const n = Math.max(1, Math.round(BATCH_BYTES / e.bytes.length));
    reps.set(e.name, n);
    for (const [id, p] of parsers) bench.add(`${e.name} ${id}`, () => {
      for (let i = 0; i < n; i++) sink += p(e.bytes).headers.length;
    });
  }
  const { elapsed, results } = await runTasks(bench);
  const per = new Map(results.map(({ name: n, r }) => [n, r.latency.p50 * 1e3]));
  const rows = [];
  log('| request | bytes | Conduit µs | llhttp SIMD µs | llhttp scalar µs | Conduit ÷ llhttp SIMD (speed) |');
  log('|---|---:|---:|---:|---:|---:|');
  for (const e of corpus) {
    const n = reps.get(e.name);
    const [c, s, sc] = ['conduit', 'llhttp-simd', 'llhttp-scalar'].map((id) => per.get(`${e.name} ${id}`) / n);
    rows.push({ name: e.name, bytes: e.bytes.length, conduitUs: c, llhttpSimdUs: s, llhttpScalarUs: sc, ratio: s / c });
    log(`| ${e.name} | ${e.bytes.length} | ${fmt(c, 2)} | ${fmt(s, 2)} | ${fmt(sc, 2)} | ${fmt(s / c, 2)}x |`);
  }
  log(`(${elapsed.toFixed(1)} s; median of batches, per request; sink ${sink > 0})`);
  saveResult(RESULTS_FILE, suiteResult(name, { statistic: 'median', time, warmupTime, batchBytes: BATCH_BYTES }, { rows }), options, log);
  return rows;
}

await runIfMain(import.meta.url, run);
