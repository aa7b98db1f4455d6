// Differential fuzzing of Conduit's HTTP/1.1 request parser against llhttp (undici's
// WASM build, strict mode: test/support/llhttp-oracle.mjs).
//
// Plain ESM (no TypeScript) so that vitest (test/fuzz/http-diff.test.ts) and node
// (`node test/fuzz/http-diff.mjs [--iterations N] [--seed S]`) share it.
//
// One iteration: take a seed input (valid requests of many shapes, the smuggling cases,
// llhttp's request fixtures), apply 0..4 framing-oriented mutations, cut the result into
// 1..6 pieces at random points, then
//   - Conduit SIMD build, whole input        (reference for the consistency checks)
//   - Conduit SIMD build, the pieces         \  must equal the whole-input run exactly
//   - Conduit scalar build, the pieces       /  (messages, partial message, error status and offset)
//   - llhttp SIMD build, the pieces
// and compare Conduit with llhttp after normalising both to: accepted or rejected,
// number of completed messages, and for each completed message method, target, version,
// fields (values OWS-trimmed; Conduit's trailers appended, as llhttp reports them),
// body bytes, upgrade, keep-alive; for accepted input, whether the connection was handed
// to another protocol.
//
// A disagreement is either a named category below (each one a deliberate difference
// backed by an RFC rule or an llhttp feature Conduit lacks, checked against the actual
// bytes) or UNEXPLAINED. A Conduit SIMD/scalar or whole/split difference is always
// UNEXPLAINED.
//
// The Conduit API (HttpParser, WasmCore, STATUS_INFO, ABI, Events, DEFAULT_LIMITS) comes
// from ../../dist/index.js (built by `npm run build`) unless one is passed to
// createDiffer({ conduit }) — the vitest test passes ../../src/index.ts.

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createLlhttp } from '../support/llhttp-oracle.mjs';
import { loadRequestFixtures } from '../support/llhttp-fixtures.mjs';
import { createRng, numberArgs } from '../support/rng.mjs';

// ── PRNG (test/support/rng.mjs) ─────────────────────────────────────────────────

export { createRng };

// ── byte helpers ─────────────────────────────────────────────────────────────────
// Inputs are handled as latin1 strings while mutating (one char = one byte).

const toBytes = (s) => new Uint8Array(Buffer.from(s, 'latin1'));
const toLatin1 = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const trimOws = (v) => v.replace(/^[ \t]+|[ \t]+$/g, '');
const lower = (s) => s.toLowerCase();

/** JSON-escaped latin1 string of some bytes (what reports print). */
export function show(bytes, max = 400) {
  const s = typeof bytes === 'string' ? bytes : toLatin1(bytes);
  const json = JSON.stringify(s.length > max ? s.slice(0, max) : s)
    .replace(/[\x7f-\xff]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
  return json + (s.length > max ? `…(+${s.length - max} bytes)` : '');
}

// ── seed corpus ──────────────────────────────────────────────────────────────────

const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

function randomToken(rng, min = 1, max = 12) {
  let s = '';
  const n = min + rng.int(max - min + 1);
  for (let i = 0; i < n; i++) s += TOKEN_CHARS[rng.int(TOKEN_CHARS.length)];
  return s;
}

function randomValue(rng) {
  const kinds = [
    () => randomToken(rng, 0, 20),
    () => 'text/html, application/xhtml+xml;q=0.9, */*;q=0.8',
    () => 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101',
    () => `caf\xe9 \x80\xff obs-text`,
    () => '"quoted, string" ; a=b',
    () => `  padded\t `,
    () => 'a=1; b=2; c',
    () => String(rng.int(100000)),
    () => '',
  ];
  return rng.pick(kinds)();
}

function randomBody(rng, n) {
  const alphabet = ['a', 'b', 'Z', '0', '5', '\r', '\n', '\r\n', ' ', ';', ':', '\x00', '\xff', '"',
    '0\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'Transfer-Encoding: chunked\r\n'];
  let s = '';
  while (s.length < n) s += rng.pick(alphabet);
  return s.slice(0, n);
}

const EXTRA_HEADERS = ['User-Agent', 'Accept', 'Accept-Encoding', 'Cookie', 'X-Forwarded-For', 'Cache-Control',
  'Content-Type', 'X-Request-Id', 'If-None-Match', 'Authorization', 'Referer', 'Origin', 'X-Obs'];

const METHODS_COMMON = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'QUERY',
  'PROPFIND', 'M-SEARCH', 'PURGE', 'MKCOL'];
const METHODS_BODY = ['POST', 'PUT', 'PATCH', 'QUERY', 'PROPFIND'];

/** One generated request (a latin1 string) and whether it leaves the connection usable. */
function generateRequest(rng) {
  const v10 = rng.chance(0.2);
  let method = rng.pick(METHODS_COMMON);
  let target;
  const form = rng.int(20);
  if (form === 0) {
    method = 'OPTIONS';
    target = '*';
  } else if (form === 1) {
    method = 'CONNECT';
    target = rng.pick(['example.com:443', '10.0.0.1:8080', '[::1]:80', 'a:1']);
  } else if (form === 2) {
    target = rng.pick(['http://example.com/x?y=1', 'https://a.b:8443/', 'http://u:p@h/p;q?x#', 'h2c://a']);
  } else {
    target = rng.pick(['/', '/index.html', '/a/b/c?x=1&y=%20z', '/search?q=a+b', '/p;param', "/~u/!$&'()*+,;="]);
  }
  const lines = [`${method} ${target} HTTP/1.${v10 ? 0 : 1}`];
  if (!v10 || rng.chance(0.5)) lines.push(`${rng.pick(['Host', 'host', 'HOST'])}: ${rng.pick(['example.com', 'a', 'h:8080', '[::1]:80', '', 'x.y.z'])}`);
  const extras = rng.chance(0.1) ? 20 + rng.int(50) : rng.int(5);
  for (let i = 0; i < extras; i++) lines.push(`${rng.chance(0.7) ? rng.pick(EXTRA_HEADERS) : randomToken(rng)}:${rng.pick(['', ' ', '  ', '\t'])}${randomValue(rng)}`);
  let keepAlive = !v10;
  let upgrade = method === 'CONNECT';
  const conn = rng.int(8);
  if (conn === 0) {
    lines.push('Connection: close');
    keepAlive = false;
  } else if (conn === 1) {
    lines.push(rng.pick(['Connection: keep-alive', 'Connection: Keep-Alive']));
    keepAlive = true;
  } else if (conn === 2 && method !== 'CONNECT') {
    lines.push(rng.pick(['Connection: upgrade', 'Connection: keep-alive, Upgrade']));
    lines.push(`Upgrade: ${rng.pick(['websocket', 'h2c', 'foo/2'])}`);
    upgrade = true;
  }
  if (rng.chance(0.1)) lines.push('Expect: 100-continue');
  let body = '';
  const framing = method === 'CONNECT' ? 0 : rng.int(METHODS_BODY.includes(method) ? 3 : 5);
  if (framing === 1) {
    const n = rng.chance(0.2) ? 0 : rng.int(40);
    lines.push(`${rng.pick(['Content-Length', 'content-length'])}: ${rng.chance(0.1) ? '00' : ''}${n}`);
    body = randomBody(rng, n);
  } else if (framing === 2 && !v10) {
    lines.push(`Transfer-Encoding: ${rng.pick(['chunked', 'Chunked', 'CHUNKED', ' chunked', 'chunked '])}`);
    const chunks = rng.int(4);
    for (let i = 0; i < chunks; i++) {
      const n = 1 + rng.int(20);
      const ext = rng.pick(['', '', ';a', ';a=b', ';a="q \\" x";b', ';name=' + randomToken(rng)]);
      body += `${rng.chance(0.2) ? n.toString(16).toUpperCase() : n.toString(16)}${ext}\r\n${randomBody(rng, n)}\r\n`;
    }
    body += `0${rng.pick(['', '', ';last'])}\r\n`;
    if (rng.chance(0.3)) body += `${rng.pick(['Trailer-A', 'X-Checksum', 'Expires'])}: ${randomValue(rng)}\r\n`;
    body += '\r\n';
  }
  const prefix = rng.chance(0.05) ? '\r\n' : '';
  const text = prefix + lines.join('\r\n') + '\r\n\r\n' + body;
  return { text, reusable: keepAlive && !upgrade };
}

/** "Host: fixture" added after every HTTP/1.1 request line whose head has no Host. */
function withHost(raw) {
  let out = '';
  let from = 0;
  for (const m of raw.matchAll(/ HTTP\/1\.1\r\n/g)) {
    const at = m.index + m[0].length;
    const end = raw.indexOf('\r\n\r\n', at - 2);
    if (/\r\nhost:/i.test(raw.slice(at - 2, end < 0 ? raw.length : end + 2))) continue;
    out += raw.slice(from, at) + 'Host: fixture\r\n';
    from = at;
  }
  return out + raw.slice(from);
}

const HAND_SEEDS = [
  'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /x?y HTTP/1.0\r\n\r\n',
  'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
  'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01binary',
  'GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1;q="a\\"b"\r\nhello\r\n0\r\nTrailer: t\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc',
  'PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc',
  'GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX-Obs: \x80\xff\xe9t\xe9\r\n\r\n',
  'DELETE /r HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nokGET / HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
  'GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'GET / HTTP/1.1\r\n\r\n',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  'DESCRIBE rtsp://a/x RTSP/1.0\r\nCSeq: 1\r\n\r\n',
];

/**
 * The seed corpus: hand-written requests, generated requests of many shapes (pipelined
 * pairs included), the smuggling cases and llhttp's request fixtures. Deterministic.
 * @returns {string[]} latin1 strings
 */
export function seedCorpus() {
  const seeds = [...HAND_SEEDS];
  const rng = createRng(0x5eed);
  for (let i = 0; i < 400; i++) {
    const a = generateRequest(rng);
    if (i % 4 === 0 && a.reusable) seeds.push(a.text + generateRequest(rng).text);
    else seeds.push(a.text);
  }
  const cases = JSON.parse(readFileSync(new URL('../fixtures/http/smuggling/cases.json', import.meta.url), 'utf8'));
  for (const c of cases) seeds.push(c.raw);
  for (const f of loadRequestFixtures()) {
    const raw = toLatin1(f.raw);
    seeds.push(raw);
    // Most fixtures have no Host (llhttp does not check it): also with one, so that the
    // mutations reach past Conduit's MISSING_HOST.
    const hosted = withHost(raw);
    if (hosted !== raw) seeds.push(hosted);
  }
  return seeds;
}

// ── mutators ─────────────────────────────────────────────────────────────────────

const SPECIALS = ['\r', '\n', '\r\n', ' ', '\t', '\x00', '\x7f', ':', ',', ';', '"', '\r\n\r\n', ' \r\n',
  '\x80', '\xa0', '\xff', '=', '\\', '/', '?', '#', '%', '@', '[', '0', 'a'];
const HEADER_NAMES = ['Content-Length', 'Transfer-Encoding', 'Host', 'content-length', 'TRANSFER-ENCODING',
  'host', 'Connection', 'Upgrade', 'Expect', 'Trailer'];
const INTERESTING_LINES = [
  'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: identity', 'Content-Length: 5', 'Content-Length: 0', 'Content-Length: 1, 1',
  'Host: a', 'Host: b', 'Host:', 'Host: a b', 'Connection: close', 'Connection: keep-alive',
  'Connection: upgrade', 'Upgrade: websocket', 'Connection: Upgrade\r\nUpgrade: h2c', 'Expect: 100-continue',
  'Connection: close, "x"', 'X: a\x00b', 'Trailer: x', ' folded', 'Transfer-Encoding : chunked',
];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'HTTP/2', 'HTTP/11.1', 'http/1.1',
  'HTTP/1.', 'HTTP/1.1 ', 'HTTP /1.1', 'RTSP/1.0', 'ICE/1.0', 'HTTP/3.0', 'HTTP/9.9', 'HTTP/1.01'];
