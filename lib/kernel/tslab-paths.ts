/**
 * Where tslab and the TypeScript it compiles with live in a project, for the kernel's two threads (the
 * engine in the kernel's thread, the compiler in its worker): both must load the very same files.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

export interface TslabPaths {
  /** node_modules/tslab. */
  tslabDir: string;
  /** tslab's own TypeScript (@tslab/typescript-for-tslab), the file its converter requires. */
  typescript: string;
  /** package.json of that TypeScript (its version names the language in kernel_info). */
  typescriptPackage: string;
  /** A file of tslab's dist/ folder (converter.js, executor.js, inspect.js, jupyter.js). */
  dist(file: string): string;
}

export function tslabPaths(root: string): TslabPaths {
  const require = createRequire(path.join(path.resolve(root), 'package.json'));
  const tslabDir = path.dirname(require.resolve('tslab/package.json'));
  return {
    tslabDir,
    typescript: require.resolve('@tslab/typescript-for-tslab', { paths: [tslabDir] }),
    typescriptPackage: require.resolve('@tslab/typescript-for-tslab/package.json', { paths: [tslabDir] }),
    dist: (file) => path.join(tslabDir, 'dist', file),
  };
}
