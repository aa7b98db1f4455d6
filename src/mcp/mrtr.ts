// MCP 2026-07-28 (stateless) on the protocol side: the revision's constants, and
// multi-round-trip input (SEP-2322). A 2026 request cannot be sent server→client requests
// (there is no session), so a handler's ctx.elicit / ctx.sample / ctx.listRoots are
// answered by the client in later rounds: the first round ends with
// `{resultType: "input_required", inputRequests: {key: {method, params}}, requestState}`,
// and the client sends the same request again with `inputResponses` and the
// `requestState`. The handler runs again from the start; what it asks for that is now
// answered resolves at once, what is not is asked again. The same handler code serves a
// 2025 session, where those calls are real requests to the client.
//
// requestState is sealed (HMAC-SHA256, key from the options or made at start) and
// carries the answers of earlier rounds, the keys asked in the last one, the method and
// target it belongs to, and an expiry: a tampered, expired or foreign one is refused
// (-32602, data.reason "invalid_request_state").

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { McpError, McpErrorCode } from './protocol.js';

export const STATELESS_VERSION = '2026-07-28';

/** 2026-07-28 error codes. */
export const StatelessErrorCode = {
  /** A header does not match the body, or is missing (HTTP 400). */
  HeaderMismatch: -32020,
  /** The handler needs an input kind the request's clientCapabilities do not declare (HTTP 400). */
  MissingCapability: -32021,
  /** The envelope's protocolVersion is not one this server speaks (HTTP 400). */
  UnsupportedVersion: -32022,
} as const;

/** The `_meta` keys of the 2026 envelope and results. */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;

/** Methods that may answer input_required (SEP-2322). */
export const INPUT_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read']);

export interface SealOptions {
  /** HMAC key (≥ 32 bytes). Default: random, made at start (states do not survive a restart). */
  key?: Uint8Array;
  /** How long a requestState is good for (ms; default 10 minutes). */
  ttlMs?: number;
}

/** What a requestState holds. */
interface State {
  v: 1;
  /** Method and target (tool or prompt name, resource URI) it belongs to. */
  m: string;
  t: string;
  /** Answers so far, by key. */
  r: Record<string, unknown>;
  /** Keys asked in the last round. */
  q: string[];
  /** Expiry, ms since the epoch. */
  e: number;
}

const invalidState = (why: string) => new McpError(McpErrorCode.InvalidParams, `Invalid params: requestState is ${why}`, { reason: 'invalid_request_state' });

/** Seals and opens requestStates. */
export class StateSeal {
  private readonly key: Uint8Array;
  readonly ttlMs: number;
  constructor(options: SealOptions = {}) {
    this.key = options.key ?? randomBytes(32);
    if (this.key.length < 32) throw new McpError(McpErrorCode.InternalError, 'requestState key must be at least 32 bytes');
    this.ttlMs = options.ttlMs ?? 600_000;
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.key).update(body).digest();
  }

  seal(method: string, target: string, answers: Record<string, unknown>, asked: string[]): string {
    const s: State = { v: 1, m: method, t: target, r: answers, q: asked, e: Date.now() + this.ttlMs };
    const body = Buffer.from(JSON.stringify(s)).toString('base64url');
    return `${body}.${this.mac(body).toString('base64url')}`;
  }

  /** The answers and asked keys of a state made for this method and target; throws -32602 otherwise. */
  open(state: unknown, method: string, target: string): { answers: Record<string, unknown>; asked: string[] } {
    if (typeof state !== 'string' || state.length > 1 << 20) throw invalidState('not a state this server made');
    const dot = state.indexOf('.');
    if (dot <= 0) throw invalidState('not a state this server made');
    const body = state.slice(0, dot);
    const got = Buffer.from(state.slice(dot + 1), 'base64url');
    const want = this.mac(body);
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw invalidState('tampered with, or not this server’s');
    let s: State;
    try {
      s = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as State;
    } catch {
      throw invalidState('not a state this server made');
    }
    if (s.v !== 1 || typeof s.e !== 'number' || s.r === null || typeof s.r !== 'object' || !Array.isArray(s.q)) throw invalidState('not a state this server made');
    if (s.e < Date.now()) throw invalidState('expired');
    if (s.m !== method || s.t !== target) throw invalidState(`for another request (${s.m} ${s.t})`);
    return { answers: s.r, asked: s.q };
  }
}

