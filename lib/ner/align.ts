/**
 * The aligner: a raw LLM answer (JSON of entity strings) → syllable-level IOB2 tags over the
 * sentence's tokens, with a report for the parse and for every entity the answer listed.
 *
 * Rules (issue 3):
 * - JSON is found and parsed by `extractJson` (fence / first balanced region / strict / repair).
 * - Shapes: `{LABEL: [string, ...]}`, `{LABEL: string}`, `{"entities": <either>}`, and
 *   `[{"text"|"entity"|"word": s, "label"|"type"|"tag": L}, ...]`.
 * - Labels match the label set case-insensitively; others are `unknown_label` unless an alias map
 *   (off by default) maps them. Keys are only ever looked up in Maps, so `__proto__` is a label like
 *   any other.
 * - Values: strings, finite numbers (as decimal strings); null, "", objects, arrays-in-arrays and
 *   booleans are `invalid_value`. Surrounding whitespace is trimmed.
 * - Placement: longest first (by normalised length), ties in listing order; each listing claims the
 *   leftmost token-aligned occurrence that overlaps no claimed span, so n listings claim n
 *   occurrences; the `allOccurrences` option claims every free occurrence instead.
 * - Matching ignores whitespace and compares NFKC, lower-cased characters (`lib/ner/normalize.ts`).
 * - B- on a span's first token, I- on the rest, inner space tokens included (as KLUE gold does).
 *   Claimed spans never overlap, so the tags are always valid IOB2.
 */
import { extractJson, isParsed, type JsonExtraction, type JsonExtractionStatus } from '../llm/extract-json.js';
import { buildMatchIndex, findClosest, forEachOccurrence, normalizeForMatch, removeWhitespace, type ClosestMatch, type MatchIndex, type TokenRange } from './normalize.js';

/** How one listed entity ended up. The first three mean it was placed. */
export type EntityStatus = 'exact' | 'whitespace' | 'normalized' | 'not_found' | 'overlap' | 'unknown_label' | 'invalid_value';

export const ENTITY_STATUSES: readonly EntityStatus[] = ['exact', 'whitespace', 'normalized', 'not_found', 'overlap', 'unknown_label', 'invalid_value'];
export const PLACED_STATUSES: readonly EntityStatus[] = ['exact', 'whitespace', 'normalized'];

export function isPlaced(status: EntityStatus): boolean {
  return PLACED_STATUSES.includes(status);
}

/**
 * - `label_map`: `{LABEL: [...] | string}`; `entities_wrapper`: the same or a list inside
 *   `{"entities": ...}`; `list`: a list of `{text, label}` objects;
 * - `unsupported`: parsed JSON of another shape (a string, a number, null);
 * - `none`: nothing was parsed.
 */
export type AnswerShape = 'label_map' | 'entities_wrapper' | 'list' | 'unsupported' | 'none';

export interface AlignOptions {
  /**
   * Label aliases, off by default. `true` uses `DEFAULT_LABEL_ALIASES` (PER→PS, LOC→LC, ORG→OG …);
   * an object maps alias → label (case-insensitive). An alias only applies when its target is in
   * the label set.
   */
  aliases?: boolean | Readonly<Record<string, string>>;
  /** Place every free occurrence of each listed string, not one per listing. */
  allOccurrences?: boolean;
  /** Compute the closest-text hint for `not_found` entities (default true). */
  hints?: boolean;
}

/** Common English / CoNLL names of the KLUE types. */
export const DEFAULT_LABEL_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  PER: 'PS',
  PERSON: 'PS',
  LOC: 'LC',
  LOCATION: 'LC',
  GPE: 'LC',
  ORG: 'OG',
  ORGANIZATION: 'OG',
  DAT: 'DT',
  DATE: 'DT',
  TIM: 'TI',
  TIME: 'TI',
  QTY: 'QT',
  QUANTITY: 'QT',
  NUM: 'QT',
});

export interface EntityReport {
  /** Position of the listing in the answer (0-based, in the order the answer lists them). */
  index: number;
  /** The label as written in the answer ('' when a list item has none). */
  label: string;
  /** The label-set type it resolved to, or null when unknown. */
  type: string | null;
  /** The entity text, trimmed (for an invalid value: its JSON, shortened). */
  text: string;
  status: EntityStatus;
  /** Token spans placed for this listing (end exclusive); one unless `allOccurrences`. */
  spans: TokenRange[];
  /** Token-aligned occurrences of the text in the sentence, after normalisation. */
  occurrences: number;
  /** The listing index holding the first occurrence that was already taken (for `overlap`: why it lost). */
  claimedBy?: number;
  /** For `not_found`: the closest text in the sentence. */
  hint?: ClosestMatch;
  /** Why an entity was not placed, in a few words. */
  reason?: string;
}