const METHODS_ANY = ['GET', 'POST', 'HEAD', 'PUT', 'CONNECT', 'OPTIONS', 'PATCH', 'QUERY', 'M-SEARCH', 'PRI',
  'DESCRIBE', 'SETUP', 'GET_PARAMETER', 'FLUSH', 'get', 'GETS', 'BREW', 'G\x00T', 'PROPFIND', 'LINK', 'SOURCE'];
const TARGETS = ['*', '/', 'a.com:443', 'example.com:80', 'http://a/', 'HTTP://A:80/x?y', 'h2c+x.y-z:rest',
  'urn:isbn:1', 'a:', '//a/b', '[::1]:443', 'a:b:80', ':80', 'a.com:', 'http://a b/', 'http://a"b/', '*x',
  'http://[::1]:8/', 'http://a:b@c/', '/a#frag', 'a/b:80', 'x:80/', 'http:/x', '1a:x', '/%zz'];

function randomPos(rng, s) {
  // Half the time next to a delimiter, where framing decisions are made.
  if (s.length > 0 && rng.chance(0.5)) {
    for (let tries = 0; tries < 4; tries++) {
      const i = rng.int(s.length);
      const c = s.charCodeAt(i);
      if (c === 13 || c === 10 || c === 58 || c === 32 || c === 59 || c === 44) return i + rng.int(2);
    }
  }
  return rng.int(s.length + 1);
}

/** Lines of s, each with its terminator (CRLF, LF, or none at the end). */
function splitLines(s) {
  const out = [];
  let p = 0;
  while (p < s.length) {
    const e = s.indexOf('\n', p);
    if (e < 0) {
      out.push(s.slice(p));
      break;
    }
    out.push(s.slice(p, e + 1));
    p = e + 1;
  }
  return out;
}

function replaceNth(s, re, rng, fn) {
  const hits = [...s.matchAll(re)];
  if (hits.length === 0) return null;
  const m = rng.pick(hits);
  return s.slice(0, m.index) + fn(m) + s.slice(m.index + m[0].length);
}

/** Mutators: (rng, s, corpus) => mutated string (or null when not applicable). */
export const MUTATORS = {
  flipByte(rng, s) {
    if (s.length === 0) return null;
    const i = rng.int(s.length);
    const c = rng.chance(0.5) ? s.charCodeAt(i) ^ (1 << rng.int(8)) : rng.int(256);
    return s.slice(0, i) + String.fromCharCode(c) + s.slice(i + 1);
  },
  insertByte(rng, s) {
    const i = randomPos(rng, s);
    return s.slice(0, i) + String.fromCharCode(rng.int(256)) + s.slice(i);
  },
  deleteBytes(rng, s) {
    if (s.length === 0) return null;
    const i = randomPos(rng, s);
    return s.slice(0, i) + s.slice(i + 1 + (rng.chance(0.3) ? rng.int(4) : 0));
  },
  duplicateBytes(rng, s) {
    if (s.length === 0) return null;
    const i = rng.int(s.length);
    const n = 1 + rng.int(8);
    return s.slice(0, i + n) + s.slice(i, i + n) + s.slice(i + n);
  },
  insertSpecial(rng, s) {
    const i = randomPos(rng, s);
    return s.slice(0, i) + rng.pick(SPECIALS) + s.slice(i);
  },
  replaceWithSpecial(rng, s) {
    if (s.length === 0) return null;
    const i = randomPos(rng, s);
    return s.slice(0, i) + rng.pick(SPECIALS) + s.slice(i + 1);
  },
  duplicateLine(rng, s) {
    const lines = splitLines(s);
    if (lines.length === 0) return null;
    const i = rng.int(lines.length);
    lines.splice(i, 0, lines[i]);
    return lines.join('');
  },
  deleteLine(rng, s) {
    const lines = splitLines(s);
    if (lines.length < 2) return null;
    lines.splice(rng.int(lines.length), 1);
    return lines.join('');
  },
  swapLines(rng, s) {
    const lines = splitLines(s);
    if (lines.length < 3) return null;
    const i = rng.int(lines.length - 1);
    [lines[i], lines[i + 1]] = [lines[i + 1], lines[i]];
    return lines.join('');
  },
  insertHeaderLine(rng, s) {
    const first = s.indexOf('\r\n');
    if (first < 0) return null;
    // after the request line or after some later line of the head
    const head = s.indexOf('\r\n\r\n');
    let at = first + 2;
    if (head > first && rng.chance(0.5)) {
      const ends = [];
      for (let p = s.indexOf('\r\n', first + 2); p >= 0 && p <= head; p = s.indexOf('\r\n', p + 2)) ends.push(p + 2);
      if (ends.length > 0) at = rng.pick(ends);
    }
    return s.slice(0, at) + rng.pick(INTERESTING_LINES) + '\r\n' + s.slice(at);
  },
  insertTrailerLine(rng, s) {
    const hits = [...s.matchAll(/\r\n0(?:;[^\r\n]*)?\r\n/g)];
    if (hits.length === 0) return null;
    const m = rng.pick(hits);
    const at = m.index + m[0].length;
    return s.slice(0, at) + rng.pick(INTERESTING_LINES) + '\r\n' + s.slice(at);
  },
  swapHeaderName(rng, s) {
    return replaceNth(s, /(^|\n)(content-length|transfer-encoding|host|connection|upgrade)(?=[ \t]*:)/gi, rng,
      (m) => m[1] + rng.pick(HEADER_NAMES));
  },
  changeNumber(rng, s) {
    // Content-Length values and chunk-size lines.
    return replaceNth(s, /(content-length:[ \t]*|\r\n)([0-9a-fA-F]+)(?=[;\r])/gi, rng, (m) => {
      const d = m[2];
      const choices = [
        () => '0', () => String(rng.int(50)), () => '00' + d, () => d + d, () => d.slice(1) || '1',
        () => String(Math.max(0, parseInt(d, 16) + rng.int(5) - 2)), () => '18446744073709551617',
        () => 'fffffffffffffff', () => '-' + d, () => '+' + d, () => d + ' ' + d, () => d + ',' + d,
        () => ' ' + d, () => d + ' ', () => '0x' + d, () => d.toUpperCase(), () => '1f', () => '9007199254740992',
      ];
      return m[1] + rng.pick(choices)();
    });
  },
  changeVersion(rng, s) {
    return replaceNth(s, /HTTP\/1\.[01]/g, rng, () => rng.pick(VERSIONS));
  },
  changeMethod(rng, s) {
    return replaceNth(s, /(^|\n)([A-Z][A-Z_-]*)(?= )/g, rng, (m) => m[1] + rng.pick(METHODS_ANY));
  },
  changeTarget(rng, s) {
    return replaceNth(s, /(^|\n)([A-Z-]+ )(\S+)(?= HTTP\/)/g, rng, (m) => m[1] + m[2] + rng.pick(TARGETS));
  },
  changeCase(rng, s) {
    if (s.length === 0) return null;
    const i = rng.int(s.length);
    const n = 1 + rng.int(16);
    const part = s.slice(i, i + n);
    const c = rng.int(3);
    const t = c === 0 ? part.toUpperCase() : c === 1 ? part.toLowerCase()
      : [...part].map((ch) => (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase())).join('');
    // toUpperCase can turn latin1 into non-latin1 (ÿ → Ÿ): keep the original then.
    return /^[\x00-\xff]*$/.test(t) ? s.slice(0, i) + t + s.slice(i + n) : null;
  },
  splice(rng, s, corpus) {
    const t = rng.pick(corpus);
    if (rng.chance(0.4)) return s + t;
    return s.slice(0, rng.int(s.length + 1)) + t.slice(rng.int(t.length + 1));
  },
  truncate(rng, s) {
    if (s.length < 2) return null;
    return s.slice(0, 1 + rng.int(s.length - 1));
  },
  leadingCrlf(rng, s) {
    return rng.pick(['\r\n', '\r\n\r\n', '\n', '\r', ' ']) + s;
  },
};
const MUTATOR_NAMES = Object.keys(MUTATORS);

