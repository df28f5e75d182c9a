/**
 * How tags form entities — a port of seqeval 1.2.2's two chunkers, kept bit-for-bit compatible so that
 * our scores equal the ones every NER paper reports:
 *
 * - **default mode** (`seqeval.metrics.sequence_labeling.get_entities`, the conlleval rules): lenient,
 *   an `I-X` after `O` or after another type starts a new entity; any prefix letter is accepted.
 * - **strict mode** (`seqeval.scheme.Tokens`, one class per tagging scheme): an entity counts only if
 *   it starts and ends the way its scheme says; `I-X` after `O` is no entity in IOB2.
 *
 * Both modes read prefix tags (`B-PER`) or, with `suffix: true`, suffix tags (`PER-B`), as seqeval's
 * `suffix=True` does.
 *
 * Written by hand because no npm package reproduces seqeval's exact chunking (quirks included).
 * Entities here use an exclusive `end`; seqeval's default mode reports an inclusive end internally.
 */
import { HanlabError } from '../errors.js';

/** One entity: tokens `start` (inclusive) to `end` (exclusive) of one tag sequence. */
export interface Entity {
  type: string;
  start: number;
  /** Exclusive token index. */
  end: number;
}

export type Scheme = 'IOB1' | 'IOB2' | 'IOE1' | 'IOE2' | 'IOBES' | 'BILOU';
export const SCHEMES: readonly Scheme[] = ['IOB1', 'IOB2', 'IOE1', 'IOE2', 'IOBES', 'BILOU'];
export type ChunkMode = 'default' | 'strict';

/** How tags are written: `B-PER` (prefix, the default) or `PER-B` (`suffix: true`, seqeval's `suffix=True`). */
export interface TagFormat {
  suffix?: boolean;
}

export function isScheme(value: string): value is Scheme {
  return (SCHEMES as readonly string[]).includes(value);
}

/** A tag the chosen scheme cannot read (unknown prefix letter, prefix not allowed, empty tag). */
export class TagSchemeError extends HanlabError {
  constructor(
    message: string,
    readonly tag: string,
    readonly sentenceIndex?: number,
    readonly position?: number,
  ) {
    super(message);
  }
}

function where(sentenceIndex: number | undefined, position: number | undefined): string {
  if (sentenceIndex === undefined) return position === undefined ? '' : ` at position ${position}`;
  return ` in sentence ${sentenceIndex}${position === undefined ? '' : ` at position ${position}`}`;
}

// ---------------------------------------------------------------------------------------------------
// Default mode (conlleval)
// ---------------------------------------------------------------------------------------------------

/** A tag split the way seqeval's default mode splits it: first character and the type after `-`. */
export interface DefaultTag {
  /** First character (last with suffix tags): 'B', 'I', 'O', 'E', 'S', '.', or anything else. */
  prefix: string;
  /** `chunk[1:].split('-', 1)[-1] or '_'`: 'PS' for 'B-PS' (and for 'PS-B' with suffix), '_' for 'O'. */
  type: string;
  /** False when seqeval would warn "<tag> seems not to be NE tag." */
  looksLikeNeTag: boolean;
}

/** The first (or, for suffix tags, the last) code point of a tag, and the rest. */
function splitLetter(tag: string, suffix: boolean): { letter: string; rest: string } {
  if (!suffix) {
    // Python indexes code points; String.fromCodePoint keeps an astral character whole.
    const letter = String.fromCodePoint(tag.codePointAt(0)!);
    return { letter, rest: tag.slice(letter.length) };
  }
  const last = tag.codePointAt(tag.length - 1)!;
  // A lone low surrogate at the end belongs to the astral character before it.
  const width = last >= 0xdc00 && last <= 0xdfff && tag.length >= 2 ? 2 : 1;
  return { letter: tag.slice(tag.length - width), rest: tag.slice(0, tag.length - width) };
}

/** Python's `str.strip('-')`, then `or '_'`: the entity type as seqeval's strict `Token` reads it. */
function strictTypeOf(rest: string): string {
  return rest.replace(/^-+|-+$/g, '') || '_';
}

/**
 * Splits one tag like seqeval's default mode: prefix form `chunk[0]` and `chunk[1:].split('-', 1)[-1]`,
 * or with `suffix` `chunk[-1]` and `chunk[:-1].rsplit('-', 1)[0]`.
 */
