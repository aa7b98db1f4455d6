#!/usr/bin/env node
// Memory per idle MCP session (Streamable HTTP), Conduit against the official
// @modelcontextprotocol/sdk 1.x (bench/mcp/sdk-peer.mjs), side by side, as a ratio.
// 127.0.0.1 only; bounded (N sessions per target, 32 at a time, then the server is stopped).
//
//   node bench/mcp/sessions.mjs                     both targets, 2,000 sessions each
//   node bench/mcp/sessions.mjs --target=sdk --sessions=5000
//   node bench/mcp/sessions.mjs --json[=FILE]       also write JSON (default bench/mcp/results/sessions.json)
//
// Options:
//   --target=sdk|conduit|both   (default both; each target is its own server process)
//   --sessions=N                idle sessions to open (default 2000)
//   --concurrency=K             sessions being opened at once, over K keep-alive connections (default 32)
//   --warmup=W                  sessions opened (each with one tools/call) before the baseline
//                               reading; they stay open (default 200)
//   --settle=S                  seconds to wait before each RSS reading (default 1)
//
// Targets (server pinned to CPU 0 with taskset when present):
//   sdk:     node bench/mcp/sdk-peer.mjs --port=P
//   conduit: node dist/cli/main.js serve --port P --workers 1   (CONDUIT_ARGS="..." appends arguments)
//   SDK_ARGS=--json-response: the SDK peer answers application/json instead of SSE;
//   CONDUIT_MAIN=/path/to/dist/cli/main.js: another Conduit build
// Readiness: poll the port until a TCP connect succeeds.
//
// Per target: warm up (W sessions, each initialize + notifications/initialized + one
// tools/call echo), wait S s, read VmRSS from /proc/PID/status; open N sessions (initialize
// + notifications/initialized each, nothing else: they stay idle) with undici over K
// keep-alive connections (already open at the baseline, so they are not counted); wait S
// s, read VmRSS again. KB per idle session = ΔRSS / N. No GC is forced (the server cannot
// be asked to), so garbage from opening the sessions is part of ΔRSS for both targets
// alike. Then a tools/call on the first and the last new session checks that they are
// still alive. Any failed session is reported loudly (exit code 1). Also reported: the
// server CPU per session opened (utime+stime delta over the opening phase / N).
import os from 'node:os';
import { Agent, request } from 'undici';
// Conduit's CLI: this checkout's build, or another build's main.js (CONDUIT_MAIN=/path/to/dist/cli/main.js).
import {
  CLK_TCK, ECHO_CALL, INITIALIZE, INITIALIZED, PROTOCOL_VERSION, checkInitialized, cpuTicks, errorCell, finish, fmtF, freePort,
  killChildrenOnExit, makeDie, messagesOf, parseOptions, ratio, rssKb, runTargets, sdkVersion, sleep, startHttpServer, targetNames,
} from './common.mjs';

const die = makeDie('mcp-sessions');

const o = parseOptions(process.argv.slice(2), {
  scriptUrl: import.meta.url, die, jsonName: 'sessions.json', numbers: ['sessions', 'concurrency', 'warmup', 'settle'],
  defaults: { target: 'both', sessions: 2000, concurrency: 32, warmup: 200, settle: 1, json: null },
});
if (!Number.isInteger(o.sessions) || o.sessions < 1 || o.sessions > 200_000) die('--sessions must be an integer from 1 to 200,000');
if (!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > 1024) die('--concurrency must be an integer from 1 to 1024');
if (!Number.isInteger(o.warmup) || o.warmup < 0) die('--warmup must be an integer >= 0');
if (!(o.settle >= 0 && o.settle <= 60)) die('--settle must be in [0, 60] seconds');

// Children still running when this process is stopped (Ctrl-C, timeout) are killed with it.
killChildrenOnExit();

/** How an early server exit is worded here: {"code":C,"signal":S} or {"error":"..."}. */
const exitJson = (x) => JSON.stringify(x.error ? { error: x.error.message } : { code: x.code, signal: x.signal });

/** POST one JSON-RPC message; the answer's JSON-RPC messages (JSON or SSE data: lines). */
async function post(agent, url, body, sid) {
  const headers = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
  if (sid) { headers['mcp-session-id'] = sid; headers['mcp-protocol-version'] = PROTOCOL_VERSION; }
  const res = await request(url, { method: 'POST', headers, body: JSON.stringify(body), dispatcher: agent, headersTimeout: 15_000, bodyTimeout: 15_000 });
  const text = await res.body.text();
  const messages = messagesOf(String(res.headers['content-type'] ?? ''), text);
  return { status: res.statusCode, sid: res.headers['mcp-session-id'], text, messages };
}

async function openSession(agent, url, withCall) {
  const init = await post(agent, url, INITIALIZE);
  if (init.status !== 200 || typeof init.sid !== 'string' || !init.messages.some((m) => m.id === 0 && m.result)) {
    throw new Error(`initialize: HTTP ${init.status}, session id ${JSON.stringify(init.sid)}: ${init.text.slice(0, 300)}`);
  }
  checkInitialized(await post(agent, url, INITIALIZED, init.sid));
  if (withCall) await callEcho(agent, url, init.sid);
  return init.sid;
}