/** Applies `count` random mutations (a mutator that does not apply is skipped). */
export function mutate(rng, s, corpus, count) {
  for (let i = 0; i < count; i++) {
    const out = MUTATORS[MUTATOR_NAMES[rng.int(MUTATOR_NAMES.length)]](rng, s, corpus);
    if (out !== null) s = out;
  }
  return s;
}

/** Cuts bytes into 1..6 pieces at random points (an empty piece now and then). */
export function randomSplit(rng, bytes) {
  const k = 1 + rng.int(6);
  const cuts = [];
  for (let i = 1; i < k; i++) cuts.push(rng.int(bytes.length + 1));
  cuts.sort((a, b) => a - b);
  const out = [];
  let p = 0;
  for (const c of cuts) {
    out.push(bytes.subarray(p, c));
    p = c;
  }
  out.push(bytes.subarray(p));
  return out;
}

// ── RFC grammar checks used by the categories ────────────────────────────────────

const PCT = '%[0-9A-Fa-f]{2}';
const PCHAR = `(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@]|${PCT})`;
const REG_NAME = `(?:[A-Za-z0-9\\-._~!$&'()*+,;=]|${PCT})*`;
const IP_LITERAL = `\\[(?:[0-9A-Fa-f:.]+|[vV][0-9A-Fa-f]+\\.[A-Za-z0-9\\-._~!$&'()*+,;=:]+)\\]`;
const AUTHORITY = `(?:(?:[A-Za-z0-9\\-._~!$&'()*+,;=:]|${PCT})*@)?(?:${IP_LITERAL}|${REG_NAME})(?::[0-9]*)?`;
/** RFC 3986 §4.3 absolute-URI (RFC 9112 §3.2.2 absolute-form). */
const ABSOLUTE_URI = new RegExp(
  `^[A-Za-z][A-Za-z0-9+.\\-]*:(?://${AUTHORITY}(?:/${PCHAR}*)*|/(?:${PCHAR}+(?:/${PCHAR}*)*)?|${PCHAR}+(?:/${PCHAR}*)*|)(?:\\?(?:${PCHAR}|[/?])*)?$`);
/** RFC 9112 §3.2.3 authority-form with a non-empty host and port (RFC 9110 §9.3.6). */
const AUTHORITY_FORM = new RegExp(`^(?:${IP_LITERAL}|(?:[A-Za-z0-9\\-._~!$&'()*+,;=]|${PCT})+):[0-9]+$`);
/** RFC 3986 scheme ":" (what makes a target absolute-form at all). */
const SCHEME_COLON = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/** Host = uri-host [ ":" port ]: the characters RFC 3986 allows there. */
const HOST_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:[\]%]*$/;
const TCHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
/** RFC 9112 §7.1 chunk-size [ chunk-ext ] without BWS (the line without its CRLF). */
const CHUNK_LINE = new RegExp(`^[0-9A-Fa-f]+(?:;${TOKEN}+(?:=(?:${TOKEN}+|${QUOTED}))?)*$`);

/** Elements of a comma-separated list value (RFC 9110 §5.6.1), OWS-trimmed, empty ones dropped. */
const listElements = (v) => v.split(',').map(trimOws).filter((e) => e !== '');

/** The line of s holding offset `at`: its start and its text (without CR / LF). */
function lineAt(s, at) {
  let a = Math.min(at, s.length);
  while (a > 0 && s[a - 1] !== '\n') a--;
  let b = a;
  while (b < s.length && s[b] !== '\r' && s[b] !== '\n') b++;
  return { start: a, text: s.slice(a, b) };
}

/**
 * Ways to complete s so that the head of its last message (h) ends: line ends only, plus
 * a Host field for an HTTP/1.1 head that has none (inserted after the request line). The
 * last line, when it is still being written, is kept as it is, kept with a "0" added
 * (a field value, a number), or dropped. Each: { text, map } where map(offset) turns an
 * offset in text back into one in s (-1 for inserted bytes).
 */
function headCompletions(s, h) {
  const out = [];
  const host = !/^HTTP\/1\.0/.test(h.version ?? '') && h.all('host').length === 0;
  const lastStart = s.endsWith('\n') || s.endsWith('\r') ? s.length : lineAt(s, s.length).start;
  const partial = s.slice(lastStart);
  const bodies = [s];
  if (partial !== '' && partial.includes(':')) bodies.push(s + '0');
  if (partial !== '' && lastStart > h.start) bodies.push(s.slice(0, lastStart));
  for (const base of bodies) {
    let t = base;
    t += t.endsWith('\r\n\r') ? '\n' : t.endsWith('\r\n') ? '\r\n' : t.endsWith('\r') ? '\n\r\n' : '\r\n\r\n';
    let at = -1;
    if (host) {
      at = h.requestLineComplete ? s.indexOf('\r\n', h.start) + 2 : base.length + (base.endsWith('\r') ? 1 : 2);
      t = t.slice(0, at) + 'Host: a\r\n' + t.slice(at);
    }
    const ins = 'Host: a\r\n'.length;
    out.push({ text: t, map: (o) => (at < 0 || o < at ? o : o < at + ins ? -1 : o - ins) });
  }
  return out;
}

/** llhttp's method table (llhttp_method_name traps past its end: a throwaway instance per probe). */
function llhttpMethodNames() {
  const names = new Set();
  for (let i = 0; i < 64; i++) {
    try {
      names.add(createLlhttp({ simd: true }).methodName(i));
    } catch {
      break;
    }
  }
  return names;
}

// ── Conduit runner ───────────────────────────────────────────────────────────────

function makeConduitRunner(api, variant) {
  const core = new api.WasmCore({ variant, slotCount: 4 });
  const statusName = (n) => api.STATUS_INFO[n].name;
  /**
   * Same shape as test/support/conduit-run.ts run(), plus `pending` (bytes held back at
   * the end, when no error).
   * @param {Uint8Array[]} chunks
   */
  function run(chunks) {
    const messages = [];
    let cur = null;
    let parts = [];
    const parser = new api.HttpParser({
      core,
      onHead(h) {
        cur = {
          method: h.method, target: h.target, versionMinor: h.version === '1.1' ? 1 : 0,
          headers: h.headers, body: null, trailers: [], keepAlive: h.keepAlive,
          upgrade: h.upgrade || h.connect, complete: false,
        };
        messages.push(cur);
        parts = [];
      },
      onBody(chunk) {
        parts.push(chunk.slice());
      },
      onMessageComplete(trailers) {
        cur.body = Buffer.concat(parts);
        cur.trailers = trailers ?? [];
        cur.complete = true;
      },
    });
    try {
      let err = null;
      for (const c of chunks) {
        err = parser.execute(c);
        if (err !== null) break;
      }
      if (cur !== null && !cur.complete) cur.body = Buffer.concat(parts);
      return {
        messages,
        error: err === null ? null : { status: statusName(err.parserStatus), http: err.status, offset: err.offset },
        upgraded: parser.upgradeData !== null,
        pending: err === null ? parser.pendingBytes : 0,
      };
    } finally {
      parser.destroy();
    }
  }
  return { core, run };
}

