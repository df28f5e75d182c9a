/**
 * Normalised matching between an entity string from a model answer and a sentence's tokens.
 *
 * Both sides are compared as NFKC-normalised, lower-cased characters with all whitespace removed:
 * `중국정부` finds `중국 정부`, `km` finds `㎞` (NFKC turns `㎞` into `km`), `%` finds `％`, full-width
 * digits find ASCII digits, decomposed Hangul finds composed Hangul, `KM` finds `km`. The sentence
 * side is normalised token by token, so every matched character maps back to the token it came from.
 */

/** A sentence prepared for normalised matching. */
export interface MatchIndex {
  /** The tokens, as given. */
  tokens: readonly string[];
  /** Every token normalised and concatenated, whitespace removed. */
  text: string;
  /** For each UTF-16 unit of `text`, the index of the token it came from. */
  tokenOf: Int32Array;
  /**
   * Where each token's characters start in `text`; `tokenStart[tokens.length] === text.length`.
   * A token that normalises to nothing (a space) starts where the next one does.
   */
  tokenStart: Int32Array;
  /** Some token's matching form differs from the token without whitespace (case, NFKC). */
  changed: boolean;
}

// Whitespace in the wide sense: JavaScript's \s (which includes U+3000 and U+FEFF) plus the
// zero-width characters that models and web text leave inside words.
const WHITESPACE = /[\s\u200b\u200c\u200d\u2060]+/g;
const HAS_WHITESPACE = /[\s\u200b\u200c\u200d\u2060]/;

/** `text` without any whitespace. */
export function removeWhitespace(text: string): string {
  return HAS_WHITESPACE.test(text) ? text.replace(WHITESPACE, '') : text;
}

/** The matching form of a string: NFKC, lower case, no whitespace. */
export function normalizeForMatch(text: string): string {
  if (isFastPath(text)) return removeWhitespace(lowerAscii(text));
  return removeWhitespace(text.normalize('NFKC').toLowerCase());
}

/** Prepares `tokens` for matching with `forEachOccurrence` and `findClosest`. */
export function buildMatchIndex(tokens: readonly string[]): MatchIndex {
  const n = tokens.length;
  let codes = new Array<number>(n);
  let tokenOf = new Int32Array(n + 8);
  const tokenStart = new Int32Array(n + 1);
  let at = 0;
  let changed = false;
  const push = (code: number, t: number) => {
    if (at === tokenOf.length) {
      const grown = new Int32Array(tokenOf.length * 2);
      grown.set(tokenOf);
      tokenOf = grown;
    }
    codes[at] = code;
    tokenOf[at++] = t;
  };
  for (let t = 0; t < n; t++) {
    const token = tokens[t];
    tokenStart[t] = at;
    if (token.length === 1) {
      // The common KLUE case, without building strings: ASCII, Hangul syllables and CJK
      // ideographs are unchanged by NFKC; only A–Z fold and whitespace drops.
      const code = token.charCodeAt(0);
      if (code < 0x80) {
        if (code === 0x20 || (code >= 0x09 && code <= 0x0d)) continue;
        if (code >= 0x41 && code <= 0x5a) {
          push(code + 32, t);
          changed = true;
        } else push(code, t);
        continue;
      }
      if ((code >= 0xac00 && code <= 0xd7a3) || (code >= 0x4e00 && code <= 0x9fff)) {
        push(code, t);
        continue;
      }
    }
    const part = normalizeToken(token);
    if (part !== removeWhitespace(token)) changed = true;
    for (let k = 0; k < part.length; k++) push(part.charCodeAt(k), t);
  }
  tokenStart[n] = at;
  codes.length = at;
  let text = '';
  for (let i = 0; i < at; i += 4096) text += String.fromCharCode.apply(null, at <= 4096 ? codes : codes.slice(i, i + 4096));
  codes = [];
  return { tokens, text, tokenOf: tokenOf.subarray(0, at), tokenStart, changed };
}

// Matching forms of the rarer tokens (punctuation, symbols such as ㎞), bounded so that untrusted
// input cannot grow it without limit.
const tokenCache = new Map<string, string>();
const TOKEN_CACHE_LIMIT = 4096;

function normalizeToken(token: string): string {
  let part = tokenCache.get(token);
  if (part === undefined) {
    part = normalizeForMatch(token);
    if (tokenCache.size >= TOKEN_CACHE_LIMIT) tokenCache.clear();
    tokenCache.set(token, part);
  }
  return part;
}

