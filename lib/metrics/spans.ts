/**
 * Exact-match span scoring (study 000, KBMC medical NER): a predicted span counts only when its label,
 * start and end all equal a gold span's. TP / FP / FN, precision, recall and F1 per label and micro
 * over all labels, and base vs fine-tuned with a Delta column.
 *
 * Spans are half-open character offsets `[start, end)` into the document text. Matching is on the
 * multiset of (label, start, end) per document: a span predicted twice matches one gold span once and
 * the copy is a false positive, as an LLM that repeats an entity deserves.
 */
import { InputError } from '../errors.js';
import { averageScores, perLabelScores, type LabelCounts, type ZeroDivision } from './prf.js';
import { compareCodePoints } from './classification.js';
import type { Span } from '../ner/span-tags.js';

export type { Span };

export interface SpanDocument {
  id?: string;
  gold: readonly Span[];
  pred: readonly Span[];
}

export interface SpanScore {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
  /** Gold spans (tp + fn). */
  support: number;
  /** Predicted spans (tp + fp). */
  predicted: number;
}

export interface LabelSpanScore extends SpanScore {
  label: string;
}

export interface SpanEvaluation {
  /** Per label, in `labels` order. */
  perLabel: LabelSpanScore[];
  /** Counts summed over labels, then divided. */
  micro: SpanScore;
  labels: string[];
  documents: number;
  zeroDivision: ZeroDivision;
}

export interface ScoreSpansOptions {
  /** Labels to report, in this order; default the sorted union of gold and predicted labels. */
  labels?: readonly string[];
  /** Value of a 0/0 precision or recall; default 0 ("warn" also gives 0, as in seqeval and scikit-learn). */
  zeroDivision?: ZeroDivision;
}

export interface SpanDifferences {
  tp: Span[];
  fp: Span[];
  fn: Span[];
}

const spanKey = (span: Span) => `${span.label}\u0000${span.start}\u0000${span.end}`;

/** Which predicted spans matched, which were wrong (FP) and which gold spans were missed (FN). */
export function diffSpans(gold: readonly Span[], pred: readonly Span[]): SpanDifferences {
  const unmatched = new Map<string, Span[]>();
  for (const span of gold) {
    const key = spanKey(span);
    const list = unmatched.get(key);
    if (list) list.push(span);
    else unmatched.set(key, [span]);
  }
  const tp: Span[] = [];
  const fp: Span[] = [];
  for (const span of pred) {
    const list = unmatched.get(spanKey(span));
    if (list && list.length > 0) {
      list.shift();
      tp.push(span);
    } else {
      fp.push(span);
    }
  }
  const fn = [...unmatched.values()].flat();
  fn.sort((a, b) => a.start - b.start || a.end - b.end);
  return { tp, fp, fn };
}

export function scoreSpans(documents: readonly SpanDocument[], options: ScoreSpansOptions = {}): SpanEvaluation {
  const zeroDivision = options.zeroDivision ?? 0;
  const counts = new Map<string, { tp: number; fp: number; fn: number }>();
  const bump = (label: string, field: 'tp' | 'fp' | 'fn') => {
    let row = counts.get(label);
    if (!row) counts.set(label, (row = { tp: 0, fp: 0, fn: 0 }));
    row[field]++;
  };
  for (const document of documents) {
    const { tp, fp, fn } = diffSpans(document.gold, document.pred);
    for (const span of tp) bump(span.label, 'tp');
    for (const span of fp) bump(span.label, 'fp');
    for (const span of fn) bump(span.label, 'fn');
  }
  const labels = options.labels ? [...options.labels] : [...counts.keys()].sort(compareCodePoints);
  const countsOf = (label: string) => counts.get(label) ?? { tp: 0, fp: 0, fn: 0 };
  const labelCounts: LabelCounts[] = labels.map((label) => {
    const { tp, fp, fn } = countsOf(label);
    return { label, tpSum: tp, predSum: tp + fp, trueSum: tp + fn };
  });
  const opts = { zeroDivision };
  const perLabel = perLabelScores(labelCounts, opts).map((row) => ({ label: row.label, ...withCounts(countsOf(row.label), row) }));
  const total = perLabel.reduce((sum, row) => ({ tp: sum.tp + row.tp, fp: sum.fp + row.fp, fn: sum.fn + row.fn }), { tp: 0, fp: 0, fn: 0 });
  const micro = averageScores(labelCounts, 'micro', opts);
  return { perLabel, micro: withCounts(total, micro), labels, documents: documents.length, zeroDivision };
}

function withCounts(counts: { tp: number; fp: number; fn: number }, scores: { precision: number; recall: number; f1: number }): SpanScore {
  return { ...counts, precision: scores.precision, recall: scores.recall, f1: scores.f1, support: counts.tp + counts.fn, predicted: counts.tp + counts.fp };
}


/**
 * Checks one document's spans: label a non-empty string, integer offsets with 0 ≤ start < end, inside
 * the text when the text is known, and `span.text` equal to that slice when both are given (this
 * catches off-by-one offsets before they silently turn into FP + FN).
 */
