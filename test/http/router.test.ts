// The HTTP router: matching rules, 404/405/OPTIONS/HEAD, pattern validation, and a
// fixed-seed differential test against a linear reference matcher written below.
import { describe, expect, it } from 'vitest';
import { ConduitError, ErrorCodes } from '../../src/errors.js';
import { Router, type RouteResult } from '../../src/http/router.js';
import { createRng } from '../support/rng.mjs';

function found(r: RouteResult<string>) {
  if (r.kind !== 'found') throw new Error(`expected a match, got ${JSON.stringify(r)}`);
  return r.match;
}

function router(routes: Array<[string | string[], string]>): Router<string> {
  const r = new Router<string>();
  for (const [m, p] of routes) r.add(m, p, `${Array.isArray(m) ? m.join('+') : m} ${p}`);
  return r;
}

describe('Router: static routes', () => {
  const r = router([['GET', '/'], ['GET', '/a'], ['GET', '/a/b'], ['POST', '/a/b/c']]);

  it('matches the root and static paths', () => {
    expect(found(r.find('GET', '/'))).toEqual({ handler: 'GET /', params: {}, route: '/' });
    expect(found(r.find('GET', '/a')).handler).toBe('GET /a');
    expect(found(r.find('GET', '/a/b')).route).toBe('/a/b');
    expect(found(r.find('POST', '/a/b/c')).handler).toBe('POST /a/b/c');
  });

  it('does not match prefixes, extensions or other cases', () => {
    for (const p of ['/a/b/c/d', '/ab', '/A', '/a/bc', '//a', '/b']) expect(r.find('GET', p).kind, p).toBe('not-found');
  });

  it('answers a static hit with one shared, frozen result (no allocation)', () => {
    const first = r.find('GET', '/a/b');
    expect(r.find('GET', '/a/b')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(found(first))).toBe(true);
    expect(Object.isFrozen(found(first).params)).toBe(true);
  });

  it('switches a node with many static children to a Map and still matches all of them', () => {
    const big = new Router<number>();
    for (let i = 0; i < 40; i++) big.add('GET', `/n${i}/:id`, i);
    for (let i = 0; i < 40; i++) expect(big.find('GET', `/n${i}/x`)).toEqual({ kind: 'found', match: { handler: i, params: { id: 'x' }, route: `/n${i}/:id` } });
    expect(big.find('GET', '/n40/x').kind).toBe('not-found');
  });
});

describe('Router: parameters and wildcards', () => {
  it('captures a parameter as one non-empty segment', () => {
    const r = router([['GET', '/users/:id']]);
    expect(found(r.find('GET', '/users/42')).params).toEqual({ id: '42' });
    expect(r.find('GET', '/users/').kind).toBe('not-found');
    expect(r.find('GET', '/users').kind).toBe('not-found');
    expect(r.find('GET', '/users/42/x').kind).toBe('not-found');
  });

  it('captures several parameters', () => {
    const r = router([['GET', '/users/:uid/posts/:pid'], ['GET', '/:a/:b/:c']]);
    expect(found(r.find('GET', '/users/7/posts/99'))).toEqual({
      handler: 'GET /users/:uid/posts/:pid', params: { uid: '7', pid: '99' }, route: '/users/:uid/posts/:pid',
    });
    expect(found(r.find('GET', '/x/y/z')).params).toEqual({ a: 'x', b: 'y', c: 'z' });
  });

  it('captures the rest of the path in a wildcard, named or not, possibly empty', () => {
    const r = router([['GET', '/files/*'], ['GET', '/static/*path'], ['GET', '/*']]);
    expect(found(r.find('GET', '/files/a/b/c.txt')).params).toEqual({ '*': 'a/b/c.txt' });
    expect(found(r.find('GET', '/files/')).params).toEqual({ '*': '' });
    expect(found(r.find('GET', '/files/a/')).params).toEqual({ '*': 'a/' });
    expect(found(r.find('GET', '/static/css/x.css')).params).toEqual({ path: 'css/x.css' });
    expect(found(r.find('GET', '/static/')).params).toEqual({ path: '' });
    // '/files' has no '/' after it: the root wildcard takes it.
    expect(found(r.find('GET', '/files'))).toMatchObject({ route: '/*', params: { '*': 'files' } });
    expect(found(r.find('GET', '/'))).toMatchObject({ route: '/*', params: { '*': '' } });
  });

  it('does not let a wildcard match the path without its slash', () => {
    const r = router([['GET', '/files/*']]);
    expect(r.find('GET', '/files').kind).toBe('not-found');
  });

  it('mixes parameters and a wildcard', () => {
    const r = router([['GET', '/repos/:owner/:repo/contents/*path']]);
    expect(found(r.find('GET', '/repos/a/b/contents/src/x.ts')).params).toEqual({ owner: 'a', repo: 'b', path: 'src/x.ts' });
  });
});

