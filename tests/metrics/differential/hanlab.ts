/**
 * The hanlab side of the differential test: each reference call made on hanlab, its result put in the
 * reference's encoding (dicts as [key, value] pairs, tuples as arrays), and the two compared — every
 * float bit for bit (NaN equals NaN), every key in order, every report text byte for byte, and the
 * warnings as sets.
 */
import {
  classLabels,
  classificationReportEntries,
  confusionMatrix,
  formatClassificationReport as formatClsReport,
  precisionRecallFscoreSupport as clsPrfs,
  scoreClassification,
  type ClassLabelValue,
  type ReportEntry,
} from '../../../lib/metrics/classification.js';
import { klueCharMacroF1, klueEntityMacroF1 } from '../../../lib/metrics/klue.js';
import {
  accuracyScore,
  classificationReport,
  f1Score,
  formatClassificationReport,
  performanceMeasure,
  precisionRecallFscoreSupport,
  precisionScore,
  recallScore,
  reportEntries,
  type PrfRow,
  type ScoreOptions,
} from '../../../lib/metrics/seqeval.js';
import type { Average, WarnMetric, ZeroDivision } from '../../../lib/metrics/prf.js';
import { type Scheme, detectScheme, forEachDefaultChunk } from '../../../lib/ner/scheme.js';
import { KLUE_LABELS, type DiffCase } from './cases.js';
import type { OracleCall, OracleOutcome } from './references.js';

export interface HanlabOutcome {
  value?: unknown;
  error?: unknown;
  /** Undefined where hanlab does not report warnings for this call. */
  warnings?: string[];
}

type Tags = string[][];

function prfRow(row: PrfRow): Array<[string, number]> {
  return [['precision', row.precision], ['recall', row.recall], ['f1-score', row['f1-score']], ['support', row.support]];
}

function clsRow(row: ReportEntry | number): unknown {
  return typeof row === 'number' ? row : [['precision', row.precision], ['recall', row.recall], ['f1-score', row['f1-score']], ['support', row.support]];
}

function seqevalOptions(kw: Record<string, unknown>): ScoreOptions {
  return {
    mode: kw.mode === 'strict' ? 'strict' : 'default',
    scheme: (kw.scheme ?? undefined) as Scheme | undefined,
    zeroDivision: kw.zero_division as ZeroDivision,
    suffix: kw.suffix === true,
  };
}

function tuple(result: { precision: unknown; recall: unknown; fScore: unknown; support: unknown }): unknown[] {
  return [result.precision, result.recall, result.fScore, result.support];
}

/** The tokens of typed labels: JSON numbers keep how they were written. */
function labelTokens(json: string): ClassLabelValue[] {
  const values: ClassLabelValue[] = [];
  // The generator writes flat arrays of numbers, booleans and simple strings.
  for (const raw of json.slice(1, -1).split(',')) {
    if (raw === 'true' || raw === 'false') values.push(raw === 'true');
    else if (raw.startsWith('"')) values.push(JSON.parse(raw) as string);
    else values.push({ json: raw });
  }
  return values;
}

function sentencesOf(flat: number[], lengths: number[]): Tags {
  const out: Tags = [];
  let k = 0;
  for (const n of lengths) {
    out.push(flat.slice(k, k + n).map((i) => KLUE_LABELS[i]));
    k += n;
  }
  return out;
}

