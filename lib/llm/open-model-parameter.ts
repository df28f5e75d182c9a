/**
 * Opens the local GGUF model a notebook names in its `model_file` and `lora_file` parameters.
 * node-llama-cpp is an ES module with top-level await, which the notebook kernel's CommonJS `require`
 * (tslab compiles lib/ files it imports to CommonJS) cannot load. The engine is therefore imported
 * natively, by file URL: the compiled build when the kernel runs from dist/, else the TypeScript
 * source through the tsx loader the kernel registered.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LocalModel } from './local-engine.js';
import { parseLoraParameter } from './answer-provenance.js';

export async function openModelParameter(modelFile: string, loraFile = ''): Promise<LocalModel> {
  // A specifier TypeScript cannot see through, so that the CommonJS output keeps a native import()
  // (the text is this constant, never input).
  const importNative = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;
  const root = process.env.HANLAB_PROJECT_ROOT ?? process.cwd();
  // The same choice the kernel launcher made (kernels/launch-tslab.cjs): dist/ when it is fresh.
  const { freshBuild } = (await importNative(pathToFileURL(path.join(root, 'bin', 'build-state.mjs')).href)) as { freshBuild(root: string): string | undefined };
  const dist = freshBuild(root);
  const engine = dist ? path.join(dist, 'lib', 'llm', 'local-engine.js') : path.join(root, 'lib', 'llm', 'local-engine.ts');
  const { openLocalModel } = (await importNative(pathToFileURL(engine).href)) as typeof import('./local-engine.js');
  return openLocalModel(modelFile, { loras: parseLoraParameter(loraFile) });
}
