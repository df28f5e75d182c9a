/**
 * Single-label classification metrics, identical to scikit-learn 1.2: `accuracy_score`,
 * `classification_report` (dict and text) and `confusion_matrix` with an explicit label order.
 *
 * This module only counts (per-label TP / predicted / gold sums and the confusion matrix); the
 * division, zero_division and averaging are `prf.ts` (shared with the seqeval metrics) and the text
 * layout is `report-text.ts`. Labels are strings (Korean names are fine); `__proto__` and friends are
 * ordinary labels because every dictionary keyed by a label is a Map or a null-prototype object.
 */
import { UsageError } from '../errors.js';
import { averageScores, perLabelScores, type LabelCounts, type LabelScores, type Scores, type ZeroDivision } from './prf.js';
import { formatReportText, type AccuracyTextRow, type ReportTextRow } from './report-text.js';

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
  /**
   * True when the report shows an `accuracy` row (scikit-learn: no labels given, or labels equal to the
   * set of labels seen); otherwise it shows `micro avg`.
   */
  microIsAccuracy: boolean;
  micro: Scores;
  macro: Scores;
  weighted: Scores;
  /** `confusion_matrix(gold, pred, labels)`: rows are gold labels, columns predicted ones. */
  confusionMatrix: number[][];
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

export function scoreClassification(gold: readonly string[], pred: readonly string[], options: ClassificationOptions = {}): ClassificationResult {
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
  if (labelsGiven && trueSum.every((count) => count === 0)) {
    // scikit-learn's confusion_matrix raises here too.
    throw new UsageError('At least one label specified must be in the gold labels');
  }
  const counts: LabelCounts[] = labels.map((label, i) => ({ label, trueSum: trueSum[i], predSum: predSum[i], tpSum: matrix[i][i] }));
  const opts = { zeroDivision: options.zeroDivision ?? ('warn' as const), warnings: options.warnings };
  const seenSet = new Set(seen);
  const microIsAccuracy = !labelsGiven || (new Set(labels).size === seenSet.size && labels.every((label) => seenSet.has(label)));
  return {
    labels,
    total: gold.length,
    accuracy: correct / gold.length,
    correct,
    perLabel: perLabelScores(counts, opts),
    microIsAccuracy,
    micro: averageScores(counts, 'micro', opts),
    macro: averageScores(counts, 'macro', opts),
    weighted: averageScores(counts, 'weighted', opts),
    confusionMatrix: matrix,
    zeroDivision: opts.zeroDivision,
  };
}

/** `confusion_matrix(gold, pred, labels=labels)`: rows gold, columns predicted. */
export function confusionMatrix(gold: readonly string[], pred: readonly string[], labels: readonly string[]): number[][] {
  return scoreClassification(gold, pred, { labels, zeroDivision: 0 }).confusionMatrix;
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

/** The report as JSON text with scikit-learn's key order (labels in `labels` order, then the averages). */
export function classificationReportJson(result: ClassificationResult): string {
  return '{' + classificationReportEntries(result).map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',') + '}';
}

/** scikit-learn's text report (`digits` default 2), byte for byte. */
export function formatClassificationReport(result: ClassificationResult, digits = 2): string {
  const row = (name: string, scores: Scores): ReportTextRow => ({ name, precision: scores.precision, recall: scores.recall, f1: scores.f1, support: scores.support });
  const averages: Array<ReportTextRow | AccuracyTextRow> = [];
  if (result.microIsAccuracy) averages.push({ name: 'accuracy', accuracy: result.micro.f1, support: result.micro.support });
  else averages.push(row('micro avg', result.micro));
  averages.push(row('macro avg', result.macro), row('weighted avg', result.weighted));
  return formatReportText(result.perLabel.map((scores) => row(scores.label, scores)), averages, digits);
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
