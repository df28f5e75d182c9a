/**
 * Where JSON text stops being JSON, for error messages that name the line and column. JSON.parse gives a
 * position for some errors only ("… in JSON at position 15"); for others V8 quotes the source around the
 * error instead ("Unexpected token '}', "…" is not valid JSON"), line ends included, which would break a
 * one-line message. Hand-written because no JSON parser we use reports positions: it only scans the
 * syntax of RFC 8259, after JSON.parse has failed, iteratively so that deep nesting cannot overflow the
 * stack.
 */
import { InputError } from '../errors.js';

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/** Offset of the first character where `text` stops being one JSON value, or -1 when it is one. */
export function jsonErrorOffset(text: string): number {
  const n = text.length;
  let i = 0;
  const skipSpace = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
  };
  /** Scans a string at `i`; false (with `i` at the bad character) when it is not one. */
  const string = (): boolean => {
    if (text[i] !== '"') return false;
    for (i++; i < n; i++) {
      const c = text[i];
      if (c === '"') {
        i++;
        return true;
      }
      if (c.charCodeAt(0) < 0x20) return false;
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
          i += 5;
        } else if (e !== undefined && ESCAPES.has(e)) i++;
        else return false;
      }
    }
    return false;
  };
  /** Scans `"key" :` inside an object. */
  const key = (): boolean => {
    skipSpace();
    if (!string()) return false;
    skipSpace();
    if (text[i] !== ':') return false;
    i++;
    return true;
  };
  const open: string[] = []; // the closing bracket each open container needs
  for (;;) {
    // A value is expected at `i`.
    skipSpace();
    const c = text[i];
    if (c === '{' || c === '[') {
      i++;
      skipSpace();
      const close = c === '{' ? '}' : ']';
      if (text[i] === close) i++;
      else {
        open.push(close);
        if (close === '}' && !key()) return i;
        continue;
      }
    } else if (c === '"') {
      if (!string()) return i;
    } else if (c === 't' || c === 'f' || c === 'n') {
      const literal = c === 't' ? 'true' : c === 'f' ? 'false' : 'null';
      let k = 0;
      while (k < literal.length && text[i + k] === literal[k]) k++;
      i += k;
      if (k < literal.length) return i; // at the first character that breaks it, as JSON.parse says
    } else {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) return i;
      i = NUMBER.lastIndex;
    }
    // After a value: a comma, a closing bracket, or the end.
    for (;;) {
      skipSpace();
      if (open.length === 0) return i === n ? -1 : i;
      const close = open[open.length - 1];
      if (text[i] === ',') {
        i++;
        if (close === '}' && !key()) return i;
        break;
      }
      if (text[i] !== close) return i;
      i++;
      open.pop();
    }
  }
}

/**
 * V8's reason without the quoted source and position, on one line, e.g. `Expected ',' or '}' after
 * property value` (the token itself may be a line end: `Unexpected token '\n'`).
 */
function reasonOf(message: string): string {
  const positioned = /^(.*?) in JSON at position \d+/s.exec(message);
  const token = /^(Unexpected token '.*?'), (?:\.\.\.)?"/s.exec(message);
  let reason = positioned ? positioned[1] : token ? token[1] : message.split('\n')[0];
  reason = reason.replace(/[\u0000-\u001f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return reason.length > 120 ? `${reason.slice(0, 117)}...` : reason;
}

/**
 * The InputError for JSON text that JSON.parse refused: the line and column where it stops being JSON
 * (counted from `firstLine`), and JSON.parse's reason on one line.
 */
export function jsonSyntaxError(text: string, error: unknown, where: { file?: string; firstLine?: number; what?: string } = {}): InputError {
  const offset = jsonErrorOffset(text);
  const reason = reasonOf(error instanceof Error ? error.message : String(error));
  const what = where.what ?? 'not valid JSON';
  if (offset < 0) return new InputError(`${what} (${reason})`, { file: where.file, line: where.firstLine }, { cause: error });
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  const line = (where.firstLine ?? 1) + (before.length - before.replace(/\n/g, '').length);
  const column = [...before.slice(lineStart)].length + 1;
  const at = offset >= text.length ? 'at the end' : `at column ${column}`;
  return new InputError(`${what} ${at} (${reason})`, { file: where.file, line }, { cause: error });
}
