/**
 * Seeded random cases for the differential test, one generator per area. Each case holds gold, the
 * prediction and the reference calls to make on them; `hanlab.ts` makes the same calls on hanlab.
 *
 * The tag pools lean on the edges: integer-like entity types ('10', '2'), types with dashes, bare
 * prefixes ('B'), astral characters, tags that are no NE tag ('M-PER', '.', 'PER'), empty sentences,
 * invalid `average` values, every zero_division, digits 0–6.
 */
import { type RandomGenerator, createRng, uniformInt } from '../../../lib/random.js';
import { type Scheme, SCHEMES } from '../../../lib/ner/scheme.js';
import type { OracleCall, OracleCase } from './references.js';

export class Draw {
  private readonly rng: RandomGenerator;
  constructor(seed: number) {
    this.rng = createRng(seed);
  }
  int(min: number, max: number): number {
    return uniformInt(this.rng, min, max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }
  chance(percent: number): boolean {
    return this.int(0, 99) < percent;
  }
}

export type Area = 'ner-default' | 'ner-strict' | 'ner-suffix' | 'classification' | 'klue';

/** A case plus what hanlab needs beyond the reference's JSON (label tokens for typed labels). */
export interface DiffCase extends OracleCase {
  area: Area;
  /** For typed classification labels: the JSON text of gold and pred as the reference reads them. */
  goldJson?: string;
  predJson?: string;
  /** KLUE: how the flat tag indices are cut into sentences for hanlab (lengths). */
  sentenceLengths?: number[];
}

const TYPES = ['PER', 'LOC', 'ORG', '10', '2', 'x', '組織', 'ORG-X', ''];
const ODD_TAGS = ['B', 'I', 'E', 'S', 'M-PER', '.', 'O-PER', 'PER', 'B-', '-', 'U-LOC', 'L-x', 'B--X', '\u{1D4B3}-PER', 'B-\u{1D4B3}', 'O'];
const AVERAGES: readonly (string | null)[] = [null, 'micro', 'macro', 'weighted'];
const BAD_AVERAGES = ['samples', 'binary', 'mega'];
const ZERO_DIVISIONS: readonly (string | number)[] = ['warn', 0, 1];
const BETAS = [1, 1, 0.5, 2, 0, Infinity];

function sentenceShape(d: Draw): number[] {
  if (d.chance(1)) return []; // no sentences at all
  const n = d.int(1, 5);
  return Array.from({ length: n }, () => (d.chance(8) ? 0 : d.int(1, 10)));
}

/** A prediction: the gold tags with some changed, or new random tags. */
function predictionFor(d: Draw, gold: string[][], tag: () => string): string[][] {
  const copy = d.chance(60);
  return gold.map((tags) => tags.map((t) => (copy && !d.chance(20) ? t : tag())));
}

function average(d: Draw): string | null {
  return d.chance(3) ? d.pick(BAD_AVERAGES) : d.pick(AVERAGES);
}

function defaultTag(d: Draw): string {
  const r = d.int(0, 99);
  if (r < 45) return 'O';
  if (r < 92) {
    const prefix = d.pick(['B', 'B', 'I', 'I', 'E', 'S']);
    const type = d.pick(TYPES);
    return type === '' ? prefix : `${prefix}-${type}`;
  }
  return d.pick(ODD_TAGS);
}

const SCHEME_PREFIXES: Record<Scheme, string[]> = {
  IOB1: ['I', 'O', 'B'],
  IOB2: ['I', 'O', 'B'],
  IOE1: ['I', 'O', 'E'],
  IOE2: ['I', 'O', 'E'],
  IOBES: ['I', 'O', 'B', 'E', 'S'],
  BILOU: ['B', 'I', 'L', 'O', 'U'],
};

function schemeTag(d: Draw, scheme: Scheme, suffix: boolean): string {
  if (d.chance(40)) return 'O';
  // Now and then a prefix the scheme does not allow (both sides must then raise).
  const prefix = d.int(0, 199) === 0 ? d.pick(['B', 'I', 'E', 'S', 'L', 'U', 'X']) : d.pick(SCHEME_PREFIXES[scheme].filter((p) => p !== 'O'));
  const type = d.pick(['PER', 'LOC', '10', '2', 'x', '']);
  if (type === '') return prefix;
  return suffix ? `${type}-${prefix}` : `${prefix}-${type}`;
}

function suffixDefaultTag(d: Draw): string {
  const r = d.int(0, 99);
  if (r < 45) return 'O';
  if (r < 93) {
    const prefix = d.pick(['B', 'B', 'I', 'I', 'E', 'S']);
    const type = d.pick(TYPES);
    return type === '' ? prefix : `${type}-${prefix}`;
  }
  return d.pick(['PER', 'PER-', 'B-PER', '-', 'PER-M', 'x-\u{1D4B3}', 'I', 'O']);
}

function sentences(d: Draw, tag: () => string): { gold: string[][]; pred: string[][] } {
  const gold = sentenceShape(d).map((n) => Array.from({ length: n }, tag));
  return { gold, pred: predictionFor(d, gold, tag) };
}

/** Two of the four score calls, picked per case (the reference is slow; every kind still gets thousands). */
function someOf<T>(d: Draw, items: T[], n: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(d.int(0, pool.length - 1), 1)[0]);
  return out;
}

