/**
 * What the kernel carries from one cell to the next: tslab compiles every cell against the declarations
 * of all earlier ones (`__prev__.d.ts`, re-parsed by TypeScript for each cell). A `const` keeps its
 * literal type there, and the emitter writes the whole literal: `declare const big = "<10 MB>";`. Every
 * later cell then parsed 10 MB twice (0.7 s for `1 + 1` instead of 0.02 s). Long string literals in
 * those declarations are widened to `string` here; the value itself lives on in the JavaScript context.
 */

import type { TypeScriptScanner } from './typescript-scanner.js';

/** Longer string literals than this (in characters, quotes included) are widened to `string`. */
export const MAX_LITERAL_TYPE_LENGTH = 1024;

/** The part of TypeScript's scanner this needs (tslab's own TypeScript 5.0 provides it). */
export type DeclarationScanner = TypeScriptScanner<
  { scan(): number; getTextPos(): number },
  | 'EndOfFileToken' | 'StringLiteral' | 'NoSubstitutionTemplateLiteral' | 'Identifier' | 'EqualsToken' | 'ColonToken'
  | 'BarToken' | 'AmpersandToken' | 'CommaToken' | 'QuestionToken' | 'ConstKeyword' | 'LetKeyword' | 'VarKeyword'
  | 'OpenBraceToken' | 'CloseBraceToken' | 'OpenParenToken' | 'CloseParenToken' | 'OpenBracketToken' | 'CloseBracketToken'
>;

interface Token {
  kind: number;
  start: number;
  end: number;
}

/**
 * `declarations` with every string literal longer than `limit` widened: `declare const a = "…";`
 * (and `, b = "…"` in the same statement) become `declare const a: string;`, a literal in a type
 * (`: "…"`, `| "…"`, `& "…"`, `, "…"`) becomes `string`. Anything else (an enum member's value, a
 * quoted property name) is left as it is. Returns `declarations` itself when nothing is that long.
 */
export function widenLongLiterals(declarations: string, ts: DeclarationScanner, limit = MAX_LITERAL_TYPE_LENGTH): string {
  if (declarations.length <= limit) return declarations;
  const kinds = ts.SyntaxKind;
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, declarations);
  const edits: Array<{ start: number; end: number; text: string }> = [];
  const recent: Token[] = [];
  // Braces, parentheses and brackets open around the token: a `const` list lives at depth 0.
  let depth = 0;
  let pendingLiteral: Token | undefined;
  for (let kind = scanner.scan(); kind !== kinds.EndOfFileToken; kind = scanner.scan()) {
    const end = scanner.getTextPos();
    const token: Token = { kind, start: tokenStart(scanner), end };
    if (pendingLiteral) {
      // A literal followed by `:` or `?` is a property name, not a type.
      if (kind !== kinds.ColonToken && kind !== kinds.QuestionToken) edits.push({ start: pendingLiteral.start, end: pendingLiteral.end, text: 'string' });
      pendingLiteral = undefined;
    }
    if ((kind === kinds.StringLiteral || kind === kinds.NoSubstitutionTemplateLiteral) && token.end - token.start > limit) {
      const [before3, before2, before1] = [recent.at(-3), recent.at(-2), recent.at(-1)];
      if (before1?.kind === kinds.EqualsToken && before2?.kind === kinds.Identifier && depth === 0 && before3 && isDeclarationStart(before3.kind, kinds)) {
        edits.push({ start: before2.end, end: token.end, text: ': string' });
      } else if (before1 && (before1.kind === kinds.ColonToken || before1.kind === kinds.BarToken || before1.kind === kinds.AmpersandToken || before1.kind === kinds.CommaToken) && !(before1.kind === kinds.CommaToken && depth === 0)) {
        pendingLiteral = token;
      }
    }
    if (kind === kinds.OpenBraceToken || kind === kinds.OpenParenToken || kind === kinds.OpenBracketToken) depth++;
    else if ((kind === kinds.CloseBraceToken || kind === kinds.CloseParenToken || kind === kinds.CloseBracketToken) && depth > 0) depth--;
    recent.push(token);
    if (recent.length > 3) recent.shift();
  }
  if (pendingLiteral) edits.push({ start: pendingLiteral.start, end: pendingLiteral.end, text: 'string' });
  if (edits.length === 0) return declarations;
  let out = '';
  let at = 0;
  for (const edit of edits) {
    out += declarations.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return out + declarations.slice(at);
}

function isDeclarationStart(kind: number, kinds: DeclarationScanner['SyntaxKind']): boolean {
  return kind === kinds.ConstKeyword || kind === kinds.LetKeyword || kind === kinds.VarKeyword || kind === kinds.CommaToken;
}

/** Where the token starts (getTokenPos in TypeScript 5.0, getTokenStart later; both exist on the scanners we load). */
function tokenStart(scanner: object): number {
  return (scanner as { getTokenStart?: () => number }).getTokenStart?.() ?? (scanner as { getTokenPos: () => number }).getTokenPos();
}