export function splitDefaultTag(tag: string, sentenceIndex?: number, position?: number, format: TagFormat = {}): DefaultTag {
  if (tag.length === 0) {
    throw new TagSchemeError(`empty tag${where(sentenceIndex, position)}: every token needs a tag such as "O" or "B-PS"`, tag, sentenceIndex, position);
  }
  const suffix = format.suffix ?? false;
  const { letter, rest } = splitLetter(tag, suffix);
  let type: string;
  if (suffix) {
    const dash = rest.lastIndexOf('-');
    type = (dash < 0 ? rest : rest.slice(0, dash)) || '_';
  } else {
    const dash = rest.indexOf('-');
    type = (dash < 0 ? rest : rest.slice(dash + 1)) || '_';
  }
  const looksLikeNeTag =
    tag === 'O' || tag === 'B' || tag === 'I' || tag === 'E' || tag === 'S' || (suffix ? /-[BIES]$/ : /^[BIES]-/).test(tag);
  return { prefix: letter, type, looksLikeNeTag };
}

/**
 * Streams the default-mode chunks of many sequences exactly as seqeval computes them: the sequences
 * are flattened with an `O` after each one, and `onChunk` gets the type and the start / exclusive end
 * in that flattened numbering (sentence `s` starts at the sum of the earlier lengths + 1 each).
 * Ordinary tags never cross a sentence (the `O` closes them); seqeval's odd cases (a type-less tag such
 * as `M` opens a chunk that no `O` closes) behave the same here.
 */
export function forEachDefaultChunk(
  sequences: readonly (readonly string[])[],
  onChunk: (type: string, start: number, end: number) => void,
  format: TagFormat = {},
): void {
  const table = new TagTable(format);
  const encoded = table.encode(sequences);
  defaultChunks(table, encoded, (typeId, start, end) => onChunk(table.typeName(typeId), start, end));
}

/** seqeval default-mode (conlleval) entities of one tag sequence. */
export function defaultEntities(tags: readonly string[], format: TagFormat = {}): Entity[] {
  const entities: Entity[] = [];
  forEachDefaultChunk([tags], (type, start, end) => entities.push({ type, start, end }), format);
  return entities;
}

// ---------------------------------------------------------------------------------------------------
// Strict mode (seqeval.scheme)
// ---------------------------------------------------------------------------------------------------

// Prefix flags, as seqeval's `Prefix(enum.Flag)`.
const P_I = 1 << 0;
const P_O = 1 << 1;
const P_B = 1 << 2;
const P_E = 1 << 3;
const P_S = 1 << 4;
const P_U = 1 << 5;
const P_L = 1 << 6;
const P_ANY = P_I | P_O | P_B | P_E | P_S | P_U | P_L;
const PREFIX_FLAGS: Record<string, number> = { I: P_I, O: P_O, B: P_B, E: P_E, S: P_S, U: P_U, L: P_L };
const PREFIX_NAMES: [number, string][] = [[P_I, 'I'], [P_O, 'O'], [P_B, 'B'], [P_E, 'E'], [P_S, 'S'], [P_U, 'U'], [P_L, 'L']];

// Tag conditions, as seqeval's `Tag(enum.Flag)`.
const SAME = 1;
const DIFF = 2;
const ANY = 3;

/** (previous prefix, current prefix, tag condition) — seqeval's pattern triples. */
type Pattern = readonly [number, number, number];

interface SchemeRules {
  allowed: number;
  start: readonly Pattern[];
  inside: readonly Pattern[];
  end: readonly Pattern[];
}

