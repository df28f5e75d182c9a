/**
 * Precision / recall / F-beta from per-label counts — the arithmetic that seqeval 1.2.2 and
 * scikit-learn 1.2 share (`_prf_divide`, `_precision_recall_fscore_support`, `np.average`), so the
 * NER metrics (seqeval.ts, klue.ts) and the classification metrics reuse one implementation.
 *
 * Numbers match the Python ones bit for bit where it is cheap to do so: divisions and products in the
 * same order, and sums with NumPy's pairwise summation.
 */

import { HanlabError } from '../errors.js';

/** What to return when a denominator is 0: 0, 1, or 0 with a warning (`'warn'`). */
export type ZeroDivision = 0 | 1 | 'warn';
export type Average = 'micro' | 'macro' | 'weighted';
export type WarnMetric = 'precision' | 'recall' | 'f-score';

/**
 * A metric option with a value the references do not accept (seqeval and scikit-learn raise
 * `ValueError`): an unknown `average`, a `zeroDivision` other than 0, 1 or 'warn', a negative beta.
 */
export class MetricOptionError extends HanlabError {}

const AVERAGES: readonly (Average | null)[] = [null, 'micro', 'macro', 'weighted'];

/**
 * seqeval's check: `average` is null (one score per label), 'micro', 'macro' or 'weighted'; anything
 * else ('samples', 'binary', a typo) is an error rather than a silently different average.
 */
export function checkAverage(value: unknown): Average | null {
  if ((AVERAGES as readonly unknown[]).includes(value)) return value as Average | null;
  throw new MetricOptionError(`average must be null, 'micro', 'macro' or 'weighted', not ${describeOption(value)}`);
}

/** `zeroDivision` must be exactly 0, 1 or 'warn' (2, true or '0' are errors, as on the command line). */
export function checkZeroDivision(value: unknown): ZeroDivision {
  if (isZeroDivision(value)) return value;
  throw new MetricOptionError(`zeroDivision must be 0, 1 or 'warn', not ${describeOption(value)}`);
}

function describeOption(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return `a ${Array.isArray(value) ? 'array' : typeof value}`;
}

/** The sufficient statistics of one label. */
export interface LabelCounts {
  label: string;
  /** Gold instances of the label (support). */
  trueSum: number;
  /** Predicted instances of the label. */
  predSum: number;
  /** Predicted instances that are correct. */
  tpSum: number;
}

export interface Scores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface LabelScores extends Scores {
  label: string;
}

export interface PrfOptions {
  zeroDivision?: ZeroDivision;
  /** F-beta; 1 by default. */
  beta?: number;
  /** Which metrics may warn (scikit-learn's `warn_for`); all three by default. */
  warnFor?: readonly WarnMetric[];
  /** Receives scikit-learn's UndefinedMetricWarning texts when `zeroDivision` is `'warn'`. */
  warnings?: string[];
}

export function isZeroDivision(value: unknown): value is ZeroDivision {
  return value === 0 || value === 1 || value === 'warn';
}

/** Parses `0`, `1` or `warn` (CLI and config text). */
export function parseZeroDivision(text: string): ZeroDivision | undefined {
  if (text === '0') return 0;
  if (text === '1') return 1;
  if (text === 'warn') return 'warn';
  return undefined;
}

const PW_BLOCKSIZE = 128;

/** NumPy's pairwise summation of float64 values (`np.add.reduce`), so averages round like NumPy's. */
export function pairwiseSum(values: ArrayLike<number>, start = 0, n = values.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += values[start + i];
    return res;
  }
  if (n <= PW_BLOCKSIZE) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = values[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += values[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(values, start, n2) + pairwiseSum(values, start + n2, n - n2);
}

/** `np.average(values)`: NaN for an empty list, like NumPy (which also warns). */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : pairwiseSum(values) / values.length;
}

/** `np.average(values, weights=weights)`. */
export function weightedMean(values: readonly number[], weights: readonly number[]): number {
  const products = values.map((value, i) => value * weights[i]);
  return pairwiseSum(products) / pairwiseSum(weights);
}

function warnText(average: Average | null, modifier: string, msgStart: string, resultSize: number): string {
  const where = resultSize === 1 ? 'due to' : 'in labels with';
  return `${msgStart} ill-defined and being set to 0.0 ${where} no ${modifier} samples. Use \`zero_division\` parameter to control this behavior.`;
}

function pushWarning(opts: PrfOptions, text: string): void {
  if (opts.warnings && !opts.warnings.includes(text)) opts.warnings.push(text);
}

/** `_prf_divide`: element-wise division with the zero-division value and scikit-learn's warning. */
function prfDivide(
  numerator: readonly number[],
  denominator: readonly number[],
  metric: 'precision' | 'recall',
  modifier: string,
  average: Average | null,
  opts: PrfOptions,
): number[] {
  const zeroDivision = opts.zeroDivision ?? 'warn';
  const warnFor = opts.warnFor ?? ['precision', 'recall', 'f-score'];
  let anyZero = false;
  const result = numerator.map((num, i) => {
    if (denominator[i] === 0) {
      anyZero = true;
      return zeroDivision === 1 ? 1 : 0;
    }
    return num / denominator[i];
  });
  if (anyZero && zeroDivision === 'warn' && warnFor.includes(metric)) {
    const title = metric === 'precision' ? 'Precision' : 'Recall';
    const msgStart = warnFor.includes('f-score') ? `${title} and F-score are` : `${title} is`;
    pushWarning(opts, warnText(average, modifier, msgStart, result.length));
  }
  return result;
}