async function callEcho(agent, url, sid) {
  const r = await post(agent, url, ECHO_CALL, sid);
  const m = r.messages.find((x) => x.id === 1);
  if (r.status !== 200 || m?.result?.content?.[0]?.text !== 'hello') throw new Error(`tools/call echo on session ${sid}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
  return r.text;
}

/** Opens n sessions, k at a time; returns the ids and the failures. */
async function openMany(agent, url, n, k, withCall) {
  const sids = [];
  const failures = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      try { sids.push(await openSession(agent, url, withCall)); } catch (e) { failures.push(e.message); }
    }
  };
  await Promise.all(Array.from({ length: Math.min(k, n) }, worker));
  return { sids, failures };
}

async function benchTarget(name) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const server = await startHttpServer(name, port, { describeExit: exitJson });
  console.error(`\n== ${name}: ${server.command} (pid ${server.pid})`);
  const agent = new Agent({ connections: o.concurrency, keepAliveTimeout: 600_000, keepAliveMaxTimeout: 600_000, pipelining: 1 });
  try {
    // Warmup: also opens the K keep-alive connections, so that they are in the baseline.
    const w = await openMany(agent, url, Math.max(o.warmup, o.concurrency), o.concurrency, true);
    if (w.failures.length) throw new Error(`${name}: ${w.failures.length} warmup sessions failed, e.g. ${w.failures[0]}`);
    console.error(`   warmup: ${w.sids.length} sessions with one tools/call each (they stay open)`);
    await sleep(o.settle * 1000);
    const rss0 = rssKb(server.pid);
    const c0 = cpuTicks(server.pid);
    const t0 = performance.now();
    const r = await openMany(agent, url, o.sessions, o.concurrency, false);
    const openMs = performance.now() - t0;
    const c1 = cpuTicks(server.pid);
    await sleep(o.settle * 1000);
    const rss1 = rssKb(server.pid);
    const opened = r.sids.length;
    if (new Set(r.sids).size !== opened) r.failures.push(`duplicate session ids: ${opened - new Set(r.sids).size}`);
    // Still alive?
    const alive = [];
    for (const sid of [r.sids[0], r.sids[opened - 1]].filter(Boolean)) {
      try { await callEcho(agent, url, sid); alive.push(true); } catch (e) { alive.push(false); r.failures.push(`after opening: ${e.message}`); }
    }
    const row = {
      target: name, sessions: o.sessions, opened, failed: r.failures.length,
      rss_before_kb: rss0, rss_after_kb: rss1,
      kb_per_session: opened > 0 ? (rss1 - rss0) / opened : NaN,
      open_ms: openMs, sessions_per_s: opened / (openMs / 1000),
      cpu_us_per_session: opened > 0 ? ((c1 - c0) * 1e6) / CLK_TCK / opened : NaN,
      alive_checked: alive,
    };
    console.error(`   RSS ${(rss0 / 1024).toFixed(1)} MB -> ${(rss1 / 1024).toFixed(1)} MB after ${opened} idle sessions: ` +
      `${row.kb_per_session.toFixed(2)} KB/session; opened in ${openMs.toFixed(0)} ms ` +
      `(${Math.round(row.sessions_per_s)}/s, server CPU ${row.cpu_us_per_session.toFixed(0)} µs/session)`);
    if (r.failures.length) {
      console.error(`   !!!! ${name}: ${r.failures.length} FAILURES, e.g.:\n${[...new Set(r.failures)].slice(0, 5).map((f) => '     ' + f).join('\n')}`);
      row.failure_samples = [...new Set(r.failures)].slice(0, 5);
    }
    return row;
  } finally {
    await agent.close().catch(() => {});
    await server.stop();
  }
}

const names = targetNames(o.target);
const sdk = sdkVersion();
console.error(`mcp-sessions: node ${process.version}, @modelcontextprotocol/sdk ${sdk}; ${o.sessions} sessions, ${o.concurrency} at a time, ` +
  `warmup ${o.warmup}, settle ${o.settle} s`);
const results = {};
const failed = await runTargets(names, benchTarget, (row) => row.failed > 0, results);

console.log(`\nIdle MCP sessions over Streamable HTTP: ΔRSS / ${o.sessions.toLocaleString('en-US')} sessions (no forced GC); node ${process.version}, @modelcontextprotocol/sdk ${sdk}\n`);
console.log('| target | sessions | RSS before MB | RSS after MB | KB/session | sessions opened/s | CPU µs/session open | failures |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const name of names) {
  const r = results[name];
  if (r.error) console.log(`| ${name} | FAILED | | | | | | ${errorCell(r.error).slice(0, 200)} |`);
  else console.log(`| ${name} | ${r.opened} | ${fmtF(r.rss_before_kb / 1024, 1)} | ${fmtF(r.rss_after_kb / 1024, 1)} | ${fmtF(r.kb_per_session, 2)} | ${Math.round(r.sessions_per_s)} | ${fmtF(r.cpu_us_per_session, 0)} | ${r.failed === 0 ? 0 : `**${r.failed}**`} |`);
}
const s = results.sdk, c = results.conduit;
if (s && c && !s.error && !c.error) {
  console.log(`| **ratio** | | | | ${ratio(s.kb_per_session, c.kb_per_session)} | ${ratio(c.sessions_per_s, s.sessions_per_s)} | ${ratio(s.cpu_us_per_session, c.cpu_us_per_session)} | |`);
  console.log('\nratio row: KB/session and CPU µs/session = sdk ÷ conduit; sessions opened/s = conduit ÷ sdk (above 1: Conduit is leaner / faster).');
}
finish({
  failed, json: o.json, prefix: 'mcp-sessions',
  data: () => ({ bench: 'mcp-sessions', date: new Date().toISOString(), node: process.version, sdk, loadavg: os.loadavg(), options: o, results }),
});
