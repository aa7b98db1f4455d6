// Loader for llhttp's markdown request fixtures (test/fixtures/http/llhttp/request/*.md).
//
// Plain ESM + JSDoc so that both vitest (TS) tests and `node bench/*.mjs` can use it.
//
// Each case is: a `<!-- meta={...} -->` comment, a ```http block (the input,
// with llhttp's md-test escape rules) and a ```log block (the expected
// llhttp callback trace). From the log we rebuild the messages llhttp saw.
//
// Byte encoding: llhttp's runner turns the unescaped input *string* into bytes
// as UTF-8, so escapes such as `\xff` or `\325` become the character U+00FF /
// U+00D5 and then two UTF-8 bytes. The log offsets and lengths confirm this
// (e.g. `span[header_value]="ÿValue2"` has len=8). This loader does the same,
// so `raw` agrees with every span offset/length of the log. request-index.json
// stores `raw` as that unescaped JS string: `Buffer.from(raw, 'utf8')` is
// byte-exact for all cases, `Buffer.from(raw, 'latin1')` only for pure-ASCII
// inputs (5 request cases are not ASCII).

import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Directory URL of the llhttp fixtures (ends with '/'). */
export const LLHTTP_FIXTURES_URL = new URL('../fixtures/http/llhttp/', import.meta.url);
export const LLHTTP_FIXTURES_DIR = fileURLToPath(LLHTTP_FIXTURES_URL);

/**
 * @typedef {object} FixtureMessage
 * @property {string} method  concatenated span[method] (latin1 of its bytes)
 * @property {string} target  concatenated span[url] (latin1)
 * @property {number} versionMajor  from `headers complete ... v=M/m`; 0 when headers never completed
 * @property {number} versionMinor
 * @property {[string, string][]} headers  latin1; a field span after a value span starts a new header
 * @property {Uint8Array} body  concatenation of the span[body] bytes (de-chunked)
 * @property {boolean} complete  a `message complete` line was seen
 * @property {number | null} flags  llhttp flags from the `headers complete` line (null if absent)
 * @property {number | null} methodCode  llhttp method number from the `headers complete` line
 */

/**
 * @typedef {object} FixtureSpan
 * @property {string} kind  method | url | protocol | version | header_field | header_value | body | chunk_extension_*
 * @property {number} offset
 * @property {number} length
 * @property {Uint8Array} bytes  decoded from the log's quoted string
 */

/**
 * @typedef {object} RequestFixture
 * @property {string} file   e.g. 'request/sample.md'
 * @property {number} line   1-based line of the meta comment
 * @property {string} title  nearest preceding `##`/`###` heading
 * @property {string} mode   meta.type ('request', 'request-finish', 'request-lenient-*')
 * @property {Record<string, unknown>} meta  the meta object without `type`
 * @property {Uint8Array} raw  input bytes
 * @property {'error' | 'no-error' | 'pause-upgrade'} outcome
 * @property {null | { code: number, reason: string, offset: number | null }} error
 *           (null for no-error and for pause-upgrade cases)
 * @property {null | { code: number, reason: string, offset: number }} pause
 *           the code 22/23 line of a pause-upgrade case
 * @property {number} messagesCompleted  from request-index.json (count of `message complete` lines)
 * @property {FixtureMessage[]} messages  rebuilt from the log
 * @property {FixtureSpan[]} spans  every span line of the log, decoded
 * @property {string[]} log  the raw log lines
 * @property {string[]} regexLines  log lines written as /regex/ (none in the 9.4.2 request files)
 * @property {number | null} finish  N of the `off=NULL finish=N` line (request-finish cases):
 *           llhttp's finish state after the input, 2 = unsafe (llhttp_finish() fails)
 * @property {boolean} indexed  the case was found in request-index.json
 */

const ESCAPE_BYTES = /** @type {Record<string, number>} */ ({ r: 13, n: 10, t: 9, f: 12 });
const LOG_ESCAPES = /** @type {Record<string, number>} */ ({ r: 13, n: 10, t: 9, f: 12, v: 11, b: 8, 0: 0 });

