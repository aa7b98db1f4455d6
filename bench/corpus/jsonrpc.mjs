// Named corpus of JSON-RPC 2.0 messages for the tokenizer benchmark (and seeds for the
// differential fuzzer, test/fuzz/json-diff.mjs).
//
// The messages are what an MCP client and server exchange over Streamable HTTP
// (MCP specification 2025-06-18: lifecycle, tools/list, tools/call). Each entry:
// { name, description, bytes: Uint8Array, kind, id, method } — kind / id / method are
// the envelope that the benchmark checks every parser against at startup.
//
// Every message is JSON.stringify output (compact, as the MCP SDKs send it), built from
// deterministic data so that sizes do not drift between runs.

const enc = new TextEncoder();
const json = (v) => enc.encode(JSON.stringify(v));

// ── initialize (client → server, the first request of a session) ─────────────────
const initialize = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} },
    clientInfo: { name: 'bench-client', title: 'Benchmark client', version: '1.4.2' },
  },
};

// ── tools/list request ─────────────────────────────────────────────────────────────
const toolsList = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };

// ── tools/call with small arguments ───────────────────────────────────────────────
const toolsCall = {
  jsonrpc: '2.0',
  id: 2,
  method: 'tools/call',
  params: { name: 'get_weather', arguments: { location: 'Lisbon', units: 'metric', days: 3 } },
};

// ── tools/list result: 8 tools with JSON Schema inputs ───────────────────────────
const prop = (type, description, extra = {}) => ({ type, description, ...extra });
const TOOLS = [
  ['get_weather', 'Current weather and a short forecast for a location.',
    { location: prop('string', 'City name, optionally with the country'), units: prop('string', 'Unit system', { enum: ['metric', 'imperial'] }) }, ['location']],
  ['search_files', 'Search the workspace for files whose content matches a regular expression.',
    { pattern: prop('string', 'Regular expression (RE2 syntax)'), path: prop('string', 'Directory to search, relative to the workspace root') }, ['pattern']],
  ['read_file', 'Read a text file from the workspace, with line numbers.',
    { path: prop('string', 'File path, relative to the workspace root'), offset: prop('integer', 'First line to return (1-based)') }, ['path']],
  ['write_file', 'Create or overwrite a text file in the workspace.',
    { path: prop('string', 'File path, relative to the workspace root'), content: prop('string', 'The complete new file contents') }, ['path', 'content']],
  ['run_query', 'Run a read-only SQL query; rows come back as JSON.',
    { sql: prop('string', 'A single SELECT statement'), params: prop('array', 'Positional parameters', { items: {} }) }, ['sql']],
  ['create_issue', 'Open an issue in the project tracker.',
    { title: prop('string', 'One-line summary'), body: prop('string', 'Markdown description') }, ['title']],
  ['translate_text', 'Translate text between languages; the source language is detected when omitted.',
    { text: prop('string', 'Text to translate'), target: prop('string', 'BCP 47 language tag of the result') }, ['text', 'target']],
  ['embed_text', 'Compute a sentence embedding (384 floats) with the server\'s ONNX model.',
    { input: prop('string', 'Text to embed (at most 512 tokens)'), normalize: prop('boolean', 'Return a unit vector', { default: true }) }, ['input']],
];
const toolsListResult = {
  jsonrpc: '2.0',
  id: 1,
  result: {
    tools: TOOLS.map(([name, description, properties, required]) => ({
      name, description, inputSchema: { type: 'object', properties, required },
    })),
  },
};

// ── tools/call with a 64 KB string argument ──────────────────────────────────────
// A text document (source code and prose: newlines, tabs, quotes and some non-ASCII
// UTF-8, so the JSON string has escapes in most 64-byte blocks), cut to 64 KiB of JSON
// text, as an editor agent sends with write_file.
function documentText(target) {
  const lines = [
    'export function fetchForecast(city: string, days = 3): Promise<Forecast> {',
    '\tconst url = `https://api.example.com/v1/forecast?q=${encodeURIComponent(city)}&days=${days}`;',
    '\treturn fetch(url, { headers: { "Accept": "application/json" } }).then((r) => r.json());',
    '}',
    '',
    '// Température moyenne à Lisboa — “mild” winters, 15–17 °C; see the README for units.',
    'The quick brown fox jumps over the lazy dog; naïve café owners say "olá" and ¡hola! 🙂',
    '\t\tif (value === null || value === undefined) throw new TypeError("value is required");',
  ];
  let s = '';
  for (let i = 0; s.length < target; i++) s += `${lines[i % lines.length]} // ${i}\n`;
  return s;
}
/** The largest string whose JSON-escaped UTF-8 form keeps the whole message <= total bytes. */
function fitString(total, make, wrap) {
  const overhead = json(wrap('')).length;
  let text = make(total);
  // Trim from the end until the encoded message fits, then pad with ASCII to the byte.
  while (json(wrap(text)).length > total) text = text.slice(0, text.length - Math.max(1, (json(wrap(text)).length - total) >> 2));
  while (json(wrap(text)).length < total) text += 'x';
  if (json(wrap(text)).length !== total || overhead >= total) throw new Error('fitString: cannot fit');
  return text;
}
const callWith = (name, args) => (text) => ({
  jsonrpc: '2.0', id: 42, method: 'tools/call', params: { name, arguments: { ...args(text) } },
});
const writeFile = callWith('write_file', (content) => ({ path: 'src/forecast.ts', content }));
const bigText = fitString(64 * 1024, documentText, writeFile);

// A base64 blob (an image an MCP client uploads): no escapes, ASCII only.
function base64Text(target) {
  const raw = new Uint8Array(Math.ceil((target * 3) / 4));
  let x = 0x2545f491;
  for (let i = 0; i < raw.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    raw[i] = x & 0xff;
  }
  return Buffer.from(raw).toString('base64').slice(0, target);
}
const uploadImage = callWith('describe_image', (data) => ({ mimeType: 'image/png', data }));
const bigBase64 = fitString(64 * 1024, base64Text, uploadImage);

/** @type {Array<{ name: string, description: string, bytes: Uint8Array, kind: string, id: number, method: string | undefined }>} */
export const jsonrpcCorpus = [
  {
    name: 'initialize',
    description: 'MCP initialize request (protocolVersion, client capabilities, clientInfo)',
    bytes: json(initialize), kind: 'request', id: 0, method: 'initialize',
  },
  {
    name: 'tools-list',
    description: 'MCP tools/list request with empty params',
    bytes: json(toolsList), kind: 'request', id: 1, method: 'tools/list',
  },
  {
    name: 'tools-call',
    description: 'MCP tools/call get_weather with three small arguments',
    bytes: json(toolsCall), kind: 'request', id: 2, method: 'tools/call',
  },
  {
    name: 'tools-list-result',
    description: 'MCP tools/list result: 8 tools with titles, descriptions and JSON Schema inputs',
    bytes: json(toolsListResult), kind: 'response', id: 1, method: undefined,
  },
  {
    name: 'tools-call-64k-text',
    description: 'MCP tools/call write_file with a 64 KiB message: source/prose text (\\n \\t \\" escapes, non-ASCII UTF-8)',
    bytes: json(writeFile(bigText)), kind: 'request', id: 42, method: 'tools/call',
  },
  {
    name: 'tools-call-64k-base64',
    description: 'MCP tools/call with a 64 KiB message: base64 image data (ASCII, no escapes)',
    bytes: json(uploadImage(bigBase64)), kind: 'request', id: 42, method: 'tools/call',
  },
];

export default jsonrpcCorpus;
