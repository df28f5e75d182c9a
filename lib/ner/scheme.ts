/**
 * How tags form entities — a port of seqeval 1.2.2's two chunkers, kept bit-for-bit compatible so that
 * our scores equal the ones every NER paper reports:
 *
 * - **default mode** (`seqeval.metrics.sequence_labeling.get_entities`, the conlleval rules): lenient,
 *   an `I-X` after `O` or after another type starts a new entity; any prefix letter is accepted.
 * - **strict mode** (`seqeval.scheme.Tokens`, one class per tagging scheme): an entity counts only if
 *   it starts and ends the way its scheme says; `I-X` after `O` is no entity in IOB2.
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
  /** First character: 'B', 'I', 'O', 'E', 'S', '.', or anything else. */
  prefix: string;
  /** `chunk[1:].split('-', 1)[-1] or '_'`: 'PS' for 'B-PS', '_' for 'O'. */
  type: string;
  /** False when seqeval would warn "<tag> seems not to be NE tag." */
  looksLikeNeTag: boolean;
}

/** Splits one tag like seqeval's default mode (prefix form, `suffix=False`). */
export function splitDefaultTag(tag: string, sentenceIndex?: number, position?: number): DefaultTag {
  if (tag.length === 0) {
    throw new TagSchemeError(`empty tag${where(sentenceIndex, position)}: every token needs a tag such as "O" or "B-PS"`, tag, sentenceIndex, position);
  }
  // Python indexes code points; String.fromCodePoint keeps an astral first character whole.
  const prefix = String.fromCodePoint(tag.codePointAt(0)!);
  const rest = tag.slice(prefix.length);
  const dash = rest.indexOf('-');
  const type = (dash < 0 ? rest : rest.slice(dash + 1)) || '_';
  const looksLikeNeTag =
    tag === 'O' || tag === 'B' || tag === 'I' || tag === 'E' || tag === 'S' || /^[BIES]-/.test(tag);
  return { prefix, type, looksLikeNeTag };
}

function endOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === 'E' || prevTag === 'S') return true;
  if (prevTag === 'B' && (tag === 'B' || tag === 'S' || tag === 'O')) return true;
  if (prevTag === 'I' && (tag === 'B' || tag === 'S' || tag === 'O')) return true;
  return prevTag !== 'O' && prevTag !== '.' && prevType !== type;
}

function startOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === 'B' || tag === 'S') return true;
  if ((prevTag === 'E' || prevTag === 'S' || prevTag === 'O') && (tag === 'E' || tag === 'I')) return true;
  return tag !== 'O' && tag !== '.' && prevType !== type;
}

/**
 * Streams the default-mode chunks of many sequences exactly as seqeval computes them: the sequences
 * are flattened with an `O` after each one, and `onChunk` gets the type and the start / exclusive end
 * in that flattened numbering (sentence `s` starts at the sum of the earlier lengths + 1 each).
 * Ordinary tags never cross a sentence (the `O` closes them); seqeval's odd cases (a type-less tag such
 * as `M` opens a chunk that no `O` closes) behave the same here. `split` lets the caller cache tags.
 */
export function forEachDefaultChunk(
  sequences: readonly (readonly string[])[],
  onChunk: (type: string, start: number, end: number) => void,
  split: (tag: string, sentenceIndex: number, position: number) => DefaultTag = splitDefaultTag,
): void {
  let prevTag = 'O';
  let prevType = '';
  let begin = 0;
  let offset = 0;
  for (let s = 0; s < sequences.length; s++) {
    const tags = sequences[s];
    // The sentence's tags, then the 'O' seqeval appends after it.
    for (let i = 0; i <= tags.length; i++) {
      let tag = 'O';
      let type = '_';
      if (i < tags.length) {
        const parts = split(tags[i], s, i);
        tag = parts.prefix;
        type = parts.type;
      }
      if (endOfChunk(prevTag, tag, prevType, type)) onChunk(prevType, begin, offset + i);
      if (startOfChunk(prevTag, tag, prevType, type)) begin = offset + i;
      prevTag = tag;
      prevType = type;
    }
    offset += tags.length + 1;
  }
  // seqeval's final extra 'O' (seq + ['O']) cannot end or start anything after an 'O'; nothing to do.
}

/** seqeval default-mode (conlleval) entities of one tag sequence. */
export function defaultEntities(tags: readonly string[]): Entity[] {
  const entities: Entity[] = [];
  forEachDefaultChunk([tags], (type, start, end) => entities.push({ type, start, end }));
  return entities;
}

// ---------------------------------------------------------------------------------------------------
// Strict mode (seqeval.scheme)
// ---------------------------------------------------------------------------------------------------

// Prefix flags, as seqeval's `Prefix(enum.Flag)`.
const P_I = 1;
const P_O = 2;
const P_B = 4;
const P_E = 8;
const P_S = 16;
const P_U = 32;
const P_L = 64;
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

