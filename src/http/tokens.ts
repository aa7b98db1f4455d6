// The character classes of HTTP field syntax the server checks in what handlers set
// (RFC 9110 §5.1, §5.5, §5.6.2): one tchar table for header names and route methods.

/** tchar (RFC 9110 §5.6.2): the characters of a token (method, field name). */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

/** Whether `s` is a token: one or more tchar. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/**
 * A field value's characters (RFC 9110 §5.5): HTAB, visible ASCII, SP, and obs-text
 * (0x80-0xFF, sent as latin1 as node:http does); no CR, LF, NUL or other controls.
 */
export function fieldValueKind(s: string): 'ascii' | 'latin1' | 'invalid' {
  let kind: 'ascii' | 'latin1' = 'ascii';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return 'invalid';
    if (c >= 0x80) kind = 'latin1';
  }
  return kind;
}
