/**
 * Multiple-choice QA scoring (study 002, KorMedMCQA): which option a free-text answer chose, accuracy
 * per subset and overall, and base vs fine-tuned with the difference, the relative gain and a seeded
 * paired-bootstrap confidence interval.
 *
 * Three overall figures, because they answer different questions:
 * - `micro`: correct / all questions. Every question weighs the same (lm-eval-harness's group score
 *   with size weighting).
 * - `sizeWeighted`: Σ_s w_s · accuracy_s with w_s = size_s / Σ size. With the default sizes (questions
 *   evaluated per subset) this is the micro figure by construction; pass `subsetSizes` (e.g. the full
 *   test-set sizes 435 / 878 / 811 / 885 when only a sample was evaluated) to weight by those instead.
 * - `macro`: the unweighted mean of the subset accuracies. Every subset weighs the same.
 * An unextractable answer is wrong and stays in every denominator; its count is reported beside.
 */
import { InputError, UsageError } from '../errors.js';
import { createRng, uniformInt } from '../random.js';

export const MCQA_LETTERS: readonly string[] = ['A', 'B', 'C', 'D', 'E'];

/** Option texts by letter (`{ A: '항핵항체(ANA)', … }`). */
export type OptionTexts = Readonly<Record<string, string>>;

/**
 * - `letter`: the answer is just the letter (`C`, `C.`, ` c `).
 * - `labelled`: an explicit label (`정답: C`, `정답은 (C)입니다`, `답: C`, `Answer: C`).
 * - `letter-with-text`: the answer starts with the letter and goes on (`C. 비타민B12`, `C) …`, `C입니다`).
 * - `parenthesized`: one distinct `(C)` in the answer.
 * - `option-text`: the answer is (or contains) the text of exactly one option.
 */
export type ExtractionMethod = 'letter' | 'labelled' | 'letter-with-text' | 'parenthesized' | 'option-text';

/** Why no choice was found: nothing there, or several different choices. */
export type ExtractionFailure = 'empty' | 'no-choice' | 'ambiguous';

export interface ChoiceExtraction {
  choice: string | null;
  method?: ExtractionMethod;
  failure?: ExtractionFailure;
  /** Short English reason, for error tables and logs. */
  detail: string;
}

export interface ExtractChoiceOptions {
  /** Option texts, for `option-text` and to catch `C. <text of option A>` contradictions. */
  options?: OptionTexts;
  /** Allowed letters; default A–E. */
  letters?: readonly string[];
}

const LABEL = String.raw`(?:정답|답|[Aa]nswer)\s*(?:은|는|이|:|=|is)?\s*[:：]?\s*[\(\[]?\s*`;

