// The Node entry points' side of the loader: node:fs for reading the bundled .wasm
// synchronously (the loader itself imports no node: module, for conduit/core; it finds fs
// through process.getBuiltinModule, which Node 20 has only from 20.16). Imported for its
// effect by index.ts, cli/main.ts and the worker entry points.

import { readFileSync } from 'node:fs';
import { setSyncFs } from './loader.js';

setSyncFs({ readFileSync: (path) => readFileSync(path) });
