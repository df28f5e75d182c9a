/**
 * Loads a lib/ module natively (as an ES module) from code that the notebook kernel runs. tslab compiles
 * the lib/ files a notebook imports to CommonJS, and that output cannot load ES-only code: node-llama-cpp
 * (an ES module with top-level await) fails, and so does lm-eval's task code ("exports is not defined in
 * ES module scope"). Such modules are therefore imported by file URL: the compiled build when the kernel
 * runs from dist/, else the TypeScript source through the tsx loader the kernel registered.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Imports `lib/<relative>` (written without extension, e.g. `llm/local-engine`) natively. */
export async function importLibModule<T>(relative: string): Promise<T> {
  // A specifier TypeScript cannot see through, so that the CommonJS output keeps a native import()
  // (the text is this constant, never input).
  const importNative = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;
  const root = process.env.HANLAB_PROJECT_ROOT ?? process.cwd();
  // The same choice the kernel launcher made (kernels/launch-tslab.cjs): dist/ when it is fresh.
  const { freshBuild } = (await importNative(pathToFileURL(path.join(root, 'bin', 'build-state.mjs')).href)) as { freshBuild(root: string): string | undefined };
  const dist = freshBuild(root);
  const file = dist ? path.join(dist, 'lib', `${relative}.js`) : path.join(root, 'lib', `${relative}.ts`);
  return (await importNative(pathToFileURL(file).href)) as T;
}
