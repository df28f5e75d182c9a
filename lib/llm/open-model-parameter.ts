/**
 * Opens the local GGUF model a notebook names in its `model_file` and `lora_file` parameters. The
 * engine is loaded natively (lib/llm/kernel-import.ts says why): the kernel cannot `require` it.
 */
import type { LocalModel } from './local-engine.js';
import { parseLoraParameter } from './answer-provenance.js';
import { importLibModule } from './kernel-import.js';

/** `threads` 0 (or absent) leaves the CPU threads to the engine (the machine's cores). */
export async function openModelParameter(modelFile: string, loraFile = '', options: { threads?: number } = {}): Promise<LocalModel> {
  const { openLocalModel } = await importLibModule<typeof import('./local-engine.js')>('llm/local-engine');
  return openLocalModel(modelFile, { loras: parseLoraParameter(loraFile), ...(options.threads ? { threads: options.threads } : {}) });
}