describe('Router: precedence and backtracking', () => {
  it('prefers static, then parameter, then wildcard', () => {
    const r = router([['GET', '/a/b'], ['GET', '/a/:x'], ['GET', '/a/*']]);
    expect(found(r.find('GET', '/a/b')).route).toBe('/a/b');
    expect(found(r.find('GET', '/a/c'))).toMatchObject({ route: '/a/:x', params: { x: 'c' } });
    expect(found(r.find('GET', '/a/c/d'))).toMatchObject({ route: '/a/*', params: { '*': 'c/d' } });
    expect(found(r.find('GET', '/a/'))).toMatchObject({ route: '/a/*', params: { '*': '' } });
  });

  it('backs up from a static branch that ends without a route', () => {
    const r = router([['GET', '/a/:x/c'], ['GET', '/a/b/d']]);
    expect(found(r.find('GET', '/a/b/c'))).toMatchObject({ route: '/a/:x/c', params: { x: 'b' } });
    expect(found(r.find('GET', '/a/b/d'))).toMatchObject({ route: '/a/b/d', params: {} });
    expect(r.find('GET', '/a/b/e').kind).toBe('not-found');
  });

  it('backs up several levels, into parameters and then a wildcard', () => {
    const r = router([['GET', '/a/b/c/d'], ['GET', '/a/:x/c/e'], ['GET', '/:y/b/c/f'], ['GET', '/*rest']]);
    expect(found(r.find('GET', '/a/b/c/d')).route).toBe('/a/b/c/d');
    expect(found(r.find('GET', '/a/b/c/e'))).toMatchObject({ route: '/a/:x/c/e', params: { x: 'b' } });
    expect(found(r.find('GET', '/a/b/c/f'))).toMatchObject({ route: '/:y/b/c/f', params: { y: 'a' } });
    expect(found(r.find('GET', '/a/b/c/g'))).toMatchObject({ route: '/*rest', params: { rest: 'a/b/c/g' } });
  });

  it('decides at the first segment that differs: a static prefix wins over a parameter, even if only a wildcard follows', () => {
    const r = router([['GET', '/a/*rest'], ['GET', '/:y/b/c/f']]);
    expect(found(r.find('GET', '/a/b/c/f'))).toMatchObject({ route: '/a/*rest', params: { rest: 'b/c/f' } });
    expect(found(r.find('GET', '/z/b/c/f'))).toMatchObject({ route: '/:y/b/c/f', params: { y: 'z' } });
  });

  it('keeps only the winning branch’s parameters', () => {
    const r = router([['GET', '/:a/:b/x'], ['GET', '/:a/c/:d']]);
    expect(found(r.find('GET', '/1/c/2')).params).toEqual({ a: '1', d: '2' });
    expect(found(r.find('GET', '/1/2/x')).params).toEqual({ a: '1', b: '2' });
    expect(found(r.find('GET', '/1/c/x')).params).toEqual({ a: '1', d: 'x' });
  });

  it('chooses among the routes that have a handler for the method', () => {
    const r = router([['POST', '/a/b'], ['GET', '/a/:x']]);
    expect(found(r.find('GET', '/a/b')).route).toBe('/a/:x');
    expect(found(r.find('POST', '/a/b')).route).toBe('/a/b');
    expect(r.find('POST', '/a/c')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'HEAD', 'OPTIONS'] });
  });
});

