/**
 * Long texts, as GLiNER2's `extract_long` handles them (fastino-ai/GLiNER2, gliner2/inference/chunking.py,
 * re-stated): the text is cut into windows of at most 384 words (its `chunk_size`), neighbouring windows
 * sharing 64 words (`chunk_overlap`), words being the same splitter's words of the text as given; each
 * window is the text's slice from its first word's start to its last word's end and is extracted on
 * its own; its entities' offsets are moved back into the text, and per label the entities of all
 * windows are merged best score first, dropping any that overlaps one already kept (so a mention
 * seen by two windows is kept once, with the better score), then put back in text order.
 *
 * One difference, said where it applies: GLiNER2's encoder takes any length, hanlab's takes the
 * model's limit (512 tokens), and 384 Korean words are often more than that. A text whose windows do
 * not fit is cut again into narrower windows, the overlap keeping GLiNER2's proportion (64 of 384).
 */
import { splitWords } from './gliner2-input.js';

/** GLiNER2's `chunk_size` and `chunk_overlap` (words). */
export const WINDOW_WORDS = 384;
export const WINDOW_OVERLAP = 64;

export interface TextWindow {
  /** The text's slice `[start, end)`. */
  text: string;
  start: number;
  end: number;
  /** The window's words among the text's words: `[firstWord, endWord)`. */
  firstWord: number;
  endWord: number;
}

/** Windows of `size` words, neighbours sharing `overlap` words; the last one ends at the text's last word. */
export function splitIntoWindows(text: string, size: number = WINDOW_WORDS, overlap: number = WINDOW_OVERLAP): TextWindow[] {
  if (!(Number.isSafeInteger(size) && size > 0)) throw new RangeError(`window size must be a positive integer, got ${size}`);
  if (!(Number.isSafeInteger(overlap) && overlap >= 0 && overlap < size)) throw new RangeError(`window overlap must be an integer in [0, ${size}), got ${overlap}`);
  const words = splitWords(text);
  if (words.length === 0) return [{ text, start: 0, end: text.length, firstWord: 0, endWord: 0 }];
  const windows: TextWindow[] = [];
  for (let first = 0; ; first += size - overlap) {
    const endWord = Math.min(first + size, words.length);
    const start = words[first].start;
    const end = words[endWord - 1].end;
    windows.push({ text: text.slice(start, end), start, end, firstWord: first, endWord });
    if (endWord === words.length) return windows;
  }
}

/** The overlap that keeps GLiNER2's proportion (64 of 384 words) for windows of `size` words. */
export function proportionalOverlap(size: number, windowWords: number = WINDOW_WORDS, overlap: number = WINDOW_OVERLAP): number {
  return Math.min(size - 1, Math.floor((overlap * size) / windowWords));
}

export interface WindowSpan {
  label: string;
  start: number;
  end: number;
  text: string;
  score: number;
}

/**
 * One text's entities from its windows' (offsets in each window): moved into the text, merged per
 * label best score first without overlaps, in text order (start, end, then `labels`' order).
 */
export function mergeWindowEntities<T extends WindowSpan>(text: string, windows: readonly TextWindow[], perWindow: readonly (readonly T[])[], labels: readonly string[]): T[] {
  const moved = windows.flatMap((window, w) => perWindow[w].map((e) => ({ ...e, start: e.start + window.start, end: e.end + window.start, text: text.slice(e.start + window.start, e.end + window.start) })));
  const kept: T[] = [];
  for (const label of labels) {
    const chosen: T[] = [];
    // Array.prototype.sort is stable: equal scores keep window order, as Python's sorted.
    for (const span of moved.filter((e) => e.label === label).sort((a, b) => b.score - a.score)) {
      if (chosen.every((k) => span.end <= k.start || span.start >= k.end)) chosen.push(span);
    }
    kept.push(...chosen);
  }
  const order = new Map(labels.map((l, i) => [l, i]));
  return kept.sort((a, b) => a.start - b.start || a.end - b.end || (order.get(a.label) as number) - (order.get(b.label) as number));
}
