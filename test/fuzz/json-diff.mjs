// Differential fuzzing of Conduit's JSON tokenizer and JSON-RPC envelope extraction
// (assembly/jsonrpc/, src/jsonrpc/parse.ts) against the JavaScript engine's JSON.parse.
//
// Plain ESM (no TypeScript) so that vitest (test/fuzz/json-diff.test.ts) and node
// (`node test/fuzz/json-diff.mjs [--iterations N] [--seed S]`) share it.
//
// One iteration: take a seed (JSONTestSuite's y_ files, typical MCP messages, batches),
// apply 0..4 mutations (bytes that matter to JSON, UTF-8 sequences good and bad,
// escapes, splices, deep nesting, and textual JSON-RPC edits), then run
//   - Conduit SIMD build:   validateJson + parseJsonRpc (maxDepth 1000)
//   - Conduit scalar build: the same — must equal the SIMD results exactly, error
//     offsets and messages included;
//   - the reference: the bytes are valid UTF-8 (TextDecoder fatal) AND JSON.parse
//     accepts the text.
// Conduit must accept exactly what the reference accepts. For accepted input, the
// parseJsonRpc result (ok / -32600, batch, and per message kind, id, method, params,
// result, error) must equal what JSON-RPC 2.0 (§4, §5, §6) says about the JSON.parse
// value, computed here independently of Conduit. In one iteration out of ten that the
// reference accepts, the nesting limit is also checked at the input's exact depth:
// maxDepth = depth accepts, maxDepth = depth - 1 rejects.
//
// A disagreement is a named category below (checked against the actual bytes) or
// UNEXPLAINED. A SIMD/scalar difference, or validateJson and parseJsonRpc telling
// different stories, is always UNEXPLAINED.
//
// The Conduit API (parseJsonRpc, validateJson) comes from ../../dist/index.js (built by
// `npm run build`) unless createDiffer({ conduit }) is given one — the vitest test
// passes ../../src/index.ts.

import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { createRng, numberArgs } from '../support/rng.mjs';
import { jsonrpcCorpus } from '../../bench/corpus/jsonrpc.mjs';

/** Nesting limit of the comparison runs (inputs nested deeper are a category). */
export const MAX_DEPTH = 1000;
/** Batch members Conduit takes (ABI.JSON_MAX_MESSAGES); a longer batch is a -32600. */
export const MAX_BATCH = 256;
const FIXTURES = new URL('../fixtures/json/test_parsing/', import.meta.url);

// ── byte helpers: inputs are latin1 strings while mutating (one char = one byte) ──

const toBytes = (s) => new Uint8Array(Buffer.from(s, 'latin1'));
const toLatin1 = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const utf8ToLatin1 = (s) => Buffer.from(s, 'utf8').toString('latin1');