describe('Router: 404, 405 and Allow', () => {
  const r = router([['GET', '/doc'], ['PUT', '/doc'], ['DELETE', '/doc/:id'], ['POST', '/rpc'], ['PATCH', '/doc/:id'], ['GET', '/doc/special']]);

  it('answers not-found for unknown paths and for paths that are not origin-form', () => {
    for (const p of ['/nope', '/doc/a/b', '', '*', 'doc', 'http://a/doc']) expect(r.find('GET', p)).toEqual({ kind: 'not-found' });
  });

  it('lists the allowed methods, sorted, with HEAD implied by GET and OPTIONS', () => {
    expect(r.find('POST', '/doc')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'HEAD', 'OPTIONS', 'PUT'] });
    expect(r.find('GET', '/rpc')).toEqual({ kind: 'method-not-allowed', allow: ['OPTIONS', 'POST'] });
    expect(r.find('HEAD', '/rpc')).toEqual({ kind: 'method-not-allowed', allow: ['OPTIONS', 'POST'] });
    expect(r.find('GET', '/doc/1')).toEqual({ kind: 'method-not-allowed', allow: ['DELETE', 'OPTIONS', 'PATCH'] });
  });

  it('unions the methods of every route that matches the path', () => {
    // '/doc/special' is GET only, but '/doc/:id' matches it too.
    expect(r.find('PUT', '/doc/special')).toEqual({ kind: 'method-not-allowed', allow: ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH'] });
    expect(found(r.find('DELETE', '/doc/special')).route).toBe('/doc/:id');
  });

  it('treats methods as case-sensitive', () => {
    expect(r.find('get', '/doc')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'HEAD', 'OPTIONS', 'PUT'] });
  });
});

describe('Router: HEAD, OPTIONS and all-method routes', () => {
  it('runs the GET route for HEAD (the server sends no body for HEAD)', () => {
    const r = router([['GET', '/a'], ['GET', '/u/:id']]);
    expect(found(r.find('HEAD', '/a'))).toEqual({ handler: 'GET /a', params: {}, route: '/a' });
    expect(found(r.find('HEAD', '/u/1'))).toEqual({ handler: 'GET /u/:id', params: { id: '1' }, route: '/u/:id' });
    expect(found(r.find('GET', '/a'))).toBe(found(r.find('HEAD', '/a'))); // (one prebuilt result for a static route)
  });

  it('prefers an explicit HEAD route', () => {
    const r = router([['GET', '/a'], ['HEAD', '/a'], ['GET', '/b/:x'], ['HEAD', '/b/:x']]);
    expect(found(r.find('HEAD', '/a'))).toEqual({ handler: 'HEAD /a', params: {}, route: '/a' });
    expect(found(r.find('HEAD', '/b/1'))).toMatchObject({ handler: 'HEAD /b/:x', route: '/b/:x' });
    expect(r.find('POST', '/a')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'HEAD', 'OPTIONS'] });
  });

  it('answers OPTIONS with the Allow list when no route handles it', () => {
    const r = router([['GET', '/a'], ['POST', '/a'], ['OPTIONS', '/b'], ['GET', '/b']]);
    expect(r.find('OPTIONS', '/a')).toEqual({ kind: 'options', allow: ['GET', 'HEAD', 'OPTIONS', 'POST'] });
    expect(found(r.find('OPTIONS', '/b')).handler).toBe('OPTIONS /b');
    expect(r.find('OPTIONS', '/c')).toEqual({ kind: 'not-found' });
    expect(r.find('DELETE', '/b')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'HEAD', 'OPTIONS'] });
  });

  it("matches every method with a '*' route; a route's own method comes first", () => {
    const r = router([['*', '/any'], ['GET', '/mixed'], ['*', '/mixed'], ['*', '/only/:x']]);
    for (const m of ['GET', 'POST', 'PURGE', 'OPTIONS', 'HEAD', 'get']) {
      expect(found(r.find(m, '/any')), m).toEqual({ handler: '* /any', params: {}, route: '/any' });
    }
    expect(found(r.find('GET', '/mixed')).handler).toBe('GET /mixed');
    expect(found(r.find('HEAD', '/mixed'))).toMatchObject({ handler: 'GET /mixed', route: '/mixed' });
    expect(found(r.find('POST', '/mixed')).handler).toBe('* /mixed');
    expect(found(r.find('OPTIONS', '/mixed')).handler).toBe('* /mixed');
    expect(found(r.find('DELETE', '/only/1'))).toMatchObject({ handler: '* /only/:x', params: { x: '1' } });
  });

  it('registers one handler for a list of methods', () => {
    const r = new Router<string>().add(['GET', 'POST'], '/x', 'h');
    expect(found(r.find('POST', '/x')).handler).toBe('h');
    expect(found(r.find('GET', '/x')).handler).toBe('h');
    expect(r.find('PUT', '/x')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'HEAD', 'OPTIONS', 'POST'] });
  });
});

