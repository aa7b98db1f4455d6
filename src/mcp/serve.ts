// serveMcp(): an MCP server on an App in one call — Streamable HTTP at /mcp, the legacy
// HTTP+SSE transport at /sse + /messages, and (with `oauth`) the RFC 9728 protected-
// resource metadata at /.well-known/oauth-protected-resource.

import type { SessionFactory } from './protocol.js';
import { LegacySse, type LegacySseOptions } from './transports/legacy-sse.js';
import { StreamableHttp, type StreamableHttpOptions } from './transports/streamable-http.js';
import type { RouteTarget } from './transports/http-common.js';

export interface ProtectedResourceMetadata {
  /** The resource identifier (this server's MCP URL). */
  resource: string;
  authorization_servers: string[];
  scopes_supported?: string[];
  bearer_methods_supported?: string[];
  resource_documentation?: string;
  [k: string]: unknown;
}

export interface ServeMcpOptions extends StreamableHttpOptions {
  /** The legacy HTTP+SSE transport (2024-11-05) too: true (default), false, or its options. */
  legacySse?: boolean | LegacySseOptions;
  /** Serve this at /.well-known/oauth-protected-resource (and under the endpoint's path). */
  oauth?: ProtectedResourceMetadata;
}

export interface McpEndpoints {
  readonly streamable: StreamableHttp;
  readonly legacy: LegacySse | null;
  /** Ends every session. */
  close(): void;
}

/** Serves `server` on an App (createServer()): see ServeMcpOptions. */
export function serveMcp(app: RouteTarget, server: SessionFactory, options: ServeMcpOptions = {}): McpEndpoints {
  const { legacySse = true, oauth, ...rest } = options;
  // (tasks made here carry the prefix too: tasks/* for another process's task are forwarded to it)
  if (rest.sessionIdPrefix !== undefined && 'taskIdPrefix' in server) (server as { taskIdPrefix: string }).taskIdPrefix = rest.sessionIdPrefix;
  const streamable = new StreamableHttp(server, rest).mount(app);
  let legacy: LegacySse | null = null;
  if (legacySse !== false) {
    const lo: LegacySseOptions = {
      allowedHosts: rest.allowedHosts, allowedOrigins: rest.allowedOrigins, authenticate: rest.authenticate, maxBodyBytes: rest.maxBodyBytes,
      heartbeatMs: rest.heartbeatMs, sessionIdPrefix: rest.sessionIdPrefix, router: rest.router, ...(legacySse === true ? {} : legacySse),
    };
    legacy = new LegacySse(server, lo).mount(app);
  }
  if (oauth !== undefined) {
    const body = JSON.stringify(oauth);
    const send = (_req: unknown, res: { header(n: string, v: string): { send(b: string): void } }) => res.header('Content-Type', 'application/json').send(body);
    app.route('GET', '/.well-known/oauth-protected-resource', send);
    app.route('GET', `/.well-known/oauth-protected-resource${streamable.path}`, send);
  }
  return {
    streamable,
    legacy,
    close() {
      streamable.close();
      legacy?.close();
    },
  };
}
