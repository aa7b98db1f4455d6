// Reference HTTP/1.x request parser for differential tests and benchmarks:
// the llhttp WebAssembly build that undici ships (node_modules/undici/lib/llhttp).
//
// Plain ESM + JSDoc so that both vitest (TS) tests and `node bench/*.mjs` can use it.
//
// Facts about undici's build that this module relies on (checked against
// undici 7.30.2; see the test file):
// - The module imports eight callbacks from `env` (wasm_on_url, wasm_on_status,
//   wasm_on_message_begin, wasm_on_header_field, wasm_on_header_value,
//   wasm_on_headers_complete, wasm_on_body, wasm_on_message_complete). There are
//   no method/version/protocol span callbacks and no *_complete callbacks for
//   individual spans; a span callback returning 0 means "go on".
// - Getters exist for the parsed method / version / upgrade flag
//   (llhttp_get_method, llhttp_get_http_major, llhttp_get_http_minor,
//   llhttp_get_upgrade) and llhttp_method_name / llhttp_errno_name return C
//   strings. There is no getter for `flags` or `content_length`.
// - No lenient flag is set by llhttp_alloc: the parser is in llhttp's default
//   (strict) mode unless one of the llhttp_set_lenient_* exports is called.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** @type {{ TYPE: { REQUEST: number, RESPONSE: number, BOTH: number }, ERROR: Record<string, number> }} */
export const llhttpConstants = require('undici/lib/llhttp/constants.js');

export const LLHTTP_ERROR = llhttpConstants.ERROR;
const TYPE_REQUEST = llhttpConstants.TYPE.REQUEST;
const PAUSED_UPGRADE = LLHTTP_ERROR.PAUSED_UPGRADE; // 22
const PAUSED_H2_UPGRADE = LLHTTP_ERROR.PAUSED_H2_UPGRADE; // 23

/**
 * Compiled modules, keyed by variant. Compiling is the slow part (tens of ms);
 * instances are cheap, so every createLlhttp()/createSpanParser() gets its own
 * instance (and therefore its own linear memory).
 * @type {Map<string, WebAssembly.Module>}
 */
const moduleCache = new Map();

/**
 * @param {boolean} simd
 * @returns {WebAssembly.Module}
 */
function getModule(simd) {
  const key = simd ? 'simd' : 'scalar';
  let mod = moduleCache.get(key);
  if (mod === undefined) {
    const bytes = simd
      ? require('undici/lib/llhttp/llhttp_simd-wasm.js')
      : require('undici/lib/llhttp/llhttp-wasm.js');
    mod = new WebAssembly.Module(bytes);
    moduleCache.set(key, mod);
  }
  return mod;
}

/**
 * Export names of the llhttp module (for inspection / tests).
 * @param {{ simd?: boolean }} [options]
 * @returns {string[]}
 */
export function llhttpExportNames({ simd = true } = {}) {
  return WebAssembly.Module.exports(getModule(simd)).map((e) => e.name);
}

/**
 * @typedef {object} LlhttpExports
 * @property {WebAssembly.Memory} memory
 * @property {(type: number) => number} llhttp_alloc
 * @property {(parser: number) => void} llhttp_free
 * @property {(parser: number) => void} llhttp_reset
 * @property {(parser: number, data: number, len: number) => number} llhttp_execute
 * @property {(parser: number) => number} llhttp_finish
 * @property {(parser: number) => void} llhttp_resume
 * @property {(parser: number) => void} llhttp_resume_after_upgrade
 * @property {(parser: number) => number} llhttp_get_errno
 * @property {(parser: number) => number} llhttp_get_error_reason
 * @property {(parser: number) => number} llhttp_get_error_pos
 * @property {(parser: number) => number} llhttp_get_method
 * @property {(parser: number) => number} llhttp_get_http_major
 * @property {(parser: number) => number} llhttp_get_http_minor
 * @property {(parser: number) => number} llhttp_get_upgrade
 * @property {(parser: number) => number} llhttp_should_keep_alive
 * @property {(code: number) => number} llhttp_errno_name
 * @property {(method: number) => number} llhttp_method_name
 * @property {(size: number) => number} malloc
 * @property {(ptr: number) => void} free
 */