/** A printable form of some bytes: JSON string syntax, non-ASCII bytes as \xNN. */
export function show(bytes, max = 500) {
  const s = typeof bytes === 'string' ? bytes : toLatin1(bytes);
  const cut = s.length > max ? s.slice(0, max) : s;
  const out = JSON.stringify(cut).replace(/[\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
  return out + (s.length > max ? `…(+${s.length - max} bytes)` : '');
}

// ── seed corpus ──────────────────────────────────────────────────────────────────

const MCP_SEEDS = [
  '{"jsonrpc":"2.0","method":"notifications/initialized"}',
  '{"jsonrpc":"2.0","id":"ping-1","method":"ping"}',
  '{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{"listChanged":true}},"serverInfo":{"name":"conduit","version":"0.1.0"}}}',
  '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"18 °C, clear — “mild” 🙂"}],"isError":false}}',
  '{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"Unknown tool: foo","data":{"tool":"foo"}}}',
  '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}',
  '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t-1","progress":0.5,"total":1e2}}',
  '[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}}]',
  '[{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"Method not found"}},1,[]]',
  '{"\\u006aSONrpc":"2.0","method":"x"}',
  '{"jsonrpc":"2.0","\\u006dethod":"tools/call","\\u0069d":"a\\u00e9\\ud83d\\ude00","params":[1,{"k":"v"}]}',
  ' {\n  "jsonrpc" : "2.0" ,\n  "id" : -12.5e-3 ,\n  "method" : "tools\\/call" ,\n  "params" : { }\n }\n',
  `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"write_file","arguments":{"content":"${
    'line one\\n\\tcafé — “quoted” \\"x\\" 🙂 '.repeat(12)}${'plain ascii text without escapes '.repeat(10)}"}}}`,
];

let seedCache = null;
/** Seeds as latin1 strings: { name, text, weight }. */
export function seedCorpus() {
  if (seedCache !== null) return seedCache;
  const seeds = [];
  for (const f of readdirSync(FIXTURES).filter((f) => f.startsWith('y_')).sort()) {
    seeds.push({ name: f, text: toLatin1(new Uint8Array(readFileSync(new URL(f, FIXTURES)))), weight: 1 });
  }
  for (const e of jsonrpcCorpus) {
    // The 64 KB messages cost ~100x a small one per run: drawn rarely.
    seeds.push({ name: e.name, text: toLatin1(e.bytes), weight: e.bytes.length > 8192 ? 0.4 : 12 });
  }
  MCP_SEEDS.forEach((s, i) => seeds.push({ name: `mcp-${i}`, text: utf8ToLatin1(s), weight: 8 }));
  const total = seeds.reduce((a, s) => a + s.weight, 0);
  let acc = 0;
  for (const s of seeds) s.until = (acc += s.weight) / total;
  seedCache = seeds;
  return seeds;
}

function pickSeed(rng, seeds) {
  const x = rng.float();
  return seeds.find((s) => x < s.until) ?? seeds[seeds.length - 1];
}

// ── mutators ─────────────────────────────────────────────────────────────────────

const SIGNIFICANT = '{}[]:,"\\0123456789eE+-.tfnul \t\n\r'.split('');
const BYTES = [...SIGNIFICANT, '\x00', '\x01', '\x08', '\x0b', '\x0c', '\x1f', '\x7f', '\x80', '\xbf', '\xc0', '\xc3',
  '\xe2', '\xed', '\xf0', '\xf4', '\xf5', '\xff', 'a', 'x', '/', "'"];
const UTF8 = [
  'é', '€', '😀', '\u2028', '\u00a0', '\ufeff', '\uffff', '\u{10ffff}', // valid
].map(utf8ToLatin1).concat([
  '\x80', '\xbf', '\xc0\xaf', '\xc1\xbf', '\xe0\x80\xaf', '\xe0\x9f\xbf', '\xed\xa0\x80', '\xed\xbf\xbf',
  '\xf0\x80\x80\xaf', '\xf4\x90\x80\x80', '\xf5\x80\x80\x80', '\xf8\x88\x80\x80\x80', '\xfe', '\xff', // invalid
  '\xc3', '\xe2\x82', '\xf0\x9f\x98', '\xc3\xc3\xa9', '\xe2\x28\xa1', // truncated / broken
]);
const TOKENS = [
  'true', 'false', 'null', 'tru', 'fals', 'nul', 'nulll', '-0', '1e5', '0.5', '-1.5E-3', '01', '1.', '.5', '1e', '1e+',
  '-', '--1', '+1', 'Infinity', 'NaN', '0x10', '""', '"a"', '{}', '[]', '{"a":1}', '[1,2]', ',,', '::', '"k":',
  '\\u00e9', '\\ud800', '\\udc00', '\\ud83d\\ude00', '\\u12', '\\uZZZZ', '\\x41', '\\/', '\\\\', '\\"', "\\'", '\\',
  '\\u0000', '\\u002e', '"\\', '\\\\"',
];
const JSONRPC_VALUES = ['"2.0"', '2.0', '"2.0 "', '" 2.0"', '"2.00"', '"1.0"', '"2"', 'null', '["2.0"]', '"2\\u002e0"', '"2.0\\u0000"'];
const ID_VALUES = ['1', '"1"', 'null', '-0', '0', '1.5e3', '12345678901234567890', '1E400', '{}', '[]', '[1]', 'true', 'false',
  '"\\u0031"', '"é"', '"a\\"b"', '""', '-9007199254740993'];
const METHOD_VALUES = ['"tools/call"', '1', 'null', '"tools\\/call"', '"\\u0074ools/call"', '"é"', '{}', '[]', '"a\\"b"', '""',
  '"\\ud800"', 'true'];
const PARAMS_VALUES = ['{}', '[]', 'null', '1', '"x"', 'true', '[1,[2,[3]]]', '{"a":{"b":[null,true,"é"]}}'];
const MEMBERS = ['"method":"x",', '"id":7,', '"id":{},', '"jsonrpc":"2.0",', '"params":{},', '"params":3,', '"result":1,',
  '"error":{"code":1,"message":"m"},', '"error":"e",', '"result":null,', '"x":1,', '"\\u006dethod":"y",', '"\\u0069d":8,',
  '"jsonrp\\u0063":"2.0",', '"r\\u0065sult":[],'];
const ESCAPED_KEYS = { method: '\\u006dethod', id: '\\u0069d', jsonrpc: 'jsonrp\\u0063', params: 'p\\u0061rams',
  result: 'r\\u0065sult', error: '\\u0065rror' };

/** A position: anywhere, next to a 64-byte block boundary, or just inside a string. */
function randomPos(rng, s) {
  const r = rng.int(10);
  if (r < 3 && s.length > 60) {
    const k = 1 + rng.int(Math.floor(s.length / 64) + 1);
    return Math.max(0, Math.min(s.length, k * 64 - 3 + rng.int(6)));
  }
  if (r < 5) {
    const q = s.indexOf('"', rng.int(s.length + 1));
    if (q >= 0) return q + 1;
  }
  return rng.int(s.length + 1);
}

const insertAt = (s, p, t) => s.slice(0, p) + t + s.slice(p);

/** Replaces the value of member `key` (a scalar or string value) at one of its occurrences. */
function replaceMemberValue(rng, s, key, values) {
  const re = new RegExp(`"${key}"\\s*:\\s*("(?:[^"\\\\]|\\\\.)*"|[^,}\\]\\s]+|\\{\\}|\\[\\])`, 'g');
  const hits = [...s.matchAll(re)];
  if (hits.length === 0) return s;
  const h = rng.pick(hits);
  const at = h.index + h[0].length - h[1].length;
  return s.slice(0, at) + rng.pick(values) + s.slice(at + h[1].length);
}

export const MUTATORS = {
  replaceByte: (rng, s) => {
    if (s.length === 0) return rng.pick(BYTES);
    const p = Math.min(randomPos(rng, s), s.length - 1);
    const b = rng.chance(0.8) ? rng.pick(BYTES) : String.fromCharCode(rng.int(256));
    return s.slice(0, p) + b + s.slice(p + 1);
  },
  insertByte: (rng, s) => insertAt(s, randomPos(rng, s), rng.pick(BYTES)),
  insertToken: (rng, s) => insertAt(s, randomPos(rng, s), rng.pick(TOKENS)),
  deleteBytes: (rng, s) => {
    const p = randomPos(rng, s);
    return s.slice(0, p) + s.slice(p + 1 + rng.int(rng.chance(0.2) ? 16 : 2));
  },
  deleteSignificant: (rng, s) => {
    const hits = [];
    for (let i = 0; i < s.length; i++) if ('{}[]:,"\\'.includes(s[i])) hits.push(i);
    if (hits.length === 0) return s;
    const p = rng.pick(hits);
    return s.slice(0, p) + s.slice(p + 1);
  },
  truncate: (rng, s) => s.slice(0, randomPos(rng, s)),
  duplicateRange: (rng, s) => {
    const a = rng.int(s.length + 1);
    const b = Math.min(s.length, a + 1 + rng.int(40));
    return insertAt(s, randomPos(rng, s), s.slice(a, b));
  },
  splice: (rng, s, seeds) => {
    const other = pickSeed(rng, seeds).text;
    const a = rng.int(other.length + 1);
    const piece = other.slice(a, a + 1 + rng.int(80));
    const p = randomPos(rng, s);
    return s.slice(0, p) + piece + s.slice(p + rng.int(20));
  },
  utf8: (rng, s) => insertAt(s, randomPos(rng, s), rng.pick(UTF8)),
  escapeRun: (rng, s) => insertAt(s, randomPos(rng, s), '\\'.repeat(1 + rng.int(6)) + rng.pick(['"', 'n', 'u00e9', 'x', '\\', ''])),
  control: (rng, s) => insertAt(s, randomPos(rng, s), String.fromCharCode(rng.chance(0.9) ? rng.int(32) : 0x7f)),
  // Shifts what follows across 64-byte block boundaries (keeps JSON valid after , : [ {).
  whitespace: (rng, s) => {
    const hits = [];
    for (let i = 0; i < s.length; i++) if (',:[{'.includes(s[i])) hits.push(i + 1);
    const p = hits.length > 0 ? rng.pick(hits) : 0;
    return insertAt(s, p, rng.pick([' ', '\t', '\n', '\r\n', '\x0b', '\x0c', '\xc2\xa0']).repeat(1 + rng.int(rng.chance(0.3) ? 70 : 3)));
  },
  deepNest: (rng, s) => {
    const n = rng.pick([1, 2, 3, 8, 126, 127, 128, 129, 500, 998, 999, 1000, 1001, 1100]);
    return rng.chance(0.5) ? '['.repeat(n) + s + ']'.repeat(n) : '{"a":'.repeat(n) + s + '}'.repeat(n);
  },
  unbalancedOpen: (rng, s) => insertAt(s, randomPos(rng, s), rng.pick(['[', '{"a":', '[{"b":']).repeat(1 + rng.int(rng.chance(0.2) ? 1200 : 5))),
  setJsonrpc: (rng, s) => replaceMemberValue(rng, s, 'jsonrpc', JSONRPC_VALUES),
  setId: (rng, s) => replaceMemberValue(rng, s, 'id', ID_VALUES),
  setMethod: (rng, s) => replaceMemberValue(rng, s, 'method', METHOD_VALUES),
  setParams: (rng, s) => replaceMemberValue(rng, s, 'params', PARAMS_VALUES),
  addMember: (rng, s) => {
    const hits = [];
    for (let i = 0; i < s.length; i++) if (s[i] === '{' && s[i + 1] !== '}') hits.push(i + 1);
    return hits.length === 0 ? s : insertAt(s, rng.pick(hits), rng.pick(MEMBERS));
  },
  removeMember: (rng, s) => {
    const hits = [...s.matchAll(/"(jsonrpc|id|method|params|result)"\s*:\s*("(?:[^"\\]|\\.)*"|[^,{}[\]\s]+|\{\}|\[\])\s*,?/g)];
    if (hits.length === 0) return s;
    const h = rng.pick(hits);
    return s.slice(0, h.index) + s.slice(h.index + h[0].length);
  },
  escapeKey: (rng, s) => {
    const key = rng.pick(Object.keys(ESCAPED_KEYS));
    const i = s.indexOf(`"${key}"`, rng.int(Math.max(1, s.length >> 1)));
    const j = i >= 0 ? i : s.indexOf(`"${key}"`);
    return j < 0 ? s : s.slice(0, j + 1) + ESCAPED_KEYS[key] + s.slice(j + 1 + key.length);
  },
  batch: (rng, s, seeds) => {
    const other = pickSeed(rng, seeds).text;
    const r = s.length > 2048 ? rng.pick([0, 1, 3]) : rng.int(4);
    if (r === 0) return `[${s}]`;
    if (r === 1) return `[${s},${other}]`;
    if (r === 2) return `[${Array.from({ length: rng.pick([255, 256, 257]) }, () => s).join(',')}]`;
    return `[${s}, 1, [], ${s}]`;
  },
};

const WEIGHTED = [
  ['replaceByte', 10], ['insertByte', 6], ['insertToken', 8], ['deleteBytes', 6], ['deleteSignificant', 5], ['truncate', 3],
  ['duplicateRange', 3], ['splice', 4], ['utf8', 8], ['escapeRun', 4], ['control', 3], ['whitespace', 6], ['deepNest', 2],
  ['unbalancedOpen', 1], ['setJsonrpc', 5], ['setId', 7], ['setMethod', 6], ['setParams', 4], ['addMember', 7],
  ['removeMember', 5], ['escapeKey', 5], ['batch', 2],
];
const WEIGHT_TOTAL = WEIGHTED.reduce((a, [, w]) => a + w, 0);

function pickMutator(rng) {
  let x = rng.float() * WEIGHT_TOTAL;
  for (const [name, w] of WEIGHTED) if ((x -= w) < 0) return name;
  return WEIGHTED[0][0];
}

/** Applies `count` mutations; returns the mutated latin1 string and the mutator names. */
export function mutate(rng, s, seeds, count) {
  const applied = [];
  for (let i = 0; i < count; i++) {
    const m = pickMutator(rng);
    s = MUTATORS[m](rng, s, seeds);
    applied.push(m);
  }
  return { text: s.length > 300_000 ? s.slice(0, 300_000) : s, applied };
}

// ── the reference ────────────────────────────────────────────────────────────────

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Valid UTF-8 AND JSON.parse accepts it: { valid, text, value } (text without a leading BOM). */
export function reference(bytes) {
  let text;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { valid: false, why: 'invalid UTF-8' };
  }
  try {
    return { valid: true, text, value: JSON.parse(text) };
  } catch (err) {
    return { valid: false, why: err.message };
  }
}

/** Deepest nesting of [ ] and { } in valid JSON text. */
export function nestingDepth(text) {
  let d = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i++;
      while (text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
    } else if (c === 0x5b || c === 0x7b) {
      if (++d > max) max = d;
    } else if (c === 0x5d || c === 0x7d) d--;
  }
  return max;
}

/**
 * The member names (decoded, duplicates kept, in order) of every object at `depth` of
 * valid JSON text, with whether each was written with escapes and, for string values,
 * the value's literal. JSON.parse keeps only the last of duplicate names; JSON-RPC
 * envelopes must not have duplicates, so the reference needs the text's own view.
 */
export function memberLists(text, depth) {
  const lists = [];
  const stack = [];
  let cur = null;
  let last = null; // the member whose value comes next
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const lit = text.slice(i, j + 1);
      if (stack.length === depth && stack[depth - 1] === '{') {
        if (keyNext) {
          last = { name: JSON.parse(lit), escaped: lit.includes('\\'), literal: undefined };
          cur.push(last);
        } else if (last !== null) {
          last.literal = lit;
          last = null;
        }
      }
      keyNext = false;
      i = j;
    } else if (c === '{' || c === '[') {
      stack.push(c);
      if (c === '{' && stack.length === depth) lists.push((cur = []));
      keyNext = c === '{';
      if (stack.length === depth + 1) last = null;
    } else if (c === '}' || c === ']') {
      stack.pop();
      keyNext = false;
    } else if (c === ',') {
      keyNext = stack[stack.length - 1] === '{';
      if (stack.length === depth) last = null;
    }
  }
  return lists;
}