function defaultModeCalls(d: Draw, suffix: boolean): OracleCall[] {
  const zero_division = d.pick(ZERO_DIVISIONS);
  const calls: OracleCall[] = [{ fn: 'sl.classification_report', kw: { output_dict: true, zero_division, suffix } }];
  if (d.chance(50)) calls.push({ fn: 'sl.classification_report', kw: { digits: d.int(0, 6), zero_division, suffix } });
  const scores: OracleCall[] = ['f1_score', 'precision_score', 'recall_score'].map((metric) => ({ fn: `sl.${metric}`, kw: { average: average(d), zero_division, suffix } }));
  scores.push({ fn: 'sl.precision_recall_fscore_support', kw: { average: average(d), beta: d.pick(BETAS), zero_division, suffix } });
  calls.push(...someOf(d, scores, 2), { fn: 'sl.get_entities', kw: { suffix } });
  if (!suffix) calls.push({ fn: 'sl.accuracy_score' }, { fn: 'sl.performance_measure' });
  return calls;
}

function strictCalls(d: Draw, scheme: Scheme, suffix: boolean): OracleCall[] {
  const zero_division = d.pick(ZERO_DIVISIONS);
  // The report detects the scheme from gold when none is given (seqeval's auto_detect).
  const reportScheme = d.chance(15) ? null : scheme;
  const calls: OracleCall[] = [{ fn: 'sl.classification_report', kw: { mode: 'strict', scheme: reportScheme, output_dict: true, zero_division, suffix } }];
  if (d.chance(50)) calls.push({ fn: 'sl.classification_report', kw: { mode: 'strict', scheme: reportScheme, digits: d.int(0, 6), zero_division, suffix } });
  const scores: OracleCall[] = ['f1_score', 'precision_score', 'recall_score'].map((metric) => ({ fn: `sl.${metric}`, kw: { mode: 'strict', scheme, average: average(d), zero_division, suffix } }));
  scores.push({ fn: 'v1.precision_recall_fscore_support', kw: { scheme, average: average(d), beta: d.pick(BETAS), zero_division, suffix } });
  calls.push(...someOf(d, scores, 2), { fn: 'ss.auto_detect', kw: { suffix } });
  return calls;
}

export function nerDefaultCase(d: Draw): DiffCase {
  return { area: 'ner-default', ...sentences(d, () => defaultTag(d)), calls: defaultModeCalls(d, false) };
}

export function nerStrictCase(d: Draw, scheme: Scheme): DiffCase {
  return { area: 'ner-strict', ...sentences(d, () => schemeTag(d, scheme, false)), calls: strictCalls(d, scheme, false) };
}

export function nerSuffixCase(d: Draw): DiffCase {
  if (d.chance(50)) return { area: 'ner-suffix', ...sentences(d, () => suffixDefaultTag(d)), calls: defaultModeCalls(d, true) };
  const scheme = d.pick(SCHEMES);
  return { area: 'ner-suffix', ...sentences(d, () => schemeTag(d, scheme, true)), calls: strictCalls(d, scheme, true) };
}

const CLASS_POOL = ['a', 'b', 'c', '10', '2', '긍정', '부정', '\u{1D4B3}', 'True', 'nan'];

export function classificationCase(d: Draw): DiffCase {
  return d.chance(70) ? stringLabelCase(d) : typedLabelCase(d);
}

