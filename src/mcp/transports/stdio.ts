// MCP over stdio: newline-delimited JSON-RPC on stdin/stdout. stdout carries nothing but
// JSON-RPC messages (logs go to stderr); a malformed line is answered with -32700 and the
// server reads on; EOF on stdin ends the session.

import { parseJsonRpc } from '../../jsonrpc/parse.js';
import { errorMessage, McpErrorCode, serialise, type OutgoingMessage, type Outbound, type Session, type SessionFactory, type RequestId } from '../protocol.js';

export interface StdioOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Longest line (bytes; default 4 MiB): a longer one is answered with -32600 and skipped. */
  maxLineBytes?: number;
}

export interface StdioServer {
  readonly session: Session;
  /** Resolves when stdin ended (or close() was called) and the session closed. */
  readonly closed: Promise<void>;
  close(): void;
}

const NL = 0x0a;

/** Serves a server (McpServer, or serveSdkServer's adapter) on stdin/stdout (or the streams given). */
export function serveStdio(server: SessionFactory, options: StdioOptions = {}): StdioServer {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const maxLine = options.maxLineBytes ?? 4 * 1024 * 1024;
  let paused = false;
  const write = (m: OutgoingMessage) => {
    if (!output.write(`${serialise(m)}\n`) && !paused) {
      paused = true;
      input.pause();
      output.once('drain', () => {
        paused = false;
        input.resume();
      });
    }
  };
  const out: Outbound = { send: (m: OutgoingMessage, _r: RequestId | undefined) => write(m) };
  const session = server.openSession(undefined, out);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Skipping the rest of a line that was too long. */
  let skipping = false;

  const line = (bytes: Uint8Array) => {
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    let start = 0;
    while (start < end && (bytes[start] === 0x20 || bytes[start] === 0x09)) start++;
    if (start === end) return;
    const r = parseJsonRpc(bytes.subarray(start, end), { maxBytes: maxLine });
    if (!r.ok) {
      write(errorMessage((r.error.id ?? null) as RequestId | null, r.error.code, r.error.message));
      return;
    }
    for (const m of r.messages) session.receive(m);
  };

  const onData = (chunk: Buffer | string) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let from = 0;
    for (;;) {
      const nl = buf.indexOf(NL, from);
      if (nl < 0) break;
      if (skipping) skipping = false;
      else if (pendingBytes === 0) line(buf.subarray(from, nl));
      else {
        pending.push(buf.subarray(from, nl));
        const whole = Buffer.concat(pending, pendingBytes + nl - from);
        pending = [];
        pendingBytes = 0;
        line(whole);
      }
      from = nl + 1;
    }
    if (from < buf.length && !skipping) {
      pendingBytes += buf.length - from;
      pending.push(buf.subarray(from));
      if (pendingBytes > maxLine) {
        pending = [];
        pendingBytes = 0;
        skipping = true;
        write(errorMessage(null, McpErrorCode.InvalidRequest, `Invalid Request: a line longer than ${maxLine} bytes`));
      }
    }
  };

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const close = () => {
    input.removeListener('data', onData);
    session.close('stdin ended');
    resolveClosed();
  };
  input.on('data', onData);
  input.once('end', () => {
    if (pendingBytes > 0 && !skipping) line(Buffer.concat(pending));
    pending = [];
    close();
  });
  input.once('error', close);
  // (the client stopped reading: EPIPE on stdout ends the session rather than the process)
  output.once('error', close);
  return { session, closed, close };
}
