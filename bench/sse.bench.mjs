// SSE framing benchmark: Conduit's SseFramer (SIMD and scalar WASM builds) against a
// plain JavaScript template-string framer, over the corpus in bench/corpus/sse.mjs.
//
// What one frame is, on both sides: an event { id, event?, data } → a Buffer ready to
// write to a socket: `id:`/`event:` lines, `data` split at CR, LF and CRLF into `data:`
// lines, a blank line, UTF-8 encoded. The JavaScript framer checks id/event for line
// breaks as Conduit does, splits with one regex replace and encodes with Buffer.from.
// At startup all framers must give byte-identical frames for every corpus entry, and
// SseDecoder must read the events back.
//
// Three tables:
//   1. framing: one event per call;
//   2. batch: 64 notifications into one buffer (Conduit frameBatch; JavaScript builds
//      one string and encodes it once);
//   3. fan-out: one event to N subscribers. "frame once" frames, then hands the same
//      buffer to every subscriber; "per subscriber" frames anew for each. The sink only
//      retains a reference (subs[i] = buf), so the table shows framing cost, not copying.
//
// Timing: a tinybench sample is a batch of reps calls (about 64 KiB of frames); figures
// come from the MEDIAN sample latency divided by reps.

import { fileURLToPath } from 'node:url';
import { fmt, runIfMain, runTasks, saveResult, suiteResult } from './lib.mjs';
import { Bench } from 'tinybench';
import { WasmCore } from '../dist/index.js';
import { SseFramer } from '../dist/sse/framer.js';
import { SseDecoder } from '../dist/sse/decoder.js';
import { sseCorpus } from './corpus/sse.mjs';

export const name = 'sse';

const RESULTS_FILE = fileURLToPath(new URL('./results/sse.json', import.meta.url));
const BATCH_BYTES = 64 * 1024;
const FAN_OUT = [1, 100, 1000];
const FAN_OUT_ENTRY = 'tool-result-2k';
const BATCH_EVENTS = 64;

// ── framers ──────────────────────────────────────────────────────────────────────

const LINE_BREAKS = /\r\n|\r|\n/g;
const HAS_BREAK = /[\r\n]/;

/** The JavaScript baseline: template strings, one regex replace, Buffer.from. */
function jsFrameString(e) {
  let s = '';
  if (e.id !== undefined) {
    if (HAS_BREAK.test(e.id) || e.id.includes('\0')) throw new Error('bad id');
    s += `id: ${e.id}\n`;
  }
  if (e.event !== undefined) {
    if (HAS_BREAK.test(e.event)) throw new Error('bad event');
    s += `event: ${e.event}\n`;
  }
  return `${s}data: ${e.data.replace(LINE_BREAKS, '\ndata: ')}\n\n`;
}
const jsFrame = (e) => Buffer.from(jsFrameString(e));
function jsFrameBatch(events) {
  let s = '';
  for (let i = 0; i < events.length; i++) s += jsFrameString(events[i]);
  return Buffer.from(s);
}

function makeFramers() {
  const core = (variant) => new WasmCore({ variant, slotSize: 256 * 1024, slotCount: 1 });
  const simd = new SseFramer({ core: core('simd') });
  const scalar = new SseFramer({ core: core('scalar') });
  return [
    { id: 'conduit-simd', label: 'Conduit SIMD', frame: (e) => simd.frame(e), batch: (es) => simd.frameBatch(es) },
    { id: 'conduit-scalar', label: 'Conduit scalar', frame: (e) => scalar.frame(e), batch: (es) => scalar.frameBatch(es) },
    { id: 'js', label: 'JS template', frame: jsFrame, batch: jsFrameBatch },
  ];
}
const BASELINE = 'js';

