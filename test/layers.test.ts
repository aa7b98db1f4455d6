// Imports under src/ point one way: down the layers below (app → connection → lifecycle →
// request | response | streams → net), and nothing imports the CLI. Type-only imports
// count too. A new file must be given its place here.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../src/', import.meta.url).pathname;

/** The layers, lowest first: a file may import only files of lower layers. */
const LAYERS: string[][] = [
  ['wasm/abi.generated.ts'],
  ['errors.ts', 'wasm/text.ts'],
  ['wasm/pool.ts'],
  ['wasm/loader.ts'],
  ['wasm/leases.ts', 'wasm/node-fs.ts'],
  ['jsonrpc/parse.ts', 'sse/framer.ts', 'sse/decoder.ts', 'net/native.ts', 'net/wire.ts'],
  ['jsonrpc/encode.ts'],
  ['net/net-wire.ts', 'net/native-wire.ts'],
  ['http/tokens.ts', 'http/status-codes.ts', 'http/parser.ts'],
  ['http/error-responses.ts', 'http/router.ts', 'http/parse-request.ts'],
  ['core.ts'],
  ['http/api.ts'],
  ['http/request.ts', 'http/streams.ts', 'http/cors.ts'],
  ['http/response.ts'],
  ['http/lifecycle.ts'],
  ['http/connection.ts'],
  ['http/app.ts'],
  ['ml/onnx-writer.ts', 'ml/model.ts'],
  ['ml/batcher.ts', 'ml/registry.ts', 'ml/wire-tensors.ts', 'ml/tensor-json.ts'],
  ['ml/inference-worker.ts'],
  ['ml/inference.ts'],
  ['ml/http.ts'],
  ['mcp/keyed.ts'],
  ['mcp/protocol.ts', 'mcp/schema.ts', 'mcp/uri-template.ts', 'mcp/stores/notifications.ts', 'mcp/stores/sessions.ts', 'mcp/stores/events.ts', 'mcp/stores/tasks.ts'],
  ['mcp/mrtr.ts'],
  ['mcp/server.ts', 'mcp/sdk-adapter.ts'],
  ['mcp/transports/http-common.ts', 'mcp/transports/stdio.ts', 'mcp/transports/stateless.ts'],
  ['mcp/transports/streamable-http.ts', 'mcp/transports/legacy-sse.ts', 'mcp/transports/auth.ts'],
  ['mcp/serve.ts'],
  ['app/demo-mcp.ts', 'app/model-tools.ts'],
  ['app/load.ts'],
  ['workers/messages.ts'],
  ['workers/mcp-relay.ts', 'workers/inference-link.ts'],
  ['workers/instance.ts', 'workers/supervisor.ts'],
  ['workers/worker.ts', 'workers/process.ts'],
  ['cli/serve.ts'],
  ['cli/main.ts'],
  ['index.ts'],
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** The src/ files a source imports (static, re-exports and dynamic imports of relative paths). */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    const spec = (m[1] ?? m[2]).replace(/\.js$/, '.ts');
    out.push(posix.normalize(posix.join(posix.dirname(file), spec)));
  }
  return out;
}

describe('src/ layering', () => {
  const layer = new Map<string, number>();
  LAYERS.forEach((files, i) => files.forEach((f) => layer.set(f, i)));
  const files = sources(SRC).map((f) => relative(SRC, f).split('\\').join('/'));

  it('places every source file in a layer', () => {
    expect(files.filter((f) => !layer.has(f))).toEqual([]);
    expect([...layer.keys()].filter((f) => !files.includes(f))).toEqual([]); // (no stale entries)
  });

  it('imports point down the layers only, and nothing outside the CLI imports it', () => {
    const wrong: string[] = [];
    for (const f of files) {
      for (const to of importsOf(f, readFileSync(join(SRC, f), 'utf8'))) {
        if (!layer.has(to)) wrong.push(`${f} imports ${to}, which is not a source file`);
        else if (layer.get(to)! >= layer.get(f)!) wrong.push(`${f} (layer ${layer.get(f)}) imports ${to} (layer ${layer.get(to)})`);
        if (to.startsWith('cli/') && !f.startsWith('cli/')) wrong.push(`${f} imports the CLI (${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('MCP: protocol and server know nothing of HTTP; only the HTTP transports import the HTTP API, and nothing else of http/', () => {
    const wrong: string[] = [];
    for (const f of files.filter((x) => x.startsWith('mcp/'))) {
      for (const to of importsOf(f, readFileSync(join(SRC, f), 'utf8'))) {
        if (!to.startsWith('http/') && !to.startsWith('net/')) continue;
        const httpTransport = /^mcp\/transports\/(streamable-http|legacy-sse|http-common|auth)\.ts$/.test(f);
        if (!httpTransport || to !== 'http/api.ts') wrong.push(`${f} imports ${to}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('reads static, re-exported and dynamic imports of relative paths', () => {
    expect(importsOf('http/request.ts', "import type { Wire } from '../net/wire.js';\nimport { x } from './app.js';")).toEqual(['net/wire.ts', 'http/app.ts']);
    expect(importsOf('cli/main.ts', "const m = await import('./serve.js');\nexport { y } from '../index.js';")).toEqual(['cli/serve.ts', 'index.ts']);
  });
});