/**
 * Decodes a ```http block body the way llhttp's md-test does: drop one trailing
 * newline, join lines ending in a backslash, turn newlines into CRLF, then
 * replace \r \n \t \f \xHH \NNN (octal) by the character of that code. The
 * resulting string goes to the parser as UTF-8.
 * @param {string} text  block content (lines joined with '\n')
 * @returns {Uint8Array}
 */
export function decodeHttpBlock(text) {
  let s = text;
  if (s.endsWith('\n')) s = s.slice(0, -1);
  s = s.replace(/\\\n/g, '').replace(/\n/g, '\r\n');
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[i + 1];
    if (n in ESCAPE_BYTES) {
      out += String.fromCharCode(ESCAPE_BYTES[n]);
      i++;
    } else if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      out += String.fromCharCode(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (n >= '0' && n <= '7') {
      const m = /** @type {RegExpExecArray} */ (/^[0-7]{1,3}/.exec(s.slice(i + 1, i + 4)));
      out += String.fromCharCode(parseInt(m[0], 8));
      i += m[0].length;
    } else {
      // Not an escape (e.g. `\\` or `\"` in a chunk extension): keep the
      // backslash literally; the next character is looked at on its own.
      out += c;
    }
  }
  return new Uint8Array(Buffer.from(out, 'utf8'));
}

/**
 * Decodes the text between the quotes of a log span. llhttp's fixture printer
 * writes control bytes as escapes (\r \n \t \f, \xHH) and every other byte
 * as it is, so `"` and `\` appear unescaped (`span[url]="/q?foo=\"bar\""` is
 * the bytes `/q?foo=\"bar\"`) and bytes >= 0x80 appear as the UTF-8 text
 * they form. Decoding: escapes become bytes, other characters their UTF-8
 * bytes. `expectedLength` (the `len=` of the line) settles the rare ambiguous
 * case: if the result has another length, a reading that keeps the escapes
 * literally and then one that encodes the characters as latin1 are tried.
 * @param {string} text
 * @param {number} [expectedLength]
 * @returns {Uint8Array}
 */
export function decodeLogString(text, expectedLength) {
  /**
   * @param {boolean} escapes
   * @param {'utf8' | 'latin1'} enc
   */
  const decode = (escapes, enc) => {
    /** @type {number[]} */
    const bytes = [];
    /** @param {string} ch */
    const pushChar = (ch) => {
      for (const b of Buffer.from(ch, enc)) bytes.push(b);
    };
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (escapes && c === '\\' && i + 1 < text.length) {
        const n = text[i + 1];
        const simple = LOG_ESCAPES[n];
        if (simple !== undefined) {
          bytes.push(simple);
          i++;
          continue;
        }
        if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
          bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
          i += 3;
          continue;
        }
      }
      // Surrogate pairs: encode the whole code point.
      const cp = /** @type {number} */ (text.codePointAt(i));
      const ch = String.fromCodePoint(cp);
      pushChar(ch);
      i += ch.length - 1;
    }
    return new Uint8Array(bytes);
  };
  const first = decode(true, 'utf8');
  if (expectedLength === undefined || first.length === expectedLength) return first;
  for (const [escapes, enc] of /** @type {[boolean, 'utf8' | 'latin1'][]} */ ([
    [false, 'utf8'],
    [true, 'latin1'],
    [false, 'latin1'],
  ])) {
    const alt = decode(escapes, enc);
    if (alt.length === expectedLength) return alt;
  }
  return first;
}

/** @param {Uint8Array} b */
const latin1 = (b) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');


const RE_SPAN = /^off=(\d+) len=(\d+) span\[([a-z_]+)\]="(.*)"$/;
const RE_HEADERS_COMPLETE =
  /^off=(\d+) headers complete method=(\d+) v=(\d+)\/(\d+) flags=([0-9a-fA-F]+) content_length=(\d+)$/;
const RE_ERROR = /^off=(\d+) error code=(\d+) reason="(.*)"$/;

/**
 * Rebuilds messages from a ```log block.
 * @param {string[]} lines
 */