/**
 * Message boundaries from a whole-input pass over the raw WASM entry point (what
 * HttpParser does internally): end offsets of the completed messages, plus the error.
 */
function makeFramer(api) {
  const core = new api.WasmCore({ variant: 'scalar', slotCount: 1 });
  const slot = core.pool.lease();
  const { ABI, Events, DEFAULT_LIMITS: L } = api;
  const w = core.scratch >>> 2;
  return (bytes) => {
    if (bytes.length > slot.capacity) return null;
    core.exports.http_init(slot.state, L.maxRequestLine, L.maxHeaderBytes, L.maxHeaders, L.maxChunkExtensions, L.maxBodySize);
    core.u8.set(bytes, slot.data);
    const ends = [];
    let off = 0;
    while (off < bytes.length) {
      const ret = core.exports.http_execute(slot.state, slot.data + off, bytes.length - off);
      if (ret === -1) break;
      if (ret < -1) return { ends, status: api.STATUS_INFO[-ret].name, errorOffset: off + core.u32[w + ABI.RESULT_ERROR_OFFSET / 4] };
      const ev = core.u32[w + ABI.RESULT_EVENTS / 4];
      off += ret;
      if ((ev & Events.MESSAGE_COMPLETE) !== 0) ends.push(off);
      if (ret === 0 && ev === 0) break;
    }
    return { ends, status: null, errorOffset: -1 };
  };
}

// ── normalisation and comparison ─────────────────────────────────────────────────

function normMessage(m, version, headers) {
  return {
    method: m.method,
    target: m.target,
    version,
    headers: headers.map(([n, v]) => [n, trimOws(v)]),
    body: toLatin1(m.body),
    upgrade: m.upgrade,
    keepAlive: m.keepAlive,
  };
}

/** Conduit run → the common shape. */
export function normConduit(r) {
  const done = r.messages.filter((m) => m.complete);
  return {
    accepted: r.error === null,
    completed: done.length,
    messages: done.map((m) => normMessage(m, `1.${m.versionMinor}`, [...m.headers, ...m.trailers])),
    upgraded: r.upgraded,
  };
}

/** llhttp oracle result → the common shape. */
export function normLlhttp(r) {
  const done = r.messages.filter((m) => m.complete);
  return {
    accepted: r.error === null,
    completed: done.length,
    messages: done.map((m) => normMessage(m, `${m.versionMajor}.${m.versionMinor}`, m.headers)),
    upgraded: r.paused,
  };
}

const jsonEq = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** First difference between two normalised results, or null. */
export function diffNormalized(c, l) {
  if (c.accepted !== l.accepted) return `accepted: conduit ${c.accepted}, llhttp ${l.accepted}`;
  if (c.completed !== l.completed) return `completed: conduit ${c.completed}, llhttp ${l.completed}`;
  for (let i = 0; i < c.completed; i++) {
    for (const k of ['method', 'target', 'version', 'headers', 'body', 'upgrade', 'keepAlive']) {
      if (!jsonEq(c.messages[i][k], l.messages[i][k])) {
        return `message ${i} ${k}: conduit ${JSON.stringify(c.messages[i][k])}, llhttp ${JSON.stringify(l.messages[i][k])}`;
      }
    }
  }
  if (c.accepted && c.upgraded !== l.upgraded) return `upgraded: conduit ${c.upgraded}, llhttp ${l.upgraded}`;
  return null;
}

function sameRun(a, b) {
  if (a.messages.length !== b.messages.length || a.upgraded !== b.upgraded || a.pending !== b.pending) return false;
  if (!jsonEq(a.error, b.error)) return false;
  for (let i = 0; i < a.messages.length; i++) {
    const x = a.messages[i];
    const y = b.messages[i];
    if (x.method !== y.method || x.target !== y.target || x.versionMinor !== y.versionMinor
      || x.keepAlive !== y.keepAlive || x.upgrade !== y.upgrade || x.complete !== y.complete
      || !jsonEq(x.headers, y.headers) || !jsonEq(x.trailers, y.trailers) || !Buffer.from(x.body).equals(Buffer.from(y.body))) return false;
  }
  return true;
}

function describeRun(r) {
  const done = r.messages.filter((m) => m.complete).length;
  const e = r.error === null ? 'no error' : `${r.error.status} (${r.error.http}) at ${r.error.offset}`;
  return `${e}, ${done} complete${r.upgraded ? ', upgraded' : ''}${r.pending ? `, ${r.pending} pending` : ''}`;
}

function describeLlhttp(r) {
  const done = r.messages.filter((m) => m.complete).length;
  const e = r.error === null ? (r.paused ? 'paused (upgrade)' : 'no error') : `${r.error.name} "${r.error.reason}" at ${r.error.offset}`;
  return `${e}, ${done} complete`;
}

// ── the raw message a category looks at ──────────────────────────────────────────

/**
 * A lax reading of the raw bytes of the message starting at `start` (after leading
 * CRLFs): request line pieces and the field lines that are complete (CRLF-terminated).
 */
function rawMessage(s, start) {
  let p = start;
  while (s.startsWith('\r\n', p)) p += 2;
  let lineEnd = p;
  while (lineEnd < s.length && s[lineEnd] !== '\r' && s[lineEnd] !== '\n') lineEnd++;
  const le = s.startsWith('\r\n', lineEnd) ? lineEnd : -1;
  const line = s.slice(p, lineEnd);
  const sp1 = line.indexOf(' ');
  const method = sp1 < 0 ? line : line.slice(0, sp1);
  const rest = sp1 < 0 ? '' : line.slice(sp1 + 1);
  const sp2 = rest.indexOf(' ');
  const target = sp1 < 0 ? null : sp2 < 0 ? rest : rest.slice(0, sp2);
  const version = sp1 < 0 || sp2 < 0 ? null : rest.slice(sp2 + 1);
  const fields = [];
  let headComplete = false;
  let headEnd = -1;
  if (le >= 0) {
    let q = le + 2;
    for (;;) {
      const e = s.indexOf('\r\n', q);
      if (e < 0) break;
      if (e === q) {
        headComplete = true;
        headEnd = e + 2;
        break;
      }
      const f = s.slice(q, e);
      const c = f.indexOf(':');
      fields.push(c < 0 ? [f, null] : [f.slice(0, c), trimOws(f.slice(c + 1))]);
      q = e + 2;
    }
  }
  return {
    start: p, method, target, targetOffset: sp1 < 0 ? -1 : p + sp1 + 1, version,
    requestLineComplete: le >= 0, fields, headComplete, headEnd,
    all: (name) => fields.filter(([n]) => lower(n) === name).map(([, v]) => v),
  };
}

/** Whether llhttp's message m saw (at least) the request line of raw message h. */
const llhttpSawLine = (m, h) => m !== undefined && m.method === h.method && m.target === h.target;
/** ...and completed its head (llhttp only reports the version then). */
const llhttpHeadDone = (m, h) => llhttpSawLine(m, h) && (m.versionMajor !== 0 || m.versionMinor !== 0);

// ── categories ───────────────────────────────────────────────────────────────────

