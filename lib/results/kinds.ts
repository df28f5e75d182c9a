/**
 * The result shapes the report templates understand.
 *
 * A notebook emits named results (`application/vnd.hanlab.result+json`, see lib/results/read.ts).
 * Any JSON value is allowed; a value that is an object with one of the `kind`s below is rendered by the
 * matching macro in `templates/_macros.njk` and feeds the automatic findings (lib/report/findings.ts)
 * and charts (`charts.ts`). Anything else is rendered by the generic template as a small table or a
 * JSON block. The kernel decides each emitted value's kind once (`kindOf`) and stamps it into the
 * result bundle; the report reads that stamp (`resultOfBundle`).
 *
 * Metric names are keys; these names carry meaning for findings and charts: `accuracy`, `precision`,
 * `recall`, `f1`, `loss`. Scores are fractions in [0, 1] (0.918, not 91.8).
 *
 * Order: saved notebooks sort object keys (as Jupyter does), so the order of keys inside an object
 * does not survive. Where order matters use arrays (`rows`, `epochs`, `figures`) or say it
 * (`comparison.metrics`); a `comparison` without `metrics` lists its metrics alphabetically.
 *
 * ```ts
 * emit('summary', { kind: 'metrics', title: '평가 결과 요약', rows: [
 *   { label: 'JSON 유효성', correct: 143, total: 147 },
 *   { label: 'risk_level 정확도', key: 'accuracy', correct: 135, total: 147 } ] });
 * emit('before-after', { kind: 'comparison', base: { accuracy: 0.62, f1: 0.58 }, tuned: { accuracy: 0.91, f1: 0.9 } });
 * emit('risk', { kind: 'confusion', labels: ['높음', '애매', '낮음'], matrix: [[29, 1, 0], [0, 42, 7], [0, 1, 64]] });
 * emit('loss', { kind: 'loss', epochs: [{ epoch: 1, trainLoss: 7.51 }, { epoch: 2, trainLoss: 0.62 }] });
 * ```
 */
import { InputError } from '../errors.js';

/** One row of a metric table: a score, or a count of correct answers out of a total (`135/147`, 91.8%). */
export interface MetricRow {
  /** Korean label shown in the table (`risk_level 정확도`). */
  label: string;
  /** Canonical metric name for findings (`accuracy`, `precision`, `recall`, `f1`, `loss`); optional. */
  key?: string;
  /** The score; derived as correct/total when both counts are given. */
  value?: number;
  correct?: number;
  total?: number;
  /** How to print value: 'percent' (91.8%), 'score' (0.9180, the default), 'count' (3,096,592). */
  format?: 'percent' | 'score' | 'count';
}

/** `{ kind: 'metrics' }`: a metric table (study 001 평가 결과 요약). */
export interface MetricsResult {
  kind: 'metrics';
  title?: string;
  rows: MetricRow[];
}

/**
 * `{ kind: 'comparison' }`: base vs fine-tuned with a Delta column (study 000) and, with
 * `relative: true`, the relative gain (study 002). `base` and `tuned` map metric name → value; rows
 * follow `metrics` (default: the keys of `base`). Integer pairs (TP/FP/FN) print as counts.
 */
export interface ComparisonResult {
  kind: 'comparison';
  title?: string;
  base: Record<string, number>;
  tuned: Record<string, number>;
  /** Column headers; default 베이스라인 / 파인튜닝 후. */
  baseName?: string;
  tunedName?: string;
  /** Row order; default Object.keys(base). */
  metrics?: string[];
  /** Display names per metric key (`{ f1: 'F1' }`). */
  labels?: Record<string, string>;
  /** 'score' (0.0833, the default) or 'percent' (38.39%). */
  format?: 'score' | 'percent';
  /** Show the relative gain (▴ 15.98%). */
  relative?: boolean;
  /** Metric keys printed in bold (study 000 bolds F1). */
  highlight?: string[];
  /**
   * Metric keys that are counts (printed 1,234 with integer deltas). Default: TP/FP/FN/TN/support and
   * other whole numbers above 1.
   */
  counts?: string[];
}

