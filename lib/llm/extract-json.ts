/**
 * Finds the JSON in a raw LLM answer and parses it: strictly first, then with `jsonrepair`.
 *
 * Shared by the NER aligner (`lib/ner/align.ts`) and the structured-JSON metrics. The whole API is
 * `extractJson(answer)` and its result type; every decision is recorded in `steps` so that a report
 * can show where an answer was lost.
 *
 * Where the candidate comes from, in order:
 * 1. the first fenced block (```json … ``` or a bare ``` … ```) that holds a `{` or `[` region;
 *    an unclosed fence runs to the end of the answer;
 * 2. otherwise the answer itself.
 * Inside that text the candidate is the first balanced `{…}` / `[…]` region. Brackets inside
 * strings do not count (double-quoted strings with escapes; single-quoted ones when the quote opens
 * where a JSON value or key may start, as in Python dict answers). When the first region is not
 * strict JSON but a later one is (`[참고] {"PS": …}`), the strict one wins; otherwise the first
 * region goes to repair. A region that opens and never closes (an answer cut off at
 * `max_new_tokens`) runs to the end of the text and goes to repair.
 *
 * Safety: the value is what `JSON.parse` returns. It holds keys such as `__proto__` as own data
 * properties and never touches a prototype, but a consumer must not merge it into a plain object
 * (`Object.assign({}, v)`, `{...v}`); iterate with `Object.keys`/`Object.entries` and build
 * dictionaries as `Map`s or `Object.create(null)` objects.
 */
import { jsonrepair } from 'jsonrepair';

/**
 * - `strict`: the candidate outside any fence parsed with `JSON.parse` as it was.
 * - `fenced`: the candidate came from a fenced block and parsed with `JSON.parse` as it was.
 * - `repaired`: `JSON.parse` failed, `jsonrepair` fixed it (quotes, commas, `None`, a cut-off tail …).
 * - `no_json`: the answer holds no `{` or `[` region at all.
 * - `unparseable`: a region was found but neither parse nor repair produced JSON.
 * - `empty`: the answer is empty or only whitespace.
 */
export type JsonExtractionStatus = 'strict' | 'fenced' | 'repaired' | 'no_json' | 'unparseable' | 'empty';

/** Statuses that carry a parsed value. */
export const PARSED_STATUSES: readonly JsonExtractionStatus[] = ['strict', 'fenced', 'repaired'];

/** Did the extraction yield a parsed value (strict, fenced or repaired)? */
export function isParsed(status: JsonExtractionStatus): boolean {
  return PARSED_STATUSES.includes(status);
}

/** One thing the extractor tried, in order. */
export interface JsonExtractionStep {
  /** `fence`, `region`, `parse` or `repair`. */
  step: 'fence' | 'region' | 'parse' | 'repair';
  ok: boolean;
  /** What was found or why it failed (English, short, for reports and logs). */
  detail: string;
}

export interface JsonExtraction {
  status: JsonExtractionStatus;
  /** The parsed JSON value; `undefined` unless status is strict, fenced or repaired. */
  value: unknown;
  /** The text handed to the parser (a fence's content or a bracket region), `undefined` when none. */
  candidate: string | undefined;
  /** Where the candidate starts and ends in the answer (UTF-16 offsets, end exclusive). */
  candidateStart: number;
  candidateEnd: number;
  /** The candidate came from a fenced block. */
  fenced: boolean;
  /** The candidate's bracket region (or its fence) never closed: the answer was probably cut off. */
  truncated: boolean;
  /** The text that `jsonrepair` produced, when repair ran and succeeded. */
  repairedText?: string;
  steps: JsonExtractionStep[];
}

