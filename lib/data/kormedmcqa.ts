/**
 * KorMedMCQA (Korean healthcare licensing exams; sean0042/KorMedMCQA on the Hugging Face Hub): one file
 * per subset (doctor, nurse, dentist, pharm) and split, with the columns
 * `subject, year, period, q_number, question, A, B, C, D, E, answer` (+ `cot` in the few-shot split).
 * Only `question`, `A`–`E` and `answer` are required; the rest are kept when present.
 *
 * Answer rule: the published files store `answer` as an integer 1–5 (1 = A … 5 = E); instruction sets
 * built from them (study 002) write the letter. Both are accepted: a trimmed `1`–`5` is 1-based, a
 * single letter `A`–`E` (any case) is the option itself. Anything else (0, 6, `AB`, `C.`, empty) is an
 * error naming the file, line and field — never a guess.
 *
 * Files: CSV as published (`data/doctor-test.csv`), the Hub's Parquet (`doctor/test-00000-of-00001.parquet`,
 * or `doctor/test/0000.parquet` in `refs/convert/parquet`), or a plain `doctor.csv`. The subset comes
 * from the file name or a parent folder; the split from the name (`train`, `dev`, `test`, `fewshot`).
 */
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { InputError, UsageError } from '../errors.js';
import { describeRow, readTable, type ReadTableOptions, type TableRow } from './tabular.js';

export const MCQA_SUBSETS = ['doctor', 'nurse', 'dentist', 'pharm'] as const;
export type McqaSubset = (typeof MCQA_SUBSETS)[number];
export const MCQA_LETTERS = ['A', 'B', 'C', 'D', 'E'] as const;
export type McqaLetter = (typeof MCQA_LETTERS)[number];
export const MCQA_SPLITS = ['train', 'dev', 'test', 'fewshot'] as const;

/** Study 002's instruction, the same for every question. */
export const MCQA_INSTRUCTION = '질문을 보고, 제시된 [A-E] 중 정답을 맞추세요.';

export interface McqaQuestion {
  subset: McqaSubset;
  /** `train`, `dev`, `test`, `fewshot`, or null when the file name does not say. */
  split: string | null;
  question: string;
  options: Record<McqaLetter, string>;
  answer: McqaLetter;
  subject: string | null;
  year: number | null;
  period: number | null;
  qNumber: number | null;
  /** Professionals' reasoning (few-shot split only). */
  cot: string | null;
  /** Where it was read: file and 1-based line (null for Parquet) and record number. */
  source: { file: string; line: number | null; row: number };
  /**
   * The record exactly as read, every column in file order, untrimmed (no prototype: keys come from
   * the file's header). lm-eval renders its prompts from the raw record, so its runner starts here.
   */
  cells: Record<string, unknown>;
}

export interface KorMedMcqaDataset {
  questions: McqaQuestion[];
  /** The files read, in the order read, with what each held. */
  files: { file: string; subset: McqaSubset; split: string | null; count: number }[];
  /** Files found but not read because the `subsets` or `splits` option left them out. */
  skipped: { file: string; reason: string }[];
}

export interface LoadKorMedMcqaOptions extends Pick<ReadTableOptions, 'encoding'> {
  /** Keep only these subsets (files of other subsets are not read). */
  subsets?: readonly McqaSubset[];
  /** Keep only these splits. */
  splits?: readonly string[];
  /** Subset for a file whose name does not say it. */
  subset?: McqaSubset;
}

/** Subset and split named by a file's path, e.g. `doctor-test.csv`, `nurse/dev-0000.parquet`, `pharm.csv`. */
export function mcqaFileRole(file: string): { subset: McqaSubset | null; split: string | null } {
  const parts = path.resolve(file).split(path.sep).filter(Boolean);
  const base = parts[parts.length - 1].replace(/\.(csv|tsv|parquet|jsonl?)$/i, '');
  const tokens = [base, ...parts.slice(0, -1).reverse()].map((part) => part.toLowerCase());
  let subset: McqaSubset | null = null;
  let split: string | null = null;
  for (const token of tokens) {
    for (const word of token.split(/[-_.]/)) {
      if (subset === null && (MCQA_SUBSETS as readonly string[]).includes(word)) subset = word as McqaSubset;
      if (split === null && (MCQA_SPLITS as readonly string[]).includes(word)) split = word;
    }
    if (subset !== null) break;
  }
  return { subset, split };
}

