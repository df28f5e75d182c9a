/**
 * Tables from files (CSV, TSV, JSON array, JSON Lines, Parquet) and the text-classification data sets
 * built on them: the text and label columns, label ids with their names, rows that cannot be used
 * (reported with file and line, never dropped silently), duplicate counts, and a seeded, stratified
 * train/validation split.
 *
 * Format detection (`detectTableFormat`), first match wins:
 *   1. The bytes start with the Parquet magic `PAR1` → parquet (whatever the extension says).
 *   2. `.parquet` without that magic → error.
 *   3. `.jsonl` / `.ndjson` → jsonl; `.json` → json when the first non-blank character is `[`, else
 *      jsonl (Hugging Face writes JSON Lines under `.json`).
 *   4. `.csv` → csv; `.tsv` / `.tab` → tsv; but a `.csv` whose header line has tabs and no commas → tsv.
 *   5. Any other extension (NSMC uses `.txt`): `[` → json, `{` → jsonl, a tab in the header line → tsv,
 *      a comma → csv, else an error asking for `format`.
 * CSV and TSV use RFC 4180 quoting (`"` doubles inside quoted fields), as pandas writes them; NSMC's
 * `.txt` files rely on it. Pass `quote: false` for TSV files whose quotes are plain characters.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { InputError, UsageError } from '../errors.js';
import { createRng, shuffleInPlace } from '../random.js';
import { decodeText, type TextEncodingName } from './encoding.js';
import { jsonSyntaxError } from './json-errors.js';

export type TableFormat = 'csv' | 'tsv' | 'json' | 'jsonl' | 'parquet';
export const TABLE_FORMATS: readonly TableFormat[] = ['csv', 'tsv', 'json', 'jsonl', 'parquet'];

/** One record of a table. `values` has no prototype: keys come from untrusted headers. */
export interface TableRow {
  values: Record<string, unknown>;
  /** 1-based line where the record starts in a text file; null for Parquet. */
  line: number | null;
  /** 1-based record number (header not counted). */
  row: number;
}

/** A field of a row, or undefined when the record has no such key (never an inherited property). */
export function rowValue(row: Pick<TableRow, 'values'>, field: string): unknown {
  return Object.hasOwn(row.values, field) ? row.values[field] : undefined;
}

export interface Table {
  file: string;
  format: TableFormat;
  /** Text encoding found (Parquet strings are UTF-8 by the format's definition). */
  encoding: TextEncodingName;
  columns: string[];
  rows: TableRow[];
}

export interface ReadTableOptions {
  /** Skip format detection. */
  format?: TableFormat;
  /** Skip encoding detection (text formats only). */
  encoding?: TextEncodingName;
  /** CSV/TSV: treat `"` as a quote character (default true). */
  quote?: boolean;
}

/** Where a row is, for messages: `file:line` or `file (row N)`. */
export function describeRow(file: string, row: Pick<TableRow, 'line' | 'row'>): string {
  return row.line !== null ? `${file}:${row.line}` : `${file} (row ${row.row})`;
}

function hasParquetMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x41 && bytes[2] === 0x52 && bytes[3] === 0x31;
}

function firstNonBlank(text: string): string {
  const match = /\S/.exec(text);
  return match ? match[0] : '';
}

function headerLine(text: string): string {
  const start = text.search(/\S/);
  if (start < 0) return '';
  const end = text.indexOf('\n', start);
  return end < 0 ? text.slice(start) : text.slice(start, end);
}

/**
 * Decide a file's format by the rule at the top of this module. `text` is the decoded content (not
 * needed for Parquet).
 */
export function detectTableFormat(file: string, bytes: Uint8Array, text?: string): TableFormat {
  if (hasParquetMagic(bytes)) return 'parquet';
  const ext = path.extname(file).toLowerCase();
  if (ext === '.parquet') throw new InputError('has the .parquet extension but is not a Parquet file (no PAR1 magic)', { file });
  const content = text ?? decodeText(bytes, { file }).text;
  const first = firstNonBlank(content);
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.json') return first === '[' ? 'json' : 'jsonl';
  const header = headerLine(content);
  if (ext === '.csv') return header.includes('\t') && !header.includes(',') ? 'tsv' : 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (first === '[') return 'json';
  if (first === '{') return 'jsonl';
  if (header.includes('\t')) return 'tsv';
  if (header.includes(',')) return 'csv';
  throw new InputError(
    `cannot tell the table format (no tab or comma in the first line); pass format as one of ${TABLE_FORMATS.join(', ')}`,
    { file, line: 1 },
  );
}

function readBytes(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new InputError(`cannot read file: ${(error as Error).message}`, { file }, { cause: error });
  }
}

