/**
 * Making untrusted text (model answers, dataset sentences, label names) inert in Markdown.
 *
 * Text goes into a report in one of two places:
 *  - inline (a paragraph, a list item, a table cell): `escapeMarkdown` backslash-escapes every
 *    character that can start Markdown or HTML syntax, so `<script>` stays text, `[x](javascript:..)`
 *    never becomes a link (nor does a bare www./http:// address) and `|` never splits a table cell;
 *    newlines become spaces so a cell stays one row. CommonMark defines a backslash before any ASCII punctuation as that literal character, so the
 *    text reads the same after rendering (marked, GitHub).
 *  - a fenced code block: `fenceCode` picks a fence longer than any backtick run in the text, so the
 *    text cannot close the block early; inside a block nothing is interpreted.
 *
 * Hand-written because marked only renders (it has no escaper), and the few escaping packages on npm
 * target HTML, not CommonMark's inline grammar.
 */

/** Always escaped: code spans, links/images, table cells, and the escape character itself. */
const ALWAYS = new Set(['\\', '`', '[', ']', '|']);
/** Emphasis and strikethrough delimiters; inert only with whitespace on both sides. */
const FLANKING = new Set(['*', '_', '~']);

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/.test(ch);
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}]/u.test(ch);
}

/**
 * Patterns that only mean something at the start of a line: headings, quotes, list items, rules.
 * `*` and `_` are here too: between spaces they are left alone as emphasis delimiters, but at the start
 * of a line `* x` is a list item and `_ _ _` a thematic break.
 */
const LINE_START = /^(\s*)(#{1,6}(?=\s|$)|>|[-+*_](?=\s|$)|\d{1,9}[.)](?=\s|$)|=+$)/;

/**
 * Escapes text for use inline or in a table cell (one line, every Markdown construct inert). Only
 * characters that could start syntax in their position are escaped, so the raw Markdown stays
 * readable: `0.9 ~ 1.5` and `Train < 0.1` are left alone, `<script>` and `a~b~` are not.
 */
export function escapeMarkdown(text: unknown): string {
  if (text === undefined || text === null) return '';
  const oneLine = String(text)
    .replace(/\r\n?|\n|\u2028|\u2029/g, ' ')
    // Tabs would turn into code indentation at the start of a line.
    .replace(/\t/g, ' ');
  const chars = Array.from(oneLine);
  let out = '';
  chars.forEach((ch, i) => {
    const prev = chars[i - 1];
    const next = chars[i + 1];
    let escape = ALWAYS.has(ch);
    if (FLANKING.has(ch)) escape = !(isSpace(prev) && isSpace(next));
    // GFM never opens or closes emphasis on an underscore inside a word (risk_level, B_PER).
    if (ch === '_' && isWordChar(prev) && isWordChar(next)) escape = false;
    // An HTML tag, comment, declaration or autolink needs a letter, "/", "!" or "?" right after "<".
    // A "<" at the very end is escaped too: the template may put more text right after it.
    if (ch === '<') escape = next === undefined || /[A-Za-z/!?]/.test(next);
    // Entity references (&lt; &#60; &#x3c;) would decode; a lone "&" is text.
    if (ch === '&') escape = /^&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});/.test(chars.slice(i, i + 40).join(''));
    // GFM autolinks (www.x, http://x, a@b.c) would make a model's text clickable; break their triggers.
    if (ch === ':' && next === '/' && chars[i + 2] === '/') escape = true;
    if (ch === '.' && /www$/i.test(chars.slice(Math.max(0, i - 3), i).join(''))) escape = true;
    if (ch === '@') escape = prev !== undefined && /[A-Za-z0-9._+-]/.test(prev);
    out += escape ? '\\' + ch : ch;
  });
  // A backslash only escapes punctuation: `1\.` (not `\1.`) keeps "1." from starting a list.
  return out.replace(LINE_START, (_match, space: string, marker: string) => space + marker.replace(/^(\d*)/, '$1\\'));
}

/** Longest run of `ch` in `text`. */
function longestRun(text: string, ch: string): number {
  let longest = 0;
  let current = 0;
  for (const c of text) {
    current = c === ch ? current + 1 : 0;
    if (current > longest) longest = current;
  }
  return longest;
}

/**
 * A fenced code block holding `text` verbatim. `language` is restricted to a safe word (it becomes a
 * CSS class in HTML).
 */
export function fenceCode(text: unknown, language = ''): string {
  const body = text === undefined || text === null ? '' : String(text).replace(/\r\n?/g, '\n');
  const fence = '`'.repeat(Math.max(3, longestRun(body, '`') + 1));
  const lang = /^[A-Za-z0-9_+-]{0,20}$/.test(language) ? language : '';
  return `${fence}${lang}\n${body}${body.endsWith('\n') || body === '' ? '' : '\n'}${fence}`;
}

/**
 * Inline code span (`x`) for identifiers such as model names; backticks inside are handled. Pipes are
 * backslash-escaped because GFM splits table cells on `|` even inside code spans.
 */
export function codeSpan(text: unknown): string {
  const body = (text === undefined || text === null ? '' : String(text)).replace(/\r\n?|\n/g, ' ').replace(/\|/g, '\\|');
  if (body === '') return '';
  const ticks = '`'.repeat(longestRun(body, '`') + 1);
  const pad = body.startsWith('`') || body.endsWith('`') || (body.startsWith(' ') && body.endsWith(' ')) ? ' ' : '';
  return `${ticks}${pad}${body}${pad}${ticks}`;
}

/**
 * Rich text (kinds.ts `RichText`) as Markdown: strings escaped, `{ code }` as a code span,
 * `{ strong }` as bold; anything else is escaped as its JSON text.
 */
export function richMarkdown(value: unknown): string {
  const part = (p: unknown): string => {
    if (typeof p === 'string') return escapeMarkdown(p);
    if (typeof p === 'number') return escapeMarkdown(String(p));
    if (p !== null && typeof p === 'object' && !Array.isArray(p)) {
      const { code, strong } = p as { code?: unknown; strong?: unknown };
      if (typeof code === 'string') return codeSpan(code);
      if (typeof strong === 'string' && strong.trim() !== '') return `**${escapeMarkdown(strong.trim())}**`;
    }
    return p === undefined || p === null ? '' : escapeMarkdown(JSON.stringify(p));
  };
  return Array.isArray(value) ? value.map(part).join('') : part(value);
}
