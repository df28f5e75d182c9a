/**
 * Single-label classification metrics, identical to scikit-learn 1.2: `accuracy_score`,
 * `classification_report` (dict and text), `precision_recall_fscore_support` and `confusion_matrix`
 * with an explicit label order. `classLabels` reads labels the way scikit-learn types them (ints,
 * floats printed `1.0`, booleans printed `True`, strings; continuous targets rejected).
 *
 * This module only counts (per-label TP / predicted / gold sums and the confusion matrix); the
 * division, zero_division and averaging are `prf.ts` (shared with the seqeval metrics) and the text
 * layout is `report-text.ts`. Labels are strings (Korean names are fine); `__proto__` and friends are
 * ordinary labels because every dictionary keyed by a label is a Map or a null-prototype object.
 */
import { HanlabError, UsageError } from '../errors.js';
import { OrderedRecord, stringifyMetricsJson } from './json.js';
import { averageScores, checkAverage, checkZeroDivision, perLabelScores, precisionRecallFscore, type LabelCounts, type LabelScores, type Scores, type ZeroDivision } from './prf.js';
import { formatReportText, pythonFloatRepr, type AccuracyTextRow, type ReportTextRow } from './report-text.js';

export interface ClassificationOptions {
  /**
   * Labels to report and the matrix order. Default: the sorted union of gold and predicted labels
   * (code-point order, as NumPy sorts strings).
   */
  labels?: readonly string[];
  /** Value of 0/0 precision or recall; default `'warn'` (0, with a warning in `warnings`), as scikit-learn. */
  zeroDivision?: ZeroDivision;
  /** Receives scikit-learn's UndefinedMetricWarning texts. */
  warnings?: string[];
}

export interface ClassificationResult {
  labels: string[];
  /** Samples scored. */
  total: number;
  /** `accuracy_score`: exact matches / all samples, whatever `labels` says. */
  accuracy: number;
  correct: number;
  /** One row per label, in `labels` order; `support` is the number of gold samples. */
  perLabel: LabelScores[];
  /** The counts behind `perLabel` (gold, predicted and correct samples per label). */
  counts: LabelCounts[];
  /**
   * True when the report shows an `accuracy` row (scikit-learn: no labels given, or labels equal to the
   * set of labels seen); otherwise it shows `micro avg`.
   */
  microIsAccuracy: boolean;
  micro: Scores;
  macro: Scores;
  weighted: Scores;
  /**
   * `confusion_matrix(gold, pred, labels)`: rows are gold labels, columns predicted ones. Null where
   * scikit-learn raises (labels given, none of them in gold): an all-zero matrix there would read as a
   * real one. `confusionMatrix()` below throws scikit-learn's error instead.
   */
  confusionMatrix: number[][] | null;
  /**
   * False when scikit-learn's `confusion_matrix` raises "At least one label specified must be in
   * y_true" (labels given, none of them in gold). The report itself is still defined there.
   */
  confusionMatrixDefined: boolean;
  /**
   * scikit-learn 1.2 quirk: when no sample at all has gold == prediction, its counts come out of a
   * float array, so the report prints support as `2.0` instead of `2` (`formatClassificationReport`
   * reproduces this byte for byte).
   */
  supportIsFloat: boolean;
  zeroDivision: ZeroDivision;
}

/** Report keys that are not labels (scikit-learn's `output_dict`). */
export const REPORT_AVERAGE_KEYS = ['accuracy', 'micro avg', 'macro avg', 'weighted avg'] as const;

/** Code-point order, as Python / NumPy sort strings (UTF-16 order differs only outside the BMP). */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** scikit-learn's `unique_labels(gold, pred)` for string labels. */
export function uniqueLabels(gold: readonly string[], pred: readonly string[]): string[] {
  return [...new Set([...gold, ...pred])].sort(compareCodePoints);
}

/**
 * scikit-learn's counts and scores for string labels. Where scikit-learn computes a report, this does
 * too; hanlab refuses two things scikit-learn accepts silently: a label listed twice in `labels`, and a
 * label named like a report row (`accuracy`, `macro avg`, …), which would overwrite that row.
 */
