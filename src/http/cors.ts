// A CORS helper (https://fetch.spec.whatwg.org/#http-cors-protocol) as an onRequest hook:
// app.addHook('onRequest', cors({ origin: ['https://app.example'] })).

import type { Handler } from './api.js';

export interface CorsOptions {
  /** Allowed origins: '*' (default), a list, or a predicate. */
  origin?: '*' | string[] | ((origin: string) => boolean);
  /** Methods a preflight allows (default GET, HEAD, PUT, PATCH, POST, DELETE). */
  methods?: string[];
  /** Request headers a preflight allows (default: those the preflight asks for). */
  allowHeaders?: string[];
  /** Response headers the page may read. */
  exposeHeaders?: string[];
  /** Send Access-Control-Allow-Credentials (the origin is then echoed, never '*'). */
  credentials?: boolean;
  /** Preflight cache time, seconds (default 600). */
  maxAge?: number;
}

export function cors(o: CorsOptions = {}): Handler {
  const origin = o.origin ?? '*';
  const allowed = (x: string) => origin === '*' || (Array.isArray(origin) ? origin.includes(x) : origin(x));
  const methods = (o.methods ?? ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE']).join(', ');
  const maxAge = String(o.maxAge ?? 600);
  // When the answer depends on the Origin, every answer says so (Vary), the ones without
  // CORS headers too: a shared cache must not hand one origin's answer to another.
  const varies = origin !== '*' || o.credentials === true;
  return (req, res) => {
    if (varies) res.header('Vary', 'Origin');
    const from = req.header('origin');
    if (from === undefined || !allowed(from)) return;
    res.header('Access-Control-Allow-Origin', origin === '*' && !o.credentials ? '*' : from);
    if (o.credentials) res.header('Access-Control-Allow-Credentials', 'true');
    const wanted = req.header('access-control-request-method');
    if (req.method === 'OPTIONS' && wanted !== undefined) {
      // Preflight: answered here (the route's own OPTIONS, if any, is not run).
      res.header('Access-Control-Allow-Methods', methods);
      const askedHeaders = req.header('access-control-request-headers');
      const headers = o.allowHeaders?.join(', ') ?? askedHeaders;
      if (headers !== undefined && headers !== '') res.header('Access-Control-Allow-Headers', headers);
      res.header('Access-Control-Max-Age', maxAge);
      res.status(204).send();
      return;
    }
    if (o.exposeHeaders !== undefined) res.header('Access-Control-Expose-Headers', o.exposeHeaders.join(', '));
  };
}