export interface AlignParseReport {
  status: JsonExtractionStatus;
  shape: AnswerShape;
  /** Parse steps from `extractJson`, then one shape step. */
  steps: JsonExtraction['steps'];
  candidate: string | undefined;
  fenced: boolean;
  truncated: boolean;
}

export interface AlignResult {
  /** One IOB2 tag per token. */
  tags: string[];
  parse: AlignParseReport;
  entities: EntityReport[];
}

/**
 * Aligns a raw model answer to `tokens`. `labels` is the tag set, either as entity types
 * (`['PS', 'LC', ...]`) or as IOB tags (`['B-PS', 'I-PS', ..., 'O']`). Never throws on any answer.
 */
export function alignAnswer(tokens: readonly string[], answer: string, labels: readonly string[], options: AlignOptions = {}): AlignResult {
  const extraction = extractJson(answer);
  return alignExtraction(tokens, extraction, labels, options);
}

/** The same as `alignAnswer`, for an answer already run through `extractJson`. */
export function alignExtraction(tokens: readonly string[], extraction: JsonExtraction, labels: readonly string[], options: AlignOptions = {}): AlignResult {
  const labelSet = compileLabels(labels, options.aliases ?? false);
  const steps = extraction.steps.slice();
  const listings: Listing[] = [];
  const shape = collectListings(extraction, steps, listings);
  const parse: AlignParseReport = {
    status: extraction.status,
    shape,
    steps,
    candidate: extraction.candidate,
    fenced: extraction.fenced,
    truncated: extraction.truncated,
  };
  const tags: string[] = new Array(tokens.length).fill('O');
  if (listings.length === 0) return { tags, parse, entities: [] };

  const reports: EntityReport[] = listings.map((listing, index) => resolveListing(listing, index, labelSet));
  const index = buildMatchIndex(tokens);
  const keys: string[] = new Array(reports.length);
  const order: number[] = [];
  for (let i = 0; i < reports.length; i++) {
    const report = reports[i];
    if (report.status === 'invalid_value') continue;
    const key = normalizeForMatch(report.text);
    keys[i] = key;
    if (key.length === 0) {
      report.status = 'invalid_value';
      report.reason = 'nothing left to match after removing whitespace';
      continue;
    }
    if (report.status === 'unknown_label') {
      // Not placed, but count where it would have gone, for the diagnosis.
      let count = 0;
      forEachOccurrence(index, key, () => void count++);
      report.occurrences = count;
      continue;
    }
    order.push(i);
  }
  // Longest first, ties in listing order (sort is stable).
  order.sort((a, b) => keys[b].length - keys[a].length);

  const owner = new Int32Array(tokens.length).fill(-1);
  const allOccurrences = options.allOccurrences ?? false;
  for (const i of order) {
    const report = reports[i];
    claimOccurrences(index, keys[i], removeWhitespace(report.text), i, owner, report, allOccurrences);
    if (report.spans.length > 0) {
      report.spans.sort((a, b) => a.start - b.start);
      report.status = matchLevel(tokens, report.spans[0], report.text);
    } else if (report.occurrences > 0) {
      report.status = 'overlap';
      report.reason = `all ${report.occurrences} occurrence(s) already claimed`;
    } else {
      report.status = 'not_found';
      report.reason = 'not in the sentence, even ignoring whitespace and after NFKC';
      if (options.hints !== false) report.hint = findClosest(index, keys[i]);
    }
  }

  for (const report of reports) {
    if (report.spans.length === 0 || report.type === null) continue;
    for (const span of report.spans) {
      tags[span.start] = 'B-' + report.type;
      for (let t = span.start + 1; t < span.end; t++) tags[t] = 'I-' + report.type;
    }
  }
  return { tags, parse, entities: reports };
}

/** Only the tags: what a metric needs. */
export function alignTags(tokens: readonly string[], answer: string, labels: readonly string[], options: AlignOptions = {}): string[] {
  return alignAnswer(tokens, answer, labels, options).tags;
}

