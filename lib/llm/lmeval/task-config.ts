/**
 * lm-eval task YAML, read as lm-eval reads it (PyYAML's YAML 1.1, `include` merged under the file's
 * own keys, `!function` tags) and checked against what hanlab can run exactly. Every key lm-eval's
 * `TaskConfig` knows is either carried out, or harmless (labels such as `tag`), or refused with one
 * line naming the file and field: a task hanlab would score differently from lm-eval never runs.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isScalar, parseDocument, visit, type DocumentOptions, type ParseOptions, type ScalarTag, type SchemaOptions } from 'yaml';
import { InputError } from '../../errors.js';
import { FILTER_FUNCTIONS, type FilterStep } from './filters.js';
import { EXACT_MATCH_OPTIONS, type ExactMatchOptions } from './metrics.js';
import { PyFloat, pyFloat } from './python-json.js';
import { pythonRegExp, UnsupportedPythonRegex } from './python-text.js';

/** A `!function module.name` reference (Python code lm-eval would import next to the YAML). */
export class FunctionRef {
  constructor(readonly name: string) {}
  toString(): string {
    return `!function ${this.name}`;
  }
  toJSON(): string {
    return this.toString();
  }
}

const FUNCTION_TAG: ScalarTag = {
  tag: '!function',
  resolve: (value: string) => new FunctionRef(value.trim()),
  identify: (value: unknown) => value instanceof FunctionRef,
};

export type OutputType = 'generate_until' | 'multiple_choice';
export const SUPPORTED_OUTPUT_TYPES: readonly OutputType[] = ['generate_until', 'multiple_choice'];
const LM_EVAL_OUTPUT_TYPES = ['loglikelihood', 'loglikelihood_rolling', 'generate_until', 'multiple_choice'];

/** A field that lm-eval renders per document: a template string, a column name, or (choices) a literal list. */
export type DocField = string | number | readonly string[] | null;

export interface FewshotSettings {
  sampler: 'first_n' | 'default';
  split: string | null;
  docToText: DocField;
  docToTarget: DocField;
  docToChoice: DocField;
  targetDelimiter: string;
  fewshotDelimiter: string;
}

export interface GenerationSettings {
  until: string[];
  maxGenToks: number;
  doSample: boolean;
  temperature: number;
  /** As lm-eval passes them to the model and logs them (`arguments.gen_args_0.arg_1`). */
  logged: Record<string, unknown>;
}

export interface MetricSetting {
  metric: 'exact_match' | 'acc' | 'acc_norm';
  aggregation: 'mean';
  higherIsBetter: boolean;
  exactMatch: ExactMatchOptions;
}

export interface FilterPipeline {
  name: string;
  steps: FilterStep[];
}

export interface LmevalTaskConfig {
  task: string;
  alias: string;
  /** The YAML file that named the task. */
  file: string;
  datasetPath: string | null;
  datasetName: string | null;
  testSplit: string | null;
  validationSplit: string | null;
  trainingSplit: string | null;
  fewshotSplit: string | null;
  outputType: OutputType;
  description: string;
  docToText: DocField;
  docToTarget: DocField;
  docToChoice: DocField;
  targetDelimiter: string;
  fewshotDelimiter: string;
  fewshot: FewshotSettings;
  numFewshot: number | null;
  generation: GenerationSettings | null;
  metrics: MetricSetting[];
  filters: FilterPipeline[];
  /** `metadata.version`, lm-eval's `versions` entry (the string "Yaml" when absent, as lm-eval). */
  version: unknown;
  /** The merged YAML as lm-eval dumps it in `results_*.json`'s `configs`. */
  dump: Record<string, unknown>;
}

/** A group file (`group:` + `task:` list), e.g. `_kormedmcqa.yaml`. */
export interface LmevalGroupConfig {
  group: string;
  /** `group_alias`, else the group's name (lm-eval's `alias`). */
  alias: string;
  file: string;
  tasks: string[];
  aggregate: { metric: string; filter: string; weightBySize: boolean }[];
  version: unknown;
}

const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1', // PyYAML reads YAML 1.1 (yes/no are booleans, 010 is octal)
  customTags: [FUNCTION_TAG],
  uniqueKeys: false, // PyYAML keeps the last of duplicated keys
  prettyErrors: true, // errors carry their line
};