const RULES: Record<Scheme, SchemeRules> = {
  IOB1: {
    allowed: P_I | P_O | P_B,
    start: [[P_O, P_I, ANY], [P_I, P_I, DIFF], [P_B, P_I, ANY], [P_I, P_B, SAME], [P_B, P_B, SAME]],
    inside: [[P_B, P_I, SAME], [P_I, P_I, SAME]],
    end: [[P_I, P_I, DIFF], [P_I, P_O, ANY], [P_I, P_B, ANY], [P_B, P_O, ANY], [P_B, P_I, DIFF], [P_B, P_B, SAME]],
  },
  IOE1: {
    allowed: P_I | P_O | P_E,
    start: [[P_O, P_I, ANY], [P_I, P_I, DIFF], [P_E, P_I, ANY], [P_E, P_E, SAME]],
    inside: [[P_I, P_I, SAME], [P_I, P_E, SAME]],
    end: [[P_I, P_I, DIFF], [P_I, P_O, ANY], [P_I, P_E, DIFF], [P_E, P_I, SAME], [P_E, P_E, SAME]],
  },
  IOB2: {
    allowed: P_I | P_O | P_B,
    start: [[P_ANY, P_B, ANY]],
    inside: [[P_B, P_I, SAME], [P_I, P_I, SAME]],
    end: [[P_I, P_O, ANY], [P_I, P_I, DIFF], [P_I, P_B, ANY], [P_B, P_O, ANY], [P_B, P_I, DIFF], [P_B, P_B, ANY]],
  },
  IOE2: {
    allowed: P_I | P_O | P_E,
    start: [[P_O, P_I, ANY], [P_O, P_E, ANY], [P_E, P_I, ANY], [P_E, P_E, ANY], [P_I, P_I, DIFF], [P_I, P_E, DIFF]],
    inside: [[P_I, P_E, SAME], [P_I, P_I, SAME]],
    end: [[P_E, P_ANY, ANY]],
  },
  IOBES: {
    allowed: P_I | P_O | P_B | P_E | P_S,
    start: [[P_ANY, P_B, ANY], [P_ANY, P_S, ANY]],
    inside: [[P_B, P_I, SAME], [P_B, P_E, SAME], [P_I, P_I, SAME], [P_I, P_E, SAME]],
    end: [[P_S, P_ANY, ANY], [P_E, P_ANY, ANY]],
  },
  BILOU: {
    allowed: P_B | P_I | P_L | P_O | P_U,
    start: [[P_ANY, P_B, ANY], [P_ANY, P_U, ANY]],
    inside: [[P_B, P_I, SAME], [P_B, P_L, SAME], [P_I, P_I, SAME], [P_I, P_L, SAME]],
    end: [[P_U, P_ANY, ANY], [P_L, P_ANY, ANY]],
  },
};

/** A tag as seqeval's `Token` reads it: a prefix flag and the tag stripped of '-' (or '_'). */
export interface StrictTag {
  prefix: number;
  type: string;
}

function prefixNames(flags: number): string {
  return PREFIX_NAMES.filter(([flag]) => flags & flag).map(([, name]) => name).join('|');
}

/** Reads one tag like seqeval's `Token(token, suffix)`: a first (last) letter that is no prefix is an error. */
export function splitStrictTag(tag: string, sentenceIndex?: number, position?: number, format: TagFormat = {}): StrictTag {
  if (tag.length === 0) {
    throw new TagSchemeError(`empty tag${where(sentenceIndex, position)}: every token needs a tag such as "O" or "B-PS"`, tag, sentenceIndex, position);
  }
  const { letter, rest } = splitLetter(tag, format.suffix ?? false);
  const prefix = Object.hasOwn(PREFIX_FLAGS, letter) ? PREFIX_FLAGS[letter] : 0;
  if (prefix === 0) throw noPrefixError(tag, format, sentenceIndex, position);
  return { prefix, type: strictTypeOf(rest) };
}

function noPrefixError(tag: string, format: TagFormat, sentenceIndex?: number, position?: number): TagSchemeError {
  const side = format.suffix ? 'end with a scheme suffix' : 'start with a scheme prefix';
  return new TagSchemeError(`tag "${tag}"${where(sentenceIndex, position)} does not ${side} (one of I, O, B, E, S, U, L)`, tag, sentenceIndex, position);
}

/** The prefix letter of a strict tag (`'B'` for `B-PER`, or for `PER-B` with suffix). */
export function strictPrefixName(tag: StrictTag): string {
  return prefixNames(tag.prefix);
}

/** seqeval's strict `Token` methods for one pair of neighbouring tags under `scheme`. */
export interface TagTransition {
  /** `token.is_valid()`: the tag's prefix is allowed in the scheme. */
  valid: boolean;
  /** `token.is_start(prev)`: an entity starts at the tag. */
  start: boolean;
  /** `token.is_inside(prev)`: the tag continues the previous tag's entity. */
  inside: boolean;
  /** `token.is_end(prev)`: the previous tag ends an entity. */
  end: boolean;
}

/**
 * How `scheme` reads the tag `current` after `previous` — the pattern tables behind strict mode, for
 * explaining why an entity does or does not count.
 */
export function schemeTransition(scheme: Scheme, previous: string, current: string, format: TagFormat = {}): TagTransition {
  const prev = splitStrictTag(previous, undefined, undefined, format);
  const cur = splitStrictTag(current, undefined, undefined, format);
  const rules = COMPILED[scheme];
  const table = new TagTable(format);
  const prevType = table.typeId(prev.type);
  const curType = table.typeId(cur.type);
  return {
    valid: (cur.prefix & rules.allowed) !== 0,
    start: match(rules.start, prev.prefix, prevType, cur.prefix, curType),
    inside: match(rules.inside, prev.prefix, prevType, cur.prefix, curType),
    end: match(rules.end, prev.prefix, prevType, cur.prefix, curType),
  };
}

