/**
 * The F1 = 0 debugger: where every gold entity went between the model's answer and the tags.
 *
 * `explainSentence` follows one answer through parsing, placement and scoring; `diagnose` counts the
 * same over a data set and raises the F1 = 0 alarm. Only counting lives here; the text reporters
 * are in `format.ts`.
 *
 * Every gold entity gets exactly one fate, checked in this order:
 * 1. `correct` — predicted with the same type and boundaries;
 * 2. `not_parsed` — the sentence's answer gave no usable JSON (missing, empty, no JSON,
 *    unparseable, an unsupported shape);
 * 3. `wrong_type` / `wrong_boundary` — a predicted entity overlaps it: same span but another type /
 *    other boundaries;
 * 4. `not_placed` — the answer lists it (same normalised text, or a `not_found` listing whose
 *    closest text overlaps it) but no tag carries it; the cause is the listing's status
 *    (`not_found`, `overlap`, `unknown_label`, `invalid_value`), `placed_elsewhere` when the
 *    listing went to another occurrence of the same text, or `converter` when the aligner placed it
 *    right but the converter under test (a seed step) did not;
 * 5. `not_predicted` — the answer does not mention it: a model error, not a conversion error.
 */
import { getEntities, type Entity } from '../ner/scheme.js';
import { alignAnswer, isPlaced, ENTITY_STATUSES, type AlignOptions, type AlignParseReport, type EntityReport, type EntityStatus } from '../ner/align.js';
import { normalizeForMatch } from '../ner/normalize.js';
import { f1Score, precisionScore, recallScore } from '../metrics/seqeval.js';
import type { JsonExtractionStatus } from '../llm/extract-json.js';
import type { DiagnoseItem, GoldSentence } from '../ner/answers.js';

export type { DiagnoseItem, GoldSentence };

/** Turns an answer into tags; the default is `alignAnswer`. A seed step can be passed instead. */
export type Tagger = (tokens: readonly string[], answer: string) => string[];

export interface ExplainOptions extends AlignOptions {
  /** Tags come from this converter instead of `alignAnswer` (the entity reports still do not). */
  tagger?: Tagger;
  /** The converter's name for reports (default `custom` with a tagger, `align` without). */
  taggerName?: string;
}

/** Why an answer gave no entities at all. */
export type ParseFailure = 'missing' | 'empty' | 'no_json' | 'unparseable' | 'unsupported_shape';
export const PARSE_FAILURES: readonly ParseFailure[] = ['missing', 'empty', 'no_json', 'unparseable', 'unsupported_shape'];

/** Parse outcome per answer, `missing` for a sentence without an answer. */
export type ParseOutcome = JsonExtractionStatus | 'missing' | 'unsupported_shape';
export const PARSE_OUTCOMES: readonly ParseOutcome[] = ['strict', 'fenced', 'repaired', 'empty', 'no_json', 'unparseable', 'unsupported_shape', 'missing'];

export type GoldFate = 'correct' | 'not_parsed' | 'wrong_type' | 'wrong_boundary' | 'not_placed' | 'not_predicted';
export const GOLD_FATES: readonly GoldFate[] = ['correct', 'not_parsed', 'wrong_type', 'wrong_boundary', 'not_placed', 'not_predicted'];

/** What stopped a listed entity from becoming tags. */
export type PlacementCause = Exclude<EntityStatus, 'exact' | 'whitespace' | 'normalized'> | 'placed_elsewhere' | 'converter';
export const PLACEMENT_CAUSES: readonly PlacementCause[] = ['not_found', 'overlap', 'unknown_label', 'invalid_value', 'placed_elsewhere', 'converter'];

/** An entity with its surface text. */
export interface TextEntity extends Entity {
  text: string;
}

export type SpanDiffKind = 'correct' | 'wrong_type' | 'wrong_boundary' | 'missed' | 'spurious';

/** One row of the gold-vs-predicted comparison. */
export interface SpanDiff {
  kind: SpanDiffKind;
  gold?: TextEntity;
  pred?: TextEntity;
}

