// HTTP/1.1 request parser benchmark: Conduit (SIMD and scalar WASM builds) against
// undici's llhttp WASM (SIMD and scalar), over the corpus in bench/corpus/http.mjs.
//
// What one parse is, on both sides:
//   - reset the parser state,
//   - in `copy` mode only: copy the input bytes into the parser's WASM memory (in
//     `in-place` mode they were loaded once before the task: see MODES),
//   - parse all of them, producing spans only (no string decoding),
//   - count completed messages (checked against the corpus on every parse).
// Conduit: http_init on the slot state, (copy into the slot,) then http_execute from the
// unconsumed offset until every byte is consumed (one call per message, plus one for
// the end of a chunked body), reading the result scratch (field count, body span
// lengths, events) after each call. llhttp: the oracle's span parser (reset() +
// execute(bytes) or executeLoaded()), whose callbacks bump counters and record the
// last span — llhttp reports every span through a JS callback, as in undici.
//
// Timing: each tinybench sample is a batch of `reps` parses (about 32 KiB of input) so
// that timer overhead is negligible; the reported figure is the MEDIAN sample latency
// divided by reps (and by the message count for ns/request).
//
// Run through `node bench/run.mjs [http-parser]` or directly:
// `node bench/http-parser.bench.mjs [corpus-name-filter...]`.

import { fileURLToPath } from 'node:url';
import { fmt, runIfMain, runTasks, saveResult, suiteResult } from './lib.mjs';
import { Bench } from 'tinybench';
import { WasmCore, ABI, Events, DEFAULT_LIMITS, STATUS_INFO } from '../dist/index.js';
import { createLlhttp, STAT_HEADER_FIELD, STAT_BODY_BYTES, STAT_MESSAGE_BEGINS } from '../test/support/llhttp-oracle.mjs';
import { httpCorpus } from './corpus/http.mjs';

export const name = 'http-parser';

const RESULTS_FILE = fileURLToPath(new URL('./results/http-parser.json', import.meta.url));
/** Input bytes per tinybench sample (a batch of whole parses). */
const BATCH_BYTES = 32 * 1024;

const PARSERS = [
  { id: 'conduit-simd', label: 'Conduit SIMD' },
  { id: 'conduit-scalar', label: 'Conduit scalar' },
  { id: 'llhttp-simd', label: 'llhttp SIMD' },
  { id: 'llhttp-scalar', label: 'llhttp scalar' },
];
const BASELINE = 'llhttp-simd';

/**
 * Where the bytes are when parsing starts.
 * - in-place: already in the parser's WASM memory, as in Conduit's server (the native
 *   addon reads into the pool slot; the node:net fallback can read into it with
 *   socket `onread.buffer`). llhttp is given the same: bytes loaded once, parsed in place.
 * - copy: copied from a JS buffer into WASM memory on every parse, as undici does.
 *   Conduit's memory is a SharedArrayBuffer, which V8 copies into 2-4x slower than
 *   into llhttp's ordinary one; this mode includes that cost.
 */
const MODES = ['in-place', 'copy'];
const MODE_TITLES = {
  'in-place': 'bytes already in WASM memory (parse only)',
  copy: 'copy into WASM memory + parse',
};

// ── parsers ──────────────────────────────────────────────────────────────────────

/** Something the optimiser cannot see through, fed with what the parses produce. */
export let sink = 0;

/**
 * A Conduit parse function: (bytes) => completed messages. Throws on a parse error or
 * when bytes are left unconsumed. Also keeps `lastFields` / `lastBodyBytes` of the
 * last parse (for the startup cross-check).
 */
