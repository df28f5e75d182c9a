/**
 * nbformat 4 notebooks: the types, and reading and writing .ipynb files.
 *
 * Types follow the nbformat 4.5 JSON schema (https://nbformat.readthedocs.io/en/latest/format_description.html).
 * Reading checks the structure we rely on and names the file and the cell when it is wrong; it does not
 * drop or reorder anything it does not know (unknown metadata survives a read/write round trip).
 */
import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { readTextFile, type TextEncodingName } from '../data/encoding.js';
import { jsonSyntaxError } from '../data/json-errors.js';
import { InputError } from '../errors.js';

/** Notebook text fields are a string or a list of lines (each keeping its "\n"). */
export type MultilineString = string | string[];

/** A mime bundle: mime type -> data (text as MultilineString, JSON types as parsed JSON, binary as base64). */
export type MimeBundle = Record<string, unknown>;

export interface StreamOutput {
  output_type: 'stream';
  name: 'stdout' | 'stderr';
  text: MultilineString;
}

export interface DisplayDataOutput {
  output_type: 'display_data';
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

export interface ExecuteResultOutput {
  output_type: 'execute_result';
  execution_count: number | null;
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

export interface ErrorOutput {
  output_type: 'error';
  ename: string;
  evalue: string;
  traceback: string[];
}

export type Output = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

export interface CellMetadata {
  tags?: string[];
  [key: string]: unknown;
}

export interface CodeCell {
  cell_type: 'code';
  id?: string;
  source: MultilineString;
  metadata: CellMetadata;
  execution_count: number | null;
  outputs: Output[];
}

export interface MarkdownCell {
  cell_type: 'markdown';
  id?: string;
  source: MultilineString;
  metadata: CellMetadata;
  attachments?: Record<string, MimeBundle>;
}

export interface RawCell {
  cell_type: 'raw';
  id?: string;
  source: MultilineString;
  metadata: CellMetadata;
  attachments?: Record<string, MimeBundle>;
}

export type Cell = CodeCell | MarkdownCell | RawCell;

/** What notebook authors put under `metadata.hanlab.report`; the report generator reads it. */
export interface ReportMetadata {
  template?: string;
  name?: string;
  title?: string;
  [key: string]: unknown;
}

export interface NotebookMetadata {
  kernelspec?: { name: string; display_name: string; language?: string };
  language_info?: { name: string; [key: string]: unknown };
  /** hanlab's own: `report` (authored), `run` (written by the runner, see runner.ts RunMetadata). */
  hanlab?: { report?: ReportMetadata; run?: unknown; [key: string]: unknown };
  [key: string]: unknown;
}

export interface Notebook {
  nbformat: 4;
  nbformat_minor: number;
  metadata: NotebookMetadata;
  cells: Cell[];
}

/** Joins a MultilineString into one string. */
export function sourceText(source: MultilineString): string {
  return Array.isArray(source) ? source.join('') : source;
}

/** Splits text into nbformat's list of lines, each keeping its newline (Jupyter writes text this way). */
export function toLines(text: string): string[] {
  if (text === '') return [];
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Parses and checks notebook JSON text; `file` names it in errors. */
export function parseNotebook(text: string, file = '<notebook>'): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw jsonSyntaxError(text, error, { file });
  }
  return checkNotebook(raw, file);
}

/**
 * Reads an .ipynb file. Jupyter writes UTF-8, but a notebook saved by a Korean Windows editor may be
 * CP949 or carry a byte-order mark: the encoding is detected as for every data file (lib/data/encoding.ts)
 * and broken bytes are an error naming their line, never decoded leniently.
 */
export function readNotebook(file: string, options: { encoding?: TextEncodingName } = {}): Notebook {
  const { text } = readTextFile(file, { encoding: options.encoding, what: 'notebook' });
  return parseNotebook(text, file);
}

/** Serialises like Jupyter does (sorted keys, 1-space indent, trailing newline) so diffs of executed notebooks stay small. */
export function serializeNotebook(notebook: Notebook): string {
  return JSON.stringify(notebook, sortKeys, 1) + '\n';
}

function sortKeys(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  // Null prototype: a key "__proto__" (from data) stays a key.
  const sorted = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value).sort()) sorted[key] = (value as Record<string, unknown>)[key];
  return sorted;
}