describe('Router: percent-encoding and trailing slashes', () => {
  const r = router([['GET', '/u/:name'], ['GET', '/f/*'], ['GET', '/caf%C3%A9'], ['GET', '/a'], ['GET', '/b/']]);

  it('decodes parameter values, and only them', () => {
    expect(found(r.find('GET', '/u/J%C3%BCrgen')).params).toEqual({ name: 'Jürgen' });
    expect(found(r.find('GET', '/u/a%2Fb')).params).toEqual({ name: 'a/b' }); // still one segment
    expect(found(r.find('GET', '/u/a+b')).params).toEqual({ name: 'a+b' }); // '+' is not a space in a path
    expect(found(r.find('GET', '/f/x%20y/z%E2%82%AC')).params).toEqual({ '*': 'x y/z€' });
  });

  it('matches static segments on the raw path', () => {
    expect(found(r.find('GET', '/caf%C3%A9')).route).toBe('/caf%C3%A9');
    expect(r.find('GET', '/café').kind).toBe('not-found');
    expect(r.find('GET', '/caf%c3%a9').kind).toBe('not-found');
    expect(r.find('GET', '/%61').kind).toBe('not-found');
  });

  it('answers bad-path for malformed percent-encoding in a matched parameter', () => {
    for (const p of ['/u/%', '/u/%zz', '/u/a%2', '/u/%FF', '/u/%C3', '/u/%ED%A0%80', '/f/ok/%E2%82']) {
      expect(r.find('GET', p), p).toEqual({ kind: 'bad-path' });
    }
    expect(r.find('GET', '/nothing/%zz')).toEqual({ kind: 'not-found' });
  });

  it("keeps '/a' and '/a/' apart", () => {
    expect(found(r.find('GET', '/a')).route).toBe('/a');
    expect(r.find('GET', '/a/').kind).toBe('not-found');
    expect(found(r.find('GET', '/b/')).route).toBe('/b/');
    expect(r.find('GET', '/b').kind).toBe('not-found');
    expect(r.find('GET', '/u/x/').kind).toBe('not-found');
  });
});