/**
 * `{ kind: 'confusion' }`: a confusion matrix. `matrix[i][j]` counts items whose GOLD label is
 * `labels[i]` and whose PREDICTED label is `labels[j]` (scikit-learn's convention) unless
 * `rows: 'predicted'`. The report always shows rows = 예측, columns = 정답, as study 001 does.
 */
export interface ConfusionResult {
  kind: 'confusion';
  title?: string;
  labels: string[];
  matrix: number[][];
  rows?: 'gold' | 'predicted';
}

/** One epoch of training; any of the losses/metrics may be missing. */
export interface EpochRow {
  epoch: number;
  trainLoss?: number;
  validLoss?: number;
  /** An evaluation metric measured after this epoch (named by `LossResult.metricName`). */
  metric?: number;
  trainAccuracy?: number;
  validAccuracy?: number;
}

/** `{ kind: 'loss' }`: loss per epoch (study 000 Training Loss 추이). */
export interface LossResult {
  kind: 'loss';
  title?: string;
  epochs: EpochRow[];
  /** Name of `EpochRow.metric`, e.g. 'F1' or '정확도'. */
  metricName?: string;
}

/** One wrong answer; every text field is untrusted and rendered escaped. */
export interface ErrorRow {
  id?: string | number;
  input: string;
  predicted: string;
  gold: string;
  note?: string;
}

/** `{ kind: 'errors' }`: an error-case table (study 001 risk_level 오류). */
export interface ErrorsResult {
  kind: 'errors';
  title?: string;
  rows: ErrorRow[];
  /** Header overrides, e.g. `{ input: '쿼리' }`; defaults 입력 / 예측 / 정답 / 비고. */
  columns?: Partial<Record<'id' | 'input' | 'predicted' | 'gold' | 'note', string>>;
  /** Inputs longer than this are cut with "…" (default 60 characters; 0 keeps them whole). */
  maxChars?: number;
  /** How many wrong answers there were in all, when `rows` is a sample. */
  total?: number;
}

/** `{ kind: 'per-label' }`: a per-label classification report (seqeval); drawn as F1 bars. */
export interface PerLabelResult {
  kind: 'per-label';
  title?: string;
  rows: Array<{ label: string; precision: number; recall: number; f1: number; support: number }>;
}

/** `{ kind: 'parse' }`: how many answers could be parsed (study 001 JSON 유효성, study 003 파싱 에러). */
export interface ParseResult {
  kind: 'parse';
  title?: string;
  total: number;
  failed: number;
  /** What was parsed, e.g. 'JSON'. */
  format?: string;
}

/** `{ kind: 'config' }`: training configuration shown as a code block (study 004 config.ini). */
export interface ConfigResult {
  kind: 'config';
  title?: string;
  /** Flat or one-level-nested settings (nested objects become INI sections / YAML maps). */
  values?: Record<string, unknown>;
  /** Or the configuration text verbatim (e.g. the config.ini read from disk). */
  text?: string;
  /** Code-block language: 'ini' (default for values), 'yaml', 'json', or any short word. */
  format?: string;
}

/**
 * `{ kind: 'environment' }`: where and how fast it ran (study 000 하드웨어). Shown in the closing
 * 실행 정보 section, because run times differ between runs.
 */
export interface EnvironmentResult {
  kind: 'environment';
  hardware?: string;
  backend?: string;
  durationMs?: number;
  samples?: number;
  samplesPerSec?: number;
  /** Further rows (항목 → 값). */
  extra?: Record<string, string | number>;
}

/** A headline figure for the report's top and the index. */
export interface HeadlineFigure {
  label: string;
  value: number;
  format?: 'percent' | 'score' | 'count';
  /** When given, the figure prints as `value (baseLabel base, ▴ x%)`. */
  base?: number;
  /** What the base is (default 베이스라인), e.g. 무작위 초기화 for a model trained from scratch. */
  baseLabel?: string;
}