function validate(framers) {
  for (const entry of sseCorpus) {
    const want = jsFrame(entry.event);
    for (const f of framers) {
      if (Buffer.compare(f.frame(entry.event), want) !== 0) throw new Error(`${f.label} frames ${entry.name} differently`);
    }
    const got = [];
    const d = new SseDecoder({ onEvent: (e) => got.push(e) });
    d.push(framers[0].frame(entry.event));
    if (got.length !== 1 || got[0].data !== entry.event.data.replace(LINE_BREAKS, '\n')) {
      throw new Error(`${entry.name} does not decode back`);
    }
  }
}

// ── benchmark ────────────────────────────────────────────────────────────────────

/** Something the optimiser cannot see through. */
export let sink = 0;

/**
 * @param {{ time?: number, warmupTime?: number, corpusFilter?: string[], log?: (s: string) => void, writeResults?: boolean }} [options]
 */
export async function run(options = {}) {
  const time = options.time ?? 700;
  const warmupTime = options.warmupTime ?? 200;
  const log = options.log ?? ((s) => console.log(s));
  const filter = options.corpusFilter ?? [];
  const corpus = filter.length === 0 ? sseCorpus : sseCorpus.filter((e) => filter.some((f) => e.name.includes(f)));
  const framers = makeFramers();
  validate(framers);
  log(`corpus validated: ${sseCorpus.length} events frame to identical bytes in Conduit (SIMD, scalar) and ` +
    'the JS framer, and decode back with SseDecoder');

  const bench = new Bench({ name, time, warmupTime, throws: true });
  const meta = new Map();
  const add = (task, m, fn) => {
    meta.set(task, m);
    bench.add(task, fn);
  };

  for (const entry of corpus) {
    const ev = entry.event;
    const bytes = jsFrame(ev).length;
    const reps = Math.max(1, Math.round(BATCH_BYTES / bytes));
    for (const f of framers) {
      const frame = f.frame;
      add(`frame / ${entry.name} / ${f.label}`, { table: 'frame', entry: entry.name, framer: f.id, label: f.label, reps, bytes, events: 1 }, () => {
        for (let i = 0; i < reps; i++) sink += frame(ev).length;
      });
    }
  }

  const notification = sseCorpus[0].event;
  const batchEvents = Array.from({ length: BATCH_EVENTS }, (_, i) => ({ ...notification, id: String(1000 + i) }));
  const batchBytes = jsFrameBatch(batchEvents).length;
  for (const f of framers) {
    const batch = f.batch;
    const reps = Math.max(1, Math.round(BATCH_BYTES / batchBytes));
    add(`batch / ${f.label}`, { table: 'batch', entry: `${BATCH_EVENTS} × ${sseCorpus[0].name}`, framer: f.id, label: f.label, reps, bytes: batchBytes, events: BATCH_EVENTS }, () => {
      for (let i = 0; i < reps; i++) sink += batch(batchEvents).length;
    });
  }

  const fanEvent = sseCorpus.find((e) => e.name === FAN_OUT_ENTRY).event;
  const fanBytes = jsFrame(fanEvent).length;
  const conduit = framers[0];
  const js = framers[2];
  for (const n of FAN_OUT) {
    const subs = new Array(n).fill(null);
    const modes = [
      { id: 'conduit-once', label: 'Conduit SIMD, frame once', once: true, frame: conduit.frame },
      { id: 'js-once', label: 'JS template, frame once', once: true, frame: js.frame },
      { id: 'conduit-each', label: 'Conduit SIMD, per subscriber', once: false, frame: conduit.frame },
      { id: 'js-each', label: 'JS template, per subscriber', once: false, frame: js.frame },
    ];
    for (const m of modes) {
      const frame = m.frame;
      const reps = m.once ? Math.max(1, Math.round(2000 / n)) : 1;
      const fn = m.once
        ? () => {
          for (let r = 0; r < reps; r++) {
            const buf = frame(fanEvent);
            for (let i = 0; i < n; i++) subs[i] = buf;
            sink += subs[n - 1].length;
          }
        }
        : () => {
          for (let i = 0; i < n; i++) subs[i] = frame(fanEvent);
          sink += subs[n - 1].length;
        };
      add(`fan-out / ${n} / ${m.label}`, { table: 'fan-out', entry: FAN_OUT_ENTRY, subscribers: n, framer: m.id, label: m.label, reps, bytes: fanBytes }, fn);
    }
  }

  const { elapsed, results } = await runTasks(bench);

  const rows = [];
  for (const { name: taskName, r } of results) {
    const m = meta.get(taskName);
    const opNs = (r.latency.p50 * 1e6) / m.reps;
    const row = { ...m, samples: r.latency.samplesCount, nsPerOp: opNs, rmePercent: r.latency.rme };
    if (m.table === 'fan-out') {
      row.nsPerSubscriber = opNs / m.subscribers;
    } else {
      row.nsPerEvent = opNs / m.events;
      row.eventsPerSec = 1e9 / row.nsPerEvent;
      row.MBps = m.bytes / opNs * 1e3;
    }
    rows.push(row);
  }
  for (const row of rows) {
    if (row.table === 'fan-out') {
      const base = rows.find((x) => x.table === 'fan-out' && x.subscribers === row.subscribers && x.framer === 'js-each');
      row.vsJsPerSubscriber = base.nsPerSubscriber / row.nsPerSubscriber;
    } else {
      const base = rows.find((x) => x.table === row.table && x.entry === row.entry && x.framer === BASELINE);
      row.vsJs = base.nsPerOp / row.nsPerOp;
    }
  }

  log('');
  log('### SSE framing: one event per call (event → Buffer ready to write)');
  log(`(median of ${time} ms per task after ${warmupTime} ms warmup; MB/s of framed bytes, MB = 10^6 bytes)`);
  log('');
  log('| event | framed bytes | framer | ns/event | events/s | MB/s | vs JS | rme |');
  log('|---|---:|---|---:|---:|---:|---:|---:|');
  for (const r of rows.filter((x) => x.table !== 'fan-out')) {
    log(`| ${r.entry} | ${fmt(r.bytes, 0)} | ${r.label} | ${fmt(r.nsPerEvent, 0)} | ${fmt(r.eventsPerSec, 0)} | ` +
      `${fmt(r.MBps, 0)} | ${r.vsJs.toFixed(2)}x | ±${r.rmePercent.toFixed(2)}% |`);
  }
  log('');
  log(`### SSE fan-out: one ${FAN_OUT_ENTRY} event (${fanBytes} B framed) to N subscribers`);
  log('(sink: each subscriber retains a reference to its buffer; ns per subscriber = ns per event / N)');
  log('');
  log('| N | approach | ns/subscriber | vs JS per subscriber | rme |');
  log('|---:|---|---:|---:|---:|');
  for (const r of rows.filter((x) => x.table === 'fan-out')) {
    log(`| ${r.subscribers} | ${r.label} | ${fmt(r.nsPerSubscriber, 1)} | ${r.vsJsPerSubscriber.toFixed(1)}x | ±${r.rmePercent.toFixed(2)}% |`);
  }
  log(`(${rows.length} tasks in ${elapsed.toFixed(1)} s)`);

  const result = suiteResult(name, {
    statistic: 'median (p50) sample latency / reps',
    baseline: 'JS template-string framer + Buffer.from',
    fanOutSink: 'retain a reference (subs[i] = buf)',
    corpusFilter: filter,
    time,
    warmupTime,
    batchBytes: BATCH_BYTES,
  }, {
    corpus: sseCorpus.map((e) => ({ name: e.name, description: e.description, dataBytes: Buffer.byteLength(e.event.data), framedBytes: jsFrame(e.event).length })),
    results: rows,
  });
  saveResult(RESULTS_FILE, result, options, log);
  return result;
}

await runIfMain(import.meta.url, run);