/** Parse an `answer` cell by the rule at the top of this module. */
export function parseMcqaAnswer(value: unknown): McqaLetter | null {
  const text = typeof value === 'string' ? value.trim() : typeof value === 'number' || typeof value === 'bigint' ? String(value) : null;
  if (text === null) return null;
  if (/^[1-5]$/.test(text)) return MCQA_LETTERS[Number(text) - 1];
  if (/^[A-Ea-e]$/.test(text)) return text.toUpperCase() as McqaLetter;
  return null;
}

function cellText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return null;
}

function optionalInt(value: unknown): number | null {
  const text = cellText(value)?.trim();
  if (!text) return null;
  return /^-?\d+$/.test(text) ? Number(text) : null;
}

function questionFromRow(file: string, row: TableRow, subset: McqaSubset, split: string | null): McqaQuestion {
  const where = (field: string) => (row.line !== null ? { file, line: row.line, field } : { file, field });
  const suffix = row.line === null ? ` (row ${row.row})` : '';
  const required = (field: string): string => {
    const text = cellText(row.values[field]);
    if (text === null || text.trim() === '') throw new InputError(`${field} is empty${suffix}`, where(field));
    return text;
  };
  const question = required('question').trim();
  const options = Object.create(null) as Record<McqaLetter, string>;
  for (const letter of MCQA_LETTERS) options[letter] = required(letter).trim();
  const answer = parseMcqaAnswer(row.values.answer);
  if (answer === null) {
    const shown = cellText(row.values.answer);
    throw new InputError(
      `answer must be 1–5 (1 = A) or a letter A–E, got ${shown === null || shown.trim() === '' ? 'nothing' : `'${shown}'`}${suffix}`,
      where('answer'),
    );
  }
  const subject = cellText(row.values.subject)?.trim() || null;
  const cot = cellText(row.values.cot)?.trim() || null;
  return {
    subset,
    split,
    question,
    options,
    answer,
    subject,
    year: optionalInt(row.values.year),
    period: optionalInt(row.values.period),
    qNumber: optionalInt(row.values.q_number),
    cot,
    source: { file, line: row.line, row: row.row },
    cells: row.values,
  };
}

const DATA_EXTENSIONS = /\.(csv|tsv|parquet)$/i;

function listDataFiles(dir: string, depth: number): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && depth > 0) found.push(...listDataFiles(full, depth - 1));
    else if (entry.isFile() && DATA_EXTENSIONS.test(entry.name)) found.push(full);
  }
  return found;
}

/** Read one KorMedMCQA file (CSV or Parquet). */
export async function readKorMedMcqaFile(file: string, options: LoadKorMedMcqaOptions = {}): Promise<McqaQuestion[]> {
  const role = mcqaFileRole(file);
  const subset = role.subset ?? options.subset;
  if (subset === undefined || subset === null) {
    throw new InputError(`cannot tell the subset from the file name; name it like doctor-test.csv or pass subset (${MCQA_SUBSETS.join(', ')})`, { file });
  }
  const table = await readTable(file, { encoding: options.encoding });
  for (const column of ['question', ...MCQA_LETTERS, 'answer']) {
    if (!table.columns.includes(column)) {
      throw new InputError(`has no '${column}' column (KorMedMCQA needs question, A, B, C, D, E, answer; found ${table.columns.join(', ')})`, {
        file,
        field: column,
      });
    }
  }
  return table.rows.map((row) => questionFromRow(file, row, subset, role.split));
}

/**
 * Load KorMedMCQA from a folder (searched three levels deep for .csv/.parquet files) or from a list
 * of files. Every data file found must say its subset in its name or folder.
 */
