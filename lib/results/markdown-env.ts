/**
 * The nunjucks environment for Markdown templates: every `{{ value }}` is escaped for Markdown by
 * default, the way nunjucks autoescapes HTML, so a template cannot forget to escape a model answer.
 *
 * nunjucks has no per-environment escape function: compiled templates call
 * `runtime.suppressValue(value, env.opts.autoescape)`. We give the Markdown environment a marker as its
 * `autoescape` option and wrap `suppressValue` once to use Markdown escaping when it sees that marker;
 * every other environment (the HTML page) keeps nunjucks' own HTML escaping untouched.
 */
import nunjucks from 'nunjucks';
import { escapeMarkdown } from './markdown-escape.js';

/** The `autoescape` option value that selects Markdown escaping. Truthy, so nunjucks treats it as "on". */
export const MARKDOWN_AUTOESCAPE = 'hanlab-markdown';

type SuppressValue = (value: unknown, autoescape: unknown) => unknown;
const runtime = (nunjucks as unknown as { runtime: { suppressValue: SuppressValue & { hanlabMarkdown?: true }; SafeString: typeof nunjucks.runtime.SafeString } }).runtime;

function installMarkdownEscaping(): void {
  if (runtime.suppressValue.hanlabMarkdown) return;
  const original = runtime.suppressValue;
  const wrapped: SuppressValue & { hanlabMarkdown?: true } = (value, autoescape) => {
    if (autoescape !== MARKDOWN_AUTOESCAPE) return original(value, autoescape);
    if (value === undefined || value === null) return '';
    if (value instanceof runtime.SafeString) return value;
    return escapeMarkdown(String(value));
  };
  wrapped.hanlabMarkdown = true;
  runtime.suppressValue = wrapped;
}

/** Marks text as already safe Markdown (our own formatting, never untrusted text). */
export function safe(text: string): nunjucks.runtime.SafeString {
  return new nunjucks.runtime.SafeString(text);
}

/** A Markdown-escaping environment over `templatesDir`; templates are re-read on every render. */
export function createMarkdownEnvironment(templatesDir: string): nunjucks.Environment {
  installMarkdownEscaping();
  const loader = new nunjucks.FileSystemLoader(templatesDir, { noCache: true });
  return new nunjucks.Environment(loader, {
    autoescape: MARKDOWN_AUTOESCAPE as unknown as boolean,
    trimBlocks: true,
    lstripBlocks: true,
    throwOnUndefined: false,
  });
}

/** The HTML environment (nunjucks' own HTML autoescape) for the page around the rendered Markdown. */
export function createHtmlEnvironment(templatesDir: string): nunjucks.Environment {
  const loader = new nunjucks.FileSystemLoader(templatesDir, { noCache: true });
  return new nunjucks.Environment(loader, { autoescape: true, trimBlocks: true, lstripBlocks: true });
}