/** Reads one YAML file (no include resolution); errors name the file and line. */
export function readYamlFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read: ${(error as Error).message}`, { file }, { cause: error });
  }
  const document = parseDocument(text, YAML_OPTIONS);
  const problem = document.errors[0];
  if (problem) {
    const line = problem.linePos?.[0]?.line;
    const reason = problem.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new InputError(`YAML does not parse: ${reason}`, { file, line }, { cause: problem });
  }
  // Python keeps `3.0` a float (lm-eval writes `"version": 3.0`); JavaScript would make it 3.
  visit(document, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'number' && node.range && /[.eE]|inf|nan/i.test(text.slice(node.range[0], node.range[1]))) {
        node.value = new PyFloat(node.value);
      }
    },
  });
  const value = document.toJS({ maxAliasCount: 100 }) as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InputError('must be a YAML mapping of task settings', { file });
  return value as Record<string, unknown>;
}

/** `load_yaml`: `include` (a path or list, relative to the file) merged first, the file's own keys win. */
export function loadTaskYaml(file: string, seen: Set<string> = new Set()): Record<string, unknown> {
  const resolved = path.resolve(file);
  if (seen.has(resolved)) throw new InputError('includes itself (an include cycle)', { file, field: 'include' });
  seen.add(resolved);
  const own = readYamlFile(file);
  if (!Object.hasOwn(own, 'include')) return own;
  const includes = own.include;
  delete own.include;
  const merged: Record<string, unknown> = {};
  for (const include of Array.isArray(includes) ? includes : [includes]) {
    if (typeof include !== 'string') throw new InputError('must be a file name or a list of file names', { file, field: 'include' });
    const target = path.isAbsolute(include) ? include : path.join(path.dirname(file), include);
    try {
      statSync(target);
    } catch {
      throw new InputError(`names ${include}, which does not exist next to it`, { file, field: 'include' });
    }
    const included = loadTaskYaml(target, seen);
    delete included.task_list;
    Object.assign(merged, included);
  }
  return Object.assign(merged, own);
}

// ---------------------------------------------------------------------------------------------------
// Validation

/** TaskConfig's fields, in its order (lm-eval dumps configs in this order). */
const TASK_CONFIG_FIELDS = [
  'task', 'task_alias', 'tag', 'custom_dataset', 'dataset_path', 'dataset_name', 'dataset_kwargs', 'training_split', 'validation_split',
  'test_split', 'fewshot_split', 'process_docs', 'doc_to_text', 'doc_to_target', 'doc_to_image', 'doc_to_audio', 'unsafe_code',
  'doc_to_choice', 'process_results', 'use_prompt', 'description', 'target_delimiter', 'fewshot_delimiter', 'fewshot_config',
  'num_fewshot', 'metric_list', 'output_type', 'generation_kwargs', 'repeats', 'filter_list', 'should_decontaminate',
  'doc_to_decontamination_query', 'gen_prefix', 'metadata',
] as const;

/** Fields that change what lm-eval computes and that hanlab does not carry out: refused when set. */
const UNSUPPORTED_FIELDS: Record<string, string> = {
  custom_dataset: 'a Python data loader',
  process_docs: 'Python code run on every document',
  doc_to_image: 'multimodal input',
  doc_to_audio: 'multimodal input',
  process_results: 'Python scoring code',
  use_prompt: 'promptsource prompts',
  gen_prefix: 'a generation prefix',
  dataset_kwargs: 'data-loading options',
};

function fail(file: string, field: string, message: string): never {
  throw new InputError(message, { file, field });
}

function optionalString(config: Record<string, unknown>, file: string, field: string): string | null {
  const value = config[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') fail(file, field, `must be a string, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value instanceof FunctionRef) return value.toString();
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function docField(value: unknown, file: string, field: string, allowList: boolean): DocField {
  if (value === undefined || value === null) return null;
  if (value instanceof FunctionRef) fail(file, field, `${value} is Python code; hanlab renders templates and column names only`);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (allowList && Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  if (allowList && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const values = Object.values(value as Record<string, unknown>);
    if (values.every((item) => typeof item === 'string')) return values as string[];
  }
  return fail(file, field, `must be a template string${allowList ? ' or a list of strings' : ''}, got ${describe(value)}`);
}

function parseGeneration(value: unknown, file: string, fewshotDelimiter: string): GenerationSettings {
  const field = 'generation_kwargs';
  const kwargs: Record<string, unknown> =
    value === undefined || value === null
      ? { temperature: pyFloat(0), do_sample: false, max_gen_toks: 256, until: [fewshotDelimiter] }
      : { ...(typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : fail(file, field, `must be a mapping, got ${describe(value)}`)) };
  const known = new Set(['until', 'max_gen_toks', 'do_sample', 'temperature']);
  for (const key of Object.keys(kwargs)) {
    if (!known.has(key)) fail(file, `${field}.${key}`, `is not supported (hanlab's generation takes until, max_gen_toks, do_sample and temperature)`);
  }
  if (kwargs.temperature !== undefined) {
    if (typeof kwargs.temperature !== 'number' && !(kwargs.temperature instanceof PyFloat)) fail(file, `${field}.temperature`, `must be a number, got ${describe(kwargs.temperature)}`);
    const temperature = typeof kwargs.temperature === 'number' ? kwargs.temperature : (kwargs.temperature as PyFloat).value;
    if (!Number.isFinite(temperature) || temperature < 0) fail(file, `${field}.temperature`, `must be a number ≥ 0`);
    kwargs.temperature = pyFloat(temperature); // TaskConfig casts it with float()
  }
  if (!Object.hasOwn(kwargs, 'until')) kwargs.until = [fewshotDelimiter];
  let until = kwargs.until;
  if (typeof until === 'string') until = [until];
  if (!Array.isArray(until) || !until.every((item) => typeof item === 'string')) fail(file, `${field}.until`, `must be a string or a list of strings, got ${describe(kwargs.until)}`);
  const maxGenToks = kwargs.max_gen_toks ?? 256;
  if (typeof maxGenToks !== 'number' || !Number.isInteger(maxGenToks) || maxGenToks < 1) fail(file, `${field}.max_gen_toks`, `must be a positive integer, got ${describe(kwargs.max_gen_toks)}`);
  const doSample = kwargs.do_sample ?? false;
  if (typeof doSample !== 'boolean') fail(file, `${field}.do_sample`, `must be true or false, got ${describe(kwargs.do_sample)}`);
  const temperature = kwargs.temperature === undefined ? 0 : (kwargs.temperature as PyFloat).value;
  return { until: until as string[], maxGenToks, doSample, temperature: doSample ? temperature : 0, logged: kwargs };
}

function parseMetrics(value: unknown, file: string, outputType: OutputType): MetricSetting[] {
  const defaults: MetricSetting['metric'][] = outputType === 'generate_until' ? ['exact_match'] : ['acc', 'acc_norm'];
  if (value === undefined || value === null) return defaults.map((metric) => ({ metric, aggregation: 'mean', higherIsBetter: true, exactMatch: {} }));
  if (!Array.isArray(value) || value.length === 0) fail(file, 'metric_list', `must be a list of {metric: ...}, got ${describe(value)}`);
  return value.map((entry, index) => {
    const field = `metric_list[${index}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail(file, field, `must be a mapping with a metric, got ${describe(entry)}`);
    const settings = entry as Record<string, unknown>;
    const metric = settings.metric;
    const allowed = outputType === 'generate_until' ? ['exact_match'] : ['acc', 'acc_norm'];
    if (typeof metric !== 'string' || !allowed.includes(metric)) {
      fail(file, `${field}.metric`, `${describe(metric)} is not supported for output_type ${outputType} (hanlab computes ${allowed.join(', ')})`);
    }
    const aggregation = settings.aggregation ?? 'mean';
    if (aggregation !== 'mean') fail(file, `${field}.aggregation`, `${describe(aggregation)} is not supported (mean only)`);
    const higher = settings.higher_is_better ?? true;
    if (typeof higher !== 'boolean') fail(file, `${field}.higher_is_better`, `must be true or false`);
    if (settings.hf_evaluate === true) fail(file, `${field}.hf_evaluate`, 'Hugging Face evaluate metrics are not supported');
    const exactMatch: ExactMatchOptions = {};
    for (const [key, option] of Object.entries(settings)) {
      if (['metric', 'aggregation', 'higher_is_better', 'hf_evaluate'].includes(key)) continue;
      if (metric !== 'exact_match') continue; // multiple_choice metrics take no options in lm-eval
      if (!(EXACT_MATCH_OPTIONS as readonly string[]).includes(key)) fail(file, `${field}.${key}`, `is not an option of exact_match (${EXACT_MATCH_OPTIONS.join(', ')})`);
      if (key === 'regexes_to_ignore') {
        if (option === null) continue;
        if (!Array.isArray(option) || !option.every((item) => typeof item === 'string')) fail(file, `${field}.${key}`, 'must be a list of regular expressions');
        for (const pattern of option as string[]) {
          try {
            pythonRegExp(pattern);
          } catch (error) {
            if (error instanceof UnsupportedPythonRegex) fail(file, `${field}.${key}`, `${JSON.stringify(pattern)}: ${error.message}`);
            throw error;
          }
        }
        exactMatch.regexesToIgnore = option as string[];
      } else {
        if (typeof option !== 'boolean') fail(file, `${field}.${key}`, `must be true or false, got ${describe(option)}`);
        if (key === 'ignore_case') exactMatch.ignoreCase = option;
        else if (key === 'ignore_punctuation') exactMatch.ignorePunctuation = option;
        else exactMatch.ignoreNumbers = option;
      }
    }
    return { metric: metric as MetricSetting['metric'], aggregation: 'mean', higherIsBetter: higher, exactMatch };
  });
}

function parseFilters(value: unknown, file: string): FilterPipeline[] {
  if (value === undefined || value === null) return [{ name: 'none', steps: [{ function: 'take_first', options: {} }] }];
  if (!Array.isArray(value)) fail(file, 'filter_list', `must be a list of {name, filter}, got ${describe(value)}`);
  const names = new Set<string>();
  return value.map((entry, index) => {
    const field = `filter_list[${index}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail(file, field, 'must be a mapping with name and filter');
    const { name, filter } = entry as Record<string, unknown>;
    if (typeof name !== 'string' || name === '') fail(file, `${field}.name`, 'must be a non-empty string');
    if (names.has(name)) fail(file, `${field}.name`, `${JSON.stringify(name)} is used twice; each filter pipeline needs its own name`);
    names.add(name);
    if (!Array.isArray(filter) || filter.length === 0) fail(file, `${field}.filter`, 'must be a list of {function: ...} steps');
    const steps = filter.map((step, stepIndex): FilterStep => {
      const stepField = `${field}.filter[${stepIndex}]`;
      if (step === null || typeof step !== 'object' || Array.isArray(step)) fail(file, stepField, 'must be a mapping with a function');
      const { function: fn, ...options } = step as Record<string, unknown>;
      const fnName = fn instanceof FunctionRef ? fn.toString() : fn;
      if (typeof fnName !== 'string' || !Object.hasOwn(FILTER_FUNCTIONS, fnName)) {
        fail(file, `${stepField}.function`, `${describe(fn)} is not a filter hanlab has (${Object.keys(FILTER_FUNCTIONS).join(', ')})`);
      }
      const spec = FILTER_FUNCTIONS[fnName];
      for (const key of Object.keys(options)) {
        if (!spec.options.includes(key)) fail(file, `${stepField}.${key}`, `is not an option of ${fnName}${spec.options.length ? ` (${spec.options.join(', ')})` : ''}`);
      }
      try {
        spec.check?.(options);
      } catch (error) {
        fail(file, stepField, (error as Error).message);
      }
      return { function: fnName, options };
    });
    return { name, steps };
  });
}

function parseFewshot(config: Record<string, unknown>, file: string, base: Pick<LmevalTaskConfig, 'fewshotSplit' | 'docToText' | 'docToTarget' | 'docToChoice' | 'targetDelimiter' | 'fewshotDelimiter'>): FewshotSettings {
  const value = config.fewshot_config;
  const settings: Record<string, unknown> = value === undefined || value === null ? {} : typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : fail(file, 'fewshot_config', 'must be a mapping');
  const known = ['sampler', 'split', 'doc_to_text', 'doc_to_target', 'doc_to_choice', 'target_delimiter', 'fewshot_delimiter'];
  for (const key of Object.keys(settings)) {
    if (!known.includes(key)) fail(file, `fewshot_config.${key}`, `is not supported (hanlab's few-shot settings: ${known.join(', ')})`);
  }
  const sampler = settings.sampler ?? 'default';
  if (sampler !== 'first_n' && sampler !== 'default') fail(file, 'fewshot_config.sampler', `${describe(sampler)} is not supported (first_n or default)`);
  const has = (key: string) => Object.hasOwn(settings, key) && settings[key] !== null;
  const delimiter = (key: string, fallback: string) => {
    if (!has(key)) return fallback;
    if (typeof settings[key] !== 'string') fail(file, `fewshot_config.${key}`, 'must be a string');
    return settings[key] as string;
  };
  return {
    sampler,
    split: has('split') ? (optionalString(settings, file, 'split') as string) : base.fewshotSplit,
    docToText: has('doc_to_text') ? docField(settings.doc_to_text, file, 'fewshot_config.doc_to_text', false) : base.docToText,
    docToTarget: has('doc_to_target') ? docField(settings.doc_to_target, file, 'fewshot_config.doc_to_target', true) : base.docToTarget,
    docToChoice: has('doc_to_choice') ? docField(settings.doc_to_choice, file, 'fewshot_config.doc_to_choice', true) : base.docToChoice,
    targetDelimiter: delimiter('target_delimiter', base.targetDelimiter),
    fewshotDelimiter: delimiter('fewshot_delimiter', base.fewshotDelimiter),
  };
}

/** Checks a merged task YAML (from `loadTaskYaml`) and returns what the runner needs. */
export function parseTaskConfig(config: Record<string, unknown>, file: string): LmevalTaskConfig {
  for (const key of Object.keys(config)) {
    if (!(TASK_CONFIG_FIELDS as readonly string[]).includes(key)) fail(file, key, 'is not a task setting lm-eval knows (a typo?)');
  }
  for (const [key, what] of Object.entries(UNSUPPORTED_FIELDS)) {
    const value = config[key];
    if (value !== undefined && value !== null && !(key === 'dataset_kwargs' && typeof value === 'object' && Object.keys(value as object).length === 0)) {
      fail(file, key, `is not supported: ${what} would change the results, and hanlab does not run it`);
    }
  }
  if (config.unsafe_code === true) fail(file, 'unsafe_code', 'is not supported: hanlab does not execute generated code');
  if (config.should_decontaminate === true) fail(file, 'should_decontaminate', 'is not supported');
  if (config.repeats !== undefined && config.repeats !== null && config.repeats !== 1) fail(file, 'repeats', `must be 1 (hanlab asks each question once), got ${describe(config.repeats)}`);
  const task = config.task;
  if (typeof task !== 'string' || task === '') fail(file, 'task', 'must name the task (a string)');
  const outputType = config.output_type ?? 'generate_until';
  if (typeof outputType !== 'string' || !LM_EVAL_OUTPUT_TYPES.includes(outputType)) {
    fail(file, 'output_type', `${describe(outputType)} is not an lm-eval output type (${LM_EVAL_OUTPUT_TYPES.join(', ')})`);
  }
  if (!(SUPPORTED_OUTPUT_TYPES as readonly string[]).includes(outputType)) {
    fail(file, 'output_type', `${outputType} is not supported (hanlab runs ${SUPPORTED_OUTPUT_TYPES.join(' and ')})`);
  }
  const delimiterOf = (key: string, fallback: string) => {
    const value = config[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string') fail(file, key, `must be a string, got ${describe(value)}`);
    return value;
  };
  const targetDelimiter = delimiterOf('target_delimiter', ' ');
  const fewshotDelimiter = delimiterOf('fewshot_delimiter', '\n\n');
  const description = delimiterOf('description', '');
  const docToText = docField(config.doc_to_text, file, 'doc_to_text', false);
  const docToTarget = docField(config.doc_to_target, file, 'doc_to_target', true);
  const docToChoice = docField(config.doc_to_choice, file, 'doc_to_choice', true);
  if (docToText === null) fail(file, 'doc_to_text', 'is required');
  if (docToTarget === null) fail(file, 'doc_to_target', 'is required');
  if (outputType === 'multiple_choice' && docToChoice === null) fail(file, 'doc_to_choice', 'is required for multiple_choice');
  const numFewshot = config.num_fewshot;
  if (numFewshot !== undefined && numFewshot !== null && (typeof numFewshot !== 'number' || !Number.isInteger(numFewshot) || numFewshot < 0)) {
    fail(file, 'num_fewshot', `must be a whole number ≥ 0, got ${describe(numFewshot)}`);
  }
  const fewshotSplit = optionalString(config, file, 'fewshot_split');
  const base = { fewshotSplit, docToText, docToTarget, docToChoice, targetDelimiter, fewshotDelimiter };
  const metadata = config.metadata;
  const version = metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata) && Object.hasOwn(metadata, 'version') ? (metadata as Record<string, unknown>).version : 'Yaml';
  const parsed: LmevalTaskConfig = {
    task,
    alias: optionalString(config, file, 'task_alias') ?? task,
    file,
    datasetPath: optionalString(config, file, 'dataset_path'),
    datasetName: optionalString(config, file, 'dataset_name'),
    testSplit: optionalString(config, file, 'test_split'),
    validationSplit: optionalString(config, file, 'validation_split'),
    trainingSplit: optionalString(config, file, 'training_split'),
    fewshotSplit,
    outputType: outputType as OutputType,
    description,
    docToText,
    docToTarget,
    docToChoice,
    targetDelimiter,
    fewshotDelimiter,
    fewshot: parseFewshot(config, file, base),
    numFewshot: (numFewshot as number | null | undefined) ?? null,
    generation: outputType === 'generate_until' ? parseGeneration(config.generation_kwargs, file, fewshotDelimiter) : null,
    metrics: parseMetrics(config.metric_list, file, outputType as OutputType),
    filters: parseFilters(config.filter_list, file),
    version,
    dump: {},
  };
  if (outputType !== 'generate_until' && config.generation_kwargs !== undefined && config.generation_kwargs !== null) {
    fail(file, 'generation_kwargs', `applies to generate_until only (this task is ${outputType})`);
  }
  parsed.dump = dumpConfig(config, parsed);
  return parsed;
}

/** `TaskConfig.to_dict()`: the fields in TaskConfig's order with its defaults, None left out. */
function dumpConfig(config: Record<string, unknown>, parsed: LmevalTaskConfig): Record<string, unknown> {
  const filled: Record<string, unknown> = {
    ...config,
    unsafe_code: config.unsafe_code ?? false,
    description: parsed.description,
    target_delimiter: parsed.targetDelimiter,
    fewshot_delimiter: parsed.fewshotDelimiter,
    fewshot_config: {
      sampler: parsed.fewshot.sampler,
      split: parsed.fewshot.split,
      process_docs: null,
      fewshot_indices: null,
      samples: null,
      doc_to_text: parsed.fewshot.docToText,
      doc_to_choice: parsed.fewshot.docToChoice,
      doc_to_target: parsed.fewshot.docToTarget,
      gen_prefix: null,
      fewshot_delimiter: parsed.fewshot.fewshotDelimiter,
      target_delimiter: parsed.fewshot.targetDelimiter,
    },
    output_type: parsed.outputType,
    generation_kwargs: parsed.generation?.logged ?? null,
    repeats: 1,
    num_fewshot: config.num_fewshot ?? 0,
    should_decontaminate: config.should_decontaminate ?? false,
  };
  const dump: Record<string, unknown> = {};
  for (const key of TASK_CONFIG_FIELDS) {
    const value = filled[key];
    if (value !== undefined && value !== null) dump[key] = value;
  }
  return dump;
}

/** Checks a group file (`group` + `task` list + `aggregate_metric_list`). */
export function parseGroupConfig(config: Record<string, unknown>, file: string): LmevalGroupConfig {
  const group = config.group;
  if (typeof group !== 'string' || group === '') fail(file, 'group', 'must be a string');
  const tasks = config.task;
  if (!Array.isArray(tasks) || !tasks.every((task) => typeof task === 'string')) fail(file, 'task', 'must be a list of task names (inline task settings are not supported)');
  const known = ['group', 'group_alias', 'task', 'aggregate_metric_list', 'metadata', 'tag'];
  for (const key of Object.keys(config)) if (!known.includes(key)) fail(file, key, `is not a group setting hanlab supports (${known.join(', ')})`);
  const list = config.aggregate_metric_list ?? [];
  if (!Array.isArray(list)) fail(file, 'aggregate_metric_list', 'must be a list');
  const aggregate = list.map((entry, index) => {
    const field = `aggregate_metric_list[${index}]`;
    if (entry === null || typeof entry !== 'object') fail(file, field, 'must be a mapping');
    const { metric, aggregation = 'mean', weight_by_size: weightBySize = true, filter_list: filter = 'none', ...rest } = entry as Record<string, unknown>;
    if (typeof metric !== 'string') fail(file, `${field}.metric`, 'must be a metric name');
    if (aggregation !== 'mean') fail(file, `${field}.aggregation`, 'mean only');
    if (typeof weightBySize !== 'boolean') fail(file, `${field}.weight_by_size`, 'must be true or false');
    if (typeof filter !== 'string') fail(file, `${field}.filter_list`, 'must be one filter name');
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) fail(file, `${field}.${extra}`, 'is not supported');
    return { metric, filter, weightBySize };
  });
  const metadata = config.metadata;
  const version = metadata !== null && typeof metadata === 'object' && Object.hasOwn(metadata as object, 'version') ? (metadata as Record<string, unknown>).version : null;
  const alias = config.group_alias ?? group;
  if (typeof alias !== 'string') fail(file, 'group_alias', 'must be a string');
  return { group, alias, file, tasks: tasks as string[], aggregate, version };
}