/** Writes atomically (temp file + rename): a crash never leaves a half-written notebook. */
export function writeNotebook(file: string, notebook: Notebook): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, serializeNotebook(notebook), 'utf8');
  renameSync(temp, file);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMultiline(value: unknown): value is MultilineString {
  return typeof value === 'string' || (Array.isArray(value) && value.every((line) => typeof line === 'string'));
}

function checkNotebook(raw: unknown, file: string): Notebook {
  if (!isRecord(raw)) throw new InputError('a notebook must be a JSON object', { file });
  if (raw.nbformat !== 4) throw new InputError(`only nbformat 4 is supported, found ${JSON.stringify(raw.nbformat)}`, { file, field: 'nbformat' });
  if (typeof raw.nbformat_minor !== 'number') throw new InputError('nbformat_minor must be a number', { file, field: 'nbformat_minor' });
  if (!isRecord(raw.metadata)) throw new InputError('metadata must be an object', { file, field: 'metadata' });
  if (!Array.isArray(raw.cells)) throw new InputError('cells must be an array', { file, field: 'cells' });
  raw.cells.forEach((cell, index) => checkCell(cell, index, file));
  return raw as unknown as Notebook;
}

function checkCell(cell: unknown, index: number, file: string): void {
  const where = (field: string) => ({ file, field: `cells[${index}].${field}` });
  if (!isRecord(cell)) throw new InputError('a cell must be an object', { file, field: `cells[${index}]` });
  if (cell.cell_type !== 'code' && cell.cell_type !== 'markdown' && cell.cell_type !== 'raw') {
    throw new InputError(`unknown cell_type ${JSON.stringify(cell.cell_type)}`, where('cell_type'));
  }
  if (!isMultiline(cell.source)) throw new InputError('source must be a string or a list of strings', where('source'));
  if (cell.metadata === undefined) cell.metadata = {};
  if (!isRecord(cell.metadata)) throw new InputError('metadata must be an object', where('metadata'));
  const tags = (cell.metadata as CellMetadata).tags;
  if (tags !== undefined && !(Array.isArray(tags) && tags.every((tag) => typeof tag === 'string'))) {
    throw new InputError('tags must be a list of strings', where('metadata.tags'));
  }
  if (cell.cell_type === 'code') {
    if (cell.outputs === undefined) cell.outputs = [];
    if (cell.execution_count === undefined) cell.execution_count = null;
    if (!Array.isArray(cell.outputs)) throw new InputError('outputs must be an array', where('outputs'));
    cell.outputs.forEach((output, outputIndex) => checkOutput(output, `cells[${index}].outputs[${outputIndex}]`, file));
  }
}

function checkOutput(output: unknown, field: string, file: string): void {
  if (!isRecord(output)) throw new InputError('an output must be an object', { file, field });
  switch (output.output_type) {
    case 'stream':
      if (!isMultiline(output.text)) throw new InputError('stream text must be a string or a list of strings', { file, field: `${field}.text` });
      return;
    case 'display_data':
    case 'execute_result':
      if (!isRecord(output.data)) throw new InputError('data must be a mime bundle object', { file, field: `${field}.data` });
      return;
    case 'error':
      if (typeof output.ename !== 'string' || typeof output.evalue !== 'string' || !Array.isArray(output.traceback)) {
        throw new InputError('an error output needs ename, evalue and traceback', { file, field });
      }
      return;
    default:
      throw new InputError(`unknown output_type ${JSON.stringify(output.output_type)}`, { file, field: `${field}.output_type` });
  }
}