/** `{ kind: 'headline' }`: the few figures that summarise the study. */
export interface HeadlineResult {
  kind: 'headline';
  figures: HeadlineFigure[];
}

/**
 * Text with inline code or bold, without writing Markdown: a string (plain text, escaped), a part
 * `{ code }` (a code span) or `{ strong }` (bold), or an array of those, joined. Lets a notebook put an
 * identifier in a cell (`[{ code: 'json_to_bio' }, ' 원본']`) that renders as code, never as backticks.
 */
export type RichText = string | { code: string } | { strong: string } | Array<string | { code: string } | { strong: string }>;

/** `{ kind: 'table' }`: any other table (dataset sizes, model comparison); cells are escaped. */
export interface TableResult {
  kind: 'table';
  title?: string;
  columns: string[];
  rows: Array<Array<RichText | number | null>>;
}

export type KindedResult =
  | MetricsResult
  | ComparisonResult
  | ConfusionResult
  | LossResult
  | ErrorsResult
  | PerLabelResult
  | ParseResult
  | ConfigResult
  | EnvironmentResult
  | HeadlineResult
  | TableResult;

export type ResultKind = KindedResult['kind'];

export const RESULT_KINDS: readonly ResultKind[] = [
  'metrics', 'comparison', 'confusion', 'loss', 'errors', 'per-label', 'parse', 'config', 'environment', 'headline', 'table',
];

/**
 * The version of the kind contract: the kinds above and the fields `checkResult` requires of each. The
 * kernel stamps it into every result bundle beside the kind it decided (mime.ts `ResultBundle`); bump
 * it when a kind is added or a kind's shape changes, so that a bundle decided under another contract
 * is decided again from its value instead of being read with a kind it may not have under this one.
 */
export const RESULT_KINDS_VERSION = 1;

/** What `kindOf` decides for a value: one of the kinds, or 'value' for any other JSON. */
export type DecidedKind = ResultKind | 'value';

/** A result as the templates see it: its name, its kind (or 'value' for anything else), its data. */
export interface NamedResult {
  name: string;
  /** 'omitted': past a size or depth bound, shown as a notice (bounds.ts). */
  kind: DecidedKind | 'omitted';
  value: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the fields the macros rely on, naming the result and field when one is wrong. */
class Checker {
  constructor(private readonly name: string, private readonly file: string | undefined) {}

  fail(field: string, detail: string): never {
    throw new InputError(`result "${this.name}": ${detail}`, { file: this.file, field });
  }

  number(value: unknown, field: string, optional = false): void {
    if (optional && value === undefined) return;
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(field, `must be a finite number, got ${JSON.stringify(value)}`);
  }

  string(value: unknown, field: string, optional = false): void {
    if (optional && value === undefined) return;
    if (typeof value !== 'string') this.fail(field, `must be a string, got ${JSON.stringify(value)}`);
  }

  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) this.fail(field, 'must be an array');
    return value;
  }

  record(value: unknown, field: string): Record<string, unknown> {
    if (!isRecord(value)) this.fail(field, 'must be an object');
    return value;
  }

  numberMap(value: unknown, field: string): void {
    for (const [key, entry] of Object.entries(this.record(value, field))) this.number(entry, `${field}.${key}`);
  }
}

/**
 * The one place that decides a value's kind: an object whose `kind` is one of RESULT_KINDS has that
 * kind, anything else is a plain 'value'. The kernel decides it once per emitted result and stamps it
 * into the bundle; the report reads the stamp (`resultOfBundle`) and decides only for bundles without
 * one (notebooks run before the stamp, or by a stock tslab kernel).
 */
export function kindOf(value: unknown): DecidedKind {
  if (!isRecord(value) || typeof value.kind !== 'string') return 'value';
  return isResultKind(value.kind) ? value.kind : 'value';
}

