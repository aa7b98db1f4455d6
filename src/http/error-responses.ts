// Prebuilt HTTP error responses (uWebSockets' HttpErrors.h is the model): after a framing
// error the server writes one of these, unchanged, and closes the connection. Built
// once per process, indexed by the parser's Status; no formatting on the error path.

import { STATUS_INFO } from '../wasm/abi.generated.js';
import { reasonPhrase } from './status-codes.js';

/** "HTTP/1.1 <status> <phrase>" response with a short text body; the connection closes after it. */
export function buildErrorResponse(status: number, detail: string): Buffer {
  const phrase = reasonPhrase(status);
  const body = Buffer.from(`${status} ${phrase}: ${detail}\n`, 'utf8');
  const head = `HTTP/1.1 ${status} ${phrase}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

let byStatus: Buffer[] | undefined;

/** The prebuilt response for a parser Status (see STATUS_INFO), or undefined for non-errors. */
export function errorResponseFor(parserStatus: number): Buffer | undefined {
  if (byStatus === undefined) {
    byStatus = STATUS_INFO.map((s) => (s.http >= 400 ? buildErrorResponse(s.http, s.reason) : Buffer.alloc(0)));
  }
  const r = byStatus[parserStatus];
  return r === undefined || r.length === 0 ? undefined : r;
}
