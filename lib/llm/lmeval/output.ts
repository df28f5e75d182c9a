/**
 * lm-eval's output files, in its layout and its JSON: `<output>/<model_name_sanitized>/results_<date>.json`
 * (`json.dumps(indent=2, ensure_ascii=False)`: results keyed `"metric,filter"`, configs, versions,
 * n-shot, higher_is_better, n-samples, config, task_hashes, the run's timings) and, with samples,
 * `samples_<task>_<date>.jsonl` (one line per document and filter: `doc_id`, `doc`, `target`,
 * `arguments` as `gen_args_i.arg_j`, `resps` and `filtered_resps` as strings, the metrics, and the
 * SHA-256 `doc_hash` / `prompt_hash` / `target_hash`), so that tools reading lm-eval's files read hanlab's.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LanguageModelDescription } from '../language-model.js';
import { PyFloat, pyFloat, pythonJsonDumps, pythonNumberStr } from './python-json.js';
import type { LmevalGroupRun } from './groups.js';
import type { LmevalSample, LmevalTaskRun } from './runner.js';

export function hashString(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** lm-eval's `sanitize_model_name`: path separators and other unsafe characters become `__`. */
export function sanitizeModelName(name: string): string {
  return name.replace(/["<>:/|\\?*[\]]+/g, '__');
}

/** `datetime.now().isoformat().replace(":", "-")` in local time, e.g. `2026-12-07T21-30-05.123000`. */
export function lmevalDateId(date: Date): string {
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}-${pad(date.getMinutes())}-${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}000`;
}

/** Python's `str()` of what lm-eval keeps as a target or response (`sanitize_list` writes these). */
function pythonStr(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof PyFloat || typeof value === 'number') return pythonNumberStr(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null || value === undefined) return 'None';
  return String(value);
}

/** `sanitize_list`: nested lists and tuples kept, every leaf as its `str()`. */
function sanitizeList(value: unknown): unknown {
  return Array.isArray(value) ? value.map(sanitizeList) : pythonStr(value);
}

/** One sample line per filter, as `evaluate()` logs it and `save_results_samples` writes it. */
export function sampleRecords(run: LmevalTaskRun): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  for (const pipeline of run.task.filters) {
    for (const sample of run.samples) records.push(sampleRecord(sample, pipeline.name));
  }
  return records;
}

function sampleRecord(sample: LmevalSample, filter: string): Record<string, unknown> {
  const argumentsById: Record<string, Record<string, unknown>> = {};
  sample.arguments.forEach((args, i) => {
    argumentsById[`gen_args_${i}`] = Object.fromEntries(args.map((arg, j) => [`arg_${j}`, arg]));
  });
  const metrics = sample.metrics[filter];
  return {
    doc_id: sample.docId,
    doc: sample.doc,
    target: pythonStr(sample.target),
    arguments: argumentsById,
    resps: sanitizeList(sample.resps),
    filtered_resps: sanitizeList(sample.filtered[filter]),
    filter,
    metrics: Object.keys(metrics),
    doc_hash: hashString(pythonJsonDumps(sample.doc, 2)),
    prompt_hash: hashString(sample.arguments[0][0]),
    target_hash: hashString(pythonStr(sample.target)),
    ...metrics,
  };
}

export interface LmevalRunInfo {
  model: LanguageModelDescription;
  limit: number | null;
  /** The command line's --num-fewshot (null when not given). */
  numFewshot: number | null;
  startTime: number;
  endTime: number;
  /** Unix seconds when the evaluation started (lm-eval's `date`). */
  date: number;
  gitHash: string | null;
}

function sortedByKey<T>(entries: [string, T][]): Record<string, T> {
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function pyFigures(figures: Record<string, number | 'N/A'>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(figures).map(([key, value]) => [key, value === 'N/A' ? value : pyFloat(value)]));
}

/** A group's entry in `results` (and `groups`), as `Group.aggregate` returns it. */
function groupEntry(run: LmevalGroupRun): Record<string, unknown> {
  const entry: Record<string, unknown> = { alias: run.group.alias, name: run.group.group };
  if (!run.hasAggregation) return entry;
  entry.sample_len = run.sampleLen;
  Object.assign(entry, pyFigures(run.figures));
  if (Object.keys(run.sampleCount).length > 0) entry.sample_count = { ...run.sampleCount };
  return entry;
}

/** The object lm-eval writes to `results_<date>.json`; groups follow their tasks in `results`, as lm-eval aggregates them. */
export function resultsDocument(runs: readonly LmevalTaskRun[], info: LmevalRunInfo, samples: Record<string, Record<string, unknown>[]> | null, groups: readonly LmevalGroupRun[] = []): Record<string, unknown> {
  const results: Record<string, unknown> = {};
  for (const run of runs) {
    results[run.task.task] = { name: run.task.task, alias: run.task.alias, sample_len: run.samples.length, ...pyFigures(run.figures) };
  }
  for (const group of groups) results[group.group.group] = groupEntry(group);
  const aggregated = groups.filter((group) => group.hasAggregation);
  const nShot: [string, number][] = runs.map((run) => [run.task.task, run.numFewshot]);
  for (const group of groups) if (group.numFewshot !== null) nShot.push([group.group.group, group.numFewshot]);
  const higherIsBetter: [string, Record<string, boolean | null>][] = runs.map((run) => [run.task.task, Object.fromEntries(run.task.metrics.map((metric) => [metric.metric, metric.higherIsBetter]))]);
  for (const group of groups) if (Object.keys(group.higherIsBetter).length > 0) higherIsBetter.push([group.group.group, group.higherIsBetter]);
  const modelName = info.model.model;
  const modelArgs = [`pretrained=${modelName}`, ...(info.model.architecture ? [`architecture=${info.model.architecture}`] : []), ...(info.model.quantization ? [`quantization=${info.model.quantization}`] : [])];
  for (const lora of info.model.loras ?? []) modelArgs.push(`lora=${lora.file}:${lora.scale}`);
  const taskHashes: Record<string, string> = {};
  if (samples) {
    for (const [task, records] of Object.entries(samples)) {
      taskHashes[task] = hashString(records.map((record) => `${record.doc_hash}${record.prompt_hash}${record.target_hash}`).join(''));
    }
  }
  return {
    results,
    ...(aggregated.length > 0 ? { groups: Object.fromEntries(aggregated.map((group) => [group.group.group, groupEntry(group)])) } : {}),
    group_subtasks: Object.fromEntries(groups.map((group) => [group.group.group, [...group.tasks]])),
    configs: sortedByKey(runs.map((run) => [run.task.task, { ...run.task.dump, num_fewshot: run.numFewshot }])),
    versions: sortedByKey([...runs.map((run): [string, unknown] => [run.task.task, run.task.version]), ...groups.map((group): [string, unknown] => [group.group.group, group.version])]),
    'n-shot': sortedByKey(nShot),
    higher_is_better: sortedByKey(higherIsBetter),
    'n-samples': Object.fromEntries(runs.map((run) => [run.task.task, { original: run.originalCount, effective: run.samples.length }])),
    config: {
      model: 'hanlab',
      model_args: modelArgs.join(','),
      batch_size: 1,
      batch_sizes: [],
      device: info.model.build ?? null,
      use_cache: null,
      limit: info.limit,
      bootstrap_iters: 100000,
      gen_kwargs: null,
      random_seed: 0,
      numpy_seed: 1234,
      torch_seed: 1234,
      fewshot_seed: 1234,
    },
    git_hash: info.gitHash,
    date: pyFloat(info.date),
    task_hashes: taskHashes,
    model_source: 'hanlab',
    model_name: modelName,
    model_name_sanitized: sanitizeModelName(modelName),
    system_instruction: null,
    system_instruction_sha: null,
    fewshot_as_multiturn: false,
    chat_template: null,
    chat_template_sha: null,
    start_time: pyFloat(info.startTime),
    end_time: pyFloat(info.endTime),
    total_evaluation_time_seconds: String(info.endTime - info.startTime),
  };
}

export interface WrittenFiles {
  results: string;
  samples: string[];
}

/** Writes the results file (and the samples files) under `<outputPath>/<model_name_sanitized>/`. */
export function writeLmevalOutput(outputPath: string, runs: readonly LmevalTaskRun[], info: LmevalRunInfo, options: { logSamples: boolean; now?: Date; groups?: readonly LmevalGroupRun[] }): WrittenFiles {
  const dateId = lmevalDateId(options.now ?? new Date());
  const samples = options.logSamples ? Object.fromEntries(runs.map((run) => [run.task.task, sampleRecords(run)])) : null;
  const document = resultsDocument(runs, info, samples, options.groups ?? []);
  let dir: string;
  let resultsFile: string;
  if (outputPath.endsWith('.json')) {
    dir = path.dirname(outputPath);
    resultsFile = path.join(dir, `${path.basename(outputPath, '.json')}_${dateId}.json`);
  } else {
    dir = path.join(outputPath, sanitizeModelName(info.model.model));
    resultsFile = path.join(dir, `results_${dateId}.json`);
  }
  mkdirSync(dir, { recursive: true });
  const written: WrittenFiles = { results: resultsFile, samples: [] };
  if (samples) {
    for (const [task, records] of Object.entries(samples)) {
      const file = path.join(dir, `samples_${task}_${dateId}.jsonl`);
      writeFileSync(file, records.map((record) => `${pythonJsonDumps(record)}\n`).join(''), 'utf8');
      written.samples.push(file);
    }
  }
  writeFileSync(resultsFile, pythonJsonDumps(document, 2), 'utf8');
  return written;
}
