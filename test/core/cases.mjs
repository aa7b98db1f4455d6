// The shared cases of test/core: run through any Conduit API object (the package root in
// Node, or conduit/core's loadCore() in Node, Bun and Deno) they give a JSON-able record
// of every result, which the runtimes must reproduce byte for byte.
//
// Plain ESM with no `node:` import and no Buffer: the runner (run-core.mjs) imports it in
// every runtime, also with globalThis.Buffer removed.

const HEX = '0123456789abcdef';
export function hex(b) {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i] >> 4] + HEX[b[i] & 15];
  return s;
}

export function fromBase64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function toBase64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 4096) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096));
  return btoa(bin);
}

/** Strings as their UTF-16 units (so that a lone surrogate or U+FFFD difference shows). */
const units = (s) => (s === undefined ? null : Array.from(s, (c) => c.codePointAt(0)).join(','));

function parseError(e) {
  return { error: e.code, status: e.status, offset: e.offset, incomplete: e.incomplete };
}

function httpOne(api, bytes) {
  const r = api.parseHttpRequest(bytes);
  if (r instanceof api.HttpParseError) return parseError(r);
  return {
    method: r.method, target: units(r.target), version: r.version,
    headers: r.headers.map(([n, v]) => [units(n), units(v)]),
    body: r.body === null ? null : hex(r.body),
    trailers: r.trailers.map(([n, v]) => [units(n), units(v)]),
    keepAlive: r.keepAlive, upgrade: r.upgrade, expectContinue: r.expectContinue, consumed: r.consumed,
  };
}

function httpHead(api, bytes) {
  const r = api.parseHttpHead(bytes);
  if (r instanceof api.HttpParseError) return parseError(r);
  return {
    method: r.method, methodId: r.methodId, version: r.version, flags: r.flags, contentLength: r.contentLength,
    target: [r.targetStart, r.targetEnd], headLength: r.headLength, fields: Array.from(r.fields),
  };
}

/** The streaming parser, fed in pieces of `step` bytes: every callback, in order. */
function httpStream(api, bytes, step) {
  const log = [];
  const parser = new api.HttpParser({
    onHead(h) {
      log.push(['head', h.method, units(h.target), h.version, h.flags, h.contentLength,
        h.headers.map(([n, v]) => [units(n), units(v)]), units(h.host), units(h.get('content-type'))]);
    },
    onBody(chunk) { log.push(['body', hex(chunk)]); },
    onMessageComplete(trailers) { log.push(['done', trailers === null ? null : trailers.map(([n, v]) => [units(n), units(v)])]); },
  });
  try {
    for (let i = 0; i < bytes.length; i += step) {
      const err = parser.execute(bytes.subarray(i, i + step));
      if (err !== null) {
        log.push(['error', err.code, err.status, err.offset]);
        break;
      }
    }
    const end = parser.finish();
    log.push(['finish', end === null ? null : end.code, parser.bytesConsumed, parser.messages,
      parser.upgradeData === null ? null : hex(parser.upgradeData)]);
  } finally {
    parser.destroy();
  }
  return log;
}

function jsonValue(v) {
  return v === undefined ? '(undefined)' : JSON.stringify(v);
}

function jsonOne(api, bytes) {
  const r = api.parseJsonRpc(bytes);
  const out = { validate: api.validateJson(bytes) };
  if (!r.ok) return { ...out, ok: false, error: r.error };
  return {
    ...out, ok: true, batch: r.batch,
    messages: r.messages.map((m) => ({
      kind: m.kind, id: m.id === undefined ? '(undefined)' : m.id, method: units(m.method),
      params: jsonValue(m.params), result: jsonValue(m.result), error: jsonValue(m.error),
    })),
  };
}

function sseOne(api, framer, event) {
  try {
    return hex(framer.frame(event));
  } catch (err) {
    return { error: err.code };
  }
}

/** What the SSE decoder makes of bytes fed in pieces of `step`. */
function decodeAll(api, bytes, step) {
  const events = [];
  const d = new api.SseDecoder({
    onEvent(e) { events.push([units(e.type), units(e.data), units(e.lastEventId), e.retry ?? null]); },
    onComment(t) { events.push(['comment', units(t)]); },
  });
  for (let i = 0; i < bytes.length; i += step) d.push(bytes.subarray(i, i + step));
  d.end();
  return events;
}

/**
 * cases: { http: [{ name, b64 }], json: [{ name, b64 }], sse: [{ name, event }] } where an
 * event's data is a string, or { b64 } for bytes.
 */
export function runCases(api, cases) {
  const http = [];
  for (const c of cases.http) {
    const bytes = fromBase64(c.b64);
    http.push({
      name: c.name,
      one: httpOne(api, bytes),
      head: httpHead(api, bytes),
      whole: httpStream(api, bytes, Math.max(1, bytes.length)),
      split: httpStream(api, bytes, Math.max(1, bytes.length >> 1)),
      bytes1: bytes.length <= 600 ? httpStream(api, bytes, 1) : null,
    });
  }
  const json = cases.json.map((c) => ({ name: c.name, ...jsonOne(api, fromBase64(c.b64)) }));
  const framer = new api.SseFramer();
  const sse = [];
  const frames = [];
  try {
    for (const c of cases.sse) {
      const e = c.event;
      const event = typeof e.data === 'object' && e.data !== null && 'b64' in e.data ? { ...e, data: fromBase64(e.data.b64) } : e;
      const frame = sseOne(api, framer, event);
      sse.push({ name: c.name, frame });
      if (typeof frame === 'string') frames.push(event);
    }
    sse.push({ name: 'comment', frame: hex(framer.comment('keep\r\nalive é')) });
    const batch = framer.frameBatch(frames);
    sse.push({ name: 'batch', frame: batch.length });
    sse.push({ name: 'decoded', events: decodeAll(api, batch, 7), whole: decodeAll(api, batch, batch.length) });
  } finally {
    framer.destroy();
  }
  return { http, json, sse };
}