export interface GoldEntityFate {
  entity: TextEntity;
  fate: GoldFate;
  /** For `not_parsed`: the parse failure; for `not_placed`: the placement cause. */
  cause?: ParseFailure | PlacementCause;
  /** The listing (index into `entities`) that speaks about it, when there is one. */
  listing?: number;
  /** For `not_parsed`: the raw answer mentions its text (after normalisation). */
  mentioned?: boolean;
}

export interface SentenceExplanation {
  id: string;
  /** Which converter made `predTags`: `align` (alignAnswer) or the tagger's name. */
  tagger: string;
  text: string;
  /** The raw answer; null when the sentence has none. */
  answer: string | null;
  /** The parse report; null when the sentence has no answer. */
  parse: AlignParseReport | null;
  outcome: ParseOutcome;
  /** Set when the answer gave no usable JSON. */
  failure?: ParseFailure;
  entities: EntityReport[];
  tokens: readonly string[];
  goldTags: readonly string[];
  predTags: string[];
  goldEntities: TextEntity[];
  predEntities: TextEntity[];
  diffs: SpanDiff[];
  fates: GoldEntityFate[];
  /** Gold entities not predicted exactly + predicted entities not in gold. */
  errors: number;
}

/** Explains one sentence: parse steps, entity statuses, tags side by side, and each gold entity's fate. */
export function explainSentence(sentence: GoldSentence, answer: string | undefined | null, labels: readonly string[], options: ExplainOptions = {}): SentenceExplanation {
  const tokens = sentence.tokens;
  const text = sentence.text ?? tokens.join('');
  const goldTags = sentence.tags;
  let parse: AlignParseReport | null = null;
  let entities: EntityReport[] = [];
  let predTags: string[];
  let outcome: ParseOutcome;
  if (answer === undefined || answer === null) {
    outcome = 'missing';
    predTags = new Array<string>(tokens.length).fill('O');
  } else {
    const aligned = alignAnswer(tokens, answer, labels, options);
    parse = aligned.parse;
    entities = aligned.entities;
    predTags = options.tagger ? options.tagger(tokens, answer) : aligned.tags;
    outcome = aligned.parse.shape === 'unsupported' ? 'unsupported_shape' : aligned.parse.status;
  }
  const failure = failureOf(outcome);
  const goldEntities = withText(getEntities(goldTags), tokens);
  const predEntities = withText(getEntities(predTags), tokens);
  const diffs = compareSpans(goldEntities, predEntities);
  const fates = goldFates(goldEntities, predEntities, entities, failure, answer ?? '', options.tagger !== undefined);
  const errors = diffs.reduce((sum, diff) => sum + (diff.kind === 'correct' ? 0 : diff.kind === 'wrong_type' || diff.kind === 'wrong_boundary' ? (diff.gold ? 1 : 0) + (diff.pred ? 1 : 0) : 1), 0);
  const tagger = options.tagger ? options.taggerName ?? 'custom' : 'align';
  return { id: sentence.id, tagger, text, answer: answer ?? null, parse, outcome, failure, entities, tokens, goldTags, predTags, goldEntities, predEntities, diffs, fates, errors };
}

/** One sentence of a data set and its answer (undefined: the model gave none). */
export interface DiagnoseOptions extends ExplainOptions {
  /** How many example sentence ids to keep per cause (default 3). */
  examples?: number;
  /** The alarm also fires when tag F1 is below answer F1 by at least this much (default 0.2). */
  alarmGap?: number;
}

/** A reason gold entities were lost, with examples. */
export interface LossCause {
  /** `not_parsed:no_json`, `not_placed:unknown_label`, `wrong_boundary`, `wrong_type`. */
  key: string;
  fate: GoldFate;
  cause?: ParseFailure | PlacementCause;
  /** Gold entities lost to this cause. */
  lost: number;
  /** Sentences where it happened. */
  sentences: number;
  /** Ids of the first sentences where it happened (worst first). */
  examples: string[];
}

export interface DiagnosisF1 {
  /** seqeval default-mode micro F1 of the tags (what the metric reports). */
  tag: number;
  precision: number;
  recall: number;
  /**
   * Micro F1 of what the answers say, ignoring positions: the multiset of (type, normalised text)
   * the answers list against the gold entities'. When tag F1 is far below it, the conversion, not
   * the model, loses the entities.
   */
  answer: number;
}

