// JSON-RPC tokenizer benchmark: Conduit's envelope extraction (SIMD and scalar WASM
// builds) against JSON.parse, and validation-only throughput, over the MCP messages in
// bench/corpus/jsonrpc.mjs.
//
// What one parse is:
//   - Conduit (envelope): parseJsonRpc(bytes, { variant }) — copy the bytes into the
//     core's memory, validate them (JSON + UTF-8), record the envelope spans — then read
//     .kind, .id and .method of the message (params / result stay unparsed: Conduit
//     materialises them only when read);
//   - JSON.parse (envelope): JSON.parse(decoder.decode(bytes)) with one shared
//     TextDecoder, then the same three facts: the kind (from which members are present),
//     .id and .method;
//   - validateJson(bytes, { variant }): validation only (copy included);
//   - kernel in place: the exported json_parse on bytes already in WASM memory, as the
//     server calls it on a pool slot (no copy, no JS objects) — the floor under the API
//     numbers (the scalar build's only for the 64 KiB messages).
// Every task is checked once at startup: same kind / id / method as the corpus says.
//
// Timing: each tinybench sample is a batch of `reps` parses (about 32 KiB of input) so
// that timer overhead is negligible; the reported figure is the MEDIAN sample latency
// divided by reps.
//
// Run through `node bench/run.mjs jsonrpc` or directly: `node bench/jsonrpc.bench.mjs
// [corpus-name-filter...]`.

import { fileURLToPath } from 'node:url';
import { fmt, runIfMain, runTasks, saveResult, suiteResult } from './lib.mjs';
import { Bench } from 'tinybench';
import { parseJsonRpc, validateJson, WasmCore } from '../dist/index.js';
import { jsonrpcCorpus } from './corpus/jsonrpc.mjs';

export const name = 'jsonrpc';

const RESULTS_FILE = fileURLToPath(new URL('./results/jsonrpc.json', import.meta.url));
const BATCH_BYTES = 32 * 1024;
const BASELINE = 'json-parse';
/** The goals. */
const GOAL_ENVELOPE_RATIO = 4;
const GOAL_VALIDATE_GBPS = 1;

/** Something the optimiser cannot see through. */
export let sink = 0;

const decoder = new TextDecoder();

// ── parsers: (bytes) => [kind, id, method] of the (first) message ───────────────────

function conduitEnvelope(variant) {
  const options = { variant };
  return (bytes) => {
    const r = parseJsonRpc(bytes, options);
    if (!r.ok) throw new Error(`Conduit ${variant}: ${r.error.message}`);
    const m = r.messages[0];
    return [m.kind, m.id, m.method];
  };
}

function jsonParseEnvelope(bytes) {
  const o = JSON.parse(decoder.decode(bytes));
  const kind = o.jsonrpc !== '2.0' ? 'invalid' : 'method' in o ? ('id' in o ? 'request' : 'notification') : 'error' in o ? 'error' : 'response';
  return [kind, o.id, o.method];
}

function conduitValidate(variant) {
  const options = { variant };
  return (bytes) => {
    if (validateJson(bytes, options) !== null) throw new Error(`Conduit ${variant}: validateJson refused`);
    return null;
  };
}

/** json_parse on bytes already in a pool slot (loaded once per task). */
function conduitKernel(variant) {
  const core = new WasmCore({ variant, slotSize: 64 * 1024, slotCount: 1 });
  const slot = core.pool.lease();
  const parse = core.exports.json_parse;
  const data = slot.data;
  const fn = (bytes) => {
    if (parse(data, bytes.length, 129) !== 0) throw new Error(`Conduit ${variant} kernel: status != 0`);
    return null;
  };
  fn.load = (bytes) => core.u8.set(bytes, data);
  return fn;
}

const ENVELOPE = [
  { id: 'conduit-simd', label: 'Conduit SIMD', make: () => conduitEnvelope('simd') },
  { id: 'conduit-scalar', label: 'Conduit scalar', make: () => conduitEnvelope('scalar') },
  { id: 'json-parse', label: 'JSON.parse(TextDecoder)', make: () => jsonParseEnvelope },
];
const VALIDATE = [
  { id: 'validate-simd', label: 'validateJson SIMD', make: () => conduitValidate('simd') },
  { id: 'validate-scalar', label: 'validateJson scalar', make: () => conduitValidate('scalar') },
  { id: 'kernel-simd', label: 'json_parse in place, SIMD', make: () => conduitKernel('simd') },
  { id: 'kernel-scalar', label: 'json_parse in place, scalar', make: () => conduitKernel('scalar'), bigOnly: true },
];
const isBig = (entry) => entry.bytes.length >= 32 * 1024;

/** Every parser once on every entry: the envelope must be the corpus's. */
export function validateCorpus(corpus = jsonrpcCorpus) {
  const problems = [];
  for (const entry of corpus) {
    for (const p of ENVELOPE) {
      const [kind, id, method] = p.make()(entry.bytes);
      if (kind !== entry.kind || id !== entry.id || method !== entry.method) {
        problems.push(`${entry.name}: ${p.id} read ${JSON.stringify([kind, id, method])}, expected ${JSON.stringify([entry.kind, entry.id, entry.method])}`);
      }
    }
    for (const p of VALIDATE) {
      if (p.bigOnly && !isBig(entry)) continue;
      const fn = p.make();
      fn.load?.(entry.bytes);
      fn(entry.bytes); // throws when refused
    }
  }
  if (problems.length > 0) throw new Error(`JSON-RPC corpus validation failed:\n  ${problems.join('\n  ')}`);
}

// ── benchmark ────────────────────────────────────────────────────────────────────

/**
 * @param {{ time?: number, warmupTime?: number, corpusFilter?: string[], log?: (s: string) => void, writeResults?: boolean }} [options]
 */