const ENVELOPE_MEMBERS = ['jsonrpc', 'id', 'method', 'params', 'result', 'error'];
const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isId = (x) => typeof x === 'string' || typeof x === 'number' || x === null;
const isObject = (x) => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * What JSON-RPC 2.0 says one message (a JSON.parse value) is: { kind, id, method,
 * params, result, error } (invalid: { kind, id } with the id when it is a usable one).
 * `members`: the object's member list from memberLists(); `ignoreDuplicates` evaluates
 * JSON.parse's last-wins view instead.
 */
export function referenceMessage(v, members, ignoreDuplicates = false) {
  if (!isObject(v)) return { kind: 'invalid', id: null };
  const dup = !ignoreDuplicates && ENVELOPE_MEMBERS.some((k) => members.filter((m) => m.name === k).length > 1);
  const invalid = { kind: 'invalid', id: own(v, 'id') && isId(v.id) ? v.id : null, dup };
  if (dup || v.jsonrpc !== '2.0') return invalid;
  if (own(v, 'method')) {
    if (typeof v.method !== 'string' || own(v, 'result') || own(v, 'error')) return invalid;
    if (own(v, 'params') && (typeof v.params !== 'object' || v.params === null)) return invalid;
    if (own(v, 'id') && !isId(v.id)) return invalid;
    return { kind: own(v, 'id') ? 'request' : 'notification', id: v.id, method: v.method, params: v.params, result: undefined, error: undefined };
  }
  if (own(v, 'result') === own(v, 'error') || !own(v, 'id') || !isId(v.id)) return invalid;
  if (own(v, 'error') && !isObject(v.error)) return invalid;
  return { kind: own(v, 'error') ? 'error' : 'response', id: v.id, method: undefined, params: undefined, result: v.result, error: v.error };
}

