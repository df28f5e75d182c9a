/**
 * Scoring LLM answers that must be JSON (study 001: patent-infringement risk judged as
 * `{"risk_level": …, "components": [{"component": …, "match": …}]}`).
 *
 * - Validity in three tiers, from the shared parsing step (`extractJson`): strict JSON as answered;
 *   valid after repair (taken out of a ``` fence, or fixed by jsonrepair); unrecoverable.
 * - Per-field accuracy for scalar fields (`risk_level`) and per-item accuracy for a field of the items
 *   of a list (`components[].match`), each with two explicit denominators: all samples (a failure to
 *   parse, a missing field or a missing item counts as wrong) and parsed samples (or paired items) only.
 * - Confusion matrices with rows = gold labels and columns = predicted labels plus the ways a prediction
 *   can be absent (`(범위 밖)`, `(누락)`, `(파싱 실패)`), so every row sums to the gold count.
 * - Per-class precision (of the samples PREDICTED as the class, the share whose gold is the class: a
 *   column of the matrix) and recall (of the samples whose GOLD is the class, the share predicted as it:
 *   a row), from `classification.ts`, i.e. scikit-learn's definitions.
 * - An error-case table (sample number, query excerpt, predicted, gold).
 */
import { InputError, UsageError } from '../errors.js';
import { extractJson, isParsed, type JsonExtractionStatus } from '../llm/extract-json.js';
import { compareCodePoints, formatConfusionMatrix, scoreClassification, type ClassificationResult } from './classification.js';

export interface StructuredRecord {
  id?: string;
  /** The input shown to the model (for the error table's excerpt). */
  query?: string;
  /** The model's raw answer text. */
  answer: string;
  /** The expected JSON value (an object). */
  gold: unknown;
  /** Line of the record in its file, for error messages (default: its 1-based position). */
  line?: number;
}

export interface FieldSpec {
  /** Dot path of a scalar field, e.g. `risk_level` or `result.risk_level`. */
  field: string;
  /** Class order for matrices and tables; default the sorted gold values. */
  labels?: readonly string[];
}

export interface ListFieldSpec {
  /** Dot path of the list, e.g. `components`. */
  list: string;
  /** Field of each item that is judged, e.g. `match`. */
  item: string;
  /**
   * Field of each item that pairs gold and predicted items (e.g. `component`); without it items pair by
   * position. Keys are compared as text; a gold key must be unique within its sample.
   */
  key?: string;
  labels?: readonly string[];
}

export interface StructuredJsonOptions {
  fields?: readonly FieldSpec[];
  lists?: readonly ListFieldSpec[];
  /** Characters of the query shown in the error table; default 30. */
  excerptLength?: number;
  /** Where records came from, for error messages. */
  file?: string;
}

/** How a prediction can be absent; each is its own column of the extended confusion matrix. */
export const OUTSIDE_LABELS = '(범위 밖)';
export const MISSING = '(누락)';
export const UNPARSED = '(파싱 실패)';
const ABSENT_COLUMNS = [OUTSIDE_LABELS, MISSING, UNPARSED] as const;

// Stand-ins handed to scoreClassification for absent predictions: never equal to a real label text.
const SENTINEL = { [OUTSIDE_LABELS]: '\u0000outside', [MISSING]: '\u0000missing', [UNPARSED]: '\u0000unparsed' } as const;

export interface ValidityTiers {
  total: number;
  /** Parsed as answered. */
  strict: number;
  /** Parsed after taking it out of a ``` fence (`fenced`) or after jsonrepair (`repaired`). */
  afterRepair: { total: number; fenced: number; repaired: number };
  /** No JSON could be had: no {…}/[…] at all, nothing parseable even after repair, or an empty answer. */
  unrecoverable: { total: number; noJson: number; unparseable: number; empty: number };
  /** strict + afterRepair. */
  parsed: number;
  /** Parsed, but the value is not a JSON object (so no field can be read). */
  notAnObject: number;
}

/** Adds one answer of `status` to its tier's counter (the tier totals are summed afterwards). */
function countStatus(validity: ValidityTiers, status: JsonExtractionStatus): void {
  if (status === 'strict') validity.strict++;
  else if (status === 'fenced' || status === 'repaired') validity.afterRepair[status]++;
  else validity.unrecoverable[UNRECOVERABLE_COUNTER[status]]++;
}

/** The unrecoverable statuses and their counters in ValidityTiers. */
const UNRECOVERABLE_COUNTER = { no_json: 'noJson', unparseable: 'unparseable', empty: 'empty' } as const;

