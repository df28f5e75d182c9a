/**
 * Text-classification data sets from tables (study 004's NSMC and the like): the text and label
 * columns, label ids with their names, rows that cannot be used (reported with file and line, never
 * dropped silently), duplicate counts; and their display for notebooks.
 */
import { InputError, UsageError } from '../errors.js';
import type { TextEncodingName } from './encoding.js';
import { readTable, type ReadTableOptions, type Table, type TableFormat, type TableRow } from './tabular.js';

/** Text columns tried in this order when none is named (as study 004 does). */
export const TEXT_COLUMN_CANDIDATES: readonly string[] = ['text', 'content', 'review', 'document', 'sentence'];
/** Label columns tried in this order when none is named. */
export const LABEL_COLUMN_CANDIDATES: readonly string[] = ['label', 'labels'];

export type ProblemKind = 'missing text' | 'missing label' | 'invalid text' | 'invalid label' | 'unknown label';

/** A row that was not used, and why. */
export interface RowProblem {
  file: string;
  /** 1-based line in the file (null for Parquet). */
  line: number | null;
  /** 1-based record number. */
  row: number;
  field: string;
  kind: ProblemKind;
  message: string;
}

export interface DuplicateRow {
  line: number | null;
  row: number;
  /** Where the same text first appeared. */
  firstLine: number | null;
  firstRow: number;
  sameLabel: boolean;
}

/** Rows whose text repeats an earlier row's text exactly. They are kept, and counted here. */
export interface DuplicateSummary {
  /** Rows that repeat an earlier text. */
  count: number;
  /** Of those, rows whose label differs from the first occurrence's. */
  conflictingLabels: number;
  rows: DuplicateRow[];
}

/** Texts with integer label ids; `labelNames[id]` is the label as written in the data. */
export interface LabeledTexts {
  texts: string[];
  labels: number[];
  labelNames: string[];
}

export interface TextClassificationDataset extends LabeledTexts {
  source: {
    file: string;
    encoding: TextEncodingName;
    format: TableFormat;
    textColumn: string;
    labelColumn: string;
  };
  /** For each kept example, its 1-based line (null for Parquet) and record number. */
  lines: (number | null)[];
  rowNumbers: number[];
  /** Rows not used (only with `onInvalid: 'collect'`; by default the first one is an error). */
  problems: RowProblem[];
  duplicates: DuplicateSummary;
}

export interface TextClassificationOptions extends ReadTableOptions {
  /** Column holding the text; default: the first of TEXT_COLUMN_CANDIDATES present. */
  textColumn?: string;
  /** Column holding the label; default: the first of LABEL_COLUMN_CANDIDATES present. */
  labelColumn?: string;
  /**
   * Label values in id order. Without it, labels are sorted: numerically when all are integers,
   * else by code point (as scikit-learn's LabelEncoder does). Rows with other labels are problems.
   */
  labelOrder?: readonly string[];
  /** 'error' (default): the first unusable row throws. 'collect': it is listed in `problems`. */
  onInvalid?: 'error' | 'collect';
}

function findColumn(file: string, columns: string[], named: string | undefined, candidates: readonly string[], role: string, option: string): string {
  if (named !== undefined) {
    if (!columns.includes(named)) {
      throw new InputError(`has no ${role} column '${named}' (columns: ${columns.join(', ') || 'none'})`, { file, field: named });
    }
    return named;
  }
  for (const candidate of candidates) if (columns.includes(candidate)) return candidate;
  // Then case-insensitively ("Text", "Sentence"), still in candidate order.
  for (const candidate of candidates) {
    const match = columns.find((c) => c.toLowerCase() === candidate);
    if (match !== undefined) return match;
  }
  throw new InputError(
    `has no ${role} column: looked for ${candidates.join(', ')} among columns ${columns.join(', ') || '(none)'}; name it with ${option}`,
    { file },
  );
}

/** A short rendering of a cell for messages (JSON.stringify throws on BigInt inside Parquet lists). */
function preview(value: unknown): string {
  try {
    const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? typeof value;
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return typeof value;
  }
}

/** Why a cell cannot be used. (A class, not a union tag, so narrowing works without strict mode too.) */
class Unusable {
  constructor(readonly kind: ProblemKind, readonly detail: string) {}
}

function labelValue(value: unknown): string | Unusable {
  if (value === null || value === undefined) return new Unusable('missing label', 'label is missing');
  if (typeof value === 'string') {
    const label = value.trim();
    return label === '' ? new Unusable('missing label', 'label is empty') : label;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : new Unusable('invalid label', `label is ${value}`);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return new Unusable('invalid label', `label is not a single value (${preview(value)})`);
}

function textValue(value: unknown): string | Unusable {
  if (value === null || value === undefined) return new Unusable('missing text', 'text is missing');
  if (typeof value === 'string') return value.trim() === '' ? new Unusable('missing text', 'text is empty') : value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return new Unusable('invalid text', `text is not a string (${typeof value})`);
}

/** Sort label values: numerically when all are integers, else by code point. */
export function sortLabelValues(values: Iterable<string>): string[] {
  const unique = [...new Set(values)];
  const allIntegers = unique.every((v) => /^[-+]?\d+$/.test(v));
  if (allIntegers) return unique.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0));
  return unique.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Build a text-classification data set from table rows (exported so callers holding rows from
 * elsewhere, e.g. the Hub, get the same checks).
 */