/** Makes one reference call on hanlab. */
export function hanlabCall(c: DiffCase, call: OracleCall): HanlabOutcome {
  const kw = call.kw ?? {};
  const gold = c.gold as Tags;
  const pred = c.pred as Tags;
  try {
    switch (call.fn) {
      case 'sl.classification_report': {
        const report = classificationReport(gold, pred, seqevalOptions(kw));
        const value = kw.output_dict ? reportEntries(report).map(([key, row]) => [key, prfRow(row)]) : formatClassificationReport(report, (kw.digits as number | undefined) ?? 2);
        return { value, warnings: report.warnings };
      }
      case 'sl.f1_score':
      case 'sl.precision_score':
      case 'sl.recall_score': {
        const warnings: string[] = [];
        const options = { ...seqevalOptions(kw), average: kw.average as Average | null, warnings };
        const fn = call.fn === 'sl.f1_score' ? f1Score : call.fn === 'sl.precision_score' ? precisionScore : recallScore;
        return { value: fn(gold, pred, options), warnings };
      }
      case 'sl.precision_recall_fscore_support':
      case 'v1.precision_recall_fscore_support': {
        const warnings: string[] = [];
        const strict = call.fn.startsWith('v1.');
        const options = {
          ...seqevalOptions(kw),
          mode: strict ? ('strict' as const) : ('default' as const),
          average: (kw.average ?? null) as Average | null,
          beta: kw.beta as number,
          warnFor: (kw.warn_for as WarnMetric[] | undefined) ?? undefined,
          warnings,
        };
        return { value: tuple(precisionRecallFscoreSupport(gold, pred, options)), warnings };
      }
      case 'sl.accuracy_score':
        return { value: accuracyScore(gold, pred) };
      case 'sl.performance_measure': {
        const m = performanceMeasure(gold, pred);
        return { value: [['TP', m.TP], ['FP', m.FP], ['FN', m.FN], ['TN', m.TN]] };
      }
      case 'sl.get_entities': {
        const chunks: unknown[] = [];
        forEachDefaultChunk(gold, (type, start, end) => chunks.push([type, start, end - 1]), { suffix: kw.suffix === true });
        return { value: chunks };
      }
      case 'ss.auto_detect':
        return { value: detectScheme(gold, { suffix: kw.suffix === true }) };
      case 'sk.classification_report':
      case 'sk.precision_recall_fscore_support':
      case 'sk.accuracy_score':
      case 'sk.confusion_matrix':
        return classificationCall(c, call, kw);
      case 'klue.entity_macro_f1':
        return { value: klueEntityMacroF1(sentencesOf(c.gold as number[], c.sentenceLengths!), sentencesOf(c.pred as number[], c.sentenceLengths!)) };
      case 'klue.char_macro_f1':
        return { value: klueCharMacroF1(sentencesOf(c.gold as number[], c.sentenceLengths!), sentencesOf(c.pred as number[], c.sentenceLengths!)) };
      default:
        throw new Error(`no hanlab counterpart for ${call.fn}`);
    }
  } catch (error) {
    return { error };
  }
}

function classificationCall(c: DiffCase, call: OracleCall, kw: Record<string, unknown>): HanlabOutcome {
  let gold = c.gold as string[];
  let pred = c.pred as string[];
  let labels = kw.labels as string[] | undefined;
  if (c.goldJson !== undefined) {
    // Typed labels: read as scikit-learn types them, then scored as strings in that order.
    const typed = classLabels(labelTokens(c.goldJson), labelTokens(c.predJson!));
    gold = typed.gold;
    pred = typed.pred;
    labels = typed.labels;
  }
  const warnings: string[] = [];
  const zeroDivision = (kw.zero_division ?? 'warn') as ZeroDivision;
  switch (call.fn) {
    case 'sk.classification_report': {
      const result = scoreClassification(gold, pred, { labels, zeroDivision, warnings });
      const value = kw.output_dict ? classificationReportEntries(result).map(([key, row]) => [key, clsRow(row)]) : formatClsReport(result, (kw.digits as number | undefined) ?? 2);
      return { value, warnings };
    }
    case 'sk.precision_recall_fscore_support':
      return { value: tuple(clsPrfs(gold, pred, { labels, zeroDivision, warnings, average: (kw.average ?? null) as Average | null })), warnings };
    case 'sk.accuracy_score':
      return { value: scoreClassification(gold, pred, { labels, zeroDivision: 0 }).accuracy };
    default:
      return { value: confusionMatrix(gold, pred, labels ?? scoreClassification(gold, pred, { zeroDivision: 0 }).labels) };
  }
}

export type Verdict = 'match' | 'both-error' | 'graceful' | 'difference';