export function scoreClassification(gold: readonly string[], pred: readonly string[], options: ClassificationOptions = {}): ClassificationResult {
  if (!Array.isArray(gold) || !Array.isArray(pred)) throw new TypeError('gold and pred must be arrays of labels');
  if (gold.length !== pred.length) throw new UsageError(`gold has ${gold.length} labels but pred has ${pred.length}`);
  if (gold.length === 0) throw new UsageError('nothing to score: no samples');
  const seen = uniqueLabels(gold, pred);
  const labelsGiven = options.labels !== undefined;
  const labels = labelsGiven ? [...options.labels!] : seen;
  if (labels.length === 0) throw new UsageError('labels is empty');
  const index = new Map<string, number>();
  labels.forEach((label, i) => {
    if (index.has(label)) throw new UsageError(`label "${label}" is listed twice`);
    if ((REPORT_AVERAGE_KEYS as readonly string[]).includes(label)) {
      throw new UsageError(`label "${label}" collides with the report key of the same name; rename it`);
    }
    index.set(label, i);
  });

  const k = labels.length;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const trueSum = new Array<number>(k).fill(0);
  const predSum = new Array<number>(k).fill(0);
  let correct = 0;
  for (let n = 0; n < gold.length; n++) {
    if (gold[n] === pred[n]) correct++;
    const g = index.get(gold[n]);
    const p = index.get(pred[n]);
    if (g !== undefined) trueSum[g]++;
    if (p !== undefined) predSum[p]++;
    // confusion_matrix drops samples whose gold or prediction is outside `labels`.
    if (g !== undefined && p !== undefined) matrix[g][p]++;
  }
  // scikit-learn's confusion_matrix raises when labels are given and none occurs in gold; the report,
  // precision_recall_fscore_support and accuracy_score still answer (all-zero rows).
  const confusionMatrixDefined = !labelsGiven || trueSum.some((count) => count > 0);
  const counts: LabelCounts[] = labels.map((label, i) => ({ label, trueSum: trueSum[i], predSum: predSum[i], tpSum: matrix[i][i] }));
  const opts = { zeroDivision: checkZeroDivision(options.zeroDivision ?? 'warn'), warnings: options.warnings };
  const seenSet = new Set(seen);
  const microIsAccuracy = !labelsGiven || (new Set(labels).size === seenSet.size && labels.every((label) => seenSet.has(label)));
  return {
    labels,
    total: gold.length,
    accuracy: correct / gold.length,
    correct,
    perLabel: perLabelScores(counts, opts),
    counts,
    microIsAccuracy,
    micro: averageScores(counts, 'micro', opts),
    macro: averageScores(counts, 'macro', opts),
    weighted: averageScores(counts, 'weighted', opts),
    confusionMatrix: confusionMatrixDefined ? matrix : null,
    confusionMatrixDefined,
    // scikit-learn's multilabel_confusion_matrix: no tp at all -> counts as float64 (its "pathological case").
    supportIsFloat: correct === 0,
    zeroDivision: opts.zeroDivision,
  };
}

/** scikit-learn's error where `labels` are given and none occurs in gold, in hanlab's words. */
export const LABELS_NOT_IN_GOLD =
  'no label of labels occurs in the gold labels, so there is no confusion matrix (scikit-learn: "At least one label specified must be in y_true")';

/**
 * `confusion_matrix(gold, pred, labels=labels)`: rows gold, columns predicted. Raises, as scikit-learn
 * does, when none of `labels` occurs in gold.
 */
export function confusionMatrix(gold: readonly string[], pred: readonly string[], labels: readonly string[]): number[][] {
  const result = scoreClassification(gold, pred, { labels, zeroDivision: 0 });
  if (!result.confusionMatrix) throw new UsageError(LABELS_NOT_IN_GOLD);
  return result.confusionMatrix;
}

export interface ReportEntry {
  precision: number;
  recall: number;
  'f1-score': number;
  support: number;
}

/**
 * scikit-learn's `classification_report(..., output_dict=True)` as ordered entries: one per label, then
 * `accuracy` (a number) or `micro avg`, then `macro avg` and `weighted avg`. Entries, because a
 * JavaScript object lists integer-like keys (`"0"`, `"10"`) first whatever the insertion order.
 */
