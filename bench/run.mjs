// Runs Conduit's benchmark suite: every bench/*.bench.mjs (each exports
// `async run(options)`), in name order.
//
//   node bench/run.mjs                      all benches
//   node bench/run.mjs http-parser          benches whose file name contains a filter
//   node bench/run.mjs --corpus=pipelined   only corpus entries whose name contains it
//   node bench/run.mjs --time=2000 --warmup=500
//
// The benches import ../dist/index.js and build/*.wasm: run `npm run build` first.

import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { machineLine } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);

const filters = [];
const options = {};
for (const arg of process.argv.slice(2)) {
  const m = /^--([a-z-]+)=(.*)$/.exec(arg);
  if (m === null) {
    if (arg.startsWith('-')) usage(`unknown option ${arg}`);
    filters.push(arg);
    continue;
  }
  const [, key, value] = m;
  if (key === 'time' || key === 'warmup') {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) usage(`--${key} needs a positive number of milliseconds`);
    options[key === 'time' ? 'time' : 'warmupTime'] = n;
  } else if (key === 'corpus') {
    options.corpusFilter = value.split(',').filter((s) => s.length > 0);
  } else {
    usage(`unknown option --${key}`);
  }
}

function usage(msg) {
  console.error(`bench/run.mjs: ${msg}\nusage: node bench/run.mjs [name-filter...] [--time=ms] [--warmup=ms] [--corpus=a,b]`);
  process.exit(2);
}

for (const f of ['dist/index.js', 'build/conduit.wasm', 'build/conduit-scalar.wasm']) {
  if (!existsSync(path.join(root, f))) {
    console.error(`bench/run.mjs: ${f} is missing: run \`npm run build\` first`);
    process.exit(1);
  }
}

const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) usage(`no bench/*.bench.mjs matches ${filters.join(', ')}`);

console.log(machineLine());

for (const file of files) {
  console.log(`\n## ${file.replace(/\.bench\.mjs$/, '')}\n`);
  const mod = await import(pathToFileURL(path.join(here, file)).href);
  if (typeof mod.run !== 'function') {
    console.error(`${file} does not export run()`);
    process.exitCode = 1;
    continue;
  }
  await mod.run({ ...options });
}
