/**
 * What GLiNER2 (fastino-ai/GLiNER2) feeds its encoder for entity extraction, re-stated from its
 * processor:
 *
 * - the text ends in `.`, `!` or `?` (a `.` is appended otherwise; an empty text becomes `.`);
 * - words: the lower-cased text split into URLs, e-mail addresses, @handles, runs of word characters
 *   joined by `-` or `_`, and single other non-space characters, each with its character offsets;
 * - the schema prompt `( [P] entities ( [E] label₁ [E] label₂ … ) ) [SEP_TEXT]` followed by the words;
 *   every prompt item and every word is tokenised on its own, without `[CLS]`/`[SEP]`;
 * - a word is represented by its first sub-token, the prompt by its `[P]` token and each label by its
 *   `[E]` token.
 *
 * Offsets are JavaScript string positions (UTF-16 code units), as `hanlab eval spans` reads them.
 */
import { InputError } from '../errors.js';
import type { EncoderTokenizer } from './tokenizer.js';

export const PROMPT_TOKEN = '[P]';
export const ENTITY_TOKEN = '[E]';
export const TEXT_SEPARATOR = '[SEP_TEXT]';

export interface Word {
  text: string;
  start: number;
  end: number;
}

/**
 * GLiNER2's word splitter (case-insensitive): URLs, e-mail addresses, @handles, `\w+` runs joined by
 * `-`/`_`, else one non-space character. `\w` is Python's Unicode word character (letters, digits,
 * underscore; Hangul syllables are letters).
 */
const WORD_PATTERN = /(?:https?:\/\/\S+|www\.\S+)|[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}|@[a-z0-9_]+|[\p{L}\p{N}_]+(?:[-_][\p{L}\p{N}_]+)*|\S/giu;

/** Words of `text` with their offsets; the word texts are lower-cased as GLiNER2 feeds them. */
export function splitWords(text: string): Word[] {
  const lower = text.toLowerCase();
  // Lower-casing changes the length of a few characters (İ → i̇); offsets must stay in `text`.
  const source = lower.length === text.length ? lower : text;
  const words: Word[] = [];
  for (const match of source.matchAll(WORD_PATTERN)) {
    const start = match.index as number;
    words.push({ text: match[0].toLowerCase(), start, end: start + match[0].length });
  }
  return words;
}

/** GLiNER2's normalisation of an input text before splitting: it must end in `.`, `!` or `?`. */
export function normaliseText(text: string): string {
  if (text === '') return '.';
  return /[.!?]$/.test(text) ? text : text + '.';
}

/** The schema prompt for entity `labels`, item by item (each is tokenised on its own). */
export function entityPrompt(labels: readonly string[]): string[] {
  return ['(', PROMPT_TOKEN, 'entities', '(', ...labels.flatMap((label) => [ENTITY_TOKEN, label]), ')', ')', TEXT_SEPARATOR];
}

/** One text ready for the encoder, with the positions the heads read. */
export interface Gliner2Sample {
  /** The text as given. */
  text: string;
  /** The words of the normalised text (offsets are valid in `text` except a trailing added `.`). */
  words: Word[];
  ids: Int32Array;
  /** Token position of `[P]`. */
  prompt: number;
  /** Token position of each label's `[E]`. */
  fields: number[];
  /** Token position of each word's first sub-token. */
  wordStarts: number[];
}

/**
 * Encodes texts for entity `labels`. Throws one clear line for a label list that is empty or holds a
 * blank or repeated label, and for a text longer than `maxTokens` with its prompt (training and the
 * bench take texts whole; extraction windows long texts, gliner2-windows.ts).
 */
export async function encodeEntityInputs(tokenizer: EncoderTokenizer, texts: readonly string[], labels: readonly string[], maxTokens: number): Promise<Gliner2Sample[]> {
  const samples = await encodeEntityTexts(tokenizer, texts, labels);
  samples.forEach((sample, index) => {
    if (sample.ids.length > maxTokens) {
      throw new InputError(
        `text ${index + 1} is ${sample.ids.length} tokens with the entity prompt, more than the model's ${maxTokens}; split it into shorter texts (sentences or paragraphs)`,
        { line: index + 1 },
      );
    }
  });
  return samples;
}

/** Tokens of a sample's schema prompt (everything before its first word). */
export function promptLength(sample: Gliner2Sample): number {
  return sample.wordStarts.length ? sample.wordStarts[0] : sample.ids.length;
}

/** Encodes texts for entity `labels` whatever their length (the labels are checked as above). */
export async function encodeEntityTexts(tokenizer: EncoderTokenizer, texts: readonly string[], labels: readonly string[]): Promise<Gliner2Sample[]> {
  checkLabels(labels);
  const prompt = entityPrompt(labels);
  const splits = texts.map((text) => splitWords(normaliseText(text)));
  const distinct = [...new Set([...prompt, ...splits.flatMap((words) => words.map((w) => w.text))])];
  const pieces = await tokenizer.pieces(distinct);
  const idsOf = new Map(distinct.map((item, i) => [item, pieces[i]]));
  const marker = (token: string) => {
    const ids = idsOf.get(token) as Int32Array;
    if (ids.length !== 1) throw new InputError(`the tokenizer does not have GLiNER2's ${token} token (is this a GLiNER2 model folder?)`, { file: tokenizer.file });
    return ids[0];
  };
  const promptId = marker(PROMPT_TOKEN);
  const entityId = marker(ENTITY_TOKEN);
  marker(TEXT_SEPARATOR);
  const unknown = tokenizer.tokenToId('[UNK]') ?? 0;
  return texts.map((text, index) => {
    const ids: number[] = [];
    let promptAt = -1;
    const fields: number[] = [];
    for (const item of prompt) {
      for (const id of idsOf.get(item) as Int32Array) {
        if (id === promptId) promptAt = ids.length;
        if (id === entityId) fields.push(ids.length);
        ids.push(id);
      }
    }
    const wordStarts: number[] = [];
    for (const word of splits[index]) {
      const wordIds = idsOf.get(word.text) as Int32Array;
      wordStarts.push(ids.length);
      // A word the tokenizer turns into nothing would shift every later word; it becomes [UNK] instead.
      if (wordIds.length === 0) ids.push(unknown);
      else for (const id of wordIds) ids.push(id);
    }
    return { text, words: splits[index], ids: Int32Array.from(ids), prompt: promptAt, fields, wordStarts };
  });
}

export function checkLabels(labels: readonly string[]): void {
  if (labels.length === 0) throw new InputError('no entity labels given (e.g. --labels Disease,Body,Treatment)', { field: 'labels' });
  const seen = new Set<string>();
  for (const label of labels) {
    if (label.trim() === '') throw new InputError('an entity label is empty', { field: 'labels' });
    if (seen.has(label)) throw new InputError(`entity label "${label}" is given twice`, { field: 'labels' });
    seen.add(label);
  }
}