export interface Ratio {
  correct: number;
  total: number;
  /** correct / total; 0 when total is 0. */
  value: number;
}

export interface ClassEvidence {
  label: string;
  truePositives: number;
  /** Column sum: samples predicted as this class. */
  predicted: number;
  /** Row sum: samples whose gold is this class, failures included. */
  gold: number;
  /** Row sum without the `(파싱 실패)` column. */
  goldParsed: number;
  /** truePositives / predicted (0 when nothing was predicted). */
  precision: number;
  /** truePositives / gold: recall over all samples. */
  recall: number;
  /** truePositives / goldParsed: recall over parsed samples. */
  recallParsed: number;
}

export interface LabelAccuracy {
  /** `risk_level` or `components[].match`. */
  name: string;
  labels: string[];
  /** Over all samples (or all gold items): every failure counts as wrong. */
  overAll: Ratio;
  /** Over parsed samples (or paired items of parsed samples). */
  overParsed: Ratio;
  /** Rows = `labels` (gold), columns = `columns` (predicted, then the absent kinds). */
  confusion: { labels: string[]; columns: string[]; matrix: number[][] };
  perClass: ClassEvidence[];
  /** scikit-learn report over all samples (absent predictions are wrong) and over parsed ones. */
  report: { overAll: ClassificationResult; overParsed: ClassificationResult };
}

export interface ListAccuracy extends LabelAccuracy {
  pairing: 'key' | 'index';
  goldItems: number;
  predictedItems: number;
  /** Gold items with a predicted partner (in parsed samples). */
  pairedItems: number;
  /** Gold items without a partner in a parsed answer. */
  missingItems: number;
  /** Predicted items without a gold partner. */
  extraItems: number;
  /** Parsed samples whose predicted list length differs from the gold one. */
  countMismatches: Array<{ sample: number; id: string; gold: number; predicted: number }>;
}

export interface ErrorCase {
  /** 1-based sample number. */
  sample: number;
  id: string;
  queryExcerpt: string;
  /** `risk_level`, `components[].match`, or `JSON` for a parse failure. */
  field: string;
  /** For list items: the item's key or position. */
  item?: string;
  kind: 'unparsed' | 'missing' | 'outside' | 'wrong';
  /** The predicted value; for a parse failure, an excerpt of the raw answer. */
  predicted: string;
  /** For a parse failure: what the JSON extraction ended with. */
  status?: JsonExtractionStatus;
  gold: string;
}

export interface StructuredJsonResult {
  validity: ValidityTiers;
  statuses: JsonExtractionStatus[];
  fields: LabelAccuracy[];
  lists: ListAccuracy[];
  errors: ErrorCase[];
}

interface Outcome {
  /** 0-based sample index. */
  sample: number;
  gold: string;
  /** What the model said (may be outside the labels); null when absent. */
  predicted: string | null;
  /** Why there is no prediction: the answer did not parse, or the field / item is missing. */
  absent?: 'unparsed' | 'missing';
  /** For list items: the pairing key or position. */
  item?: string;
  /** A gold item with no predicted partner in a parsed answer (outside the "paired items" denominator). */
  unpaired?: boolean;
}

