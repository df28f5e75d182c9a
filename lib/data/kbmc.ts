/**
 * KBMC (Korean Bio-Medical Corpus, SungJoo/KBMC on the Hugging Face Hub, Apache-2.0): medical NER with
 * the entity types Disease, Body and Treatment. As published, `KBMC.tsv` has two columns, `Sentence`
 * (morphemes separated by spaces: `전신 적 다한증 은 …`) and `Tags` (one tag per morpheme, separated by
 * spaces, written label-first: `Disease-B Disease-I Disease-I O …`). Column names are matched without
 * regard to case; the usual prefix form (`B-Disease`) is read as well.
 *
 * Tags become spans `{label, start, end}`: character offsets into the sentence as written (end
 * exclusive), so a span's text is `sentence.slice(start, end)`, spaces between its morphemes included.
 * An `-I` tag that does not continue an entity of its label starts a new entity, as conlleval and
 * seqeval's default mode read it; every such tag is listed in `irregularTags`, never fixed silently.
 */
import { InputError } from '../errors.js';
import type { TextEncodingName } from './encoding.js';
import { readTable, type ReadTableOptions, type TableRow } from './tabular.js';

export interface KbmcSpan {
  label: string;
  /** Character offset (UTF-16 index) of the first character. */
  start: number;
  /** Offset just past the last character. */
  end: number;
}

export interface IrregularTag {
  /** 0-based index of the morpheme. */
  tokenIndex: number;
  tag: string;
  /** The tag before it (`O` at the start of the sentence). */
  previous: string;
}

export interface KbmcSentence {
  sentence: string;
  tokens: string[];
  tags: string[];
  spans: KbmcSpan[];
  source: { file: string; line: number | null; row: number };
}

export interface KbmcDataset {
  file: string;
  encoding: TextEncodingName;
  sentences: KbmcSentence[];
  /** Entity labels found, sorted. */
  labels: string[];
  irregularTags: (IrregularTag & { file: string; line: number | null; row: number })[];
}

export type ParsedTag = { prefix: 'B' | 'I'; label: string } | { prefix: 'O' };

/** Read one tag: `O`, `Label-B` / `Label-I` (KBMC) or `B-Label` / `I-Label`; null if neither. */
export function parseKbmcTag(tag: string): ParsedTag | null {
  if (tag === 'O') return { prefix: 'O' };
  const prefixed = /^([BI])-(.+)$/.exec(tag);
  if (prefixed) return { prefix: prefixed[1] as 'B' | 'I', label: prefixed[2] };
  const suffixed = /^(.+)-([BI])$/.exec(tag);
  if (suffixed) return { prefix: suffixed[2] as 'B' | 'I', label: suffixed[1] };
  return null;
}

/** Morphemes of a sentence (split on white space, as published) with where each starts. */
export function splitMorphemes(sentence: string): { tokens: string[]; offsets: number[] } {
  const tokens: string[] = [];
  const offsets: number[] = [];
  for (const match of sentence.matchAll(/\S+/g)) {
    tokens.push(match[0]);
    offsets.push(match.index as number);
  }
  return { tokens, offsets };
}

/**
 * Spans from one tag per token. `offsets[i]` is where token i starts in the sentence. Throws a plain
 * Error for a tag that is not BIO (callers add the file and line).
 */
export function kbmcTagsToSpans(tokens: readonly string[], tags: readonly string[], offsets: readonly number[]): { spans: KbmcSpan[]; irregular: IrregularTag[] } {
  const spans: KbmcSpan[] = [];
  const irregular: IrregularTag[] = [];
  let open: KbmcSpan | null = null;
  for (let i = 0; i < tags.length; i++) {
    const parsed = parseKbmcTag(tags[i]);
    if (parsed === null) throw new Error(`tag '${tags[i]}' of morpheme ${i + 1} ('${tokens[i]}') is not O, Label-B or Label-I`);
    const tokenEnd = offsets[i] + tokens[i].length;
    if (parsed.prefix === 'O') {
      open = null;
      continue;
    }
    if (parsed.prefix === 'I' && open !== null && open.label === parsed.label) {
      open.end = tokenEnd;
      continue;
    }
    if (parsed.prefix === 'I') irregular.push({ tokenIndex: i, tag: tags[i], previous: i === 0 ? 'O' : tags[i - 1] });
    open = { label: parsed.label, start: offsets[i], end: tokenEnd };
    spans.push(open);
  }
  return { spans, irregular };
}

