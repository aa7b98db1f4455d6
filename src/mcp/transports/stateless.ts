// MCP 2026-07-28 on Streamable HTTP: which POSTs belong to the stateless revision, and the
// checks a stateless request passes before it runs (SEP-2575): the envelope in
// params._meta, the protocol version, and the headers that must repeat the body
// (MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Param-*). Each failure is an HTTP
// status and a JSON-RPC error that carries the request's id.

import type { Envelope } from '../../jsonrpc/parse.js';
import { LOG_LEVELS, McpErrorCode } from '../protocol.js';
import { META, STATELESS_VERSION, StatelessErrorCode } from '../mrtr.js';

/** A refusal: the HTTP status and the JSON-RPC error. */
export interface Refusal {
  status: number;
  code: number;
  message: string;
  data?: unknown;
}

/** What a valid stateless request's envelope says. */
export interface StatelessEnvelope {
  protocolVersion: string;
  clientCapabilities: Record<string, unknown>;
  clientInfo: Record<string, unknown> | undefined;
  /** Index into LOG_LEVELS; LOG_LEVELS.length when the request asked for no logs. */
  logLevel: number;
}

/** Methods of the stateless revision this server knows (others, and removed ones: 404). */
export const STATELESS_METHODS = new Set(['server/discover', 'tools/list', 'tools/call', 'resources/list', 'resources/templates/list',
  'resources/read', 'prompts/list', 'prompts/get', 'completion/complete', 'subscriptions/listen', 'tasks/get', 'tasks/update', 'tasks/cancel']);

/** A server that can tell which tool arguments travel in Mcp-Param-* headers too. */
export interface HeaderParams {
  /** [argument, header name] for each property of the tool's inputSchema with "x-mcp-header". */
  headerParams(tool: string): Array<[string, string]>;
}

/**
 * Which path a POST takes: 'stateless' when a message claims the 2026 revision (its
 * params._meta names a protocolVersion) or the MCP-Protocol-Version header names it;
 * 'session' for everything else (initialize, claim-less POSTs, responses, 2025 batches).
 */
export function classify(versionHeader: string | undefined, messages: Envelope[]): 'stateless' | 'session' {
  if (versionHeader === STATELESS_VERSION) return 'stateless';
  for (const m of messages) {
    if (m.kind !== 'request' && m.kind !== 'notification') continue;
    const meta = (m.params as Record<string, unknown> | undefined)?._meta;
    if (meta !== null && typeof meta === 'object' && META.protocolVersion in (meta as object)) return 'stateless';
  }
  return 'session';
}

const envelopeError = (key: string, problem: string): Refusal => ({
  status: 400, code: McpErrorCode.InvalidParams, message: `Invalid params: _meta['${key}'] ${problem}`, data: { envelope: { key, problem } },
});
const headerError = (message: string, header: string): Refusal => ({ status: 400, code: StatelessErrorCode.HeaderMismatch, message: `Header mismatch: ${message}`, data: { header } });

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The envelope of a stateless request, or why it is refused. */
export function envelopeOf(params: Record<string, unknown> | undefined): StatelessEnvelope | Refusal {
  const meta = params?._meta;
  if (!isObject(meta)) return envelopeError(META.protocolVersion, 'is missing (a 2026-07-28 request carries its envelope in params._meta)');
  const version = meta[META.protocolVersion];
  if (typeof version !== 'string' || version === '') return envelopeError(META.protocolVersion, 'is missing or not a string');
  const caps = meta[META.clientCapabilities];
  if (!isObject(caps)) return envelopeError(META.clientCapabilities, caps === undefined ? 'is missing' : 'must be an object');
  const info = meta[META.clientInfo];
  if (info !== undefined && !isObject(info)) return envelopeError(META.clientInfo, 'must be an object');
  const level = meta[META.logLevel];
  let logLevel: number = LOG_LEVELS.length;
  if (level !== undefined) {
    logLevel = LOG_LEVELS.indexOf(level as (typeof LOG_LEVELS)[number]);
    if (logLevel < 0) return envelopeError(META.logLevel, `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return { protocolVersion: version, clientCapabilities: caps, clientInfo: info as Record<string, unknown> | undefined, logLevel };
}

/** The envelope's version, once the headers agree with it: -32022 when this server does not speak it. */
export function checkVersion(version: string, supported: readonly string[]): Refusal | null {
  if (supported.includes(version)) return null;
  return { status: 400, code: StatelessErrorCode.UnsupportedVersion, message: `Unsupported protocol version: ${version}`, data: { supported: [...supported], requested: version } };
}

/** Strict base64 (RFC 4648 §4: the standard alphabet, padded to a multiple of 4). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The value an Mcp-Param-* header stands for: literal, or `=?base64?...?=` (null: not valid base64 / UTF-8). */
function headerValue(v: string): string | null {
  const m = /^=\?base64\?(.*)\?=$/.exec(v);
  if (m === null) return v;
  if (!BASE64.test(m[1])) return null;
  try {
    return utf8.decode(Buffer.from(m[1], 'base64'));
  } catch {
    return null;
  }
}

/**
 * The headers that must repeat the body: null when they do, else the refusal. (Values come
 * as the HTTP parser gives them, OWS already trimmed: RFC 9110 §5.5.)
 */
export function checkHeaders(header: (name: string) => string | undefined, m: Envelope, version: string, tools: HeaderParams | null): Refusal | null {
  const v = header('mcp-protocol-version');
  if (v === undefined) return headerError('MCP-Protocol-Version is required on 2026-07-28 requests', 'MCP-Protocol-Version');
  if (v !== version) return headerError(`MCP-Protocol-Version is ${JSON.stringify(v)}, the body says ${JSON.stringify(version)}`, 'MCP-Protocol-Version');
  const method = m.method as string;
  const hm = header('mcp-method');
  if (hm === undefined) return headerError('Mcp-Method is required', 'Mcp-Method');
  if (hm !== method) return headerError(`Mcp-Method is ${JSON.stringify(hm)}, the body's method is ${JSON.stringify(method)}`, 'Mcp-Method');
  const p = (m.params ?? {}) as Record<string, unknown>;
  const name = method === 'tools/call' || method === 'prompts/get' ? p.name : method === 'resources/read' ? p.uri : method.startsWith('tasks/') ? p.taskId : undefined;
  if (typeof name === 'string') {
    const hn = header('mcp-name');
    if (hn === undefined) return headerError(`Mcp-Name is required for ${method}`, 'Mcp-Name');
    if (hn !== name) return headerError(`Mcp-Name is ${JSON.stringify(hn)}, the body says ${JSON.stringify(name)}`, 'Mcp-Name');
  }
  if (method === 'tools/call' && typeof p.name === 'string' && tools !== null) {
    const args = isObject(p.arguments) ? p.arguments : {};
    for (const [arg, hname] of tools.headerParams(p.name)) {
      const h = `Mcp-Param-${hname}`;
      const raw = header(h.toLowerCase());
      const value = args[arg];
      if (value === undefined || value === null) {
        if (raw !== undefined) return headerError(`${h} is set but argument '${arg}' is not`, h);
        continue;
      }
      if (raw === undefined) return headerError(`${h} is required (argument '${arg}')`, h);
      const decoded = headerValue(raw);
      const want = typeof value === 'string' ? value : JSON.stringify(value);
      if (decoded !== want) return headerError(`${h} does not match argument '${arg}'`, h);
    }
  }
  return null;
}