/** seqeval strict-mode entities of one tag sequence under `scheme`. */
export function strictEntities(tags: readonly string[], scheme: Scheme, sentenceIndex?: number, format: TagFormat = {}): Entity[] {
  const table = new TagTable(format);
  const encoded = table.encode([tags]);
  const entities: Entity[] = [];
  strictChunks(table, encoded, scheme, (typeId, start, end) => entities.push({ type: table.typeName(typeId), start, end }), sentenceIndex ?? 0);
  return entities;
}

// ---------------------------------------------------------------------------------------------------
// The fast core: tags interned to small integers, sequences flattened into one Int32Array
// ---------------------------------------------------------------------------------------------------

const CH_B = 'B'.charCodeAt(0);
const CH_I = 'I'.charCodeAt(0);
const CH_E = 'E'.charCodeAt(0);
const CH_S = 'S'.charCodeAt(0);
const CH_O = 'O'.charCodeAt(0);
const CH_DOT = '.'.charCodeAt(0);
const NO_TYPE = -1; // seqeval's initial prev_type '' (equal to no real type)

/**
 * Distinct tags seen so far, each split once for both modes. Scoring 285,929 syllables then costs one
 * Map lookup per token plus integer comparisons.
 */
export class TagTable {
  private readonly ids = new Map<string, number>();
  private readonly typeIds = new Map<string, number>();
  private readonly typeNames: string[] = [];
  /** Per tag id: the tag text. */
  readonly tags: string[] = [];
  /** Per tag id: default mode's first character as a char code (-2 for others such as astral ones). */
  readonly defaultPrefix: number[] = [];
  /** Per tag id: default mode's type id. */
  readonly defaultType: number[] = [];
  /** Per tag id: false where seqeval warns "seems not to be NE tag". */
  readonly looksLikeNeTag: boolean[] = [];
  /** Per tag id: strict mode's prefix flag (0 = not a scheme letter) and type id. */
  readonly strictPrefix: number[] = [];
  readonly strictType: number[] = [];
  /** The id of 'O', which also stands for seqeval's sentence separator and sentinel. */
  readonly outside: number;
  /** Tags are read as suffix tags (`PER-B`). */
  readonly suffix: boolean;

  constructor(format: TagFormat = {}) {
    this.suffix = format.suffix ?? false;
    this.outside = this.intern('O', 0, 0);
  }

  typeId(type: string): number {
    let id = this.typeIds.get(type);
    if (id === undefined) {
      id = this.typeNames.length;
      this.typeIds.set(type, id);
      this.typeNames.push(type);
    }
    return id;
  }

  typeName(typeId: number): string {
    return this.typeNames[typeId];
  }

  /** The id of a tag, splitting it on first sight (an empty tag is an error at that position). */
  intern(tag: string, sentenceIndex: number, position: number): number {
    let id = this.ids.get(tag);
    if (id !== undefined) return id;
    if (typeof tag !== 'string') {
      throw new TypeError(`tag ${String(tag)} in sentence ${sentenceIndex} at position ${position} is a ${typeof tag}; tags are strings`);
    }
    const format = { suffix: this.suffix };
    const parts = splitDefaultTag(tag, sentenceIndex, position, format);
    id = this.tags.length;
    this.ids.set(tag, id);
    this.tags.push(tag);
    this.defaultPrefix.push(parts.prefix.length === 1 ? parts.prefix.charCodeAt(0) : -2);
    this.defaultType.push(this.typeId(parts.type));
    this.looksLikeNeTag.push(parts.looksLikeNeTag);
    const { letter, rest } = splitLetter(tag, this.suffix);
    this.strictPrefix.push(Object.hasOwn(PREFIX_FLAGS, letter) ? PREFIX_FLAGS[letter] : 0);
    this.strictType.push(this.typeId(strictTypeOf(rest)));
    return id;
  }