export function scoreStructuredJson(records: readonly StructuredRecord[], options: StructuredJsonOptions): StructuredJsonResult {
  const fields = options.fields ?? [];
  const lists = options.lists ?? [];
  if (fields.length === 0 && lists.length === 0) throw new UsageError('name at least one field or list field to score');
  const excerptLength = options.excerptLength ?? 30;

  const validity: ValidityTiers = {
    total: records.length,
    strict: 0,
    afterRepair: { total: 0, fenced: 0, repaired: 0 },
    unrecoverable: { total: 0, noJson: 0, unparseable: 0, empty: 0 },
    parsed: 0,
    notAnObject: 0,
  };
  const statuses: JsonExtractionStatus[] = [];
  const values: Array<unknown | typeof NOT_PARSED> = [];
  records.forEach((record) => {
    const extraction = extractJson(record.answer);
    statuses.push(extraction.status);
    countStatus(validity, extraction.status);
    const parsed = isParsed(extraction.status);
    if (parsed && !isObject(extraction.value)) validity.notAnObject++;
    values.push(parsed ? extraction.value : NOT_PARSED);
  });
  validity.afterRepair.total = validity.afterRepair.fenced + validity.afterRepair.repaired;
  validity.unrecoverable.total = validity.unrecoverable.noJson + validity.unrecoverable.unparseable + validity.unrecoverable.empty;
  validity.parsed = validity.strict + validity.afterRepair.total;

  const lineOf = (index: number) => records[index].line ?? index + 1;
  const where = (index: number, field: string) => ({ file: options.file, line: lineOf(index), field });
  const errors: ErrorCase[] = [];
  const idOf = (index: number) => records[index].id ?? String(index + 1);
  const excerptOf = (index: number) => excerpt(records[index].query ?? '', excerptLength);

  records.forEach((record, index) => {
    if (!isObject(record.gold)) throw new InputError('gold must be a JSON object', where(index, 'gold'));
    if (values[index] === NOT_PARSED) {
      errors.push({
        sample: index + 1,
        id: idOf(index),
        queryExcerpt: excerptOf(index),
        field: 'JSON',
        kind: 'unparsed',
        predicted: excerpt(record.answer, excerptLength * 2),
        status: statuses[index],
        gold: '',
      });
    }
  });

  const fieldResults = fields.map((spec) => {
    const outcomes: Outcome[] = records.map((record, index) => {
      const gold = goldScalar(record.gold, spec.field, where(index, `gold.${spec.field}`));
      const value = values[index];
      if (value === NOT_PARSED) return { sample: index, gold, predicted: null, absent: 'unparsed' };
      const predicted = predictedScalar(value, spec.field);
      return predicted === undefined ? { sample: index, gold, predicted: null, absent: 'missing' } : { sample: index, gold, predicted };
    });
    return summarize(spec.field, outcomes, spec.labels, (index) => where(index, spec.field), (outcome) => outcome.absent !== 'unparsed');
  });

  const listResults = lists.map((spec) => {
    const name = `${spec.list}[].${spec.item}`;
    const outcomes: Outcome[] = [];
    let goldItems = 0;
    let predictedItems = 0;
    let pairedItems = 0;
    let missingItems = 0;
    let extraItems = 0;
    const countMismatches: ListAccuracy['countMismatches'] = [];
    records.forEach((record, index) => {
      const goldList = readPath(record.gold, spec.list);
      if (!Array.isArray(goldList)) throw new InputError('expected an array', where(index, `gold.${spec.list}`));
      const goldEntries = goldList.map((item, position) => {
        const at = where(index, `gold.${spec.list}[${position}]`);
        if (!isObject(item)) throw new InputError('expected an object', at);
        const label = goldScalar(item, spec.item, { ...at, field: `${at.field}.${spec.item}` });
        const key = spec.key === undefined ? String(position) : goldScalar(item, spec.key, { ...at, field: `${at.field}.${spec.key}` });
        return { key, label };
      });
      if (spec.key !== undefined) {
        const keys = new Set<string>();
        for (const entry of goldEntries) {
          if (keys.has(entry.key)) throw new InputError(`key "${entry.key}" appears twice, so items cannot be paired by it`, where(index, `gold.${spec.list}`));
          keys.add(entry.key);
        }
      }
      goldItems += goldEntries.length;
      const value = values[index];
      if (value === NOT_PARSED) {
        for (const entry of goldEntries) outcomes.push({ sample: index, gold: entry.label, predicted: null, absent: 'unparsed', item: entry.key });
        return;
      }
      const predictedList = readPath(value, spec.list);
      const predicted = Array.isArray(predictedList) ? predictedList : [];
      predictedItems += predicted.length;
      if (predicted.length !== goldEntries.length) countMismatches.push({ sample: index + 1, id: idOf(index), gold: goldEntries.length, predicted: predicted.length });
      // Pair: by key (first predicted item with that key), or by position.
      const partners = new Map<string, unknown>();
      let unpairedPredictions = 0;
      predicted.forEach((item, position) => {
        const key = spec.key === undefined ? String(position) : isObject(item) ? scalarText(ownValue(item, spec.key)) : undefined;
        if (key === undefined || partners.has(key) || !goldEntries.some((entry) => entry.key === key)) unpairedPredictions++;
        else partners.set(key, item);
      });
      extraItems += unpairedPredictions;
      for (const entry of goldEntries) {
        if (!partners.has(entry.key)) {
          missingItems++;
          outcomes.push({ sample: index, gold: entry.label, predicted: null, absent: 'missing', item: entry.key, unpaired: true });
          continue;
        }
        pairedItems++;
        const predictedLabel = predictedScalar(partners.get(entry.key), spec.item);
        outcomes.push(
          predictedLabel === undefined
            ? { sample: index, gold: entry.label, predicted: null, absent: 'missing', item: entry.key }
            : { sample: index, gold: entry.label, predicted: predictedLabel, item: entry.key },
        );
      }
    });
    const summary = summarize(name, outcomes, spec.labels, (index) => where(index, name), (outcome) => outcome.absent !== 'unparsed' && !outcome.unpaired);
    const list: ListAccuracy = {
      ...summary.accuracy,
      pairing: spec.key === undefined ? 'index' : 'key',
      goldItems,
      predictedItems,
      pairedItems,
      missingItems,
      extraItems,
      countMismatches,
    };
    return { list, outcomes: summary.outcomes };
  });

  // Error cases, in sample order: scalar fields first, then list items.
  for (const [f, result] of fieldResults.entries()) {
    for (const outcome of result.outcomes) {
      if (outcome.absent !== 'unparsed' && !isCorrect(outcome)) errors.push(errorCase(outcome, fields[f].field, result.accuracy.labels));
    }
  }
  for (const [l, { outcomes }] of listResults.entries()) {
    const spec = lists[l];
    for (const outcome of outcomes) {
      if (outcome.absent !== 'unparsed' && !isCorrect(outcome)) errors.push({ ...errorCase(outcome, `${spec.list}[].${spec.item}`, listResults[l].list.labels), item: outcome.item });
    }
  }
  errors.sort((a, b) => a.sample - b.sample);

  function errorCase(outcome: Outcome, field: string, labels: readonly string[]): ErrorCase {
    const kind = outcome.predicted === null ? 'missing' : labels.includes(outcome.predicted) ? 'wrong' : 'outside';
    return {
      sample: outcome.sample + 1,
      id: idOf(outcome.sample),
      queryExcerpt: excerptOf(outcome.sample),
      field,
      kind,
      predicted: outcome.predicted ?? MISSING,
      gold: outcome.gold,
    };
  }

  return {
    validity,
    statuses,
    fields: fieldResults.map((result) => result.accuracy),
    lists: listResults.map((result) => result.list),
    errors,
  };
}

