/**
 * Runs one lm-eval task on a `LanguageModel`, in lm-eval's order: every document's requests are
 * built first (few-shot context, then `generate_until` or one log-likelihood request per choice), the
 * model answers them, each filter pipeline turns the responses into answers, and `process_results`
 * scores every document per filter; the task's figures are the mean and its standard error per
 * (metric, filter). The model is an interface: the local GGUF engine, or a scripted model in tests.
 */
import type { LanguageModel } from '../language-model.js';
import { applyFilterSteps } from './filters.js';
import { exactMatch, mean, meanStderr, multipleChoiceScores } from './metrics.js';
import { docToChoice, docToTarget, FewshotSampler, fewshotContext, type LmevalDoc } from './prompts.js';
import { PyFloat, pyFloat } from './python-json.js';
import type { LmevalTaskConfig } from './task-config.js';

export interface LmevalTaskData {
  /** The documents evaluated (the test split, else the validation split), in file order. */
  evalDocs: LmevalDoc[];
  /** The documents few-shot examples come from (null: none available). */
  fewshotDocs: LmevalDoc[] | null;
  /** True when few-shot examples come from the evaluated split itself (the sampler then skips the question). */
  fewshotFromTestSplit: boolean;
}

export interface LmevalRunOptions {
  /** `--limit`: the first N documents, or a fraction (0 < x < 1) of them, rounded up. */
  limit?: number | null;
  /** `--num-fewshot`: overrides the task's num_fewshot unless the task sets it to 0 (as lm-eval). */
  numFewshot?: number | null;
  /** lm-eval's `fewshot_random_seed` (1234). */
  fewshotSeed?: number;
  onProgress?(done: number, total: number): void;
  signal?: AbortSignal;
}

/** One request as lm-eval logs it in `arguments`: `(context, generation_kwargs)` or `(context, continuation)`. */
export type RequestArguments = [string, Record<string, unknown>] | [string, string];
/** A raw response: generated text, or `(loglikelihood, is_greedy)`. */
export type RawResponse = string | [PyFloat, boolean];

export interface LmevalSample {
  docId: number;
  doc: LmevalDoc;
  target: string | number;
  arguments: RequestArguments[];
  /** Per request, its responses (one: hanlab runs each request once). */
  resps: RawResponse[][];
  /** Per filter: per request, the filtered response. */
  filtered: Record<string, unknown[]>;
  /** Per filter: the document's metrics, in lm-eval's order. */
  metrics: Record<string, Record<string, PyFloat>>;
}

export interface LmevalTaskRun {
  task: LmevalTaskConfig;
  numFewshot: number;
  /** Documents in the evaluated split (`n-samples.original`). */
  originalCount: number;
  samples: LmevalSample[];
  /** `"metric,filter"` → mean, `"metric_stderr,filter"` → standard error or "N/A". */
  figures: Record<string, number | 'N/A'>;
}

/** How many documents `--limit` keeps, as lm-eval: a fraction below 1 is of the split, rounded up. */
export function effectiveLimit(limit: number | null | undefined, total: number): number {
  if (limit === null || limit === undefined) return total;
  const count = limit < 1 ? Math.ceil(total * limit) : Math.floor(limit);
  return Math.min(count, total);
}

/** The number of few-shot examples used: `--num-fewshot` unless the task pins num_fewshot: 0. */
export function resolveNumFewshot(task: LmevalTaskConfig, requested: number | null | undefined): number {
  if (requested !== null && requested !== undefined) return task.numFewshot === 0 ? 0 : requested;
  return task.numFewshot ?? 0;
}

/** `deepcopy(generation_kwargs)`, keeping PyFloat values (immutable, so shared). */
function copyKwargs<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copyKwargs) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof PyFloat)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, copyKwargs(item)])) as T;
  }
  return value;
}

/** Every document's requests, as `build_all_requests` makes them. */
export function buildTaskRequests(task: LmevalTaskConfig, data: LmevalTaskData, options: LmevalRunOptions = {}): { docId: number; doc: LmevalDoc; arguments: RequestArguments[] }[] {
  const numFewshot = resolveNumFewshot(task, options.numFewshot);
  const sampler = data.fewshotDocs ? new FewshotSampler(task, data.fewshotDocs, options.fewshotSeed ?? 1234) : null;
  const count = effectiveLimit(options.limit, data.evalDocs.length);
  return data.evalDocs.slice(0, count).map((doc, docId) => {
    const context = fewshotContext(task, doc, numFewshot, sampler, data.fewshotFromTestSplit);
    if (task.outputType === 'generate_until') {
      return { docId, doc, arguments: [[context, copyKwargs(task.generation!.logged)] as RequestArguments] };
    }
    return { docId, doc, arguments: docToChoice(task, doc).map((choice): RequestArguments => [context, `${task.targetDelimiter}${choice}`]) };
  });
}

