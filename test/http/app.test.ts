// The App, on real sockets, both transports: listen() (names, ports, a port in use) and
// graceful shutdown.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createServer } from '../../src/index.js';
import { TRANSPORTS, srv, useTransport, start, exchangeOpen, statuses } from '../support/server.js';

describe.each(TRANSPORTS)('HTTP app (%s transport)', (t) => {
  useTransport(t);

  it('listen(): a name such as localhost is looked up; a port outside 0..65535 is refused', async () => {
    srv.app = createServer({ transport: srv.transport });
    srv.app.get('/', () => 'here');
    await expect(srv.app.listen({ port: 70000 })).rejects.toThrow(/port must be an integer between 0 and 65535/);
    await expect(srv.app.listen({ port: -1 })).rejects.toMatchObject({ code: 'CONDUIT_ERR_INVALID_OPTION' });
    const { host, port } = await srv.app.listen({ host: 'localhost' });
    const raw = await new Promise<string>((resolve, reject) => {
      let got = '';
      const s = net.connect(port, host, () => s.end('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
      s.on('data', (d) => (got += d));
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    expect(raw).toMatch(/\r\n\r\nhere$/);
  });

  it('a second server on a port in use is refused with EADDRINUSE (no silent port sharing)', async () => {
    const port = await start((a) => a.get('/', () => 'first'));
    const second = createServer({ transport: srv.transport });
    await expect(second.listen({ port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('first');
  });

  it('graceful shutdown: in-flight requests answered, SSE streams ended, new connections refused, deadline enforced', async () => {
    const port = await start((a) => {
      a.get('/slow', () => new Promise((r) => setTimeout(() => r('slow done'), 100)));
      a.get('/events', (_req, res) => { res.sse({ heartbeatMs: 0 }).send({ data: 'hello' }); });
      a.get('/never', () => new Promise(() => {}));
    });
    const sse = exchangeOpen(port, 'GET /events HTTP/1.1\r\nHost: a\r\n\r\n');
    const slow = exchangeOpen(port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
    const never = exchangeOpen(port, 'GET /never HTTP/1.1\r\nHost: a\r\n\r\n');
    await new Promise((r) => setTimeout(r, 30));
    const t0 = Date.now();
    await srv.app!.close({ deadline: 400 });
    const took = Date.now() - t0;
    srv.app = null;
    expect(await slow).toContain('slow done');
    expect(await sse).toContain('data: hello');
    expect(statuses(await never)).toEqual([]); // closed at the deadline, no response
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(2000);
    await expect(new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve('connected'));
      s.on('error', reject);
    })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