export async function run(options = {}) {
  const time = options.time ?? 1000;
  const warmupTime = options.warmupTime ?? 300;
  const log = options.log ?? ((s) => console.log(s));
  const filter = options.corpusFilter ?? [];
  const corpus = filter.length === 0 ? jsonrpcCorpus : jsonrpcCorpus.filter((e) => filter.some((f) => e.name.includes(f)));

  validateCorpus(jsonrpcCorpus);
  log(`corpus validated: ${jsonrpcCorpus.length} messages; Conduit SIMD, Conduit scalar and JSON.parse read the same kind / id / method`);

  const bench = new Bench({ name, time, warmupTime, throws: true });
  const meta = new Map();
  for (const entry of corpus) {
    const bytes = entry.bytes;
    const reps = Math.max(1, Math.round(BATCH_BYTES / bytes.length));
    for (const [group, parsers] of [['envelope', ENVELOPE], ['validate', VALIDATE]]) {
      for (const p of parsers) {
        if (p.bigOnly && !isBig(entry)) continue;
        const fn = p.make();
        const taskName = `${group} / ${entry.name} / ${p.label}`;
        meta.set(taskName, { group, entry, parser: p.id, label: p.label, reps });
        bench.add(taskName, () => {
          let acc = 0;
          for (let i = 0; i < reps; i++) {
            const r = fn(bytes);
            if (r !== null) acc += r[0].length + (typeof r[2] === 'string' ? r[2].length : 0);
          }
          sink ^= acc;
        }, fn.load ? { beforeAll: () => fn.load(bytes) } : {});
      }
    }
  }

  const { elapsed, results } = await runTasks(bench);

  const rows = [];
  for (const { name: taskName, r } of results) {
    const { group, entry, parser, label, reps } = meta.get(taskName);
    const ns = (r.latency.p50 * 1e6) / reps;
    rows.push({
      group,
      corpus: entry.name,
      parser,
      label,
      bytes: entry.bytes.length,
      reps,
      samples: r.latency.samplesCount,
      nsPerMessage: ns,
      messagesPerSecond: 1e9 / ns,
      MBps: (entry.bytes.length / ns) * 1e3,
      GBps: entry.bytes.length / ns,
      meanNs: (r.latency.mean * 1e6) / reps,
      p99Ns: (r.latency.p99 * 1e6) / reps,
      rmePercent: r.latency.rme,
    });
  }
  for (const row of rows) {
    const base = rows.find((x) => x.group === 'envelope' && x.corpus === row.corpus && x.parser === BASELINE);
    row.vsJsonParse = base.nsPerMessage / row.nsPerMessage;
  }

  log('');
  log('### Envelope extraction (validate + kind / id / method) vs JSON.parse');
  log(`(median of ${time} ms per task after ${warmupTime} ms warmup; batches of ~${BATCH_BYTES / 1024} KiB; MB = 10^6 bytes; `
    + 'ratio = messages/s over JSON.parse\'s)');
  log('');
  log('| message | bytes | parser | ns/message | MB/s | vs JSON.parse | rme |');
  log('|---|---:|---|---:|---:|---:|---:|');
  for (const r of rows.filter((x) => x.group === 'envelope')) {
    log(`| ${r.corpus} | ${r.bytes} | ${r.label} | ${fmt(r.nsPerMessage, 1)} | ${fmt(r.MBps, 0)} | ${r.vsJsonParse.toFixed(2)}x | ±${r.rmePercent.toFixed(2)}% |`);
  }
  log('');
  log('### Validation only');
  log('');
  log('| message | bytes | parser | ns/message | GB/s | rme |');
  log('|---|---:|---|---:|---:|---:|');
  for (const r of rows.filter((x) => x.group === 'validate')) {
    log(`| ${r.corpus} | ${r.bytes} | ${r.label} | ${fmt(r.nsPerMessage, 1)} | ${r.GBps.toFixed(2)} | ±${r.rmePercent.toFixed(2)}% |`);
  }

  // Goals: >= 4x JSON.parse messages/s on every message; >= 1 GB/s validation
  // of the 64 KiB message.
  const goals = [];
  for (const entry of corpus) {
    const r = rows.find((x) => x.group === 'envelope' && x.corpus === entry.name && x.parser === 'conduit-simd');
    goals.push({ goal: `envelope ${entry.name} >= ${GOAL_ENVELOPE_RATIO}x JSON.parse`, value: `${r.vsJsonParse.toFixed(2)}x`, met: r.vsJsonParse >= GOAL_ENVELOPE_RATIO });
  }
  for (const r of rows.filter((x) => x.parser === 'validate-simd' && x.bytes >= 32 * 1024)) {
    goals.push({ goal: `validateJson ${r.corpus} >= ${GOAL_VALIDATE_GBPS} GB/s`, value: `${r.GBps.toFixed(2)} GB/s`, met: r.GBps >= GOAL_VALIDATE_GBPS });
  }
  log('');
  log('### Goals (SIMD build)');
  log('');
  for (const g of goals) log(`- ${g.met ? 'met' : 'NOT met'}: ${g.goal} — ${g.value}`);
  log(`(${rows.length} tasks in ${elapsed.toFixed(1)} s)`);

  const result = suiteResult(name, {
    statistic: 'median (p50) batch latency / reps',
    baseline: BASELINE,
    corpusFilter: filter,
    time,
    warmupTime,
    batchBytes: BATCH_BYTES,
  }, {
    corpus: corpus.map((e) => ({ name: e.name, description: e.description, bytes: e.bytes.length, kind: e.kind })),
    results: rows,
    goals,
  });
  saveResult(RESULTS_FILE, result, options, log);
  if (sink === 0.5) log('');
  return result;
}

await runIfMain(import.meta.url, run);