export interface Diagnosis {
  sentences: number;
  /** Sentences with an answer (possibly empty). */
  answered: number;
  /** Answers with any non-whitespace text. */
  nonEmptyAnswers: number;
  parseOutcomes: Record<ParseOutcome, number>;
  entityStatuses: Record<EntityStatus, number>;
  /** Listed entities in all answers. */
  listed: number;
  gold: number;
  predicted: number;
  /** Predicted entities that overlap no gold entity. */
  spurious: number;
  fates: Record<GoldFate, number>;
  notParsedBy: Record<ParseFailure, number>;
  notPlacedBy: Record<PlacementCause, number>;
  f1: DiagnosisF1;
  /** Conversion losses, most gold entities lost first (`not_predicted` is the model's own). */
  causes: LossCause[];
  /** Set when the F1 = 0 alarm fires. */
  alarm: DiagnosisAlarm | null;
  /** Every sentence's explanation, in data-set order. */
  explanations: SentenceExplanation[];
  /** Indices into `explanations`, most errors first (ties in data-set order); error-free ones left out. */
  worst: number[];
}

export interface DiagnosisAlarm {
  /** `zero_f1` or `far_below_answers`. */
  kind: 'zero_f1' | 'far_below_answers';
  /** The top causes (at most 3). */
  causes: LossCause[];
}

/** Diagnoses a data set of answers. */
export function diagnose(items: readonly DiagnoseItem[], labels: readonly string[], options: DiagnoseOptions = {}): Diagnosis {
  const explanations = items.map((item) => explainSentence(item.sentence, item.answer, labels, options));
  const parseOutcomes = zeroCounts(PARSE_OUTCOMES);
  const entityStatuses = zeroCounts(ENTITY_STATUSES);
  const fates = zeroCounts(GOLD_FATES);
  const notParsedBy = zeroCounts(PARSE_FAILURES);
  const notPlacedBy = zeroCounts(PLACEMENT_CAUSES);
  const total = (of: (ex: SentenceExplanation) => number) => explanations.reduce((sum, ex) => sum + of(ex), 0);
  const answered = total((ex) => Number(ex.answer !== null));
  const nonEmptyAnswers = total((ex) => Number(ex.answer !== null && ex.answer.trim() !== ''));
  const listed = total((ex) => ex.entities.length);
  const gold = total((ex) => ex.goldEntities.length);
  const predicted = total((ex) => ex.predEntities.length);
  const spurious = total((ex) => ex.diffs.filter((diff) => diff.kind === 'spurious').length);
  let answerTp = 0;
  let answerListed = 0;
  const causeMap = new Map<string, LossCause>();

  const worst = explanations.map((_, i) => i).filter((i) => explanations[i].errors > 0);
  worst.sort((a, b) => explanations[b].errors - explanations[a].errors || a - b);
  const rank = new Map<number, number>();
  worst.forEach((i, r) => rank.set(i, r));

  for (const ex of explanations) {
    parseOutcomes[ex.outcome]++;
    for (const entity of ex.entities) entityStatuses[entity.status]++;
    const bag = answerBag(ex);
    answerListed += bag.listed;
    answerTp += bag.matched;
    for (const fate of ex.fates) {
      fates[fate.fate]++;
      if (fate.fate === 'not_parsed') notParsedBy[fate.cause as ParseFailure]++;
      if (fate.fate === 'not_placed') notPlacedBy[fate.cause as PlacementCause]++;
      if (fate.fate === 'correct' || fate.fate === 'not_predicted') continue;
      const key = fate.cause === undefined ? fate.fate : `${fate.fate}:${fate.cause}`;
      let cause = causeMap.get(key);
      if (cause === undefined) {
        cause = { key, fate: fate.fate, cause: fate.cause, lost: 0, sentences: 0, examples: [] };
        causeMap.set(key, cause);
      }
      cause.lost++;
      if (cause.examples[cause.examples.length - 1] !== ex.id && !cause.examples.includes(ex.id)) {
        cause.sentences++;
        cause.examples.push(ex.id);
      }
    }
  }
  const maxExamples = options.examples ?? 3;
  const byRank = new Map(explanations.map((ex, i) => [ex.id, rank.get(i) ?? Number.MAX_SAFE_INTEGER]));
  const causes = [...causeMap.values()].sort((a, b) => b.lost - a.lost || a.key.localeCompare(b.key));
  for (const cause of causes) {
    cause.examples.sort((a, b) => (byRank.get(a) ?? 0) - (byRank.get(b) ?? 0));
    cause.examples = cause.examples.slice(0, maxExamples);
  }

  const goldTags = explanations.map((ex) => ex.goldTags);
  const predTags = explanations.map((ex) => ex.predTags);
  const scoreOptions = { zeroDivision: 0 as const };
  const tagF1 = explanations.length ? f1Score(goldTags, predTags, scoreOptions) : 0;
  const f1: DiagnosisF1 = {
    tag: tagF1,
    precision: explanations.length ? precisionScore(goldTags, predTags, scoreOptions) : 0,
    recall: explanations.length ? recallScore(goldTags, predTags, scoreOptions) : 0,
    answer: answerTp === 0 ? 0 : (2 * answerTp) / (answerListed + gold),
  };
  let alarm: DiagnosisAlarm | null = null;
  if (nonEmptyAnswers > 0) {
    if (f1.tag === 0) alarm = { kind: 'zero_f1', causes: causes.slice(0, 3) };
    else if (f1.answer - f1.tag >= (options.alarmGap ?? 0.2)) alarm = { kind: 'far_below_answers', causes: causes.slice(0, 3) };
  }
  return {
    sentences: explanations.length,
    answered,
    nonEmptyAnswers,
    parseOutcomes,
    entityStatuses,
    listed,
    gold,
    predicted,
    spurious,
    fates,
    notParsedBy,
    notPlacedBy,
    f1,
    causes,
    alarm,
    explanations,
    worst,
  };
}

