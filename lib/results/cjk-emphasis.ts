/**
 * CJK-friendly `**` and `*` for marked, as micromark-extension-cjk-friendly and markdown-it-cjk-friendly
 * do for their parsers: CommonMark's flanking rule treats a Hangul particle right after a closing `**`
 * like a letter, so `**"정답"**을` never closes (the run is preceded by punctuation and followed by a
 * letter) and prints literal asterisks. The CJK-friendly rule adds one case on each side:
 *
 *  - a run is right-flanking (may close) also when it is preceded by punctuation and followed by a CJK
 *    character;
 *  - a run is left-flanking (may open) also when it is followed by punctuation and preceded by a CJK
 *    character.
 *
 * marked has no CJK extension on npm, and its emphasis tokenizer reads the flanking classes from
 * regular expressions on `this.rules.inline`. So this extension keeps marked's own algorithm and hands
 * it three rules rebuilt with the CJK cases: the opener test, the closer search for `*` runs, whose
 * capture groups keep marked's meaning (1–2 close only, 3–4 open only, 5–6 both), and the "previous
 * character allows an opener" test. `_` is left as CommonMark has it (intraword underscores such as risk_level stay text).
 * tests/results/cjk-emphasis.test.ts checks the result against micromark-extension-cjk-friendly itself.
 */
import { Tokenizer, type MarkedExtension, type Tokens } from 'marked';

/**
 * A CJK character: Hangul, Han, kana, bopomofo, CJK punctuation and symbols (「」。、㎞), fullwidth and
 * halfwidth forms; not whitespace (U+3000 is a space). CJK punctuation counts as CJK, not punctuation,
 * as the rule's reference implementation has it.
 */
const C = String.raw`(?:(?!\s)[\p{sc=Hangul}\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Bopomofo}\u3000-\u303F\u3190-\u33FF\uFE30-\uFE4F\uFF00-\uFFEF])`;
/** Punctuation or symbol that is not CJK, except the delimiters `*` and `~` (GFM counts `~` as a letter here). */
const P = String.raw`(?:(?![*~])(?!${C})[\p{P}\p{S}])`;
/** Anything else that is not whitespace or `*`: Latin letters, digits, `~`. */
const O = String.raw`(?:(?![\s*])(?!${P})(?!${C})[\s\S])`;

/** The opener test: a `*` or `_` run and what follows it (group 1: punctuation that is not CJK, 2: anything else). */
const OPENER = new RegExp(String.raw`^(?:\*+(?:(${P})|([^\s*]))?)|^_+(?:((?!_)[\p{P}\p{S}])|([^\s_]))?`, 'u');

/**
 * The closer search for `*` runs. Each alternative consumes the character before the run and captures
 * the run; the group number says what the run may do, as marked's tokenizer reads it.
 */
const CLOSER_SEARCH = new RegExp(
  [
    // Skipped text (no group): a `__…*…__` span, and runs of non-delimiter characters.
    String.raw`^[^_*]*?__[^_*]*?\*[^_*]*?(?=__)`,
    String.raw`[^*]+(?=[^*])`,
    // 1, 2: close only.
    String.raw`[^\s*](\*+)(?=\s|$)`,
    String.raw`${O}(\*+)(?!\*)(?=${P})`,
    // 3, 4: open only.
    String.raw`\s(\*+)(?!\*)(?=\S)`,
    String.raw`${P}(\*+)(?!\*)(?=${O})`,
    // 5, 6: both (the CJK cases are here: punctuation then CJK, CJK then punctuation).
    String.raw`${P}(\*+)(?!\*)(?=${P}|${C})`,
    String.raw`(?:${C}(?=\*+(?!\*)(?:${P}|${C}|${O}))|${O}(?=\*+(?!\*)(?:${C}|${O})))(\*+)`,
  ].join('|'),
  'gu',
);

/** "The character before a run lets it open": whitespace, punctuation, and (CJK-friendly) CJK. */
const OPENER_PREVIOUS = new RegExp(String.raw`^((?![*_])[\s\p{P}\p{S}]|${C})`, 'u');

type Rules = { inline: Record<string, RegExp> } & Record<string, unknown>;

/** The marked extension; `new Marked(...).use(cjkFriendlyEmphasis())`. */
export function cjkFriendlyEmphasis(): MarkedExtension {
  const rulesFor = new WeakMap<object, Rules>();
  return {
    tokenizer: {
      emStrong(this: Tokenizer, src: string, maskedSrc: string, prevChar = ''): Tokens.Em | Tokens.Strong | undefined {
        const own = this.rules as unknown as Rules;
        let rules = rulesFor.get(own);
        if (!rules) {
          rules = { ...own, inline: { ...own.inline, emStrongLDelim: OPENER, emStrongRDelimAst: CLOSER_SEARCH, punctuation: OPENER_PREVIOUS } };
          rulesFor.set(own, rules);
        }
        // marked's own algorithm, reading our two rules (the rest of `this` is the tokenizer itself).
        const view = Object.create(this, { rules: { value: rules } }) as Tokenizer;
        return Tokenizer.prototype.emStrong.call(view, src, maskedSrc, prevChar) as Tokens.Em | Tokens.Strong | undefined;
      },
    },
  };
}
