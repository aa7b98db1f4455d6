// Runs test/core's shared cases through conduit/core (dist/core.js) in whichever runtime
// runs this file (node, bun, deno) and prints the record as JSON.
//
//   <runtime> test/core/run-core.mjs CASES.json [--no-buffer] [--unshared] [--scalar] [--bytes]
//
// --no-buffer removes globalThis.Buffer first (the portable string paths); --unshared loads
// the core with a plain memory; --scalar the scalar build; --bytes hands loadCore() the
// .wasm bytes instead of letting it find the bundled file. (This harness may use the
// runtime's fs: it is a test, not the core.)

import { runCases } from './cases.mjs';

const args = globalThis.Deno !== undefined ? globalThis.Deno.args : process.argv.slice(2);
const flags = new Set(args.slice(1));
const fs = process.getBuiltinModule('fs');
const cases = JSON.parse(fs.readFileSync(args[0], 'utf8'));

if (flags.has('--no-buffer')) {
  delete globalThis.Buffer;
  if (globalThis.Buffer !== undefined) throw new Error('cannot remove globalThis.Buffer in this runtime');
}
const { loadCore } = await import('../../dist/core.js');
const options = { shared: !flags.has('--unshared'), variant: flags.has('--scalar') ? 'scalar' : undefined };
let source;
if (flags.has('--bytes')) {
  source = new Uint8Array(fs.readFileSync(new URL(`../../build/${flags.has('--scalar') ? 'conduit-scalar' : 'conduit'}.wasm`, import.meta.url)));
}
const core = await loadCore(source, options);
const record = runCases(core, cases);
const runtime = globalThis.Deno !== undefined ? 'deno' : globalThis.Bun !== undefined ? 'bun' : 'node';
process.stdout.write(JSON.stringify({ runtime, variant: core.variant, shared: core.shared, buffer: core.buffer, record }));