function isResultKind(kind: unknown): kind is ResultKind {
  return typeof kind === 'string' && (RESULT_KINDS as readonly string[]).includes(kind);
}

/**
 * Decides a value's kind (`kindOf`) and checks the fields its macro reads (`checkResult`); 'value' for
 * anything without a known kind. `file` names the notebook in errors.
 */
export function classifyResult(name: string, value: unknown, file?: string): NamedResult {
  return checkResult(name, kindOf(value), value, file);
}

/**
 * A result as the report reads it from its bundle: the kind the kernel stamped, where the stamp is of
 * this contract's version, and otherwise the kind decided from the value (`classifyResult`). An
 * executed notebook is a file anyone can edit, so the stamp is a claim that is checked, not believed:
 * it must name a kind of this contract and agree with the value (a kinded value carries its kind), and
 * the value must have the fields that kind's macro reads. `field` names the bundle in errors.
 */
export function resultOfBundle(bundle: { name: string; value: unknown; kind?: unknown; kindVersion?: unknown }, file?: string, field?: string): NamedResult {
  const { name, value } = bundle;
  if (bundle.kind === undefined || bundle.kindVersion !== RESULT_KINDS_VERSION) return classifyResult(name, value, file);
  const stamped = bundle.kind;
  const where = { file, field: field === undefined ? 'kind' : `${field}.kind` };
  if (stamped !== 'value' && !isResultKind(stamped)) {
    throw new InputError(`result "${name}": the bundle's kind ${JSON.stringify(stamped)} is not a result kind of version ${RESULT_KINDS_VERSION} (${RESULT_KINDS.join(', ')}, value)`, where);
  }
  const carried = kindOf(value);
  if (carried !== stamped) {
    throw new InputError(`result "${name}": the bundle says kind "${stamped}" but its value is ${carried === 'value' ? 'not a kinded result' : `of kind "${carried}"`}; was the notebook edited after it ran? Run it again`, where);
  }
  return checkResult(name, stamped, value, file);
}

/**
 * Checks that `value` has the fields the macro of `kind` reads, naming the result and field when one
 * is wrong, and returns it typed. A 'value' needs nothing.
 */