/**
 * @param {boolean} simd
 * @param {Record<string, Function>} callbacks
 * @returns {LlhttpExports}
 */
function instantiate(simd, callbacks) {
  const instance = new WebAssembly.Instance(getModule(simd), { env: callbacks });
  // Used exactly as undici uses it (undici does not call _initialize either).
  return /** @type {LlhttpExports} */ (/** @type {unknown} */ (instance.exports));
}

/**
 * Reads a NUL-terminated latin1 string out of WASM memory.
 * @param {WebAssembly.Memory} memory
 * @param {number} ptr
 * @returns {string}
 */
function cString(memory, ptr) {
  if (ptr === 0) return '';
  const bytes = new Uint8Array(memory.buffer);
  let end = ptr;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return Buffer.from(memory.buffer, ptr, end - ptr).toString('latin1');
}


/**
 * @param {Uint8Array | string | Array<Uint8Array | string>} input
 * @returns {Uint8Array[]}
 */
function normalizeChunks(input) {
  const list = Array.isArray(input) ? input : [input];
  return list.map((c) => (typeof c === 'string' ? new Uint8Array(Buffer.from(c, 'latin1')) : c));
}

/**
 * @typedef {object} OracleMessage
 * @property {string} method   method name from llhttp_get_method + llhttp_method_name,
 *                             read when the URL starts ('' if the message never got that far)
 * @property {string} target   request-target (all url spans, latin1)
 * @property {number} versionMajor  0 unless headers completed
 * @property {number} versionMinor  0 unless headers completed
 * @property {[string, string][]} headers  in wire order, latin1, values as llhttp spans them
 *                             (OWS trimmed by llhttp; obs-fold pieces, if any, concatenated)
 * @property {Uint8Array} body  de-chunked body bytes
 * @property {boolean} upgrade  the `upgrade` argument of on_headers_complete (CONNECT / Upgrade)
 * @property {boolean} keepAlive  the `should_keep_alive` argument of on_headers_complete
 * @property {boolean} complete  on_message_complete fired
 */

/**
 * @typedef {object} OracleError
 * @property {number} code    llhttp_errno (see LLHTTP_ERROR)
 * @property {string} name    e.g. 'HPE_INVALID_METHOD'
 * @property {string} reason  llhttp's error reason string
 * @property {number} offset  absolute byte offset (in the concatenated input) of llhttp's error_pos
 */

/**
 * @typedef {object} OracleResult
 * @property {OracleMessage[]} messages
 * @property {OracleError | null} error  null when the input was accepted (or the parser paused for upgrade)
 * @property {boolean} paused  true when llhttp stopped with PAUSED_UPGRADE (22) or PAUSED_H2_UPGRADE (23)
 * @property {OracleError | null} pause  details of that pause (offset = first byte that belongs
 *                                      to the upgraded protocol); null unless paused
 * @property {number} consumed  where parsing stopped: the input length, else the error/pause offset
 */

/**
 * @typedef {object} SpanParser
 * @property {(bytes: Uint8Array) => number} execute  feed bytes (streaming; parser state persists
 *                                      across calls); returns 0 or an llhttp error code
 * @property {() => void} reset  fresh parser state and zeroed counters
 * @property {number} messages  completed messages since the last reset
 * @property {Int32Array} stats  [messages, messageBegins, urlSpans, headerFieldSpans,
 *                                headerValueSpans, headersComplete, bodySpans, bodyBytes,
 *                                lastAt, lastLen]
 * @property {() => { code: number, reason: string, pos: number }} lastError  pos is relative to
 *                                      the last execute()'s bytes
 * @property {() => void} dispose
 */