describe('Router: registration errors', () => {
  function error(f: () => unknown): ConduitError {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(ConduitError);
      expect((e as ConduitError).code).toBe(ErrorCodes.INVALID_ROUTE);
      return e as ConduitError;
    }
    throw new Error('expected add() to throw');
  }
  const add = (pattern: string, method: string | string[] = 'GET', r = new Router<number>()) => () => r.add(method, pattern, 1);

  it.each([
    ['', "invalid route '': a pattern must start with '/'"],
    ['users', "invalid route 'users': a pattern must start with '/'"],
    ['/u/:', "invalid route '/u/:': a parameter needs a name (segment 2 ':')"],
    ['/u/:id/:id', "invalid route '/u/:id/:id': the name 'id' is used twice (segment 3 ':id')"],
    ['/u/:id/*id', "invalid route '/u/:id/*id': the name 'id' is used twice (segment 3 '*id')"],
    ['/f/*/x', "invalid route '/f/*/x': a wildcard must be the last segment (segment 2 '*')"],
    ['/f/*rest/', "invalid route '/f/*rest/': a wildcard must be the last segment (segment 2 '*rest')"],
    ['/u/:1d', "invalid route '/u/:1d': '1d' is not a valid name: use letters, digits, '_' and '$', not starting with a digit (segment 2 ':1d')"],
    ['/u/:a-b', "invalid route '/u/:a-b': 'a-b' is not a valid name: use letters, digits, '_' and '$', not starting with a digit (segment 2 ':a-b')"],
    ['/u/:__proto__', "invalid route '/u/:__proto__': '__proto__' cannot be a name: params is a plain object (segment 2 ':__proto__')"],
    ['/f/a*', "invalid route '/f/a*': '*' is only allowed at the start of the last segment, as a wildcard (segment 2 'a*')"],
    ['/f?x=1', "invalid route '/f?x=1': '?' cannot appear in a path: the query string and fragment are not matched (segment 1 'f?x=1')"],
    ['/f#top', "invalid route '/f#top': '#' cannot appear in a path: the query string and fragment are not matched (segment 1 'f#top')"],
    ['/a%2', "invalid route '/a%2': '%' must start a percent-encoded byte such as %20 (segment 1 'a%2')"],
    ['/a%zz', "invalid route '/a%zz': '%' must start a percent-encoded byte such as %20 (segment 1 'a%zz')"],
    ['/a b', "invalid route '/a b': characters other than visible ASCII must be percent-encoded, as clients send them (segment 1 'a b')"],
    ['/café', "invalid route '/café': characters other than visible ASCII must be percent-encoded, as clients send them (segment 1 'café')"],
    ['/a/../b', "invalid route '/a/../b': dot-segments never reach a server: clients remove them (segment 2 '..')"],
    ['/.', "invalid route '/.': dot-segments never reach a server: clients remove them (segment 1 '.')"],
  ])('refuses %j', (pattern, message) => {
    expect(error(add(pattern)).message).toBe(message);
  });

  it('refuses bad methods', () => {
    expect(error(add('/x', 'GET POST')).message).toBe("invalid route '/x': 'GET POST' is not an HTTP method (an RFC 9110 token) or '*'");
    expect(error(add('/x', '')).message).toBe("invalid route '/x': '' is not an HTTP method (an RFC 9110 token) or '*'");
    expect(error(add('/x', [])).message).toBe("invalid route '/x': no method given");
    expect(error(add('/x', ['GET', 'PUT', 'GET'])).message).toBe("invalid route '/x': a method is listed twice (GET, PUT, GET)");
  });

  it('refuses two names for the parameter or wildcard at one position', () => {
    const r = router([['GET', '/u/:id'], ['GET', '/f/*']]);
    expect(error(() => r.add('GET', '/u/:name/x', 'h')).message).toBe(
      "invalid route '/u/:name/x': segment 2 names its parameter ':name', but '/u/:id' already names the parameter there ':id' (one position, one name)",
    );
    expect(error(() => r.add('POST', '/f/*path', 'h')).message).toBe(
      "invalid route '/f/*path': segment 2 names its wildcard 'path', but '/f/*' already names the wildcard there '*' (one position, one name)",
    );
    r.add('GET', '/u/:id/x', 'ok'); // the same name is fine
    expect(found(r.find('GET', '/u/1/x')).params).toEqual({ id: '1' });
  });

  it('refuses a method+pattern registered twice, and leaves the router unchanged', () => {
    const r = router([['GET', '/x'], ['*', '/y'], ['POST', '/z/:id']]);
    expect(error(() => r.add('GET', '/x', 'again')).message).toBe("invalid route '/x': GET is already registered");
    expect(error(() => r.add('*', '/y', 'again')).message).toBe("invalid route '/y': '*' (all methods) is already registered");
    expect(error(() => r.add(['PUT', 'POST'], '/z/:id', 'again')).message).toBe("invalid route '/z/:id': POST is already registered");
    expect(r.find('PUT', '/z/1')).toEqual({ kind: 'method-not-allowed', allow: ['OPTIONS', 'POST'] });
    expect(error(() => r.add('GET', '/new/:a/:a', 'h')).message).toContain('used twice');
    expect(r.find('GET', '/new/1/2').kind).toBe('not-found');
    // (the routes registered before are all still there, with their first handlers)
    expect([found(r.find('GET', '/x')).handler, found(r.find('PATCH', '/y')).handler, found(r.find('POST', '/z/1')).handler])
      .toEqual(['GET /x', '* /y', 'POST /z/:id']);
    r.add('GET', '/y', 'get'); // '*' and a named method live side by side
    expect(found(r.find('GET', '/y')).handler).toBe('get');
  });
});

