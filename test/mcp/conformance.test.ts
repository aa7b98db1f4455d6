// The official MCP conformance suite against `conduit serve --config test/mcp/conformance-app.ts`,
// as a user runs it: 0.1.16 `server --suite all`, and 0.2.0-alpha.12 `--suite all
// --spec-version 2025-11-25` (which also checks every message against the 2025-11-25 JSON
// schema). Every check must pass; warnings are reported. The suite's CLI needs Node 22's
// fs.globSync at import time: support/globsync-shim.mjs provides the export on Node 20.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'dist/cli/main.js');
const SHIM = join(ROOT, 'test/mcp/support/globsync-shim.mjs');
const NEXT = join(ROOT, 'node_modules/mcp-conformance-next/dist/index.js');
const SUITES = [
  ['0.1.16', join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js'), ['--suite', 'all']],
  ['0.2.0-alpha.12', NEXT, ['--suite', 'all', '--spec-version', '2025-11-25']],
] as const;

let server: ChildProcess;
let url = '';

beforeAll(async () => {
  server = spawn(process.execPath, [BIN, 'serve', '--config', join(ROOT, 'test/mcp/conformance-app.ts'), '--port', '0', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      // (the suite's DNS-rebinding checks need a localhost URL)
      if (m) resolve(`http://localhost:${m[1]}/mcp`);
    });
    server.on('exit', (code) => reject(new Error(`conduit serve exited ${code}: ${out}`)));
  });
});
afterAll(() => {
  server?.kill('SIGKILL');
});

/** Every check result the suite wrote (checks.json files under dir), with the scenario's directory. */
function checks(dir: string): Array<{ id: string; status: string; scenario: string; description?: string; errorMessage?: string }> {
  const out: Array<{ id: string; status: string; scenario: string }> = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...checks(p));
    else if (e === 'checks.json') out.push(...(JSON.parse(readFileSync(p, 'utf8')) as Array<{ id: string; status: string }>).map((c) => ({ ...c, scenario: dir.split('/').pop()! })));
  }
  return out;
}

function run(cli: string, args: readonly string[], outDir: string): Promise<{ code: number | null; text: string }> {
  const child = spawn(process.execPath, ['--import', SHIM, cli, 'server', '--url', url, ...args, '-o', outDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  return new Promise((r) => child.on('exit', (code) => r({ code, text })));
}

describe('MCP conformance suite (@modelcontextprotocol/conformance)', () => {
  it.each(SUITES)('%s: every scenario passes, 0 failures', async (_v, cli, args) => {
    const outDir = mkdtempSync(join(tmpdir(), 'conduit-conformance-'));
    try {
      const { code, text } = await run(cli, args, outDir);
      const results = checks(outDir);
      const failed = results.filter((c) => c.status === 'FAILURE');
      const warned = results.filter((c) => c.status === 'WARNING');
      if (warned.length > 0) console.warn(`conformance warnings: ${warned.map((c) => c.id).join(', ')}`);
      expect(failed, text.slice(-4000)).toEqual([]);
      expect(code, text.slice(-4000)).toBe(0);
      expect(text).toMatch(/Total: \d+ passed, 0 failed/);
      expect(results.filter((c) => c.status === 'SUCCESS').length).toBeGreaterThan(40);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 120_000);

  // The stateless revision on the same endpoint: exactly the scenarios 2026-07-28 requires
  // (all 37 scored), plus what the suite runs unscored (the pending ones and the tasks
  // extension's 10): every one passes.
  it('0.2.0-alpha.12 --requirements 2026-07-28: every scenario passes, the tasks extension included', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'conduit-conformance-2026-'));
    try {
      const { text } = await run(NEXT, ['--requirements', '2026-07-28'], outDir);
      const results = checks(outDir);
      const failed = results.filter((c) => c.status === 'FAILURE');
      expect(failed, text.slice(-4000)).toEqual([]);
      expect(text).toMatch(/Running requirements 2026-07-28 \(50 scenarios\)/);
      expect(text).toMatch(/Total: \d+ passed, 0 failed/);
      const scenarios = new Set(results.map((c) => c.scenario.replace(/-\d{4}-\d\d-\d\dT.*$/, '')));
      expect(scenarios.size).toBe(50);
      expect(results.filter((c) => c.status === 'SUCCESS').length).toBeGreaterThan(180);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 120_000);
});