/** Which option a free-text answer chose; never throws. Rules are tried in the order of the method list. */
export function extractChoice(answer: string, options: ExtractChoiceOptions = {}): ChoiceExtraction {
  const letters = options.letters ?? MCQA_LETTERS;
  const letterClass = `[${letters.map(escapeRegExp).join('')}]`;
  // NFKC folds full-width letters and colons (Ｃ, ：); markdown emphasis is noise around a choice.
  const text = String(answer).normalize('NFKC').replace(/\*\*|__|`/g, '').trim();
  if (text === '') return { choice: null, failure: 'empty', detail: 'empty answer' };

  const bare = new RegExp(`^[\\(\\[]?\\s*(${letterClass})\\s*[\\)\\].:]?$`, 'i').exec(text);
  if (bare) return { choice: bare[1].toUpperCase(), method: text.startsWith('(') || text.startsWith('[') ? 'parenthesized' : 'letter', detail: 'the answer is the letter' };

  const labelled = distinct(matchAll(new RegExp(`${LABEL}(${letterClass})(?![A-Za-z])`, 'g'), text));
  if (labelled.length === 1) return { choice: labelled[0], method: 'labelled', detail: 'explicitly labelled answer' };
  if (labelled.length > 1) return { choice: null, failure: 'ambiguous', detail: `labelled answers disagree: ${labelled.join(', ')}` };

  // An answer that is exactly one option's text wins over a leading letter ("B형 간염" is not "B").
  const exact = options.options ? optionWithText(options.options, text.replace(new RegExp(`^${LABEL}`), '')) : undefined;
  if (exact !== undefined && letters.includes(exact)) return { choice: exact, method: 'option-text', detail: 'the answer is the text of one option' };

  // A leading letter counts when punctuation, a space, the end or a Korean particle follows it
  // (`C.`, `C)`, `C 비타민`, `C입니다`, `C가 정답`), not a word that starts with it (`B형`, `ABO`)
  // nor an English sentence (`A patient …`).
  const lead = new RegExp(`^([\\(\\[])?\\s*(${letterClass})(?:\\s*[\\)\\].:]|(?=\\s+[^\\sA-Za-z]|\\s*$|입|이|가|는|은|번|를|을|로|요))\\s*(.*)`, 's').exec(text);
  const parenthesized = distinct(matchAll(new RegExp(`\\((${letterClass})\\)`, 'g'), text));
  if (lead) {
    const choice = lead[2];
    const others = parenthesized.filter((letter) => letter !== choice);
    if (others.length > 0) return { choice: null, failure: 'ambiguous', detail: `starts with ${choice} but also names (${others.join('), (')})` };
    const rest = (lead[3] ?? '').split('\n')[0].trim();
    const named = options.options && rest ? optionWithText(options.options, rest) : undefined;
    if (named !== undefined && named !== choice) {
      return { choice: null, failure: 'ambiguous', detail: `starts with ${choice} but the text is option ${named}` };
    }
    return { choice, method: lead[1] ? 'parenthesized' : 'letter-with-text', detail: 'the answer starts with the letter' };
  }

  if (parenthesized.length === 1) return { choice: parenthesized[0], method: 'parenthesized', detail: 'one (X) in the answer' };
  if (parenthesized.length > 1) return { choice: null, failure: 'ambiguous', detail: `several (X): ${parenthesized.join(', ')}` };

  if (options.options) {
    const byText = choiceByOptionText(options.options, text, letters);
    if (byText.choice !== null) return { choice: byText.choice, method: 'option-text', detail: byText.detail };
    if (byText.ambiguous) return { choice: null, failure: 'ambiguous', detail: byText.detail };
  }
  return { choice: null, failure: 'no-choice', detail: 'no letter, label or option text found' };
}

function choiceByOptionText(options: OptionTexts, text: string, letters: readonly string[]): { choice: string | null; ambiguous: boolean; detail: string } {
  const stripped = normalizeOptionText(text.replace(new RegExp(`^${LABEL}`), ''));
  const exact = optionWithText(options, stripped);
  if (exact !== undefined) return { choice: exact, ambiguous: false, detail: 'the answer is the text of one option' };
  const contained = letters.filter((letter) => {
    const option = Object.hasOwn(options, letter) ? normalizeOptionText(options[letter]) : '';
    return option.length >= 2 && stripped.includes(option);
  });
  // "비타민B12" inside the answer also contains option "비타민": keep only the longest matches.
  const maximal = contained.filter(
    (letter) =>
      !contained.some((other) => other !== letter && normalizeOptionText(options[other]).includes(normalizeOptionText(options[letter])) && normalizeOptionText(options[other]) !== normalizeOptionText(options[letter])),
  );
  if (maximal.length === 1) return { choice: maximal[0], ambiguous: false, detail: 'the answer contains the text of exactly one option' };
  if (maximal.length > 1) return { choice: null, ambiguous: true, detail: `the answer contains the texts of options ${maximal.join(', ')}` };
  return { choice: null, ambiguous: false, detail: '' };
}

/** The one letter whose option text equals `text` (after normalisation), if exactly one does. */
function optionWithText(options: OptionTexts, text: string): string | undefined {
  const wanted = normalizeOptionText(text);
  const hits = Object.keys(options).filter((letter) => normalizeOptionText(options[letter]) === wanted);
  return hits.length === 1 ? hits[0] : undefined;
}

function normalizeOptionText(text: string): string {
  return String(text)
    .normalize('NFKC')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\s*(입니다|이다|다)?\s*[.。!]*$/, '')
    .toLowerCase();
}

function matchAll(pattern: RegExp, text: string): string[] {
  return Array.from(text.matchAll(pattern), (m) => m[1].toUpperCase());
}

function distinct(values: string[]): string[] {
  return [...new Set(values)];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------------
// Scoring

export interface McqaRecord {
  /** Pairs base and fine-tuned answers; when absent, records pair by position. */
  id?: string;
  /** `doctor`, `nurse`, `dentist`, `pharm`, …; one subset `all` when absent. */
  subset?: string;
  /** The correct letter. */
  gold: string;
  /** The model's raw answer text. */
  answer: string;
  options?: OptionTexts;
}

export interface McqaItem {
  id: string;
  subset: string;
  gold: string;
  predicted: string | null;
  correct: boolean;
  extraction: ChoiceExtraction;
  answer: string;
}

export interface SubsetAccuracy {
  subset: string;
  total: number;
  correct: number;
  unextractable: number;
  accuracy: number;
}

export interface OverallAccuracy {
  total: number;
  correct: number;
  unextractable: number;
  /** correct / total over all questions. */
  micro: number;
  /** Σ w_s · accuracy_s, w_s = subset size / Σ sizes (see `weights`). */
  sizeWeighted: number;
  /** Unweighted mean of subset accuracies. */
  macro: number;
  /** The size used for each subset in `sizeWeighted`. */
  weights: Record<string, number>;
}

export interface McqaScore {
  items: McqaItem[];
  subsets: SubsetAccuracy[];
  overall: OverallAccuracy;
  /** How many answers each extraction method produced; `unextractable` counts the failures. */
  methods: Record<ExtractionMethod | 'unextractable', number>;
}

export interface ScoreMcqaOptions {
  /** Subset order in the result; default order of first appearance. */
  subsetOrder?: readonly string[];
  /** Sizes for the size-weighted figure; default the questions evaluated per subset. */
  subsetSizes?: Readonly<Record<string, number>>;
  letters?: readonly string[];
}

export function scoreMcqa(records: readonly McqaRecord[], options: ScoreMcqaOptions = {}): McqaScore {
  const letters = options.letters ?? MCQA_LETTERS;
  const items: McqaItem[] = records.map((record, index) => {
    const gold = String(record.gold).trim().toUpperCase();
    if (!letters.includes(gold)) throw new InputError(`gold answer "${record.gold}" is not one of ${letters.join(', ')}`, { line: index + 1, field: 'gold' });
    const extraction = extractChoice(record.answer, { options: record.options, letters });
    return {
      id: record.id ?? String(index),
      subset: record.subset ?? 'all',
      gold,
      predicted: extraction.choice,
      correct: extraction.choice === gold,
      extraction,
      answer: record.answer,
    };
  });
  const order = orderSubsets(items.map((item) => item.subset), options.subsetOrder);
  const bySubset = new Map<string, SubsetAccuracy>(order.map((subset) => [subset, { subset, total: 0, correct: 0, unextractable: 0, accuracy: 0 }]));
  const methods: McqaScore['methods'] = { letter: 0, labelled: 0, 'letter-with-text': 0, parenthesized: 0, 'option-text': 0, unextractable: 0 };
  for (const item of items) {
    const row = bySubset.get(item.subset)!;
    row.total++;
    if (item.correct) row.correct++;
    if (item.predicted === null) row.unextractable++;
    methods[item.extraction.method ?? 'unextractable']++;
  }
  const subsets = [...bySubset.values()].filter((row) => row.total > 0);
  for (const row of subsets) row.accuracy = row.correct / row.total;
  const weights = Object.create(null) as Record<string, number>;
  for (const row of subsets) {
    const size = options.subsetSizes ? options.subsetSizes[row.subset] : row.total;
    if (!(typeof size === 'number' && size > 0)) throw new UsageError(`subsetSizes has no positive size for subset "${row.subset}"`);
    weights[row.subset] = size;
  }
  const total = items.length;
  const correct = items.filter((item) => item.correct).length;
  return {
    items,
    subsets,
    overall: {
      total,
      correct,
      unextractable: methods.unextractable,
      micro: total ? correct / total : 0,
      sizeWeighted: weightedMean(subsets.map((row) => [row.accuracy, weights[row.subset]])),
      macro: subsets.length ? subsets.reduce((sum, row) => sum + row.accuracy, 0) / subsets.length : 0,
      weights,
    },
    methods,
  };
}

function orderSubsets(seen: readonly string[], preferred?: readonly string[]): string[] {
  const order = [...(preferred ?? [])];
  for (const subset of seen) if (!order.includes(subset)) order.push(subset);
  return order;
}

function weightedMean(pairs: Array<[number, number]>): number {
  const totalWeight = pairs.reduce((sum, [, weight]) => sum + weight, 0);
  return totalWeight ? pairs.reduce((sum, [value, weight]) => sum + value * weight, 0) / totalWeight : 0;
}

// ---------------------------------------------------------------------------------------------------
// Base vs fine-tuned

export interface ConfidenceInterval {
  /** Lower and upper bound of the difference, in percentage points. */
  low: number;
  high: number;
  confidence: number;
  resamples: number;
  seed: number;
}

export interface AccuracyDifference {
  name: string;
  total: number;
  base: number;
  tuned: number;
  /** (tuned − base) × 100, in percentage points. */
  differencePoints: number;
  /** (tuned − base) / base × 100, in percent; null when base is 0. */
  relativeGainPercent: number | null;
  /** ▴ up, ▾ down, = unchanged. */
  direction: '▴' | '▾' | '=';
  ci: ConfidenceInterval;
}

export interface McqaComparison {
  subsets: AccuracyDifference[];
  /** Micro accuracy; the CI resamples questions within each subset (stratified), keeping subset sizes. */
  micro: AccuracyDifference;
  /** Size-weighted accuracy with the base score's weights; same stratified resampling. */
  sizeWeighted: AccuracyDifference;
  /** Macro accuracy (mean over subsets); same stratified resampling. */
  macro: AccuracyDifference;
  base: McqaScore;
  tuned: McqaScore;
}

export interface CompareMcqaOptions {
  /** Bootstrap resamples; default 10 000. */
  resamples?: number;
  /** Seed of the xoroshiro128+ generator; default 42. */
  seed?: number;
  /** Default 0.95. */
  confidence?: number;
}

/**
 * Base vs fine-tuned on the same questions. Items pair by `id` within a subset (by position when ids
 * were absent), so the bootstrap is paired: each resample draws question indices once and scores both
 * models on the same draw, which keeps the correlation between the two models' answers.
 */
export function compareMcqa(base: McqaScore, tuned: McqaScore, options: CompareMcqaOptions = {}): McqaComparison {
  const resamples = options.resamples ?? 10_000;
  const seed = options.seed ?? 42;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) throw new UsageError(`resamples must be a positive integer, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new UsageError(`confidence must be between 0 and 1, got ${confidence}`);

  const pairs = pairItems(base, tuned);
  const subsets = base.subsets.map((row) => row.subset);
  // Per subset: paired outcome differences d_i = tuned_i − base_i ∈ {−1, 0, 1}.
  const diffs = subsets.map((subset) => pairs.filter((pair) => pair.base.subset === subset).map((pair) => Number(pair.tuned.correct) - Number(pair.base.correct)));
  const weights = subsets.map((subset) => base.overall.weights[subset]);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const N = pairs.length;

  // One resampling loop fills every statistic, so all CIs come from the same draws.
  const rng = createRng(seed);
  const outcomes = diffs.map((d) => Int8Array.from(d));
  const subsetDraws = subsets.map(() => new Float64Array(resamples));
  const microDraws = new Float64Array(resamples);
  const weightedDraws = new Float64Array(resamples);
  const macroDraws = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let microSum = 0;
    let weighted = 0;
    let macro = 0;
    for (let s = 0; s < outcomes.length; s++) {
      const d = outcomes[s];
      const last = d.length - 1;
      let sum = 0;
      for (let i = 0; i <= last; i++) sum += d[uniformInt(rng, 0, last)];
      const mean = sum / d.length;
      subsetDraws[s][b] = mean;
      microSum += sum;
      weighted += (weights[s] / totalWeight) * mean;
      macro += mean / diffs.length;
    }
    microDraws[b] = microSum / N;
    weightedDraws[b] = weighted;
    macroDraws[b] = macro;
  }
  const interval = (draws: Float64Array): ConfidenceInterval => ({
    low: percentile(draws, (1 - confidence) / 2) * 100,
    high: percentile(draws, 1 - (1 - confidence) / 2) * 100,
    confidence,
    resamples,
    seed,
  });
  const tunedBySubset = new Map(tuned.subsets.map((row) => [row.subset, row]));
  return {
    subsets: base.subsets.map((row, s) => difference(row.subset, row.total, row.accuracy, tunedBySubset.get(row.subset)!.accuracy, interval(subsetDraws[s]))),
    micro: difference('micro', N, base.overall.micro, tuned.overall.micro, interval(microDraws)),
    sizeWeighted: difference('size-weighted', N, base.overall.sizeWeighted, weightedMean(subsets.map((subset, s) => [tunedBySubset.get(subset)!.accuracy, weights[s]])), interval(weightedDraws)),
    macro: difference('macro', N, base.overall.macro, tuned.overall.macro, interval(macroDraws)),
    base,
    tuned,
  };
}