  /** Flattens sequences into tag ids with an 'O' after each sentence (seqeval's flattening). */
  encode(sequences: readonly (readonly string[])[]): EncodedSequences {
    let total = 0;
    for (const tags of sequences) total += tags.length + 1;
    const ids = new Int32Array(total);
    const starts = new Int32Array(sequences.length + 1);
    let k = 0;
    for (let s = 0; s < sequences.length; s++) {
      const tags = sequences[s];
      starts[s] = k;
      let lastTag: string | undefined;
      let lastId = 0;
      for (let i = 0; i < tags.length; i++) {
        const tag = tags[i];
        // Runs of the same tag (mostly 'O') skip the Map lookup.
        if (tag !== lastTag) {
          const known = this.ids.get(tag);
          lastId = known === undefined ? this.intern(tag, s, i) : known;
          lastTag = tag;
        }
        ids[k++] = lastId;
      }
      ids[k++] = this.outside;
    }
    starts[sequences.length] = k;
    return { ids, starts };
  }
}

/** Sentences as one array of tag ids; sentence `s` is `ids[starts[s] .. starts[s+1] - 1)`, then an 'O'. */
export interface EncodedSequences {
  ids: Int32Array;
  starts: Int32Array;
}

/**
 * seqeval's default-mode `get_entities` over encoded sentences. `onChunk(typeId, start, end)` gets
 * flattened positions with an exclusive end.
 */
export function defaultChunks(
  table: TagTable,
  encoded: EncodedSequences,
  onChunk: (typeId: number, start: number, end: number) => void,
): void {
  const { ids } = encoded;
  const prefixOf = table.defaultPrefix;
  const typeOf = table.defaultType;
  const n = ids.length;
  let prevTag = CH_O;
  let prevType = NO_TYPE;
  let begin = 0;
  // i === n is the extra 'O' seqeval appends after flattening.
  for (let i = 0; i <= n; i++) {
    const id = i < n ? ids[i] : table.outside;
    const tag = prefixOf[id];
    const type = typeOf[id];
    // end_of_chunk
    if (
      prevTag === CH_E || prevTag === CH_S ||
      ((prevTag === CH_B || prevTag === CH_I) && (tag === CH_B || tag === CH_S || tag === CH_O)) ||
      (prevTag !== CH_O && prevTag !== CH_DOT && prevType !== type)
    ) {
      onChunk(prevType, begin, i);
    }
    // start_of_chunk
    if (
      tag === CH_B || tag === CH_S ||
      ((prevTag === CH_E || prevTag === CH_S || prevTag === CH_O) && (tag === CH_E || tag === CH_I)) ||
      (tag !== CH_O && tag !== CH_DOT && prevType !== type)
    ) {
      begin = i;
    }
    prevTag = tag;
    prevType = type;
  }
}

/** Flattened (previous prefix mask, current prefix mask, tag condition) triples. */
function compile(patterns: readonly Pattern[]): Int32Array {
  return Int32Array.from(patterns.flat());
}

const COMPILED = Object.fromEntries(
  SCHEMES.map((scheme) => [
    scheme,
    { allowed: RULES[scheme].allowed, start: compile(RULES[scheme].start), inside: compile(RULES[scheme].inside), end: compile(RULES[scheme].end) },
  ]),
) as Record<Scheme, { allowed: number; start: Int32Array; inside: Int32Array; end: Int32Array }>;

function match(patterns: Int32Array, prevPrefix: number, prevType: number, prefix: number, type: number): boolean {
  for (let k = 0; k < patterns.length; k += 3) {
    if ((prevPrefix & patterns[k]) === 0 || (prefix & patterns[k + 1]) === 0) continue;
    const cond = patterns[k + 2];
    if (cond === ANY || (cond === SAME ? prevType === type : prevType !== type)) return true;
  }
  return false;
}

/**
 * seqeval's strict `Tokens(tags, scheme).entities` for each encoded sentence, step for step (which
 * tokens get validated, the `_forward` walk, the end check against the 'O' sentinel).
 * `onChunk(typeId, start, end)` gets flattened positions with an exclusive end.
 */