export function checkResult(name: string, kind: DecidedKind, value: unknown, file?: string): NamedResult {
  if (kind === 'value') return { name, kind, value };
  // Typed, so that TypeScript narrows `value` after `check.fail` (which never returns).
  const check: Checker = new Checker(name, file);
  if (!isRecord(value) || value.kind !== kind) check.fail('kind', `must be "${kind}" in an object`);
  check.string(value.title, 'title', true);
  switch (kind) {
    case 'metrics':
      check.array(value.rows, 'rows').forEach((row, i) => {
        const r = check.record(row, `rows[${i}]`);
        check.string(r.label, `rows[${i}].label`);
        check.number(r.value, `rows[${i}].value`, true);
        check.number(r.correct, `rows[${i}].correct`, true);
        check.number(r.total, `rows[${i}].total`, true);
        if (r.value === undefined && (r.correct === undefined || r.total === undefined)) {
          check.fail(`rows[${i}]`, 'needs a value, or correct and total');
        }
      });
      break;
    case 'comparison': {
      check.numberMap(value.base, 'base');
      check.numberMap(value.tuned, 'tuned');
      const metrics = value.metrics === undefined ? Object.keys(value.base as object) : check.array(value.metrics, 'metrics');
      metrics.forEach((metric, i) => {
        check.string(metric, `metrics[${i}]`);
        if (!Object.hasOwn(value.base as object, metric as string) || !Object.hasOwn(value.tuned as object, metric as string)) {
          check.fail(`metrics[${i}]`, `"${String(metric)}" must be in both base and tuned`);
        }
      });
      break;
    }
    case 'confusion': {
      const labels = check.array(value.labels, 'labels');
      labels.forEach((label, i) => check.string(label, `labels[${i}]`));
      const matrix = check.array(value.matrix, 'matrix');
      if (matrix.length !== labels.length) check.fail('matrix', `has ${matrix.length} rows for ${labels.length} labels`);
      matrix.forEach((row, i) => {
        const cells = check.array(row, `matrix[${i}]`);
        if (cells.length !== labels.length) check.fail(`matrix[${i}]`, `has ${cells.length} cells for ${labels.length} labels`);
        cells.forEach((cell, j) => {
          check.number(cell, `matrix[${i}][${j}]`);
          if (!Number.isInteger(cell) || (cell as number) < 0) check.fail(`matrix[${i}][${j}]`, 'must be a count (a non-negative integer)');
        });
      });
      if (value.rows !== undefined && value.rows !== 'gold' && value.rows !== 'predicted') check.fail('rows', "must be 'gold' or 'predicted'");
      break;
    }
    case 'loss':
      check.array(value.epochs, 'epochs').forEach((row, i) => {
        const r = check.record(row, `epochs[${i}]`);
        check.number(r.epoch, `epochs[${i}].epoch`);
        for (const field of ['trainLoss', 'validLoss', 'metric', 'trainAccuracy', 'validAccuracy']) check.number(r[field], `epochs[${i}].${field}`, true);
      });
      break;
    case 'errors':
      check.array(value.rows, 'rows').forEach((row, i) => {
        const r = check.record(row, `rows[${i}]`);
        for (const field of ['input', 'predicted', 'gold']) check.string(r[field], `rows[${i}].${field}`);
        check.string(r.note, `rows[${i}].note`, true);
      });
      check.number(value.maxChars, 'maxChars', true);
      check.number(value.total, 'total', true);
      break;
    case 'per-label':
      check.array(value.rows, 'rows').forEach((row, i) => {
        const r = check.record(row, `rows[${i}]`);
        check.string(r.label, `rows[${i}].label`);
        for (const field of ['precision', 'recall', 'f1', 'support']) check.number(r[field], `rows[${i}].${field}`);
      });
      break;
    case 'parse':
      check.number(value.total, 'total');
      check.number(value.failed, 'failed');
      if ((value.failed as number) > (value.total as number) || (value.failed as number) < 0) check.fail('failed', 'must be between 0 and total');
      break;
    case 'config':
      if (value.values === undefined && value.text === undefined) check.fail('values', 'a config result needs values or text');
      if (value.values !== undefined) check.record(value.values, 'values');
      check.string(value.text, 'text', true);
      check.string(value.format, 'format', true);
      break;
    case 'environment':
      for (const field of ['durationMs', 'samples', 'samplesPerSec']) check.number(value[field], field, true);
      check.string(value.hardware, 'hardware', true);
      check.string(value.backend, 'backend', true);
      if (value.extra !== undefined) check.record(value.extra, 'extra');
      break;
    case 'headline':
      check.array(value.figures, 'figures').forEach((figure, i) => {
        const f = check.record(figure, `figures[${i}]`);
        check.string(f.label, `figures[${i}].label`);
        check.number(f.value, `figures[${i}].value`);
        check.number(f.base, `figures[${i}].base`, true);
        check.string(f.baseLabel, `figures[${i}].baseLabel`, true);
      });
      break;
    case 'table': {
      const columns = check.array(value.columns, 'columns');
      columns.forEach((column, i) => check.string(column, `columns[${i}]`));
      check.array(value.rows, 'rows').forEach((row, i) => {
        const cells = check.array(row, `rows[${i}]`);
        if (cells.length !== columns.length) check.fail(`rows[${i}]`, `has ${cells.length} cells for ${columns.length} columns`);
      });
      break;
    }
  }
  return { name, kind, value };
}

/** Confusion matrix as rows = predicted, columns = gold (the orientation every report shows). */
export function predictedByGold(result: ConfusionResult): number[][] {
  if (result.rows === 'predicted') return result.matrix.map((row) => row.slice());
  return result.labels.map((_, p) => result.labels.map((__, g) => result.matrix[g][p]));
}