export function textClassificationFromTable(table: Table, options: TextClassificationOptions = {}): TextClassificationDataset {
  const { file } = table;
  const textColumn = findColumn(file, table.columns, options.textColumn, TEXT_COLUMN_CANDIDATES, 'text', 'textColumn');
  const labelColumn = findColumn(file, table.columns, options.labelColumn, LABEL_COLUMN_CANDIDATES, 'label', 'labelColumn');
  if (textColumn === labelColumn) throw new UsageError(`text and label column are both '${textColumn}'`);
  const collect = (options.onInvalid ?? 'error') === 'collect';
  const problems: RowProblem[] = [];
  const report = (row: TableRow, field: string, kind: ProblemKind, detail: string): void => {
    const problem: RowProblem = { file, line: row.line, row: row.row, field, kind, message: detail };
    if (!collect) {
      const where = row.line !== null ? { file, line: row.line, field } : { file, field };
      const suffix = row.line === null ? ` (row ${row.row})` : '';
      throw new InputError(`${detail}${suffix}; fix the row or load with onInvalid: 'collect'`, where);
    }
    problems.push(problem);
  };

  const kept: { text: string; label: string; row: TableRow }[] = [];
  for (const row of table.rows) {
    const text = textValue(row.values[textColumn]);
    const label = labelValue(row.values[labelColumn]);
    if (text instanceof Unusable) report(row, textColumn, text.kind, text.detail);
    if (label instanceof Unusable) report(row, labelColumn, label.kind, label.detail);
    if (typeof text === 'string' && typeof label === 'string') kept.push({ text, label, row });
  }

  let labelNames: string[];
  let accepted = kept;
  if (options.labelOrder !== undefined) {
    labelNames = [...options.labelOrder];
    if (new Set(labelNames).size !== labelNames.length) throw new UsageError(`labelOrder has a repeated label: ${labelNames.join(', ')}`);
    const known = new Set(labelNames);
    accepted = [];
    for (const example of kept) {
      if (known.has(example.label)) accepted.push(example);
      else report(example.row, labelColumn, 'unknown label', `label '${example.label}' is not one of ${labelNames.join(', ')}`);
    }
  } else {
    labelNames = sortLabelValues(kept.map((e) => e.label));
  }
  const idOf = new Map(labelNames.map((name, id) => [name, id] as const));

  const firstSeen = new Map<string, { row: TableRow; label: string }>();
  const duplicates: DuplicateSummary = { count: 0, conflictingLabels: 0, rows: [] };
  for (const example of accepted) {
    const first = firstSeen.get(example.text);
    if (first === undefined) {
      firstSeen.set(example.text, { row: example.row, label: example.label });
      continue;
    }
    const sameLabel = first.label === example.label;
    duplicates.count++;
    if (!sameLabel) duplicates.conflictingLabels++;
    duplicates.rows.push({ line: example.row.line, row: example.row.row, firstLine: first.row.line, firstRow: first.row.row, sameLabel });
  }

  return {
    texts: accepted.map((e) => e.text),
    labels: accepted.map((e) => idOf.get(e.label) as number),
    labelNames,
    source: { file, encoding: table.encoding, format: table.format, textColumn, labelColumn },
    lines: accepted.map((e) => e.row.line),
    rowNumbers: accepted.map((e) => e.row.row),
    problems,
    duplicates,
  };
}

/** Load a text-classification data set from a CSV, TSV, JSON, JSON Lines or Parquet file. */
export async function loadTextClassification(file: string, options: TextClassificationOptions = {}): Promise<TextClassificationDataset> {
  const table = await readTable(file, options);
  return textClassificationFromTable(table, options);
}

/**
 * A danfojs-node DataFrame of (some of) the examples, for notebooks: columns `text`, `label` (name)
 * and `label_id`. danfojs is loaded only here, on first use (it takes seconds to import).
 */
export async function toDataFrame(data: LabeledTexts, options: { limit?: number } = {}): Promise<import('danfojs-node').DataFrame> {
  const dfd = await import('danfojs-node');
  const n = Math.min(data.texts.length, options.limit ?? data.texts.length);
  return new dfd.DataFrame({
    text: data.texts.slice(0, n),
    label: data.labels.slice(0, n).map((id) => data.labelNames[id]),
    label_id: data.labels.slice(0, n),
  });
}

/** Count of examples per label name, in id order (for EDA tables). */
export function labelCounts(data: LabeledTexts): { label: string; count: number }[] {
  const counts = data.labelNames.map(() => 0);
  for (const id of data.labels) counts[id]++;
  return data.labelNames.map((label, id) => ({ label, count: counts[id] }));
}
