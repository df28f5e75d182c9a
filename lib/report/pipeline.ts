/**
 * The report pipeline: executed notebook → `reports/<name>.md` + `.html` (`renderReport`), and every
 * notebook in `notebooks/` → run (or the freeze cache) → reports + `reports/index.md`/`.html`
 * (`regenerateReports`). The executed notebooks are kept as `reports/<name>.ipynb`, so CI can diff them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HanlabError, InputError, UsageError } from '../errors.js';
import type { StreamChunk } from '../jupyter/cell-errors.js';
import type { KernelLauncher } from '../jupyter/kernel-connection.js';
import { parseNotebook, readNotebook, serializeNotebook, type Notebook } from '../notebook/nbformat.js';
import { gitState } from '../jupyter/provenance.js';
import type { CellEvent, RunOptions, RunResult } from '../jupyter/runner.js';
import { cacheKey, ReportCache, DEFAULT_CACHE_DIR } from './cache.js';
import type { Finding } from './findings.js';
import { renderDocuments, renderIndex, reportSettings, type IndexEntry, type RenderedReport, type RenderOptions, type ReportSettings } from './render.js';
import { stripRunMetadata, type DocumentKind } from './run-section.js';
import { jobsOnCycles, runScheduled, type ScheduledJob } from './schedule.js';
import type { HeadlineFigure } from '../results/kinds.js';

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

/** Writes a file atomically so a reader (a browser, CI) never sees half a report; unchanged bytes are not rewritten. */
function writeText(file: string, text: string): void {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, 'utf8');
  renameSync(temp, file);
}

function writtenReport(rendered: RenderedReport, outDir: string): WrittenReport {
  const { model, charts } = rendered;
  return {
    name: model.report.name,
    title: model.report.title,
    template: model.report.template,
    markdownPath: path.join(outDir, `${model.report.name}.md`),
    htmlPath: path.join(outDir, `${model.report.name}.html`),
    chartPaths: charts.map((chart) => path.join(outDir, chart.file)),
    headline: model.headline,
    findings: model.findings,
  };
}

/** Writes the Markdown, the HTML and the charts the Markdown links (beside it); removes charts it no longer has. */
function writeRendered(rendered: RenderedReport, outDir: string): WrittenReport {
  const report = writtenReport(rendered, outDir);
  writeText(report.markdownPath, rendered.markdown);
  writeText(report.htmlPath, rendered.html);
  for (const chart of rendered.charts) writeText(path.join(outDir, chart.file), chart.svg);
  removeStaleCharts(outDir, rendered.model.report.name, new Set(rendered.charts.map((chart) => chart.file)));
  return report;
}

