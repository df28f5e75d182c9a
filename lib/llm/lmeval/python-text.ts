/**
 * Python's text semantics where lm-eval relies on them and JavaScript differs: what `str.isspace()`
 * and `strip()` call whitespace, `str.isdigit()`, and Python `re` patterns (Unicode-aware `\b`, `\w`,
 * `\d`, `\s`; `$` before a final newline; `.` stopping only at `\n`; `(?P<name>…)`; escapes JavaScript
 * rejects in Unicode mode). Task YAMLs and lm-eval's own filters are written in Python's dialect, so
 * hanlab translates each pattern once instead of guessing per call site.
 */

/** `str.isspace()` / `re`'s `\s` for str patterns (CPython's `_PyUnicode_IsWhitespace`). */
export const PYTHON_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WHITESPACE_CLASS = new RegExp(`^[${PYTHON_WHITESPACE}]$`, 'u');
/** `re`'s `\w` for str patterns: `str.isalnum()` (letters and every numeric character) or `_`. */
const WORD_CHARS = '\\p{L}\\p{N}_';
const DIGIT_CHARS = '\\p{Nd}';

export function isPythonSpace(char: string): boolean {
  return WHITESPACE_CLASS.test(char);
}

/** `str.isdigit()` for the digits `ast.literal_eval` reads back as an int (ASCII), else false. */
export function pythonIsAsciiDigits(text: string): boolean {
  return /^[0-9]+$/.test(text);
}

function stripSet(chars: string | null | undefined): (char: string) => boolean {
  if (chars === null || chars === undefined) return isPythonSpace;
  const set = new Set(chars);
  return (char) => set.has(char);
}

/** `str.lstrip(chars)`, `str.rstrip(chars)`, `str.strip(chars)`; no `chars` = Python whitespace. */
export function pythonStrip(text: string, chars?: string | null, side: 'both' | 'left' | 'right' = 'both'): string {
  const strips = stripSet(chars);
  const points = [...text];
  let start = 0;
  let end = points.length;
  if (side !== 'right') while (start < end && strips(points[start])) start++;
  if (side !== 'left') while (end > start && strips(points[end - 1])) end--;
  return points.slice(start, end).join('');
}

/** `str.split(sep=None, maxsplit=-1)`. */
export function pythonSplit(text: string, sep?: string | null, maxsplit = -1): string[] {
  if (sep === null || sep === undefined) {
    const parts: string[] = [];
    const points = [...text];
    let i = 0;
    while (i < points.length) {
      while (i < points.length && isPythonSpace(points[i])) i++;
      if (i >= points.length) break;
      if (maxsplit >= 0 && parts.length === maxsplit) {
        parts.push(points.slice(i).join(''));
        return parts;
      }
      let j = i;
      while (j < points.length && !isPythonSpace(points[j])) j++;
      parts.push(points.slice(i, j).join(''));
      i = j;
    }
    return parts;
  }
  if (sep === '') throw new Error('empty separator');
  const parts = text.split(sep);
  if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
  return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(sep)];
}

// ---------------------------------------------------------------------------------------------------
// Regular expressions

export interface PythonRegexFlags {
  ignoreCase?: boolean;
  multiline?: boolean;
  dotAll?: boolean;
}

/** A pattern Python's `re` accepts but this translation does not (yet): named, never approximated. */
export class UnsupportedPythonRegex extends Error {}

const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/');
const SIMPLE_ESCAPES: Record<string, string> = { a: '\\x07', f: '\\f', n: '\\n', r: '\\r', t: '\\t', v: '\\v', '0': '\\0' };
const WORD_BOUNDARY = `(?:(?<=[${WORD_CHARS}])(?![${WORD_CHARS}])|(?<![${WORD_CHARS}])(?=[${WORD_CHARS}]))`;
const NOT_WORD_BOUNDARY = `(?:(?<=[${WORD_CHARS}])(?=[${WORD_CHARS}])|(?<![${WORD_CHARS}])(?![${WORD_CHARS}]))`;