/** The entity types of a tag set, in order: `['B-PS', 'I-PS', 'O']` and `['PS']` both give `['PS']`. */
export function entityTypesOf(labels: readonly string[]): string[] {
  const types: string[] = [];
  const seen = new Set<string>();
  for (const label of labels) {
    if (typeof label !== 'string' || label === 'O') continue;
    const type = /^[BIESLU]-/.test(label) ? label.slice(2) : label;
    if (type.length > 0 && !seen.has(type)) {
      seen.add(type);
      types.push(type);
    }
  }
  return types;
}

// --- internals --------------------------------------------------------------------------------

/** One value the answer listed, before it is resolved against the label set. */
interface Listing {
  label: string;
  value: unknown;
  /** Set when the shape already makes it invalid (a list item without a text field …). */
  invalid?: string;
}

interface LabelSet {
  /** lower-cased label or alias → type as in the label set */
  byName: Map<string, string>;
}

// Compiled label sets per label array, for the two boolean alias settings (a custom alias object is
// compiled on each call: caching by its identity could grow without bound).
const labelSetCache = new WeakMap<readonly string[], { plain?: LabelSet; aliased?: LabelSet }>();

function compileLabels(labels: readonly string[], aliases: boolean | Readonly<Record<string, string>>): LabelSet {
  const cacheable = typeof aliases === 'boolean';
  let entry = labelSetCache.get(labels);
  if (cacheable) {
    if (entry === undefined) {
      entry = {};
      labelSetCache.set(labels, entry);
    }
    const cached = aliases ? entry.aliased : entry.plain;
    if (cached !== undefined) return cached;
  }
  const byName = new Map<string, string>();
  for (const type of entityTypesOf(labels)) byName.set(type.toLowerCase(), type);
  const aliasMap = aliases === true ? DEFAULT_LABEL_ALIASES : aliases === false ? undefined : aliases;
  if (aliasMap !== undefined) {
    for (const alias of Object.keys(aliasMap)) {
      const target = byName.get(String(aliasMap[alias]).toLowerCase());
      const name = alias.toLowerCase();
      if (target !== undefined && !byName.has(name)) byName.set(name, target);
    }
  }
  const compiled: LabelSet = { byName };
  if (cacheable && entry !== undefined) {
    if (aliases) entry.aliased = compiled;
    else entry.plain = compiled;
  }
  return compiled;
}

const TEXT_FIELDS = ['text', 'entity', 'word'];
const LABEL_FIELDS = ['label', 'type', 'tag'];

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fills `listings` from the parsed value and returns its shape. */
function collectListings(extraction: JsonExtraction, steps: AlignParseReport['steps'], listings: Listing[]): AnswerShape {
  if (!isParsed(extraction.status)) return 'none';
  let value = extraction.value;
  let wrapped = false;
  if (isRecord(value)) {
    const wrapperKey = Object.keys(value).find((key) => key.toLowerCase() === 'entities');
    const inner = wrapperKey === undefined ? undefined : value[wrapperKey];
    if (inner !== undefined && typeof inner === 'object' && inner !== null) {
      value = inner;
      wrapped = true;
    }
  }
  if (Array.isArray(value)) {
    for (const item of value) listings.push(listItem(item));
    steps.push({ step: 'parse', ok: true, detail: `shape: ${wrapped ? '{"entities": [...]}' : 'list'} of ${value.length} item(s)` });
    return wrapped ? 'entities_wrapper' : 'list';
  }
  if (isRecord(value)) {
    const keys = Object.keys(value);
    for (const key of keys) {
      const entry = value[key];
      if (Array.isArray(entry)) {
        for (const item of entry) listings.push({ label: key, value: item });
      } else {
        listings.push({ label: key, value: entry });
      }
    }
    steps.push({ step: 'parse', ok: true, detail: `shape: ${wrapped ? '{"entities": {...}}' : '{LABEL: [...]}'} with ${keys.length} label(s)` });
    return wrapped ? 'entities_wrapper' : 'label_map';
  }
  steps.push({ step: 'parse', ok: false, detail: `unsupported shape: the JSON is ${value === null ? 'null' : typeof value}, not an object or a list` });
  return 'unsupported';
}

