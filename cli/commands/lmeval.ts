/**
 * `hanlab lmeval`: lm-evaluation-harness tasks, exactly, on a model that runs in this process. Reads
 * the task YAML (hanlab ships lm-eval's KorMedMCQA 3.0), renders the prompts as lm-eval does, asks the
 * model, filters and scores as lm-eval does, prints lm-eval's summary table and writes its
 * `results_*.json` / `samples_*.jsonl`. A thin shell over lib/llm/lmeval/.
 */
import { execFileSync } from 'node:child_process';
import { UsageError } from '../../lib/errors.js';
import { GPU_CHOICES, type GpuChoice } from '../../lib/llm/gpu-choice.js';
import type { LanguageModel } from '../../lib/llm/language-model.js';
import { openLocalModel, type LocalModelOptions } from '../../lib/llm/local-engine.js';
import { planLmevalRun, runLmevalPlan, type LmevalEvaluation } from '../../lib/llm/lmeval/evaluate.js';
import type { LmevalGroupRun } from '../../lib/llm/lmeval/groups.js';
import { writeLmevalOutput } from '../../lib/llm/lmeval/output.js';
import { PyFloat, pythonNumberStr } from '../../lib/llm/lmeval/python-json.js';
import type { LmevalTaskRun } from '../../lib/llm/lmeval/runner.js';
import { parseIntegerOption, parseList, parseLoraSpec, parseNumberOption, parseOptions, usageError } from '../options.js';

const USAGE = `Usage: hanlab lmeval --tasks NAMES --model FILE.gguf --data PATH [options]

Runs lm-evaluation-harness tasks on a local model, as lm-eval runs them: the task's YAML prompts
(rendered byte for byte as jinja2 renders them), greedy generation up to the task's \`until\` strings
or the log-likelihood of each choice, the task's filters and metrics. Prints lm-eval's summary table.

  --tasks NAMES        comma-separated task names (kormedmcqa_doctor,kormedmcqa_nurse,
                       kormedmcqa_pharm,kormedmcqa_dentist ship with hanlab), group names (kormedmcqa:
                       its four tasks and their size-weighted aggregate) or task YAML files
  --model FILE.gguf    the model
  --data PATH          KorMedMCQA files: a folder (searched three levels deep) or one file; the task's
                       dataset_name picks the subset and test_split / fewshot_split the files by name
                       (doctor-test.csv, doctor/fewshot-00000-of-00001.parquet; doctor.csv counts as test)
  --limit N            only the first N questions per task (a number below 1 is a fraction)
  --num-fewshot K      few-shot examples per prompt (default: the task's num_fewshot, else 0)
  --output-path DIR    write results_<date>.json under DIR/<model name>/ (a path ending in .json
                       names the results file itself)
  --log-samples        also write samples_<task>_<date>.jsonl (needs --output-path)
  --include-path DIR   another folder of task YAML files (repeatable)
  --lora FILE[:SCALE]  a LoRA adapter in GGUF (scale default 1); repeatable
  --threads N          CPU threads (default: all cores)
  --gpu G              auto (default), off, vulkan, cuda
  --context-size N     tokens of context (default: the model's, at most 4096)
  -h, --help           show this help

Supported task settings: output_type generate_until and multiple_choice, include, doc_to_text /
doc_to_target / doc_to_choice, description, target_delimiter, fewshot_delimiter, fewshot_config
(sampler first_n or default), num_fewshot, generation_kwargs (until, max_gen_toks, do_sample,
temperature), filter_list (take_first, lowercase, uppercase, remove_whitespace, regex,
utils.ExtractChoiceFilter), metric_list (exact_match with its options; acc, acc_norm). Any other
setting that would change the result is refused with the file and field named (exit 2).`;

const OPTIONS = {
  tasks: { type: 'string' },
  model: { type: 'string' },
  data: { type: 'string' },
  limit: { type: 'string' },
  'num-fewshot': { type: 'string' },
  'output-path': { type: 'string' },
  'log-samples': { type: 'boolean', default: false },
  'include-path': { type: 'string', multiple: true },
  lora: { type: 'string', multiple: true },
  threads: { type: 'string' },
  gpu: { type: 'string' },
  'context-size': { type: 'string' },
} as const;

/** Opens the model a `--model` path names, with the engine options of the command line. */
export type ModelOpener = (file: string, options: LocalModelOptions) => Promise<LanguageModel>;