export function parseLog(lines) {
  /** @type {(FixtureMessage & { parts: Uint8Array[], lastWasValue: boolean, methodBytes: Uint8Array[], urlBytes: Uint8Array[] })[]} */
  const msgs = [];
  /** @type {FixtureSpan[]} */
  const spans = [];
  /** @type {string[]} */
  const regexLines = [];
  /** @type {null | { code: number, reason: string, offset: number | null }} */
  let error = null;
  /** @type {number | null} */
  let finish = null;
  let cur = /** @type {(typeof msgs)[number] | null} */ (null);

  const begin = () => {
    cur = {
      method: '', target: '', versionMajor: 0, versionMinor: 0, headers: [],
      body: new Uint8Array(0), complete: false, flags: null, methodCode: null,
      parts: [], lastWasValue: false, methodBytes: [], urlBytes: [],
    };
    msgs.push(cur);
    return cur;
  };

  for (const line of lines) {
    if (line.length > 1 && line.startsWith('/') && line.endsWith('/')) {
      regexLines.push(line);
      const m = /error code=(\d+)/.exec(line);
      if (m) error = { code: Number(m[1]), reason: '', offset: null };
      continue;
    }
    let m;
    if ((m = RE_SPAN.exec(line))) {
      const offset = Number(m[1]);
      const length = Number(m[2]);
      const kind = m[3];
      const bytes = decodeLogString(m[4], length);
      spans.push({ kind, offset, length, bytes });
      const msg = cur ?? begin();
      if (kind === 'method') msg.methodBytes.push(bytes);
      else if (kind === 'url') msg.urlBytes.push(bytes);
      else if (kind === 'header_field') {
        if (msg.headers.length === 0 || msg.lastWasValue) msg.headers.push([latin1(bytes), '']);
        else msg.headers[msg.headers.length - 1][0] += latin1(bytes);
        msg.lastWasValue = false;
      } else if (kind === 'header_value') {
        if (msg.headers.length === 0) msg.headers.push(['', '']);
        msg.headers[msg.headers.length - 1][1] += latin1(bytes);
        msg.lastWasValue = true;
      } else if (kind === 'body') msg.parts.push(bytes);
      // protocol / version / chunk_extension_* spans: not part of the message shape
    } else if (/^off=\d+ message begin$/.test(line)) {
      begin();
    } else if (/^off=\d+ message complete$/.test(line)) {
      (cur ?? begin()).complete = true;
      cur = null;
    } else if ((m = RE_HEADERS_COMPLETE.exec(line))) {
      const msg = cur ?? begin();
      msg.methodCode = Number(m[2]);
      msg.versionMajor = Number(m[3]);
      msg.versionMinor = Number(m[4]);
      msg.flags = parseInt(m[5], 16);
    } else if ((m = RE_ERROR.exec(line))) {
      error = { code: Number(m[2]), reason: m[3], offset: Number(m[1]) };
    } else if ((m = /^off=\S+ finish=(\d+)$/.exec(line))) {
      finish = Number(m[1]);
    }
    // ignored: `... complete` of single spans, chunk header/complete, pause,
    // reset, skip body, `off=NULL finish=N`
  }

  /** @type {FixtureMessage[]} */
  const messages = msgs.map((x) => ({
    method: latin1(Buffer.concat(x.methodBytes)),
    target: latin1(Buffer.concat(x.urlBytes)),
    versionMajor: x.versionMajor,
    versionMinor: x.versionMinor,
    headers: x.headers,
    body: new Uint8Array(Buffer.concat(x.parts)),
    complete: x.complete,
    flags: x.flags,
    methodCode: x.methodCode,
  }));
  return { messages, spans, regexLines, error, finish };
}

/**
 * Splits one markdown file into cases.
 * @param {string} file  path relative to the fixtures dir, e.g. 'request/sample.md'
 * @param {string} text
 */
