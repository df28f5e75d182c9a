/**
 * From data to encoder inputs and back. Texts become token ids with a label (sequence
 * classification). Syllable-tagged sentences (KLUE NER: one tag per syllable, spaces are syllables)
 * become token ids with one tag per token, through the tokenizer's character offsets:
 *
 * - a token covers the syllables of its offset span (leading/trailing whitespace left out);
 * - the first token that covers a syllable run is trained with the tag of the run's first syllable;
 *   later tokens starting inside the same run (byte or `▁` pieces) and special tokens are not trained;
 * - predictions go back to syllables: the run's first syllable takes the token's tag, the rest of the
 *   run continues it (`B-X`/`I-X` → `I-X`, else `O`), and a syllable no token covers (a space) is
 *   `I-X` between two parts of one entity (KLUE tags spaces inside entities), else `O`.
 *
 * So the predictions are syllable tags, scored by `hanlab eval ner` and the KLUE figures exactly like
 * the syllable taggers' (lib/ner, lib/metrics).
 */
import { InputError } from '../errors.js';
import type { EncodedExample } from './batching.js';
import { IGNORED_TAG } from './encoder-model.js';
import type { EncodedText, EncoderTokenizer } from '../models/tokenizer.js';
import type { TaggedSentence } from './examples.js';

/** How one sentence's tokens and syllables correspond. */
export interface SyllableAlignment {
  /** Per syllable: the first token covering it, or −1 (whitespace, dropped by the tokenizer, truncated). */
  tokenOf: Int32Array;
  /** Per token: the syllable whose run it starts (trained, and predicted from), or −1. */
  runStart: Int32Array;
}

const WHITESPACE = /^\s+$/u;

/** Aligns one encoded sentence with its syllables (`syllables.join('')` was what was encoded). */
export function alignSyllables(syllables: readonly string[], encoded: EncodedText): SyllableAlignment {
  const charToSyllable: number[] = [];
  const isSpace: boolean[] = [];
  syllables.forEach((syllable, s) => {
    for (const char of syllable) {
      charToSyllable.push(s);
      isSpace.push(WHITESPACE.test(char));
    }
  });
  const tokenOf = new Int32Array(syllables.length).fill(-1);
  const runStart = new Int32Array(encoded.ids.length).fill(-1);
  encoded.offsets.forEach(([start, end], token) => {
    if (encoded.special[token]) return;
    let a = start;
    let b = Math.min(end, charToSyllable.length);
    while (a < b && isSpace[a]) a++;
    while (b > a && isSpace[b - 1]) b--;
    if (a >= b) return;
    const first = charToSyllable[a];
    const last = charToSyllable[b - 1];
    if (tokenOf[first] === -1) runStart[token] = first;
    for (let s = first; s <= last; s++) if (tokenOf[s] === -1) tokenOf[s] = token;
  });
  return { tokenOf, runStart };
}

/** Tag id per token for training: the run's first syllable's tag, −1 where not trained. */
export function tokenTags(alignment: SyllableAlignment, syllableTags: ArrayLike<number>): Int32Array {
  return Int32Array.from(alignment.runStart, (s) => (s >= 0 ? syllableTags[s] : IGNORED_TAG));
}

/** Syllable tags from per-token predicted tags (see the module comment). */
export function projectToSyllables(alignment: SyllableAlignment, tokenPredictions: readonly string[]): string[] {
  const { tokenOf, runStart } = alignment;
  const tags = Array.from(tokenOf, (token, s): string | null => {
    if (token < 0) return null;
    const tag = tokenPredictions[token];
    if (runStart[token] === s) return tag;
    return tag.startsWith('B-') || tag.startsWith('I-') ? `I-${tag.slice(2)}` : 'O';
  });
  return tags.map((tag, s) => {
    if (tag !== null) return tag;
    let before = s - 1;
    while (before >= 0 && tags[before] === null) before--;
    let after = s + 1;
    while (after < tags.length && tags[after] === null) after++;
    const previous = before >= 0 ? tags[before] : null;
    const next = after < tags.length ? tags[after] : null;
    if (previous && next && previous !== 'O' && next === `I-${previous.slice(2)}`) return next;
    return 'O';
  });
}

/** Texts as token ids (with label ids when given), truncated to `maxLength` tokens. */
export async function encodeTextsForEncoder(tokenizer: EncoderTokenizer, texts: readonly string[], maxLength: number, labels?: readonly number[]): Promise<EncodedExample[]> {
  const encoded = await tokenizer.encode(texts.map((t) => t.normalize('NFC')), maxLength);
  return encoded.map((e, row) => (labels ? { ids: e.ids, label: labels[row] } : { ids: e.ids }));
}

export interface EncodedSentences {
  examples: EncodedExample[];
  alignments: SyllableAlignment[];
  /** Syllables no token covers although they are not whitespace (truncation, dropped characters). */
  uncovered: number;
}

/**
 * Syllable sentences as token ids with per-token tags (when `tags` is given: the tag names, index =
 * id). Every sentence must keep at least one trained token.
 */
export async function encodeSentencesForEncoder(
  tokenizer: EncoderTokenizer,
  sentences: readonly (TaggedSentence | { id?: string; tokens: readonly string[] })[],
  maxLength: number,
  tags?: readonly string[],
  source?: string,
): Promise<EncodedSentences> {
  const encoded = await tokenizer.encode(sentences.map((s) => s.tokens.join('')), maxLength);
  const tagIndex = tags ? new Map(tags.map((tag, id) => [tag, id])) : null;
  let uncovered = 0;
  const alignments: SyllableAlignment[] = [];
  const examples = encoded.map((e, row): EncodedExample => {
    const sentence = sentences[row];
    const alignment = alignSyllables(sentence.tokens, e);
    alignments.push(alignment);
    alignment.tokenOf.forEach((token, s) => {
      if (token < 0 && !WHITESPACE.test(sentence.tokens[s])) uncovered++;
    });
    if (!tagIndex) return { ids: e.ids };
    const where = { file: source, field: sentence.id ? `sentence ${sentence.id}` : `sentence #${row + 1}` };
    const gold = (sentence as TaggedSentence).tags;
    if (!gold || gold.length !== sentence.tokens.length) throw new InputError(`has ${sentence.tokens.length} syllables but ${gold?.length ?? 0} tags`, where);
    const ids = gold.map((tag, position) => {
      const id = tagIndex.get(tag);
      if (id === undefined) throw new InputError(`tag "${tag}" at syllable ${position + 1} is not one of ${tags!.join(' ')}`, where);
      return id;
    });
    const perToken = tokenTags(alignment, ids);
    if (!perToken.some((t) => t >= 0)) throw new InputError('has no syllable the tokenizer covers (nothing to train on)', where);
    return { ids: e.ids, tags: perToken };
  });
  return { examples, alignments, uncovered };
}