export function classificationReportEntries(result: ClassificationResult): Array<[string, ReportEntry | number]> {
  const entry = (scores: Scores): ReportEntry => ({ precision: scores.precision, recall: scores.recall, 'f1-score': scores.f1, support: scores.support });
  const entries: Array<[string, ReportEntry | number]> = result.perLabel.map((row) => [row.label, entry(row)]);
  if (result.microIsAccuracy) entries.push(['accuracy', result.micro.precision]);
  else entries.push(['micro avg', entry(result.micro)]);
  entries.push(['macro avg', entry(result.macro)], ['weighted avg', entry(result.weighted)]);
  return entries;
}

/**
 * The same as a null-prototype object (a label called `__proto__` is just a key). Key order is
 * scikit-learn's except that integer-like labels come first (see `classificationReportEntries`).
 */
export function classificationReportDict(result: ClassificationResult): Record<string, ReportEntry | number> {
  const dict = Object.create(null) as Record<string, ReportEntry | number>;
  for (const [key, value] of classificationReportEntries(result)) dict[key] = value;
  return dict;
}

/** The report with scikit-learn's key order kept in JSON text (see `./json.js`). */
export function classificationReportRecord(result: ClassificationResult): OrderedRecord<ReportEntry | number> {
  return new OrderedRecord(classificationReportEntries(result));
}

/** The report as JSON text with scikit-learn's key order (labels in `labels` order, then the averages). */
export function classificationReportJson(result: ClassificationResult): string {
  return stringifyMetricsJson(classificationReportRecord(result));
}

/** scikit-learn's text report (`digits` default 2), byte for byte (the `2.0` support quirk included). */
export function formatClassificationReport(result: ClassificationResult, digits = 2): string {
  const row = (name: string, scores: Scores): ReportTextRow => ({ name, precision: scores.precision, recall: scores.recall, f1: scores.f1, support: scores.support });
  const averages: Array<ReportTextRow | AccuracyTextRow> = [];
  if (result.microIsAccuracy) averages.push({ name: 'accuracy', accuracy: result.micro.f1, support: result.micro.support });
  else averages.push(row('micro avg', result.micro));
  averages.push(row('macro avg', result.macro), row('weighted avg', result.weighted));
  return formatReportText(result.perLabel.map((scores) => row(scores.label, scores)), averages, digits, { supportAsFloat: result.supportIsFloat });
}

/**
 * `precision_recall_fscore_support(gold, pred, labels=..., average=...)` for string labels: with
 * `average: null` one value per label (in `labels` order), otherwise the averaged values and, as in
 * scikit-learn, `support: null` (its `None`; `scoreClassification` has the total).
 */
export function precisionRecallFscoreSupport(
  gold: readonly string[],
  pred: readonly string[],
  options: ClassificationOptions & { average: 'micro' | 'macro' | 'weighted' | null },
): { precision: number | number[]; recall: number | number[]; fScore: number | number[]; support: number[] | null } {
  const average = checkAverage(options.average);
  // Counted once without warnings; the warnings are those of the one computation asked for.
  const { counts } = scoreClassification(gold, pred, { ...options, warnings: undefined });
  const result = precisionRecallFscore(counts, average, { zeroDivision: options.zeroDivision ?? 'warn', warnings: options.warnings });
  const { precision, recall, fScore } = result;
  return { precision, recall, fScore, support: average === null ? (result.support as number[]) : null };
}

// ---------------------------------------------------------------------------------------------------
// Labels as scikit-learn types them

/** A JSON number as written (`1`, `1.0`, `2e3`): scikit-learn prints `1.0` for a float label. */
export interface JsonNumberToken {
  json: string;
}

/** One label value: text, a boolean, a number (a JS number is an int when integral), or a JSON number token. */
export type ClassLabelValue = string | boolean | number | bigint | JsonNumberToken;