/** What parseJsonRpc should answer for a valid JSON text and its value. */
export function referenceEnvelope(text, value) {
  if (Array.isArray(value)) {
    if (value.length === 0 || value.length > MAX_BATCH) return { ok: false, code: -32600 };
    const lists = memberLists(text, 2);
    let li = 0;
    const messages = value.map((el) => {
      const members = isObject(el) ? lists[li++] : [];
      return { ...referenceMessage(el, members), members, value: el };
    });
    return { ok: true, batch: true, messages };
  }
  if (!isObject(value)) return { ok: false, code: -32600 };
  const members = memberLists(text, 1)[0];
  const m = { ...referenceMessage(value, members), members, value };
  return m.kind === 'invalid' ? { ok: false, code: -32600, message: m } : { ok: true, batch: false, messages: [m] };
}

/** Where the first byte that is not part of valid UTF-8 (RFC 3629 §4) is, or -1. */
export function firstInvalidUtf8(b) {
  for (let i = 0; i < b.length;) {
    const c = b[i];
    if (c < 0x80) { i++; continue; }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= b.length) return i;
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    if (b[i + 1] < lo || b[i + 1] > hi) return i;
    for (let k = 2; k <= n; k++) if (b[i + k] < 0x80 || b[i + k] > 0xbf) return i;
    i += n + 1;
  }
  return -1;
}

