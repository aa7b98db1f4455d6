// What the two HTTP transports share: the guard every MCP request passes (Host against
// DNS rebinding, Origin, the authenticate hook), reading a body under its own limit (413
// before reading when Content-Length is too large), parsing it with the WASM tokenizer,
// and JSON-RPC error answers.

import type { Handler, Request, Response, RouteOptions } from '../../http/api.js';
import { parseJsonRpc, type Envelope, type JsonRpcParseResult } from '../../jsonrpc/parse.js';

/** What the transports need of an App (createServer()): adding routes. */
export interface RouteTarget {
  route(method: string | string[], pattern: string, handler: Handler, options?: RouteOptions): unknown;
}

/**
 * Routes requests for sessions another process owns (worker instances): `forward` sends
 * the exchange to the session's owner and resolves once the answer has started; it
 * returns null when this process owns the session (or no other process does).
 */
export interface SessionRouter {
  forward(sessionId: string, req: Request, res: Response, body: Uint8Array | null): Promise<void> | null;
}

/** Thrown by an authenticate hook to answer with a status and headers (401 by default). */
export class McpAuthError extends Error {
  constructor(message: string, readonly status = 401, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'McpAuthError';
  }
}

export interface HttpGuardOptions {
  /**
   * Host header values (name[:port]) accepted, against DNS rebinding. Default: loopback
   * names (localhost, 127.0.0.1, [::1], any port). '*' accepts any host (a server bound
   * to a public address behind its own checks).
   */
  allowedHosts?: string[] | '*';
  /** Origin values accepted (scheme://host[:port]). Default: loopback origins; '*' any. A request without Origin is accepted. */
  allowedOrigins?: string[] | '*';
  /**
   * Authenticates a request: returns what handlers see as ctx.authInfo, or throws (a
   * McpAuthError sets status and headers; anything else is a 401).
   */
  authenticate?: (req: Request) => unknown;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const NO_AUTH = { info: undefined };

function hostName(host: string): string {
  // [v6]:port, name:port, name
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}

export class HttpGuard {
  private readonly hosts: Set<string> | null;
  private readonly origins: Set<string> | null;
  readonly authenticate: ((req: Request) => unknown) | undefined;

  constructor(options: HttpGuardOptions) {
    const h = options.allowedHosts;
    this.hosts = h === '*' ? null : new Set((h ?? []).map((x) => x.toLowerCase()));
    const o = options.allowedOrigins;
    this.origins = o === '*' ? null : new Set((o ?? []).map((x) => x.toLowerCase()));
    this.useLoopback = h === undefined;
    this.useLoopbackOrigins = o === undefined;
    this.authenticate = options.authenticate;
  }
  private readonly useLoopback: boolean;
  private readonly useLoopbackOrigins: boolean;

  /** Checks Host and Origin; answers 403 / 421 and returns false when refused. */
  check(req: Request, res: Response): boolean {
    if (this.hosts !== null) {
      const host = req.header('host');
      const ok = host !== undefined && (this.useLoopback ? LOOPBACK.has(hostName(host)) : this.hosts.has(host.toLowerCase()) || this.hosts.has(hostName(host)));
      if (!ok) {
        rpcError(res, 403, null, -32000, `Forbidden: Host ${host === undefined ? '(none)' : JSON.stringify(host)} is not allowed`);
        return false;
      }
    }
    const origin = req.header('origin');
    if (origin !== undefined && this.origins !== null) {
      let ok: boolean;
      if (this.useLoopbackOrigins) {
        try {
          ok = LOOPBACK.has(hostName(new URL(origin).host));
        } catch {
          ok = false;
        }
      } else ok = this.origins.has(origin.toLowerCase());
      if (!ok) {
        rpcError(res, 403, null, -32000, `Forbidden: Origin ${JSON.stringify(origin)} is not allowed`);
        return false;
      }
    }
    return true;
  }

  /**
   * Host and Origin, then the authenticate hook: `{ info }` (the authInfo), or undefined
   * once refused (403, 401...). Every MCP route starts with it.
   */
  async admit(req: Request, res: Response): Promise<{ info: unknown } | undefined> {
    if (!this.check(req, res)) return undefined;
    return this.authenticate === undefined ? NO_AUTH : this.auth(req, res);
  }

  /** Runs the authenticate hook: the authInfo, or undefined after answering 401/403. */
  async auth(req: Request, res: Response): Promise<{ info: unknown } | undefined> {
    if (this.authenticate === undefined) return { info: undefined };
    try {
      return { info: await this.authenticate(req) };
    } catch (e) {
      const status = e instanceof McpAuthError ? e.status : 401;
      if (e instanceof McpAuthError) for (const [k, v] of Object.entries(e.headers)) res.header(k, v);
      rpcError(res, status, null, -32000, e instanceof Error ? e.message : 'Unauthorized');
      return undefined;
    }
  }
}

/** Answers with a JSON-RPC error object at an HTTP status. */
export function rpcError(res: Response, status: number, id: unknown, code: number, message: string, data?: unknown): void {
  if (res.sent) return;
  const error = data === undefined ? { code, message } : { code, message, data };
  res.status(status).header('Content-Type', 'application/json').send(JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error }));
}

/** Whether an Accept header lists a media type (or a wildcard that covers it). */
export function accepts(accept: string | undefined, type: string): boolean {
  if (accept === undefined) return false;
  const slash = type.indexOf('/');
  const major = type.slice(0, slash);
  for (const part of accept.split(',')) {
    const t = part.split(';', 1)[0].trim().toLowerCase();
    if (t === type || t === '*/*' || t === `${major}/*`) return true;
  }
  return false;
}

let lastAccept = '';
let lastBoth = false;

/** Whether an Accept header lists both application/json and text/event-stream (the last answer is kept: clients send the same one every time). */
export function acceptsJsonAndSse(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  if (accept === lastAccept) return lastBoth;
  const both = accepts(accept, 'application/json') && accepts(accept, 'text/event-stream');
  lastAccept = accept;
  lastBoth = both;
  return both;
}

/** Whether a Content-Type is application/json (parameters allowed). */
export function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (contentType === 'application/json') return true;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/json';
}

/**
 * Reads a body of at most `max` bytes (the route streams its body): answers 413 before
 * reading when Content-Length says more, or as soon as more arrives. Null once answered.
 */
export async function readBody(req: Request, res: Response, max: number): Promise<Uint8Array | null> {
  try {
    return await req.bytes(max);
  } catch (e) {
    if ((e as { status?: number }).status === 413) {
      rpcError(res, 413, null, -32600, `Invalid Request: the body is larger than ${max} bytes`);
    }
    return null; // (else the connection failed: the server answers what it can)
  }
}

/** A POST's JSON body: 415 for another Content-Type, 413 past `max`; null once answered. */
export async function jsonBody(req: Request, res: Response, max: number): Promise<Uint8Array | null> {
  if (!isJson(req.header('content-type'))) {
    rpcError(res, 415, null, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    return null;
  }
  return readBody(req, res, max);
}

/** Parses a POST body; answers the parse error (400, with keep-alive) and returns null. */
export function parseBody(body: Uint8Array, res: Response): (JsonRpcParseResult & { ok: true }) | null {
  const r = parseJsonRpc(body, { maxBytes: Number.MAX_SAFE_INTEGER });
  if (!r.ok) {
    rpcError(res, 400, r.error.id ?? null, r.error.code, r.error.message);
    return null;
  }
  return r;
}

export type { Envelope };