/**
 * @typedef {object} Llhttp
 * @property {boolean} simd
 * @property {(chunks: Uint8Array | string | Array<Uint8Array | string>, options?: { finish?: boolean, skipBody?: boolean }) => OracleResult} parseRequest
 *   finish: call llhttp_finish() after the last chunk (EOF); skipBody: on_headers_complete returns 1
 * @property {(options?: { capacity?: number }) => SpanParser} createSpanParser
 * @property {(code: number) => string} errorName
 * @property {(code: number) => string} methodName
 */

export const STAT_MESSAGES = 0;
export const STAT_MESSAGE_BEGINS = 1;
export const STAT_URL = 2;
export const STAT_HEADER_FIELD = 3;
export const STAT_HEADER_VALUE = 4;
export const STAT_HEADERS_COMPLETE = 5;
export const STAT_BODY = 6;
export const STAT_BODY_BYTES = 7;
export const STAT_LAST_AT = 8;
export const STAT_LAST_LEN = 9;

// Event kinds of the per-parse callback log.
const EV_BEGIN = 0;
const EV_URL = 1;
const EV_FIELD = 2;
const EV_VALUE = 3;
const EV_HEADERS = 4;
const EV_BODY = 5;
const EV_COMPLETE = 6;

/**
 * Offset of `_span_pos0` in llhttp's parser struct (llparse layout: int32
 * _index, then the span start pointer). Non-zero after llhttp_execute()
 * returns while a span (url, header field/value, body...) is still open; the
 * last span callback of that execute() was then only the flush of a span cut
 * at the end of the chunk. Checked by a probe in createLlhttp().
 */
const SPAN_POS0_OFFSET = 4;

/**
 * Creates an llhttp oracle backed by undici's WASM build.
 * @param {{ simd?: boolean }} [options]
 * @returns {Llhttp}
 */