// ── Conduit ──────────────────────────────────────────────────────────────────────

/** A build's results with the error offsets blanked (for the UTF-8 offset category). */
function withoutOffsets(r) {
  const blank = (e) => (e ? { ...e, offset: 0, message: e.message.replace(/ at byte \d+$/, '') } : e);
  return { validate: blank(r.validate), parse: r.parse.ok ? r.parse : { ...r.parse, error: blank(r.parse.error) } };
}

/** A parseJsonRpc result as plain data (params / result / error materialised). */
export function summarize(r) {
  if (!r.ok) return { ok: false, error: r.error };
  return {
    ok: true,
    batch: r.batch,
    messages: r.messages.map((m) => ({ kind: m.kind, id: m.id, method: m.method, params: m.params, result: m.result, error: m.error })),
  };
}

/** Is the difference between a Conduit message and the reference one explained? null = same. */
function messageDiff(c, e) {
  if (c.kind !== e.kind) return `kind ${c.kind} != ${e.kind}`;
  if (!e.dup && !Object.is(c.id, e.id)) return `id ${show(String(c.id))} != ${show(String(e.id))}`;
  if (e.kind === 'invalid') {
    return c.error?.code === -32600 && typeof c.error.message === 'string' ? null : `invalid without a -32600 error: ${JSON.stringify(c.error)}`;
  }
  for (const k of ['method', 'params', 'result', 'error']) {
    if (!isDeepStrictEqual(c[k], e[k])) return `${k} ${show(JSON.stringify(c[k]) ?? 'undefined', 120)} != ${show(JSON.stringify(e[k]) ?? 'undefined', 120)}`;
  }
  return null;
}