/** Reads one tag like seqeval's `Token(token)` (prefix form): unknown first letters are an error. */
export function splitStrictTag(tag: string, sentenceIndex?: number, position?: number): StrictTag {
  if (tag.length === 0) {
    throw new TagSchemeError(`empty tag${where(sentenceIndex, position)}: every token needs a tag such as "O" or "B-PS"`, tag, sentenceIndex, position);
  }
  const first = String.fromCodePoint(tag.codePointAt(0)!);
  const prefix = Object.hasOwn(PREFIX_FLAGS, first) ? PREFIX_FLAGS[first] : 0;
  if (prefix === 0) {
    throw new TagSchemeError(
      `tag "${tag}"${where(sentenceIndex, position)} does not start with a scheme prefix (one of I, O, B, E, S, U, L)`,
      tag,
      sentenceIndex,
      position,
    );
  }
  // Python's str.strip('-') on tag[1:]; an empty remainder becomes '_'.
  const type = tag.slice(first.length).replace(/^-+|-+$/g, '') || '_';
  return { prefix, type };
}

function matches(patterns: readonly Pattern[], prev: StrictTag, cur: StrictTag): boolean {
  for (const [prevMask, curMask, cond] of patterns) {
    if ((prev.prefix & prevMask) === 0 || (cur.prefix & curMask) === 0) continue;
    if (cond === ANY || (cond === SAME ? prev.type === cur.type : prev.type !== cur.type)) return true;
  }
  return false;
}

const OUTSIDE: StrictTag = { prefix: P_O, type: '_' };

/**
 * seqeval's `Tokens(tags, scheme).entities`, step for step (including which tokens get validated and
 * the `_forward` fallback). `read` turns a tag into a StrictTag (cache it for speed).
 */
export function strictEntitiesOf(
  tokens: readonly StrictTag[],
  scheme: Scheme,
  rawTags: readonly string[],
  sentenceIndex?: number,
): Entity[] {
  const rules = RULES[scheme];
  const n = tokens.length;
  const at = (i: number): StrictTag => (i < n ? tokens[i] : OUTSIDE); // the appended 'O' sentinel
  const entities: Entity[] = [];
  let i = 0;
  let prev = OUTSIDE;
  while (i <= n) {
    const token = at(i);
    if ((token.prefix & rules.allowed) === 0) {
      throw new TagSchemeError(
        `tag "${rawTags[i]}"${where(sentenceIndex, i)} is not allowed in ${scheme} (allowed prefixes: ${prefixNames(rules.allowed)})`,
        rawTags[i],
        sentenceIndex,
        i,
      );
    }
    if (matches(rules.start, prev, token)) {
      // _forward: walk while the next token is inside the chunk.
      let end = -1;
      let inner = token;
      for (let j = i + 1; j <= n; j++) {
        const next = at(j);
        if (matches(rules.inside, inner, next)) inner = next;
        else {
          end = j;
          break;
        }
      }
      if (end < 0) end = n - 1; // seqeval's fallback `len(self.tokens) - 1` (unreachable: the sentinel is never inside)
      if (matches(rules.end, at(end - 1), at(end))) entities.push({ type: token.type, start: i, end });
      i = end;
    } else {
      i += 1;
    }
    prev = at(i - 1);
  }
  return entities;
}

/** seqeval strict-mode entities of one tag sequence under `scheme`. */
export function strictEntities(tags: readonly string[], scheme: Scheme, sentenceIndex?: number): Entity[] {
  const tokens = tags.map((tag, position) => splitStrictTag(tag, sentenceIndex, position));
  return strictEntitiesOf(tokens, scheme, tags, sentenceIndex);
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
export function detectScheme(sequences: readonly (readonly string[])[]): Scheme {
  let used = 0;
  for (let s = 0; s < sequences.length; s++) {
    const tags = sequences[s];
    for (let i = 0; i < tags.length; i++) used |= splitStrictTag(tags[i], s, i).prefix;
  }
  for (const [scheme, sets] of DETECT) if (sets.includes(used)) return scheme;
  throw new TagSchemeError(
    `cannot detect the tagging scheme from the prefixes {${prefixNames(used)}} (seqeval's auto_detect knows IOB2, IOE2, IOBES, BILOU); pass a scheme explicitly`,
    '',
  );
}

/**
 * Entities of one tag sequence. `mode: 'default'` (the default) uses seqeval's lenient conlleval
 * chunking; `mode: 'strict'` uses `scheme`, or detects it from these tags like seqeval's report does.
 */
export function getEntities(tags: readonly string[], opts: { mode?: ChunkMode; scheme?: Scheme } = {}): Entity[] {
  if ((opts.mode ?? 'default') === 'default') return defaultEntities(tags);
  return strictEntities(tags, opts.scheme ?? detectScheme([tags]));
}
