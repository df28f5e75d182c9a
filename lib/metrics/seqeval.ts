/**
 * seqeval 1.2.2, exactly: `classification_report` (dict and text), `f1_score`, `precision_score`,
 * `recall_score`, `precision_recall_fscore_support`, `accuracy_score` and `performance_measure`, in
 * default (conlleval) and strict modes, for prefix (`B-PER`) or suffix (`PER-B`) tags.
 *
 * Counting lives here, chunking in `../ner/scheme.js`, division in `./prf.js`, layout in
 * `./report-text.js`. Two seqeval behaviours are kept on purpose:
 * - `classificationReport` with `mode: 'strict'` and no scheme detects the scheme from the gold tags;
 * - `f1Score` / `precisionScore` / `recallScore` use strict mode only when `mode: 'strict'` AND a
 *   scheme are both given, and fall back to the default mode otherwise.
 *
 * Where seqeval raises, hanlab raises too, with a message naming the problem: a flat `string[]` instead
 * of `string[][]` is a `TypeError` (seqeval: "Found input variables without list of list."); an
 * unknown `average` or `zeroDivision` is a `MetricOptionError` (seqeval: `ValueError`).
 *
 * Graceful cases (documented differences; seqeval crashes, hanlab answers):
 * - a text report with no entity at all: seqeval fails in `max()` ("max() arg is an empty sequence")
 *   while computing the name column's width; hanlab prints the average rows (macro is NaN, as
 *   seqeval's own dict report says);
 * - no sentences at all (`[]`): seqeval raises `TypeError` (its type check sees an empty set of types);
 *   hanlab scores them like `[[]]` (no entities);
 * - `accuracyScore` of no tokens: seqeval divides by zero; hanlab returns NaN.
 *
 * Speed: tags are interned once per distinct string (see `TagTable`), entities come out sorted by
 * their end, and true positives are one merge — scoring is linear in time and memory.
 */
import { HanlabError } from '../errors.js';
import { type ChunkMode, type Scheme, type TagFormat, TagTable, defaultChunks, detectScheme, strictChunks } from '../ner/scheme.js';
import { OrderedRecord } from './json.js';
import {
  type Average,
  type AveragedPrfsValues,
  type LabelCounts,
  type PerLabelPrfs,
  type PrfOptions,
  type WarnMetric,
  type ZeroDivision,
  averageScores,
  checkAverage,
  checkZeroDivision,
  perLabelScores,
  precisionRecallFscore,
} from './prf.js';
import { formatReportText } from './report-text.js';

/** One row of seqeval's `output_dict`. */
export interface PrfRow {
  precision: number;
  recall: number;
  'f1-score': number;
  support: number;
}

/**
 * seqeval's `output_dict`: one key per entity type (sorted), then `micro avg`, `macro avg`,
 * `weighted avg`. A JavaScript object lists integer-like keys (`"2"`, `"10"`) first whatever the
 * insertion order, so for seqeval's key order use `reportEntries` / `reportRecord`.
 */
export type SeqevalDict = Record<string, PrfRow>;

/** The result of `classificationReport`; the reporters (`formatClassificationReport`, JSON) read only this. */
export interface SeqevalReport {
  mode: ChunkMode;
  /** The scheme used in strict mode (given or detected); null in default mode. */
  scheme: Scheme | null;
  zeroDivision: ZeroDivision;
  /** Entity types: union of gold and predicted types, sorted by code point like Python's `sorted`. */
  labels: string[];
  /** Per-type counts behind the scores. */
  counts: LabelCounts[];
  /** seqeval's `output_dict` (a prototype-free object, safe for any label text). */
  dict: SeqevalDict;
  micro: PrfRow;
  macro: PrfRow;
  weighted: PrfRow;
  /** seqeval's / scikit-learn's warnings ("seems not to be NE tag", undefined metrics), de-duplicated. */
  warnings: string[];
}

export interface SeqevalOptions extends TagFormat {
  mode?: ChunkMode;
  scheme?: Scheme;
  zeroDivision?: ZeroDivision;
  /** Sentence ids, only to name the sentence in error messages. */
  sentenceIds?: readonly string[];
}

