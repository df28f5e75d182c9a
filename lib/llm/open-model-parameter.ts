/**
 * Opens the local GGUF model a notebook names in its `model_file` and `lora_file` parameters.
 * node-llama-cpp is an ES module with top-level await, which the notebook kernel's CommonJS `require`
 * cannot load: the engine is imported dynamically here (as generate() does), never statically by a notebook.
 */
import type { LocalModel } from './local-engine.js';
import { parseLoraParameter } from './answer-provenance.js';

export async function openModelParameter(modelFile: string, loraFile = ''): Promise<LocalModel> {
  const { openLocalModel } = await import('./local-engine.js');
  return openLocalModel(modelFile, { loras: parseLoraParameter(loraFile) });
}
