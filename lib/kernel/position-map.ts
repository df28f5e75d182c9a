/**
 * Maps a position in the JavaScript that tslab runs back to the TypeScript the user wrote, so that a
 * traceback names the cell's (or lib/'s) own lines.
 *
 * tslab emits no source maps (its compiler options are fixed, and we do not change its compiler), and
 * its output is printed anew by TypeScript's emitter: types and blank lines are gone, `x` becomes
 * `exports.x`, `f()` becomes `(0, mod_1.f)()`. What survives, in order, is the user's own identifiers,
 * literals, keywords and punctuation. So we align the two token streams with a Myers diff (jsdiff's
 * diffArrays over TypeScript scanner tokens); the tokens both sides share pin each output position to
 * its source position. Exact for the statements people write; for an output line with no shared
 * token, the nearest shared token before it answers.
 */
import { diffArrays } from 'diff';
import type { TypeScriptScanner } from './typescript-scanner.js';

/** The parts of a TypeScript module the scanner needs (tslab's 5.0 or the project's; both fit). */
export type ScannerModule = TypeScriptScanner<
  { scan(): number; getTokenText(): string; getTokenValue(): string; reScanTemplateToken(isTaggedTemplate: boolean): number },
  'EndOfFileToken' | 'StringLiteral' | 'TemplateHead' | 'TemplateTail' | 'OpenBraceToken' | 'CloseBraceToken'
>;

/**
 * Only words and literals anchor the alignment: punctuation is everywhere (the emitter's own
 * `Object.defineProperty(exports, ...)` header has plenty) and would pin lines to the wrong place.
 */
const ANCHOR = /^[\p{L}\p{N}_$"'`]/u;

interface Token {
  text: string;
  line: number;
  column: number;
}

/** 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

function tokenize(ts: ScannerModule, text: string): Token[] {
  const lineStarts = [0];
  for (let index = text.indexOf('\n'); index >= 0; index = text.indexOf('\n', index + 1)) lineStarts.push(index + 1);
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const tokens: Token[] = [];
  let line = 0;
  // Open braces inside each template literal's `${ }`: the scanner cannot tell a `}` that resumes the
  // template from one that closes a block, so we track them and ask it to rescan.
  const templates: number[] = [];
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.TemplateHead) templates.push(0);
    else if (kind === ts.SyntaxKind.OpenBraceToken && templates.length) templates[templates.length - 1]++;
    else if (kind === ts.SyntaxKind.CloseBraceToken && templates.length) {
      if (templates[templates.length - 1] === 0) {
        kind = scanner.reScanTemplateToken(false);
        if (kind === ts.SyntaxKind.TemplateTail) templates.pop();
      } else templates[templates.length - 1]--;
    }
    // getTokenPos (TypeScript 5.0) was renamed getTokenStart later; both exist on the scanners we load.
    const start = (scanner as unknown as { getTokenStart?: () => number }).getTokenStart?.() ?? (scanner as unknown as { getTokenPos: () => number }).getTokenPos();
    while (line + 1 < lineStarts.length && lineStarts[line + 1] <= start) line++;
    // The emitter may re-quote strings ('a' -> "a" in a require call): compare their values.
    const text = kind === ts.SyntaxKind.StringLiteral ? `"${scanner.getTokenValue()}` : scanner.getTokenText();
    if (ANCHOR.test(text)) tokens.push({ text, line: line + 1, column: start - lineStarts[line] + 1 });
  }
  return tokens;
}

export class PositionMap {
  private readonly output: Token[];
  /** For each output token, the index of the source token it aligned with, or -1. */
  private readonly aligned: Int32Array;
  private readonly source: Token[];

  /**
   * @param sourceText what the user wrote (TypeScript)
   * @param outputText what ran (JavaScript), without any wrapper added around it
   */
  constructor(ts: ScannerModule, sourceText: string, outputText: string) {
    this.source = tokenize(ts, sourceText);
    this.output = tokenize(ts, outputText);
    this.aligned = new Int32Array(this.output.length).fill(-1);
    // A cell or a lib file is small; the timeout only guards against pathological inputs.
    const changes = diffArrays(this.source.map((token) => token.text), this.output.map((token) => token.text), { timeout: 500 });
    if (!changes) return;
    let inSource = 0;
    let inOutput = 0;
    for (const change of changes) {
      const count = change.count ?? change.value.length;
      if (change.added) inOutput += count;
      else if (change.removed) inSource += count;
      else {
        for (let k = 0; k < count; k++) this.aligned[inOutput + k] = inSource + k;
        inSource += count;
        inOutput += count;
      }
    }
  }

  /** The source position of an output position (1-based), or undefined when nothing aligns. */
  toSource(position: Position): Position | undefined {
    // The first output token at or after the position, on its line; then anything before it.
    let at = this.output.findIndex((token) => token.line > position.line || (token.line === position.line && token.column >= position.column));
    if (at < 0) at = this.output.length;
    const onLine = (index: number) => index < this.output.length && this.output[index].line === position.line;
    for (let index = at; onLine(index); index++) {
      if (this.aligned[index] >= 0) return this.sourceAt(this.aligned[index]);
    }
    for (let index = Math.min(at, this.output.length) - 1; index >= 0; index--) {
      if (this.aligned[index] >= 0) return this.sourceAt(this.aligned[index]);
    }
    return undefined;
  }

  private sourceAt(index: number): Position {
    const { line, column } = this.source[index];
    return { line, column };
  }
}
