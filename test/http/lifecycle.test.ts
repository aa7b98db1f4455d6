// The life of a request, on real sockets, both transports: routing answers (404, 405,
// OPTIONS), hooks in order, handler errors as answers, cors(); nothing a handler or hook
// does takes the process down.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { cors, HttpError } from '../../src/index.js';
import { TRANSPORTS, srv, useTransport, start, exchange, statuses, until } from '../support/server.js';

describe.each(TRANSPORTS)('HTTP request lifecycle (%s transport)', (t) => {
  useTransport(t);

  it('routes with params, answers 404 and 405 with Allow, and HEAD without a body', async () => {
    const port = await start((a) => {
      a.get('/users/:id', (req) => ({ id: req.params.id, q: req.search }));
      a.post('/users', () => 'created');
    });
    const raw = await exchange(port,
      'GET /users/42?x=1 HTTP/1.1\r\nHost: a\r\n\r\n' +
      'GET /nope HTTP/1.1\r\nHost: a\r\n\r\n' +
      'DELETE /users HTTP/1.1\r\nHost: a\r\n\r\n' +
      'HEAD /users/7 HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(srv.app!.transport).toBe(t);
    expect(statuses(raw)).toEqual([200, 404, 405, 200]);
    expect(raw).toContain('{"id":"42","q":"x=1"}');
    expect(raw).toMatch(/Allow: OPTIONS, POST\r\n/);
    expect(raw.endsWith('\r\n\r\n')).toBe(true); // the HEAD response carries no body
  });

  it('nothing a handler or hook does wrong takes the process down: unserialisable values, failing onSend and onError', async () => {
    const reported: string[] = [];
    const port = await start((a) => {
      a.onError = (e) => {
        reported.push(String(e));
        if (String(e).includes('report me')) throw new Error('the reporter fails too');
      };
      a.addHook('onSend', (req, _res, payload) => {
        if (req.path === '/json-only') return JSON.stringify({ data: JSON.parse(String(payload)) }); // throws on a text payload
      });
      a.get('/bigint', async () => ({ n: 1n }));
      a.get('/circular', () => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      });
      a.get('/json-only', () => {
        throw new Error('report me');
      });
      a.addHook('onError', (e) => {
        if (String(e).includes('bigint')) throw new Error('onError hook fails');
      });
      a.get('/ok', () => 'ok');
    });
    const raw = await exchange(port, ['/bigint', '/circular', '/json-only', '/ok'].map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join(''));
    expect(statuses(raw)).toEqual([500, 500, 500, 200]);
    expect(raw).toMatch(/\r\n\r\nok$/);
    expect(reported.some((r) => /BigInt/.test(r))).toBe(true);
  });

  it('a handler that fails after starting a stream: its head not yet out, a 500 instead; already out, cut and closed', async () => {
    const closed: string[] = [];
    const port = await start((a) => {
      a.get('/slow', () => new Promise((r) => setTimeout(() => r('slow'), 50)));
      a.get('/stream/:n', async (req, res) => {
        const s = res.stream();
        s.onClose(() => closed.push(req.params.n));
        s.write('partial');
        await new Promise((r) => setTimeout(r, 10));
        throw new Error('boom');
      });
      a.get('/next', () => 'next');
    });
    // Behind /slow, the stream's head has not gone out when it fails: it becomes a 500,
    // and the connection goes on.
    const queued = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /stream/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(queued)).toEqual([200, 500, 200]);
    expect(queued).not.toContain('partial');
    // At the front, its head and a chunk are out: the body is cut (no last chunk) and the
    // connection closes, so the client can tell; what was pipelined behind is not answered.
    const cut = await exchange(port, 'GET /stream/2 HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(cut)).toEqual([200]);
    expect(cut).toMatch(/\r\n\r\n7\r\npartial\r\n$/);
    expect(closed.sort()).toEqual(['1', '2']);
  });

  it('a handler that throws gets a 500 and the connection goes on', async () => {
    const errors: unknown[] = [];
    const port = await start((a) => {
      a.onError = (e) => errors.push(e);
      a.get('/boom', () => {
        throw new Error('boom');
      });
      a.get('/ok', () => 'ok');
    });
    const raw = await exchange(port, 'GET /boom HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(raw)).toEqual([500, 200]);
    expect(errors).toHaveLength(1);
  });

  it('hooks run in order, may be async, and short-circuit when one answers; onSend and onError shape the response', async () => {
    const order: string[] = [];
    const port = await start((a) => {
      a.addHook('onRequest', async (req) => {
        order.push(`onRequest ${req.path}`);
        await new Promise((r) => setTimeout(r, 5));
      });
      a.addHook('onRequest', (req, res) => {
        if (req.header('x-block') !== undefined) res.status(403).send('blocked\n');
      });
      a.addHook('preHandler', (req) => {
        order.push(`preHandler ${req.path}`);
      });
      a.addHook('onSend', (_req, res, payload) => {
        res.header('X-Hooked', 'yes');
        return typeof payload === 'string' ? payload.toUpperCase() : payload;
      });
      a.addHook('onError', (err, _req, res) => {
        res.status(503).send(`custom: ${(err as Error).message}`);
      });
      a.get('/hi', () => 'hi');
      a.get('/boom', () => {
        throw new Error('nope');
      });
    });
    const raw = await exchange(port,
      'GET /hi HTTP/1.1\r\nHost: a\r\n\r\n' +
      'GET /hi HTTP/1.1\r\nHost: a\r\nX-Block: 1\r\n\r\n' +
      'GET /boom HTTP/1.1\r\nHost: a\r\n\r\n' +
      'GET /missing HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(statuses(raw)).toEqual([200, 403, 503, 404]);
    expect(raw).toContain('\r\n\r\nHI');
    expect(raw).toContain('BLOCKED');
    expect(raw).toContain('CUSTOM: NOPE');
    expect(raw.match(/X-Hooked: yes/g)).toHaveLength(4);
    // (pipelined requests run their async hooks concurrently; each request's own hooks are in order)
    expect([...order].sort()).toEqual(['onRequest /boom', 'onRequest /hi', 'onRequest /hi', 'onRequest /missing', 'preHandler /boom', 'preHandler /hi']);
    expect(order.indexOf('onRequest /boom')).toBeLessThan(order.indexOf('preHandler /boom'));
    expect(() => srv.app!.addHook('nope' as never, () => {})).toThrow(/unknown hook/);
  });

  it('cors(): preflight answered with the allowed methods and headers; simple requests get the origin; others nothing', async () => {
    const port = await start((a) => {
      a.addHook('onRequest', cors({ origin: ['https://app.example'], credentials: true, exposeHeaders: ['X-Total'] }));
      a.post('/api', () => ({ ok: true }));
    });
    const raw = await exchange(port,
      'OPTIONS /api HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n' +
      'Access-Control-Request-Headers: content-type\r\n\r\n' +
      'POST /api HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\nContent-Length: 0\r\n\r\n' +
      'POST /api HTTP/1.1\r\nHost: a\r\nOrigin: https://evil.example\r\nContent-Length: 0\r\n\r\n');
    const [pre, ok, evil] = raw.split(/(?=HTTP\/1\.1 )/);
    expect(pre).toMatch(/^HTTP\/1\.1 204/);
    expect(pre).toContain('Access-Control-Allow-Origin: https://app.example\r\n');
    expect(pre).toContain('Access-Control-Allow-Methods: GET, HEAD, PUT, PATCH, POST, DELETE\r\n');
    expect(pre).toContain('Access-Control-Allow-Headers: content-type\r\n');
    expect(pre).toContain('Access-Control-Allow-Credentials: true\r\n');
    expect(ok).toMatch(/^HTTP\/1\.1 200/);
    expect(ok).toContain('Access-Control-Expose-Headers: X-Total\r\n');
    expect(ok).toContain('Vary: Origin\r\n');
    expect(evil).toMatch(/^HTTP\/1\.1 200/);
    expect(evil).not.toContain('Access-Control');
    expect(evil).toContain('Vary: Origin\r\n'); // (the answer depends on the Origin: caches must know)
  });

  it('cors(): an error answer keeps the CORS headers (the page can read the error), not the handler\'s', async () => {
    const port = await start((a) => {
      a.addHook('onRequest', cors({ origin: ['https://app.example'] }));
      a.get('/401', (_req, res) => {
        res.header('X-Handler', 'yes');
        throw new HttpError(401, 'sign in');
      });
    });
    const raw = await exchange(port, 'GET /401 HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\nConnection: close\r\n\r\n');
    expect(statuses(raw)).toEqual([401]);
    expect(raw).toContain('Access-Control-Allow-Origin: https://app.example\r\n');
    expect(raw).toContain('Vary: Origin\r\n');
    expect(raw).not.toContain('X-Handler');
  });

  it('cors(): a 500 that takes the place of a stream not yet started keeps the CORS headers too', async () => {
    const port = await start((a) => {
      a.addHook('onRequest', cors({ origin: ['https://app.example'] }));
      a.get('/slow', () => new Promise((r) => setTimeout(() => r('slow'), 50)));
      a.get('/boom', async (_req, res) => {
        res.header('X-Handler', 'yes');
        res.stream().write('partial');
        await new Promise((r) => setTimeout(r, 10));
        throw new Error('boom');
      });
    });
    const raw = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\n\r\n' +
      'GET /boom HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\n\r\n');
    const [, boom] = raw.split(/(?=HTTP\/1\.1 )/);
    expect(boom).toMatch(/^HTTP\/1\.1 500 /);
    expect(boom).toContain('Access-Control-Allow-Origin: https://app.example\r\n');
    expect(boom).toContain('Vary: Origin\r\n');
    expect(boom).not.toContain('X-Handler');
  });

  it('an onSend hook that throws on any answer — 404, 405, OPTIONS, a bad path, OPTIONS * — gets a 500; the process lives on', async () => {
    const reported: unknown[] = [];
    const port = await start((a) => {
      a.onError = (e) => reported.push(e);
      // (no onRequest / preHandler hooks: the answers from the route lookup are given directly)
      a.addHook('onSend', (req) => {
        if (req.path !== '/ok') throw new Error(`onSend fails on ${req.method} ${req.path}`);
      });
      a.get('/only-get/:id', () => 'get');
      a.get('/ok', () => 'ok');
    });
    const raw = await exchange(port, [
      'GET /missing HTTP/1.1', 'DELETE /only-get/1 HTTP/1.1', 'OPTIONS /only-get/1 HTTP/1.1', 'GET /only-get/%zz HTTP/1.1',
      'OPTIONS * HTTP/1.1', 'GET /only-get/1 HTTP/1.1', 'GET /ok HTTP/1.1',
    ].map((l) => `${l}\r\nHost: a\r\n\r\n`).join(''));
    expect(statuses(raw)).toEqual([500, 500, 500, 500, 500, 500, 200]);
    expect(raw).toMatch(/\r\n\r\nok$/);
    expect(reported.map(String)).toEqual([
      'Error: onSend fails on GET /missing', 'Error: onSend fails on DELETE /only-get/1', 'Error: onSend fails on OPTIONS /only-get/1',
      'Error: onSend fails on GET /only-get/%zz', 'Error: onSend fails on OPTIONS *', 'Error: onSend fails on GET /only-get/1',
    ]);
  });

  it('onRequest hooks that throw (sync or async) on a 404 get a 500 too; req.route names the matched pattern', async () => {
    const port = await start((a) => {
      a.addHook('onRequest', (req) => {
        if (req.path === '/sync') throw new Error('sync');
      });
      a.addHook('onRequest', async (req) => {
        if (req.path === '/async') throw new Error('async');
      });
      a.get('/users/:id', (req) => `${req.route} ${req.params.id}`);
      a.get('/route', (req) => String(req.route));
    });
    const raw = await exchange(port, ['/sync', '/async', '/users/7', '/nope'].map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join(''));
    expect(statuses(raw)).toEqual([500, 500, 200, 404]);
    expect(raw).toContain('\r\n\r\n/users/:id 7');
  });

  it('an onClose callback that throws is reported, not thrown into the server', async () => {
    const reported: unknown[] = [];
    let closed = 0;
    const port = await start((a) => {
      a.onError = (e) => reported.push(e);
      a.get('/events', (_req, res) => {
        const s = res.sse({ heartbeatMs: 0 });
        s.onClose(() => {
          closed++;
          throw new Error('onClose fails');
        });
        s.send({ data: 'hi' });
      });
    });
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.write('GET /events HTTP/1.1\r\nHost: a\r\n\r\n'));
        s.on('data', () => s.destroy());
        s.on('close', () => resolve());
      });
    }
    expect(await until(() => closed === 3)).toBe(true);
    expect(reported.map(String)).toEqual(['Error: onClose fails', 'Error: onClose fails', 'Error: onClose fails']);
    expect(await (await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
  });
});
