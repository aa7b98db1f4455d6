// Prebuilt error responses: one per parser Status that is an error, well-formed HTTP/1.1.
import { describe, expect, it } from 'vitest';
import { errorResponseFor, buildErrorResponse } from '../../src/http/error-responses.js';
import { STATUS_INFO, Status } from '../../src/index.js';

function parseResponse(b: Buffer) {
  const text = b.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const [statusLine, ...fields] = text.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(fields.map((f) => {
    const i = f.indexOf(':');
    return [f.slice(0, i).toLowerCase(), f.slice(i + 1).trim()];
  }));
  return { statusLine, headers, body: b.subarray(end + 4) };
}

describe('prebuilt error responses', () => {
  it('exist for every error Status, with the mapped status, Connection: close and an exact Content-Length', () => {
    for (const [code, info] of STATUS_INFO.entries()) {
      const r = errorResponseFor(code);
      if (info.http < 400) {
        expect(r, info.name).toBeUndefined();
        continue;
      }
      const p = parseResponse(r!);
      expect(p.statusLine).toMatch(new RegExp(`^HTTP/1\\.1 ${info.http} [A-Za-z ]+$`));
      expect(p.headers.connection).toBe('close');
      expect(Number(p.headers['content-length'])).toBe(p.body.length);
      expect(p.body.toString()).toContain(info.reason);
    }
  });

  it('are built once (the same buffer every time) and map the statuses the issue names', () => {
    expect(errorResponseFor(Status.BARE_LF)).toBe(errorResponseFor(Status.BARE_LF));
    const line = (s: number) => parseResponse(errorResponseFor(s)!).statusLine;
    expect(line(Status.HEADERS_TOO_LARGE)).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(line(Status.REQUEST_LINE_TOO_LONG)).toBe('HTTP/1.1 414 URI Too Long');
    expect(line(Status.BODY_TOO_LARGE)).toBe('HTTP/1.1 413 Content Too Large');
    expect(line(Status.UNKNOWN_METHOD)).toBe('HTTP/1.1 501 Not Implemented');
    expect(line(Status.UNSUPPORTED_VERSION)).toBe('HTTP/1.1 505 HTTP Version Not Supported');
    expect(parseResponse(buildErrorResponse(404, 'no route')).body.toString()).toBe('404 Not Found: no route\n');
  });
});