// --- internals --------------------------------------------------------------------------------

function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  const counts = Object.create(null) as Record<K, number>;
  for (const key of keys) counts[key] = 0;
  return counts;
}

function failureOf(outcome: ParseOutcome): ParseFailure | undefined {
  switch (outcome) {
    case 'missing':
    case 'empty':
    case 'no_json':
    case 'unparseable':
    case 'unsupported_shape':
      return outcome;
    default:
      return undefined;
  }
}

function withText(entities: Entity[], tokens: readonly string[]): TextEntity[] {
  return entities.map((entity) => ({ ...entity, text: tokens.slice(entity.start, entity.end).join('') }));
}

function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start < b.end && b.start < a.end;
}

/** Pairs gold and predicted entities: exact, same span other type, overlapping, or alone. */
function compareSpans(gold: TextEntity[], pred: TextEntity[]): SpanDiff[] {
  const diffs: SpanDiff[] = [];
  const usedPred = new Set<number>();
  for (const g of gold) {
    let exact = -1;
    let sameSpan = -1;
    let overlap = -1;
    for (let p = 0; p < pred.length; p++) {
      const e = pred[p];
      if (e.start === g.start && e.end === g.end) {
        if (e.type === g.type) exact = p;
        else if (sameSpan < 0) sameSpan = p;
      } else if (overlap < 0 && overlaps(e, g)) overlap = p;
    }
    if (exact >= 0) {
      usedPred.add(exact);
      diffs.push({ kind: 'correct', gold: g, pred: pred[exact] });
    } else if (sameSpan >= 0) {
      usedPred.add(sameSpan);
      diffs.push({ kind: 'wrong_type', gold: g, pred: pred[sameSpan] });
    } else if (overlap >= 0) {
      // A predicted entity can overlap two gold ones; it is paired with the first and counted once.
      const first = !usedPred.has(overlap);
      usedPred.add(overlap);
      diffs.push({ kind: 'wrong_boundary', gold: g, pred: first ? pred[overlap] : undefined });
    } else {
      diffs.push({ kind: 'missed', gold: g });
    }
  }
  for (let p = 0; p < pred.length; p++) {
    if (usedPred.has(p)) continue;
    // Overlapping a gold entity already paired: still a boundary error, not an invention.
    const touching = gold.some((g) => overlaps(g, pred[p]));
    diffs.push({ kind: touching ? 'wrong_boundary' : 'spurious', pred: pred[p] });
  }
  diffs.sort((a, b) => startOf(a) - startOf(b));
  return diffs;
}

