/**
 * Executed notebook → report. One model (`buildReportModel`: results, findings, headline figures, run
 * metadata) feeds two reporters: Markdown (nunjucks templates, Markdown-escaped) and HTML (that same
 * Markdown through marked into a self-contained page with charts).
 *
 * Deterministic: nothing here reads the clock, the environment or the file system beyond the
 * templates, so the same executed notebook always gives byte-identical Markdown and HTML. Run times
 * and dates come from the notebook's run metadata and appear only in the closing 실행 정보 section.
 */
import path from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import type nunjucks from 'nunjucks';
import { InputError } from '../errors.js';
import type { Notebook } from '../notebook/nbformat.js';
import { readResults } from '../results/read.js';
import { renderSvg } from '../results/chart-svg.js';
import { chartFor, type Figure } from '../results/charts.js';
import { FILTERS, josa } from '../results/filters.js';
import { INTERPRETATION_TABLE, findFindings, interpretLevel, levelInput, type Finding, type LevelVerdict } from './findings.js';
import { markdownToHtml, renderPage, type ChartImage } from '../results/html.js';
import { codeSpan, escapeMarkdown, fenceCode, richMarkdown } from '../results/markdown-escape.js';
import { createMarkdownEnvironment, safe } from '../results/markdown-env.js';
import { boundResult, omittedText, type OmittedResult } from '../results/bounds.js';
import { classifyResult, type EnvironmentResult, type HeadlineFigure, type NamedResult } from '../results/kinds.js';
import * as views from '../results/views.js';

export interface RenderOptions {
  /** Folder with the templates (default `<cwd>/templates`). */
  templatesDir?: string;
  /** The notebook's path, for error messages and the default report name. */
  file?: string;
  /** Project root for resolving plotly.js (default process.cwd()). */
  cwd?: string;
}

/** What the notebook declares under `metadata.hanlab.report`, with defaults filled in. */
export interface ReportSettings {
  template: string;
  name: string;
  title: string;
  inputs: string[];
  parameters?: Record<string, unknown>;
}

/** Everything a template sees. */
export interface ReportModel {
  report: ReportSettings;
  results: NamedResult[];
  /** Results by name (null prototype: names are the notebook author's text). */
  result: Record<string, NamedResult>;
  findings: Finding[];
  /** Study 004's verdict, when accuracy and F1 are known. */
  level?: LevelVerdict;
  headline: HeadlineFigure[];
  /** 실행 환경 rows from `environment` results. */
  environment: views.InfoRow[];
  /** 재현 정보 rows from the run metadata (git commit, data hashes, parameters, kernel, device, times). */
  run: views.InfoRow[];
  /** Korean notices for results left out because they passed a depth or size bound. */
  omitted: string[];
}

const NAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}._-]{0,99}$/u;
const TEMPLATE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads and checks `metadata.hanlab.report`; every field is optional (generic template, file name). */
export function reportSettings(notebook: Notebook, file?: string): ReportSettings {
  const raw = notebook.metadata.hanlab?.report;
  const field = (name: string) => ({ file, field: `metadata.hanlab.report.${name}` });
  if (raw !== undefined && !isRecord(raw)) throw new InputError('must be an object', { file, field: 'metadata.hanlab.report' });
  const report = (raw ?? {}) as Record<string, unknown>;
  const fallbackName = file ? path.basename(file).replace(/\.ipynb$/i, '') : 'report';
  const name = report.name ?? fallbackName;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name) || name === 'index') {
    throw new InputError(`report name ${JSON.stringify(name)} must be letters, digits, ".", "_" or "-" (it becomes the file name) and not "index"`, field('name'));
  }
  const template = report.template ?? 'generic';
  if (typeof template !== 'string' || !TEMPLATE_PATTERN.test(template)) {
    throw new InputError(`template ${JSON.stringify(template)} must be a template name such as "sentiment" (templates/sentiment.njk)`, field('template'));
  }
  const title = report.title ?? name;
  if (typeof title !== 'string' || title.trim() === '') throw new InputError('title must be a non-empty string', field('title'));
  const inputs = report.inputs ?? [];
  if (!Array.isArray(inputs) || !inputs.every((input) => typeof input === 'string' && input !== '')) {
    throw new InputError('inputs must be a list of file paths (relative to the project root)', field('inputs'));
  }
  if (report.parameters !== undefined && !isRecord(report.parameters)) throw new InputError('parameters must be an object', field('parameters'));
  return { template, name, title, inputs: inputs as string[], parameters: report.parameters as Record<string, unknown> | undefined };
}