export function createLlhttp({ simd = true } = {}) {
  // Callback log of the parse in progress. Spans are decoded right away
  // (the bytes only live in the WASM buffer during llhttp_execute).
  /** @type {number[]} */
  let evKind = [];
  /** @type {any[]} */
  let evData = [];
  /** @type {boolean[]} */
  let evCut = [];
  let collecting = false;
  /** End address (at + len) of the latest span callback, -1 after other callbacks. */
  let lastSpanEnd = -1;

  /**
   * @param {number} kind
   * @param {any} data
   * @param {number} end  at + len for span callbacks, -1 otherwise
   */
  function push(kind, data, end = -1) {
    if (!collecting) return 0;
    evKind.push(kind);
    evData.push(data);
    evCut.push(false);
    lastSpanEnd = end;
    return 0;
  }

  const env = {
    /** @param {number} p @param {number} at @param {number} len */
    wasm_on_url(p, at, len) {
      // The method is known once the URL starts.
      return push(EV_URL, { text: latin1(at, len), method: ex.llhttp_get_method(p) }, at + len);
    },
    wasm_on_status() {
      return 0;
    },
    wasm_on_message_begin() {
      return push(EV_BEGIN, null);
    },
    /** @param {number} p @param {number} at @param {number} len */
    wasm_on_header_field(p, at, len) {
      return push(EV_FIELD, latin1(at, len), at + len);
    },
    /** @param {number} p @param {number} at @param {number} len */
    wasm_on_header_value(p, at, len) {
      return push(EV_VALUE, latin1(at, len), at + len);
    },
    /** @param {number} p @param {number} _status @param {number} upgrade @param {number} keepAlive */
    wasm_on_headers_complete(p, _status, upgrade, keepAlive) {
      push(EV_HEADERS, {
        method: ex.llhttp_get_method(p),
        major: ex.llhttp_get_http_major(p),
        minor: ex.llhttp_get_http_minor(p),
        upgrade: upgrade === 1,
        keepAlive: keepAlive === 1,
      });
      // 1 = "no body" (what a server does for HEAD responses; used by the
      // fixtures' skipBody meta).
      return skipBody ? 1 : 0;
    },
    /** @param {number} p @param {number} at @param {number} len */
    wasm_on_body(p, at, len) {
      return push(EV_BODY, new Uint8Array(ex.memory.buffer, at, len).slice(), at + len);
    },
    wasm_on_message_complete() {
      return push(EV_COMPLETE, null);
    },
  };
  let skipBody = false;

  const ex = instantiate(simd, env);

  /** @param {number} at @param {number} len */
  function latin1(at, len) {
    return Buffer.from(ex.memory.buffer, at, len).toString('latin1');
  }

  /** @type {Map<number, string>} */
  const methodNames = new Map();
  /** @param {number} code */
  function methodName(code) {
    let s = methodNames.get(code);
    if (s === undefined) {
      s = cString(ex.memory, ex.llhttp_method_name(code));
      methodNames.set(code, s);
    }
    return s;
  }
  /** @param {number} code */
  function errorName(code) {
    return cString(ex.memory, ex.llhttp_errno_name(code));
  }

  let bufPtr = 0;
  let bufCap = 0;
  /** @param {number} n */
  function ensureBuffer(n) {
    if (n <= bufCap) return;
    if (bufPtr !== 0) ex.free(bufPtr);
    bufCap = Math.max(n, 4096);
    bufPtr = ex.malloc(bufCap);
    if (bufPtr === 0) throw new Error(`llhttp malloc(${bufCap}) failed`);
  }

  /** @param {number} parser */
  function spanOpen(parser) {
    return new Int32Array(ex.memory.buffer, parser + SPAN_POS0_OFFSET, 1)[0] !== 0;
  }

  // Probe the struct layout assumption once: an open URL span must show up.
  {
    const probe = ex.llhttp_alloc(TYPE_REQUEST);
    ensureBuffer(16);
    const text = Buffer.from('GET /ab', 'latin1');
    new Uint8Array(ex.memory.buffer, bufPtr, text.length).set(text);
    const ret = ex.llhttp_execute(probe, bufPtr, text.length);
    const ok = ret === 0 && spanOpen(probe);
    ex.llhttp_free(probe);
    if (!ok) throw new Error('llhttp-oracle: unexpected llhttp parser layout (_span_pos0)');
  }

  /**
   * @param {number} parser
   * @param {number} code
   * @param {number} offset
   * @returns {OracleError}
   */
  function describe(parser, code, offset) {
    return {
      code,
      name: errorName(code),
      reason: cString(ex.memory, ex.llhttp_get_error_reason(parser)),
      offset,
    };
  }

  /**
   * Folds the callback log into messages.
   * @param {number} count  number of events to use
   * @returns {OracleMessage[]}
   */
  function buildMessages(count) {
    /** @type {OracleMessage[]} */
    const out = [];
    /** @type {OracleMessage | null} */
    let cur = null;
    /** @type {Uint8Array[]} */
    let body = [];
    let lastWasValue = false;
    let methodCode = -1;
    const finishBody = () => {
      if (cur !== null) cur.body = new Uint8Array(Buffer.concat(body));
      body = [];
    };
    const ensure = () => {
      if (cur === null) begin();
      return /** @type {OracleMessage} */ (cur);
    };
    const begin = () => {
      finishBody();
      cur = {
        method: '',
        target: '',
        versionMajor: 0,
        versionMinor: 0,
        headers: [],
        body: new Uint8Array(0),
        upgrade: false,
        keepAlive: false,
        complete: false,
      };
      out.push(cur);
      lastWasValue = false;
      methodCode = -1;
    };
    for (let i = 0; i < count; i++) {
      const d = evData[i];
      switch (evKind[i]) {
        case EV_BEGIN:
          begin();
          break;
        case EV_URL: {
          const m = ensure();
          if (methodCode === -1) {
            methodCode = d.method;
            m.method = methodName(d.method);
          }
          m.target += d.text;
          break;
        }
        case EV_FIELD: {
          // A field piece after a value (or the first one) starts a new
          // header; otherwise it continues a field cut at a chunk end.
          const h = ensure().headers;
          if (h.length === 0 || lastWasValue) h.push([d, '']);
          else h[h.length - 1][0] += d;
          lastWasValue = false;
          break;
        }
        case EV_VALUE: {
          const h = ensure().headers;
          if (h.length === 0) h.push(['', '']);
          h[h.length - 1][1] += d;
          lastWasValue = true;
          break;
        }
        case EV_HEADERS: {
          const m = ensure();
          if (methodCode === -1) {
            methodCode = d.method;
            m.method = methodName(d.method);
          }
          m.versionMajor = d.major;
          m.versionMinor = d.minor;
          m.upgrade = d.upgrade;
          m.keepAlive = d.keepAlive;
          break;
        }
        case EV_BODY:
          ensure();
          body.push(d);
          break;
        case EV_COMPLETE:
          ensure().complete = true;
          break;
      }
    }
    finishBody();
    return out;
  }

  /** @type {Llhttp['parseRequest']} */
  function parseRequest(input, options = {}) {
    const chunks = normalizeChunks(input);
    const finish = options.finish === true;
    skipBody = options.skipBody === true;
    evKind = [];
    evData = [];
    evCut = [];
    collecting = true;
    const parser = ex.llhttp_alloc(TYPE_REQUEST);
    /** @type {OracleError | null} */
    let error = null;
    /** @type {OracleError | null} */
    let pause = null;
    let eofError = false;
    let abs = 0;
    try {
      for (const chunk of chunks) {
        if (chunk.length === 0) continue;
        ensureBuffer(chunk.length);
        new Uint8Array(ex.memory.buffer, bufPtr, chunk.length).set(chunk);
        const before = evKind.length;
        const ret = ex.llhttp_execute(parser, bufPtr, chunk.length);
        if (ret !== 0) {
          const pos = ex.llhttp_get_error_pos(parser);
          const offset = abs + (pos === 0 ? 0 : pos - bufPtr);
          const info = describe(parser, ret, offset);
          if (ret === PAUSED_UPGRADE || ret === PAUSED_H2_UPGRADE) pause = info;
          else error = info;
          abs = offset;
          break;
        }
        // llhttp flushes a span that is still open when execute() returns
        // by calling its callback with the part up to the chunk end. Such a
        // piece (last callback of this execute, ending at the chunk end,
        // a span still open; spans of method/version/etc. are not wired to
        // JS, so the span check alone is not enough) is marked as cut.
        if (
          evKind.length > before &&
          lastSpanEnd === bufPtr + chunk.length &&
          spanOpen(parser)
        ) {
          evCut[evCut.length - 1] = true;
        }
        abs += chunk.length;
      }
      if (finish && error === null && pause === null) {
        const ret = ex.llhttp_finish(parser);
        if (ret !== 0) {
          error = describe(parser, ret, abs);
          eofError = true;
        }
      }
    } finally {
      collecting = false;
      skipBody = false;
      ex.llhttp_free(parser);
    }
    // On an error, pieces of a span that was cut at a chunk end and never
    // ended are dropped: fed in one piece, llhttp would not have reported
    // them (it does not flush spans on error). This keeps the result
    // independent of how the input is split.
    let count = evKind.length;
    if (error !== null && !eofError) while (count > 0 && evCut[count - 1]) count--;
    const messages = buildMessages(count);
    evKind = [];
    evData = [];
    evCut = [];
    return { messages, error, paused: pause !== null, pause, consumed: abs };
  }

  /** @type {Llhttp['createSpanParser']} */
  function createSpanParser({ capacity = 1 << 16 } = {}) {
    return makeSpanParser(simd, capacity);
  }

  return { simd, parseRequest, createSpanParser, errorName, methodName };
}