/** Extracts and parses the JSON in `answer`; never throws, whatever the string. */
export function extractJson(answer: string): JsonExtraction {
  const text = typeof answer === 'string' ? answer : String(answer);
  const steps: JsonExtractionStep[] = [];
  if (text.trim() === '') {
    return result('empty', undefined, undefined, 0, 0, false, false, steps);
  }

  // Fast path for the common, well-behaved answer: the whole answer is one JSON object or array.
  const first = firstNonSpace(text);
  const firstCode = text.charCodeAt(first);
  if (firstCode === 0x7b /* { */ || firstCode === 0x5b /* [ */) {
    const end = lastNonSpace(text) + 1;
    const lastCode = text.charCodeAt(end - 1);
    if ((firstCode === 0x7b && lastCode === 0x7d) || (firstCode === 0x5b && lastCode === 0x5d)) {
      const whole = text.slice(first, end);
      const parsed = tryParse(whole);
      if (parsed.ok) {
        steps.push({ step: 'region', ok: true, detail: `the whole answer is one ${firstCode === 0x7b ? '{…}' : '[…]'} region` });
        steps.push({ step: 'parse', ok: true, detail: 'JSON.parse succeeded' });
        return result('strict', parsed.value, whole, first, end, false, false, steps);
      }
    }
  }

  // 1. A fenced block that holds a region wins; otherwise the whole answer is searched.
  let searchText = text;
  let searchOffset = 0;
  let fenced = false;
  let fenceOpen = false;
  const fences = findFences(text);
  for (const fence of fences) {
    const inner = text.slice(fence.contentStart, fence.contentEnd);
    if (findRegions(inner, 1).length > 0) {
      searchText = inner;
      searchOffset = fence.contentStart;
      fenced = true;
      fenceOpen = !fence.closed;
      steps.push({
        step: 'fence',
        ok: true,
        detail: `fenced block${fence.info ? ` (${fence.info})` : ''} at ${fence.start}${fence.closed ? '' : ', never closed'}`,
      });
      break;
    }
  }
  if (!fenced) {
    steps.push({
      step: 'fence',
      ok: false,
      detail: fences.length === 0 ? 'no fenced block' : 'fenced block(s) hold no {…} or […]; searching the whole answer',
    });
  }

  // 2. Bracket regions, in order of their start.
  const regions = findRegions(searchText, 8);
  if (regions.length === 0) {
    steps.push({ step: 'region', ok: false, detail: 'no { or [ in the answer' });
    return result('no_json', undefined, undefined, 0, 0, false, false, steps);
  }
  for (let i = 0; i < regions.length; i++) {
    const region = regions[i];
    const candidate = searchText.slice(region.start, region.end);
    const parsed = tryParse(candidate);
    if (parsed.ok) {
      steps.push({ step: 'region', ok: true, detail: describeRegion(region, i, searchOffset) });
      steps.push({ step: 'parse', ok: true, detail: 'JSON.parse succeeded' });
      return result(fenced ? 'fenced' : 'strict', parsed.value, candidate, searchOffset + region.start, searchOffset + region.end, fenced, region.truncated || fenceOpen, steps);
    }
    if (i === 0) {
      steps.push({ step: 'region', ok: true, detail: describeRegion(region, 0, searchOffset) });
      steps.push({ step: 'parse', ok: false, detail: `JSON.parse failed: ${parsed.error}` });
    } else {
      steps.push({ step: 'parse', ok: false, detail: `${describeRegion(region, i, searchOffset)} is not strict JSON either` });
    }
  }

  // 3. Repair the first region.
  const region = regions[0];
  const candidate = searchText.slice(region.start, region.end);
  const start = searchOffset + region.start;
  const end = searchOffset + region.end;
  const truncated = region.truncated || fenceOpen;
  let repairedText: string;
  try {
    repairedText = jsonrepair(candidate);
  } catch (error) {
    steps.push({ step: 'repair', ok: false, detail: `jsonrepair failed: ${errorMessage(error)}` });
    return result('unparseable', undefined, candidate, start, end, fenced, truncated, steps);
  }
  const repaired = tryParse(repairedText);
  if (!repaired.ok) {
    steps.push({ step: 'repair', ok: false, detail: `jsonrepair output is not JSON: ${repaired.error}` });
    return result('unparseable', undefined, candidate, start, end, fenced, truncated, steps);
  }
  steps.push({ step: 'repair', ok: true, detail: truncated ? 'jsonrepair closed a cut-off answer' : 'jsonrepair fixed the candidate' });
  const out = result('repaired', repaired.value, candidate, start, end, fenced, truncated, steps);
  out.repairedText = repairedText;
  return out;
}

function result(
  status: JsonExtractionStatus,
  value: unknown,
  candidate: string | undefined,
  candidateStart: number,
  candidateEnd: number,
  fenced: boolean,
  truncated: boolean,
  steps: JsonExtractionStep[],
): JsonExtraction {
  return { status, value, candidate, candidateStart, candidateEnd, fenced, truncated, steps };
}

