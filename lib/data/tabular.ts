/**
 * Tables from files: CSV, TSV, JSON array, JSON Lines and Parquet, each row with its line for error
 * messages. The text-classification data sets built on them are in text-classification.ts, their
 * seeded, stratified train/validation split in train-validation.ts.
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