function nullProtoRecord(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x0a) n++;
  return n;
}

interface CsvInfoRecord {
  record: string[];
  /** `lines`: the line where the record ends. */
  info: { lines: number };
}

function parseDelimited(file: string, text: string, delimiter: ',' | '\t', quote: boolean): { columns: string[]; rows: TableRow[] } {
  // CRLF → LF first: csv-parse fixes the record delimiter from the first line, so mixed endings would
  // leave '\r' in fields and miscount lines.
  const normalized = text.replace(/\r\n/g, '\n');
  let records: CsvInfoRecord[];
  try {
    records = parseCsv(normalized, {
      delimiter,
      quote: quote ? '"' : false,
      info: true,
      skip_empty_lines: true,
      relax_column_count: false,
    }) as unknown as CsvInfoRecord[];
  } catch (error) {
    const e = error as Error & { lines?: number };
    throw new InputError(`cannot parse as ${delimiter === ',' ? 'CSV' : 'TSV'}: ${e.message}`, { file, line: e.lines }, { cause: error });
  }
  if (records.length === 0) throw new InputError('is empty (no header line)', { file });
  // A record starts as many lines before its end as its (quoted) fields hold line breaks.
  const startLine = (r: CsvInfoRecord): number => r.info.lines - r.record.reduce((n, field) => n + countNewlines(field), 0);
  const header = records[0].record.map((name) => name.trim());
  checkColumnNames(file, header, startLine(records[0]));
  const rows: TableRow[] = [];
  for (let i = 1; i < records.length; i++) {
    const values = nullProtoRecord();
    const fields = records[i].record;
    for (let c = 0; c < header.length; c++) values[header[c]] = fields[c];
    rows.push({ values, line: startLine(records[i]), row: i });
  }
  return { columns: header, rows };
}

function checkColumnNames(file: string, columns: string[], line: number | undefined): void {
  const seen = new Set<string>();
  columns.forEach((name, index) => {
    if (name === '') throw new InputError(`column ${index + 1} has an empty name in the header`, { file, line });
    if (seen.has(name)) throw new InputError(`column name '${name}' appears twice in the header`, { file, line });
    seen.add(name);
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function copyRecord(source: Record<string, unknown>, columns: string[], seen: Set<string>): Record<string, unknown> {
  const values = nullProtoRecord();
  for (const key of Object.keys(source)) {
    values[key] = source[key];
    if (!seen.has(key)) {
      seen.add(key);
      columns.push(key);
    }
  }
  return values;
}

/**
 * Lines where each element of a top-level JSON array starts. Hand-written because JSON.parse reports
 * no positions; it only tracks strings, escapes and nesting depth of text that already parsed.
 */
function arrayElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expectValue = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') line++;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') continue;
    if (depth === 1 && expectValue && ch !== ']') {
      lines.push(line);
      expectValue = false;
    }
    if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') {
      depth++;
      if (depth === 1) expectValue = true;
    } else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 1) expectValue = true;
  }
  return lines;
}

function parseJsonArray(file: string, text: string): { columns: string[]; rows: TableRow[] } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw jsonSyntaxError(text, error, { file });
  }
  if (!Array.isArray(data)) throw new InputError('JSON must be an array of records (or use JSON Lines)', { file });
  const lines = arrayElementLines(text);
  const columns: string[] = [];
  const seen = new Set<string>();
  const rows = data.map((element, index): TableRow => {
    const line = lines[index] ?? null;
    if (!isPlainObject(element)) {
      throw new InputError(`record ${index + 1} is not a JSON object`, { file, line: line ?? undefined });
    }
    return { values: copyRecord(element, columns, seen), line, row: index + 1 };
  });
  return { columns, rows };
}

function parseJsonLines(file: string, text: string): { columns: string[]; rows: TableRow[] } {
  const columns: string[] = [];
  const seen = new Set<string>();
  const rows: TableRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const content = lines[i].trim();
    if (content === '') continue;
    let element: unknown;
    try {
      element = JSON.parse(content);
    } catch (error) {
      throw jsonSyntaxError(lines[i], error, { file, firstLine: i + 1 });
    }
    if (!isPlainObject(element)) throw new InputError('a JSON Lines record must be a JSON object', { file, line: i + 1 });
    rows.push({ values: copyRecord(element, columns, seen), line: i + 1, row: rows.length + 1 });
  }
  return { columns, rows };
}