export function difference(name: string, total: number, base: number, tuned: number, ci: ConfidenceInterval): AccuracyDifference {
  const delta = tuned - base;
  return {
    name,
    total,
    base,
    tuned,
    differencePoints: delta * 100,
    relativeGainPercent: base === 0 ? null : (delta / base) * 100,
    direction: delta > 0 ? '▴' : delta < 0 ? '▾' : '=',
    ci,
  };
}

function pairItems(base: McqaScore, tuned: McqaScore): Array<{ base: McqaItem; tuned: McqaItem }> {
  if (base.items.length !== tuned.items.length) {
    throw new InputError(`base has ${base.items.length} answers but fine-tuned has ${tuned.items.length}; both must answer the same questions`);
  }
  const tunedByKey = new Map<string, McqaItem>();
  for (const item of tuned.items) {
    const key = `${item.subset}\u0000${item.id}`;
    if (tunedByKey.has(key)) throw new InputError(`fine-tuned answers hold question "${item.id}" of subset "${item.subset}" twice`, { field: 'id' });
    tunedByKey.set(key, item);
  }
  const seen = new Set<string>();
  return base.items.map((item) => {
    const key = `${item.subset}\u0000${item.id}`;
    if (seen.has(key)) throw new InputError(`base answers hold question "${item.id}" of subset "${item.subset}" twice`, { field: 'id' });
    seen.add(key);
    const partner = tunedByKey.get(key);
    if (!partner) throw new InputError(`question "${item.id}" of subset "${item.subset}" has a base answer but no fine-tuned one`, { field: 'id' });
    if (partner.gold !== item.gold) {
      throw new InputError(`question "${item.id}" of subset "${item.subset}": gold is ${item.gold} in base but ${partner.gold} in fine-tuned answers`, { field: 'gold' });
    }
    return { base: item, tuned: partner };
  });
}