function conduitParser(variant) {
  const core = new WasmCore({ variant, slotCount: 1 });
  const slot = core.pool.lease();
  const ex = core.exports;
  const init = ex.http_init;
  const execute = ex.http_execute;
  const u8 = core.u8;
  const u32 = core.u32;
  const state = slot.state;
  const data = slot.data;
  const w = core.scratch >>> 2;
  const evIdx = w + ABI.RESULT_EVENTS / 4;
  const fieldIdx = w + ABI.RESULT_FIELD_COUNT / 4;
  const bodyCountIdx = w + ABI.RESULT_BODY_COUNT / 4;
  const spanIdx = (core.scratch + ABI.BODY_SPANS_OFFSET) >>> 2;
  const errIdx = w + ABI.RESULT_ERROR_OFFSET / 4;
  const L = DEFAULT_LIMITS;
  const MC = Events.MESSAGE_COMPLETE;
  const BODY = Events.BODY;
  const out = { lastFields: 0, lastBodyBytes: 0, parse: null };
  out.load = (bytes) => {
    if (bytes.length > slot.capacity) throw new Error(`input of ${bytes.length} bytes exceeds the slot (${slot.capacity})`);
    u8.set(bytes, data);
  };
  out.parse = (bytes) => {
    out.load(bytes);
    return out.parseLoaded(bytes);
  };
  out.parseLoaded = (bytes) => {
    const len = bytes.length;
    init(state, L.maxRequestLine, L.maxHeaderBytes, L.maxHeaders, L.maxChunkExtensions, L.maxBodySize);
    let off = 0;
    let messages = 0;
    let fields = 0;
    let bodyBytes = 0;
    while (off < len) {
      const ret = execute(state, data + off, len - off);
      if (ret < 0) {
        const st = ret === -1 ? 'NEED_MORE' : (STATUS_INFO[-ret]?.name ?? String(-ret));
        throw new Error(`Conduit ${variant}: ${st} at byte ${off + u32[errIdx]}`);
      }
      const ev = u32[evIdx];
      if (ret === 0 && ev === 0) throw new Error(`Conduit ${variant}: no progress at byte ${off}`);
      fields += u32[fieldIdx];
      if ((ev & BODY) !== 0) {
        const n = u32[bodyCountIdx];
        for (let i = 0; i < n; i++) bodyBytes += u32[spanIdx + i * 2 + 1];
      }
      if ((ev & MC) !== 0) messages++;
      off += ret;
    }
    out.lastFields = fields;
    out.lastBodyBytes = bodyBytes;
    sink ^= fields + bodyBytes;
    return messages;
  };
  return out;
}

/** An llhttp parse function with the same contract (undici's llhttp WASM, strict mode). */
function llhttpParser(simd) {
  const sp = createLlhttp({ simd }).createSpanParser({ capacity: BATCH_BYTES });
  const stats = sp.stats;
  const label = simd ? 'llhttp SIMD' : 'llhttp scalar';
  const out = { lastFields: 0, lastBodyBytes: 0, parse: null };
  out.load = (bytes) => sp.load(bytes);
  out.parse = (bytes) => {
    sp.reset();
    return check(sp.execute(bytes));
  };
  out.parseLoaded = () => {
    sp.reset();
    return check(sp.executeLoaded());
  };
  const check = (ret) => {
    if (ret !== 0) {
      const e = sp.lastError();
      throw new Error(`${label}: error ${e.code} (${e.reason}) at byte ${e.pos}`);
    }
    const messages = sp.messages;
    // A message begun but not completed means bytes were left over.
    if (stats[STAT_MESSAGE_BEGINS] !== messages) throw new Error(`${label}: input ends inside a message`);
    out.lastFields = stats[STAT_HEADER_FIELD];
    out.lastBodyBytes = stats[STAT_BODY_BYTES];
    sink ^= stats[STAT_HEADER_FIELD] + stats[STAT_BODY_BYTES];
    return messages;
  };
  return out;
}

function makeParsers() {
  return {
    'conduit-simd': conduitParser('simd'),
    'conduit-scalar': conduitParser('scalar'),
    'llhttp-simd': llhttpParser(true),
    'llhttp-scalar': llhttpParser(false),
  };
}

/**
 * Parses every corpus entry once with every parser; throws (loudly) on any error,
 * a wrong message count, or a disagreement in field / body byte totals.
 */