const NOT_PARSED: unique symbol = Symbol('not parsed');

function isCorrect(outcome: Outcome): boolean {
  return outcome.absent === undefined && outcome.predicted === outcome.gold;
}

function summarize(
  name: string,
  outcomes: Outcome[],
  declared: readonly string[] | undefined,
  whereGold: (sample: number) => { file?: string; line?: number; field: string },
  inParsed: (outcome: Outcome) => boolean,
): { accuracy: LabelAccuracy; outcomes: Outcome[] } {
  const labels = declared ? [...declared] : [...new Set(outcomes.map((o) => o.gold))].sort(compareCodePoints);
  for (const label of labels) {
    if ((ABSENT_COLUMNS as readonly string[]).includes(label)) throw new UsageError(`label "${label}" is reserved for absent predictions; rename it`);
  }
  for (const outcome of outcomes) {
    if (!labels.includes(outcome.gold)) {
      throw new InputError(`gold value "${outcome.gold}" is not one of the labels ${labels.join(', ')}`, whereGold(outcome.sample));
    }
  }
  const columnOf = (o: Outcome): string =>
    o.absent === 'unparsed' ? UNPARSED : o.absent === 'missing' || o.predicted === null ? MISSING : labels.includes(o.predicted) ? o.predicted : OUTSIDE_LABELS;
  const columns = [...labels, ...ABSENT_COLUMNS];
  const matrix = labels.map(() => new Array<number>(columns.length).fill(0));
  for (const outcome of outcomes) matrix[labels.indexOf(outcome.gold)][columns.indexOf(columnOf(outcome))]++;

  const parsedOutcomes = outcomes.filter(inParsed);
  const ratio = (list: Outcome[]): Ratio => {
    const correct = list.filter(isCorrect).length;
    return { correct, total: list.length, value: list.length ? correct / list.length : 0 };
  };
  // Absent and out-of-label predictions are wrong for every class: scikit-learn sees a stand-in that
  // no label equals, so they lower recall and never raise a class's predicted count.
  const predictedForReport = (o: Outcome): string => {
    const column = columnOf(o);
    return column === UNPARSED || column === MISSING || column === OUTSIDE_LABELS ? SENTINEL[column] : column;
  };
  const report = (list: Outcome[]) =>
    list.length === 0 ? emptyReport(labels) : scoreClassification(list.map((o) => o.gold), list.map(predictedForReport), { labels, zeroDivision: 0 });
  const unparsedColumn = columns.indexOf(UNPARSED);
  const perClass: ClassEvidence[] = labels.map((label, i) => {
    const truePositives = matrix[i][i];
    const predicted = matrix.reduce((sum, row) => sum + row[i], 0);
    const gold = matrix[i].reduce((a, b) => a + b, 0);
    const goldParsed = gold - matrix[i][unparsedColumn];
    return {
      label,
      truePositives,
      predicted,
      gold,
      goldParsed,
      precision: predicted ? truePositives / predicted : 0,
      recall: gold ? truePositives / gold : 0,
      recallParsed: goldParsed ? truePositives / goldParsed : 0,
    };
  });
  return {
    accuracy: {
      name,
      labels,
      overAll: ratio(outcomes),
      overParsed: ratio(parsedOutcomes),
      confusion: { labels, columns, matrix },
      perClass,
      report: { overAll: report(outcomes), overParsed: report(parsedOutcomes) },
    },
    outcomes,
  };
}

