/**
 * lm-eval's prompt templates (`doc_to_text`, `doc_to_target`, `doc_to_choice`, `description`) rendered
 * with nunjucks the way lm-eval renders them with jinja2: `Environment(undefined=StrictUndefined,
 * keep_trailing_newline=True)`, no autoescape, the document's fields as variables, and the
 * `regex_replace` filter lm-eval registers.
 *
 * Jinja2 templates call Python methods on values (`question.strip()`); nunjucks would look them up on
 * JavaScript strings, where they do not exist or mean something else (`'a b'.split()`). During one
 * synchronous render the member lookup answers Python's string and list methods instead (restored
 * afterwards, so the report templates never see it): strip/lstrip/rstrip, upper/lower, split, replace,
 * startswith/endswith, join, and negative list indexes.
 */
import nunjucks from 'nunjucks';
import { pythonStrip, pythonSplit, pythonSub } from './python-text.js';

/** A template failed to render (a missing field, a call nunjucks cannot make). */
export class TemplateError extends Error {}

type Method = (...args: unknown[]) => unknown;

function asText(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TemplateError(`${what} expects a string argument`);
  return value;
}

function optionalChars(value: unknown): string | null {
  return value === undefined || value === null ? null : asText(value, 'strip');
}

const STRING_METHODS: Record<string, (self: string) => Method> = {
  strip: (self) => (chars) => pythonStrip(self, optionalChars(chars), 'both'),
  lstrip: (self) => (chars) => pythonStrip(self, optionalChars(chars), 'left'),
  rstrip: (self) => (chars) => pythonStrip(self, optionalChars(chars), 'right'),
  upper: (self) => () => self.toUpperCase(),
  lower: (self) => () => self.toLowerCase(),
  split: (self) => (sep, maxsplit) => pythonSplit(self, sep === undefined || sep === null ? null : asText(sep, 'split'), typeof maxsplit === 'number' ? maxsplit : -1),
  replace: (self) => (old, replacement, count) => {
    const from = asText(old, 'replace');
    const to = asText(replacement, 'replace');
    const limit = typeof count === 'number' && count >= 0 ? count : Infinity;
    if (from === '') {
      const points = [...self];
      const parts: string[] = [];
      let done = 0;
      for (let i = 0; i <= points.length; i++) {
        if (done < limit) {
          parts.push(to);
          done++;
        }
        if (i < points.length) parts.push(points[i]);
      }
      return parts.join('');
    }
    const pieces = self.split(from);
    if (pieces.length - 1 <= limit) return pieces.join(to);
    return pieces.slice(0, limit + 1).join(to) + from + pieces.slice(limit + 1).join(from);
  },
  startswith: (self) => (prefix) => self.startsWith(asText(prefix, 'startswith')),
  endswith: (self) => (suffix) => self.endsWith(asText(suffix, 'endswith')),
  join: (self) => (items) => {
    if (!Array.isArray(items)) throw new TemplateError('join expects a list');
    return items.map((item) => asText(item, 'join')).join(self);
  },
};

function pythonMemberLookup(original: (obj: unknown, key: unknown) => unknown) {
  return (obj: unknown, key: unknown): unknown => {
    if (typeof obj === 'string' && typeof key === 'string' && Object.hasOwn(STRING_METHODS, key)) return STRING_METHODS[key](obj);
    if (Array.isArray(obj) && typeof key === 'number' && Number.isInteger(key)) {
      const index = key < 0 ? obj.length + key : key;
      if (index < 0 || index >= obj.length) throw new TemplateError(`list index ${key} out of range (${obj.length} items)`);
      return obj[index];
    }
    return original(obj, key);
  };
}

const environment = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });
environment.addFilter('regex_replace', (text: unknown, pattern: unknown, replacement: unknown) =>
  pythonSub(asText(pattern, 'regex_replace'), asText(replacement, 'regex_replace'), asText(text, 'regex_replace')),
);

const compiledTemplates = new Map<string, nunjucks.Template>();

interface NunjucksRuntime {
  memberLookup: (obj: unknown, key: unknown) => unknown;
}

/**
 * `utils.apply_template(template, doc)`: renders `template` with the document's fields as variables.
 * Throws TemplateError naming what failed (an undefined field, a bad call).
 */
export function applyTemplate(template: string, doc: Record<string, unknown>): string {
  let compiled = compiledTemplates.get(template);
  try {
    if (!compiled) {
      compiled = new nunjucks.Template(template, environment, undefined, true);
      compiledTemplates.set(template, compiled);
    }
  } catch (error) {
    throw new TemplateError(`template does not parse: ${firstLine(error)}`);
  }
  const runtime = (nunjucks as unknown as { runtime: NunjucksRuntime }).runtime;
  const original = runtime.memberLookup;
  runtime.memberLookup = pythonMemberLookup(original);
  try {
    // A plain object with the document's own fields: no inherited names reach the template.
    const context = Object.assign(Object.create(null) as Record<string, unknown>, doc);
    return compiled.render(context);
  } catch (error) {
    throw error instanceof TemplateError ? error : new TemplateError(firstLine(error));
  } finally {
    runtime.memberLookup = original;
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // nunjucks prefixes "(unknown path) [Line 1, Column 5]\n  "; keep its position and the reason.
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
