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
 * Speed: tags are split once per distinct string and entities are kept as numeric keys in per-type
 * sets, so scoring is linear in the number of tokens.
 */
import { HanlabError } from '../errors.js';
import {
  type ChunkMode,
  type DefaultTag,
  type Scheme,
  type StrictTag,
  detectScheme,
  forEachDefaultChunk,
  splitDefaultTag,
  splitStrictTag,
  strictEntitiesOf,
} from '../ner/scheme.js';
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

/** Entities of both sides as per-type sets of numeric (start, end) keys. */
interface EntitySets {
  gold: Map<string, Set<number>>;
  pred: Map<string, Set<number>>;
  scheme: Scheme | null;
  warnings: string[];
}

function addEntity(sets: Map<string, Set<number>>, type: string, key: number): void {
  let set = sets.get(type);
  if (!set) {
    set = new Set();
    sets.set(type, set);
  }
  set.add(key);
}

function totalLength(sequences: readonly (readonly string[])[]): number {
  let n = 0;
  for (const s of sequences) n += s.length + 1;
  return n;
}

function collectDefault(gold: readonly (readonly string[])[], pred: readonly (readonly string[])[]): EntitySets {
  const warnings: string[] = [];
  const cache = new Map<string, DefaultTag>();
  const split = (tag: string, s: number, i: number): DefaultTag => {
    let parts = cache.get(tag);
    if (!parts) {
      parts = splitDefaultTag(tag, s, i);
      cache.set(tag, parts);
      if (!parts.looksLikeNeTag) warnings.push(`${tag} seems not to be NE tag.`);
    }
    return parts;
  };
  // Keys are start * K + end in seqeval's flattened numbering (both sides have the same length).
  const K = totalLength(gold) + 2;
  const goldSets = new Map<string, Set<number>>();
  const predSets = new Map<string, Set<number>>();
  forEachDefaultChunk(gold, (type, start, end) => addEntity(goldSets, type, start * K + end), split);
  forEachDefaultChunk(pred, (type, start, end) => addEntity(predSets, type, start * K + end), split);
  return { gold: goldSets, pred: predSets, scheme: null, warnings };
}

function collectStrict(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  scheme: Scheme,
): EntitySets {
  const cache = new Map<string, StrictTag>();
  const K = totalLength(gold) + 2;
  const collect = (sequences: readonly (readonly string[])[], side: string): Map<string, Set<number>> => {
    const sets = new Map<string, Set<number>>();
    let offset = 0;
    for (let s = 0; s < sequences.length; s++) {
      const tags = sequences[s];
      const tokens: StrictTag[] = new Array(tags.length);
      for (let i = 0; i < tags.length; i++) {
        let token = cache.get(tags[i]);
        if (!token) {
          token = withSide(side, () => splitStrictTag(tags[i], s, i));
          cache.set(tags[i], token);
        }
        tokens[i] = token;
      }
      const entities = withSide(side, () => strictEntitiesOf(tokens, scheme, tags, s));
      for (const e of entities) addEntity(sets, e.type, (offset + e.start) * K + (offset + e.end));
      offset += tags.length + 1;
    }
    return sets;
  };
  return { gold: collect(gold, 'gold'), pred: collect(pred, 'predicted'), scheme, warnings: [] };
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

function countsOf(sets: EntitySets): LabelCounts[] {
  const labels = [...new Set([...sets.gold.keys(), ...sets.pred.keys()])].sort(compareCodePoints);
  return labels.map((label) => {
    const goldSet = sets.gold.get(label);
    const predSet = sets.pred.get(label);
    let tpSum = 0;
    if (goldSet && predSet) {
      const [small, large] = goldSet.size <= predSet.size ? [goldSet, predSet] : [predSet, goldSet];
      for (const key of small) if (large.has(key)) tpSum++;
    }
    return { label, trueSum: goldSet?.size ?? 0, predSum: predSet?.size ?? 0, tpSum };
  });
}

function entitySets(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  strictScheme: Scheme | null,
): EntitySets {
  return strictScheme ? collectStrict(gold, pred, strictScheme) : collectDefault(gold, pred);
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
  const scheme = mode === 'strict' ? opts.scheme ?? withSide('gold', () => detectScheme(gold)) : null;
  const sets = entitySets(gold, pred, scheme);
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
  const counts = countsOf(entitySets(gold, pred, strictScheme));
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
  return countsOf(entitySets(gold, pred, scheme));
}
