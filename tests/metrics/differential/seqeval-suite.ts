/**
 * seqeval's own test suite as differential cases: the suite runs unchanged under pytest with
 * `seqeval_suite_recorder.py`, which records every call a test makes into seqeval; each recorded call
 * is then made on hanlab and the results compared (`compareRecords`).
 *
 * Two kinds of recorded calls cannot be replayed, and are counted, not hidden:
 * - arguments JavaScript has no form for (a Python tuple or NumPy array where seqeval wants a list,
 *   bytes instead of str): the calls that test seqeval's own type checks;
 * - classes hanlab has no counterpart of the same shape for: `Entity` (a plain data class) and the
 *   reporter classes (hanlab's text layout is one function, checked through every report).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  accuracyScore,
  checkConsistentLength,
  classificationReport,
  compareCodePoints,
  f1Score,
  formatClassificationReport,
  performanceMeasure,
  precisionRecallFscoreSupport,
  precisionScore,
  recallScore,
  reportEntries,
  type ScoreOptions,
} from '../../../lib/metrics/seqeval.js';
import type { Average, WarnMetric, ZeroDivision } from '../../../lib/metrics/prf.js';
import {
  type Scheme,
  detectScheme,
  forEachDefaultChunk,
  schemeTransition,
  splitStrictTag,
  strictEntities,
  strictPrefixName,
} from '../../../lib/ner/scheme.js';
import { parseMetricsJson } from '../../../lib/metrics/json.js';
import { hanlabErrorKind, referenceErrorKind, sameValue } from './hanlab.js';
import { PYTHON, SEQEVAL_DIR } from './references.js';

export interface SuiteRecord {
  test: string;
  fn: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  value?: unknown;
  error?: string;
}

export interface SuiteRun {
  records: SuiteRecord[];
  /** pytest's summary line, e.g. "498 passed, 1 deselected, 7 warnings in 0.92s". */
  summary: string;
  passed: number;
  failed: number;
}

/**
 * Runs seqeval's tests (all but `test_statistical_tests`, which runs conlleval.pl 20,000 times on
 * random data — what the random cases of this test do — and writes eval_data.txt into its working
 * folder). The working folder is a temporary one holding a link to conlleval.pl, so nothing is ever
 * written into the reference.
 */