/** Every explained category, with the rule that justifies it. */
export const CATEGORIES = {
  MISSING_HOST: 'RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without Host; llhttp does not check',
  DUPLICATE_HOST: 'RFC 9112 §3.2: a server MUST respond 400 to a request with more than one Host field line',
  INVALID_HOST: 'RFC 9112 §3.2: 400 for a Host with an invalid value (characters outside RFC 3986 host / port)',
  TE_IN_HTTP10: 'RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is a framing fault (the message was sent by a 1.0 client / intermediary that may not know TE); Conduit refuses it, llhttp uses it',
  TRANSFER_CODING_NOT_CHUNKED: 'The Transfer-Encoding list holds a coding other than chunked (unknown, malformed, or chunked not final): RFC 9112 §6.1 (SHOULD 501 for a coding the server does not understand), §6.3 (4) (MUST 400 when chunked is not final), §7 (transfer-coding = token); llhttp decodes "gzip, chunked" as chunked (passing on a still-coded body), takes obs-text in codings, and skips its TE check on Upgrade requests',
  CHUNKED_TWICE: 'RFC 9112 §6.1: a sender MUST NOT apply chunked more than once; llhttp accepts chunked in two TE field lines',
  INVALID_CONNECTION: 'RFC 9110 §7.6.1: Connection = #connection-option (tokens); llhttp skips what it does not recognise',
  LLHTTP_ONLY_METHOD: 'RFC 9110 §9.1: 501 for a method the server does not implement; llhttp also knows RTSP methods and PRI (RFC 9113 §3.4 preface)',
  NON_HTTP_PROTOCOL: 'RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT; llhttp also parses RTSP/1.0 and ICE/1.0 request lines',
  HTTP09_REQUEST: 'RFC 9112 §3: request-line = method SP request-target SP HTTP-version; llhttp accepts an HTTP/0.9 simple request line',
  UNSUPPORTED_VERSION: 'RFC 9110 §15.6.6 (505): Conduit speaks HTTP/1.0 and HTTP/1.1 only; llhttp accepts HTTP/0.9 and HTTP/2.0 request lines',
  ASTERISK_FORM_NOT_OPTIONS: 'RFC 9112 §3.2.4: asterisk-form is only used for a server-wide OPTIONS request',
  CONNECT_NOT_AUTHORITY_FORM: 'RFC 9112 §3.2.3 / RFC 9110 §9.3.6: CONNECT takes authority-form (host ":" port, both non-empty); llhttp takes any URL',
  INVALID_TARGET_FORM: 'RFC 9112 §3.2: the target is neither origin-form, absolute-form (scheme ":"), authority-form (CONNECT) nor asterisk-form (OPTIONS)',
  CONNECT_WITH_BODY: 'RFC 9110 §9.3.6: a CONNECT request has no content; llhttp ignores its Content-Length / Transfer-Encoding (tunnel starts after the head)',
  DATA_AFTER_CLOSE_CRLF: 'RFC 9112 §9.6: after a "close" request the server processes nothing more; Conduit refuses any further byte, llhttp skips CR/LF there',
  CONFIGURED_LIMIT: 'RFC 9110 §15.5.14 / RFC 6585 §5 (413/414/431): Conduit enforces configured size limits (checked against the actual sizes); this llhttp build has none',
  'NUMBER_ABOVE_2^53': 'RFC 9112 §7.1 / RFC 9110 §8.6: recipients MUST guard against integer overflow / precision loss; Conduit refuses lengths above 2^53-1 (exact in JavaScript), llhttp takes up to 2^64-1',
  CONNECTION_OPTION_SEMANTICS: 'RFC 9110 §5.6.3 (OWS includes HTAB), §7.6.1, RFC 9112 §9.3 ("close" wins over "keep-alive"): llhttp misses "close\\t" / "keep-alive\\t" / "upgrade\\t" and keeps an HTTP/1.0 "keep-alive, close" connection open; Conduit follows the RFC (checked against the raw field), and the stream diverges from there',
  STRAY_CR_LF_BEFORE_REQUEST: 'RFC 9112 §2.2: only empty lines (CRLF) before a request-line are to be ignored, a bare CR MUST be treated as invalid and a bare LF only MAY end a line; Conduit refuses a stray CR or LF there, llhttp skips it',
  INCOMPLETE_METHOD: 'Input ends inside the method token: llhttp matches it byte by byte against its method table, Conduit reads the whole token (then answers 501/400); not a difference in what is accepted',
  EXTRA_SPACE_IN_REQUEST_LINE: 'RFC 9112 §3: method SP request-target SP HTTP-version with single SPs (parsing on whitespace runs is only a MAY); Conduit refuses a second SP, llhttp skips it',
  TE_EMPTY_ELEMENT: 'Conduit refuses empty list elements in Transfer-Encoding (`chunked,`, `, chunked`, an empty field line): RFC 9110 §5.6.1.2 lets a recipient ignore them, but parsers disagree (llhttp refuses `chunked,` and accepts an empty line before `chunked`), and on the framing field refusing is the only answer that cannot desynchronise',
  NON_HTTP_ABSOLUTE_FORM: 'absolute-form with a scheme other than http/https (or without "//"): RFC 9112 §3.2.2 has an origin server accept absolute-form for its own http(s) URIs; other schemes are for proxies, and Conduit is not one',
  ABSOLUTE_FORM_AUTHORITY: 'RFC 9110 §4.2.1 (an http(s) URI has an authority, and its host is not empty), §4.2.4 (userinfo is an error), RFC 3986 §3.2.2 host characters: the absolute-form authority replaces Host (RFC 9112 §3.2.2), so it is held to the same characters; llhttp accepts more here',
  EMPTY_TRANSFER_ENCODING: 'RFC 9112 §6.3 (4): Transfer-Encoding present in a request and chunked not the final coding: the server MUST answer 400; llhttp ignores an empty Transfer-Encoding field',
  INCOMPLETE_HEAD_REFUSED_EARLIER: 'Input ends inside a head that Conduit refuses at a field line (e.g. an empty Content-Length) while llhttp waits for the end of the head; with the head completed by line ends only, llhttp refuses it too',
  HTAB_AS_OWS: 'RFC 9110 §5.5 / §5.6.3: OWS around a field value (and list elements) is SP or HTAB; llhttp refuses HTAB there in Content-Length ("\\t42\\t") and Transfer-Encoding ("chunked\\t"); with those HTABs (and any in Connection) written as SP, Conduit says exactly the same and llhttp agrees (or differs only in another explained way)',
  CONTROL_FIELD_IN_TRAILERS: 'RFC 9110 §6.5.1-§6.5.2, RFC 9112 §7.1.2: trailer fields are not merged into the header section and framing / connection fields are not allowed there; Conduit hands them over separately and acts on none, llhttp runs its Content-Length / Transfer-Encoding checks on them and applies a "Connection: close" trailer',
  INCOMPLETE_HEAD_REFUSED_LATER: 'Input ends inside a head that llhttp refuses at a field line; Conduit checks some fields at the end of the head, and with the head completed by line ends only it refuses it too, for something in the bytes that were there',
  INCOMPLETE_REQUEST_LINE: 'Input ends inside the request line: llhttp rejects the target or version as it arrives, Conduit checks the target form (and an HTTP-version it does not speak, when the CRLF has begun) when the line is complete; with the line completed, Conduit rejects it too',
  CHUNK_EXT_INVALID: 'RFC 9112 §7.1.1: chunk-ext = *( ";" token [ "=" ( token / quoted-string ) ] ), qdtext excludes DEL; the chunk line breaks that grammar and llhttp accepts it anyway (empty names / values ";=v" ";n=", a quote right after a token value, DEL inside a quoted value)',
};

/**
 * The differ: Conduit runners (SIMD, scalar), the llhttp oracle and the classifier.
 * @param {{ conduit?: any }} [options]  conduit: the Conduit API module (default: dist/)
 */