/** Percentile with linear interpolation between order statistics (numpy's default `linear` method). */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return NaN;
  const position = q * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

// ---------------------------------------------------------------------------------------------------
// Reporters (Markdown, Korean)

function percent(value: number, digits = 2): string {
  return `${(value * 100).toFixed(digits)}%`;
}

function signed(value: number, digits = 2): string {
  const text = value.toFixed(digits);
  return value > 0 || (value === 0 && !text.startsWith('-')) ? `+${text}` : text;
}

/** `▴ 15.98%` / `▾ 3.10%` / `= 0.00%`; `—` when the base accuracy was 0. */
export function formatRelativeGain(row: AccuracyDifference, digits = 2): string {
  if (row.relativeGainPercent === null) return '—';
  return `${row.direction} ${Math.abs(row.relativeGainPercent).toFixed(digits)}%`;
}

/** The study-002 table, with the difference in points and its CI added. */
export function formatMcqaComparison(comparison: McqaComparison, names: { base?: string; tuned?: string } = {}): string {
  const ci = comparison.micro.ci;
  const head = `| 데이터셋 | ${names.base ?? '베이스 모델'} | ${names.tuned ?? '파인튜닝 모델'} | 차이 (%p) | 상대 향상 | ${Math.round(ci.confidence * 100)}% CI (%p) |`;
  const line = (label: string, row: AccuracyDifference) =>
    `| ${label} | ${percent(row.base)} | **${percent(row.tuned)}** | ${signed(row.differencePoints)} | ${formatRelativeGain(row)} | [${signed(row.ci.low)}, ${signed(row.ci.high)}] |`;
  const rows = comparison.subsets.map((row) => line(`${row.name} (${row.total})`, row));
  rows.push(line(`전체·문항 가중 micro (${comparison.micro.total})`, comparison.micro));
  if (comparison.sizeWeighted.base !== comparison.micro.base || comparison.sizeWeighted.tuned !== comparison.micro.tuned) {
    rows.push(line('전체·세트 크기 가중', comparison.sizeWeighted));
  }
  rows.push(line('전체·세트 평균 macro', comparison.macro));
  const note =
    `신뢰구간: 문항 단위 대응(paired) 부트스트랩 ${ci.resamples.toLocaleString('en-US')}회, 세트별 층화 재표집, 백분위수 구간, 시드 ${ci.seed}. ` +
    `추출 실패: 베이스 ${comparison.base.overall.unextractable}건, 파인튜닝 ${comparison.tuned.overall.unextractable}건 (오답으로 계산).`;
  return [head, '|---|---:|---:|---:|---:|---:|', ...rows, '', note].join('\n');
}

/** Per-subset accuracy of one model, with unextractable counts. */
export function formatMcqaScore(score: McqaScore): string {
  const rows = score.subsets.map((row) => `| ${row.subset} | ${row.total} | ${row.correct} | ${row.unextractable} | ${percent(row.accuracy)} |`);
  const o = score.overall;
  rows.push(`| 전체·문항 가중 micro | ${o.total} | ${o.correct} | ${o.unextractable} | ${percent(o.micro)} |`);
  if (o.sizeWeighted !== o.micro) rows.push(`| 전체·세트 크기 가중 | ${o.total} | | | ${percent(o.sizeWeighted)} |`);
  rows.push(`| 전체·세트 평균 macro | ${o.total} | | | ${percent(o.macro)} |`);
  return ['| 데이터셋 | 문항 | 정답 | 추출 실패 | 정확도 |', '|---|---:|---:|---:|---:|', ...rows].join('\n');
}

/** Answers no choice could be read from, for the error table. */
export function unextractableItems(score: McqaScore): McqaItem[] {
  return score.items.filter((item) => item.predicted === null);
}