function listItem(item: unknown): Listing {
  if (!isRecord(item)) return { label: '', value: item, invalid: 'list item is not an object' };
  const textField = TEXT_FIELDS.find((field) => hasOwn(item, field));
  const labelField = LABEL_FIELDS.find((field) => hasOwn(item, field));
  const rawLabel = labelField === undefined ? undefined : item[labelField];
  const label = typeof rawLabel === 'string' ? rawLabel : rawLabel === undefined ? '' : safeJson(rawLabel);
  if (textField === undefined) return { label, value: item, invalid: 'list item has no "text", "entity" or "word"' };
  if (labelField === undefined) return { label, value: item[textField], invalid: 'list item has no "label", "type" or "tag"' };
  if (typeof rawLabel !== 'string') return { label, value: item[textField], invalid: 'label is not a string' };
  return { label, value: item[textField] };
}

function resolveListing(listing: Listing, index: number, labelSet: LabelSet): EntityReport {
  const type = labelSet.byName.get(listing.label.trim().toLowerCase()) ?? null;
  const report: EntityReport = { index, label: listing.label, type, text: '', status: 'invalid_value', spans: [], occurrences: 0 };
  const value = listing.value;
  if (typeof value === 'string') report.text = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value)) report.text = String(value);
  else report.text = safeJson(value);

  if (listing.invalid !== undefined) {
    report.reason = listing.invalid;
  } else if (typeof value === 'number' && !Number.isFinite(value)) {
    report.reason = 'number is not finite';
  } else if (typeof value !== 'string' && typeof value !== 'number') {
    report.reason = value === null ? 'null value' : Array.isArray(value) ? 'nested list' : typeof value === 'object' ? 'nested object' : `${typeof value} value`;
  } else if (report.text === '') {
    report.reason = 'empty string';
  } else if (type === null) {
    report.status = 'unknown_label';
    report.reason = `label "${listing.label}" is not in the label set`;
  } else {
    report.status = 'not_found'; // until placement says otherwise
  }
  return report;
}

/**
 * Claims for listing `i` the leftmost free occurrence of `key`, preferring one whose text is what
 * the answer wrote (whitespace aside) over an NFKC / case-folded one, so `Exo` lands on `Exo` even
 * when `EXO` comes first. With `all`, claims every free occurrence, left to right. Counts the
 * occurrences and notes who holds the first taken one.
 */
function claimOccurrences(index: MatchIndex, key: string, rawKey: string, i: number, owner: Int32Array, report: EntityReport, all: boolean): void {
  // When neither side changed under normalisation, every occurrence is as written.
  const everyOccurrenceAsWritten = !index.changed && rawKey === key;
  let firstFree: TokenRange | undefined;
  let firstFreeAsWritten: TokenRange | undefined;
  forEachOccurrence(index, key, (range) => {
    report.occurrences++;
    const holder = firstClaim(owner, range);
    if (holder >= 0) {
      if (report.claimedBy === undefined && holder !== i) report.claimedBy = holder;
      return;
    }
    if (all) {
      owner.fill(i, range.start, range.end);
      report.spans.push(range);
      return;
    }
    if (firstFree === undefined) firstFree = range;
    if (firstFreeAsWritten === undefined && (everyOccurrenceAsWritten || surfaceWithoutWhitespace(index.tokens, range) === rawKey)) {
      firstFreeAsWritten = range;
    }
  });
  const chosen = firstFreeAsWritten ?? firstFree;
  if (chosen !== undefined) {
    owner.fill(i, chosen.start, chosen.end);
    report.spans.push(chosen);
  }
}

function surfaceWithoutWhitespace(tokens: readonly string[], range: TokenRange): string {
  let surface = '';
  for (let t = range.start; t < range.end; t++) surface += tokens[t];
  return removeWhitespace(surface);
}

/** Index of the listing that holds a token in `range`, or -1 when the range is free. */
function firstClaim(owner: Int32Array, range: TokenRange): number {
  for (let t = range.start; t < range.end; t++) if (owner[t] >= 0) return owner[t];
  return -1;
}

/** How close the placed span's text is to what the answer wrote. */
function matchLevel(tokens: readonly string[], span: TokenRange, text: string): EntityStatus {
  let surface = '';
  for (let t = span.start; t < span.end; t++) surface += tokens[t];
  if (surface === text) return 'exact';
  if (removeWhitespace(surface) === removeWhitespace(text)) return 'whitespace';
  return 'normalized';
}

/** A short JSON preview of a value for reports; never throws (a value nested too deep to print gets its kind). */
function safeJson(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? typeof value;
  } catch {
    text = Array.isArray(value) ? '[...]' : typeof value === 'object' && value !== null ? '{...}' : typeof value;
  }
  return text.length > 80 ? text.slice(0, 77) + '...' : text;
}

export type { MatchIndex };