export function createDiffer(options = {}) {
  const api = options.conduit ?? distApi;
  if (api === null || api === undefined) {
    throw new Error(`Conduit's dist/ could not be loaded (${distError?.message}): run \`npm run build\``);
  }
  const simd = makeConduitRunner(api, 'simd');
  const scalar = makeConduitRunner(api, 'scalar');
  const framer = makeFramer(api);
  const llhttp = createLlhttp({ simd: true });
  const conduitMethods = new Set(simd.core.methods.slice(1));
  const llhttpMethods = llhttpMethodNames();
  const L = api.DEFAULT_LIMITS;

  /**
   * Runs Conduit (SIMD whole, SIMD pieces, scalar pieces) and llhttp (SIMD, pieces); the
   * results (conduit: the whole-input run, with the split runs and any inconsistency
   * among the three attached), both normalised, and their first difference (or null).
   * @param {Uint8Array} bytes
   * @param {Uint8Array[]} [pieces]
   */
  function compare(bytes, pieces = [bytes]) {
    const whole = simd.run([bytes]);
    const split = simd.run(pieces);
    const sc = scalar.run(pieces);
    let inconsistency = null;
    if (!sameRun(split, sc)) inconsistency = `SIMD and scalar builds differ: simd ${describeRun(split)}; scalar ${describeRun(sc)}`;
    else if (!sameRun(whole, split)) inconsistency = `whole input and split input differ: whole ${describeRun(whole)}; split ${describeRun(split)}`;
    const conduit = { ...whole, inconsistency, split, scalar: sc };
    const ll = llhttp.parseRequest(pieces);
    const normalized = { conduit: normConduit(conduit), llhttp: normLlhttp(ll) };
    return { bytes, pieces, conduit, llhttp: ll, normalized, diff: diffNormalized(normalized.conduit, normalized.llhttp) };
  }

  /**
   * null when Conduit and llhttp agree; else an explained category (CATEGORIES) or
   * 'UNEXPLAINED'.
   * @param {Uint8Array} bytes
   * @param {any} c  compare().conduit
   * @param {any} l  compare().llhttp
   */
  function classify(bytes, c, l) {
    if (c.inconsistency) return 'UNEXPLAINED';
    const cn = normConduit(c);
    const ln = normLlhttp(l);
    if (diffNormalized(cn, ln) === null) return null;
    const s = toLatin1(bytes);
    const frames = framer(bytes);
    if (frames === null) return 'UNEXPLAINED';
    const startOf = (k) => (k === 0 ? 0 : k <= frames.ends.length ? frames.ends[k - 1] : -1);
    const nc = cn.completed;
    const nl = ln.completed;

    // 1. A message both completed but reported differently.
    for (let i = 0; i < Math.min(nc, nl); i++) {
      const a = cn.messages[i];
      const b = ln.messages[i];
      if (['method', 'target', 'version', 'headers', 'body'].some((k) => !jsonEq(a[k], b[k]))) return 'UNEXPLAINED';
      if (a.keepAlive === b.keepAlive && a.upgrade === b.upgrade) continue;
      return connectionFate(i, a);
    }
    // 2. Conduit stopped first: it rejected message nc, which llhttp accepted or is still reading.
    if (c.error !== null && (l.error === null || nl > nc)) return conduitStricter();
    // 3. llhttp stopped first: it rejected message nl, which Conduit accepted or is still reading.
    if (l.error !== null && (c.error === null || nc > nl)) return llhttpStricter();
    return 'UNEXPLAINED';

    /**
     * Only the connection's fate after message i differs: Conduit must follow RFC 9112
     * §9.3 / RFC 9110 §7.6.1, §7.8 to the letter, and what follows must be that fate
     * playing out.
     */
    function connectionFate(i, a) {
      const h = rawMessage(s, startOf(i));
      const opts = h.all('connection').flatMap((v) => listElements(v ?? '').map(lower));
      const rfcKeepAlive = !opts.includes('close') && (h.version === 'HTTP/1.1' || opts.includes('keep-alive'));
      const rfcUpgrade = h.method === 'CONNECT' || (opts.includes('upgrade') && h.all('upgrade').length > 0);
      if (a.keepAlive !== rfcKeepAlive || a.upgrade !== rfcUpgrade) return 'UNEXPLAINED';
      if (a.upgrade || !a.keepAlive) {
        // Conduit ends the HTTP stream after message i; llhttp carries on.
        return i + 1 === nc && (c.error === null || c.error.status === 'DATA_AFTER_CLOSE') ? 'CONNECTION_OPTION_SEMANTICS' : 'UNEXPLAINED';
      }
      // llhttp ends it (close or upgrade); Conduit carries on. The bytes that follow are
      // compared on their own, as the start of a new connection.
      if (i + 1 !== nl || (l.error !== null && l.error.name !== 'HPE_CLOSED_CONNECTION')) return 'UNEXPLAINED';
      const tail = bytes.subarray(frames.ends[i]);
      return (tail.length === 0 ? null : check(tail, [tail]).category) ?? 'CONNECTION_OPTION_SEMANTICS';
    }

    function conduitStricter() {
      const st = c.error.status;
      const at = c.error.offset;
      const start = startOf(nc);
      if (start < 0) return 'UNEXPLAINED';
      const lm = l.messages[nc];
      if (st === 'DATA_AFTER_CLOSE') {
        return nl === nc && l.error === null && /^[\r\n]+$/.test(s.slice(at)) && at === start ? 'DATA_AFTER_CLOSE_CRLF' : 'UNEXPLAINED';
      }
      if ((st === 'BARE_LF' || st === 'BARE_CR') && /^[\r\n]+$/.test(s.slice(start, at + 1))) {
        // Stray CR / LF where the next request line is expected.
        return lm !== undefined || (l.error === null && nl === nc) ? 'STRAY_CR_LF_BEFORE_REQUEST' : 'UNEXPLAINED';
      }
      const h = rawMessage(s, start);
      const verdict = conduitStatus(st, at, h, lm, start);
      if (verdict !== 'UNEXPLAINED') return verdict;
      // Input ending inside a head that Conduit refused at a field line while llhttp waits
      // for the end of the head: completed with line ends only, llhttp must refuse it too.
      if (l.error === null && nl === nc && !h.headComplete && (lm === undefined || !lm.complete)) {
        for (const { text } of headCompletions(s, h)) {
          const r = llhttp.parseRequest([toBytes(text)]);
          if (r.error !== null && r.messages.filter((m) => m.complete).length === nc) return 'INCOMPLETE_HEAD_REFUSED_EARLIER';
        }
      }
      return 'UNEXPLAINED';
    }

    /** Status-specific checks of a Conduit rejection at `at` of the message h (llhttp's view: lm). */
    function conduitStatus(st, at, h, lm, start) {
      const codings = () => h.all('transfer-encoding').flatMap((v) => listElements(v ?? ''));
      const afterTarget = h.target === null ? -1 : h.targetOffset + h.target.length;
      switch (st) {
        case 'MISSING_HOST':
          return h.headComplete && h.version === 'HTTP/1.1' && h.all('host').length === 0
            && llhttpHeadDone(lm, h) && lm.versionMajor === 1 && lm.versionMinor === 1 ? 'MISSING_HOST' : 'UNEXPLAINED';
        case 'DUPLICATE_HOST':
          return h.all('host').length >= 2 && llhttpSawLine(lm, h)
            && lm.headers.filter(([n]) => lower(n) === 'host').length >= 2 ? 'DUPLICATE_HOST' : 'UNEXPLAINED';
        case 'INVALID_HOST': {
          const v = h.all('host')[0];
          return typeof v === 'string' && !HOST_CHARS.test(v) && llhttpSawLine(lm, h)
            && lm.headers.some(([n, x]) => lower(n) === 'host' && trimOws(x) === v) ? 'INVALID_HOST' : 'UNEXPLAINED';
        }
        case 'TRANSFER_ENCODING_HTTP10':
          return h.headComplete && h.version === 'HTTP/1.0' && h.all('transfer-encoding').length > 0
            && llhttpHeadDone(lm, h) && lm.versionMinor === 0 ? 'TE_IN_HTTP10' : 'UNEXPLAINED';
        case 'UNSUPPORTED_TRANSFER_ENCODING':
        case 'CHUNKED_NOT_FINAL':
          return h.headComplete && codings().some((e) => lower(e) !== 'chunked') && llhttpHeadDone(lm, h)
            ? 'TRANSFER_CODING_NOT_CHUNKED' : 'UNEXPLAINED';
        case 'INVALID_TRANSFER_ENCODING': {
          const line = lineAt(s, at).text;
          const m = /^transfer-encoding:(.*)$/i.exec(line);
          if (m === null || !llhttpSawLine(lm, h)) return 'UNEXPLAINED';
          // A field line with no coding at all, and the list (as far as it is there) does not end in chunked.
          if (listElements(m[1]).length === 0 && lower(codings().at(-1) ?? '') !== 'chunked') return 'EMPTY_TRANSFER_ENCODING';
          // An empty list element (Conduit refuses them on this field; see TE_EMPTY_ELEMENT).
          if (m[1].split(',').some((e) => trimOws(e) === '')) return 'TE_EMPTY_ELEMENT';
          // A coding with a byte outside visible ASCII: not a transfer-coding (token) at all.
          // (decided when the field line is complete; llhttp may still be waiting for the head's end)
          return /[^\x20-\x7e]/.test(m[1]) ? 'TRANSFER_CODING_NOT_CHUNKED' : 'UNEXPLAINED';
        }
        case 'CHUNKED_TWICE':
          return codings().filter((e) => lower(e) === 'chunked').length >= 2 && llhttpSawLine(lm, h) ? 'CHUNKED_TWICE' : 'UNEXPLAINED';
        case 'INVALID_CONNECTION': {
          const bad = h.all('connection').some((v) => v !== null && listElements(v).some((e) => !TCHARS.test(e)));
          return bad && llhttpSawLine(lm, h) ? 'INVALID_CONNECTION' : 'UNEXPLAINED';
        }
        case 'UNKNOWN_METHOD':
          return !conduitMethods.has(h.method) && llhttpMethods.has(h.method)
            && (lm !== undefined && lm.method !== '' ? lm.method === h.method : l.error === null) ? 'LLHTTP_ONLY_METHOD' : 'UNEXPLAINED';
        case 'INVALID_VERSION':
          if (h.version && ('RTSP/1.0'.startsWith(h.version) || 'ICE/1.0'.startsWith(h.version) || /^(RTSP|ICE)\/\d\.\d$/.test(h.version))
            && at > afterTarget && (llhttpSawLine(lm, h) || (lm === undefined && l.error === null))) return 'NON_HTTP_PROTOCOL';
          if (h.version === null && h.target !== null && at === afterTarget && llhttpSawLine(lm, h)
            && ((lm.versionMajor === 0 && lm.versionMinor === 9) || !lm.complete)) return 'HTTP09_REQUEST';
          if (s[at] === ' ' && s[at - 1] === ' ' && llhttpSawLine(lm, h)) return 'EXTRA_SPACE_IN_REQUEST_LINE';
          return 'UNEXPLAINED';
        case 'EMPTY_TARGET':
          return s[at] === ' ' && s[at - 1] === ' ' && (lm === undefined || lm.method === '' ? l.error === null : lm.method === h.method)
            ? 'EXTRA_SPACE_IN_REQUEST_LINE' : 'UNEXPLAINED';
        case 'UNSUPPORTED_VERSION': {
          const m = /^HTTP\/(\d)\.(\d)/.exec(s.slice(afterTarget + 1));
          return m !== null && !(m[1] === '1' && (m[2] === '0' || m[2] === '1')) && llhttpSawLine(lm, h) ? 'UNSUPPORTED_VERSION' : 'UNEXPLAINED';
        }
        case 'INVALID_AUTHORITY': {
          // absolute-form with an authority that is empty, has userinfo, or has a byte outside host[:port]
          const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?]*)/.exec(h.target ?? '');
          const bad = /^https?:\/\//i.test(h.target ?? '') && m !== null && (m[1] === '' || !HOST_CHARS.test(m[1]));
          return bad && (llhttpSawLine(lm, h) || l.error !== null) ? 'ABSOLUTE_FORM_AUTHORITY' : 'UNEXPLAINED';
        }
        case 'INVALID_TARGET_FORM':
          if (!llhttpSawLine(lm, h)) return 'UNEXPLAINED';
          if (h.method === 'CONNECT') return AUTHORITY_FORM.test(h.target) ? 'UNEXPLAINED' : 'CONNECT_NOT_AUTHORITY_FORM';
          if (h.target === '*') return h.method !== 'OPTIONS' ? 'ASTERISK_FORM_NOT_OPTIONS' : 'UNEXPLAINED';
          if (h.target[0] !== '/' && !SCHEME_COLON.test(h.target)) return 'INVALID_TARGET_FORM';
          return /^https?:\/\//i.test(h.target) ? 'UNEXPLAINED' : 'NON_HTTP_ABSOLUTE_FORM';
        case 'CONNECT_WITH_BODY': {
          const cl = h.all('content-length');
          return h.method === 'CONNECT' && (h.all('transfer-encoding').length > 0 || cl.some((v) => v !== null && /[1-9]/.test(v)))
            && llhttpHeadDone(lm, h) ? 'CONNECT_WITH_BODY' : 'UNEXPLAINED';
        }
        case 'INVALID_CHUNK_EXTENSION': {
          // The chunk-size line is invalid by the RFC 9112 §7.1.1 grammar.
          const line = lineAt(s, at).text;
          return /^[0-9A-Fa-f]+;/.test(line) && !CHUNK_LINE.test(line) && (lm !== undefined || nl > nc)
            ? 'CHUNK_EXT_INVALID' : 'UNEXPLAINED';
        }
        case 'CONTENT_LENGTH_OVERFLOW':
        case 'CHUNK_SIZE_OVERFLOW': {
          // The numeral holding the error offset, read exactly.
          const re = st === 'CHUNK_SIZE_OVERFLOW' ? /[0-9A-Fa-f]/ : /[0-9]/;
          let a = at;
          let b = at;
          while (a > 0 && re.test(s[a - 1])) a--;
          while (b < s.length && re.test(s[b])) b++;
          const digits = s.slice(a, b);
          const value = digits === '' ? -1n : BigInt((st === 'CHUNK_SIZE_OVERFLOW' ? '0x' : '') + digits);
          return value > BigInt(Number.MAX_SAFE_INTEGER) ? 'NUMBER_ABOVE_2^53' : 'UNEXPLAINED';
        }
        case 'BODY_TOO_LARGE': {
          const cl = h.all('content-length')[0];
          if (typeof cl === 'string') return /^[0-9]+$/.test(cl) && BigInt(cl) > BigInt(L.maxBodySize) ? 'CONFIGURED_LIMIT' : 'UNEXPLAINED';
          // chunked: the body so far plus the chunk-size at the error offset
          const size = /^[0-9A-Fa-f]+/.exec(s.slice(at));
          const sofar = c.messages[nc]?.body.length ?? 0;
          return size !== null && BigInt('0x' + size[0]) + BigInt(sofar) > BigInt(L.maxBodySize) ? 'CONFIGURED_LIMIT' : 'UNEXPLAINED';
        }
        case 'TOO_MANY_HEADERS':
          return h.fields.length > L.maxHeaders ? 'CONFIGURED_LIMIT' : 'UNEXPLAINED';
        case 'REQUEST_LINE_TOO_LONG': {
          const e = s.indexOf('\r\n', h.start);
          return (e < 0 ? s.length : e) - start > L.maxRequestLine ? 'CONFIGURED_LIMIT' : 'UNEXPLAINED';
        }
        case 'HEADERS_TOO_LARGE':
          return (h.headComplete ? h.headEnd : s.length) - start > L.maxHeaderBytes ? 'CONFIGURED_LIMIT' : 'UNEXPLAINED';
        default:
          return 'UNEXPLAINED';
      }
    }

    function llhttpStricter() {
      const start = startOf(nl);
      if (start < 0) return 'UNEXPLAINED';
      const h = rawMessage(s, start);
      const code = l.error.name;
      const at = l.error.offset;
      const cm = c.messages[nl];
      // Conduit is still reading the head of message nl (llhttp refused it part-way).
      const midHead = c.error === null && nc === nl && c.messages.length === nl && c.pending > 0 && s.length - c.pending === start;
      if (code === 'HPE_INVALID_URL' && h.target !== null && at >= h.targetOffset && at <= h.targetOffset + h.target.length + 1) {
        // Conduit took this target already when the request line is complete (it checks
        // the form there); otherwise complete the line and ask it.
        if (!h.requestLineComplete) {
          if (!midHead) return 'UNEXPLAINED';
          const r = simd.run([toBytes(`${h.method} ${h.target} HTTP/1.1\r\nHost: a\r\n\r\n`)]);
          if (r.error !== null) {
            return r.error.status === 'INVALID_TARGET_FORM' || r.error.status === 'INVALID_AUTHORITY'
              ? 'INCOMPLETE_REQUEST_LINE' : 'UNEXPLAINED';
          }
        }
        // Conduit accepts absolute-form only for http(s) with a host[:port] authority
        // (see checkAbsoluteForm); nothing llhttp refuses in a target is known to be valid.
        return 'UNEXPLAINED';
      }
      const line = lineAt(s, at);
      const field = /^([^:]*):(.*)$/.exec(line.text);
      const inHead = !h.headComplete || line.start < h.headEnd;
      // HTAB used as OWS in a Content-Length / Transfer-Encoding field, which llhttp does
      // not take as whitespace: with those HTABs turned into SPs (the same field value by
      // RFC 9110 §5.6.3), Conduit must say exactly the same, and llhttp must then agree.
      if (code === 'HPE_INVALID_CONTENT_LENGTH' || code === 'HPE_INVALID_TRANSFER_ENCODING') {
        const headEnd = h.headComplete ? h.headEnd : s.length;
        const head = s.slice(start, headEnd).replace(/(\r\n(?:content-length|transfer-encoding|connection):)([^\r\n]*)/gi,
          (_, name, value) => name + value.replace(/\t/g, ' '));
        if (head !== s.slice(start, headEnd)) {
          const alt = toBytes(s.slice(0, start) + head + s.slice(headEnd));
          const r = compare(alt, [alt]);
          const same = jsonEq(r.normalized.conduit, cn) && jsonEq(r.conduit.error?.status, c.error?.status);
          if (same && classify(alt, r.conduit, r.llhttp) !== 'UNEXPLAINED') return 'HTAB_AS_OWS';
        }
      }
      // A framing field among the trailers of a message Conduit completed (or completes
      // once the trailer section is ended).
      if (field !== null && !inHead && cm !== undefined && ['content-length', 'transfer-encoding'].includes(lower(field[1]))) {
        let m = nc > nl && line.start < frames.ends[nl] ? cm : null;
        if (m === null && c.error === null && nc === nl && !cm.complete) {
          // End the trailer section (the line being written kept, or dropped).
          const cut = s.endsWith('\n') ? s : s.slice(0, Math.max(line.start, lineAt(s, s.length).start));
          for (const u of [s, cut]) {
            const r = simd.run([toBytes(u + (u.endsWith('\r\n') ? '\r\n' : u.endsWith('\r') ? '\n\r\n' : '\r\n\r\n'))]);
            if (r.messages[nl]?.complete) {
              m = r.messages[nl];
              break;
            }
          }
        }
        if (m !== null && m.trailers.some(([n]) => n === field[1])) return 'CONTROL_FIELD_IN_TRAILERS';
      }
      // llhttp applied a "Connection: close" trailer of the previous message; Conduit does
      // not (and carries on: the rest is compared as a new connection).
      // (llhttp's offset is at the next request, or on empty lines before it)
      const atNext = at <= start ? /^[\r\n]*$/.test(s.slice(at, start)) : at === start + 1;
      if (code === 'HPE_CLOSED_CONNECTION' && nl > 0 && nc > nl - 1 && atNext) {
        const prev = c.messages[nl - 1];
        const closes = prev.trailers.some(([n, v]) => lower(n) === 'connection' && listElements(v).map(lower).includes('close'));
        if (!closes || !prev.keepAlive) return 'UNEXPLAINED';
        const tail = bytes.subarray(start);
        return check(tail, [tail]).category ?? 'CONTROL_FIELD_IN_TRAILERS';
      }
      if (!midHead) return 'UNEXPLAINED';
      if (code === 'HPE_INVALID_METHOD' && /^(\r\n)*[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s.slice(start))) {
        const token = s.slice(start).replace(/^(\r\n)*/, '');
        return [...conduitMethods].some((m) => m.startsWith(token)) ? 'UNEXPLAINED' : 'INCOMPLETE_METHOD';
      }
      // Complete the line / head with line ends only: Conduit must then refuse it, for
      // something inside the bytes that were there.
      for (const { text, map } of headCompletions(s, h)) {
        const r = simd.run([toBytes(text)]);
        const o = r.error === null ? -1 : map(r.error.offset);
        if (o >= 0 && o < s.length && r.error.status !== 'MISSING_HOST') {
          return h.requestLineComplete ? 'INCOMPLETE_HEAD_REFUSED_LATER' : 'INCOMPLETE_REQUEST_LINE';
        }
      }
      return 'UNEXPLAINED';
    }
  }

  /** Runs one input through compare + classify. */
  function check(bytes, pieces) {
    const r = compare(bytes, pieces);
    return { ...r, category: classify(bytes, r.conduit, r.llhttp) };
  }

  /**
   * @param {{ seed?: number, iterations?: number, onDisagreement?: (d: object) => void,
   *           onProgress?: (done: number, counts: Record<string, number>) => void, progressEvery?: number,
   *           maxBytes?: number }} [opts]
   */
  function fuzz(opts = {}) {
    const seed = opts.seed ?? 1;
    const iterations = opts.iterations ?? 1_000_000;
    const maxBytes = opts.maxBytes ?? 4096;
    const rng = createRng(seed);
    const corpus = seedCorpus().filter((x) => x.length <= maxBytes);
    const counts = { AGREE: 0 };
    const stats = {
      conduitAccepted: 0, conduitRejected: 0, llhttpAccepted: 0, llhttpRejected: 0, bothAccepted: 0,
      bothRejected: 0, messagesCompleted: 0, upgraded: 0, split: 0, simdScalarMismatch: 0, splitMismatch: 0,
      thrown: 0, conduitStatuses: {},
    };
    const every = opts.progressEvery ?? 50_000;
    for (let i = 0; i < iterations; i++) {
      let text = rng.pick(corpus);
      // A quarter as they are; most of the rest with one mutation, some with up to four.
      if (!rng.chance(0.25)) text = mutate(rng, text, corpus, rng.chance(0.7) ? 1 : 2 + rng.int(3));
      if (text.length > maxBytes) text = text.slice(0, maxBytes);
      const bytes = toBytes(text);
      const pieces = randomSplit(rng, bytes);
      if (pieces.length > 1) stats.split++;
      let r;
      try {
        r = check(bytes, pieces);
      } catch (err) {
        r = { bytes, pieces, conduit: null, llhttp: null, category: 'UNEXPLAINED', thrown: err };
        stats.thrown++;
      }
      const cat = r.category ?? 'AGREE';
      counts[cat] = (counts[cat] ?? 0) + 1;
      if (r.conduit !== null) {
        const ca = r.conduit.error === null;
        const la = r.llhttp.error === null;
        stats[ca ? 'conduitAccepted' : 'conduitRejected']++;
        stats[la ? 'llhttpAccepted' : 'llhttpRejected']++;
        if (ca && la) stats.bothAccepted++;
        if (!ca && !la) stats.bothRejected++;
        if (r.conduit.upgraded) stats.upgraded++;
        if (r.conduit.inconsistency?.startsWith('SIMD')) stats.simdScalarMismatch++;
        else if (r.conduit.inconsistency) stats.splitMismatch++;
        stats.messagesCompleted += r.conduit.messages.filter((m) => m.complete).length;
        const st = r.conduit.error?.status ?? 'OK';
        stats.conduitStatuses[st] = (stats.conduitStatuses[st] ?? 0) + 1;
      }
      if (r.category !== null && opts.onDisagreement) opts.onDisagreement({ iteration: i, ...r, report: report(r) });
      if (opts.onProgress && (i + 1) % every === 0) opts.onProgress(i + 1, counts);
    }
    return { seed, iterations, counts, stats };
  }

  return { compare, classify, check, fuzz, llhttp, conduitMethods };
}