interface Arrays {
  tp: number[];
  pred: number[];
  true: number[];
}

function computeArrays(counts: readonly LabelCounts[], average: Average | null): Arrays {
  const tp = counts.map((c) => c.tpSum);
  const pred = counts.map((c) => c.predSum);
  const trueSums = counts.map((c) => c.trueSum);
  if (average === 'micro') {
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0); // integers: any order is exact
    return { tp: [sum(tp)], pred: [sum(pred)], true: [sum(trueSums)] };
  }
  return { tp, pred, true: trueSums };
}

interface PrfArrays {
  precision: number[];
  recall: number[];
  f: number[];
  arrays: Arrays;
}

function prfArrays(counts: readonly LabelCounts[], average: Average | null, opts: PrfOptions): PrfArrays {
  const beta = opts.beta ?? 1;
  if (!(beta >= 0)) throw new MetricOptionError(`beta should be >=0 in the F-beta score, not ${beta}`);
  checkZeroDivision(opts.zeroDivision ?? 'warn');
  const arrays = computeArrays(counts, average);
  const precision = prfDivide(arrays.tp, arrays.pred, 'precision', 'predicted', average, opts);
  const recall = prfDivide(arrays.tp, arrays.true, 'recall', 'true', average, opts);
  const warnFor = opts.warnFor ?? ['precision', 'recall', 'f-score'];
  if ((opts.zeroDivision ?? 'warn') === 'warn' && warnFor.length === 1 && warnFor[0] === 'f-score') {
    if (arrays.true.some((t, i) => t === 0 && arrays.pred[i] === 0)) {
      pushWarning(opts, warnText(average, 'true nor predicted', 'F-score is', arrays.true.length));
    }
  }
  const beta2 = beta * beta;
  const f =
    beta === Infinity
      ? recall.slice()
      : precision.map((p, i) => {
          let denom = beta2 * p + recall[i];
          if (denom === 0) denom = 1;
          return ((1 + beta2) * p * recall[i]) / denom;
        });
  return { precision, recall, f, arrays };
}

/** Per-label precision, recall, F and support (`average=None`), in the order of `counts`. */
export function perLabelScores(counts: readonly LabelCounts[], opts: PrfOptions = {}): LabelScores[] {
  const { precision, recall, f, arrays } = prfArrays(counts, null, opts);
  return counts.map((c, i) => ({ label: c.label, precision: precision[i], recall: recall[i], f1: f[i], support: arrays.true[i] }));
}

/** One averaged row (`average='micro' | 'macro' | 'weighted'`); support is the total gold count. */
export function averageScores(counts: readonly LabelCounts[], average: Average, opts: PrfOptions = {}): Scores {
  if (checkAverage(average) === null) throw new MetricOptionError('averageScores needs an average; use perLabelScores for one row per label');
  const { precision, recall, f, arrays } = prfArrays(counts, average, opts);
  const support = arrays.true.reduce((a, b) => a + b, 0);
  if (average === 'weighted') {
    const weights = arrays.true;
    if (pairwiseSum(weights) === 0) {
      const zeroDivisionValue = (opts.zeroDivision ?? 'warn') === 1 ? 1 : 0;
      const noPredictions = arrays.pred.reduce((a, b) => a + b, 0) === 0;
      return {
        precision: noPredictions ? zeroDivisionValue : 0,
        recall: zeroDivisionValue,
        f1: noPredictions ? zeroDivisionValue : 0,
        support,
      };
    }
    return {
      precision: weightedMean(precision, weights),
      recall: weightedMean(recall, weights),
      f1: weightedMean(f, weights),
      support,
    };
  }
  return { precision: mean(precision), recall: mean(recall), f1: mean(f), support };
}

/** One value per label (`average: null`), in the order of `counts`. */
export interface PerLabelPrfs {
  labels: string[];
  precision: number[];
  recall: number[];
  fScore: number[];
  support: number[];
}

/** One averaged value each; support is the total gold count. */
export interface AveragedPrfsValues {
  precision: number;
  recall: number;
  fScore: number;
  support: number;
}

/**
 * `precision_recall_fscore_support` from counts, as seqeval and scikit-learn shape it: per-label arrays
 * for `average: null`, else the averaged values (seqeval's and scikit-learn's wrappers differ only in
 * what they return as the averaged support).
 */
export function precisionRecallFscore(counts: readonly LabelCounts[], average: Average | null, opts: PrfOptions = {}): PerLabelPrfs | AveragedPrfsValues {
  if (checkAverage(average) === null) {
    const rows = perLabelScores(counts, opts);
    return {
      labels: rows.map((row) => row.label),
      precision: rows.map((row) => row.precision),
      recall: rows.map((row) => row.recall),
      fScore: rows.map((row) => row.f1),
      support: rows.map((row) => row.support),
    };
  }
  const scores = averageScores(counts, average as Average, opts);
  return { precision: scores.precision, recall: scores.recall, fScore: scores.f1, support: scores.support };
}
