/**
 * A group's figures from its tasks' figures, as lm-eval's `Group.aggregate` computes them
 * (lm_eval/api/group.py, lm_eval/api/metrics.py): for each `aggregate_metric_list` entry, the mean of
 * the tasks' values weighted by their evaluated sizes (`aggregate_subtask_metrics`, `weight_by_size`),
 * and the pooled standard error (`pooled_sample_stderr`), "N/A" when a task has none. The group's
 * `n-shot` and `higher_is_better` come from its tasks where they agree.
 */
import { pythonNumberStr, PyFloat } from './python-json.js';
import type { LmevalTaskRun } from './runner.js';
import type { LmevalGroupConfig } from './task-config.js';

export interface LmevalGroupRun {
  group: LmevalGroupConfig;
  /** The group's tasks, in the group file's order. */
  tasks: string[];
  /** Sum of the tasks' evaluated documents (lm-eval's group `sample_len`). */
  sampleLen: number;
  /** `"metric,filter"` → mean, `"metric_stderr,filter"` → pooled standard error or "N/A"; in lm-eval's order. */
  figures: Record<string, number | 'N/A'>;
  /** `"metric,filter"` → the documents it was aggregated over (lm-eval's `sample_count`). */
  sampleCount: Record<string, number>;
  /** The tasks' n-shot when they all agree, else null (lm-eval then leaves the group out of `n-shot`). */
  numFewshot: number | null;
  /** lm-eval's `versions` entry of a group: `str(metadata.version)`, else "N/A". */
  version: string;
  /** Metric → higher is better, where the tasks agree (null where they disagree). */
  higherIsBetter: Record<string, boolean | null>;
  /** True when the group names metrics to aggregate (lm-eval lists only those under `groups`). */
  hasAggregation: boolean;
}

/** `aggregate_subtask_metrics`: the size-weighted mean (plain mean without `weight_by_size`). */
export function aggregateSubtaskMetrics(values: readonly number[], sizes: readonly number[], weightBySize: boolean): number {
  const weights = weightBySize ? sizes : sizes.map(() => 1);
  return values.reduce((sum, value, i) => sum + value * weights[i], 0) / weights.reduce((sum, weight) => sum + weight, 0);
}

/** `pooled_sample_stderr`: √(Σ (nᵢ − 1)·seᵢ²·nᵢ / (N − k) / N). */
export function pooledSampleStderr(stderrs: readonly number[], sizes: readonly number[]): number {
  const total = sizes.reduce((sum, size) => sum + size, 0);
  const pooledVariance = stderrs.reduce((sum, stderr, i) => sum + (sizes[i] - 1) * stderr ** 2 * sizes[i], 0) / (total - sizes.length);
  return Math.sqrt(pooledVariance / total);
}

function versionString(version: unknown): string {
  if (version === null || version === undefined) return 'N/A';
  if (version instanceof PyFloat || typeof version === 'number') return pythonNumberStr(version);
  if (typeof version === 'boolean') return version ? 'True' : 'False';
  return String(version);
}

/** The group's figures from the runs of its tasks (every task of the group must be among them). */
export function aggregateGroup(group: LmevalGroupConfig, runs: readonly LmevalTaskRun[]): LmevalGroupRun {
  const members = group.tasks.map((name) => {
    const run = runs.find((candidate) => candidate.task.task === name);
    if (!run) throw new Error(`group ${group.group}: task ${name} did not run`);
    return run;
  });
  const figures: Record<string, number | 'N/A'> = {};
  const sampleCount: Record<string, number> = {};
  for (const entry of group.aggregate) {
    const key = `${entry.metric},${entry.filter}`;
    const stderrKey = `${entry.metric}_stderr,${entry.filter}`;
    const holding = members.filter((run) => typeof run.figures[key] === 'number');
    if (holding.length === 0) continue; // lm-eval warns and leaves the metric out
    const values = holding.map((run) => run.figures[key] as number);
    const sizes = holding.map((run) => run.samples.length);
    const stderrs = holding.map((run) => run.figures[stderrKey]);
    figures[key] = aggregateSubtaskMetrics(values, sizes, entry.weightBySize);
    figures[stderrKey] = stderrs.every((stderr): stderr is number => typeof stderr === 'number') ? pooledSampleStderr(stderrs, sizes) : 'N/A';
    sampleCount[key] = sizes.reduce((sum, size) => sum + size, 0);
  }
  const shots = new Set(members.map((run) => run.numFewshot));
  const higherIsBetter: Record<string, boolean | null> = {};
  for (const run of members) {
    for (const metric of run.task.metrics) {
      if (!(metric.metric in higherIsBetter)) higherIsBetter[metric.metric] = metric.higherIsBetter;
      else if (higherIsBetter[metric.metric] !== null && higherIsBetter[metric.metric] !== metric.higherIsBetter) higherIsBetter[metric.metric] = null;
    }
  }
  return {
    group,
    tasks: [...group.tasks],
    sampleLen: members.reduce((sum, run) => sum + run.samples.length, 0),
    figures,
    sampleCount,
    numFewshot: shots.size === 1 ? [...shots][0] : null,
    version: versionString(group.version),
    higherIsBetter,
    hasAggregation: group.aggregate.length > 0,
  };
}