/** The model every template renders from. */
export function buildReportModel(notebook: Notebook, file?: string): ReportModel {
  const settings = reportSettings(notebook, file);
  const raw = readResults(notebook, file);
  // Bounded first: a result nested thousands of levels deep (or megabytes long) becomes a notice.
  const results = Object.keys(raw).map((name) => boundResult(name, raw[name]) ?? classifyResult(name, raw[name], file));
  const byName = Object.create(null) as Record<string, NamedResult>;
  for (const result of results) byName[result.name] = result;
  const input = levelInput(results);
  const environment = results.filter((r) => r.kind === 'environment').flatMap((r) => views.environmentRows(r.value as EnvironmentResult));
  const hanlab = notebook.metadata.hanlab ?? {};
  const inputHashes = isRecord(hanlab.report) && isRecord(hanlab.report.inputHashes) ? (hanlab.report.inputHashes as Record<string, string>) : undefined;
  // A notebook may title the report from its data (which model, which file): a `report-title` string.
  const emittedTitle = byName['report-title']?.value;
  const title = typeof emittedTitle === 'string' && emittedTitle.trim() !== '' ? emittedTitle.trim() : settings.title;
  return {
    report: { ...settings, title },
    results,
    result: byName,
    findings: findFindings(results),
    level: input ? interpretLevel(input) : undefined,
    headline: views.headlineFigures(results),
    environment,
    run: views.runRows(hanlab.run, inputHashes),
    omitted: results.filter((r) => r.kind === 'omitted').map((r) => omittedText(r.name, r.value as OmittedResult)),
  };
}

/** Report template names in a templates folder: `<name>.njk`, not partials (`_x.njk`) nor the index. */
export function availableTemplates(templatesDir: string): string[] {
  if (!existsSync(templatesDir)) return [];
  return readdirSync(templatesDir)
    .filter((f) => f.endsWith('.njk') && !f.startsWith('_') && f !== 'index.njk')
    .map((f) => f.slice(0, -'.njk'.length))
    .sort();
}