// ---------------------------------------------------------------------------------------
// Differential test. The reference scans every route linearly: a route matches when its
// segments match the path's; among the matching routes with a handler for the method the
// best is the one whose segment kinds (static 0 < param 1 < wildcard 2) are smallest in
// lexicographic order. It also predicts which registrations must throw.

type Seg = { kind: 0 | 1 | 2; text: string };
interface RefGroup { pattern: string; segs: Seg[]; handlers: Map<string, string> }

class Reference {
  readonly groups = new Map<string, RefGroup>();
  /** Whether the last find() ran a GET handler for HEAD. */
  headByGet = false;

  /** The reason add() must refuse this registration, or null. */
  refusal(methods: string[], pattern: string, segs: Seg[]): string | null {
    const names = segs.filter((s) => s.kind !== 0).map((s) => s.text);
    if (new Set(names).size !== names.length) return 'used twice';
    for (const g of this.groups.values()) {
      for (let i = 0; i < Math.min(g.segs.length, segs.length); i++) {
        const a = g.segs[i], b = segs[i];
        if (a.kind !== b.kind) break;
        if (a.text !== b.text) {
          if (a.kind === 0) break;
          return 'one position, one name';
        }
      }
    }
    const g = this.groups.get(pattern);
    if (g !== undefined && methods.some((m) => g.handlers.has(m))) return 'already registered';
    return null;
  }

  add(methods: string[], pattern: string, segs: Seg[], handler: string): void {
    let g = this.groups.get(pattern);
    if (g === undefined) this.groups.set(pattern, (g = { pattern, segs, handlers: new Map() }));
    for (const m of methods) g.handlers.set(m, handler);
  }

  static match(segs: Seg[], path: string): string[] | null {
    const parts = path.slice(1).split('/');
    const values: string[] = [];
    for (let i = 0; i < segs.length; i++) {
      if (i >= parts.length) return null;
      const s = segs[i];
      if (s.kind === 2) return [...values, parts.slice(i).join('/')];
      if (s.kind === 0 ? parts[i] !== s.text : parts[i] === '') return null;
      if (s.kind === 1) values.push(parts[i]);
    }
    return parts.length === segs.length ? values : null;
  }

  find(method: string, path: string): unknown {
    if (!path.startsWith('/')) return { kind: 'not-found' };
    let best: { g: RefGroup; values: string[]; handler: string; head: boolean } | null = null;
    this.headByGet = false;
    const union = new Set<string>();
    for (const g of this.groups.values()) {
      const values = Reference.match(g.segs, path);
      if (values === null) continue;
      for (const m of g.handlers.keys()) if (m !== '*') union.add(m);
      const head = method === 'HEAD' && !g.handlers.has('HEAD') && g.handlers.has('GET');
      const handler = g.handlers.get(method) ?? (head ? g.handlers.get('GET') : undefined) ?? g.handlers.get('*');
      if (handler === undefined) continue;
      if (best === null || Reference.before(g.segs, best.g.segs)) best = { g, values, handler, head };
    }
    if (best !== null) {
      const params: Record<string, string> = {};
      const names = best.g.segs.filter((s) => s.kind !== 0).map((s) => s.text);
      try {
        names.forEach((n, i) => (params[n] = decodeURIComponent(best!.values[i])));
      } catch {
        return { kind: 'bad-path' };
      }
      this.headByGet = best.head;
      return { kind: 'found', match: { handler: best.handler, params, route: best.g.pattern } };
    }
    if (union.size === 0) return { kind: 'not-found' };
    if (union.has('GET')) union.add('HEAD');
    union.add('OPTIONS');
    return { kind: method === 'OPTIONS' ? 'options' : 'method-not-allowed', allow: [...union].sort() };
  }

  static before(a: Seg[], b: Seg[]): boolean {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i].kind !== b[i].kind) return a[i].kind < b[i].kind;
    throw new Error('two distinct routes with the same shape matched one path');
  }
}

