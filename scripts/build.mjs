#!/usr/bin/env node
// `npm run build` (and `prepare`, so `npm ci` runs it): compiles lib/ and cli/ to dist/ with esbuild,
// file by file (no bundling, same folder layout), so `hanlab` and the kernels start without compiling
// TypeScript at every call. Type checking stays with `npm run typecheck`.
//
// The new build is written beside the old one and swapped in with renames, so a process starting
// meanwhile sees either a complete build or none (and then runs the sources through tsx). The manifest
// records the sources it was built from (bin/build-state.mjs), so a stale build is never used.
import { build } from 'esbuild';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_DIR, MANIFEST, freshBuild, sourceState } from '../bin/build-state.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
// `--if-stale` (npm start, npm test): nothing to do when dist/ is the build of these sources.
if (process.argv.includes('--if-stale') && freshBuild(root)) process.exit(0);
// Recorded before compiling: a source edited during the build makes the build stale, not wrong.
const sources = sourceState(root);
const entryPoints = Object.keys(sources).filter((file) => file.endsWith('.ts')).map((file) => path.join(root, file));
const staging = path.join(root, `${BUILD_DIR}.tmp-${process.pid}`);
rmSync(staging, { recursive: true, force: true });
try {
  await build({
    entryPoints,
    outdir: staging,
    outbase: root,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  writeFileSync(path.join(staging, MANIFEST), JSON.stringify({ builtAt: new Date().toISOString(), sources }, null, 1) + '\n');
  const dist = path.join(root, BUILD_DIR);
  const retired = path.join(root, `${BUILD_DIR}.old-${process.pid}`);
  if (existsSync(dist)) renameSync(dist, retired);
  renameSync(staging, dist);
  rmSync(retired, { recursive: true, force: true });
} catch (error) {
  rmSync(staging, { recursive: true, force: true });
  throw error;
}
if (!process.argv.includes('--quiet')) console.error(`hanlab: built ${entryPoints.length} modules into ${BUILD_DIR}/ in ${Date.now() - started} ms`);