export function checkSpans(spans: unknown, where: { file?: string; line?: number; field: string }, text?: string): Span[] {
  if (!Array.isArray(spans)) throw new InputError('expected an array of {"label","start","end"} spans', where);
  return spans.map((value, index) => {
    const at = { ...where, field: `${where.field}[${index}]` };
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InputError('expected a {"label","start","end"} object', at);
    const span = value as Record<string, unknown>;
    if (typeof span.label !== 'string' || span.label === '') throw new InputError('"label" must be a non-empty string', at);
    if (!Number.isInteger(span.start) || !Number.isInteger(span.end)) throw new InputError('"start" and "end" must be integers', at);
    const start = span.start as number;
    const end = span.end as number;
    if (start < 0 || end <= start) throw new InputError(`needs 0 <= start < end, got start ${start}, end ${end}`, at);
    if (text !== undefined && end > text.length) throw new InputError(`end ${end} is past the text's ${text.length} characters`, at);
    if (span.text !== undefined && typeof span.text !== 'string') throw new InputError('"text" must be a string', at);
    if (text !== undefined && typeof span.text === 'string' && text.slice(start, end) !== span.text) {
      throw new InputError(`"text" is ${JSON.stringify(span.text)} but the text at ${start}..${end} is ${JSON.stringify(text.slice(start, end))}`, at);
    }
    return typeof span.text === 'string' ? { label: span.label, start, end, text: span.text } : { label: span.label, start, end };
  });
}

// ---------------------------------------------------------------------------------------------------
// Base vs fine-tuned

export type SpanMetric = 'precision' | 'recall' | 'f1' | 'tp' | 'fp' | 'fn';

export interface SpanDeltaRow {
  metric: SpanMetric;
  base: number;
  tuned: number;
  /** tuned − base. */
  delta: number;
}

export interface SpanComparison {
  /** Micro figures, in the study's order: Precision, Recall, F1, TP, FP, FN. */
  micro: SpanDeltaRow[];
  perLabel: Array<{ label: string; rows: SpanDeltaRow[] }>;
  base: SpanEvaluation;
  tuned: SpanEvaluation;
}

const METRICS: readonly SpanMetric[] = ['precision', 'recall', 'f1', 'tp', 'fp', 'fn'];

function deltaRows(base: SpanScore, tuned: SpanScore): SpanDeltaRow[] {
  return METRICS.map((metric) => ({ metric, base: base[metric], tuned: tuned[metric], delta: tuned[metric] - base[metric] }));
}

/** Both evaluations must cover the same gold spans (same documents, same support). */
export function compareSpanScores(base: SpanEvaluation, tuned: SpanEvaluation): SpanComparison {
  if (base.micro.support !== tuned.micro.support || base.documents !== tuned.documents) {
    throw new InputError(
      `base and fine-tuned were scored on different gold data (${base.documents} vs ${tuned.documents} documents, ${base.micro.support} vs ${tuned.micro.support} gold spans)`,
    );
  }
  const labels = [...base.labels];
  for (const label of tuned.labels) if (!labels.includes(label)) labels.push(label);
  const empty: SpanScore = { tp: 0, fp: 0, fn: 0, precision: 0, recall: 0, f1: 0, support: 0, predicted: 0 };
  const find = (evaluation: SpanEvaluation, label: string) => evaluation.perLabel.find((row) => row.label === label) ?? empty;
  return {
    micro: deltaRows(base.micro, tuned.micro),
    perLabel: labels.map((label) => ({ label, rows: deltaRows(find(base, label), find(tuned, label)) })),
    base,
    tuned,
  };
}

// ---------------------------------------------------------------------------------------------------
// Reporters (Markdown, Korean headers as in study 000)

const METRIC_NAMES: Record<SpanMetric, string> = { precision: 'Precision', recall: 'Recall', f1: 'F1', tp: 'TP', fp: 'FP', fn: 'FN' };
const isCount = (metric: SpanMetric) => metric === 'tp' || metric === 'fp' || metric === 'fn';

function formatValue(metric: SpanMetric, value: number, digits: number): string {
  return isCount(metric) ? String(value) : value.toFixed(digits);
}

function formatDelta(metric: SpanMetric, delta: number, digits: number): string {
  const text = formatValue(metric, Math.abs(delta), digits);
  if (Number(text) === 0) return formatValue(metric, 0, digits);
  return (delta > 0 ? '+' : '-') + text;
}

/** The study-000 table: 지표 | 베이스라인 | 파인튜닝 후 | Delta, F1 in bold. */
export function formatSpanComparison(rows: readonly SpanDeltaRow[], options: { digits?: number; baseName?: string; tunedName?: string } = {}): string {
  const digits = options.digits ?? 4;
  const lines = rows.map((row) => {
    const cells = [METRIC_NAMES[row.metric], formatValue(row.metric, row.base, digits), formatValue(row.metric, row.tuned, digits), formatDelta(row.metric, row.delta, digits)];
    return '| ' + (row.metric === 'f1' ? cells.map((cell) => `**${cell}**`) : cells).join(' | ') + ' |';
  });
  return [`| 지표 | ${options.baseName ?? '베이스라인'} | ${options.tunedName ?? '파인튜닝 후'} | Delta |`, '|------|-----------|------------|-------|', ...lines].join('\n');
}

/** Per-label and micro P/R/F1 with counts for one model. */
export function formatSpanEvaluation(evaluation: SpanEvaluation, digits = 4): string {
  const line = (name: string, row: SpanScore) =>
    `| ${name} | ${row.precision.toFixed(digits)} | ${row.recall.toFixed(digits)} | ${row.f1.toFixed(digits)} | ${row.tp} | ${row.fp} | ${row.fn} | ${row.support} |`;
  return [
    '| 라벨 | Precision | Recall | F1 | TP | FP | FN | 정답 수 |',
    '|------|---:|---:|---:|---:|---:|---:|---:|',
    ...evaluation.perLabel.map((row) => line(row.label, row)),
    line('**micro**', evaluation.micro),
  ].join('\n');
}
