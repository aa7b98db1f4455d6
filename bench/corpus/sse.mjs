// Named corpus of SSE events for bench/sse.bench.mjs. Each entry: { name, description,
// event: { data, id?, event? } }. The payloads are what an MCP server streams over
// Streamable HTTP: JSON-RPC messages (JSON.stringify output: one line), and a large
// pretty-printed result (many lines). Deterministic: no randomness, no dates.

/** An MCP progress notification, as a server sends it while a tool runs (~200 B). */
const notification = JSON.stringify({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { progressToken: 'tok-7f3a9c2e-41d8', progress: 42, total: 100, message: 'Embedding batch 42 of 100 (café → ok)' },
});

/** A tools/call result with a text content block: search hits with some non-ASCII (~2 KB). */
function toolResult(hits) {
  const lines = [];
  for (let i = 0; i < hits; i++) {
    lines.push(`${i + 1}. Résumé parsing — section ${i} of the “Conduit” handbook: streaming, zero-copy, SIMD ✓`);
  }
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 17,
    result: { content: [{ type: 'text', text: lines.join('\n') }], isError: false },
  });
}

/** A ~64 KB pretty-printed JSON document (a resource read): ~4,300 lines of 2-30 bytes. */
function prettyDocument(rows) {
  const items = [];
  for (let i = 0; i < rows; i++) {
    items.push({ id: i, name: `row-${i}`, score: (i * 7919) % 1000 / 10, tags: ['alpha', 'beta'], ok: i % 3 !== 0 });
  }
  return JSON.stringify({ uri: 'file:///data/table.json', mimeType: 'application/json', items }, null, 2);
}

export const sseCorpus = [
  {
    name: 'notification-200b',
    description: 'MCP notifications/progress JSON-RPC message, one line, id + event',
    event: { id: '1042', event: 'message', data: notification },
  },
  {
    name: 'tool-result-2k',
    description: 'JSON-RPC tools/call result (text block with non-ASCII), one line',
    event: { id: '1043', event: 'message', data: toolResult(18) },
  },
  {
    name: 'document-64k',
    description: 'pretty-printed JSON resource, ~64 KB in ~4,300 LF-separated lines',
    event: { id: '1044', data: prettyDocument(430) },
  },
];