function quantifierAt(pattern: string, i: number): string | null {
  const match = /^\{(\d*)(,(\d*))?\}/.exec(pattern.slice(i));
  if (!match) return null;
  const [, min, comma, max] = match;
  if (min === '' && (comma === undefined || max === '')) return null; // `{}`, `{,}`: literal in Python
  return match[0];
}

/**
 * Translates a Python `re` pattern (str pattern, Unicode semantics) into an equivalent JavaScript
 * RegExp source and flags (always `u`). Throws UnsupportedPythonRegex for what it cannot state exactly:
 * verbose mode, atomic groups and possessive quantifiers, conditionals, `\W`/`\S`/`\D` inside a class.
 */
export function translatePythonRegex(pattern: string, flags: PythonRegexFlags = {}): { source: string; flags: string } {
  let { ignoreCase = false, multiline = false, dotAll = false } = flags;
  let i = 0;
  // Leading global inline flags: (?aiLmsux)
  for (;;) {
    const inline = /^\(\?([aiLmsux]+)\)/.exec(pattern.slice(i));
    if (!inline) break;
    for (const flag of inline[1]) {
      if (flag === 'i') ignoreCase = true;
      else if (flag === 'm') multiline = true;
      else if (flag === 's') dotAll = true;
      else if (flag === 'u') continue;
      else throw new UnsupportedPythonRegex(`inline flag (?${flag}) is not supported`);
    }
    i += inline[0].length;
  }
  let out = '';
  let inClass = false;
  let classStart = false;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) throw new UnsupportedPythonRegex('pattern ends with a lone backslash');
      i += 2;
      if (next === 'd') out += inClass ? DIGIT_CHARS : `[${DIGIT_CHARS}]`;
      else if (next === 'w') out += inClass ? WORD_CHARS : `[${WORD_CHARS}]`;
      else if (next === 's') out += inClass ? PYTHON_WHITESPACE : `[${PYTHON_WHITESPACE}]`;
      else if (next === 'D' || next === 'W' || next === 'S') {
        if (inClass) throw new UnsupportedPythonRegex(`\\${next} inside a character class is not supported`);
        out += `[^${next === 'D' ? DIGIT_CHARS : next === 'W' ? WORD_CHARS : PYTHON_WHITESPACE}]`;
      } else if (next === 'b') out += inClass ? '\\x08' : WORD_BOUNDARY;
      else if (next === 'B') {
        if (inClass) throw new UnsupportedPythonRegex('\\B inside a character class');
        out += NOT_WORD_BOUNDARY;
      } else if (next === 'A') out += '(?<![\\s\\S])';
      else if (next === 'Z') out += '(?![\\s\\S])';
      else if (next === 'x') {
        const hex = pattern.slice(i, i + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new UnsupportedPythonRegex(`bad escape \\x${hex}`);
        out += `\\x${hex}`;
        i += 2;
      } else if (next === 'u' || next === 'U') {
        const length = next === 'u' ? 4 : 8;
        const hex = pattern.slice(i, i + length);
        if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(hex)) throw new UnsupportedPythonRegex(`bad escape \\${next}${hex}`);
        out += `\\u{${hex}}`;
        i += length;
      } else if (next === 'N') throw new UnsupportedPythonRegex('\\N{...} escapes are not supported');
      else if (Object.hasOwn(SIMPLE_ESCAPES, next) && !(next === '0' && /[0-7]/.test(pattern[i] ?? ''))) out += SIMPLE_ESCAPES[next];
      else if (/[0-9]/.test(next)) {
        if (inClass || next === '0') throw new UnsupportedPythonRegex('octal escapes are not supported');
        let digits = next;
        while (digits.length < 2 && /[0-9]/.test(pattern[i] ?? '')) digits += pattern[i++];
        out += `\\${digits}`;
      } else if (/[A-Za-z]/.test(next)) throw new UnsupportedPythonRegex(`bad escape \\${next}`);
      else if (JS_SYNTAX.has(next) || (inClass && next === '-')) out += `\\${next}`;
      else out += next === '\n' ? '\\n' : next; // Python lets any other punctuation be escaped; JS's u mode does not
      classStart = false;
      continue;
    }
    if (inClass) {
      if (c === ']' && !classStart) {
        inClass = false;
        out += ']';
      } else if (c === ']') out += '\\]';
      else if (c === '[') out += '\\[';
      else if (c === '^' && classStart && out.endsWith('[')) {
        out += '^';
        i++;
        continue; // a `]` right after `[^` is still literal
      } else if (c === '&' && pattern[i + 1] === '&') throw new UnsupportedPythonRegex('&& in a class');
      else out += c;
      classStart = false;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      classStart = true;
      out += '[';
      i++;
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2);
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 4;
      } else if (rest.startsWith('P=')) {
        const end = pattern.indexOf(')', i);
        out += `\\k<${pattern.slice(i + 4, end)}>`;
        i = end + 1;
      } else if (rest.startsWith('#')) {
        i = pattern.indexOf(')', i) + 1;
        if (i === 0) throw new UnsupportedPythonRegex('unterminated comment');
      } else if (/^(:|=|!|<=|<!|<[A-Za-z_])/.test(rest)) {
        out += '(?';
        i += 2;
      } else throw new UnsupportedPythonRegex(`group (?${rest.slice(0, 2)}… is not supported`);
      continue;
    }
    if (c === '.') out += dotAll ? '[\\s\\S]' : '[^\\n]';
    else if (c === '$') out += multiline ? '(?=\\n|(?![\\s\\S]))' : '(?=\\n?(?![\\s\\S]))';
    else if (c === '^') out += multiline ? '(?:(?<![\\s\\S])|(?<=\\n))' : '(?<![\\s\\S])';
    else if (c === '{') {
      const quantifier = quantifierAt(pattern, i);
      if (quantifier) {
        out += quantifier.replace(/^\{,/, '{0,');
        i += quantifier.length;
        if (pattern[i] === '+') throw new UnsupportedPythonRegex('possessive quantifiers are not supported');
        continue;
      }
      out += '\\{';
    } else if (c === '}') out += '\\}';
    else if ((c === '*' || c === '+' || c === '?') && pattern[i + 1] === '+') throw new UnsupportedPythonRegex('possessive quantifiers are not supported');
    else if (c === '\n') out += '\\n';
    else out += c;
    i++;
  }
  if (inClass) throw new UnsupportedPythonRegex('unterminated character set');
  return { source: out, flags: `u${ignoreCase ? 'i' : ''}` };
}