function scoreDocument(task: LmevalTaskConfig, doc: LmevalDoc, filtered: unknown[]): Record<string, PyFloat> {
  const scores: Record<string, PyFloat> = {};
  if (task.outputType === 'generate_until') {
    const result = filtered[0];
    let gold: unknown = docToTarget(task, doc);
    if (task.docToChoice !== null) {
      const choices = docToChoice(task, doc);
      gold = typeof gold === 'number' ? choices[gold < 0 ? choices.length + gold : gold] : gold;
    } else if (typeof gold !== typeof result) {
      gold = String(gold); // lm-eval casts the gold to the result's type (str)
    }
    if (typeof result !== 'string' || typeof gold !== 'string') throw new Error('exact_match needs text: the filters must end with one string per request');
    for (const metric of task.metrics) scores[metric.metric] = pyFloat(exactMatch(result, gold, metric.exactMatch));
    return scores;
  }
  const choices = docToChoice(task, doc);
  const loglikelihoods = filtered.map((response) => {
    if (!Array.isArray(response) || !(response[0] instanceof PyFloat)) throw new Error('multiple_choice filters must keep (loglikelihood, is_greedy) pairs');
    return response[0].value;
  });
  const target = docToTarget(task, doc);
  const gold = typeof target === 'number' ? (target < choices.length ? target : -100) : choices.includes(target) ? choices.indexOf(target) : -100;
  const { acc, acc_norm } = multipleChoiceScores(loglikelihoods, choices, gold);
  const used = new Set(task.metrics.map((metric) => metric.metric));
  if (used.has('acc')) scores.acc = pyFloat(acc);
  if (used.has('acc_norm')) scores.acc_norm = pyFloat(acc_norm);
  return scores;
}

/** Runs a task end to end on a model. */
export async function runLmevalTask(model: LanguageModel, task: LmevalTaskConfig, data: LmevalTaskData, options: LmevalRunOptions = {}): Promise<LmevalTaskRun> {
  const numFewshot = resolveNumFewshot(task, options.numFewshot);
  const documents = buildTaskRequests(task, data, options);
  const total = documents.reduce((sum, document) => sum + document.arguments.length, 0);
  let done = 0;
  const resps: RawResponse[][][] = [];
  for (const document of documents) {
    const docResps: RawResponse[][] = [];
    for (const [context, second] of document.arguments) {
      options.signal?.throwIfAborted();
      if (typeof second === 'string') {
        const { logprob, isGreedy } = await model.loglikelihood(context, second);
        docResps.push([[pyFloat(logprob), isGreedy]]);
      } else {
        const generation = task.generation!;
        const completion = await model.complete(context, {
          until: generation.until,
          maxTokens: generation.maxGenToks,
          temperature: generation.temperature,
          signal: options.signal,
        });
        docResps.push([completion.text]);
      }
      options.onProgress?.(++done, total);
    }
    resps.push(docResps);
  }
  // Filters run over all of the task's requests at once (lm-eval's FilterEnsemble.apply).
  const flat = resps.flat();
  const filteredByName: Record<string, unknown[][]> = {};
  for (const pipeline of task.filters) {
    const filtered = applyFilterSteps(pipeline.steps, flat);
    let offset = 0;
    filteredByName[pipeline.name] = resps.map((docResps) => {
      const slice = filtered.slice(offset, offset + docResps.length);
      offset += docResps.length;
      return slice;
    });
  }
  const samples: LmevalSample[] = documents.map((document, index) => {
    const filtered: Record<string, unknown[]> = {};
    const metrics: Record<string, Record<string, PyFloat>> = {};
    for (const pipeline of task.filters) {
      filtered[pipeline.name] = filteredByName[pipeline.name][index];
      metrics[pipeline.name] = scoreDocument(task, document.doc, filtered[pipeline.name]);
    }
    return { docId: document.docId, doc: document.doc, target: docToTarget(task, document.doc), arguments: document.arguments, resps: resps[index], filtered, metrics };
  });
  const figures: Record<string, number | 'N/A'> = {};
  for (const pipeline of task.filters) {
    const names = samples.length > 0 ? Object.keys(samples[0].metrics[pipeline.name]) : [];
    for (const metric of names) {
      const values = samples.map((sample) => sample.metrics[pipeline.name][metric].value);
      figures[`${metric},${pipeline.name}`] = mean(values);
      figures[`${metric}_stderr,${pipeline.name}`] = meanStderr(values);
    }
  }
  return { task, numFewshot, originalCount: data.evalDocs.length, samples, figures };
}
