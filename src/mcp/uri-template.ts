// RFC 6570 level-1 URI templates ({var}: simple string expansion) for resource templates:
// matching a URI against one, and listing its variables.

import { ConduitError, ErrorCodes } from '../errors.js';

const VAR = /\{([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)\}/g;

export class UriTemplate {
  readonly variables: string[] = [];
  private readonly re: RegExp;

  constructor(readonly template: string) {
    if (typeof template !== 'string' || template === '') throw new ConduitError(ErrorCodes.INVALID_OPTION, 'a URI template must be a non-empty string');
    let src = '^';
    let last = 0;
    for (const m of template.matchAll(VAR)) {
      src += escape(template.slice(last, m.index));
      if (this.variables.includes(m[1])) throw new ConduitError(ErrorCodes.INVALID_OPTION, `URI template '${template}' names {${m[1]}} twice`);
      this.variables.push(m[1]);
      // Level 1 expansion percent-encodes everything but unreserved characters, so a
      // value never holds '/', '?' or '#'.
      src += '([^/?#]+)';
      last = m.index + m[0].length;
    }
    const rest = template.slice(last);
    if (/[{}]/.test(rest) || /[{}]/.test(template.replace(VAR, ''))) {
      throw new ConduitError(ErrorCodes.INVALID_OPTION, `URI template '${template}': only level-1 {name} expressions are supported`);
    }
    this.re = new RegExp(src + escape(rest) + '$');
  }

  /** The variables of a matching URI (percent-decoded), or null. */
  match(uri: string): Record<string, string> | null {
    const m = this.re.exec(uri);
    if (m === null) return null;
    const out: Record<string, string> = {};
    for (let i = 0; i < this.variables.length; i++) {
      try {
        out[this.variables[i]] = decodeURIComponent(m[i + 1]);
      } catch {
        return null;
      }
    }
    return out;
  }

  /** The URI for these variables (values percent-encoded). */
  expand(vars: Record<string, string>): string {
    return this.template.replace(VAR, (_, k: string) => encodeURIComponent(vars[k] ?? ''));
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