const compiled = new Map<string, RegExp>();

/** A global (`g`) RegExp that behaves as Python's `re.compile(pattern, flags)` for findall / sub. */
export function pythonRegExp(pattern: string, flags: PythonRegexFlags = {}): RegExp {
  const key = `${flags.ignoreCase ? 'i' : ''}${flags.multiline ? 'm' : ''}${flags.dotAll ? 's' : ''}\u0000${pattern}`;
  let regex = compiled.get(key);
  if (!regex) {
    const { source, flags: jsFlags } = translatePythonRegex(pattern, flags);
    try {
      regex = new RegExp(source, `${jsFlags}g`);
    } catch (error) {
      throw new UnsupportedPythonRegex(`cannot translate: ${(error as Error).message}`);
    }
    compiled.set(key, regex);
  }
  return new RegExp(regex.source, regex.flags);
}

/**
 * `re.sub(pattern, replacement, text)` with a literal replacement (lm-eval passes ""). With the `u` flag
 * an empty match advances by one code point, as Python's matcher does, and an empty match right after
 * a non-empty one is replaced too (Python ≥ 3.7 and JavaScript agree there).
 */
export function pythonSub(pattern: string, replacement: string, text: string, flags?: PythonRegexFlags): string {
  return text.replace(pythonRegExp(pattern, flags), () => replacement);
}
