/**
 * `hanlab reports --check`: are the committed reports what the notebooks produce today?
 *
 * Every notebook is run again (never from the freeze cache) into a temporary folder, and each
 * regenerated `.md`/`.html` is compared with the committed one. Run times, dates, the git commit and
 * throughput live only in the closing 실행 정보 section (templates/_base.njk, issue 5), so that section
 * is cut from both sides first; everything else must be byte-identical. The set of report files must
 * match too: a report that is committed but no longer produced, or produced but not committed, is a
 * difference. Executed notebooks (`<name>.ipynb`) are not compared: they hold stream output and
 * timings, and every result they carry is rendered into the report that is compared.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InputError } from '../errors.js';
import { regenerateReports, type NotebookOutcome, type RegenerateOptions } from './pipeline.js';
import { stripRunMetadata, type DocumentKind } from './run-section.js';

export { RUN_METADATA_HTML, RUN_METADATA_MARKDOWN, stripRunMetadata, type DocumentKind } from './run-section.js';

export interface DiffOptions {
  /** Unchanged lines shown before the first difference (default 2). */
  context?: number;
  /** Removed and added lines shown, each (default 6). */
  maxLines?: number;
  /** Longer lines are clipped around the first differing character (default 160). */
  maxWidth?: number;
}

function clipAround(line: string, column: number, width: number): string {
  if (line.length <= width) return line;
  const start = Math.max(0, Math.min(column - Math.floor(width / 3), line.length - width));
  return `${start > 0 ? '…' : ''}${line.slice(start, start + width)}${start + width < line.length ? '…' : ''}`;
}

function firstDifferentColumn(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/**
 * How far past the first differing line to look for the point where both texts agree again. Enough
 * for a changed table or paragraph; a longer change is printed as "the rest differs".
 */
const RESYNC_WINDOW = 400;

/**
 * The first changed run of lines after the common head: the smallest `removed + added` such that
 * `a[head + removed] === b[head + added]` (the next line both texts share), searched diagonal by
 * diagonal like Myers' diff, but only for the first hunk.
 */
function firstHunk(a: string[], b: string[], head: number): { removed: number; added: number } {
  const restA = a.length - head;
  const restB = b.length - head;
  for (let k = 1; k <= Math.min(RESYNC_WINDOW, restA + restB); k++) {
    for (let removed = Math.max(0, k - restB); removed <= Math.min(k, restA); removed++) {
      const added = k - removed;
      if (head + removed < a.length && head + added < b.length && a[head + removed] === b[head + added]) return { removed, added };
    }
  }
  return { removed: restA, added: restB };
}

/**
 * A unified diff of the first differing lines, or '' when equal. Written by hand: no diff library is
 * installed, and a check that prints only the first change needs no full diff (only the first hunk is
 * searched; a note says when more follows). HTML lines can be long (a chart's
 * SVG is inlined on one line), so printed lines are clipped around the change.
 */
export function firstDifference(oldText: string, newText: string, oldLabel: string, newLabel: string, options: DiffOptions = {}): string {
  if (oldText === newText) return '';
  const context = options.context ?? 2;
  const maxLines = options.maxLines ?? 6;
  const maxWidth = options.maxWidth ?? 160;
  const a = oldText.split('\n');
  const b = newText.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  const hunk = firstHunk(a, b, head);
  const removed = a.slice(head, head + hunk.removed);
  const added = b.slice(head, head + hunk.added);
  const before = a.slice(Math.max(0, head - context), head);
  const column = firstDifferentColumn(removed[0] ?? '', added[0] ?? '');
  const show = (prefix: string, lines: string[]) => {
    const out = lines.slice(0, maxLines).map((line) => prefix + clipAround(line, column, maxWidth));
    if (lines.length > maxLines) out.push(`${prefix}… (${lines.length - maxLines}줄 더)`);
    return out;
  };
  const from = head - before.length;
  const range = (start: number, count: number) => `${count === 0 ? start : start + 1},${count}`;
  const moreFollows = a.slice(head + hunk.removed).join('\n') !== b.slice(head + hunk.added).join('\n');
  return [
    `--- ${oldLabel}`,
    `+++ ${newLabel}`,
    `@@ -${range(from, before.length + removed.length)} +${range(from, before.length + added.length)} @@`,
    ...before.map((line) => ' ' + clipAround(line, column, maxWidth)),
    ...show('-', removed),
    ...show('+', added),
    ...(moreFollows ? ['… (뒤에도 다른 줄이 있습니다)'] : []),
  ].join('\n');
}

/**
 * 'unchanged'; 'changed' (content differs outside the run metadata); 'missing': regenerating writes
 * it but it is not committed; 'extra': committed, but regenerating no longer writes it (its notebook
 * is gone, renamed, or failed — see `CheckResult.failed`).
 */
export type FileStatus = 'unchanged' | 'changed' | 'missing' | 'extra';

export interface FileCheck {
  /** File name inside the reports folder, e.g. `sentiment.md`. */
  file: string;
  status: FileStatus;
  /** For 'changed': the unified diff of the first differing lines (run metadata removed). */
  diff?: string;
}

export interface CheckResult {
  /** True when every notebook ran and every report file is unchanged. */
  ok: boolean;
  /** The committed reports folder that was compared (absolute). */
  reportsDir: string;
  /** Every `.md`/`.html` in either folder, sorted by name. */
  files: FileCheck[];
  /** Notebooks that did not produce a report this time. */
  failed: NotebookOutcome[];
  notebooks: number;
  durationMs: number;
}

export type CheckOptions = Omit<RegenerateOptions, 'force' | 'cacheDir'> & DiffOptions & {
  /** Keep the temporary folder with the regenerated reports (for looking at a difference). */
  keepTemp?: boolean;
  /** Called with the temporary folder before it is removed. */
  onTempDir?: (dir: string) => void;
};

/**
 * The compared report files of a folder: every `.md`, `.html` and chart `.svg` directly in it, except
 * the hand-written `README.md` (the seed-coverage table), which no notebook produces.
 */
function reportFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(md|html|svg)$/.test(entry.name) && entry.name !== 'README.md')
    .map((entry) => entry.name)
    .sort();
}

