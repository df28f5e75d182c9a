/**
 * Runs lm-eval tasks from a notebook (notebook 05's `-p model_file=...`) on the same path as `hanlab
 * lmeval` (lib/llm/lmeval/evaluate.ts): task or group names, the task files hanlab ships, the data
 * folder, and the model a notebook opened with `openModelParameter`. The lm-eval code is loaded natively
 * (lib/llm/kernel-import.ts says why): the kernel cannot `require` it.
 */
import type { LanguageModel } from './language-model.js';
import { importLibModule } from './kernel-import.js';
import type { LmevalEvaluation, LmevalEvaluateOptions, LmevalPlanOptions } from './lmeval/evaluate.js';

export type { LmevalEvaluation };

export async function evaluateLmevalParameter(model: LanguageModel, tasks: readonly string[], options: LmevalPlanOptions & LmevalEvaluateOptions): Promise<LmevalEvaluation> {
  const { evaluateLmevalTasks } = await importLibModule<typeof import('./lmeval/evaluate.js')>('llm/lmeval/evaluate');
  return evaluateLmevalTasks(model, tasks, options);
}