// A plain record rather than a discriminated union: tslab compiles lib/ without strictNullChecks,
// where `if (!parsed.ok)` does not narrow a union and `.error` would not type-check.
function tryParse(text: string): { ok: boolean; value?: unknown; error?: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeRegion(region: Region, index: number, offset: number): string {
  const kind = region.open === 0x7b ? '{…}' : '[…]';
  const where = `${offset + region.start}..${offset + region.end}`;
  return `${index === 0 ? 'first' : `region ${index + 1}:`} ${kind} region at ${where}${region.truncated ? ' (never closes; runs to the end)' : ''}`;
}

function firstNonSpace(text: string): number {
  let i = 0;
  while (i < text.length && isSpaceCode(text.charCodeAt(i))) i++;
  return i;
}

function lastNonSpace(text: string): number {
  let i = text.length - 1;
  while (i >= 0 && isSpaceCode(text.charCodeAt(i))) i--;
  return i;
}

function isSpaceCode(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09 || code === 0xfeff || code === 0xa0;
}

interface Fence {
  start: number;
  contentStart: number;
  contentEnd: number;
  closed: boolean;
  info: string;
}

/** Markdown code fences (``` with an optional info string such as `json`), in order. */
function findFences(text: string): Fence[] {
  const fences: Fence[] = [];
  let from = 0;
  while (from < text.length) {
    const start = text.indexOf('```', from);
    if (start < 0) break;
    let infoEnd = start + 3;
    while (infoEnd < text.length && text.charCodeAt(infoEnd) === 0x60) infoEnd++; // ```` counts as a fence too
    const lineEnd = text.indexOf('\n', infoEnd);
    // The info string is the rest of the opening line when it is a word (`json`, `JSON`, `python`);
    // `{"a": 1}` on the fence line itself is content, not an info string.
    const restOfLine = text.slice(infoEnd, lineEnd < 0 ? text.length : lineEnd);
    const infoMatch = /^[A-Za-z0-9_+-]*\s*$/.test(restOfLine);
    const contentStart = infoMatch ? (lineEnd < 0 ? text.length : lineEnd + 1) : infoEnd;
    const info = infoMatch ? restOfLine.trim() : '';
    const close = text.indexOf('```', contentStart);
    if (close < 0) {
      fences.push({ start, contentStart, contentEnd: text.length, closed: false, info });
      break;
    }
    fences.push({ start, contentStart, contentEnd: close, closed: true, info });
    from = close + 3;
    while (from < text.length && text.charCodeAt(from) === 0x60) from++;
  }
  return fences;
}

interface Region {
  open: number;
  start: number;
  end: number;
  truncated: boolean;
}

/**
 * Balanced bracket regions in `text`, at most `limit`, each starting after the previous one ends.
 * Hand-written because a regex cannot match nested brackets and jsonrepair needs the region cut
 * out first (it rejects text around the JSON).
 */
function findRegions(text: string, limit: number): Region[] {
  const regions: Region[] = [];
  let i = 0;
  while (i < text.length && regions.length < limit) {
    const code = text.charCodeAt(i);
    if (code !== 0x7b && code !== 0x5b) {
      i++;
      continue;
    }
    const end = scanRegion(text, i);
    if (end < 0) {
      regions.push({ open: code, start: i, end: text.length, truncated: true });
      break;
    }
    regions.push({ open: code, start: i, end, truncated: false });
    i = end;
  }
  return regions;
}

/** Index just past the bracket that closes the one at `start`, or -1 when it never closes. */
function scanRegion(text: string, start: number): number {
  let depth = 0;
  let previous = 0; // last significant (non-space) character outside strings
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22 /* " */ || (code === 0x27 /* ' */ && opensValue(previous))) {
      const close = skipString(text, i, code);
      if (close < 0) return -1;
      i = close;
      previous = code;
      continue;
    }
    if (code === 0x7b || code === 0x5b) depth++;
    else if (code === 0x7d || code === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
    if (!isSpaceCode(code)) previous = code;
  }
  return -1;
}

/** A single quote opens a string only where a JSON key or value may start (Python dict answers). */
function opensValue(previous: number): boolean {
  return previous === 0x7b || previous === 0x5b || previous === 0x2c /* , */ || previous === 0x3a /* : */;
}

/** Index of the quote that closes the string opened at `start`, or -1. */
function skipString(text: string, start: number, quote: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x5c /* \ */) {
      i++;
      continue;
    }
    if (code === quote) return i;
  }
  return -1;
}