function resolveTemplatesDir(options: RenderOptions): string {
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
class ChartCollector {
  readonly charts: ChartFile[] = [];
  constructor(private readonly reportName: string) {}

  add(result: NamedResult | undefined, title?: string): string {
    if (!result || typeof result !== 'object' || !('kind' in result)) return '';
    const figure = chartFor(result, title);
    if (!figure) return '';
    const stem = `${this.reportName}.${chartSlug(result.name) || `chart-${this.charts.length + 1}`}`;
    let file = `${stem}.svg`;
    for (let n = 2; this.charts.some((c) => c.file === file); n++) file = `${stem}-${n}.svg`;
    this.charts.push({ file, title: figure.title, svg: renderSvg(figure.spec), figure });
    // Blank lines around it: the image is a paragraph of its own, never part of a table.
    return `\n\n![${escapeMarkdown(figure.title)}](${file})\n\n`;
  }
}

/** Registers filters and helpers; number filters return safe Markdown (our own digits and signs). */
function configure(env: nunjucks.Environment, charts: ChartCollector): void {
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
  env.addGlobal('levels', INTERPRETATION_TABLE);
  env.addGlobal('formatDuration', views.formatDuration);
  env.addGlobal('omittedNotice', (result: NamedResult) => omittedText(result.name, result.value as OmittedResult));
}

/** Deterministic whitespace: no trailing spaces, at most one blank line in a row, one final newline. */
function tidyMarkdown(text: string): string {
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

export interface RenderedReport {
  model: ReportModel;
  markdown: string;
  html: string;
  /** The chart SVGs the Markdown links (write them beside it); the HTML inlines them. */
  charts: ChartFile[];
}

function renderMarkdownWithCharts(context: object, options: RenderOptions, template: string) {
  const templatesDir = resolveTemplatesDir(options);
  if (!existsSync(path.join(templatesDir, `${template}.njk`))) {
    const known = availableTemplates(templatesDir);
    throw new InputError(
      `template "${template}" not found in ${templatesDir} (available: ${known.join(', ') || 'none'})`,
      { file: options.file, field: 'metadata.hanlab.report.template' },
    );
  }
  const reportName = (context as { report?: { name?: string } }).report?.name ?? template;
  const charts = new ChartCollector(reportName);
  const env = createMarkdownEnvironment(templatesDir);
  configure(env, charts);
  const markdown = tidyMarkdown(env.render(`${template}.njk`, context));
  return { markdown, charts: charts.charts, templatesDir };
}

/** The Markdown report. Byte-identical for the same notebook and templates. */
export function renderMarkdown(notebook: Notebook, options: RenderOptions = {}): string {
  const model = buildReportModel(notebook, options.file);
  return renderMarkdownWithCharts(model, options, model.report.template).markdown;
}

/** Markdown and the self-contained HTML page from one render. */
export function renderDocuments(notebook: Notebook, options: RenderOptions = {}): RenderedReport {
  const model = buildReportModel(notebook, options.file);
  const { markdown, charts, templatesDir } = renderMarkdownWithCharts(model, options, model.report.template);
  const html = renderPage({ title: model.report.title, markdown, charts, templatesDir, cwd: options.cwd });
  return { model, markdown, html, charts };
}

/** The HTML report alone. */
export function renderHtml(notebook: Notebook, options: RenderOptions = {}): string {
  return renderDocuments(notebook, options).html;
}

/** One line of the index: a report and its headline figures. */
export interface IndexEntry {
  name: string;
  title: string;
  template: string;
  headline: HeadlineFigure[];
  findings: Finding[];
}

/**
 * `index.md` and `index.html` listing every report. Links point at `<name>.md` from the Markdown
 * index and at `<name>.html` from the HTML index.
 */
export function renderIndex(entries: IndexEntry[], options: RenderOptions = {}): { markdown: string; html: string } {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const md = renderMarkdownWithCharts({ reports: sorted, linkExtension: 'md' }, options, 'index');
  const forHtml = renderMarkdownWithCharts({ reports: sorted, linkExtension: 'html' }, options, 'index');
  const html = renderPage({ title: '보고서 목록', markdown: forHtml.markdown, charts: [], templatesDir: forHtml.templatesDir, cwd: options.cwd });
  return { markdown: md.markdown, html };
}

/**
 * One result on its own, through the same macro the generic report uses (`_macros.njk` `result`): the
 * Markdown, its charts (SVG), and the HTML with the charts inline. For showing a result where it was
 * emitted (the notebook UI), so it looks as it will in the report.
 */
export function renderResult(result: NamedResult, options: RenderOptions = {}, call = 'm.result(r)'): { markdown: string; html: string; charts: ChartFile[] } {
  const bounded = boundResult(result.name, result.value) ?? result;
  const templatesDir = resolveTemplatesDir(options);
  const charts = new ChartCollector('result');
  const env = createMarkdownEnvironment(templatesDir);
  configure(env, charts);
  // `call`: another macro of _macros.njk for kinds the report shows outside m.result (headline figures).
  const markdown = tidyMarkdown(env.renderString(`{% import "_macros.njk" as m %}{{ ${call} }}`, { r: bounded }));
  return { markdown, html: markdownToHtml(markdown, charts.charts), charts: charts.charts };
}

/** The Markdown of one result (see `renderResult`). */
export function renderResultMarkdown(result: NamedResult, options: RenderOptions = {}): string {
  return renderResult(result, options).markdown;
}

/** The HTML of one result, charts inline (see `renderResult`). */
export function renderResultHtml(result: NamedResult, options: RenderOptions = {}): string {
  return renderResult(result, options).html;
}
