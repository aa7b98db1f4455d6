// The HTTP router. A segment trie — a radix tree whose edges are whole path
// segments — with static segments, `:name` parameters and a trailing `*` / `*name`
// wildcard. It answers 404, 405 with the Allow list, HEAD from GET routes and OPTIONS.
//
// Matching rules (as in find-my-way's strict default):
// - at each segment a static child beats a `:param`, which beats a wildcard; a branch that
//   ends without a route for the method backs up to the next kind, so '/a/:x/c' still
//   answers '/a/b/c' next to '/a/b/d'. A node sits at one depth and the path has one
//   segment there, so each node is tried at most once: no exponential backtracking;
// - the route chosen is the first (by that order) whose pattern matches the path AND that
//   has a handler for the method. Within one route: the method itself, then for HEAD the
//   GET handler (the server sends no body for HEAD), then a '*' (all-methods) handler;
// - paths are matched raw, as sent (still percent-encoded, case-sensitive); only the
//   values of parameters are decoded. '/a' and '/a/' are different routes, and the router
//   resolves no dot-segments: '/a/../b' does not match '/b'.

import { ConduitError, ErrorCodes } from '../errors.js';
import { isToken } from './tokens.js';

export type RouteParams = Record<string, string>;

export interface RouteMatch<H> {
  readonly handler: H;
  /** Decoded parameter values; a wildcard's is under its name, or '*' when unnamed. */
  readonly params: Readonly<RouteParams>;
  /** The route pattern that matched, as registered (the server shows it as req.route). */
  readonly route: string;
}

export type RouteResult<H> =
  | { readonly kind: 'found'; readonly match: RouteMatch<H> }
  /** The path has routes, none for this method: answer 405 with `Allow`. */
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] }
  /** OPTIONS with no OPTIONS (or '*') route for the path: answer 204 with `Allow`. */
  | { readonly kind: 'options'; readonly allow: readonly string[] }
  | { readonly kind: 'not-found' }
  /** The matched route's parameter has malformed percent-encoding: answer 400. */
  | { readonly kind: 'bad-path' };

const NOT_FOUND: RouteResult<never> = Object.freeze({ kind: 'not-found' });
const BAD_PATH: RouteResult<never> = Object.freeze({ kind: 'bad-path' });
const EMPTY_PARAMS: Readonly<RouteParams> = Object.freeze({});

/** A node's static children go in a Map once there are more than this many. */
const LINEAR_CHILDREN = 8;

const SLASH = 0x2f;
const NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

interface Entry<H> {
  readonly handler: H;
  /** The prebuilt result of a route without parameters: a static hit allocates nothing. */
  readonly found: RouteResult<H> | null;
}

class Node<H> {
  staticKeys: string[] = [];
  statics: Node<H>[] = [];
  staticMap: Map<string, Node<H>> | null = null;
  param: Node<H> | null = null;
  paramName = '';
  /** The pattern that first put the parameter here, for conflict messages. */
  paramOwner = '';
  wildcard: Node<H> | null = null;
  wildcardName = '';
  wildcardOwner = '';
  /** The route that ends at this node ('' when none does). */
  pattern = '';
  paramNames: readonly string[] = [];
  methods: Map<string, Entry<H>> | null = null;
  any: Entry<H> | null = null;

  staticChild(path: string, start: number, end: number): Node<H> | undefined {
    if (this.staticMap !== null) return this.staticMap.get(path.slice(start, end));
    const keys = this.staticKeys;
    const len = end - start;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k.length === len && path.startsWith(k, start)) return this.statics[i];
    }
    return undefined;
  }

  addStatic(key: string): Node<H> {
    const child = new Node<H>();
    this.staticKeys.push(key);
    this.statics.push(child);
    if (this.staticMap !== null) this.staticMap.set(key, child);
    else if (this.statics.length > LINEAR_CHILDREN) {
      this.staticMap = new Map(this.staticKeys.map((k, i) => [k, this.statics[i]]));
    }
    return child;
  }
}

/** The handler of `node` for `method`: the method's own, GET for HEAD, then '*'. */
function pick<H>(node: Node<H>, method: string): Entry<H> | null {
  const m = node.methods;
  if (m !== null) {
    const e = m.get(method);
    if (e !== undefined) return e;
    if (method === 'HEAD') {
      const get = m.get('GET');
      if (get !== undefined) return get;
    }
  }
  return node.any;
}

enum Kind { Static, Param, Wildcard }
interface Segment { kind: Kind; text: string }

function fail(pattern: string, problem: string): never {
  throw new ConduitError(ErrorCodes.INVALID_ROUTE, `invalid route '${pattern}': ${problem}`);
}