/** Why a call failed, in words both sides share: both must fail for the same reason. */
export function referenceErrorKind(error: string): string {
  if (/^TypeError: Found input variables without list of list/.test(error)) return 'input type';
  if (/inconsistent numbers of samples/.test(error)) return 'length';
  if (/average has to be one of|Samplewise metrics|average=|beta should be >=0/.test(error)) return 'option';
  if (/^(KeyError|IndexError)|Invalid token is found|This scheme is not supported/.test(error)) return 'tag';
  if (/Mix of label input types|continuous|Classification metrics can't handle/.test(error)) return 'label';
  if (/At least one label specified must be in y_true/.test(error)) return 'labels not in gold';
  return 'other: ' + error;
}

export function hanlabErrorKind(error: unknown): string {
  const name = (error as Error)?.constructor?.name;
  const message = String((error as Error)?.message ?? error);
  if (name === 'TypeError') return 'input type';
  if (name === 'LengthMismatchError') return 'length';
  if (name === 'MetricOptionError') return 'option';
  if (name === 'TagSchemeError') return 'tag';
  if (name === 'ClassLabelError') return 'label';
  if (/no label of labels occurs in the gold labels/.test(message)) return 'labels not in gold';
  return `other: ${name}: ${message}`;
}

export interface Comparison {
  verdict: Verdict;
  /** Floats compared (bit for bit). */
  floats: number;
  /** For graceful cases: which documented case; for differences: what differs. */
  note?: string;
}

/**
 * The documented graceful cases: seqeval raises, hanlab answers (see lib/metrics/seqeval.ts).
 * Returns the case's name, or undefined when the pair is not one of them.
 */
export function gracefulCase(c: DiffCase, call: OracleCall, reference: OracleOutcome): string | undefined {
  const error = reference.error ?? '';
  if (call.fn === 'sl.classification_report' && !call.kw?.output_dict && /max\(\) (arg is an empty sequence|iterable argument is empty)/.test(error)) {
    return 'text report without any entity (seqeval: max() of no name widths)';
  }
  if (call.fn.startsWith('sl.') || call.fn.startsWith('v1.')) {
    if (Array.isArray(c.gold) && c.gold.length === 0 && /^TypeError: Found input variables without list of list/.test(error)) return 'no sentences (seqeval: TypeError from its type check)';
    if (call.fn === 'sl.accuracy_score' && /^ZeroDivisionError/.test(error)) return 'accuracy of no tokens (seqeval: ZeroDivisionError; hanlab: NaN)';
  }
  return undefined;
}

/** Deep comparison in the reference's encoding; counts floats; returns where the first difference is. */
export function sameValue(a: unknown, b: unknown, counter: { floats: number }, where = '$'): string | undefined {
  if (typeof a === 'number' && typeof b === 'number') {
    counter.floats++;
    // Bit for bit: Object.is, except that 0 and -0 are the same count or score.
    return Object.is(a, b) || (a === 0 && b === 0) ? undefined : `${where}: ${a} vs ${b}`;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${where}: ${a.length} vs ${b.length} items`;
    for (let i = 0; i < a.length; i++) {
      const diff = sameValue(a[i], b[i], counter, `${where}[${i}]`);
      if (diff) return diff;
    }
    return undefined;
  }
  return a === b ? undefined : `${where}: ${JSON.stringify(a)?.slice(0, 200)} vs ${JSON.stringify(b)?.slice(0, 200)}`;
}

/** Compares one call's outcomes. */
export function compare(c: DiffCase, call: OracleCall, reference: OracleOutcome, hanlab: HanlabOutcome): Comparison {
  const counter = { floats: 0 };
  const refFailed = reference.error !== undefined;
  const ourFailed = hanlab.error !== undefined;
  if (refFailed && ourFailed) {
    const theirs = referenceErrorKind(reference.error!);
    const ours = hanlabErrorKind(hanlab.error);
    // No sentences: seqeval's type check fails before anything else; hanlab may fail later (a strict
    // report cannot detect a scheme from no tags).
    const noSentences = theirs === 'input type' && Array.isArray(c.gold) && c.gold.length === 0;
    return theirs === ours || noSentences ? { verdict: 'both-error', floats: 0, note: theirs } : { verdict: 'difference', floats: 0, note: `both raised, for different reasons: reference ${reference.error}; hanlab ${ours}` };
  }
  if (refFailed) {
    const graceful = gracefulCase(c, call, reference);
    return graceful ? { verdict: 'graceful', floats: 0, note: graceful } : { verdict: 'difference', floats: 0, note: `reference raised ${reference.error}, hanlab answered` };
  }
  if (ourFailed) return { verdict: 'difference', floats: 0, note: `hanlab raised ${String((hanlab.error as Error)?.message ?? hanlab.error)}, the reference answered` };
  const diff = sameValue(reference.value, hanlab.value, counter);
  if (diff) return { verdict: 'difference', floats: counter.floats, note: diff };
  if (hanlab.warnings) {
    const ours = new Set(hanlab.warnings);
    const theirs = new Set(reference.warnings);
    const missing = [...theirs].filter((w) => !ours.has(w));
    const extra = [...ours].filter((w) => !theirs.has(w));
    if (missing.length || extra.length) return { verdict: 'difference', floats: counter.floats, note: `warnings: reference only ${JSON.stringify(missing)}, hanlab only ${JSON.stringify(extra)}` };
  }
  return { verdict: 'match', floats: counter.floats };
}