function stringLabelCase(d: Draw): DiffCase {
  const present = CLASS_POOL.filter(() => d.chance(40));
  if (present.length === 0) present.push(d.pick(CLASS_POOL));
  const n = d.int(1, 30);
  const gold = Array.from({ length: n }, () => d.pick(present));
  const pred = gold.map((g) => (d.chance(50) ? g : d.chance(85) ? d.pick(present) : d.pick(CLASS_POOL)));
  const kw: Record<string, unknown> = { zero_division: d.pick(ZERO_DIVISIONS) };
  if (d.chance(40)) {
    // A label list: some seen labels in a shuffled order, some never seen (even none of gold's).
    const labels = CLASS_POOL.filter(() => d.chance(35));
    if (labels.length === 0) labels.push(d.pick(CLASS_POOL));
    for (let i = labels.length - 1; i > 0; i--) {
      const j = d.int(0, i);
      [labels[i], labels[j]] = [labels[j], labels[i]];
    }
    kw.labels = labels;
  }
  const avg = d.chance(3) ? 'samples' : d.pick(AVERAGES);
  const calls: OracleCall[] = [{ fn: 'sk.classification_report', kw: { ...kw, output_dict: true } }];
  if (d.chance(50)) calls.push({ fn: 'sk.classification_report', kw: { ...kw, digits: d.int(0, 6) } });
  calls.push(
    ...someOf(d, [{ fn: 'sk.precision_recall_fscore_support', kw: { ...kw, average: avg } }, { fn: 'sk.accuracy_score' }, { fn: 'sk.confusion_matrix', kw: kw.labels ? { labels: kw.labels } : {} }], 2),
  );
  return { area: 'classification', gold, pred, calls };
}

/** Labels as JSON tokens: ints, integral floats written `1.0` / `2e0`, booleans, a continuous 2.5, mixes. */
function typedLabelCase(d: Draw): DiffCase {
  const kind = d.pick(['int', 'float', 'mixed-number', 'bool', 'continuous', 'mixed-kind']);
  const values = [-1, 0, 1, 2, 3, 10, 12];
  const token = (side: 'gold' | 'pred'): string => {
    switch (kind) {
      case 'int':
        return String(d.pick(values));
      case 'float':
        return d.pick(['.0', 'e0', '.00']).replace(/^/, String(d.pick(values)));
      case 'mixed-number':
        // One side floats, the other ints, or both mixed.
        return (side === 'pred' ? d.chance(70) : d.chance(20)) ? `${d.pick(values)}.0` : String(d.pick(values));
      case 'bool':
        return d.pick(['true', 'false']);
      case 'continuous':
        return d.chance(15) ? '2.5' : String(d.pick(values));
      default:
        return d.chance(15) ? '"a"' : String(d.pick(values));
    }
  };
  const n = d.int(1, 20);
  const gold = Array.from({ length: n }, () => token('gold'));
  const pred = Array.from({ length: n }, () => token('pred'));
  return {
    area: 'classification',
    gold: null,
    pred: null,
    goldJson: `[${gold.join(',')}]`,
    predJson: `[${pred.join(',')}]`,
    calls: [d.chance(50) ? { fn: 'sk.classification_report', kw: { digits: d.int(1, 4), zero_division: 0 } } : { fn: 'sk.classification_report', kw: { output_dict: true, zero_division: 0 } }],
  };
}

/** KLUE-baseline's label list: its functions take indices into it. */
export const KLUE_LABELS = ['B-PS', 'I-PS', 'B-LC', 'I-LC', 'B-OG', 'I-OG', 'B-DT', 'I-DT', 'B-TI', 'I-TI', 'B-QT', 'I-QT', 'O'];

export function klueCase(d: Draw): DiffCase {
  const lengths = Array.from({ length: d.int(1, 6) }, () => d.int(1, 25));
  const total = lengths.reduce((a, b) => a + b, 0);
  const tag = (): number => (d.chance(55) ? 12 : d.int(0, 11));
  const gold = Array.from({ length: total }, tag);
  const copy = d.chance(60);
  const pred = gold.map((g) => (copy && !d.chance(15) ? g : tag()));
  return { area: 'klue', gold, pred, sentenceLengths: lengths, calls: [{ fn: 'klue.entity_macro_f1' }, { fn: 'klue.char_macro_f1' }] };
}

/** The cases of one area: `count` of them from `seed` (strict: spread over the six schemes). */
export function casesFor(area: Area, count: number, seed: number): DiffCase[] {
  const d = new Draw(seed);
  return Array.from({ length: count }, (_, i) => {
    switch (area) {
      case 'ner-default':
        return nerDefaultCase(d);
      case 'ner-strict':
        return nerStrictCase(d, SCHEMES[i % SCHEMES.length]);
      case 'ner-suffix':
        return nerSuffixCase(d);
      case 'classification':
        return classificationCase(d);
      case 'klue':
        return klueCase(d);
    }
  });
}
