#!/usr/bin/env node
// Builds the native transport with node-gyp (npm's own copy: npm hands its path to
// scripts as npm_config_node_gyp). The addon is optional: when it cannot be built,
// Conduit runs on node:net, so a failure here is reported and install goes on.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
if (process.env.CONDUIT_SKIP_NATIVE === '1') {
  console.log('conduit: CONDUIT_SKIP_NATIVE=1, native transport not built (node:net will be used)');
  process.exit(0);
}
let gyp = process.env.npm_config_node_gyp;
if (!gyp || !existsSync(gyp)) {
  // Outside npm scripts: npm's bundled node-gyp next to the npm that runs node.
  const npmDir = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  try {
    gyp = createRequire(path.join(npmDir, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    gyp = undefined;
  }
}
if (!gyp) {
  console.warn('conduit: node-gyp not found; native transport not built (node:net will be used)');
  process.exit(0);
}
// Build against the headers of the running node when it has them (no download: the
// build machine may have no network); npm passes its nodedir setting the same way.
const args = [gyp, 'rebuild'];
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir
  || (existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
if (nodedir) args.push(`--nodedir=${nodedir}`);
const r = spawnSync(process.execPath, args, { cwd: here, stdio: 'inherit' });
if (r.status !== 0) {
  console.warn('conduit: the native transport did not build; Conduit will run on node:net');
}
