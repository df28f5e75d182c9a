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
import { readNamedResults } from '../results/read.js';
import { hashInputs } from '../jupyter/provenance.js';
import { INTERPRETATION_TABLE, findFindings, interpretLevel, levelInput, type Finding, type LevelVerdict } from './findings.js';
import { renderPage } from '../results/html.js';
import { createMarkdownEnvironment } from '../results/markdown-env.js';
import { omittedText, type OmittedResult } from '../results/bounds.js';
import { type EnvironmentResult, type HeadlineFigure, type NamedResult } from '../results/kinds.js';
import { ChartCollector, configureResultEnvironment, resolveTemplatesDir, tidyMarkdown, type ChartFile, type TemplateLocation } from '../results/render.js';
import * as views from '../results/views.js';

export type { ChartFile };

export interface RenderOptions extends TemplateLocation {
  /** The notebook's path, for error messages and the default report name. */
  file?: string;
}

/** The result environment (lib/results/render.ts) plus what only whole reports use. */
function configure(env: nunjucks.Environment, charts: ChartCollector): void {
  configureResultEnvironment(env, charts);
  env.addGlobal('levels', INTERPRETATION_TABLE);
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
  // Each of the kind the kernel stamped in its bundle (checked), bounded first: a result nested
  // thousands of levels deep (or megabytes long) becomes a notice.
  const results = readNamedResults(notebook, file);
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

export interface RenderedReport {
  model: ReportModel;
  markdown: string;
  html: string;
  /** The chart SVGs the Markdown links (write them beside it); the HTML inlines them. */
  charts: ChartFile[];
}

/**
 * The run's 재현 정보 plus the templates that render it: the run's content stamp (lib/jupyter/provenance.ts)
 * names the notebook, lib/ and data; the report is those results through these templates.
 */
function withTemplatesStamp(context: object, templatesDir: string): object {
  const run = (context as { run?: unknown }).run;
  if (!Array.isArray(run) || run.length === 0) return context;
  const hash = hashInputs([templatesDir], templatesDir)[templatesDir];
  return { ...context, run: [...run, { label: '템플릿 해시', value: `templates/ ${hash.slice(0, 16)} (SHA-256 앞 16자리)` }] };
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
  const markdown = tidyMarkdown(env.render(`${template}.njk`, withTemplatesStamp(context, templatesDir)));
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
