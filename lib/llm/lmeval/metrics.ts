/**
 * lm-eval's per-document metrics and their aggregation, re-stated: `exact_match` as
 * `exact_match_hf_evaluate` computes it (Python regexes removed first, then lower case, then ASCII
 * punctuation and digits dropped, compared as numpy strings), `acc` / `acc_norm` of a multiple-choice
 * document from its choices' log-likelihoods, and `mean` with its standard error (`mean_stderr`).
 */
import { pythonSub } from './python-text.js';

export const EXACT_MATCH_OPTIONS = ['regexes_to_ignore', 'ignore_case', 'ignore_punctuation', 'ignore_numbers'] as const;

export interface ExactMatchOptions {
  regexesToIgnore?: readonly string[];
  ignoreCase?: boolean;
  ignorePunctuation?: boolean;
  ignoreNumbers?: boolean;
}

/** Python's `string.punctuation`. */
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
const DIGITS = new Set('0123456789');

/** numpy's fixed-width unicode arrays (`<U`) drop trailing NULs when a string is stored in them. */
function numpyString(text: string): string {
  return text.replace(/\u0000+$/u, '');
}

function normalise(text: string, options: ExactMatchOptions): string {
  let value = text;
  if (options.regexesToIgnore) {
    for (const pattern of options.regexesToIgnore) value = numpyString(pythonSub(pattern, '', value));
  } else {
    value = numpyString(value);
  }
  if (options.ignoreCase) value = numpyString(value.toLowerCase());
  if (options.ignorePunctuation) value = numpyString([...value].filter((char) => !PUNCTUATION.has(char)).join(''));
  if (options.ignoreNumbers) value = numpyString([...value].filter((char) => !DIGITS.has(char)).join(''));
  return value;
}

/** `exact_match_hf_evaluate(predictions=[prediction], references=[reference], ...)["exact_match"]`: 1 or 0. */
export function exactMatch(prediction: string, reference: string, options: ExactMatchOptions = {}): number {
  return normalise(prediction, options) === normalise(reference, options) ? 1 : 0;
}

/** numpy's `argmax`: the first maximum; a NaN counts as the maximum (its first index wins). */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) return i;
    if (values[i] > values[best]) best = i;
  }
  return best;
}

/**
 * A multiple-choice document's `acc` (argmax of the log-likelihoods is the gold index) and `acc_norm`
 * (argmax of log-likelihood divided by the choice's length in characters, as `len(choice)` counts).
 * `gold` is -100 when the target named no choice (lm-eval then scores 0).
 */
export function multipleChoiceScores(loglikelihoods: readonly number[], choices: readonly string[], gold: number): { acc: number; acc_norm: number } {
  const lengths = choices.map((choice) => [...choice].length);
  const prediction = argmax(loglikelihoods);
  const normalised = argmax(loglikelihoods.map((ll, i) => ll / lengths[i]));
  return { acc: prediction === gold ? 1 : 0, acc_norm: normalised === gold ? 1 : 0 };
}

/** lm-eval's `mean` aggregation. */
export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** `mean_stderr`: sample standard deviation (n − 1) over √n; "N/A" for fewer than two values, as lm-eval. */
export function meanStderr(values: readonly number[]): number | 'N/A' {
  if (values.length < 2) return 'N/A';
  const mu = mean(values);
  const variance = values.reduce((sum, value) => sum + (value - mu) ** 2, 0) / (values.length - 1);
  return Math.sqrt(variance) / Math.sqrt(values.length);
}