export function parseFixtureMarkdown(file, text) {
  const lines = text.split(/\r?\n/);
  /** @type {{ file: string, line: number, title: string, type: string, meta: Record<string, unknown>, http: string, log: string[] }[]} */
  const cases = [];
  let title = '';
  /** @type {null | { file: string, line: number, title: string, type: string, meta: Record<string, unknown>, http: string | null, log: string[] | null }} */
  let pending = null;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heading = /^#{2,6}\s+(.*?)\s*$/.exec(line);
    if (heading) {
      title = heading[1];
      continue;
    }
    const meta = /^<!--\s*meta=(\{.*\})\s*-->\s*$/.exec(line);
    if (meta) {
      const { type, ...rest } = JSON.parse(meta[1]);
      pending = { file, line: i + 1, title, type, meta: rest, http: null, log: null };
      continue;
    }
    const fence = /^```(\w+)\s*$/.exec(line);
    if (fence) {
      const body = [];
      let j = i + 1;
      while (j < lines.length && !/^```\s*$/.test(lines[j])) body.push(lines[j++]);
      i = j;
      if (pending === null) continue;
      if (fence[1] === 'http' && pending.http === null) pending.http = body.join('\n') + '\n';
      else if (fence[1] === 'log' && pending.http !== null) {
        pending.log = body;
        cases.push({ ...pending, http: pending.http, log: body });
        pending = null;
      }
    }
  }
  return cases;
}

/**
 * @typedef {object} IndexEntry
 * @property {string} file
 * @property {number} line
 * @property {string} title
 * @property {string} mode
 * @property {Record<string, unknown>} meta
 * @property {string} raw
 * @property {'error' | 'no-error' | 'pause-upgrade'} outcome
 * @property {null | { code: number, reason: string }} error
 * @property {number} messagesCompleted
 */

/** @returns {IndexEntry[]} */
export function loadRequestIndex() {
  return JSON.parse(readFileSync(new URL('request-index.json', LLHTTP_FIXTURES_URL), 'utf8'));
}

/** @type {RequestFixture[] | null} */
let cached = null;

/**
 * Loads all request-side cases (request/*.md), in file-name order and then
 * file order, combined with request-index.json (outcome, messagesCompleted).
 * The result is cached; treat it as read-only.
 * @returns {RequestFixture[]}
 */
export function loadRequestFixtures() {
  if (cached) return cached;
  const index = loadRequestIndex();
  const byKey = new Map(index.map((e) => [`${e.file}:${e.line}`, e]));
  const dir = new URL('request/', LLHTTP_FIXTURES_URL);
  const files = readdirSync(dir).filter((f) => f.endsWith('.md')).sort();
  /** @type {RequestFixture[]} */
  const out = [];
  for (const name of files) {
    const file = `request/${name}`;
    const text = readFileSync(new URL(name, dir), 'utf8');
    for (const c of parseFixtureMarkdown(file, text)) {
      const raw = decodeHttpBlock(c.http);
      const log = parseLog(c.log);
      const entry = byKey.get(`${c.file}:${c.line}`);
      const logCompleted = log.messages.filter((m) => m.complete).length;
      const logCode = log.error?.code ?? null;
      const isPauseCode = logCode === 22 || logCode === 23;
      /** @type {RequestFixture['outcome']} */
      const outcome = entry?.outcome ?? (logCode === null ? 'no-error' : isPauseCode ? 'pause-upgrade' : 'error');
      const err = log.error;
      out.push({
        file: c.file,
        line: c.line,
        title: c.title,
        mode: c.type,
        meta: c.meta,
        raw,
        outcome,
        error:
          outcome === 'error'
            ? {
                code: entry?.error?.code ?? err?.code ?? -1,
                reason: entry?.error?.reason ?? err?.reason ?? '',
                offset: err?.offset ?? null,
              }
            : null,
        pause:
          outcome === 'pause-upgrade' && err !== null && err.offset !== null
            ? { code: err.code, reason: err.reason, offset: err.offset }
            : null,
        messagesCompleted: entry?.messagesCompleted ?? logCompleted,
        messages: log.messages,
        spans: log.spans,
        log: c.log,
        regexLines: log.regexLines,
        finish: log.finish,
        indexed: entry !== undefined,
      });
    }
  }
  cached = out;
  return out;
}
