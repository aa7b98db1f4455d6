// The `conduit` command, run as a user runs it (the built bin, as a child process).
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const conduit = (args: string[], input?: string) =>
  spawnSync(process.execPath, [BIN, ...args], { input: input === undefined ? undefined : Buffer.from(input, 'latin1'), encoding: 'utf8' });

describe('conduit CLI', () => {
  it('--version prints the package version', () => {
    const r = conduit(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('--help lists the commands', () => {
    const r = conduit(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('parse');
  });

  it('parse reads a request from stdin and prints it as JSON', () => {
    const r = conduit(['parse'], 'POST /rpc HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ method: 'POST', target: '/rpc', body: '{}', headers: [['Host', 'a'], ['Content-Length', '2']] });
  });

  it('parse reads a file, and names the problem of an invalid request', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-cli-'));
    const file = join(dir, 'req.http');
    writeFileSync(file, 'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n');
    const r = conduit(['parse', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid request: .*CONDUIT_ERR_HTTP_CONTENT_LENGTH_WITH_TE, HTTP 400/);
  });

  it('parse says "incomplete" for a truncated request, and names an unreadable file', () => {
    expect(conduit(['parse'], 'GET / HTTP/1.1\r\n').stderr).toMatch(/incomplete request/);
    const r = conduit(['parse', '/nonexistent/file']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot read \/nonexistent\/file/);
  });

  it('an unknown command is named', () => {
    const r = conduit(['frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