function emptyReport(labels: string[]): ClassificationResult {
  const zero = { precision: 0, recall: 0, f1: 0, support: 0 };
  return {
    labels,
    total: 0,
    accuracy: 0,
    correct: 0,
    perLabel: labels.map((label) => ({ label, ...zero })),
    counts: labels.map((label) => ({ label, trueSum: 0, predSum: 0, tpSum: 0 })),
    microIsAccuracy: false,
    micro: zero,
    macro: zero,
    weighted: zero,
    confusionMatrix: null,
    confusionMatrixDefined: false,
    supportIsFloat: false,
    zeroDivision: 0,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property only: `constructor` or `__proto__` in a path never reaches a prototype. */
function ownValue(value: unknown, key: string): unknown {
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) current = ownValue(current, part);
  return current;
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function goldScalar(value: unknown, path: string, where: { file?: string; line?: number; field: string }): string {
  const text = scalarText(readPath(value, path));
  if (text === undefined) throw new InputError('expected a string, number or boolean', where);
  return text;
}

/** The predicted value as text, or undefined when the field is absent or not a scalar. */
function predictedScalar(value: unknown, path: string): string | undefined {
  return scalarText(readPath(value, path));
}

function excerpt(text: string, length: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const chars = [...flat];
  return chars.length > length ? chars.slice(0, length).join('') + '…' : flat;
}

// ---------------------------------------------------------------------------------------------------
// Reporter (Korean Markdown, study 001's sections with the denominators spelled out)

const STATUS_NAMES: Record<JsonExtractionStatus, string> = {
  strict: '그대로 파싱',
  fenced: '코드 펜스에서 추출',
  repaired: 'jsonrepair로 수리',
  no_json: 'JSON 없음',
  unparseable: '수리 실패',
  empty: '빈 답변',
};

/** `29/30 (96.7%)`, or `0/0 (—)` when there is nothing to divide. */
function fraction(numerator: number, denominator: number): string {
  return `${numerator}/${denominator} (${denominator ? pct(numerator / denominator) : '—'})`;
}

function pct(ratio: Ratio | number, digits = 1): string {
  const value = typeof ratio === 'number' ? ratio : ratio.value;
  return `${(value * 100).toFixed(digits)}%`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function formatStructuredJsonReport(result: StructuredJsonResult, options: { maxErrors?: number } = {}): string {
  const v = result.validity;
  const out: string[] = [];
  out.push('## 평가 결과 요약', '');
  out.push('| 메트릭 | 전체 기준 | 비율 | 파싱 성공 기준 | 비율 |', '|---|---:|---:|---:|---:|');
  out.push(`| JSON 유효성 (그대로 파싱) | ${v.strict}/${v.total} | ${pct(v.total ? v.strict / v.total : 0)} | | |`);
  out.push(`| JSON 유효성 (복구 포함) | ${v.parsed}/${v.total} | **${pct(v.total ? v.parsed / v.total : 0)}** | | |`);
  for (const field of [...result.fields, ...result.lists]) {
    out.push(
      `| ${cell(field.name)} 정확도 | ${field.overAll.correct}/${field.overAll.total} | **${pct(field.overAll)}** | ${field.overParsed.correct}/${field.overParsed.total} | ${pct(field.overParsed)} |`,
    );
  }
  out.push('', '전체 기준: 파싱 실패·필드 누락·항목 누락을 모두 오답으로 센 비율. 파싱 성공 기준: JSON을 얻은 샘플(목록 필드는 짝지어진 항목)만 분모로 한 비율.', '');
  out.push('### JSON 유효성 단계', '');
  out.push('| 단계 | 건수 |', '|---|---:|');
  out.push(`| 그대로 파싱 (strict) | ${v.strict} |`);
  out.push(`| 복구 후 유효: 코드 펜스에서 추출 | ${v.afterRepair.fenced} |`);
  out.push(`| 복구 후 유효: jsonrepair로 수리 | ${v.afterRepair.repaired} |`);
  out.push(`| 복구 불가: JSON 없음 | ${v.unrecoverable.noJson} |`);
  out.push(`| 복구 불가: 수리 실패 | ${v.unrecoverable.unparseable} |`);
  out.push(`| 복구 불가: 빈 답변 | ${v.unrecoverable.empty} |`);
  if (v.notAnObject) out.push(`| (파싱됐으나 객체가 아님) | ${v.notAnObject} |`);
  out.push('');

  for (const field of [...result.fields, ...result.lists]) {
    out.push(`## ${field.name} 혼동 행렬`, '');
    out.push('행 = 예측, 열 = 정답 (study 001과 같은 방향). 예측이 없거나 라벨 밖인 경우는 별도 행입니다.', '');
    const used = field.confusion.columns.filter((column, c) => !(ABSENT_COLUMNS as readonly string[]).includes(column) || field.confusion.matrix.some((row) => row[c] > 0));
    const keep = used.map((column) => field.confusion.columns.indexOf(column));
    out.push(formatConfusionMatrix(field.labels, field.confusion.matrix.map((row) => keep.map((c) => row[c])), { rows: 'predicted', columns: used }), '');
    out.push(`### ${field.name} 클래스별 정밀도·재현율`, '');
    out.push('| 클래스 | 정밀도 (예측 기준) | 재현율 (정답 기준, 전체) | 재현율 (정답 기준, 파싱 성공) |', '|---|---:|---:|---:|');
    for (const c of field.perClass) {
      out.push(
        `| ${cell(c.label)} | ${fraction(c.truePositives, c.predicted)} | ${fraction(c.truePositives, c.gold)} | ${fraction(c.truePositives, c.goldParsed)} |`,
      );
    }
    out.push('', '정밀도 = 그 클래스로 예측한 것 중 정답인 비율(혼동 행렬의 예측 행), 재현율 = 정답이 그 클래스인 것 중 맞힌 비율(정답 열).', '');
    if ('pairing' in field) {
      const list = field as ListAccuracy;
      out.push(
        `항목 짝짓기: ${list.pairing === 'key' ? '키 필드 기준' : '위치(순서) 기준'}. 정답 항목 ${list.goldItems}개, 예측 항목 ${list.predictedItems}개, 짝지어진 항목 ${list.pairedItems}개, ` +
          `누락 ${list.missingItems}개, 초과 ${list.extraItems}개, 항목 수가 다른 샘플 ${list.countMismatches.length}개.`,
        '',
      );
    }
  }

  const unparsed = result.errors.filter((e) => e.kind === 'unparsed');
  const wrong = result.errors.filter((e) => e.kind !== 'unparsed');
  const max = options.maxErrors ?? 50;
  out.push('## 오류 케이스 분석', '');
  out.push(`### JSON 파싱 실패 (${unparsed.length}건)`, '');
  if (unparsed.length) {
    out.push('| # | 쿼리 | 상태 | 답변 앞부분 |', '|---|---|---|---|');
    for (const e of unparsed.slice(0, max)) out.push(`| ${e.sample} | ${cell(e.queryExcerpt)} | ${e.status ? STATUS_NAMES[e.status] : ''} | ${cell(e.predicted)} |`);
    out.push('');
  }
  out.push(`### 필드 오류 (${wrong.length}건)`, '');
  if (wrong.length) {
    out.push('| # | 필드 | 쿼리 | 예측 | 정답 |', '|---|---|---|---|---|');
    for (const e of wrong.slice(0, max)) {
      out.push(`| ${e.sample} | ${cell(e.field + (e.item !== undefined ? ` (${e.item})` : ''))} | ${cell(e.queryExcerpt)} | ${cell(e.predicted)} | ${cell(e.gold)} |`);
    }
    if (wrong.length > max) out.push('', `… 외 ${wrong.length - max}건`);
  }
  return out.join('\n') + '\n';
}