export function runSeqevalSuite(): SuiteRun {
  const work = mkdtempSync(path.join(tmpdir(), 'hanlab-seqeval-suite-'));
  try {
    symlinkSync(path.join(SEQEVAL_DIR, 'tests', 'conlleval.pl'), path.join(work, 'conlleval.pl'));
    const recordFile = path.join(work, 'records.jsonl');
    const run = spawnSync(
      PYTHON,
      ['-B', '-m', 'pytest', '-p', 'seqeval_suite_recorder', '-p', 'no:cacheprovider', '-q', path.join(SEQEVAL_DIR, 'tests'), '-k', 'not test_statistical_tests'],
      {
        cwd: work,
        encoding: 'utf8',
        env: {
          ...process.env,
          HANLAB_SEQEVAL_RECORD: recordFile,
          PYTHONDONTWRITEBYTECODE: '1',
          PYTHONPATH: [SEQEVAL_DIR, path.resolve('tests/metrics/differential')].join(path.delimiter),
        },
        maxBuffer: 64 * 2 ** 20,
      },
    );
    const summary = run.stdout.trim().split('\n').pop() ?? '';
    const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(summary)?.[1] ?? 0);
    if (run.error || !/passed/.test(summary)) throw new Error(`seqeval's test suite did not run: ${run.error?.message ?? ''}${run.stdout.slice(-1500)}${run.stderr.slice(-1500)}`);
    const records = readFileSync(recordFile, 'utf8').split('\n').filter(Boolean).map((line) => parseMetricsJson(line) as SuiteRecord);
    return { records, summary, passed: count('passed'), failed: count('failed') };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Thrown for calls whose arguments have no JavaScript form. */
class NotRepresentable extends Error {}

/**
 * Python values from the recorder, in plain JSON shapes. Tuples, NumPy arrays and bytes among the tags
 * are refused (the suite passes them to test seqeval's type checks); a tuple option (`warn_for`) is a list.
 */
function decodeArgument(value: unknown, tupleIsList = false): unknown {
  if (Array.isArray(value)) return value.map((item) => decodeArgument(item, tupleIsList));
  if (value !== null && typeof value === 'object') {
    const [tag, inner] = Object.entries(value)[0];
    if (tag === '$scheme') return inner;
    if (tag === '$tuple' && tupleIsList) return decodeArgument(inner, true);
    throw new NotRepresentable(tag);
  }
  return value;
}

/** The recorder's encoding of results, made comparable: tuples and arrays as arrays, sets sorted. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    const [tag, inner] = Object.entries(value)[0];
    switch (tag) {
      case '$tuple':
      case '$ndarray':
      case '$entity':
        return (inner as unknown[]).map(normalize);
      case '$dict':
        return (inner as unknown[][]).map(([k, v]) => [k, normalize(v)]);
      case '$set':
        return sortedSet((inner as unknown[]).map(normalize));
      case '$scheme':
      case '$prefix':
        return inner;
      default:
        return value;
    }
  }
  return value;
}

function sortedSet(items: unknown[]): unknown[] {
  return items.map((item) => [JSON.stringify(item), item] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, item]) => item);
}

type Tags = string[][];

function scoreOptions(kwargs: Record<string, unknown>): ScoreOptions {
  return {
    mode: kwargs.mode === 'strict' ? 'strict' : 'default',
    scheme: (kwargs.scheme ?? undefined) as Scheme | undefined,
    zeroDivision: (kwargs.zero_division ?? 'warn') as ZeroDivision,
    suffix: kwargs.suffix === true,
  };
}

function reportValue(gold: Tags, pred: Tags, kwargs: Record<string, unknown>, strict: boolean): unknown {
  const report = classificationReport(gold, pred, { ...scoreOptions(kwargs), mode: strict ? 'strict' : 'default' });
  if (kwargs.output_dict) {
    return reportEntries(report).map(([key, row]) => [key, [['precision', row.precision], ['recall', row.recall], ['f1-score', row['f1-score']], ['support', row.support]]]);
  }
  return formatClassificationReport(report, (kwargs.digits as number | undefined) ?? 2);
}

function entityTuples(tags: string[], scheme: Scheme, sentId: number | null, suffix: boolean): unknown[] {
  return strictEntities(tags, scheme, 0, { suffix }).map((e) => [sentId, e.type, e.start, e.end]);
}

/** Makes one recorded call on hanlab; undefined for calls with no hanlab counterpart. */
function replay(record: SuiteRecord): { value: unknown } | undefined {
  const args = decodeArgument(record.args) as unknown[];
  const kwargs = decodeArgument(Object.entries(record.kwargs ?? {}), true) as [string, unknown][];
  const kw = Object.fromEntries(kwargs);
  const suffix = kw.suffix === true;
  const [a, b] = args as [Tags, Tags];
  switch (record.fn) {
    case 'sl.f1_score':
    case 'sl.precision_score':
    case 'sl.recall_score': {
      const fn = record.fn === 'sl.f1_score' ? f1Score : record.fn === 'sl.precision_score' ? precisionScore : recallScore;
      return { value: fn(a, b, { ...scoreOptions(kw), average: (kw.average === undefined ? 'micro' : kw.average) as Average | null }) };
    }
    case 'sl.precision_recall_fscore_support':
    case 'v1.precision_recall_fscore_support': {
      const strict = record.fn.startsWith('v1.');
      const result = precisionRecallFscoreSupport(a, b, {
        ...scoreOptions(kw),
        mode: strict ? 'strict' : 'default',
        average: (kw.average ?? null) as Average | null,
        beta: kw.beta as number | undefined,
        warnFor: kw.warn_for as WarnMetric[] | undefined,
      });
      return { value: [result.precision, result.recall, result.fScore, result.support] };
    }
    case 'sl.classification_report':
      return { value: reportValue(a, b, kw, kw.mode === 'strict') };
    case 'v1.classification_report':
      return { value: reportValue(a, b, kw, true) };
    case 'v1.check_consistent_length':
      checkConsistentLength(a, b);
      return { value: null };
    case 'v1.unique_labels': {
      // seqeval's helper reads each side on its own (no length check): the sorted union of entity types.
      const scheme = args[2] as Scheme;
      const types = new Set([...a, ...b].flatMap((tags) => strictEntities(tags, scheme, 0, { suffix: (args[3] as boolean | undefined) ?? suffix }).map((e) => e.type)));
      return { value: [...types].sort(compareCodePoints) };
    }
    case 'sl.accuracy_score':
      return { value: accuracyScore(a, b) };
    case 'sl.performance_measure': {
      const m = performanceMeasure(a, b);
      return { value: [['TP', m.TP], ['FP', m.FP], ['FN', m.FN], ['TN', m.TN]] };
    }
    case 'sl.get_entities': {
      const seq = args[0] as unknown[];
      const nested = seq.some((s) => Array.isArray(s));
      const chunks: unknown[] = [];
      forEachDefaultChunk(nested ? (seq as Tags) : [seq as string[]], (type, start, end) => chunks.push([type, start, end - 1]), { suffix: (args[1] as boolean | undefined) ?? suffix });
      return { value: chunks };
    }
    case 'ss.auto_detect':
      return { value: detectScheme(a, { suffix: (args[1] as boolean | undefined) ?? suffix }) };
    case 'ss.Token': {
      const tag = splitStrictTag(args[1] as string, undefined, undefined, { suffix });
      return { value: [['prefix', strictPrefixName(tag)], ['tag', tag.type]] };
    }
    case 'ss.Token.is_valid':
    case 'ss.Token.is_start':
    case 'ss.Token.is_inside':
    case 'ss.Token.is_end': {
      const [scheme, token, prev] = args as [Scheme, string, string | undefined];
      const transition = schemeTransition(scheme, prev ?? 'O', token, { suffix });
      if (record.fn === 'ss.Token.is_valid') {
        if (!transition.valid) throw Object.assign(new Error(`${token} is not allowed in ${scheme}`), { kind: 'tag' });
        return { value: true };
      }
      return { value: transition[record.fn.slice('ss.Token.is_'.length) as 'start' | 'inside' | 'end'] };
    }
    case 'ss.Tokens.entities':
      return { value: entityTuples(args[1] as string[], args[0] as Scheme, (kw.sent_id ?? null) as number | null, suffix) };
    case 'ss.Entities':
      (args[1] as Tags).forEach((tags, i) => entityTuples(tags, args[0] as Scheme, i, suffix));
      return { value: null };
    case 'ss.Entities.filter': {
      const all = (args[1] as Tags).flatMap((tags, i) => entityTuples(tags, args[0] as Scheme, i, suffix)) as unknown[][];
      return { value: sortedSet(all.filter((e) => e[1] === args[2])) };
    }
    default:
      return undefined;
  }
}

export interface SuiteTally {
  replayed: number;
  match: number;
  bothError: number;
  notRepresentable: number;
  noCounterpart: Record<string, number>;
  floats: number;
  differences: string[];
}

/** Replays every record on hanlab and compares. */
export function compareRecords(records: readonly SuiteRecord[]): SuiteTally {
  const tally: SuiteTally = { replayed: 0, match: 0, bothError: 0, notRepresentable: 0, noCounterpart: {}, floats: 0, differences: [] };
  for (const record of records) {
    let outcome: { value: unknown } | undefined;
    let error: unknown;
    try {
      outcome = replay(record);
      if (!outcome) {
        tally.noCounterpart[record.fn] = (tally.noCounterpart[record.fn] ?? 0) + 1;
        continue;
      }
    } catch (caught) {
      if (caught instanceof NotRepresentable) {
        tally.notRepresentable++;
        continue;
      }
      error = caught;
    }
    tally.replayed++;
    const where = `${record.test} ${record.fn}(${JSON.stringify(record.args).slice(0, 160)})`;
    if (record.error !== undefined || error !== undefined) {
      if (record.error === undefined) tally.differences.push(`${where}: hanlab raised ${String((error as Error).message ?? error)}`);
      else if (error === undefined) tally.differences.push(`${where}: seqeval raised ${record.error}, hanlab answered ${JSON.stringify(outcome!.value)?.slice(0, 160)}`);
      else {
        const theirs = referenceErrorKind(record.error);
        const ours = (error as { kind?: string }).kind ?? hanlabErrorKind(error);
        if (theirs === ours) tally.bothError++;
        else tally.differences.push(`${where}: both raised, seqeval ${record.error}; hanlab ${ours}`);
      }
      continue;
    }
    const counter = { floats: 0 };
    const diff = sameValue(normalize(record.value), outcome!.value, counter);
    tally.floats += counter.floats;
    if (diff) tally.differences.push(`${where}: ${diff}`);
    else tally.match++;
  }
  return tally;
}
