// Bearer-token authentication for the HTTP transports (the MCP authorization spec, OAuth
// 2.1 resource server side): a missing or rejected token is a 401 whose WWW-Authenticate
// points at the RFC 9728 protected-resource metadata, which serveMcp() serves.

import type { Request } from '../../http/api.js';
import { McpAuthError } from './http-common.js';

export interface BearerAuthOptions {
  /**
   * Checks a token: returns what handlers see as ctx.authInfo (e.g. { clientId, scopes }),
   * or null/undefined when the token is not valid. May be async.
   */
  verify(token: string, req: Request): unknown;
  /** URL of the protected-resource metadata (RFC 9728), sent in WWW-Authenticate. */
  resourceMetadataUrl?: string;
  /** Scopes every request needs: authInfo.scopes must include them (else 403 insufficient_scope). */
  requiredScopes?: string[];
}

function challenge(o: BearerAuthOptions, error?: string, description?: string): Record<string, string> {
  const parts: string[] = [];
  if (error !== undefined) parts.push(`error="${error}"`);
  if (description !== undefined) parts.push(`error_description="${description.replace(/["\\]/g, '')}"`);
  if (o.requiredScopes !== undefined && o.requiredScopes.length > 0) parts.push(`scope="${o.requiredScopes.join(' ')}"`);
  if (o.resourceMetadataUrl !== undefined) parts.push(`resource_metadata="${o.resourceMetadataUrl}"`);
  return { 'WWW-Authenticate': parts.length === 0 ? 'Bearer' : `Bearer ${parts.join(', ')}` };
}

/** An authenticate hook for serveMcp / the transports: `Authorization: Bearer <token>`. */
export function bearerAuth(options: BearerAuthOptions): (req: Request) => Promise<unknown> {
  return async (req) => {
    const h = req.header('authorization');
    const m = h === undefined ? null : /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(h);
    if (m === null) throw new McpAuthError('Unauthorized: a bearer token is required', 401, challenge(options));
    const info = await options.verify(m[1], req);
    if (info === null || info === undefined || info === false) {
      throw new McpAuthError('Unauthorized: invalid token', 401, challenge(options, 'invalid_token', 'The access token is invalid or expired'));
    }
    const need = options.requiredScopes;
    if (need !== undefined && need.length > 0) {
      const have = (info as { scopes?: unknown }).scopes;
      if (!Array.isArray(have) || !need.every((s) => have.includes(s))) {
        throw new McpAuthError('Forbidden: insufficient scope', 403, challenge(options, 'insufficient_scope', 'The token lacks a required scope'));
      }
    }
    return info;
  };
}
