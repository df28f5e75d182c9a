/**
 * An lm-eval evaluation from task names to figures, the one path that `hanlab lmeval` and notebook 05
 * both take: the names (tasks, groups or YAML files) are resolved against hanlab's shipped task files
 * and any `--include-path` folders, every task's documents are read and checked before a model is
 * needed (`planLmevalRun`), then each task runs on the model and each group named is aggregated from
 * its tasks (`runLmevalPlan`).
 */
import type { LanguageModel } from '../language-model.js';
import { aggregateGroup, type LmevalGroupRun } from './groups.js';
import { resolveNumFewshot, runLmevalTask, type LmevalRunOptions, type LmevalTaskData, type LmevalTaskRun } from './runner.js';
import type { LmevalGroupConfig, LmevalTaskConfig } from './task-config.js';
import { loadLmevalTaskData } from './task-data.js';
import { indexTasks, resolveTasks, shippedTasksDir } from './task-index.js';

export interface LmevalPlanOptions {
  /** KorMedMCQA files: a folder or one file. */
  dataPath: string;
  /** More folders of task YAML files, after the shipped ones. */
  includePaths?: readonly string[];
  numFewshot?: number | null;
}

export interface LmevalPlan {
  tasks: LmevalTaskConfig[];
  groups: LmevalGroupConfig[];
  /** Per task, in the same order: its documents. */
  data: LmevalTaskData[];
}

export interface LmevalEvaluation {
  runs: LmevalTaskRun[];
  groups: LmevalGroupRun[];
}

export interface LmevalEvaluateOptions extends Omit<LmevalRunOptions, 'onProgress'> {
  /** Called when a task has run, with its wall time in seconds. */
  onTaskDone?(run: LmevalTaskRun, seconds: number): void;
  onProgress?(task: string, done: number, total: number): void;
}

/** Resolves the names and reads every task's documents (bad names, task files or data fail here, before any model loads). */
export async function planLmevalRun(names: readonly string[], options: LmevalPlanOptions): Promise<LmevalPlan> {
  const index = indexTasks([shippedTasksDir(), ...(options.includePaths ?? [])]);
  const { tasks, groups } = resolveTasks(names, index);
  const data: LmevalTaskData[] = [];
  for (const task of tasks) data.push(await loadLmevalTaskData(task, options.dataPath, resolveNumFewshot(task, options.numFewshot)));
  return { tasks, groups, data };
}

/** Runs every task of the plan on the model, in order, then aggregates the groups. */
export async function runLmevalPlan(model: LanguageModel, plan: LmevalPlan, options: LmevalEvaluateOptions = {}): Promise<LmevalEvaluation> {
  const runs: LmevalTaskRun[] = [];
  for (const [i, task] of plan.tasks.entries()) {
    const started = performance.now();
    const run = await runLmevalTask(model, task, plan.data[i], {
      limit: options.limit,
      numFewshot: options.numFewshot,
      fewshotSeed: options.fewshotSeed,
      signal: options.signal,
      onProgress: options.onProgress ? (done, total) => options.onProgress!(task.task, done, total) : undefined,
    });
    options.onTaskDone?.(run, (performance.now() - started) / 1000);
    runs.push(run);
  }
  return { runs, groups: plan.groups.map((group) => aggregateGroup(group, runs)) };
}

/** Plan and run in one call (what a notebook needs). */
export async function evaluateLmevalTasks(model: LanguageModel, names: readonly string[], options: LmevalPlanOptions & LmevalEvaluateOptions): Promise<LmevalEvaluation> {
  return runLmevalPlan(model, await planLmevalRun(names, options), options);
}
