#!/usr/bin/env node
// The `hanlab` command. Runs the compiled CLI from dist/ when that build matches the sources exactly
// (`npm ci` builds it; `npm run build` rebuilds it); otherwise the TypeScript sources through tsx,
// so a stale build never runs old code.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freshBuild } from './build-state.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = freshBuild(root);
let main;
if (dist) {
  ({ main } = await import(pathToFileURL(path.join(dist, 'cli', 'hanlab.js')).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/hanlab.ts'));
}
process.exitCode = await main(process.argv.slice(2));