/** What each side said, in a few words (groups UNEXPLAINED examples). */
export function signature(r) {
  if (r.thrown) return 'threw';
  if (r.conduit.inconsistency) return r.conduit.inconsistency.startsWith('SIMD') ? 'SIMD != scalar' : 'whole != split';
  const c = r.conduit.error?.status ?? (r.conduit.upgraded ? 'upgraded' : 'ok');
  const l = r.llhttp.error?.name ?? (r.llhttp.paused ? 'paused' : 'ok');
  return `conduit ${c} / llhttp ${l}`;
}

/** A readable account of one disagreement. */
export function report(r) {
  const lines = [`bytes:  ${show(r.bytes)}`];
  if (r.pieces && r.pieces.length > 1) lines.push(`pieces: ${r.pieces.map((p) => p.length).join(' + ')}`);
  if (r.thrown) lines.push(`threw:  ${r.thrown?.stack ?? r.thrown}`);
  if (r.conduit) {
    lines.push(`conduit: ${describeRun(r.conduit)}`);
    if (r.conduit.inconsistency) lines.push(`         ${r.conduit.inconsistency}`);
    lines.push(`llhttp:  ${describeLlhttp(r.llhttp)}`);
    const d = diffNormalized(normConduit(r.conduit), normLlhttp(r.llhttp));
    if (d) lines.push(`diff:    ${d}`);
  }
  return lines.join('\n');
}