/** A label scikit-learn would not accept as a class (continuous target, mixed kinds). */
export class ClassLabelError extends HanlabError {
  constructor(
    message: string,
    readonly side: 'gold' | 'pred',
    readonly index: number,
  ) {
    super(message);
  }
}

export interface ClassLabels {
  /** Each sample's label as scikit-learn prints it (`'%s' % label`). */
  gold: string[];
  pred: string[];
  /** `unique_labels(gold, pred)`: sorted as scikit-learn sorts them (numbers by value). */
  labels: string[];
  kind: LabelKind;
}

type LabelKind = 'string' | 'bool' | 'int' | 'float';
type ReadLabel = { kind: 'string'; text: string } | { kind: 'bool'; value: boolean } | { kind: 'number'; value: number; float: boolean };

/** Reads one label value; a JSON number token keeps whether it was written as a float. */
export function readClassLabel(value: ClassLabelValue): ReadLabel | undefined {
  if (typeof value === 'string') return { kind: 'string', text: value };
  if (typeof value === 'boolean') return { kind: 'bool', value };
  if (typeof value === 'bigint') return { kind: 'number', value: Number(value), float: false };
  if (typeof value === 'number') return { kind: 'number', value, float: !Number.isInteger(value) };
  if (value !== null && typeof value === 'object' && typeof (value as JsonNumberToken).json === 'string') {
    const text = (value as JsonNumberToken).json;
    return { kind: 'number', value: Number(text), float: /[.eE]/.test(text) };
  }
  return undefined;
}

/** `'%s' % label` for a number label: an int prints as digits, a float as Python's repr (`1.0`, `1e+16`). */
export function numberLabelText(value: number, float: boolean): string {
  return float ? pythonFloatRepr(value) : String(value);
}

/** `str(x)` of one Python value, as NumPy turns a list holding a string into a string array. */
function pythonStr(label: ReadLabel): string {
  if (label.kind === 'string') return label.text;
  if (label.kind === 'bool') return label.value ? 'True' : 'False';
  return numberLabelText(label.value, label.float);
}

/** NumPy's `astype(int)` round trip fails outside int64: such a float is "continuous" too. */
const INT64_LIMIT = 2 ** 63;
const NUMERIC_RANK: Record<Exclude<LabelKind, 'string'>, number> = { bool: 0, int: 1, float: 2 };

interface TypedSide {
  kind: LabelKind;
  /** String arrays: each value's `str()`. */
  texts: string[];
  /** Numeric arrays: each value as a number (True = 1). */
  values: number[];
}

/** `np.asarray(side)`: a string array if any value is a string, else float, int or bool by the widest value. */
function typeSide(labels: readonly ReadLabel[], side: 'gold' | 'pred'): TypedSide {
  if (labels.some((label) => label.kind === 'string')) return { kind: 'string', texts: labels.map(pythonStr), values: [] };
  let kind: LabelKind = 'bool';
  for (const label of labels) {
    const k: LabelKind = label.kind === 'bool' ? 'bool' : (label as { float: boolean }).float ? 'float' : 'int';
    if (NUMERIC_RANK[k] > NUMERIC_RANK[kind as 'bool']) kind = k;
  }
  const values = labels.map((label) => (label.kind === 'bool' ? Number(label.value) : (label as { value: number }).value));
  values.forEach((value, index) => {
    // type_of_target: a float array with a value that is not a whole number is "continuous".
    if (!Number.isFinite(value) || !Number.isInteger(value) || Math.abs(value) >= INT64_LIMIT) {
      throw new ClassLabelError(
        `${side} label ${index} is ${value}, a continuous value, not a class: scikit-learn rejects continuous targets ("continuous is not supported"); write class labels as whole numbers or strings`,
        side,
        index,
      );
    }
  });
  return { kind, texts: [], values };
}

function displayNumber(value: number, kind: LabelKind): string {
  if (kind === 'bool') return value ? 'True' : 'False';
  return numberLabelText(value, kind === 'float');
}