export interface ScoreOptions extends SeqevalOptions {
  /** `micro` (seqeval's default), `macro`, `weighted`, or null for one score per entity type. */
  average?: Average | null;
  /** Receives seqeval's warnings ("seems not to be NE tag", undefined metrics), de-duplicated. */
  warnings?: string[];
}

export interface PrfsOptions extends ScoreOptions {
  /** F-beta's beta (default 1; `Infinity` gives recall). */
  beta?: number;
  /** Which metrics may warn about zero division (seqeval's `warn_for`); all three by default. */
  warnFor?: readonly WarnMetric[];
}

/** `precisionRecallFscoreSupport` with an average: one number each; support is the gold entity count. */
export type AveragedPrfs = AveragedPrfsValues;

/** `precisionRecallFscoreSupport` with `average: null`: one value per entity type, in `labels` order. */
export type PerTypePrfs = PerLabelPrfs;

type Sequences = readonly (readonly string[])[];

/** Gold and predicted tags do not line up (sentence count or a sentence's length). */
export class LengthMismatchError extends HanlabError {
  constructor(
    message: string,
    readonly sentenceIndex: number | null,
    readonly sentenceId: string | undefined,
    readonly goldLength: number,
    readonly predLength: number,
  ) {
    super(message);
  }
}

/**
 * seqeval's type check: both sides are lists of sentences, each a list of tags. A flat `string[]`
 * (possible from untyped JavaScript) would otherwise be scored character by character.
 */
export function checkSequences(gold: unknown, pred: unknown): void {
  for (const [side, sequences] of [['gold', gold], ['predicted', pred]] as const) {
    if (!Array.isArray(sequences)) {
      throw new TypeError(`${side} tags must be an array of sentences (string[][]), not ${describeShape(sequences)}`);
    }
    for (let i = 0; i < sequences.length; i++) {
      if (!Array.isArray(sequences[i])) {
        throw new TypeError(
          `${side} sentence ${i} is ${describeShape(sequences[i])}, not a list of tags: pass string[][] (one tag list per sentence), ` +
            `e.g. [['B-PER', 'O']] rather than ['B-PER', 'O'] (seqeval: "Found input variables without list of list.")`,
        );
      }
    }
  }
}