export function strictChunks(
  table: TagTable,
  encoded: EncodedSequences,
  scheme: Scheme,
  onChunk: (typeId: number, start: number, end: number) => void,
  sentenceIndexBase = 0,
): void {
  const { ids, starts } = encoded;
  const rules = COMPILED[scheme];
  const prefixOf = table.strictPrefix;
  const typeOf = table.strictType;
  const outsideType = typeOf[table.outside];
  for (let s = 0; s + 1 < starts.length; s++) {
    const from = starts[s];
    const sentinel = starts[s + 1] - 1; // the 'O' after the sentence
    let i = from;
    let prevPrefix = P_O;
    let prevType = outsideType;
    while (i <= sentinel) {
      const prefix = prefixOf[ids[i]];
      const type = typeOf[ids[i]];
      if ((prefix & rules.allowed) === 0) {
        const tag = table.tags[ids[i]];
        if (prefix === 0) throw noPrefixError(tag, { suffix: table.suffix }, s + sentenceIndexBase, i - from);
        throw new TagSchemeError(
          `tag "${tag}"${where(s + sentenceIndexBase, i - from)} is not allowed in ${scheme} (allowed prefixes: ${prefixNames(rules.allowed)})`,
          tag,
          s + sentenceIndexBase,
          i - from,
        );
      }
      if (match(rules.start, prevPrefix, prevType, prefix, type)) {
        // _forward: walk while the next token is inside the chunk.
        let end = -1;
        let innerPrefix = prefix;
        let innerType = type;
        for (let j = i + 1; j <= sentinel; j++) {
          const p = prefixOf[ids[j]];
          const t = typeOf[ids[j]];
          if (match(rules.inside, innerPrefix, innerType, p, t)) {
            innerPrefix = p;
            innerType = t;
          } else {
            end = j;
            break;
          }
        }
        if (end < 0) end = sentinel - 1; // seqeval's unreachable fallback `len(self.tokens) - 1`
        if (match(rules.end, prefixOf[ids[end - 1]], typeOf[ids[end - 1]], prefixOf[ids[end]], typeOf[ids[end]])) {
          onChunk(type, i, end);
        }
        i = end;
      } else {
        i += 1;
      }
      prevPrefix = prefixOf[ids[i - 1]];
      prevType = typeOf[ids[i - 1]];
    }
  }
}

// seqeval's auto_detect tables, as prefix-set bitmasks.
const mask = (...letters: string[]): number => letters.reduce((m, l) => m | PREFIX_FLAGS[l], 0);
const DETECT: [Scheme, number[]][] = [
  ['IOB2', [mask('I', 'O', 'B'), mask('I', 'B'), mask('B', 'O'), mask('B')]],
  ['IOE2', [mask('I', 'O', 'E'), mask('I', 'E'), mask('E', 'O'), mask('E')]],
  [
    'IOBES',
    [
      mask('I', 'O', 'B', 'E', 'S'), mask('I', 'B', 'E', 'S'), mask('I', 'O', 'B', 'E'), mask('O', 'B', 'E', 'S'),
      mask('I', 'B', 'E'), mask('B', 'E', 'S'), mask('O', 'B', 'E'), mask('B', 'E'), mask('S'),
    ],
  ],
  [
    'BILOU',
    [
      mask('I', 'O', 'B', 'L', 'U'), mask('I', 'B', 'L', 'U'), mask('I', 'O', 'B', 'L'), mask('O', 'B', 'L', 'U'),
      mask('I', 'B', 'L'), mask('B', 'L', 'U'), mask('O', 'B', 'L'), mask('B', 'L'), mask('U'),
    ],
  ],
];

/**
 * seqeval's `auto_detect`: the scheme whose allowed prefix sets contain exactly the prefixes used.
 * Like seqeval it fails when the set matches none (for example only `O`, or `I` and `O` without `B`).
 */
export function detectScheme(sequences: readonly (readonly string[])[], format: TagFormat = {}): Scheme {
  const seen = new Set<string>();
  let used = 0;
  for (let s = 0; s < sequences.length; s++) {
    const tags = sequences[s];
    for (let i = 0; i < tags.length; i++) {
      if (seen.has(tags[i])) continue;
      seen.add(tags[i]);
      used |= splitStrictTag(tags[i], s, i, format).prefix;
    }
  }
  for (const [scheme, sets] of DETECT) if (sets.includes(used)) return scheme;
  throw new TagSchemeError(
    `cannot detect the tagging scheme from the prefixes {${prefixNames(used)}} used in the tags (seqeval's auto_detect knows IOB2, IOE2, IOBES, BILOU); pass a scheme explicitly`,
    '',
  );
}

/**
 * Entities of one tag sequence. `mode: 'default'` (the default) uses seqeval's lenient conlleval
 * chunking; `mode: 'strict'` uses `scheme`, or detects it from these tags like seqeval's report does.
 */
export function getEntities(tags: readonly string[], opts: { mode?: ChunkMode; scheme?: Scheme } & TagFormat = {}): Entity[] {
  const format = { suffix: opts.suffix ?? false };
  if ((opts.mode ?? 'default') === 'default') return defaultEntities(tags, format);
  return strictEntities(tags, opts.scheme ?? detectScheme([tags], format), undefined, format);
}
