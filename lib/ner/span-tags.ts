/**
 * Character spans ↔ syllable BIO tags, so a span data set (study 000's KBMC JSONL: `{text, entities:
 * [{label, start, end}]}`, half-open UTF-16 offsets) can train and be scored by the syllable taggers
 * and encoders (one tag per syllable as KLUE NER lists them: every code point, spaces included), and
 * their predictions can be scored again as spans (`scoreSpans`).
 *
 * Spans → tags: the first syllable of a span is `B-label`, the rest (spaces inside it too) `I-label`.
 * BIO cannot hold overlapping spans, so they are an error naming both, never a silent drop.
 * Tags → spans: seqeval's default chunking (`getEntities`, so a stray `I-X` opens an entity as conlleval
 * reads it), with offsets back in UTF-16 units.
 */
import { InputError, type InputLocation } from '../errors.js';
import { getEntities } from './scheme.js';

/** A labelled span of a text: half-open character offsets `[start, end)`. */
export interface Span {
  label: string;
  /** First character, 0-based. */
  start: number;
  /** One past the last character. */
  end: number;
  /** The surface text, when known (checked against the document text by `checkSpans`). */
  text?: string;
}

export interface SyllableTagging {
  /** The text's code points in order (`syllables.join('') === text`). */
  syllables: string[];
  /** One BIO tag per syllable. */
  tags: string[];
}

/** UTF-16 offset of each syllable's start, plus the text's length at the end. */
function syllableOffsets(syllables: readonly string[]): number[] {
  const offsets = [0];
  for (const syllable of syllables) offsets.push(offsets[offsets.length - 1] + syllable.length);
  return offsets;
}

/** Syllable BIO tags of `text` from its spans (checked: inside the text, on syllable boundaries, no overlap). */
export function spansToSyllableTags(text: string, spans: readonly Span[], where: InputLocation = {}): SyllableTagging {
  const syllables = Array.from(text);
  const offsets = syllableOffsets(syllables);
  const syllableAt = new Map(offsets.map((offset, index) => [offset, index]));
  const tags = new Array<string>(syllables.length).fill('O');
  const owner = new Array<number>(syllables.length).fill(-1);
  spans.forEach((span, index) => {
    const at = { ...where, field: `${where.field ?? 'entities'}[${index}]` };
    const first = syllableAt.get(span.start);
    const end = syllableAt.get(span.end);
    if (first === undefined || end === undefined || end <= first) {
      throw new InputError(`span ${span.start}..${span.end} does not lie on character boundaries inside the text (${text.length} UTF-16 units)`, at);
    }
    for (let s = first; s < end; s++) {
      if (owner[s] >= 0) {
        const other = spans[owner[s]];
        throw new InputError(
          `span ${span.label} ${span.start}..${span.end} overlaps span ${other.label} ${other.start}..${other.end} (entities[${owner[s]}]); BIO tags cannot hold overlapping entities`,
          at,
        );
      }
      owner[s] = index;
      tags[s] = `${s === first ? 'B' : 'I'}-${span.label}`;
    }
  });
  return { syllables, tags };
}

/** Spans (UTF-16 offsets into `syllables.join('')`, with their text) from one BIO tag per syllable. */
export function syllableTagsToSpans(syllables: readonly string[], tags: readonly string[]): Span[] {
  if (syllables.length !== tags.length) throw new Error(`${syllables.length} syllables but ${tags.length} tags`);
  const offsets = syllableOffsets(syllables);
  const text = syllables.join('');
  return getEntities(tags).map((entity) => {
    const start = offsets[entity.start];
    const end = offsets[entity.end];
    return { label: entity.type, start, end, text: text.slice(start, end) };
  });
}