/** (The known bugs this used to recognise are fixed: an envelope difference is UNEXPLAINED.) */
function knownMessageBug() {
  return null;
}

export const CATEGORIES = {
  UTF8_BOM: 'input starts with a UTF-8 BOM: TextDecoder drops it and JSON.parse accepts the rest; Conduit refuses '
    + 'it at byte 0 (RFC 8259 §8.1: senders MUST NOT add one, parsers MAY ignore it). Checked: Conduit accepts the '
    + 'bytes after the BOM.',
  DEEPER_THAN_MAX_DEPTH: `valid JSON nested deeper than maxDepth (${MAX_DEPTH}): Conduit answers -32700 "nested too `
    + 'deeply". Checked: the nesting depth of the text exceeds the limit.',
  // Not categories — these must AGREE, and do: lone surrogate escapes ("\ud800": JSON.parse
  // accepts them, RFC 8259 §8.2 allows them), numbers of any size, U+2028 / U+2029 raw in
  // strings, noncharacters (U+FFFF, U+10FFFF) — all accepted by both.
};

// ── the differ ───────────────────────────────────────────────────────────────────

let distApi = null;
let distError = null;
try {
  distApi = await import('../../dist/index.js');
} catch (err) {
  distError = err;
}

/** @param {{ conduit?: { parseJsonRpc: Function, validateJson: Function } }} [options] */
export function createDiffer(options = {}) {
  const api = options.conduit ?? distApi;
  if (api === null) throw new Error(`json-diff: cannot load ../../dist/index.js (run \`npm run build\`): ${distError?.message}`);

  function runBuild(bytes, variant, maxDepth) {
    return {
      validate: api.validateJson(bytes, { maxDepth, variant }),
      parse: summarize(api.parseJsonRpc(bytes, { maxDepth, variant })),
    };
  }

  /** Runs both builds and the reference. */
  function compare(bytes, maxDepth = MAX_DEPTH) {
    const out = { bytes, maxDepth, simd: null, scalar: null, ref: null, thrown: null };
    try {
      out.simd = runBuild(bytes, 'simd', maxDepth);
      out.scalar = runBuild(bytes, 'scalar', maxDepth);
    } catch (err) {
      out.thrown = err;
    }
    out.ref = reference(bytes);
    return out;
  }

  /** null when Conduit agrees with the reference; else a category (with .why for UNEXPLAINED). */
  function classify(c) {
    const unexplained = (why) => ({ category: 'UNEXPLAINED', why });
    if (c.thrown) return unexplained(`threw: ${c.thrown.stack ?? c.thrown}`);
    if (!isDeepStrictEqual(c.simd, c.scalar)) {
      const first = firstInvalidUtf8(c.bytes);
      const at = (r) => (r.validate?.message === 'Parse error: invalid UTF-8' ? r.validate.offset : -1);
      return unexplained(`SIMD and scalar builds differ (first invalid UTF-8 at ${first}, offsets ${at(c.simd)} / ${at(c.scalar)})`);
    }
    const { validate: v, parse: p } = c.simd;
    const parseError = !p.ok && p.error.code === -32700;
    if ((v !== null) !== parseError) return unexplained('validateJson and parseJsonRpc disagree');
    if (v !== null && (v.offset !== p.error.offset || !(v.offset >= 0 && v.offset <= c.bytes.length))) {
      return unexplained(`error offsets: validateJson ${v.offset}, parseJsonRpc ${p.error.offset}, length ${c.bytes.length}`);
    }
    const accepted = v === null;
    if (v !== null && v.message === 'Parse error: invalid UTF-8') {
      const first = firstInvalidUtf8(c.bytes);
      if (first < 0 || v.offset > first) return unexplained(`"invalid UTF-8" at byte ${v.offset}; first invalid UTF-8 byte: ${first}`);
    }
    const ref = c.ref;
    if (!ref.valid) return accepted ? unexplained(`Conduit accepts; reference: ${ref.why}`) : null;
    const depth = nestingDepth(ref.text);
    if (!accepted) {
      const b = c.bytes;
      if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf && v.offset === 0
        && api.validateJson(b.subarray(3), { maxDepth: c.maxDepth }) === null) return { category: 'UTF8_BOM' };
      if (/nested too deeply/.test(v.message) && depth > c.maxDepth) return { category: 'DEEPER_THAN_MAX_DEPTH' };
      return unexplained(`Conduit rejects (${v.message} at byte ${v.offset}); JSON.parse accepts`);
    }
    if (depth > c.maxDepth) return unexplained(`accepted at depth ${depth} > maxDepth ${c.maxDepth}`);
    return envelopeCategory(p, referenceEnvelope(ref.text, ref.value));
  }

  function envelopeCategory(p, e) {
    const unexplained = (why) => ({ category: 'UNEXPLAINED', why });
    if (!e.ok) {
      if (!p.ok && p.error.code === -32600) return null;
      if (e.message !== undefined && p.ok && !p.batch && p.messages.length === 1) {
        const bug = knownMessageBug(p.messages[0].kind, undefined, e.message);
        if (bug !== null) return { category: bug };
      }
      return unexplained(`expected -32600, got ${JSON.stringify(p.ok ? p.messages.map((m) => m.kind) : p.error)}`);
    }
    if (!p.ok) {
      if (!e.batch && p.error.code === -32600) {
        const bug = knownMessageBug('invalid', p.error.message, e.messages[0]);
        if (bug !== null) return { category: bug };
      }
      return unexplained(`expected ok, got ${JSON.stringify(p.error)}`);
    }
    if (p.batch !== e.batch || p.messages.length !== e.messages.length) {
      return unexplained(`batch ${p.batch}/${p.messages.length} messages, expected ${e.batch}/${e.messages.length}`);
    }
    let category = null;
    for (let i = 0; i < e.messages.length; i++) {
      const d = messageDiff(p.messages[i], e.messages[i]);
      if (d === null) continue;
      const bug = knownMessageBug(p.messages[i].kind, p.messages[i].error?.message, e.messages[i], p.messages[i]);
      if (bug === null) return unexplained(`message ${i}: ${d}`);
      category ??= { category: bug };
    }
    return category;
  }

  /** validateJson at maxDepth = depth must accept, at depth - 1 must refuse (both builds). */
  function depthBoundary(bytes, depth) {
    for (const variant of ['simd', 'scalar']) {
      if (api.validateJson(bytes, { maxDepth: depth, variant }) !== null) return `${variant}: refused at maxDepth ${depth} = its depth`;
      const r = api.validateJson(bytes, { maxDepth: depth - 1, variant });
      if (r === null || !/nested too deeply/.test(r.message)) return `${variant}: maxDepth ${depth - 1} < depth ${depth} gave ${JSON.stringify(r)}`;
    }
    return null;
  }

  /**
   * @param {{ seed: number, iterations: number, onDisagreement?: Function, progressEvery?: number, onProgress?: Function }} opts
   */
  function fuzz(opts) {
    const rng = createRng(opts.seed);
    const seeds = seedCorpus();
    const counts = {};
    const stats = {
      conduitAccepted: 0, conduitRejected: 0, referenceAccepted: 0, bothAccepted: 0, bothRejected: 0,
      envelopesCompared: 0, kinds: {}, batches: 0, rejections: {}, depthChecks: 0, bigInputs: 0, thrown: 0,
      simdScalarMismatch: 0,
    };
    for (let it = 0; it < opts.iterations; it++) {
      const seed = pickSeed(rng, seeds);
      const n = rng.pick([0, 1, 1, 1, 2, 2, 3, 4]);
      const { text, applied } = mutate(rng, seed.text, seeds, n);
      const bytes = toBytes(text);
      if (bytes.length > 8192) stats.bigInputs++;
      const c = compare(bytes);
      let verdict = classify(c);
      if (c.thrown) stats.thrown++;
      else {
        if (!isDeepStrictEqual(c.simd, c.scalar)) stats.simdScalarMismatch++;
        const v = c.simd.validate;
        if (v === null) stats.conduitAccepted++;
        else {
          stats.conduitRejected++;
          stats.rejections[v.message] = (stats.rejections[v.message] ?? 0) + 1;
        }
        if (c.ref.valid) stats.referenceAccepted++;
        if (v === null && c.ref.valid) {
          stats.bothAccepted++;
          const p = c.simd.parse;
          if (p.ok) {
            stats.envelopesCompared++;
            if (p.batch) stats.batches++;
            for (const m of p.messages) stats.kinds[m.kind] = (stats.kinds[m.kind] ?? 0) + 1;
          } else {
            stats.kinds['-32600'] = (stats.kinds['-32600'] ?? 0) + 1;
          }
          const depth = nestingDepth(c.ref.text);
          if (verdict === null && depth >= 2 && depth <= 1022 && rng.chance(0.1)) {
            stats.depthChecks++;
            const bad = depthBoundary(bytes, depth);
            if (bad !== null) verdict = { category: 'UNEXPLAINED', why: `nesting limit: ${bad}` };
          }
        }
        if (v !== null && !c.ref.valid) stats.bothRejected++;
      }
      const category = verdict === null ? 'AGREE' : verdict.category;
      counts[category] = (counts[category] ?? 0) + 1;
      if (verdict !== null && opts.onDisagreement) {
        const d = { ...c, ...verdict, iteration: it, seed: seed.name, mutations: applied };
        d.report = report(d);
        opts.onDisagreement(d);
      }
      if (opts.onProgress && opts.progressEvery && (it + 1) % opts.progressEvery === 0) opts.onProgress(it + 1, counts);
    }
    return { counts, stats };
  }

  return { compare, classify, fuzz, depthBoundary };
}