function writeDocuments(notebook: Notebook, outDir: string, options: RenderOptions): WrittenReport {
  return writeRendered(renderDocuments(notebook, options), outDir);
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

/** True when `file` exists and differs from `text` at most in the closing run-metadata section. */
function sameApartFromRunMetadata(file: string, text: string, kind: DocumentKind): boolean {
  if (!existsSync(file)) return false;
  const before = stripRunMetadata(readFileSync(file, 'utf8'), kind);
  const after = stripRunMetadata(text, kind);
  return before.found && after.found && before.text === after.text;
}

/**
 * `hanlab reports`' writer: the executed notebook, its Markdown, its HTML and its charts. When the new
 * report differs from the one on disk only in run metadata (times, dates, machine) and its charts are
 * the same, every old file is kept: a re-run that changed nothing leaves git clean, and the kept
 * executed notebook still renders exactly the kept report. `changed` says which happened.
 */
function writeReportFiles(executed: Notebook, outDir: string, options: RenderOptions): { report: WrittenReport; executedPath: string; changed: boolean } {
  // Render what is stored (nbformat sorts keys on write), so a fresh run and a later `hanlab report`
  // of the saved notebook give the same bytes.
  const text = serializeNotebook(executed);
  const rendered = renderDocuments(parseNotebook(text, options.file), options);
  const report = writtenReport(rendered, outDir);
  const executedPath = path.join(outDir, `${rendered.model.report.name}.ipynb`);
  const unchanged =
    existsSync(executedPath) &&
    sameApartFromRunMetadata(report.markdownPath, rendered.markdown, 'markdown') &&
    sameApartFromRunMetadata(report.htmlPath, rendered.html, 'html') &&
    rendered.charts.every((chart) => {
      const file = path.join(outDir, chart.file);
      return existsSync(file) && readFileSync(file, 'utf8') === chart.svg;
    });
  if (unchanged) return { report, executedPath, changed: false };
  writeText(executedPath, text);
  writeRendered(rendered, outDir);
  return { report, executedPath, changed: true };
}

/** `hanlab report`: renders one executed notebook into `<outDir>/<name>.md` and `.html`. */
export function renderReport(executedPath: string, outDir = 'reports', options: Omit<RenderOptions, 'file'> = {}): WrittenReport {
  const notebook = readNotebook(executedPath);
  return writeDocuments(notebook, outDir, { ...options, file: executedPath });
}

/** Runs a notebook; the default is lib/jupyter/runner.ts, tests pass their own. */
export type NotebookRunner = (input: string, options: RunOptions) => Promise<RunResult>;

const defaultRunner: NotebookRunner = async (input, options) => {
  // Loaded on first use: the runner brings the Jupyter protocol stack, which rendering never needs.
  const { runNotebook } = await import('../jupyter/runner.js');
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
  /** Notebooks run at once, each in its own kernel (default 1). Dependencies are honoured. */
  jobs?: number;
  /** Start the kernels on a Jupyter server (lib/jupyter/remote-kernel.ts) instead of locally. */
  launcher?: KernelLauncher;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** While a cell runs, a progress line this often (default 15 s); 0: none. */
  progressIntervalMs?: number;
}

export interface NotebookOutcome {
  notebook: string;
  name?: string;
  /** 'hit': taken from the cache; 'run': executed now. */
  source?: 'hit' | 'run';
  report?: WrittenReport;
  executedPath?: string;
  /** False when the report on disk differed from the new one only in run metadata and was kept. */
  changed?: boolean;
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

/** `metadata.hanlab.report.outputs`: files or folders the notebook writes that other notebooks read. */
function declaredOutputs(notebook: Notebook, file: string): string[] {
  const outputs = (notebook.metadata.hanlab?.report as { outputs?: unknown } | undefined)?.outputs;
  if (outputs === undefined) return [];
  if (!Array.isArray(outputs) || !outputs.every((output) => typeof output === 'string' && output.trim() !== '')) {
    throw new InputError('outputs must be a list of file or folder paths (relative to the project root)', { file, field: 'metadata.hanlab.report.outputs' });
  }
  return outputs;
}

/** Whether two project-relative paths name the same file, or one lies inside the other (a folder). */
function pathsOverlap(a: string, b: string): boolean {
  const norm = (p: string) => path.posix.normalize(p.replaceAll('\\', '/')).replace(/\/+$/, '');
  const x = norm(a);
  const y = norm(b);
  return x === y || x.startsWith(`${y}/`) || y.startsWith(`${x}/`);
}

/** The last non-empty line the running cell printed, shortened (the trainer's progress lines end up here). */
function lastPrinted(streams: readonly StreamChunk[] | undefined): string {
  for (let i = (streams?.length ?? 0) - 1; i >= 0; i--) {
    const lines = streams![i].text.split(/[\r\n]+/).map((line) => line.trim()).filter(Boolean);
    if (lines.length) {
      const line = lines[lines.length - 1];
      return line.length > 100 ? `${line.slice(0, 99)}…` : line;
    }
  }
  return '';
}

/** One notebook of a `hanlab reports` run. */
interface Job extends ScheduledJob {
  position: number;
  notebookPath: string;
  relative: string;
  outcome: NotebookOutcome;
  settings: ReportSettings;
  outputs: string[];
  /** The cache key it ran or was found under (dependents on a server are keyed by it). */
  key?: string;
  /** Executed now (not from the cache): its dependents must run too, they read what it wrote. */
  ran?: boolean;
}

/**
 * `hanlab reports`: every `*.ipynb` in notebooksDir, run through the runner unless the cache has the
 * same notebook, parameters, kernel and input files; then all reports and the index. With `jobs > 1`
 * several notebooks run at once, each in its own kernel; a notebook whose declared inputs lie in
 * another's declared outputs (`metadata.hanlab.report.outputs`) waits for it. A failing notebook
 * does not stop the others; it is listed in `failed` and keeps its last good report, and the
 * notebooks that read its outputs are not run.
 */
export async function regenerateReports(options: RegenerateOptions = {}): Promise<RegenerateResult> {
  const root = path.resolve(options.cwd ?? process.cwd());
  const notebooksDir = path.resolve(root, options.notebooksDir ?? 'notebooks');
  const outDir = path.resolve(root, options.outDir ?? 'reports');
  const cache = new ReportCache(path.resolve(root, options.cacheDir ?? DEFAULT_CACHE_DIR));
  const runner = options.runner ?? defaultRunner;
  const log = options.log ?? (() => {});
  const renderOptions: RenderOptions = { templatesDir: options.templatesDir, cwd: root };
  const jobsAtOnce = options.jobs ?? 1;
  if (!Number.isInteger(jobsAtOnce) || jobsAtOnce < 1) throw new UsageError(`jobs must be a positive integer, not ${jobsAtOnce}`);
  const progressEvery = options.progressIntervalMs ?? 15_000;

  let files: string[];
  try {
    files = readdirSync(notebooksDir).filter((f) => f.endsWith('.ipynb')).sort();
  } catch (error) {
    throw new InputError(`cannot list notebooks (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { file: notebooksDir }, { cause: error });
  }
  // Read once, before this run writes anything: the reports are tracked files, and a state read
  // after the first report was rewritten would call every later run "uncommitted changes".
  const git = options.launcher ? undefined : ((await gitState(root)) ?? null);

  const outcomes: NotebookOutcome[] = [];
  const jobs: Job[] = [];
  const names = new Map<string, string>();
  // "[2/6] notebooks/x.ipynb: …" so a long run shows how far it is.
  const sayFor = (position: number, relative: string) => (text: string) => log(`[${position + 1}/${files.length}] ${relative}: ${text}`);
  for (const [position, file] of files.entries()) {
    const notebookPath = path.join(notebooksDir, file);
    const relative = path.relative(root, notebookPath);
    const outcome: NotebookOutcome = { notebook: relative };
    outcomes.push(outcome);
    try {
      const notebook = readNotebook(notebookPath);
      const settings = reportSettings(notebook, relative);
      const outputs = declaredOutputs(notebook, relative);
      outcome.name = settings.name;
      const clash = names.get(settings.name);
      if (clash) throw new InputError(`report name "${settings.name}" is also used by ${clash}; give each notebook its own metadata.hanlab.report.name`, { file: relative, field: 'metadata.hanlab.report.name' });
      names.set(settings.name, relative);
      jobs.push({ id: relative, dependsOn: [], position, notebookPath, relative, outcome, settings, outputs, estimateMs: cache.lastDurationMs(settings.name) });
    } catch (error) {
      if (!(error instanceof HanlabError)) throw error;
      outcome.error = error.message;
      sayFor(position, relative)(`실패 (${firstLine(error.message)})`);
    }
  }

  // Who reads what another writes.
  const producers = new Map<Job, Map<string, Job>>();
  for (const job of jobs) {
    const producedBy = new Map<string, Job>();
    for (const input of job.settings.inputs) {
      const producer = jobs.find((other) => other !== job && other.outputs.some((output) => pathsOverlap(input, output)));
      if (producer) producedBy.set(input, producer);
    }
    producers.set(job, producedBy);
    job.dependsOn = [...new Set([...producedBy.values()].map((producer) => producer.id))];
  }
  const cyclic = new Set(jobsOnCycles(jobs));
  for (const job of cyclic) {
    job.outcome.error = `its inputs and outputs form a cycle with ${[...cyclic].filter((other) => other !== job).map((other) => other.relative).join(', ')} (metadata.hanlab.report.inputs / outputs)`;
    sayFor(job.position, job.relative)(`실패 (${job.outcome.error})`);
  }

  let unexpected: unknown;
  const runJob = async (job: Job): Promise<boolean> => {
    const say = sayFor(job.position, job.relative);
    const { outcome, settings } = job;
    try {
      // Keyed now, after the notebooks it reads from have written their outputs. On a server those
      // files are there, not here: such inputs are keyed by the cache key of the notebook writing them.
      const produced: Record<string, string> = {};
      if (options.launcher) for (const [input, producer] of producers.get(job)!) produced[input] = producer.key!;
      const { key, inputHashes } = cacheKey({ notebookPath: job.notebookPath, parameters: settings.parameters, inputs: settings.inputs, kernel: options.kernel, root, produced });
      job.key = key;
      let executed = options.force ? undefined : cache.get(settings.name, key);
      // A cached run counts only while what it wrote for others is still there (here, for local kernels).
      if (executed && !options.launcher && job.outputs.some((output) => !existsSync(path.resolve(root, output)))) executed = undefined;
      // A notebook it reads from ran again just now: what it read may have changed (training is not bit-exact).
      if (executed && [...producers.get(job)!.values()].some((producer) => producer.ran)) executed = undefined;
      outcome.source = executed ? 'hit' : 'run';
      if (!executed) {
        say('실행 중…');
        const started = Date.now();
        const result = await runWithProgress(job, say, started);
        if (!result) return false;
        // Inputs another notebook wrote on the server are the server's own: only the shipped ones must agree.
        const mismatch = (result.notebook.metadata.hanlab?.run as { inputMismatch?: { missing: string[]; different: string[] } } | undefined)?.inputMismatch;
        const produced = producers.get(job)!;
        const missing = (mismatch?.missing ?? []).filter((input) => !produced.has(input));
        const different = (mismatch?.different ?? []).filter((input) => !produced.has(input));
        if (missing.length || different.length) {
          const parts = [...missing.map((input) => `${input} is missing there`), ...different.map((input) => `${input} has other bytes there`)];
          outcome.error = `the server's checkout differs from this one: ${parts.join(', ')}; sync it so the report matches its cache key`;
          say(`실패 (${outcome.error})`);
          return false;
        }
        say(`실행 완료, ${formatSeconds(Date.now() - started)}`);
        executed = structuredClone(result.notebook);
        const hanlab = (executed.metadata.hanlab ??= {});
        hanlab.report = { ...(hanlab.report ?? {}), inputHashes };
        cache.put(settings.name, key, inputHashes, executed, Date.now() - started);
        job.ran = true;
      } else {
        say('캐시 사용 (입력이 바뀌지 않음)');
      }
      const written = writeReportFiles(executed, outDir, { ...renderOptions, file: job.relative });
      outcome.report = written.report;
      outcome.executedPath = written.executedPath;
      outcome.changed = written.changed;
      const where = `${path.relative(root, written.report.markdownPath)}, ${path.relative(root, written.report.htmlPath)}`;
      say(written.changed ? where : `${where}: 실행 정보 말고는 그대로라 기존 파일 유지`);
      return true;
    } catch (error) {
      if (!(error instanceof HanlabError)) {
        // A bug, not a notebook's failure: let the others finish (their kernels stop), then rethrow.
        unexpected ??= error;
        outcome.error = `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;
        return false;
      }
      outcome.error = error.message;
      say(`실패 (${firstLine(error.message)})`);
      return false;
    }
  };

  /** Runs the notebook with per-cell progress; undefined (and the outcome's error set) when it failed. */
  const runWithProgress = async (job: Job, say: (text: string) => void, started: number): Promise<RunResult | undefined> => {
    let current: CellEvent | undefined;
    let cellStarted = 0;
    const ticker =
      progressEvery > 0
        ? setInterval(() => {
            if (!current) return;
            const printed = lastPrinted(current.streams);
            say(`셀 ${current.position}/${current.total} 실행 중, ${formatSeconds(Date.now() - cellStarted)} 경과${printed ? ` — ${printed}` : ''}`);
          }, progressEvery)
        : undefined;
    ticker?.unref();
    const onCell = (event: CellEvent) => {
      if (event.phase === 'start') {
        current = event;
        cellStarted = Date.now();
        return;
      }
      current = undefined;
      // A line per cell that took a while, so a long notebook shows where it is.
      if ((event.durationMs ?? 0) >= 2_000 || event.status !== 'ok') say(`셀 ${event.position}/${event.total} ${event.status === 'ok' ? '완료' : event.status}, ${formatSeconds(event.durationMs ?? 0)}`);
    };
    let result: RunResult;
    try {
      result = await runner(job.notebookPath, {
        parameters: job.settings.parameters,
        kernel: options.kernel,
        cwd: root,
        cellTimeoutMs: options.cellTimeoutMs,
        launcher: options.launcher,
        git,
        onCell,
      });
    } catch (error) {
      // Whatever stopped this run (a kernel that cannot start, a broken socket) stops only this
      // notebook: the others still run and the command still exits non-zero.
      job.outcome.error = error instanceof HanlabError ? error.message : `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;
      say(`실패 (${firstLine(job.outcome.error)})`);
      return undefined;
    } finally {
      if (ticker) clearInterval(ticker);
    }
    if (!result.ok) {
      job.outcome.error = describeFailure(result);
      say(`실패, ${formatSeconds(Date.now() - started)} (${firstLine(job.outcome.error)})`);
      return undefined;
    }
    return result;
  };

  await runScheduled(
    jobs.filter((job) => !cyclic.has(job)),
    {
      jobs: jobsAtOnce,
      run: runJob,
      onBlocked: (job, failed) => {
        job.outcome.error = `not run: it reads what ${failed.relative} writes, and that failed`;
        sayFor(job.position, job.relative)(`건너뜀 (${failed.relative} 실패)`);
      },
    },
  );
  if (unexpected !== undefined) throw unexpected;

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