/**
 * Labels as scikit-learn 1.2 types them (`np.asarray`, `type_of_target`, `unique_labels`, `'%s' % label`):
 * - each side becomes one NumPy array: a string array as soon as it holds a string (numbers then read
 *   `'2'`, `'1.0'`, booleans `'True'`), else float, int or bool by its widest value (True counts as 1);
 * - a float that is not a whole number (2.5) makes a continuous target, which scikit-learn rejects
 *   ("continuous is not supported"): an error here, naming the sample;
 * - a string side against a numeric side is an error ("Mix of label input types (string and number)");
 * - numeric labels: the union keeps gold's member where values are equal, and prints every label as
 *   the widest kind kept (`1.0` if a float member is kept, `True` only when all are booleans); sorted by value;
 * - strings are sorted by code point.
 */
export function classLabels(gold: readonly ClassLabelValue[], pred: readonly ClassLabelValue[]): ClassLabels {
  const read = (values: readonly ClassLabelValue[], side: 'gold' | 'pred'): ReadLabel[] =>
    values.map((value, index) => {
      const label = readClassLabel(value);
      if (label === undefined) throw new ClassLabelError(`${side} label ${index} is not a string, boolean or number`, side, index);
      return label;
    });
  const goldLabels = read(gold, 'gold');
  const predLabels = read(pred, 'pred');
  const g = typeSide(goldLabels, 'gold');
  const p = typeSide(predLabels, 'pred');
  if ((g.kind === 'string') !== (p.kind === 'string')) {
    const [side, labels] = g.kind === 'string' ? (['gold', goldLabels] as const) : (['pred', predLabels] as const);
    const index = labels.findIndex((label) => label.kind === 'string');
    throw new ClassLabelError(
      `${side} label ${index} is a string but the ${side === 'gold' ? 'pred' : 'gold'} labels are numbers; write all labels one way (scikit-learn: "Mix of label input types (string and number)")`,
      side,
      index,
    );
  }
  if (g.kind === 'string') return { gold: g.texts, pred: p.texts, labels: uniqueLabels(g.texts, p.texts), kind: 'string' };
  const goldValues = new Set(g.values);
  const predOnly = p.values.some((value) => !goldValues.has(value));
  const rank = Math.max(gold.length ? NUMERIC_RANK[g.kind as 'bool'] : 0, predOnly ? NUMERIC_RANK[p.kind as 'bool'] : 0);
  const kind = (['bool', 'int', 'float'] as const)[rank];
  const sorted = [...new Set([...g.values, ...p.values])].sort((a, b) => a - b);
  return {
    gold: g.values.map((value) => displayNumber(value, kind)),
    pred: p.values.map((value) => displayNumber(value, kind)),
    labels: sorted.map((value) => displayNumber(value, kind)),
    kind,
  };
}

export interface ConfusionTableOptions {
  /** `gold` (scikit-learn's orientation, the default) or `predicted` (study 001 prints rows = 예측). */
  rows?: 'gold' | 'predicted';
  /** Names of the matrix's columns (predicted categories) when they differ from its rows. */
  columns?: readonly string[];
}

/**
 * A Markdown table of a confusion matrix given rows = gold, columns = predicted. With
 * `rows: 'predicted'` it prints the transpose with `예측:` row and `정답:` column headers, as study 001.
 */
export function formatConfusionMatrix(labels: readonly string[], matrix: readonly (readonly number[])[], options: ConfusionTableOptions = {}): string {
  const columns = options.columns ?? labels;
  const byPrediction = options.rows === 'predicted';
  const rowName = byPrediction ? '예측' : '정답';
  const columnName = byPrediction ? '정답' : '예측';
  const printedRows = byPrediction ? columns : labels;
  const printedColumns = byPrediction ? labels : columns;
  const cell = (r: number, c: number) => String(byPrediction ? matrix[c][r] : matrix[r][c]);
  const header = `| ${rowName} \\ ${columnName} | ${printedColumns.map((label) => `${columnName}: ${escapeCell(label)}`).join(' | ')} |`;
  const rule = `|---|${printedColumns.map(() => ':---:').join('|')}|`;
  const body = printedRows.map((label, r) => `| **${rowName}: ${escapeCell(label)}** | ${printedColumns.map((_, c) => cell(r, c)).join(' | ')} |`);
  return [header, rule, ...body].join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