/** How each input kind's answer must look (a malformed one is an error, not a retry). */
const CHECKS: Record<string, (v: Record<string, unknown>) => string | null> = {
  'elicitation/create': (v) => (['accept', 'decline', 'cancel'].includes(v.action as string) ? null : 'an elicitation response needs action accept, decline or cancel'),
  'sampling/createMessage': (v) => (typeof v.role === 'string' && v.content !== null && typeof v.content === 'object' ? null : 'a sampling response needs role and content'),
  'roots/list': (v) => (Array.isArray(v.roots) ? null : 'a roots/list response needs roots'),
};

/**
 * The input rounds of one 2026 request: what earlier rounds answered, and what this run
 * of the handler asks for that is not answered yet.
 */
export class InputRounds {
  private readonly asked: Record<string, { method: string; params: Record<string, unknown> }> = {};
  private count = 0;
  private counter = 0;
  private onAsked: (() => void) | null = null;
  private scheduled = false;

  constructor(readonly method: string, readonly target: string, private readonly answers: Record<string, unknown>, private readonly seal: StateSeal) {}

  /** Whether this run asked for input that is not answered yet. */
  get waiting(): boolean {
    return this.count > 0;
  }

  /** A key for a call that gave none: the kind and its place among this run's calls. */
  nextKey(kind: string): string {
    return `${kind}_${this.counter++}`;
  }

  /** The answer to `key`, or (unanswered) a promise that never settles while the round ends. */
  ask(key: string, method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const a = this.answers[key];
    if (a !== undefined) {
      if (a === null || typeof a !== 'object' || Array.isArray(a)) {
        return Promise.reject(new McpError(McpErrorCode.InvalidParams, `Invalid params: inputResponses.${key} must be an object`));
      }
      const problem = CHECKS[method]?.(a as Record<string, unknown>) ?? null;
      if (problem !== null) return Promise.reject(new McpError(McpErrorCode.InvalidParams, `Invalid params: inputResponses.${key}: ${problem}`));
      return Promise.resolve(a as Record<string, unknown>);
    }
    if (this.asked[key] === undefined) this.count++;
    this.asked[key] = { method, params };
    if (!this.scheduled) {
      this.scheduled = true;
      // (what the handler asks in this turn goes out together: Promise.all of several asks)
      setImmediate(() => this.onAsked?.());
    }
    return new Promise(() => {});
  }

  /**
   * The request's answer: the handler's result, or — when it asked for input that is not
   * answered and stopped there — the input_required result.
   */
  race(out: unknown): unknown {
    if (!(out instanceof Promise) && this.count === 0) return out;
    return new Promise((resolve, reject) => {
      const need = () => resolve(this.inputRequired());
      this.onAsked = need;
      if (out instanceof Promise) out.then(resolve, reject);
      else if (this.count > 0) need();
      else resolve(out);
    });
  }

  inputRequired(): Record<string, unknown> {
    const keys = Object.keys(this.asked);
    return {
      resultType: 'input_required',
      inputRequests: this.asked,
      requestState: this.seal.seal(this.method, this.target, this.answers, keys),
    };
  }
}

/**
 * The answers a 2026 request brings: none on a first round; on a later one, those of the
 * sealed requestState plus the inputResponses for the keys it asked (others ignored).
 */
export function answersOf(params: Record<string, unknown>, method: string, target: string, seal: StateSeal): Record<string, unknown> {
  const state = params.requestState;
  const responses = params.inputResponses;
  if (responses !== undefined && (responses === null || typeof responses !== 'object' || Array.isArray(responses))) {
    throw new McpError(McpErrorCode.InvalidParams, 'Invalid params: inputResponses must be an object');
  }
  if (state === undefined) return {};
  const { answers, asked } = seal.open(state, method, target);
  const merged: Record<string, unknown> = { ...answers };
  for (const k of asked) {
    const v = (responses as Record<string, unknown> | undefined)?.[k];
    if (v !== undefined) merged[k] = v;
  }
  return merged;
}
