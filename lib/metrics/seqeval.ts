/**
 * seqeval 1.2.2, exactly: `classification_report` (dict and text), `f1_score`, `precision_score`,
 * `recall_score`, default (conlleval) and strict modes.
 *
 * Counting lives here, chunking in `../ner/scheme.js`, division in `./prf.js`, layout in
 * `./report-text.js`. Two seqeval behaviours are kept on purpose:
 * - `classificationReport` with `mode: 'strict'` and no scheme detects the scheme from the gold tags;
 * - `f1Score` / `precisionScore` / `recallScore` use strict mode only when `mode: 'strict'` AND a
 *   scheme are both given, and fall back to the default mode otherwise.
 *
 * Speed: tags are interned once per distinct string (see `TagTable`), entities come out sorted by
 * their end, and true positives are one merge — scoring is linear in time and memory.
 */
import { HanlabError } from '../errors.js';
import { type ChunkMode, type Scheme, TagTable, defaultChunks, detectScheme, strictChunks } from '../ner/scheme.js';
import {
  type Average,
  type LabelCounts,
  type PrfOptions,
  type WarnMetric,
  type ZeroDivision,
  averageScores,
  perLabelScores,
} from './prf.js';
import { formatReportText } from './report-text.js';

/** One row of seqeval's `output_dict`. */
export interface PrfRow {
  precision: number;
  recall: number;
  'f1-score': number;
  support: number;
}

/** seqeval's `output_dict`: one key per entity type (sorted), then `micro avg`, `macro avg`, `weighted avg`. */
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

export interface SeqevalOptions {
  mode?: ChunkMode;
  scheme?: Scheme;
  zeroDivision?: ZeroDivision;
  /** Sentence ids, only to name the sentence in error messages. */
  sentenceIds?: readonly string[];
}

export interface ScoreOptions extends SeqevalOptions {
  /** `micro` (seqeval's default), `macro` or `weighted`. */
  average?: Average;
}

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

/** seqeval's `check_consistent_length`, with a message that says which sentence and both lengths. */
export function checkConsistentLength(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  sentenceIds?: readonly string[],
): void {
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
): EntityLists {
  const table = new TagTable();
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
 * seqeval's `classification_report(gold, pred, mode=..., scheme=..., zero_division=...)` as a result
 * object. Strict mode without a scheme detects it from the gold tags (seqeval's `auto_detect`).
 */
export function classificationReport(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  opts: SeqevalOptions = {},
): SeqevalReport {
  const mode = opts.mode ?? 'default';
  const zeroDivision = opts.zeroDivision ?? 'warn';
  checkConsistentLength(gold, pred, opts.sentenceIds);
  // seqeval's report detects the scheme from the gold tags when none is given.
  const scheme = mode === 'strict' ? opts.scheme ?? detectScheme(gold) : null;
  const sets = entityLists(gold, pred, scheme);
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

/** seqeval's text report (`StringReporter`), byte for byte; `digits` defaults to seqeval's 2. */
export function formatClassificationReport(report: SeqevalReport, digits = 2): string {
  const labelRows = report.labels.map((label) => {
    const row = report.dict[label];
    return { name: label, precision: row.precision, recall: row.recall, f1: row['f1-score'], support: row.support };
  });
  const averageRows = (['micro avg', 'macro avg', 'weighted avg'] as const).map((name) => {
    const row = report.dict[name];
    return { name, precision: row.precision, recall: row.recall, f1: row['f1-score'], support: row.support };
  });
  return formatReportText(labelRows, averageRows, digits);
}

function score(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  opts: ScoreOptions,
  metric: WarnMetric,
): number {
  checkConsistentLength(gold, pred, opts.sentenceIds);
  // seqeval 1.2.2: strict only when mode is strict AND a scheme is given.
  const strictScheme = opts.mode === 'strict' && opts.scheme ? opts.scheme : null;
  const counts = countsOf(entityLists(gold, pred, strictScheme));
  const scores = averageScores(counts, opts.average ?? 'micro', {
    zeroDivision: opts.zeroDivision ?? 'warn',
    warnFor: [metric],
  });
  return metric === 'precision' ? scores.precision : metric === 'recall' ? scores.recall : scores.f1;
}

/** seqeval's `f1_score` (average `micro` by default). */
export function f1Score(gold: readonly (readonly string[])[], pred: readonly (readonly string[])[], opts: ScoreOptions = {}): number {
  return score(gold, pred, opts, 'f-score');
}

/** seqeval's `precision_score`. */
export function precisionScore(gold: readonly (readonly string[])[], pred: readonly (readonly string[])[], opts: ScoreOptions = {}): number {
  return score(gold, pred, opts, 'precision');
}

/** seqeval's `recall_score`. */
export function recallScore(gold: readonly (readonly string[])[], pred: readonly (readonly string[])[], opts: ScoreOptions = {}): number {
  return score(gold, pred, opts, 'recall');
}

/** Per-type counts (true / predicted / correct entities), for reports that show raw numbers. */
export function entityCounts(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  opts: SeqevalOptions = {},
): LabelCounts[] {
  checkConsistentLength(gold, pred, opts.sentenceIds);
  const scheme = opts.mode === 'strict' ? opts.scheme ?? detectScheme(gold) : null;
  return countsOf(entityLists(gold, pred, scheme));
}