export async function loadKorMedMcqa(dirOrFiles: string | readonly string[], options: LoadKorMedMcqaOptions = {}): Promise<KorMedMcqaDataset> {
  let files: string[];
  if (typeof dirOrFiles === 'string') {
    let isDir: boolean;
    try {
      isDir = statSync(dirOrFiles).isDirectory();
    } catch (error) {
      throw new InputError(`cannot read: ${(error as Error).message}`, { file: dirOrFiles }, { cause: error });
    }
    files = isDir ? listDataFiles(dirOrFiles, 3) : [dirOrFiles];
    if (files.length === 0) throw new InputError('has no .csv or .parquet files', { file: dirOrFiles });
  } else {
    files = [...dirOrFiles];
    if (files.length === 0) throw new UsageError('no KorMedMCQA files given');
  }
  const questions: McqaQuestion[] = [];
  const read: KorMedMcqaDataset['files'] = [];
  const skipped: KorMedMcqaDataset['skipped'] = [];
  for (const file of files) {
    const role = mcqaFileRole(file);
    const subset = role.subset ?? options.subset ?? null;
    if (subset !== null && options.subsets && !options.subsets.includes(subset)) {
      skipped.push({ file, reason: `subset ${subset} not in ${options.subsets.join(', ')}` });
      continue;
    }
    if (options.splits && !(role.split !== null && options.splits.includes(role.split))) {
      skipped.push({ file, reason: `split ${role.split ?? '(unknown)'} not in ${options.splits.join(', ')}` });
      continue;
    }
    const fileQuestions = await readKorMedMcqaFile(file, options);
    questions.push(...fileQuestions);
    read.push({ file, subset: fileQuestions[0]?.subset ?? (subset as McqaSubset), split: role.split, count: fileQuestions.length });
  }
  return { questions, files: read, skipped };
}

// ---------------------------------------------------------------------------------------------------
// Prompt

export interface McqaPrompt {
  /** Study 002's instruction. */
  instruction: string;
  /** The question, its options `A. …` to `E. …`, and the cue `정답:` (study 002's `question` field). */
  input: string;
  /** The gold letter. */
  answer: McqaLetter;
  /** Instruction and input as one user message: `instruction + '\n\n' + input`. */
  text: string;
}

/** Study 002's instruction format for one question. */
export function formatMcqaPrompt(question: Pick<McqaQuestion, 'question' | 'options' | 'answer'>): McqaPrompt {
  const lines = [question.question.trim(), ...MCQA_LETTERS.map((letter) => `${letter}. ${question.options[letter].trim()}`), '정답:'];
  const input = lines.join('\n');
  return { instruction: MCQA_INSTRUCTION, input, answer: question.answer, text: `${MCQA_INSTRUCTION}\n\n${input}` };
}

// ---------------------------------------------------------------------------------------------------
// EDA

export interface LengthStats {
  count: number;
  /** In characters (Unicode code points). */
  min: number;
  median: number;
  max: number;
  mean: number;
}

/** Length statistics in characters; the median of an even count is the mean of the middle two (as numpy). */
export function lengthStats(texts: readonly string[]): LengthStats {
  if (texts.length === 0) return { count: 0, min: 0, median: 0, max: 0, mean: 0 };
  const lengths = texts.map((t) => [...t].length).sort((a, b) => a - b);
  const n = lengths.length;
  const median = n % 2 === 1 ? lengths[(n - 1) / 2] : (lengths[n / 2 - 1] + lengths[n / 2]) / 2;
  return { count: n, min: lengths[0], median, max: lengths[n - 1], mean: lengths.reduce((a, b) => a + b, 0) / n };
}

export interface McqaSubsetSummary {
  subset: McqaSubset;
  count: number;
  /** How many questions have each gold letter. */
  answers: Record<McqaLetter, number>;
  /** Length of the full prompt (instruction + question + options + `정답:`). */
  promptLength: LengthStats;
  /** Length of the question stem alone. */
  questionLength: LengthStats;
}

/** Study 002's EDA: per subset and overall, question counts, gold-letter counts and length statistics. */
export function summarizeKorMedMcqa(questions: readonly McqaQuestion[]): { subsets: McqaSubsetSummary[]; overall: Omit<McqaSubsetSummary, 'subset'> } {
  const summarize = (items: readonly McqaQuestion[]): Omit<McqaSubsetSummary, 'subset'> => {
    const answers = { A: 0, B: 0, C: 0, D: 0, E: 0 } as Record<McqaLetter, number>;
    for (const q of items) answers[q.answer]++;
    return {
      count: items.length,
      answers,
      promptLength: lengthStats(items.map((q) => formatMcqaPrompt(q).text)),
      questionLength: lengthStats(items.map((q) => q.question)),
    };
  };
  const subsets = MCQA_SUBSETS.map((subset) => ({ subset, items: questions.filter((q) => q.subset === subset) }))
    .filter(({ items }) => items.length > 0)
    .map(({ subset, items }) => ({ subset, ...summarize(items) }));
  return { subsets, overall: summarize(questions) };
}

/** `file:line` (or row) of a question, for messages and error tables. */
export function describeQuestion(question: McqaQuestion): string {
  return describeRow(question.source.file, question.source);
}