/**
 * A Parquet string cell whose bytes are not UTF-8 (the format requires UTF-8; a CP949 writer breaks
 * that). hyparquet's default decoder would put U+FFFD in their place silently; this marker lets the
 * reader name the row and column instead.
 */
class NotUtf8Cell {
  constructor(readonly bytes: Uint8Array) {}
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function stringFromBytes(bytes: Uint8Array | undefined): string | NotUtf8Cell | undefined {
  if (bytes === undefined) return undefined;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return new NotUtf8Cell(bytes);
  }
}

/** A NotUtf8Cell in a cell or in a list cell, if any. */
function notUtf8In(value: unknown): NotUtf8Cell | undefined {
  if (value instanceof NotUtf8Cell) return value;
  if (Array.isArray(value)) for (const item of value) if (item instanceof NotUtf8Cell) return item;
  return undefined;
}

async function parseParquet(file: string, bytes: Uint8Array): Promise<{ columns: string[]; rows: TableRow[] }> {
  // hyparquet reads from an ArrayBuffer; copy out of Node's pooled Buffer memory.
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let objects: Record<string, unknown>[];
  let columns: string[];
  try {
    const metadata = parquetMetadata(buffer);
    columns = parquetSchema(metadata).children.map((child) => child.element.name);
    objects = await parquetReadObjects({ file: buffer, metadata, parsers: { stringFromBytes } });
  } catch (error) {
    throw new InputError(`cannot read Parquet: ${(error as Error).message}`, { file }, { cause: error });
  }
  checkColumnNames(file, columns, undefined);
  const rows = objects.map((object, index): TableRow => {
    const values = nullProtoRecord();
    for (const name of columns) {
      const bad = notUtf8In(object[name]);
      if (bad) {
        const shown = [...bad.bytes.subarray(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
        throw new InputError(`row ${index + 1}: the string is not UTF-8 (bytes ${shown}${bad.bytes.length > 12 ? ' …' : ''}); Parquet strings must be UTF-8`, {
          file,
          field: name,
        });
      }
      values[name] = object[name];
    }
    return { values, line: null, row: index + 1 };
  });
  return { columns, rows };
}

/** Read any supported table file into rows with their line numbers. */
export async function readTable(file: string, options: ReadTableOptions = {}): Promise<Table> {
  const bytes = readBytes(file);
  if (options.format === 'parquet' || (options.format === undefined && hasParquetMagic(bytes))) {
    const { columns, rows } = await parseParquet(file, bytes);
    return { file, format: 'parquet', encoding: 'utf-8', columns, rows };
  }
  const { text, encoding } = decodeText(bytes, { file, encoding: options.encoding });
  const format = options.format ?? detectTableFormat(file, bytes, text);
  const quote = options.quote ?? true;
  let parsed: { columns: string[]; rows: TableRow[] };
  switch (format) {
    case 'csv':
      parsed = parseDelimited(file, text, ',', quote);
      break;
    case 'tsv':
      parsed = parseDelimited(file, text, '\t', quote);
      break;
    case 'json':
      parsed = parseJsonArray(file, text);
      break;
    case 'jsonl':
      parsed = parseJsonLines(file, text);
      break;
    default:
      throw new UsageError(`unknown table format '${String(format)}' (use one of ${TABLE_FORMATS.join(', ')})`);
  }
  return { file, format, encoding, ...parsed };
}

// ---------------------------------------------------------------------------------------------------
// Text classification

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

// ---------------------------------------------------------------------------------------------------
// Train / validation split

export interface SplitOptions {
  /** Share of each class that goes to validation, in (0, 1). */
  ratio: number;
  seed: number;
}

export interface TrainValidationSplit {
  train: LabeledTexts;
  validation: LabeledTexts;
  /** Indices into the split data set, ascending (file order is kept). */
  trainIndices: number[];
  validationIndices: number[];
  ratio: number;
  seed: number;
}

/**
 * How many examples of each class go to validation: the total is round(n × ratio) (kept between 1 and
 * n − 1), shared by largest remainder so every class gets floor or ceil of its own n_c × ratio.
 */
export function stratifiedQuotas(classSizes: readonly number[], ratio: number): number[] {
  const n = classSizes.reduce((a, b) => a + b, 0);
  const total = Math.min(n - 1, Math.max(1, Math.round(n * ratio)));
  const exact = classSizes.map((size) => size * ratio);
  const quotas = exact.map(Math.floor);
  let left = total - quotas.reduce((a, b) => a + b, 0);
  const order = exact
    .map((value, id) => ({ id, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.id - b.id);
  if (left > 0) {
    for (const { id } of order) {
      if (left === 0) break;
      if (quotas[id] < classSizes[id]) {
        quotas[id]++;
        left--;
      }
    }
  } else if (left < 0) {
    // Only when clamping to n − 1 took one back: take it from the smallest remainder.
    for (const { id } of [...order].reverse()) {
      if (left === 0) break;
      if (quotas[id] > 0) {
        quotas[id]--;
        left++;
      }
    }
  }
  return quotas;
}

function pick(data: LabeledTexts, indices: number[]): LabeledTexts {
  return { texts: indices.map((i) => data.texts[i]), labels: indices.map((i) => data.labels[i]), labelNames: data.labelNames };
}

/**
 * Seeded, stratified train/validation split (for when no validation file is given). Each class is
 * shuffled with the seed and its quota (see `stratifiedQuotas`) goes to validation; both parts keep
 * the original order.
 */
export function splitTrainValidation(data: LabeledTexts, options: SplitOptions): TrainValidationSplit {
  const { ratio, seed } = options;
  if (!(ratio > 0 && ratio < 1)) throw new UsageError(`split ratio must be between 0 and 1 (exclusive), got ${ratio}`);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`seed must be an integer, got ${seed}`);
  if (data.texts.length !== data.labels.length) throw new UsageError('texts and labels differ in length');
  if (data.texts.length < 2) throw new UsageError(`need at least 2 examples to split, got ${data.texts.length}`);
  const byClass: number[][] = data.labelNames.map(() => []);
  data.labels.forEach((label, index) => {
    if (!Number.isInteger(label) || label < 0 || label >= byClass.length) throw new UsageError(`label id ${label} at index ${index} has no name`);
    byClass[label].push(index);
  });
  const quotas = stratifiedQuotas(byClass.map((c) => c.length), ratio);
  const rng = createRng(seed);
  const validationIndices: number[] = [];
  byClass.forEach((indices, id) => {
    validationIndices.push(...shuffleInPlace(indices.slice(), rng).slice(0, quotas[id]));
  });
  validationIndices.sort((a, b) => a - b);
  const inValidation = new Set(validationIndices);
  const trainIndices = data.texts.map((_, i) => i).filter((i) => !inValidation.has(i));
  return { train: pick(data, trainIndices), validation: pick(data, validationIndices), trainIndices, validationIndices, ratio, seed };
}

export interface TrainValidationOptions extends TextClassificationOptions {
  /** A validation file; when absent the training file is split. */
  validFile?: string | null;
  /** Validation share when splitting (config.ini `split_ratio`). */
  splitRatio?: number | null;
  seed?: number;
  /** When given (config.ini `num_labels`), the number of labels found must equal it. */
  numLabels?: number;
}

export interface TrainValidationData {
  train: LabeledTexts;
  validation: LabeledTexts;
  labelNames: string[];
  /** The loaded files, with their problems and duplicates. */
  trainSource: TextClassificationDataset;
  validationSource: TextClassificationDataset | null;
  /** The split, when the validation part came from the training file. */
  split: TrainValidationSplit | null;
}

/**
 * Training and validation data as study 004's scripts take them: a validation file when given (its
 * labels must be among the training labels), else a seeded stratified split of the training file.
 */
export async function loadTrainValidation(trainFile: string, options: TrainValidationOptions = {}): Promise<TrainValidationData> {
  const { validFile, splitRatio, seed = 42, numLabels, ...loadOptions } = options;
  const trainSource = await loadTextClassification(trainFile, loadOptions);
  if (numLabels !== undefined && trainSource.labelNames.length !== numLabels) {
    throw new InputError(
      `has ${trainSource.labelNames.length} labels (${trainSource.labelNames.join(', ')}) but num_labels is ${numLabels}`,
      { file: trainFile, field: 'num_labels' },
    );
  }
  if (validFile) {
    const validationSource = await loadTextClassification(validFile, { ...loadOptions, labelOrder: trainSource.labelNames });
    return { train: trainSource, validation: validationSource, labelNames: trainSource.labelNames, trainSource, validationSource, split: null };
  }
  if (splitRatio === undefined || splitRatio === null) {
    throw new UsageError('no validation file and no split ratio: set valid_file or split_ratio');
  }
  const split = splitTrainValidation(trainSource, { ratio: splitRatio, seed });
  return { train: split.train, validation: split.validation, labelNames: trainSource.labelNames, trainSource, validationSource: null, split };
}

// ---------------------------------------------------------------------------------------------------
// Display

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