function describeShape(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 20 ? value.slice(0, 20) + '…' : value)}`;
  if (value === null || value === undefined) return String(value);
  return `a ${typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value}`;
}

/** seqeval's `check_consistent_length`, with a message that says which sentence and both lengths. */
export function checkConsistentLength(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  sentenceIds?: readonly string[],
): void {
  checkSequences(gold, pred);
  const n = Math.min(gold.length, pred.length);
  for (let i = 0; i < n; i++) {
    if (gold[i].length !== pred[i].length) {
      const id = sentenceIds?.[i];
      throw new LengthMismatchError(
        `sentence ${i}${id !== undefined ? ` (id ${id})` : ''} has ${gold[i].length} gold tags but ${pred[i].length} predicted tags`,
        i,
        id,
        gold[i].length,
        pred[i].length,
      );
    }
  }
  if (gold.length !== pred.length) {
    const id = sentenceIds?.[n];
    throw new LengthMismatchError(
      `gold has ${gold.length} sentences but the prediction has ${pred.length}; first unmatched sentence index ${n}${id !== undefined ? ` (id ${id})` : ''}`,
      n,
      id,
      gold.length,
      pred.length,
    );
  }
}

/** Python's `sorted` on str: by code point (JS `<` compares UTF-16 units, which differs above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const dx = x.value.codePointAt(0)!;
    const dy = y.value.codePointAt(0)!;
    if (dx !== dy) return dx - dy;
  }
}

/**
 * One side's entities in emission order: type id, start, exclusive end (flattened positions). Both
 * chunkers emit at most one entity per end position, in increasing order, so the lists are sorted
 * by end with no duplicates — seqeval's per-type sets become a linear merge.
 */
interface EntityList {
  types: number[];
  starts: number[];
  ends: number[];
}

interface EntityLists {
  table: TagTable;
  gold: EntityList;
  pred: EntityList;
  warnings: string[];
}

function collect(table: TagTable, sequences: readonly (readonly string[])[], strictScheme: Scheme | null, side: string): EntityList {
  const list: EntityList = { types: [], starts: [], ends: [] };
  const add = (typeId: number, start: number, end: number) => {
    list.types.push(typeId);
    list.starts.push(start);
    list.ends.push(end);
  };
  withSide(side, () => {
    const encoded = table.encode(sequences);
    if (strictScheme) strictChunks(table, encoded, strictScheme, add);
    else defaultChunks(table, encoded, add);
  });
  return list;
}

function entityLists(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  strictScheme: Scheme | null,
  format: TagFormat,
): EntityLists {
  const table = new TagTable(format);
  const goldList = collect(table, gold, strictScheme, 'gold');
  const predList = collect(table, pred, strictScheme, 'predicted');
  const warnings: string[] = [];
  if (!strictScheme) {
    table.tags.forEach((tag, id) => {
      if (!table.looksLikeNeTag[id]) warnings.push(`${tag} seems not to be NE tag.`);
    });
  }
  return { table, gold: goldList, pred: predList, warnings };
}

/** Prefixes scheme errors with the side ("predicted tag ... ") so users know which file is wrong. */
function withSide<T>(side: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof HanlabError && !error.message.startsWith(side)) error.message = `${side} ${error.message}`;
    throw error;
  }
}

function countsOf(lists: EntityLists): LabelCounts[] {
  const { gold, pred } = lists;
  let typeCount = 0;
  for (const t of gold.types) if (t >= typeCount) typeCount = t + 1;
  for (const t of pred.types) if (t >= typeCount) typeCount = t + 1;
  const trueSum = new Array<number>(typeCount).fill(0);
  const predSum = new Array<number>(typeCount).fill(0);
  const tpSum = new Array<number>(typeCount).fill(0);
  for (const t of gold.types) trueSum[t]++;
  for (const t of pred.types) predSum[t]++;
  // Merge on the (strictly increasing) end positions.
  let i = 0;
  let j = 0;
  while (i < gold.ends.length && j < pred.ends.length) {
    const ge = gold.ends[i];
    const pe = pred.ends[j];
    if (ge < pe) i++;
    else if (pe < ge) j++;
    else {
      if (gold.starts[i] === pred.starts[j] && gold.types[i] === pred.types[j]) tpSum[gold.types[i]]++;
      i++;
      j++;
    }
  }
  const labels: { id: number; label: string }[] = [];
  for (let id = 0; id < typeCount; id++) {
    if (trueSum[id] > 0 || predSum[id] > 0) labels.push({ id, label: lists.table.typeName(id) });
  }
  labels.sort((a, b) => compareCodePoints(a.label, b.label));
  return labels.map(({ id, label }) => ({ label, trueSum: trueSum[id], predSum: predSum[id], tpSum: tpSum[id] }));
}

function toRow(scores: { precision: number; recall: number; f1: number; support: number }): PrfRow {
  return { precision: scores.precision, recall: scores.recall, 'f1-score': scores.f1, support: scores.support };
}

/**
 * seqeval's `classification_report(gold, pred, mode=..., scheme=..., zero_division=..., suffix=...)`
 * as a result object. Strict mode without a scheme detects it from the gold tags (seqeval's `auto_detect`).
 */
export function classificationReport(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  opts: SeqevalOptions = {},
): SeqevalReport {
  const mode = opts.mode ?? 'default';
  const zeroDivision = checkZeroDivision(opts.zeroDivision ?? 'warn');
  const format = { suffix: opts.suffix ?? false };
  checkConsistentLength(gold, pred, opts.sentenceIds);
  // seqeval's report detects the scheme from the gold tags when none is given.
  const scheme = mode === 'strict' ? opts.scheme ?? detectScheme(gold, format) : null;
  const sets = entityLists(gold, pred, scheme, format);
  const counts = countsOf(sets);
  const warnings = [...sets.warnings];
  const prf: PrfOptions = { zeroDivision, warnings };
  const dict: SeqevalDict = Object.create(null);
  for (const row of perLabelScores(counts, prf)) dict[row.label] = toRow(row);
  const micro = toRow(averageScores(counts, 'micro', prf));
  const macro = toRow(averageScores(counts, 'macro', prf));
  const weighted = toRow(averageScores(counts, 'weighted', prf));
  dict['micro avg'] = micro;
  dict['macro avg'] = macro;
  dict['weighted avg'] = weighted;
  return { mode, scheme, zeroDivision, labels: counts.map((c) => c.label), counts, dict, micro, macro, weighted, warnings };
}

/** The report's rows in seqeval's `output_dict` order: entity types (sorted), then the three averages. */
export function reportEntries(report: SeqevalReport): Array<[string, PrfRow]> {
  const keys = [...report.labels, 'micro avg', 'macro avg', 'weighted avg'];
  return keys.map((key) => [key, report.dict[key]]);
}

/** `output_dict` with seqeval's key order kept in JSON text (see `./json.js`). */
export function reportRecord(report: SeqevalReport): OrderedRecord<PrfRow> {
  return new OrderedRecord(reportEntries(report));
}

/** seqeval's text report (`StringReporter`), byte for byte; `digits` defaults to seqeval's 2. */
export function formatClassificationReport(report: SeqevalReport, digits = 2): string {
  const rows = reportEntries(report).map(([name, row]) => ({ name, precision: row.precision, recall: row.recall, f1: row['f1-score'], support: row.support }));
  return formatReportText(rows.slice(0, report.labels.length), rows.slice(report.labels.length), digits);
}

/** Which chunker the score functions use: strict only with mode 'strict' AND a scheme (seqeval 1.2.2). */
function scoreCounts(gold: Sequences, pred: Sequences, opts: SeqevalOptions, warnings: string[] | undefined): LabelCounts[] {
  checkConsistentLength(gold, pred, opts.sentenceIds);
  const strictScheme = opts.mode === 'strict' && opts.scheme ? opts.scheme : null;
  const lists = entityLists(gold, pred, strictScheme, { suffix: opts.suffix ?? false });
  if (warnings) for (const warning of lists.warnings) if (!warnings.includes(warning)) warnings.push(warning);
  return countsOf(lists);
}

/**
 * seqeval's `precision_recall_fscore_support`: with `average: null` (its default) one value per entity
 * type (sorted), otherwise one averaged value each. Strict (seqeval's `metrics.v1` version) when
 * `mode: 'strict'` and a scheme are given, else the default (conlleval) mode.
 */
export function precisionRecallFscoreSupport(gold: Sequences, pred: Sequences, opts: PrfsOptions & { average: Average }): AveragedPrfs;
export function precisionRecallFscoreSupport(gold: Sequences, pred: Sequences, opts?: PrfsOptions): PerTypePrfs | AveragedPrfs;
export function precisionRecallFscoreSupport(gold: Sequences, pred: Sequences, opts: PrfsOptions = {}): PerTypePrfs | AveragedPrfs {
  const average = checkAverage(opts.average === undefined ? null : opts.average);
  const prf: PrfOptions = { zeroDivision: checkZeroDivision(opts.zeroDivision ?? 'warn'), beta: opts.beta, warnFor: opts.warnFor, warnings: opts.warnings };
  return precisionRecallFscore(scoreCounts(gold, pred, opts, opts.warnings), average, prf);
}

function score(gold: Sequences, pred: Sequences, opts: ScoreOptions, metric: WarnMetric): number | number[] {
  // seqeval's score functions default to 'micro'; null gives one score per entity type.
  const average = checkAverage(opts.average === undefined ? 'micro' : opts.average);
  const result = precisionRecallFscoreSupport(gold, pred, { ...opts, average, warnFor: [metric] });
  const pick = metric === 'precision' ? 'precision' : metric === 'recall' ? 'recall' : 'fScore';
  return result[pick];
}

/** seqeval's `f1_score` (average `micro` by default; `average: null` gives one score per entity type). */
export function f1Score(gold: Sequences, pred: Sequences, opts: ScoreOptions & { average: null }): number[];
export function f1Score(gold: Sequences, pred: Sequences, opts?: ScoreOptions & { average?: Average }): number;
export function f1Score(gold: Sequences, pred: Sequences, opts?: ScoreOptions): number | number[];
export function f1Score(gold: Sequences, pred: Sequences, opts: ScoreOptions = {}): number | number[] {
  return score(gold, pred, opts, 'f-score');
}

/** seqeval's `precision_score`. */
export function precisionScore(gold: Sequences, pred: Sequences, opts: ScoreOptions & { average: null }): number[];
export function precisionScore(gold: Sequences, pred: Sequences, opts?: ScoreOptions & { average?: Average }): number;
export function precisionScore(gold: Sequences, pred: Sequences, opts?: ScoreOptions): number | number[];
export function precisionScore(gold: Sequences, pred: Sequences, opts: ScoreOptions = {}): number | number[] {
  return score(gold, pred, opts, 'precision');
}

/** seqeval's `recall_score`. */
export function recallScore(gold: Sequences, pred: Sequences, opts: ScoreOptions & { average: null }): number[];
export function recallScore(gold: Sequences, pred: Sequences, opts?: ScoreOptions & { average?: Average }): number;
export function recallScore(gold: Sequences, pred: Sequences, opts?: ScoreOptions): number | number[];
export function recallScore(gold: Sequences, pred: Sequences, opts: ScoreOptions = {}): number | number[] {
  return score(gold, pred, opts, 'recall');
}

/** Per-type counts (true / predicted / correct entities), for reports that show raw numbers. */
export function entityCounts(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  opts: SeqevalOptions = {},
): LabelCounts[] {
  checkConsistentLength(gold, pred, opts.sentenceIds);
  const format = { suffix: opts.suffix ?? false };
  const scheme = opts.mode === 'strict' ? opts.scheme ?? detectScheme(gold, format) : null;
  return countsOf(entityLists(gold, pred, scheme, format));
}

/** Tokens of both sides, flattened: sentences (string[][]) or one flat tag list, as seqeval accepts both here. */
function flatTokens(gold: readonly unknown[], pred: readonly unknown[]): { gold: readonly unknown[]; pred: readonly unknown[] } {
  if (!Array.isArray(gold) || !Array.isArray(pred)) throw new TypeError('gold and predicted tags must be arrays');
  const nested = gold.some((s) => Array.isArray(s));
  if (!nested) return { gold, pred };
  checkSequences(gold, pred);
  return { gold: (gold as string[][]).flat(), pred: (pred as string[][]).flat() };
}

/**
 * seqeval's `accuracy_score`: the share of tokens whose predicted tag equals the gold one. NaN when
 * there is no token (seqeval divides by zero there).
 */
export function accuracyScore(gold: Sequences | readonly string[], pred: Sequences | readonly string[]): number {
  const flat = flatTokens(gold, pred);
  let correct = 0;
  // zip(): extra tokens on the longer side are ignored, as in seqeval.
  const n = Math.min(flat.gold.length, flat.pred.length);
  for (let i = 0; i < n; i++) if (flat.gold[i] === flat.pred[i]) correct++;
  return flat.gold.length === 0 ? NaN : correct / flat.gold.length;
}

/** seqeval's `performance_measure`: token-level TP / FP / FN / TN, 'O' being the negative tag. */
export function performanceMeasure(gold: Sequences | readonly string[], pred: Sequences | readonly string[]): { TP: number; FP: number; FN: number; TN: number } {
  const flat = flatTokens(gold, pred);
  const counts = { TP: 0, FP: 0, FN: 0, TN: 0 };
  const n = Math.min(flat.gold.length, flat.pred.length);
  for (let i = 0; i < n; i++) {
    const g = flat.gold[i];
    const p = flat.pred[i];
    if (g === p && (g !== 'O' || p !== 'O')) counts.TP++;
    if (g !== p && p !== 'O') counts.FP++;
    if (g !== 'O' && p === 'O') counts.FN++;
    if (g === 'O' && p === 'O') counts.TN++;
  }
  return counts;
}
