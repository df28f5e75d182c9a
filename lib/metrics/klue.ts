/**
 * KLUE NER's official figures, as KLUE-baseline computes them (both ×100):
 * - entity-level macro F1: seqeval `f1_score([all gold tags], [all predicted tags], average='macro',
 *   mode='strict', scheme=IOB2)` — every sentence concatenated into ONE sequence;
 * - character-level macro F1: scikit-learn `f1_score(flat gold, flat pred, labels=<the 13 KLUE tag
 *   values, O included, in KLUE-baseline's order>, average='macro', zero_division=1)`.
 *
 * With no entity in gold or prediction the entity figure is NaN, as in KLUE-baseline (seqeval's macro
 * average of no type is `np.average([])`); `--json` writes it as `NaN` (see `./json.js`).
 */
import { type LabelCounts, averageScores } from './prf.js';
import { checkConsistentLength, f1Score } from './seqeval.js';

/** KLUE NER's 13 tag values in KLUE's label order (O last). */
export const KLUE_NER_TAGS = [
  'B-DT', 'I-DT', 'B-LC', 'I-LC', 'B-OG', 'I-OG', 'B-PS', 'I-PS', 'B-QT', 'I-QT', 'B-TI', 'I-TI', 'O',
] as const;

/**
 * KLUE-baseline's label list (`KlueNERProcessor.get_labels` in klue_baseline/data/klue_ner.py), whose
 * order is the order in which `klue_ner_char_macro_f1` sums the per-tag F1 values. Summing in another
 * order changes the last bits (up to 4.3e-14 ×100 was seen), so the character figure uses this one.
 */
export const KLUE_BASELINE_LABELS = [
  'B-PS', 'I-PS', 'B-LC', 'I-LC', 'B-OG', 'I-OG', 'B-DT', 'I-DT', 'B-TI', 'I-TI', 'B-QT', 'I-QT', 'O',
] as const;

/** KLUE NER's 6 entity types: 날짜, 장소, 기관, 사람, 수량, 시간. */
export const KLUE_NER_TYPES = ['DT', 'LC', 'OG', 'PS', 'QT', 'TI'] as const;

export interface KlueScores {
  /** Entity-level macro F1 ×100 (strict IOB2, all sentences as one sequence). */
  entity_macro_f1: number;
  /** Character-level macro F1 ×100 over the 13 tag values, zero_division 1. */
  char_macro_f1: number;
}

export interface KlueOptions {
  /** Sentence ids, only to name the sentence in length-mismatch errors. */
  sentenceIds?: readonly string[];
}

/** All sentences as one sequence (a plain loop: `Array.prototype.flat` is several times slower here). */
function flatten(sequences: readonly (readonly string[])[]): string[] {
  let total = 0;
  for (const tags of sequences) total += tags.length;
  const flat = new Array<string>(total);
  let k = 0;
  for (const tags of sequences) for (let i = 0; i < tags.length; i++) flat[k++] = tags[i];
  return flat;
}

/** One tag sequence per sentence. */
type TagSequences = readonly (readonly string[])[];

/** KLUE entity-level macro F1 ×100. */
export function klueEntityMacroF1(gold: TagSequences, pred: TagSequences, opts: KlueOptions = {}): number {
  checkConsistentLength(gold, pred, opts.sentenceIds);
  return f1Score([flatten(gold)], [flatten(pred)], { average: 'macro', mode: 'strict', scheme: 'IOB2' }) * 100;
}

/** KLUE character-level macro F1 ×100; tags outside the 13 values only count as misses. */
export function klueCharMacroF1(gold: TagSequences, pred: TagSequences, opts: KlueOptions = {}): number {
  checkConsistentLength(gold, pred, opts.sentenceIds);
  const index = new Map<string, number>(KLUE_BASELINE_LABELS.map((tag, i) => [tag, i]));
  const counts: LabelCounts[] = KLUE_BASELINE_LABELS.map((label) => ({ label, trueSum: 0, predSum: 0, tpSum: 0 }));
  // Tags come in long runs (mostly 'O'): reuse the last lookup while the tag repeats.
  const lookup = (tag: string, last: { tag?: string; index?: number }): number | undefined => {
    if (tag !== last.tag) {
      last.tag = tag;
      last.index = index.get(tag);
    }
    return last.index;
  };
  const lastGold: { tag?: string; index?: number } = {};
  const lastPred: { tag?: string; index?: number } = {};
  for (let s = 0; s < gold.length; s++) {
    const g = gold[s];
    const p = pred[s];
    for (let i = 0; i < g.length; i++) {
      const gi = lookup(g[i], lastGold);
      const pi = lookup(p[i], lastPred);
      if (gi !== undefined) counts[gi].trueSum++;
      if (pi !== undefined) counts[pi].predSum++;
      if (gi !== undefined && gi === pi) counts[gi].tpSum++;
    }
  }
  return averageScores(counts, 'macro', { zeroDivision: 1 }).f1 * 100;
}

/** Both KLUE figures. */
export function klueScores(gold: TagSequences, pred: TagSequences, opts: KlueOptions = {}): KlueScores {
  return { entity_macro_f1: klueEntityMacroF1(gold, pred, opts), char_macro_f1: klueCharMacroF1(gold, pred, opts) };
}