/** Compares two report folders file by file (run metadata removed); `committedDir` may be absent. */
export function compareReportDirs(committedDir: string, regeneratedDir: string, options: DiffOptions & { committedLabel?: string } = {}): FileCheck[] {
  const committed = new Set(reportFiles(committedDir));
  const regenerated = new Set(reportFiles(regeneratedDir));
  const label = options.committedLabel ?? committedDir;
  const names = [...new Set([...committed, ...regenerated])].sort();
  return names.map((file): FileCheck => {
    if (!committed.has(file)) return { file, status: 'missing' };
    if (!regenerated.has(file)) return { file, status: 'extra' };
    const kind: DocumentKind = file.endsWith('.html') ? 'html' : 'markdown';
    const before = stripRunMetadata(readFileSync(path.join(committedDir, file), 'utf8'), kind).text;
    const after = stripRunMetadata(readFileSync(path.join(regeneratedDir, file), 'utf8'), kind).text;
    if (before === after) return { file, status: 'unchanged' };
    const diff = firstDifference(before, after, `${path.join(label, file)} (커밋된 보고서)`, `${file} (다시 생성)`, options);
    return { file, status: 'changed', diff };
  });
}

/**
 * Runs every notebook again into a temporary folder (ignoring and never writing the freeze cache,
 * never writing into `outDir`) and compares the result with the committed reports in `outDir`.
 */
export async function checkReports(options: CheckOptions = {}): Promise<CheckResult> {
  const started = Date.now();
  const root = path.resolve(options.cwd ?? process.cwd());
  const reportsDir = path.resolve(root, options.outDir ?? 'reports');
  if (!existsSync(reportsDir)) {
    throw new InputError('the committed reports folder does not exist; run `hanlab reports` first and commit its output', { file: reportsDir });
  }
  const temp = mkdtempSync(path.join(tmpdir(), 'hanlab-reports-check-'));
  try {
    const regeneratedDir = path.join(temp, 'reports');
    const regenerated = await regenerateReports({
      ...options,
      cwd: root,
      outDir: regeneratedDir,
      cacheDir: path.join(temp, 'cache'),
      force: true,
    });
    const files = compareReportDirs(reportsDir, regeneratedDir, { ...options, committedLabel: path.relative(root, reportsDir) || '.' });
    options.onTempDir?.(temp);
    return {
      ok: regenerated.failed.length === 0 && files.every((f) => f.status === 'unchanged'),
      reportsDir,
      files,
      failed: regenerated.failed,
      notebooks: regenerated.outcomes.length,
      durationMs: Date.now() - started,
    };
  } finally {
    if (!options.keepTemp) rmSync(temp, { recursive: true, force: true });
  }
}

/**
 * The console report of a check: one line per report file ("unchanged", "changed" with its diff
 * indented below, "missing", "extra"), the failed notebooks, then a summary line.
 */
export function formatCheck(result: CheckResult, cwd = process.cwd()): string {
  const dir = path.relative(cwd, result.reportsDir) || '.';
  const labels = result.files.map((f) => path.join(dir, f.file));
  const width = Math.max(0, ...labels.map((label) => label.length));
  const lines: string[] = [];
  result.files.forEach((file, i) => {
    const status =
      file.status === 'missing' ? 'missing (regenerated, but not committed)' : file.status === 'extra' ? 'extra (committed, but no longer regenerated)' : file.status;
    lines.push(`${labels[i].padEnd(width)}  ${status}`);
    if (file.diff) lines.push(file.diff.replace(/^/gm, '    '));
  });
  for (const failure of result.failed) lines.push(`failed: ${failure.notebook}: ${failure.error}`);
  const differing = result.files.filter((f) => f.status !== 'unchanged').length;
  const seconds = (result.durationMs / 1000).toFixed(1);
  lines.push(
    result.ok
      ? `reports --check: ok, ${result.files.length} files unchanged apart from run metadata (${result.notebooks} notebooks, ${seconds}s)`
      : `reports --check: FAILED, ${differing} of ${result.files.length} files differ, ${result.failed.length} of ${result.notebooks} notebooks failed (${seconds}s)`,
  );
  return lines.join('\n');
}