/**
 * The benchmark path: its own instance whose callbacks only bump counters in
 * a preallocated Int32Array (what a real embedder must at least do: llhttp
 * calls back into JS for every span, as in undici). Input is copied once per
 * execute() into a WASM buffer that is allocated up front and reused.
 * @param {boolean} simd
 * @param {number} capacity
 * @returns {SpanParser}
 */
function makeSpanParser(simd, capacity) {
  const stats = new Int32Array(10);
  const ex = instantiate(simd, {
    wasm_on_url(/** @type {number} */ p, /** @type {number} */ at, /** @type {number} */ len) {
      stats[STAT_URL]++;
      stats[STAT_LAST_AT] = at;
      stats[STAT_LAST_LEN] = len;
      return 0;
    },
    wasm_on_status() {
      return 0;
    },
    wasm_on_message_begin() {
      stats[STAT_MESSAGE_BEGINS]++;
      return 0;
    },
    wasm_on_header_field(/** @type {number} */ p, /** @type {number} */ at, /** @type {number} */ len) {
      stats[STAT_HEADER_FIELD]++;
      stats[STAT_LAST_AT] = at;
      stats[STAT_LAST_LEN] = len;
      return 0;
    },
    wasm_on_header_value(/** @type {number} */ p, /** @type {number} */ at, /** @type {number} */ len) {
      stats[STAT_HEADER_VALUE]++;
      stats[STAT_LAST_AT] = at;
      stats[STAT_LAST_LEN] = len;
      return 0;
    },
    wasm_on_headers_complete() {
      stats[STAT_HEADERS_COMPLETE]++;
      return 0;
    },
    wasm_on_body(/** @type {number} */ p, /** @type {number} */ at, /** @type {number} */ len) {
      stats[STAT_BODY]++;
      stats[STAT_BODY_BYTES] += len;
      stats[STAT_LAST_AT] = at;
      stats[STAT_LAST_LEN] = len;
      return 0;
    },
    wasm_on_message_complete() {
      stats[STAT_MESSAGES]++;
      return 0;
    },
  });

  const parser = ex.llhttp_alloc(TYPE_REQUEST);
  let cap = Math.max(1, capacity | 0);
  let buf = ex.malloc(cap);
  if (buf === 0) throw new Error(`llhttp malloc(${cap}) failed`);
  // Memory only grows inside malloc (never during llhttp_execute), so this
  // view stays valid until the next grow().
  let heap = new Uint8Array(ex.memory.buffer);
  let lastBuf = buf;

  /** @param {number} n */
  function grow(n) {
    ex.free(buf);
    cap = n;
    buf = ex.malloc(cap);
    if (buf === 0) throw new Error(`llhttp malloc(${cap}) failed`);
    heap = new Uint8Array(ex.memory.buffer);
  }

  const execute = ex.llhttp_execute;
  let loaded = 0;
  return {
    execute(bytes) {
      const n = bytes.length;
      if (n > cap) grow(n);
      heap.set(bytes, buf);
      lastBuf = buf;
      return execute(parser, buf, n);
    },
    /** Copies bytes into the WASM buffer once, for executeLoaded(). */
    load(bytes) {
      const n = bytes.length;
      if (n > cap) grow(n);
      heap.set(bytes, buf);
      lastBuf = buf;
      loaded = n;
    },
    /** Parses the bytes of the last load() in place (no copy). */
    executeLoaded() {
      return execute(parser, buf, loaded);
    },
    reset() {
      ex.llhttp_reset(parser);
      stats.fill(0);
    },
    get messages() {
      return stats[STAT_MESSAGES];
    },
    stats,
    lastError() {
      const pos = ex.llhttp_get_error_pos(parser);
      return {
        code: ex.llhttp_get_errno(parser),
        reason: cString(ex.memory, ex.llhttp_get_error_reason(parser)),
        pos: pos === 0 ? -1 : pos - lastBuf,
      };
    },
    dispose() {
      ex.free(buf);
      ex.llhttp_free(parser);
    },
  };
}
