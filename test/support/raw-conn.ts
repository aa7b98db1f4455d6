// A raw HTTP/1.1 client on one keep-alive connection (test/mcp suites, 127.0.0.1): writes
// bytes as given and reads responses as they arrive (Content-Length or chunked), so tests can
// send what no well-behaved client would and still check each answer's framing.
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export class RawConn {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  closed = false;

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    sock.on('error', () => {});
  }

  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawConn(s)));
      s.once('error', reject);
    });
  }

  private async more(deadline: number): Promise<void> {
    if (this.closed) throw new Error(`connection closed; unparsed ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out reading; have ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }

  private async line(deadline: number): Promise<string> {
    let i: number;
    while ((i = this.buf.indexOf('\r\n')) < 0) await this.more(deadline);
    const l = this.buf.subarray(0, i).toString('latin1');
    this.buf = this.buf.subarray(i + 2);
    return l;
  }

  private async take(n: number, deadline: number): Promise<Buffer> {
    while (this.buf.length < n) await this.more(deadline);
    const b = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return b;
  }

  /** The next whole response (Content-Length or chunked). */
  async read(ms = 5000): Promise<RawResponse> {
    const deadline = Date.now() + ms;
    const statusLine = await this.line(deadline);
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
    if (m === null) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (;;) {
      const l = await this.line(deadline);
      if (l === '') break;
      const c = l.indexOf(':');
      const k = l.slice(0, c).toLowerCase();
      const v = l.slice(c + 1).trim();
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    let body: Buffer;
    if ((headers['transfer-encoding'] ?? '').toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const size = await this.line(deadline);
        if (!/^[0-9a-fA-F]+$/.test(size)) throw new Error(`bad chunk size ${JSON.stringify(size)}`);
        const n = parseInt(size, 16);
        if (n === 0) {
          await this.line(deadline);
          break;
        }
        parts.push(await this.take(n, deadline));
        if ((await this.line(deadline)) !== '') throw new Error('chunk without CRLF');
      }
      body = Buffer.concat(parts);
    } else body = await this.take(Number(headers['content-length'] ?? 0), deadline);
    return { status: Number(m[1]), headers, body };
  }

  write(b: Buffer | string): void {
    this.sock.write(b);
  }

  /** write(), settled when the socket has taken the bytes (a write error rejects). */
  send(b: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.sock.write(b, (e) => (e ? reject(e) : resolve())));
  }

  async request(raw: Buffer, ms = 5000): Promise<RawResponse> {
    this.write(raw);
    return this.read(ms);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Bytes of one request; headers in order, repeats allowed. */
export function rawRequest(method: string, path: string, headers: Array<[string, string]>, body?: Buffer | string): Buffer {
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const hs: Array<[string, string]> = [['Host', '127.0.0.1'], ...headers];
  if (b !== undefined) hs.push(['Content-Length', String(b.length)]);
  const head = `${method} ${path} HTTP/1.1\r\n${hs.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  return b === undefined ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), b]);
}
