// Named corpus of HTTP/1.1 request streams for the parser benchmarks.
//
// Each entry: { name, description, bytes: Uint8Array, messages } where `messages` is the
// number of complete requests in `bytes`. Every entry must parse cleanly (no error, no
// bytes left over) in both Conduit and llhttp's strict mode; bench/http-parser.bench.mjs
// checks that at startup.

const enc = new TextEncoder();

/** Joins a request line and header lines into a head (CRLF line ends, blank line). */
function head(requestLine, headers) {
  let s = requestLine + '\r\n';
  for (const [name, value] of headers) s += `${name}: ${value}\r\n`;
  return s + '\r\n';
}


/** Deterministic pseudo-random bytes (binary upload payload), all 256 byte values. */
function payload(n, seed) {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

// ── browser-get ──────────────────────────────────────────────────────────────────
const browserGet = enc.encode(head('GET /shoes?page=2 HTTP/1.1', [
  ['Host', 'shop.example.com'],
  ['Connection', 'keep-alive'],
  ['Upgrade-Insecure-Requests', '1'],
  ['User-Agent', CHROME_UA],
  ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
  ['Sec-Fetch-Site', 'same-origin'],
  ['Sec-Fetch-Mode', 'navigate'],
  ['Sec-Fetch-Dest', 'document'],
  ['Referer', 'https://shop.example.com/shoes'],
  ['Accept-Encoding', 'gzip, deflate, br, zstd'],
  ['Accept-Language', 'en-US,en;q=0.9'],
  ['Cookie', 'sid=3f9a1c2e8b7d4a60; cart=2'],
]));

// ── jsonrpc-post (an MCP tools/call over Streamable HTTP) ────────────────────────
const rpcBody = enc.encode(JSON.stringify({
  jsonrpc: '2.0',
  id: 7,
  method: 'tools/call',
  params: { name: 'get_weather', arguments: { city: 'Lisbon' } },
}));
const jsonrpcPost = Buffer.concat([
  enc.encode(head('POST /mcp HTTP/1.1', [
    ['Host', 'localhost:8080'],
    ['Content-Type', 'application/json'],
    ['Accept', 'application/json, text/event-stream'],
    ['Content-Length', String(rpcBody.length)],
    ['Mcp-Session-Id', '1868a90c-7b3e-4a8f-9c2d-5e6f70819a2b'],
    ['MCP-Protocol-Version', '2025-06-18'],
  ])),
  rpcBody,
]);

// ── pipelined-64 ─────────────────────────────────────────────────────────────────
const pipelined = [];
for (let i = 0; i < 64; i++) {
  pipelined.push(enc.encode(`GET /item/${i} HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n`));
}
const pipelined64 = Buffer.concat(pipelined);

// ── headers-50 ───────────────────────────────────────────────────────────────────
const fifty = [
  ['Host', 'api.example.com'],
  ['User-Agent', CHROME_UA],
  ['Accept', 'application/json, text/plain, */*'],
  ['Accept-Language', 'en-GB,en;q=0.9,pt;q=0.8'],
  ['Accept-Encoding', 'gzip, deflate, br, zstd'],
  ['Referer', 'https://app.example.com/dashboard/reports?range=30d'],
  ['Origin', 'https://app.example.com'],
  ['Connection', 'keep-alive'],
  ['Cookie', '_ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; session=eyJhbGciOiJIUzI1NiJ9.c2Vzc2lvbg.abc123'],
  ['Authorization', 'Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJl'],
  ['Cache-Control', 'no-cache'],
  ['Pragma', 'no-cache'],
  ['DNT', '1'],
  ['Sec-CH-UA', '"Not/A)Brand";v="8", "Chromium";v="126", "Google Chrome";v="126"'],
  ['Sec-CH-UA-Mobile', '?0'],
  ['Sec-CH-UA-Platform', '"Windows"'],
  ['Sec-Fetch-Site', 'same-site'],
  ['Sec-Fetch-Mode', 'cors'],
  ['Sec-Fetch-Dest', 'empty'],
  ['Priority', 'u=1, i'],
  ['If-None-Match', 'W/"5e15153d-120f"'],
  ['If-Modified-Since', 'Tue, 14 May 2024 08:12:31 GMT'],
  ['X-Requested-With', 'XMLHttpRequest'],
  ['X-Request-Id', 'b7e2c1a4-3f5d-4e6a-9b8c-0d1e2f3a4b5c'],
  ['X-Correlation-Id', 'c0ffee00-1234-4abc-8def-0123456789ab'],
  ['X-Forwarded-For', '203.0.113.195, 70.41.3.18, 150.172.238.178'],
  ['X-Forwarded-Proto', 'https'],
  ['X-Forwarded-Host', 'api.example.com'],
  ['X-Forwarded-Port', '443'],
  ['X-Real-IP', '203.0.113.195'],
  ['Forwarded', 'for=203.0.113.195;proto=https;by=10.0.0.1'],
  ['Via', '1.1 varnish, 1.1 edge-proxy-7'],
  ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  ['tracestate', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'],
  ['baggage', 'userId=alice,serverNode=DF%2028,isProduction=false'],
  ['X-B3-TraceId', '80f198ee56343ba864fe8b2a57d3eff7'],
  ['X-B3-SpanId', 'e457b5a2e4d86bd1'],
  ['X-B3-Sampled', '1'],
  ['X-Amzn-Trace-Id', 'Root=1-67891233-abcdef012345678912345678'],
  ['CF-Connecting-IP', '203.0.113.195'],
  ['CF-IPCountry', 'PT'],
  ['CF-Ray', '8a1b2c3d4e5f6789-LIS'],
  ['X-Client-Version', '4.12.3'],
  ['X-Api-Key', 'ak_live_51H8xYzAbCdEfGhIjKlMnOpQr'],
  ['X-CSRF-Token', 'Fq3v9Zx2Lk8Pw1Rt6Yb0Nm4Hs7Jd5Gc'],
  ['X-Timezone', 'Europe/Lisbon'],
  ['X-Device-Id', 'd-7f3e9a21c4b8'],
  ['X-Feature-Flags', 'new-nav,beta-reports,dark-mode'],
  ['Content-Language', 'en-GB'],
  ['TE', 'trailers'],
];
if (fifty.length !== 50) throw new Error(`headers-50 has ${fifty.length} headers`);
const headers50 = enc.encode(head('GET /v2/reports/summary?range=30d&group=week HTTP/1.1', fifty));

// ── chunked-upload ───────────────────────────────────────────────────────────────
const chunkSizes = [512, 512, 700, 300, 512, 512, 600, 448]; // 4096 bytes
const chunkParts = [enc.encode(head('POST /upload/artifacts HTTP/1.1', [
  ['Host', 'uploads.example.com'],
  ['User-Agent', 'conduit-bench/1.0'],
  ['Content-Type', 'application/octet-stream'],
  ['Transfer-Encoding', 'chunked'],
  ['Accept', '*/*'],
]))];
chunkSizes.forEach((size, i) => {
  chunkParts.push(enc.encode(`${size.toString(16)}\r\n`), payload(size, 0x9e3779b9 + i), enc.encode('\r\n'));
});
chunkParts.push(enc.encode('0\r\n\r\n'));
const chunkedUpload = Buffer.concat(chunkParts);

/** @type {Array<{ name: string, description: string, bytes: Uint8Array, messages: number }>} */
export const httpCorpus = [
  {
    name: 'browser-get',
    description: 'Chrome-like navigation GET, 12 headers incl. Cookie, Sec-Fetch-*',
    bytes: browserGet,
    messages: 1,
  },
  {
    name: 'jsonrpc-post',
    description: 'MCP Streamable HTTP POST /mcp with a JSON-RPC tools/call body (Content-Length)',
    bytes: jsonrpcPost,
    messages: 1,
  },
  {
    name: 'pipelined-64',
    description: '64 pipelined small GETs (Host + Accept) in one buffer',
    bytes: pipelined64,
    messages: 64,
  },
  {
    name: 'headers-50',
    description: 'GET with 50 realistic headers (proxy, tracing, client hints, auth)',
    bytes: headers50,
    messages: 1,
  },
  {
    name: 'chunked-upload',
    description: `chunked POST, ${chunkSizes.reduce((a, b) => a + b, 0)} bytes in ${chunkSizes.length} chunks, no trailers`,
    bytes: chunkedUpload,
    messages: 1,
  },
];

export default httpCorpus;