function gitHash(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

function formatValue(value: number | 'N/A' | undefined): string {
  return typeof value === 'number' ? value.toFixed(4) : 'N/A';
}

function versionText(version: unknown): string {
  return version instanceof PyFloat || typeof version === 'number' ? pythonNumberStr(version) : String(version);
}

/** lm-eval's `make_table` (markdown): one row per task (or group), filter and metric. */
function markdownTable(title: 'Tasks' | 'Groups', rows: string[][]): string {
  const header = [title, 'Version', 'Filter', 'n-shot', 'Metric', '', 'Value', '', 'Stderr'];
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `|${cells.map((cell, i) => cell.padEnd(widths[i])).join('|')}|`;
  const rule = `|${widths.map((width, i) => ([1, 3, 6, 8].includes(i) ? `${'-'.repeat(Math.max(width - 1, 1))}:` : '-'.repeat(width))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** lm-eval's summary: the tasks' table, then (when groups were named) the groups' table. */
export function formatLmevalTable(runs: readonly LmevalTaskRun[], groups: readonly LmevalGroupRun[] = []): string {
  const rows: string[][] = [];
  for (const run of runs) {
    for (const pipeline of run.task.filters) {
      for (const metric of run.task.metrics) {
        const key = `${metric.metric},${pipeline.name}`;
        if (!(key in run.figures)) continue;
        rows.push([
          run.task.alias, versionText(run.task.version), pipeline.name, String(run.numFewshot), metric.metric,
          metric.higherIsBetter ? '↑' : '↓', formatValue(run.figures[key]), '±', formatValue(run.figures[`${metric.metric}_stderr,${pipeline.name}`]),
        ]);
      }
    }
  }
  const groupRows: string[][] = [];
  for (const group of groups) {
    for (const entry of group.group.aggregate) {
      const key = `${entry.metric},${entry.filter}`;
      if (!(key in group.figures)) continue;
      const higher = group.higherIsBetter[entry.metric];
      groupRows.push([
        group.group.alias, group.version, entry.filter, group.numFewshot === null ? '' : String(group.numFewshot), entry.metric,
        higher === true ? '↑' : higher === false ? '↓' : ' ', formatValue(group.figures[key]), '±', formatValue(group.figures[`${entry.metric}_stderr,${entry.filter}`]),
      ]);
    }
  }
  return groupRows.length > 0 ? `${markdownTable('Tasks', rows)}\n\n${markdownTable('Groups', groupRows)}` : markdownTable('Tasks', rows);
}

/** The command with its model opener given (tests pass a scripted model). */
export async function runLmevalCommand(argv: string[], openModel: ModelOpener): Promise<number> {
  const values = parseOptions(argv, USAGE, OPTIONS);
  if (!values) return 0;
  if (!values.tasks) throw usageError('--tasks is required', USAGE);
  if (!values.model) throw usageError('--model is required', USAGE);
  if (!values.data) throw usageError('--data is required', USAGE);
  if (values['log-samples'] && !values['output-path']) throw usageError('--log-samples needs --output-path (lm-eval asks the same)', USAGE);
  const limit = values.limit === undefined ? null : parseNumberOption(values.limit, '--limit', 0, (value) => value > 0, 'a number > 0');
  const numFewshot = values['num-fewshot'] === undefined ? null : parseIntegerOption(values['num-fewshot'], '--num-fewshot', 0, { min: 0 });
  const gpu = values.gpu ?? 'auto';
  if (!(GPU_CHOICES as readonly string[]).includes(gpu)) throw new UsageError(`--gpu must be one of ${GPU_CHOICES.join(', ')}, not "${gpu}"`);
  const engineOptions: LocalModelOptions = {
    gpu: gpu as GpuChoice,
    loras: (values.lora ?? []).map((spec) => parseLoraSpec(spec)),
    threads: values.threads === undefined ? undefined : parseIntegerOption(values.threads, '--threads', 0, { min: 1 }),
    contextSize: values['context-size'] === undefined ? undefined : parseIntegerOption(values['context-size'], '--context-size', 0, { min: 16 }),
  };
  // All task data is read and checked before the model loads: a bad file costs no model start.
  const plan = await planLmevalRun(parseList(values.tasks, '--tasks'), { dataPath: values.data, includePaths: values['include-path'] ?? [], numFewshot });
  const startTime = performance.now() / 1000;
  const date = Date.now() / 1000;
  const model = await openModel(values.model, engineOptions);
  let evaluation: LmevalEvaluation;
  try {
    evaluation = await runLmevalPlan(model, plan, {
      limit,
      numFewshot,
      onTaskDone: (run, seconds) => {
        console.error(`hanlab lmeval: ${run.task.task}: ${run.samples.length} questions in ${seconds.toFixed(1)} s (${(run.samples.length / Math.max(seconds, 1e-9)).toFixed(2)} questions/s)`);
      },
    });
  } finally {
    await model.dispose();
  }
  const endTime = performance.now() / 1000;
  console.log(formatLmevalTable(evaluation.runs, evaluation.groups));
  if (values['output-path']) {
    const written = writeLmevalOutput(
      values['output-path'],
      evaluation.runs,
      { model: model.description, limit, numFewshot, startTime, endTime, date, gitHash: gitHash() },
      { logSamples: values['log-samples'], groups: evaluation.groups },
    );
    console.error(`hanlab lmeval: wrote ${[written.results, ...written.samples].join(', ')}`);
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  return runLmevalCommand(argv, (file, options) => openLocalModel(file, options));
}