function findColumn(columns: string[], name: string): string | undefined {
  return columns.find((c) => c === name) ?? columns.find((c) => c.toLowerCase() === name.toLowerCase());
}

function sentenceFromRow(file: string, row: TableRow, sentenceColumn: string, tagsColumn: string): { sentence: KbmcSentence; irregular: IrregularTag[] } {
  const at = (field: string) => (row.line !== null ? { file, line: row.line, field } : { file, field });
  const suffix = row.line === null ? ` (row ${row.row})` : '';
  const sentenceValue = row.values[sentenceColumn];
  const tagsValue = row.values[tagsColumn];
  if (typeof sentenceValue !== 'string' || sentenceValue.trim() === '') throw new InputError(`sentence is empty${suffix}`, at(sentenceColumn));
  if (typeof tagsValue !== 'string' || tagsValue.trim() === '') throw new InputError(`tags are empty${suffix}`, at(tagsColumn));
  const { tokens, offsets } = splitMorphemes(sentenceValue);
  const tags = tagsValue.trim().split(/\s+/);
  if (tokens.length !== tags.length) {
    throw new InputError(`${tokens.length} morphemes but ${tags.length} tags${suffix}`, at(tagsColumn));
  }
  let converted: { spans: KbmcSpan[]; irregular: IrregularTag[] };
  try {
    converted = kbmcTagsToSpans(tokens, tags, offsets);
  } catch (error) {
    throw new InputError(`${(error as Error).message}${suffix}`, at(tagsColumn), { cause: error });
  }
  return {
    sentence: { sentence: sentenceValue, tokens, tags, spans: converted.spans, source: { file, line: row.line, row: row.row } },
    irregular: converted.irregular,
  };
}

export interface ReadKbmcOptions extends Pick<ReadTableOptions, 'encoding' | 'quote' | 'format'> {
  /** Column names, when not `Sentence` / `Tags`. */
  sentenceColumn?: string;
  tagsColumn?: string;
}

/** Read a KBMC-style file (TSV as published; CSV, JSON Lines or Parquet with the same columns also work). */
export async function readKbmc(file: string, options: ReadKbmcOptions = {}): Promise<KbmcDataset> {
  const table = await readTable(file, { format: options.format, encoding: options.encoding, quote: options.quote });
  const sentenceColumn = findColumn(table.columns, options.sentenceColumn ?? 'Sentence');
  const tagsColumn = findColumn(table.columns, options.tagsColumn ?? 'Tags');
  if (sentenceColumn === undefined || tagsColumn === undefined) {
    const missing = sentenceColumn === undefined ? options.sentenceColumn ?? 'Sentence' : options.tagsColumn ?? 'Tags';
    throw new InputError(`has no '${missing}' column (found ${table.columns.join(', ') || 'none'})`, { file, field: missing });
  }
  const sentences: KbmcSentence[] = [];
  const irregularTags: KbmcDataset['irregularTags'] = [];
  const labels = new Set<string>();
  for (const row of table.rows) {
    const { sentence, irregular } = sentenceFromRow(file, row, sentenceColumn, tagsColumn);
    sentences.push(sentence);
    for (const span of sentence.spans) labels.add(span.label);
    for (const tag of irregular) irregularTags.push({ ...tag, file, line: row.line, row: row.row });
  }
  return { file, encoding: table.encoding, sentences, labels: [...labels].sort(), irregularTags };
}