/** Splits and checks a pattern. Static segments must be written as clients send them. */
function parse(pattern: string): Segment[] {
  if (typeof pattern !== 'string' || pattern.charCodeAt(0) !== SLASH) fail(String(pattern), "a pattern must start with '/'");
  const parts = pattern.slice(1).split('/');
  const names = new Set<string>();
  return parts.map((part, i): Segment => {
    const where = `segment ${i + 1} '${part}'`;
    const c = part.charCodeAt(0);
    if (c === 0x3a /* : */ || c === 0x2a /* * */) {
      const wildcard = c === 0x2a;
      const name = part.slice(1);
      if (wildcard && i !== parts.length - 1) fail(pattern, `a wildcard must be the last segment (${where})`);
      if (name === '') {
        if (!wildcard) fail(pattern, `a parameter needs a name (${where})`);
      } else if (!NAME.test(name)) {
        fail(pattern, `'${name}' is not a valid name: use letters, digits, '_' and '$', not starting with a digit (${where})`);
      } else if (name === '__proto__') {
        fail(pattern, `'__proto__' cannot be a name: params is a plain object (${where})`);
      }
      const key = name === '' ? '*' : name;
      if (names.has(key)) fail(pattern, `the name '${key}' is used twice (${where})`);
      names.add(key);
      return { kind: wildcard ? Kind.Wildcard : Kind.Param, text: key };
    }
    if (part === '.' || part === '..') fail(pattern, `dot-segments never reach a server: clients remove them (${where})`);
    for (let j = 0; j < part.length; j++) {
      const ch = part.charCodeAt(j);
      if (ch === 0x2a) fail(pattern, `'*' is only allowed at the start of the last segment, as a wildcard (${where})`);
      if (ch === 0x3f || ch === 0x23) fail(pattern, `'${part[j]}' cannot appear in a path: the query string and fragment are not matched (${where})`);
      if (ch === 0x25 && !(isHex(part.charCodeAt(j + 1)) && isHex(part.charCodeAt(j + 2)))) {
        fail(pattern, `'%' must start a percent-encoded byte such as %20 (${where})`);
      }
      if (ch <= 0x20 || ch >= 0x7f) fail(pattern, `characters other than visible ASCII must be percent-encoded, as clients send them (${where})`);
    }
    return { kind: Kind.Static, text: part };
  });
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

function allowList(methods: Set<string>): string[] {
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return [...methods].sort();
}

export class Router<H> {
  readonly #root = new Node<H>();
  /** Routes made only of static segments, by pattern: one Map lookup answers them. */
  readonly #static = new Map<string, Node<H>>();
  /** Where #match leaves the parameters' [start, end) offsets in the path, two per value. */
  readonly #marks: number[] = [];

  /**
   * Registers `handler` for `method` (a name, a list of names, or '*' for every method)
   * on `pattern`. Throws a ConduitError (code CONDUIT_ERR_INVALID_ROUTE) for an invalid
   * pattern or method, for a parameter named differently from one already at that
   * position, and for a method+pattern registered before; the router is then unchanged.
   */
  add(method: string | string[], pattern: string, handler: H): this {
    const methods = typeof method === 'string' ? [method] : [...method];
    const segments = parse(pattern);
    if (methods.length === 0) fail(pattern, 'no method given');
    for (const m of methods) {
      if (typeof m !== 'string' || !isToken(m)) fail(pattern, `'${String(m)}' is not an HTTP method (an RFC 9110 token) or '*'`);
    }
    if (new Set(methods).size !== methods.length) fail(pattern, `a method is listed twice (${methods.join(', ')})`);

    // Check everything before changing anything.
    let node: Node<H> | null = this.#root;
    for (let i = 0; i < segments.length && node !== null; i++) {
      const seg = segments[i];
      if (seg.kind === Kind.Static) {
        node = node.staticChild(seg.text, 0, seg.text.length) ?? null;
      } else if (seg.kind === Kind.Param) {
        if (node.param !== null && node.paramName !== seg.text) {
          fail(pattern, `segment ${i + 1} names its parameter ':${seg.text}', but '${node.paramOwner}' already names the parameter there ':${node.paramName}' (one position, one name)`);
        }
        node = node.param;
      } else {
        if (node.wildcard !== null && node.wildcardName !== seg.text) {
          fail(pattern, `segment ${i + 1} names its wildcard '${seg.text}', but '${node.wildcardOwner}' already names the wildcard there '${node.wildcardName}' (one position, one name)`);
        }
        node = node.wildcard;
      }
    }
    if (node !== null) {
      for (const m of methods) {
        if (m === '*' ? node.any !== null : node.methods?.has(m)) fail(pattern, `${m === '*' ? "'*' (all methods)" : m} is already registered`);
      }
    }

    node = this.#root;
    const names: string[] = [];
    for (const seg of segments) {
      if (seg.kind === Kind.Static) {
        node = node.staticChild(seg.text, 0, seg.text.length) ?? node.addStatic(seg.text);
      } else if (seg.kind === Kind.Param) {
        if (node.param === null) { node.param = new Node<H>(); node.paramName = seg.text; node.paramOwner = pattern; }
        node = node.param;
        names.push(seg.text);
      } else {
        if (node.wildcard === null) { node.wildcard = new Node<H>(); node.wildcardName = seg.text; node.wildcardOwner = pattern; }
        node = node.wildcard;
        names.push(seg.text);
      }
    }
    node.pattern = pattern;
    node.paramNames = names;
    if (names.length === 0) this.#static.set(pattern, node);
    while (this.#marks.length < 2 * names.length) this.#marks.push(0);

    for (const m of methods) {
      const entry = makeEntry(handler, pattern, names.length === 0);
      if (m === '*') node.any = entry;
      else (node.methods ??= new Map()).set(m, entry);
    }
    return this;
  }

  /**
   * Looks up `path`: the request path without its query string, still percent-encoded.
   * Never throws. Results of routes without parameters are shared and frozen.
   */
  find(method: string, path: string): RouteResult<H> {
    const hit = this.#static.get(path);
    if (hit !== undefined) {
      const e = pick(hit, method);
      if (e !== null) return e.found!;
    }
    if (path.charCodeAt(0) !== SLASH) return NOT_FOUND;
    const node = this.#match(this.#root, path, 1, 0, method);
    if (node !== null) return this.#result(node, pick(node, method)!, path);

    const methods = new Set<string>();
    this.#collect(this.#root, path, 1, methods);
    if (methods.size === 0) return NOT_FOUND;
    const allow = allowList(methods);
    return method === 'OPTIONS' ? { kind: 'options', allow } : { kind: 'method-not-allowed', allow };
  }

  /**
   * The first node, in precedence order, whose route matches the path from `start` (the
   * first character of a segment) and has a handler for `method`. `n` counts the values
   * captured above; they are written into #marks on the way back up, by the winning
   * branch only, so backing up never has to undo anything.
   */
  #match(node: Node<H>, path: string, start: number, n: number, method: string): Node<H> | null {
    let end = path.indexOf('/', start);
    const last = end === -1;
    if (last) end = path.length;

    const s = node.staticChild(path, start, end);
    if (s !== undefined) {
      const found = last ? (pick(s, method) !== null ? s : null) : this.#match(s, path, end + 1, n, method);
      if (found !== null) return found;
    }
    const p = node.param;
    if (p !== null && end > start) {
      const found = last ? (pick(p, method) !== null ? p : null) : this.#match(p, path, end + 1, n + 1, method);
      if (found !== null) {
        this.#marks[2 * n] = start;
        this.#marks[2 * n + 1] = end;
        return found;
      }
    }
    const w = node.wildcard;
    if (w !== null && pick(w, method) !== null) {
      this.#marks[2 * n] = start;
      this.#marks[2 * n + 1] = path.length;
      return w;
    }
    return null;
  }

  /** The methods of every route that matches the path (for 405 and OPTIONS; not hot). */
  #collect(node: Node<H>, path: string, start: number, out: Set<string>): void {
    let end = path.indexOf('/', start);
    const last = end === -1;
    if (last) end = path.length;
    const s = node.staticChild(path, start, end);
    if (s !== undefined) {
      if (last) addMethods(s, out);
      else this.#collect(s, path, end + 1, out);
    }
    const p = node.param;
    if (p !== null && end > start) {
      if (last) addMethods(p, out);
      else this.#collect(p, path, end + 1, out);
    }
    if (node.wildcard !== null) addMethods(node.wildcard, out);
  }

  #result(node: Node<H>, e: Entry<H>, path: string): RouteResult<H> {
    if (e.found !== null) return e.found;
    const names = node.paramNames;
    const marks = this.#marks;
    const params: RouteParams = {};
    for (let i = 0; i < names.length; i++) {
      let value = path.slice(marks[2 * i], marks[2 * i + 1]);
      if (value.indexOf('%') !== -1) {
        try {
          value = decodeURIComponent(value);
        } catch {
          return BAD_PATH;
        }
      }
      params[names[i]] = value;
    }
    return { kind: 'found', match: { handler: e.handler, params, route: node.pattern } };
  }
}

function addMethods<H>(node: Node<H>, out: Set<string>): void {
  if (node.methods !== null) for (const m of node.methods.keys()) out.add(m);
}

function makeEntry<H>(handler: H, route: string, prebuilt: boolean): Entry<H> {
  return {
    handler,
    found: prebuilt ? Object.freeze({ kind: 'found', match: Object.freeze({ handler, params: EMPTY_PARAMS, route }) }) : null,
  };
}