/** What each side said, in a few words (groups UNEXPLAINED examples). */
export function signature(d) {
  if (d.thrown) return 'threw';
  const side = (r) => (r.validate === null ? (r.parse.ok ? r.parse.messages.map((m) => m.kind).join(',') : r.parse.error.code) : r.validate.message);
  return `conduit ${side(d.simd)} / reference ${d.ref.valid ? 'valid' : 'invalid'}${d.why?.startsWith('SIMD') ? ' / SIMD != scalar' : ''}`;
}

/** A readable account of one disagreement. */
export function report(d) {
  const lines = [`bytes:     ${show(d.bytes)} (${d.bytes.length} bytes; seed ${d.seed}; ${d.mutations?.join(', ') || 'no mutation'})`];
  if (d.why) lines.push(`why:       ${d.why}`);
  const brief = (r) => show(JSON.stringify(r, (k, v) => (typeof v === 'bigint' ? String(v) : v)) ?? 'undefined', 600);
  if (d.simd) lines.push(`simd:      ${brief(d.simd)}`);
  if (d.scalar && !isDeepStrictEqual(d.simd, d.scalar)) lines.push(`scalar:    ${brief(d.scalar)}`);
  lines.push(`reference: ${d.ref.valid ? `valid, depth ${nestingDepth(d.ref.text)}` : `invalid (${d.ref.why})`}`);
  return lines.join('\n');
}

