/**
 * The report pipeline: executed notebook → `reports/<name>.md` + `.html` (`renderReport`), and every
 * notebook in `notebooks/` → run (or the freeze cache) → reports + `reports/index.md`/`.html`
 * (`regenerateReports`). The executed notebooks are kept as `reports/<name>.ipynb`, so CI can diff them.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HanlabError, InputError } from '../errors.js';
import { readNotebook, writeNotebook, type Notebook } from '../notebook/nbformat.js';
import type { RunOptions, RunResult } from '../notebook/runner.js';
import { cacheKey, ReportCache, DEFAULT_CACHE_DIR } from './cache.js';
import type { Finding } from './findings.js';
import { renderDocuments, renderIndex, reportSettings, type IndexEntry, type RenderOptions } from './render.js';
import type { HeadlineFigure } from './result-kinds.js';

export interface WrittenReport {
  name: string;
  title: string;
  template: string;
  markdownPath: string;
  htmlPath: string;
  /** The chart SVG files written beside the Markdown report. */
  chartPaths: string[];
  headline: HeadlineFigure[];
  findings: Finding[];
}

/** Writes a file atomically so a reader (a browser, CI) never sees half a report. */
function writeText(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, 'utf8');
  renameSync(temp, file);
}

function writeDocuments(notebook: Notebook, outDir: string, options: RenderOptions): WrittenReport {
  const { model, markdown, html, charts } = renderDocuments(notebook, options);
  const markdownPath = path.join(outDir, `${model.report.name}.md`);
  const htmlPath = path.join(outDir, `${model.report.name}.html`);
  writeText(markdownPath, markdown);
  writeText(htmlPath, html);
  // The charts the Markdown links, beside it; charts this report no longer has are removed.
  for (const chart of charts) writeText(path.join(outDir, chart.file), chart.svg);
  removeStaleCharts(outDir, model.report.name, new Set(charts.map((chart) => chart.file)));
  return {
    name: model.report.name,
    title: model.report.title,
    template: model.report.template,
    markdownPath,
    htmlPath,
    chartPaths: charts.map((chart) => path.join(outDir, chart.file)),
    headline: model.headline,
    findings: model.findings,
  };
}

/** Removes `<name>.*.svg` files in outDir that the report no longer links. */
function removeStaleCharts(outDir: string, name: string, keep: Set<string>): void {
  let files: string[];
  try {
    files = readdirSync(outDir);
  } catch {
    return;
  }
  for (const file of files) {
    if (file.startsWith(`${name}.`) && file.endsWith('.svg') && !keep.has(file)) rmSync(path.join(outDir, file), { force: true });
  }
}

/** `hanlab report`: renders one executed notebook into `<outDir>/<name>.md` and `.html`. */
export function renderReport(executedPath: string, outDir = 'reports', options: Omit<RenderOptions, 'file'> = {}): WrittenReport {
  const notebook = readNotebook(executedPath);
  return writeDocuments(notebook, outDir, { ...options, file: executedPath });
}

/** Runs a notebook; the default is lib/notebook/runner.ts, tests pass their own. */
export type NotebookRunner = (input: string, options: RunOptions) => Promise<RunResult>;

const defaultRunner: NotebookRunner = async (input, options) => {
  // Loaded on first use: the runner brings the Jupyter protocol stack, which rendering never needs.
  const { runNotebook } = await import('../notebook/runner.js');
  return runNotebook(input, options);
};

