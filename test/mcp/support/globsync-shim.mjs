// Lets @modelcontextprotocol/conformance start on Node 20. Its dist/index.js imports
// `globSync` from "fs" (Node 22+) at the top, a link-time error on Node 20 even though the
// `server` command never calls it. This module hook gives "fs" that export (throwing if
// called); on Node 22+ it does nothing. Use: node --import ./globsync-shim.mjs <cli> ...
import fs from 'node:fs';
import { register } from 'node:module';

if (typeof fs.globSync !== 'function') {
  const FS = 'conduit-shim:fs';
  const hooks = `
    export async function resolve(specifier, context, next) {
      if ((specifier === 'fs' || specifier === 'node:fs') && context.parentURL !== '${FS}') return { url: '${FS}', shortCircuit: true };
      return next(specifier, context);
    }
    export async function load(url, context, next) {
      if (url !== '${FS}') return next(url, context);
      return { format: 'module', shortCircuit: true, source: [
        "import fs from 'node:fs';",
        "export * from 'node:fs';",
        "export default fs;",
        "export function globSync() { throw new Error('fs.globSync needs Node 22 (conformance shim)'); }",
      ].join('\\n') };
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