// ── default API (dist/) and CLI ──────────────────────────────────────────────────

let distApi = null;
let distError = null;
try {
  distApi = await import('../../dist/index.js');
} catch (err) {
  distError = err;
}

let defaultDiffer = null;
const differ = () => (defaultDiffer ??= createDiffer());
/** compare() over dist/'s Conduit. */
export const compare = (bytes, pieces) => differ().compare(bytes, pieces);
/** classify() over dist/'s Conduit. */
export const classify = (bytes, c, l) => differ().classify(bytes, c, l);
/** fuzz() over dist/'s Conduit. */
export const fuzz = (opts) => differ().fuzz(opts);

function main(argv) {
  const arg = numberArgs(argv);
  const iterations = arg('--iterations', 1_000_000);
  const seed = arg('--seed', 1);
  const examplesPer = arg('--examples', 3);
  const examples = {};
  const t0 = performance.now();
  console.log(`http-diff: seed ${seed}, ${iterations} inputs (Conduit SIMD whole + SIMD/scalar split vs llhttp SIMD)`);
  const result = fuzz({
    seed,
    iterations,
    progressEvery: Math.max(1000, Math.min(50_000, Math.round(iterations / 20))),
    onProgress(done, counts) {
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      console.error(`  ${done}/${iterations} (${s} s) UNEXPLAINED ${counts.UNEXPLAINED ?? 0}`);
    },
    onDisagreement(d) {
      // UNEXPLAINED ones are grouped by what each side said, so that different kinds show.
      const key = d.category !== 'UNEXPLAINED' ? d.category : `UNEXPLAINED [${signature(d)}]`;
      const list = (examples[key] ??= []);
      if (list.length < examplesPer) list.push(`#${d.iteration}\n${d.report}`);
    },
  });
  const secs = (performance.now() - t0) / 1000;
  console.log(`\n${iterations} inputs in ${secs.toFixed(1)} s`);
  console.log('\ncategories:');
  for (const [k, v] of Object.entries(result.counts).sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(30)} ${v}`);
  console.log('\nstats:', JSON.stringify(result.stats, null, 1));
  for (const [k, list] of Object.entries(examples)) {
    console.log(`\n── ${k}${CATEGORIES[k] ? `: ${CATEGORIES[k]}` : ''}`);
    for (const e of list) console.log(e.replace(/^/gm, '  ') + '\n');
  }
  return (result.counts.UNEXPLAINED ?? 0) === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