/** A token range, `end` exclusive. */
export interface TokenRange {
  start: number;
  end: number;
}

/**
 * Calls `visit` for every occurrence of `key` (already in matching form) that starts and ends on
 * token boundaries, left to right, as a token range; stops when `visit` returns false.
 * Occurrences may overlap each other (`아아` occurs twice in `아아아`).
 */
export function forEachOccurrence(index: MatchIndex, key: string, visit: (range: TokenRange) => boolean | void): void {
  if (key.length === 0) return;
  const { text, tokenOf, tokenStart } = index;
  let pos = text.indexOf(key);
  while (pos >= 0) {
    const endPos = pos + key.length;
    const first = tokenOf[pos];
    const last = tokenOf[endPos - 1];
    // Token-aligned only: `k` must not match half of `㎞` (which normalises to `km`).
    if (tokenStart[first] === pos && tokenStart[last + 1] === endPos) {
      if (visit({ start: first, end: last + 1 }) === false) return;
    }
    pos = text.indexOf(key, pos + 1);
  }
}

/** The text that a closest-match search found. */
export interface ClosestMatch extends TokenRange {
  /** The tokens' original text, joined. */
  text: string;
  /** Edit distance between the key and the matched normalised text. */
  distance: number;
  /** 1 − distance / max(length of key, length of match): 1 is identical. */
  similarity: number;
}

// Beyond this many DP cells the hint is skipped: it is an aid for reports, not worth seconds.
const MAX_CLOSEST_CELLS = 4_000_000;

/**
 * The substring of the sentence closest to `key` (matching form) by edit distance, with free start
 * and end in the sentence (Sellers' approximate substring matching), widened to whole tokens.
 * Ties go to the match whose length is nearest the key's, then to the leftmost. `undefined` when the sentence or key is empty or too long.
 */
export function findClosest(index: MatchIndex, key: string): ClosestMatch | undefined {
  const text = index.text;
  const n = text.length;
  const m = key.length;
  if (n === 0 || m === 0 || n * m > MAX_CLOSEST_CELLS) return undefined;
  // Row i of the DP: cost[j] = best distance of key[0..i) ending at text position j; from[j] = start.
  let cost = new Int32Array(n + 1);
  let from = new Int32Array(n + 1);
  let nextCost = new Int32Array(n + 1);
  let nextFrom = new Int32Array(n + 1);
  for (let j = 0; j <= n; j++) from[j] = j;
  for (let i = 1; i <= m; i++) {
    nextCost[0] = i;
    nextFrom[0] = 0;
    const kc = key.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      let best = cost[j - 1] + (text.charCodeAt(j - 1) === kc ? 0 : 1);
      let bestFrom = from[j - 1];
      if (cost[j] + 1 < best) {
        best = cost[j] + 1;
        bestFrom = from[j];
      }
      if (nextCost[j - 1] + 1 < best) {
        best = nextCost[j - 1] + 1;
        bestFrom = nextFrom[j - 1];
      }
      nextCost[j] = best;
      nextFrom[j] = bestFrom;
    }
    [cost, nextCost] = [nextCost, cost];
    [from, nextFrom] = [nextFrom, from];
  }
  let bestEnd = -1;
  let bestDistance = Infinity;
  let bestLengthGap = Infinity;
  for (let j = 1; j <= n; j++) {
    if (from[j] >= j) continue;
    const lengthGap = Math.abs(j - from[j] - m);
    if (cost[j] < bestDistance || (cost[j] === bestDistance && lengthGap < bestLengthGap)) {
      bestDistance = cost[j];
      bestLengthGap = lengthGap;
      bestEnd = j;
    }
  }
  if (bestEnd < 0) return undefined;
  const startPos = from[bestEnd];
  const start = index.tokenOf[startPos];
  const end = index.tokenOf[bestEnd - 1] + 1;
  const matchedLength = bestEnd - startPos;
  return {
    start,
    end,
    text: index.tokens.slice(start, end).join(''),
    distance: bestDistance,
    similarity: 1 - bestDistance / Math.max(m, matchedLength),
  };
}

/** ASCII, precomposed Hangul and CJK unified ideographs are unchanged by NFKC and have no case but A–Z. */
function isFastPath(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code >= 0xac00 && code <= 0xd7a3) continue;
    if (code >= 0x4e00 && code <= 0x9fff) continue;
    return false;
  }
  return true;
}

function lowerAscii(text: string): string {
  return /[A-Z]/.test(text) ? text.toLowerCase() : text;
}
