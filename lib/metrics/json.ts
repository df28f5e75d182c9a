/**
 * JSON text for metric results, one encoding everywhere (`hanlab eval … --json`, `align --json`,
 * `explain --json`):
 *
 * - Non-finite numbers are written as the bare tokens `NaN`, `Infinity` and `-Infinity`, as Python's
 *   `json` module writes them (`allow_nan=True`, its default). A macro average over no entity type is
 *   NaN in seqeval and scikit-learn, and stays NaN here: `json.loads` in Python reads it back exactly,
 *   `parseMetricsJson` does in JavaScript, and jq reads it as null. (`JSON.stringify` would write
 *   `null`, which cannot be told from a missing value; a string `"NaN"` cannot be told from a label.)
 * - Key order is kept where it is part of the result (`OrderedRecord`): a JavaScript object lists
 *   integer-like keys (`"2"`, `"10"`) first whatever the insertion order, seqeval and scikit-learn do
 *   not, and people diff these files.
 *
 * `previewJson` gives a short, bounded preview of any value for error messages, so that a value nested
 * 100,000 levels deep cannot overflow the stack while the message is being built.
 */
import { HanlabError } from '../errors.js';

/** An object whose keys keep their order in JSON text, integer-like or not. */
export class OrderedRecord<V = unknown> {
  constructor(readonly entries: ReadonlyArray<readonly [string, V]>) {}

  /** The value of `key` (first entry with that key). */
  get(key: string): V | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }
}

/** Results nest a few levels; anything deeper than this is a bug or hostile input, not a result. */
export const MAX_JSON_DEPTH = 1000;

/** A value that cannot be written as metrics JSON (too deep, a bigint, a cycle). */
export class MetricsJsonError extends HanlabError {}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return JSON.stringify(value);
}

/**
 * `JSON.stringify(value)` (no indentation) except that NaN and ±Infinity are written as Python does and
 * `OrderedRecord`s keep their key order. Objects with `toJSON` (dates) are converted as JSON.stringify does.
 */
export function stringifyMetricsJson(value: unknown): string {
  const parts: string[] = [];
  const open = new Set<object>();
  const write = (v: unknown, key: string, depth: number, inArray: boolean): boolean => {
    if (depth > MAX_JSON_DEPTH) throw new MetricsJsonError(`the result is nested more than ${MAX_JSON_DEPTH} levels deep; it cannot be written as JSON`);
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function' && !(v instanceof OrderedRecord)) {
      v = (v as { toJSON(key: string): unknown }).toJSON(key);
    }
    switch (typeof v) {
      case 'number':
        parts.push(numberText(v));
        return true;
      case 'string':
        parts.push(JSON.stringify(v));
        return true;
      case 'boolean':
        parts.push(v ? 'true' : 'false');
        return true;
      case 'bigint':
        throw new MetricsJsonError(`a bigint (${key}) cannot be written as JSON`);
      case 'undefined':
      case 'function':
      case 'symbol':
        if (inArray) parts.push('null');
        return inArray;
    }
    if (v === null) {
      parts.push('null');
      return true;
    }
    const object = v as object;
    if (open.has(object)) throw new MetricsJsonError(`the result refers to itself (at "${key}"); it cannot be written as JSON`);
    open.add(object);
    if (Array.isArray(object)) {
      parts.push('[');
      object.forEach((item, i) => {
        if (i > 0) parts.push(',');
        write(item, String(i), depth + 1, true);
      });
      parts.push(']');
    } else {
      const entries = object instanceof OrderedRecord ? object.entries : Object.entries(object);
      parts.push('{');
      let first = true;
      for (const [k, item] of entries) {
        const mark = parts.length;
        parts.push(first ? '' : ',', JSON.stringify(k), ':');
        if (write(item, k, depth + 1, false)) first = false;
        else parts.length = mark; // undefined values are left out, as JSON.stringify does
      }
      parts.push('}');
    }
    open.delete(object);
    return true;
  };
  write(value, '', 0, false);
  return parts.join('');
}

const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };


/**
 * A character that no string of `text` can hold: neither the raw character nor its `\uXXXX` escape
 * occurs in the text. Noncharacters are tried; real JSON never uses them.
 */
function absentCharacter(text: string): string {
  const lower = text.toLowerCase();
  for (let code = 0xfdd0; code <= 0xfdef; code++) {
    const ch = String.fromCharCode(code);
    if (!text.includes(ch) && !lower.includes(`\\u${code.toString(16)}`)) return ch;
  }
  throw new MetricsJsonError('cannot read this JSON: it uses every noncharacter U+FDD0–U+FDEF');
}

/**
 * Parses metrics JSON: standard JSON plus the bare tokens `NaN`, `Infinity`, `-Infinity` (Python's
 * extension). Written by hand around `JSON.parse` (rather than a JSON5 parser, which reads far more
 * than this one extension and parses character by character in JavaScript): each token outside a
 * string becomes a string starting with a character that no string of the text holds, and a reviver
 * turns those back into numbers, so JSON.parse keeps its speed and its strictness.
 */
export function parseMetricsJson(text: string): unknown {
  const out: string[] = [];
  let last = 0;
  let marker = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      // Skip the string, escapes included.
      for (i++; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5c) i++;
        else if (c === 0x22) break;
      }
      continue;
    }
    if (ch !== 0x4e && ch !== 0x49 && ch !== 0x2d) continue; // N, I, -
    for (const token of ['NaN', 'Infinity', '-Infinity']) {
      if (text.startsWith(token, i)) {
        marker ||= absentCharacter(text);
        out.push(text.slice(last, i), JSON.stringify(marker + token));
        i += token.length - 1;
        last = i + 1;
        break;
      }
    }
  }
  if (!marker) return JSON.parse(text);
  out.push(text.slice(last));
  return JSON.parse(out.join(''), (_key, value) => {
    if (typeof value === 'string' && value.startsWith(marker)) return NON_FINITE[value.slice(marker.length)];
    return value;
  });
}

/**
 * A short preview of any value for an error message: JSON-like text cut at `maxChars` characters
 * (with `…`), built without recursion deeper than the budget allows.
 */
export function previewJson(value: unknown, maxChars = 60): string {
  let out = '';
  // One character over the budget shows that something was cut.
  const full = (): boolean => out.length > maxChars;
  const write = (v: unknown): void => {
    if (full()) return;
    if (typeof v === 'number') out += numberText(v);
    else if (typeof v === 'string') out += JSON.stringify(v.length > maxChars ? v.slice(0, maxChars) : v);
    else if (typeof v === 'boolean' || v === null) out += String(v);
    else if (v === undefined) out += 'undefined';
    else if (typeof v !== 'object') out += typeof v;
    else if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length && !full(); i++) {
        if (i > 0) out += ',';
        write(v[i]);
      }
      if (!full()) out += ']';
    } else {
      out += '{';
      let first = true;
      for (const key in v as object) {
        if (full()) break;
        if (!Object.hasOwn(v as object, key)) continue;
        out += (first ? '' : ',') + JSON.stringify(key) + ':';
        first = false;
        write((v as Record<string, unknown>)[key]);
      }
      if (!full()) out += '}';
    }
  };
  write(value);
  return out.length > maxChars ? out.slice(0, maxChars) + '…' : out;
}
