/**
 * Result kinds drawn as Markdown (and HTML): the nunjucks environment every result is drawn in (the
 * number filters, `josa`, the views, charts as SVG files), and one result on its own through the
 * macros of `templates/_macros.njk`. The report (lib/report/render.ts) draws whole documents in the
 * same environment; the kernel draws each emitted result with it (result-html.ts), so a result reads
 * the same in Jupyter and in reports/.
 */
import path from 'node:path';
import type nunjucks from 'nunjucks';
import { renderSvg } from './chart-svg.js';
import { chartFor, type Figure } from './charts.js';
import { FILTERS, josa } from './filters.js';
import { markdownToHtml, type ChartImage } from './html.js';
import { codeSpan, escapeMarkdown, fenceCode, richMarkdown } from './markdown-escape.js';
import { createMarkdownEnvironment, safe } from './markdown-env.js';
import { boundResult, omittedText, type OmittedResult } from './bounds.js';
import type { NamedResult } from './kinds.js';
import * as views from './views.js';

export interface TemplateLocation {
  /** Folder with the templates (default `<cwd>/templates`). */
  templatesDir?: string;
  /** Project root (default process.cwd()). */
  cwd?: string;
}

/** The templates folder of a render. */
export function resolveTemplatesDir(options: TemplateLocation): string {
  return path.resolve(options.templatesDir ?? path.join(options.cwd ?? process.cwd(), 'templates'));
}

/** A chart of a report: the SVG file written beside the Markdown report, and its text. */
export interface ChartFile extends ChartImage {
  /** File name, relative to the report (`<report>.<result>.svg`). */
  file: string;
  figure: Figure;
}

/** File-name part for a result name: ASCII letters, digits, `_` and `-` (others become `-`). */
function chartSlug(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);
}

/**
 * Collects the charts one render asks for. Each chart becomes an image line in the Markdown, linking
 * the SVG file that the pipeline writes beside the report; the HTML page inlines the same SVG there.
 */
export class ChartCollector {
  readonly charts: ChartFile[] = [];
  constructor(private readonly reportName: string) {}

  add(result: NamedResult | undefined, title?: string): string {
    if (!result || typeof result !== 'object' || !('kind' in result)) return '';
    const figure = chartFor(result, title);
    if (!figure) return '';
    const stem = `${this.reportName}.${chartSlug(result.name) || `chart-${this.charts.length + 1}`}`;
    // Compared without case: on case-insensitive file systems (macOS, Windows) `x-y` and `X-Y` would
    // be one file, and the second chart would overwrite the first.
    const taken = (file: string) => this.charts.some((c) => c.file.toLowerCase() === file.toLowerCase());
    let file = `${stem}.svg`;
    for (let n = 2; taken(file); n++) file = `${stem}-${n}.svg`;
    this.charts.push({ file, title: figure.title, svg: renderSvg(figure.spec), figure });
    // Blank lines around it: the image is a paragraph of its own, never part of a table.
    return `\n\n![${escapeMarkdown(figure.title)}](${file})\n\n`;
  }
}

/**
 * Registers the filters and helpers every result template uses; number filters return safe Markdown
 * (our own digits and signs).
 */
export function configureResultEnvironment(env: nunjucks.Environment, charts: ChartCollector): void {
  for (const [name, filter] of Object.entries(FILTERS)) {
    env.addFilter(name, (...args: unknown[]) => safe((filter as (...a: unknown[]) => string)(...args)));
  }
  // The word is untrusted: escape it, then add the particle chosen from its raw last sound.
  env.addFilter('josa', (word: unknown, pair: string) => {
    const joined = josa(word, pair);
    const text = word === undefined || word === null ? '' : String(word);
    return safe(escapeMarkdown(text) + joined.slice(text.length));
  });
  env.addFilter('codespan', (text: unknown) => safe(codeSpan(text)));
  env.addFilter('rich', (value: unknown) => safe(richMarkdown(value)));
  env.addFilter('clip', (text: unknown, max: number) => views.clip(String(text ?? ''), max));
  env.addGlobal('fence', (text: unknown, language?: string) => safe(fenceCode(text, language)));
  env.addGlobal('chart', (result: NamedResult | undefined, title?: string) => safe(charts.add(result, title)));
  env.addGlobal('views', views);
  env.addGlobal('formatDuration', views.formatDuration);
  env.addGlobal('omittedNotice', (result: NamedResult) => omittedText(result.name, result.value as OmittedResult));
}

/** Deterministic whitespace: no trailing spaces, at most one blank line in a row, one final newline. */
export function tidyMarkdown(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n').map((line) => line.replace(/[ \t]+$/, ''));
  const out: string[] = [];
  let inFence: string | undefined;
  for (const line of lines) {
    const fence = /^(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (inFence === undefined) inFence = fence[1];
      else if (line.startsWith(inFence) && line.trim() === inFence) inFence = undefined;
    }
    if (inFence === undefined && line === '' && out[out.length - 1] === '') continue;
    out.push(line);
  }
  while (out.length && out[0] === '') out.shift();
  while (out.length && out[out.length - 1] === '') out.pop();
  return out.join('\n') + '\n';
}

/**
 * One result on its own, through the same macro the generic report uses (`_macros.njk` `result`): the
 * Markdown, its charts (SVG), and the HTML with the charts inline. For showing a result where it was
 * emitted (the notebook UI), so it looks as it will in the report.
 */
export function renderResult(result: NamedResult, options: TemplateLocation = {}, call = 'm.result(r)'): { markdown: string; html: string; charts: ChartFile[] } {
  const bounded = boundResult(result.name, result.value) ?? result;
  const templatesDir = resolveTemplatesDir(options);
  const charts = new ChartCollector('result');
  const env = createMarkdownEnvironment(templatesDir);
  configureResultEnvironment(env, charts);
  // `call`: another macro of _macros.njk for kinds the report shows outside m.result (headline figures).
  const markdown = tidyMarkdown(env.renderString(`{% import "_macros.njk" as m %}{{ ${call} }}`, { r: bounded }));
  return { markdown, html: markdownToHtml(markdown, charts.charts), charts: charts.charts };
}

/** The Markdown of one result (see `renderResult`). */
export function renderResultMarkdown(result: NamedResult, options: TemplateLocation = {}): string {
  return renderResult(result, options).markdown;
}

/** The HTML of one result, charts inline (see `renderResult`). */
export function renderResultHtml(result: NamedResult, options: TemplateLocation = {}): string {
  return renderResult(result, options).html;
}