// ── default differ (dist/) and CLI ───────────────────────────────────────────────

function main(argv) {
  const arg = numberArgs(argv);
  const iterations = arg('--iterations', 1_000_000);
  const seed = arg('--seed', 1);
  const examplesPer = arg('--examples', 3);
  const examples = {};
  const t0 = performance.now();
  console.log(`json-diff: seed ${seed}, ${iterations} inputs (Conduit SIMD + scalar vs UTF-8 check + JSON.parse)`);
  const { counts, stats } = createDiffer().fuzz({
    seed,
    iterations,
    progressEvery: Math.max(1000, Math.min(100_000, Math.round(iterations / 20))),
    onProgress(done, c) {
      console.error(`  ${done}/${iterations} (${((performance.now() - t0) / 1000).toFixed(1)} s) UNEXPLAINED ${c.UNEXPLAINED ?? 0}`);
    },
    onDisagreement(d) {
      const key = d.category === 'UNEXPLAINED' ? `UNEXPLAINED [${signature(d)}]` : d.category;
      const list = (examples[key] ??= []);
      if (list.length < examplesPer) list.push(`#${d.iteration}\n${d.report}`);
    },
  });
  console.log(`\n${iterations} inputs in ${((performance.now() - t0) / 1000).toFixed(1)} s\n\ncategories:`);
  for (const [k, v] of Object.entries(counts).sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(34)} ${v}`);
  console.log('\nstats:', JSON.stringify(stats, null, 1));
  for (const [k, list] of Object.entries(examples)) {
    console.log(`\n── ${k}${CATEGORIES[k] ? `: ${CATEGORIES[k]}` : ''}`);
    for (const e of list) console.log(e.replace(/^/gm, '  ') + '\n');
  }
  return (counts.UNEXPLAINED ?? 0) === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