export function validateCorpus(corpus = httpCorpus, parsers = makeParsers()) {
  const problems = [];
  for (const entry of corpus) {
    const seen = [];
    for (const { id } of PARSERS) {
      const p = parsers[id];
      try {
        const m = p.parse(entry.bytes);
        if (m !== entry.messages) problems.push(`${entry.name}: ${id} completed ${m} messages, expected ${entry.messages}`);
        seen.push({ id, fields: p.lastFields, body: p.lastBodyBytes });
      } catch (err) {
        problems.push(`${entry.name}: ${id} failed: ${err.message}`);
      }
    }
    for (const s of seen.slice(1)) {
      if (s.fields !== seen[0].fields || s.body !== seen[0].body) {
        problems.push(`${entry.name}: ${s.id} saw ${s.fields} fields / ${s.body} body bytes, ` +
          `${seen[0].id} saw ${seen[0].fields} / ${seen[0].body}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new Error(`HTTP corpus validation failed:\n  ${problems.join('\n  ')}`);
  }
}

// ── benchmark ────────────────────────────────────────────────────────────────────

/**
 * @param {{ time?: number, warmupTime?: number, corpusFilter?: string[], log?: (s: string) => void, writeResults?: boolean }} [options]
 */
export async function run(options = {}) {
  const time = options.time ?? 1000;
  const warmupTime = options.warmupTime ?? 500;
  const log = options.log ?? ((s) => console.log(s));
  const filter = options.corpusFilter ?? [];
  const corpus = filter.length === 0 ? httpCorpus : httpCorpus.filter((e) => filter.some((f) => e.name.includes(f)));

  const parsers = makeParsers();
  validateCorpus(httpCorpus, parsers);
  log(`corpus validated: ${httpCorpus.length} entries parse cleanly in Conduit (SIMD, scalar) and llhttp (SIMD, scalar), ` +
    'same message / field / body byte counts');

  const bench = new Bench({ name, time, warmupTime, throws: true });
  const meta = new Map();
  for (const mode of MODES) {
    for (const entry of corpus) {
      const bytes = entry.bytes;
      const expected = entry.messages;
      const reps = Math.max(1, Math.round(BATCH_BYTES / bytes.length));
      for (const { id, label } of PARSERS) {
        const p = parsers[id];
        const taskName = `${mode} / ${entry.name} / ${label}`;
        meta.set(taskName, { entry, parser: id, label, reps, mode });
        if (mode === 'copy') {
          const parse = p.parse;
          bench.add(taskName, () => {
            for (let i = 0; i < reps; i++) {
              if (parse(bytes) !== expected) throw new Error(`${taskName}: wrong message count`);
            }
          });
        } else {
          const parse = p.parseLoaded;
          bench.add(taskName, () => {
            for (let i = 0; i < reps; i++) {
              if (parse(bytes) !== expected) throw new Error(`${taskName}: wrong message count`);
            }
          }, { beforeAll: () => p.load(bytes) });
        }
      }
    }
  }

  const { elapsed, results } = await runTasks(bench);

  const rows = [];
  for (const { name: taskName, r } of results) {
    const { entry, parser, label, reps, mode } = meta.get(taskName);
    const lat = r.latency; // ms per batch
    const parseNs = (lat.p50 * 1e6) / reps;
    rows.push({
      mode,
      corpus: entry.name,
      parser,
      label,
      bytes: entry.bytes.length,
      messages: entry.messages,
      reps,
      samples: lat.samplesCount,
      nsPerParse: parseNs,
      nsPerRequest: parseNs / entry.messages,
      MBps: entry.bytes.length / parseNs * 1e3, // bytes/ns * 1e9 / 1e6
      meanNsPerParse: (lat.mean * 1e6) / reps,
      p99NsPerParse: (lat.p99 * 1e6) / reps,
      rmePercent: lat.rme,
    });
  }
  for (const row of rows) {
    const base = rows.find((x) => x.mode === row.mode && x.corpus === row.corpus && x.parser === BASELINE);
    row.vsLlhttpSimd = row.MBps / base.MBps;
  }

  const geo = {};
  for (const mode of MODES) {
    geo[mode] = {};
    for (const { id } of PARSERS) {
      const rs = rows.filter((r) => r.parser === id && r.mode === mode);
      geo[mode][id] = Math.exp(rs.reduce((a, r) => a + Math.log(r.vsLlhttpSimd), 0) / rs.length);
    }
  }

  for (const mode of MODES) {
    log('');
    log(`### HTTP request parser, ${MODE_TITLES[mode]}`);
    log(`(median of ${time} ms per task after ${warmupTime} ms warmup; batches of ~${BATCH_BYTES / 1024} KiB; MB = 10^6 bytes)`);
    log('');
    log('| corpus | bytes | msgs | parser | ns/request | MB/s | vs llhttp SIMD | rme |');
    log('|---|---:|---:|---|---:|---:|---:|---:|');
    for (const r of rows.filter((x) => x.mode === mode)) {
      log(`| ${r.corpus} | ${r.bytes} | ${r.messages} | ${r.label} | ${fmt(r.nsPerRequest, 1)} | ${fmt(r.MBps, 0)} | ` +
        `${r.vsLlhttpSimd.toFixed(2)}x | ±${r.rmePercent.toFixed(2)}% |`);
    }
    log('');
    log(`Geometric mean throughput vs llhttp SIMD (${mode}): ` +
      PARSERS.filter((p) => p.id !== BASELINE).map((p) => `${p.label} ${geo[mode][p.id].toFixed(2)}x`).join(', '));
  }
  log(`(${rows.length} tasks in ${elapsed.toFixed(1)} s; ns/request and MB/s from the median batch latency; ` +
    'rme = relative margin of error of the mean)');

  const result = suiteResult(name, {
    statistic: 'median (p50) batch latency / reps',
    baseline: BASELINE,
    corpusFilter: filter,
    time,
    warmupTime,
    batchBytes: BATCH_BYTES,
  }, {
    corpus: corpus.map((e) => ({ name: e.name, description: e.description, bytes: e.bytes.length, messages: e.messages })),
    results: rows,
    geomeanVsLlhttpSimd: geo,
  });
  saveResult(RESULTS_FILE, result, options, log);
  if (sink === 0.5) log(''); // never true; keeps `sink` observable
  return result;
}

await runIfMain(import.meta.url, run);