function startOf(diff: SpanDiff): number {
  return (diff.gold ?? diff.pred)!.start;
}

function goldFates(
  gold: TextEntity[],
  pred: TextEntity[],
  listings: EntityReport[],
  failure: ParseFailure | undefined,
  answer: string,
  customTagger: boolean,
): GoldEntityFate[] {
  const normalizedAnswer = failure === undefined ? '' : normalizeForMatch(answer);
  return gold.map((entity): GoldEntityFate => {
    if (pred.some((p) => p.start === entity.start && p.end === entity.end && p.type === entity.type)) return { entity, fate: 'correct' };
    if (failure !== undefined) {
      const key = normalizeForMatch(entity.text);
      return { entity, fate: 'not_parsed', cause: failure, mentioned: key.length > 0 && normalizedAnswer.includes(key) };
    }
    if (pred.some((p) => p.start === entity.start && p.end === entity.end)) return { entity, fate: 'wrong_type' };
    if (pred.some((p) => overlaps(p, entity))) return { entity, fate: 'wrong_boundary' };
    const found = listingFor(entity, listings);
    if (found !== undefined) {
      const report = listings[found.index];
      let cause: PlacementCause;
      if (found.onIt) cause = customTagger ? 'converter' : 'placed_elsewhere';
      else cause = isPlaced(report.status) ? 'placed_elsewhere' : (report.status as PlacementCause);
      return { entity, fate: 'not_placed', cause, listing: found.index };
    }
    return { entity, fate: 'not_predicted' };
  });
}

/** The listing that names this gold entity but did not end up on it, if any. */
function listingFor(entity: TextEntity, listings: EntityReport[]): { index: number; onIt: boolean } | undefined {
  const key = normalizeForMatch(entity.text);
  let best: number | undefined;
  for (const report of listings) {
    const onIt = report.spans.some((span) => span.start === entity.start && span.end === entity.end);
    if (onIt) return { index: report.index, onIt: true }; // placed right by the aligner; only a custom tagger can lose it
    if (isPlaced(report.status)) {
      if (best === undefined && normalizeForMatch(report.text) === key && report.type === entity.type) best = report.index;
      continue;
    }
    if (report.status === 'invalid_value') continue;
    if (normalizeForMatch(report.text) === key) {
      if (best === undefined || listingsPrefer(report, listings[best], entity)) best = report.index;
    } else if (report.status === 'not_found' && report.hint !== undefined && report.hint.similarity >= 0.5 && overlaps(report.hint, entity)) {
      if (best === undefined) best = report.index;
    }
  }
  return best === undefined ? undefined : { index: best, onIt: false };
}

/** Between two listings with the gold text, the one of the right type explains the loss better. */
function listingsPrefer(candidate: EntityReport, current: EntityReport, entity: TextEntity): boolean {
  return candidate.type === entity.type && current.type !== entity.type;
}

/** (type, normalised text) matches between what the answer lists and the gold entities. */
function answerBag(ex: SentenceExplanation): { listed: number; matched: number } {
  const goldBag = new Map<string, number>();
  for (const g of ex.goldEntities) {
    const key = g.type + '\u0000' + normalizeForMatch(g.text);
    goldBag.set(key, (goldBag.get(key) ?? 0) + 1);
  }
  let listed = 0;
  let matched = 0;
  for (const report of ex.entities) {
    if (report.status === 'invalid_value') continue;
    listed++;
    if (report.type === null) continue;
    const key = report.type + '\u0000' + normalizeForMatch(report.text);
    const left = goldBag.get(key) ?? 0;
    if (left > 0) {
      matched++;
      goldBag.set(key, left - 1);
    }
  }
  return { listed, matched };
}
