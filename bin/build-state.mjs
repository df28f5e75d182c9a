// Whether dist/ (the compiled JavaScript of lib/ and cli/, written by `npm run build`) is exactly the
// build of the sources on disk. Plain JavaScript, no dependencies: bin/hanlab.mjs and the kernel
// launcher ask this at every start, before anything else loads (a couple of milliseconds: one stat per
// source file).
//
// The build records each source's size and modification time. Any difference (an edit, a git
// checkout, a file added or removed) makes the build stale, and the callers then run the TypeScript
// sources through tsx instead: slower, never old code.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const BUILD_DIR = 'dist';
export const MANIFEST = 'build-manifest.json';
/** Folders compiled into dist/, and files whose change alters the build. */
export const SOURCE_DIRS = ['lib', 'cli'];
const BUILD_INPUTS = ['package.json', 'tsconfig.json'];

/** `{ relativePath: [size, mtimeMs] }` for every compiled source and build input under `root`. */
export function sourceState(root) {
  const state = {};
  const add = (relative) => {
    const stats = statSync(path.join(root, relative));
    state[relative.split(path.sep).join('/')] = [stats.size, Math.round(stats.mtimeMs)];
  };
  const walk = (relative) => {
    for (const entry of readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) add(child);
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  for (const file of BUILD_INPUTS) add(file);
  return state;
}

/** The dist folder when it holds the build of exactly these sources, else undefined. */
export function freshBuild(root) {
  if (process.env.HANLAB_NO_BUILD === '1') return undefined;
  const dist = path.join(root, BUILD_DIR);
  let recorded;
  try {
    recorded = JSON.parse(readFileSync(path.join(dist, MANIFEST), 'utf8')).sources;
  } catch {
    return undefined;
  }
  let current;
  try {
    current = sourceState(root);
  } catch {
    return undefined;
  }
  const names = Object.keys(current);
  if (names.length !== Object.keys(recorded).length) return undefined;
  for (const name of names) {
    const was = recorded[name];
    if (!was || was[0] !== current[name][0] || was[1] !== current[name][1]) return undefined;
  }
  return dist;
}