describe.each([
  { seed: 1, statics: ['a', 'b', 'c', '%41', ''] },
  { seed: 2, statics: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', ''] }, // Map-backed nodes
  { seed: 3, statics: ['a', 'b', ''] },
])('Router vs the reference matcher (seed $seed)', ({ seed, statics }) => {
  it('agrees on ~200 random routes and thousands of lookups', () => {
    const rng = createRng(seed);
    const routeMethods: Array<string[]> = [['GET'], ['GET'], ['POST'], ['PUT'], ['HEAD'], ['OPTIONS'], ['*'], ['GET', 'POST'], ['DELETE']];
    const lookupMethods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
    const goodSegments = [...statics, 'A', 'z', '%61', 'x%20y', '%E2%82%AC', '%2F'];
    const pathSegment = () => (rng.chance(0.04) ? rng.pick(['%zz', '%FF', '%']) : rng.pick(goodSegments));
    const names = ['id', 'name', 'x'];

    const randomSegs = (): Seg[] => {
      const segs: Seg[] = [];
      const depth = 1 + rng.int(4);
      for (let i = 0; i < depth; i++) {
        // Few parameters and no wildcard in the first segment, or nothing is ever a 404.
        const r = rng.float();
        if (i === depth - 1 && i > 0 && r < 0.15) segs.push({ kind: 2, text: rng.chance(0.5) ? '*' : 'rest' });
        else if (r < (i === 0 ? 0.03 : 0.35)) segs.push({ kind: 1, text: rng.pick(names) });
        else segs.push({ kind: 0, text: rng.pick(statics) });
      }
      return segs;
    };
    const toPattern = (segs: Seg[]) =>
      '/' + segs.map((s) => (s.kind === 0 ? s.text : s.kind === 1 ? `:${s.text}` : s.text === '*' ? '*' : `*${s.text}`)).join('/');
    const randomPath = (): string => {
      if (rng.chance(0.4) && added.length > 0) {
        // A path built from a registered route, so that most lookups hit something.
        const segs: Seg[] = rng.pick(added);
        const parts = segs.map((s) => (s.kind === 0 ? s.text : s.kind === 1 ? pathSegment() : Array.from({ length: rng.int(3) }, () => pathSegment()).join('/')));
        return '/' + parts.join('/');
      }
      return '/' + Array.from({ length: 1 + rng.int(5) }, () => pathSegment()).join('/');
    };

    const r = new Router<string>();
    const ref = new Reference();
    const added: Seg[][] = [];
    const kinds = new Map<string, number>();
    let refused = 0;
    const compare = (lookups: number) => {
      for (let i = 0; i < lookups; i++) {
        const method = rng.pick(lookupMethods);
        const path = randomPath();
        const got = r.find(method, path);
        const want = ref.find(method, path);
        if (JSON.stringify(got) !== JSON.stringify(want)) expect(got, `${method} ${path}`).toEqual(want);
        const kind = got.kind === 'found' && ref.headByGet ? 'found (HEAD by GET)' : got.kind;
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
    };

    for (let i = 0; i < 200; i++) {
      const segs = randomSegs();
      const pattern = toPattern(segs);
      const methods = rng.pick(routeMethods);
      const handler = `h${i}`;
      const why = ref.refusal(methods, pattern, segs);
      let thrown: unknown = null;
      try {
        r.add(methods.length === 1 ? methods[0] : methods, pattern, handler);
      } catch (e) {
        thrown = e;
      }
      if (why === null) {
        expect(thrown, `${methods} ${pattern}`).toBeNull();
        ref.add(methods, pattern, segs, handler);
        added.push(segs);
      } else {
        expect(thrown, `${methods} ${pattern} must be refused: ${why}`).toBeInstanceOf(ConduitError);
        expect((thrown as Error).message).toContain(why);
        refused++;
      }
      if (i % 50 === 49) compare(500); // the trie must be right after every insertion, not just at the end
    }
    compare(4000);

    // The generator must reach every outcome, or the comparison proves little.
    expect(refused).toBeGreaterThan(0);
    for (const k of ['found', 'found (HEAD by GET)', 'not-found', 'method-not-allowed', 'options', 'bad-path']) expect(kinds.get(k) ?? 0, k).toBeGreaterThan(10);
  });
});