export interface RegenerateOptions {
  notebooksDir?: string;
  outDir?: string;
  /** Re-run every notebook even when the cache has it. */
  force?: boolean;
  /** Kernel name for every notebook (default: the runner's, `hanlab`). */
  kernel?: string;
  cellTimeoutMs?: number;
  /** Project root (default process.cwd()); inputs and the cache are relative to it. */
  cwd?: string;
  templatesDir?: string;
  cacheDir?: string;
  runner?: NotebookRunner;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface NotebookOutcome {
  notebook: string;
  name?: string;
  /** 'hit': taken from the cache; 'run': executed now. */
  source?: 'hit' | 'run';
  report?: WrittenReport;
  executedPath?: string;
  /** Why this notebook has no fresh report. */
  error?: string;
}

export interface RegenerateResult {
  outcomes: NotebookOutcome[];
  failed: NotebookOutcome[];
  indexMarkdownPath: string;
  indexHtmlPath: string;
}

/** Progress-line durations: "12.3초". Only in console lines, never in a report. */
function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}초`;
}

/** Progress lines stay one line each; the full error (a kernel traceback) is in `failed`. */
function firstLine(text: string): string {
  const [first, ...rest] = text.split('\n');
  return rest.length ? `${first} …` : first;
}

function describeFailure(result: RunResult): string {
  if (result.error) return result.error.message;
  if (result.failedCell) return `cell ${result.failedCell.index + 1} failed: ${result.failedCell.ename}: ${result.failedCell.evalue}`;
  return 'the run did not succeed';
}

/**
 * `hanlab reports`: every `*.ipynb` in notebooksDir (sorted), run through the runner unless the cache
 * has the same notebook, parameters, kernel and input files; then all reports and the index. A failing
 * notebook does not stop the others; it is listed in `failed` and keeps its last good report.
 */
export async function regenerateReports(options: RegenerateOptions = {}): Promise<RegenerateResult> {
  const root = path.resolve(options.cwd ?? process.cwd());
  const notebooksDir = path.resolve(root, options.notebooksDir ?? 'notebooks');
  const outDir = path.resolve(root, options.outDir ?? 'reports');
  const cache = new ReportCache(path.resolve(root, options.cacheDir ?? DEFAULT_CACHE_DIR));
  const runner = options.runner ?? defaultRunner;
  const log = options.log ?? (() => {});
  const renderOptions: RenderOptions = { templatesDir: options.templatesDir, cwd: root };

  let files: string[];
  try {
    files = readdirSync(notebooksDir).filter((f) => f.endsWith('.ipynb')).sort();
  } catch (error) {
    throw new InputError(`cannot list notebooks (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { file: notebooksDir }, { cause: error });
  }

  const outcomes: NotebookOutcome[] = [];
  const names = new Map<string, string>();
  for (const [position, file] of files.entries()) {
    const notebookPath = path.join(notebooksDir, file);
    const relative = path.relative(root, notebookPath);
    const outcome: NotebookOutcome = { notebook: relative };
    outcomes.push(outcome);
    // "[2/6] notebooks/x.ipynb: …" so a long run shows how far it is.
    const say = (text: string) => log(`[${position + 1}/${files.length}] ${relative}: ${text}`);
    try {
      const settings = reportSettings(readNotebook(notebookPath), relative);
      outcome.name = settings.name;
      const clash = names.get(settings.name);
      if (clash) throw new InputError(`report name "${settings.name}" is also used by ${clash}; give each notebook its own metadata.hanlab.report.name`, { file: relative, field: 'metadata.hanlab.report.name' });
      names.set(settings.name, relative);

      const { key, inputHashes } = cacheKey({ notebookPath, parameters: settings.parameters, inputs: settings.inputs, kernel: options.kernel, root });
      let executed = options.force ? undefined : cache.get(settings.name, key);
      outcome.source = executed ? 'hit' : 'run';
      if (!executed) {
        say('실행 중…');
        const started = Date.now();
        let result: RunResult;
        try {
          result = await runner(notebookPath, { parameters: settings.parameters, kernel: options.kernel, cwd: root, cellTimeoutMs: options.cellTimeoutMs });
        } catch (error) {
          // Whatever stopped this run (a kernel that cannot start, a broken socket) stops only this
          // notebook: the others still run and the command still exits non-zero.
          outcome.error = error instanceof HanlabError ? error.message : `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;
          say(`실패 (${firstLine(outcome.error)})`);
          continue;
        }
        if (!result.ok) {
          outcome.error = describeFailure(result);
          say(`실패, ${formatSeconds(Date.now() - started)} (${firstLine(outcome.error)})`);
          continue;
        }
        say(`실행 완료, ${formatSeconds(Date.now() - started)}`);
        executed = structuredClone(result.notebook);
        const hanlab = (executed.metadata.hanlab ??= {});
        hanlab.report = { ...(hanlab.report ?? {}), inputHashes };
        cache.put(settings.name, key, inputHashes, executed);
      } else {
        say('캐시 사용 (입력이 바뀌지 않음)');
      }
      outcome.executedPath = path.join(outDir, `${settings.name}.ipynb`);
      writeNotebook(outcome.executedPath, executed);
      // Render what was stored (nbformat sorts keys on write), so a fresh run and a later
      // `hanlab report` of the saved notebook give the same bytes.
      outcome.report = writeDocuments(readNotebook(outcome.executedPath), outDir, { ...renderOptions, file: relative });
      say(`${path.relative(root, outcome.report.markdownPath)}, ${path.relative(root, outcome.report.htmlPath)}`);
    } catch (error) {
      if (!(error instanceof HanlabError)) throw error;
      outcome.error = error.message;
      say(`실패 (${firstLine(error.message)})`);
    }
  }

  const entries: IndexEntry[] = outcomes.flatMap((o) =>
    o.report ? [{ name: o.report.name, title: o.report.title, template: o.report.template, headline: o.report.headline, findings: o.report.findings }] : [],
  );
  const index = renderIndex(entries, renderOptions);
  const indexMarkdownPath = path.join(outDir, 'index.md');
  const indexHtmlPath = path.join(outDir, 'index.html');
  writeText(indexMarkdownPath, index.markdown);
  writeText(indexHtmlPath, index.html);
  return { outcomes, failed: outcomes.filter((o) => o.error !== undefined), indexMarkdownPath, indexHtmlPath };
}
