// The life of a request once its head (and body, unless the route streams it) has arrived:
// route lookup, the hooks in order, the handler, its return value as the answer, and every
// failure turned into an error answer (fastify's handle-request.js and hooks.js). handle()
// never throws and never rejects: nothing a handler or hook does — on a matched route, a
// 404, a 405, OPTIONS or a bad path — can take the process down.

import { HttpError } from '../errors.js';
import type { Handler, Hooks, Request, Response } from './api.js';
import type { RequestHead } from './parser.js';
import { Req, type BodyReader } from './request.js';
import type { Res } from './response.js';
import type { RouteParams, RouteResult, Router } from './router.js';
import { reasonPhrase } from './status-codes.js';

/** What handle() needs of the app. */
export interface Dispatcher {
  readonly router: Router<Handler>;
  readonly hooks: Hooks;
  /** Handlers of routes added with `{ stream: true }`. */
  readonly streamHandlers: ReadonlySet<Handler>;
  /** Reports a server-side error (never throws). */
  reportError(e: unknown): void;
}

/**
 * A request-target routed: its path (still percent-encoded; '*' for OPTIONS *), its query
 * string, and the lookup's result (null for `*`: the server as a whole).
 */
export interface Routed {
  readonly path: string;
  readonly search: string;
  readonly found: RouteResult<Handler> | null;
}

const NO_PARAMS: RouteParams = Object.freeze({}) as RouteParams;
const ALL_METHODS = 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT';

/** Looks the request up once (the connection asks early for streamed routes and 100 Continue). */
export function lookup(d: Dispatcher, head: RequestHead): Routed {
  let t = head.target;
  if (t.charCodeAt(0) !== 0x2f /* / */) {
    if (t === '*') return { path: '*', search: '', found: null };
    // absolute-form (the parser checked it is http(s)://authority...): its path.
    const slash = t.indexOf('/', t.indexOf('//') + 2);
    t = slash < 0 ? '/' : t.slice(slash);
  }
  const q = t.indexOf('?');
  const path = q < 0 ? t : t.slice(0, q);
  return { path, search: q < 0 ? '' : t.slice(q + 1), found: d.router.find(head.method, path) };
}

/** Whether the request goes to a route that streams its body. */
export function streams(d: Dispatcher, routed: Routed): boolean {
  const f = routed.found;
  return f !== null && f.kind === 'found' && d.streamHandlers.has(f.match.handler);
}

/** Runs hooks in order until one sends a response; resolves when done. */
async function runHooks(hooks: Handler[], req: Request, res: Response): Promise<void> {
  for (const h of hooks) {
    const r = h(req, res);
    if (r instanceof Promise) await r;
    if (res.sent) return;
  }
}

function runOnSend(hooks: Hooks['onSend'], req: Request, res: Response, payload: string | Uint8Array): string | Uint8Array {
  for (const h of hooks) {
    const r = h(req, res, payload);
    if (r !== undefined) payload = r;
  }
  return payload;
}

/**
 * Answers one request on `res`: the hooks, then the route's handler, or 404 / 405 /
 * OPTIONS / 400. Whatever throws or rejects becomes an error answer (crash()).
 */
export function handle(d: Dispatcher, head: RequestHead, routed: Routed, res: Res, body: Uint8Array, reader: BodyReader | null): void {
  const found = routed.found;
  const match = found !== null && found.kind === 'found' ? found.match : null;
  const req = new Req(head, routed.path, routed.search, match?.params ?? NO_PARAMS, match?.route ?? null, body, reader);
  const hooks = d.hooks;
  if (hooks.onSend.length > 0) res.onSend = (payload) => runOnSend(hooks.onSend, req, res, payload);
  try {
    if (hooks.onRequest.length === 0 && hooks.preHandler.length === 0) {
      route(d, found, req, res); // the common case: no hooks, no promise
      return;
    }
    runHooks(hooks.onRequest, req, res)
      .then(() => {
        if (res.sent) return; // a hook answered (short-circuit)
        if (match === null) return route(d, found, req, res);
        return runHooks(hooks.preHandler, req, res).then(() => {
          if (!res.sent) route(d, found, req, res);
        });
      })
      .catch((e) => crash(d, res, e, req));
  } catch (e) {
    crash(d, res, e, req);
  }
}

/** Answers from the route lookup: the handler, or 404 / 405 / OPTIONS / 400. Throws what they throw. */
function route(d: Dispatcher, found: RouteResult<Handler> | null, req: Req, res: Res): void {
  if (found === null) {
    // OPTIONS * (RFC 9110 §9.3.7): about the server as a whole.
    res.status(204).header('Allow', ALL_METHODS).send();
    return;
  }
  if (found.kind !== 'found') {
    if (found.kind === 'method-not-allowed') res.status(405).header('Allow', found.allow.join(', ')).send('Method Not Allowed\n');
    else if (found.kind === 'options') res.status(204).header('Allow', found.allow.join(', ')).send();
    else if (found.kind === 'bad-path') res.status(400).send('Bad Request: malformed percent-encoding in the path\n');
    else res.status(404).send('Not Found\n');
    return;
  }
  // Headers set before this point (by hooks: CORS...) stay on an error answer.
  res.handlerMark = res.headers === null ? 0 : res.headers.length;
  const ret = found.match.handler(req, res);
  if (ret instanceof Promise) {
    // (finish may throw too: a value JSON cannot hold, an onSend hook)
    ret.then((v) => finish(res, v)).catch((e) => crash(d, res, e, req));
  } else {
    finish(res, ret);
  }
}

/** A handler's return value is the response when it did not send one. */
function finish(res: Res, value: unknown): void {
  if (res.sent) return;
  if (value === undefined) res.status(204).send();
  else if (typeof value === 'string' || value instanceof Uint8Array) res.send(value);
  else res.json(value);
}

/**
 * A handler or hook failed: the error answer (HttpError's status, else 500), after the
 * onError hooks had their chance. Never throws: it runs where nothing would catch.
 */
function crash(d: Dispatcher, res: Res, e: unknown, req: Req): void {
  const client = e instanceof HttpError && e.status < 500;
  if (!client) d.reportError(e); // (a client's mistake is not the server's error)
  // A stream the handler started: while its head waits its turn, the error answer takes
  // its place. Once its head is out, it cannot become an error answer: it is cut (no
  // last chunk, so the client can tell), and the connection closes.
  if (res.held !== null) {
    if (res.held.closed) return;
    if (res.held.started) {
      res.keepAlive = false; // (first: ending the stream moves the connection on)
      res.held.abort();
      return;
    }
    res.held.abort();
    res.held = null;
    res.out = null;
  }
  const fallback = () => {
    if (res.sent) return;
    res.dropHandlerHeaders();
    try {
      if (e instanceof HttpError) {
        res.code = e.status;
        res.send(client ? `${e.message}\n` : `${reasonPhrase(e.status) || 'Server Error'}\n`);
      } else {
        res.code = 500;
        res.send('Internal Server Error\n');
      }
    } catch (e2) {
      // An onSend hook failed on the error answer itself: the plain 500, without hooks
      // (send() let go of them before calling them).
      d.reportError(e2);
      if (res.sent) return;
      res.clearHeaders();
      res.code = 500;
      res.send('Internal Server Error\n');
    }
  };
  const onError = d.hooks.onError;
  if (onError.length === 0 || res.sent) {
    fallback();
    return;
  }
  // onError hooks may answer (a custom error response); otherwise the 500.
  runHooks(onError.map((fn) => (q: Request, r: Response) => fn(e, q, r)), req, res).then(fallback, (e2) => {
    d.reportError(e2);
    fallback();
  });
}
