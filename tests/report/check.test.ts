/**
 * `hanlab reports --check` (lib/report/check.ts): regenerated reports against the committed ones,
 * with a fake runner (no kernel) over the executed fixture notebooks in tests/fixtures/reports/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readNotebook, writeNotebook, type Notebook } from '../../lib/notebook/nbformat.js';
import type { RunOptions, RunResult } from '../../lib/jupyter/runner.js';
import { checkReports, compareReportDirs, firstDifference, formatCheck, stripRunMetadata } from '../../lib/report/check.js';
import { InputError } from '../../lib/errors.js';
import { regenerateReports, renderReport } from '../../lib/report/pipeline.js';
import { run as reportsCommand } from '../../cli/commands/reports.js';

const FIXTURES = path.join(process.cwd(), 'tests', 'fixtures', 'reports');
const TEMPLATES = path.join(process.cwd(), 'templates');
const RESULT_MIME = 'application/vnd.hanlab.result+json';

/** Changes an executed notebook the way a re-run would. */
type Edit = (notebook: Notebook, file: string) => void;

/** The "runner" hands back the notebook as executed (the fixtures carry outputs), after `edit`. */
function fakeRunner(edit?: Edit, calls: string[] = []) {
  return async (input: string, _options: RunOptions): Promise<RunResult> => {
    calls.push(path.basename(input));
    const notebook = readNotebook(input);
    edit?.(notebook, path.basename(input));
    return { notebook, ok: true, durationMs: 5 };
  };
}

/** Sets `value[key]` of the result named `name` in the notebook's outputs. */
function editResult(notebook: Notebook, name: string, change: (value: Record<string, unknown>) => void): void {
  for (const cell of notebook.cells) {
    if (cell.cell_type !== 'code') continue;
    for (const output of cell.outputs) {
      const data = (output as { data?: Record<string, unknown> }).data;
      const result = data?.[RESULT_MIME] as { name?: string; value?: Record<string, unknown> } | undefined;
      if (result?.name === name && result.value) return change(result.value);
    }
  }
  throw new Error(`fixture has no result "${name}"`);
}

/** A project with two notebooks and its committed reports, made with the same fake runner. */
async function project(t: { after: (fn: () => void) => void }) {
  const root = mkdtempSync(path.join(tmpdir(), 'hanlab-check-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'notebooks'));
  copyFileSync(path.join(FIXTURES, 'sentiment.ipynb'), path.join(root, 'notebooks', '004-sentiment.ipynb'));
  copyFileSync(path.join(FIXTURES, 'patent-risk.ipynb'), path.join(root, 'notebooks', '001-patent.ipynb'));
  const made = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner: fakeRunner() });
  assert.deepEqual(made.failed, []);
  return root;
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const file of readdirSync(dir).sort()) out[file] = `${statSync(path.join(dir, file)).mtimeMs}:${readFileSync(path.join(dir, file), 'utf8').length}`;
  return out;
}

const REPORT_FILES = [
  'index.html', 'index.md',
  'news-sentiment.before-after.svg', 'news-sentiment.confusion.svg', 'news-sentiment.html', 'news-sentiment.loss.svg', 'news-sentiment.md',
  'patent-risk.html', 'patent-risk.match.svg', 'patent-risk.md', 'patent-risk.risk_level.svg',
];

test('unchanged notebooks: ok, every file "unchanged", every notebook re-run, nothing written into reports/ or the cache', async (t) => {
  const root = await project(t);
  const reportsBefore = snapshot(path.join(root, 'reports'));
  const cacheBefore = snapshot(path.join(root, '.cache', 'reports'));
  const calls: string[] = [];
  const result = await checkReports({ cwd: root, templatesDir: TEMPLATES, runner: fakeRunner(undefined, calls) });
  assert.equal(result.ok, true);
  assert.deepEqual(calls, ['001-patent.ipynb', '004-sentiment.ipynb'], 'the freeze cache would hit; the check runs anyway');
  assert.deepEqual(result.files.map((f) => f.file), REPORT_FILES);
  assert.ok(result.files.every((f) => f.status === 'unchanged' && f.diff === undefined));
  assert.equal(result.notebooks, 2);
  assert.deepEqual(snapshot(path.join(root, 'reports')), reportsBefore);
  assert.deepEqual(snapshot(path.join(root, '.cache', 'reports')), cacheBefore);
  assert.match(formatCheck(result, root), /^reports\/index\.html +unchanged$/m);
  assert.match(formatCheck(result, root), /reports --check: ok, 11 files unchanged/);
});

test('a changed figure is a difference, shown with the line it changed', async (t) => {
  const root = await project(t);
  const edit: Edit = (notebook, file) => {
    if (file === '004-sentiment.ipynb') editResult(notebook, 'confusion', (value) => ((value.matrix as number[][])[2][0] = 45));
  };
  const result = await checkReports({ cwd: root, templatesDir: TEMPLATES, runner: fakeRunner(edit) });
  assert.equal(result.ok, false);
  const byFile = new Map(result.files.map((f) => [f.file, f]));
  assert.equal(byFile.get('patent-risk.md')!.status, 'unchanged');
  const markdown = byFile.get('news-sentiment.md')!;
  assert.equal(markdown.status, 'changed');
  // The first line it changed is the most-confused-pair finding (41 → 45), then the table follows.
  const lines = markdown.diff!.split('\n');
  assert.equal(lines[0], '--- reports/news-sentiment.md (커밋된 보고서)');
  assert.equal(lines[1], '+++ news-sentiment.md (다시 생성)');
  assert.match(lines[2], /^@@ -(\d+),3 \+\1,3 @@$/);
  assert.equal(lines[3], ' ## 주요 발견');
  assert.match(lines[5], /^-- \*\*가장 많이 헷갈린 쌍\*\*: .*41건으로 가장 많습니다 \(정답 "중립" 400건 중 10\.3%\)\.$/);
  assert.match(lines[6], /^\+- \*\*가장 많이 헷갈린 쌍\*\*: .*45건으로 가장 많습니다 \(정답 "중립" 404건 중 11\.1%\)\.$/);
  assert.equal(lines[7], '… (뒤에도 다른 줄이 있습니다)');
  assert.equal(byFile.get('news-sentiment.html')!.status, 'changed');
  const text = formatCheck(result, root);
  assert.match(text, /^reports\/news-sentiment\.md +changed$/m);
  assert.match(text, /^    -- \*\*가장 많이 헷갈린 쌍.*41건/m);
  assert.match(text, /FAILED, \d+ of 11 files differ, 0 of 2 notebooks failed/);
});

test('a new run time, date, commit and throughput alone change nothing that is compared', async (t) => {
  const root = await project(t);
  const edit: Edit = (notebook) => {
    const run = notebook.metadata.hanlab!.run as Record<string, unknown>;
    run.startedAt = '2026-12-01T09:00:00.000Z';
    run.endedAt = '2026-12-01T09:07:41.000Z';
    run.durationMs = 461000;
    run.git = { commit: 'ffffffffffffffffffffffffffffffffffffffff', dirty: true };
    try {
      editResult(notebook, 'environment', (value) => (value.durationMs = 461000));
    } catch {
      // patent-risk has no environment result; its run metadata changed above.
    }
  };
  let regenerated = '';
  const result = await checkReports({
    cwd: root,
    templatesDir: TEMPLATES,
    runner: fakeRunner(edit),
    onTempDir: (dir) => (regenerated = readFileSync(path.join(dir, 'reports', 'news-sentiment.md'), 'utf8')),
  });
  assert.deepEqual(result.files.filter((f) => f.status !== 'unchanged'), []);
  assert.equal(result.ok, true);
  // The files themselves did differ, in the metadata section only: the test would fail without the cut.
  const committed = readFileSync(path.join(root, 'reports', 'news-sentiment.md'), 'utf8');
  assert.notEqual(regenerated, committed);
  assert.match(regenerated, /2026-12-01 09:00:00 UTC/);
  assert.match(regenerated, /7분 41초/);
});

test('a report missing from reports/ or left over in it is a difference', async (t) => {
  const root = await project(t);
  unlinkSync(path.join(root, 'reports', 'patent-risk.html'));
  writeFileSync(path.join(root, 'reports', 'old-study.md'), '# 예전 보고서\n');
  const result = await checkReports({ cwd: root, templatesDir: TEMPLATES, runner: fakeRunner() });
  assert.equal(result.ok, false);
  const statuses = Object.fromEntries(result.files.map((f) => [f.file, f.status]));
  assert.equal(statuses['patent-risk.html'], 'missing');
  assert.equal(statuses['old-study.md'], 'extra');
  assert.equal(statuses['patent-risk.md'], 'unchanged');
  const text = formatCheck(result, root);
  assert.match(text, /^reports\/patent-risk\.html +missing \(regenerated, but not committed\)$/m);
  assert.match(text, /^reports\/old-study\.md +extra \(committed, but no longer regenerated\)$/m);
});

test('a removed notebook leaves its committed report extra and changes the index', async (t) => {
  const root = await project(t);
  unlinkSync(path.join(root, 'notebooks', '001-patent.ipynb'));
  const result = await checkReports({ cwd: root, templatesDir: TEMPLATES, runner: fakeRunner() });
  const statuses = Object.fromEntries(result.files.map((f) => [f.file, f.status]));
  assert.equal(statuses['patent-risk.md'], 'extra');
  assert.equal(statuses['patent-risk.html'], 'extra');
  assert.equal(statuses['index.md'], 'changed');
  assert.match(result.files.find((f) => f.file === 'index.md')!.diff!, /^-.*\(patent-risk\.md\)/m);
});

test('a notebook that fails fails the check, and says which and why', async (t) => {
  const root = await project(t);
  const failing = async (input: string): Promise<RunResult> => {
    const notebook = readNotebook(input);
    if (input.endsWith('001-patent.ipynb')) return { notebook, ok: false, failedCell: { index: 3, ename: 'InputError', evalue: '파일 없음' }, durationMs: 5 };
    return { notebook, ok: true, durationMs: 5 };
  };
  const result = await checkReports({ cwd: root, templatesDir: TEMPLATES, runner: failing });
  assert.equal(result.ok, false);
  assert.deepEqual(result.failed.map((f) => f.notebook), [path.join('notebooks', '001-patent.ipynb')]);
  assert.match(formatCheck(result, root), /^failed: notebooks\/001-patent\.ipynb: cell 4 failed: InputError: 파일 없음$/m);
  assert.equal(result.files.find((f) => f.file === 'patent-risk.md')!.status, 'extra');
});

test('regenerateReports: a runner that throws fails only its notebook; progress lines count and time the runs', async (t) => {
  const root = await project(t);
  const lines: string[] = [];
  const throwing = async (input: string): Promise<RunResult> => {
    if (input.endsWith('001-patent.ipynb')) throw new Error('zmq socket closed');
    return { notebook: readNotebook(input), ok: true, durationMs: 5 };
  };
  const result = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner: throwing, force: true, log: (line) => lines.push(line) });
  assert.deepEqual(result.failed.map((f) => f.error), ['Error: zmq socket closed']);
  assert.ok(existsSync(result.indexMarkdownPath));
  assert.equal(lines[0], '[1/2] notebooks/001-patent.ipynb: 실행 중…');
  assert.equal(lines[1], '[1/2] notebooks/001-patent.ipynb: 실패 (Error: zmq socket closed)');
  assert.match(lines[3], /^\[2\/2\] notebooks\/004-sentiment\.ipynb: 실행 완료, \d+\.\d초$/);
  // The re-run produced the report already on disk: it is kept (git stays clean).
  assert.equal(lines[4], '[2/2] notebooks/004-sentiment.ipynb: reports/news-sentiment.md, reports/news-sentiment.html: 실행 정보 말고는 그대로라 기존 파일 유지');
});

test('the real templates close every report with the run-metadata section the check cuts', (t) => {
  const out = mkdtempSync(path.join(tmpdir(), 'hanlab-check-render-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  for (const fixture of ['sentiment.ipynb', 'patent-risk.ipynb', 'kormedmcqa.ipynb', 'klue-ner-exaone.ipynb', 'gliner-kbmc.ipynb']) {
    const written = renderReport(path.join(FIXTURES, fixture), out, { templatesDir: TEMPLATES });
    const markdown = readFileSync(written.markdownPath, 'utf8');
    const html = readFileSync(written.htmlPath, 'utf8');
    const md = stripRunMetadata(markdown, 'markdown');
    const page = stripRunMetadata(html, 'html');
    assert.ok(md.found && page.found, `${fixture}: run-metadata section found`);
    for (const text of [md.text, page.text]) {
      assert.doesNotMatch(text, /실행 정보|시작 시각|git 커밋/, `${fixture}: nothing of the section is left`);
      assert.match(text, /핵심 수치|결과/, `${fixture}: the body is kept`);
    }
    assert.ok(markdown.includes('시작 시각') || markdown.includes('실행 기록'), fixture);
    assert.ok(page.text.endsWith('</html>\n'), 'the page after the body (scripts, closing tags) is kept');
    assert.match(page.text, /<\/main>/);
  }
});

test('stripRunMetadata leaves text without the section alone and cuts only the last one', () => {
  assert.deepEqual(stripRunMetadata('# 보고서 목록\n\n표\n', 'markdown'), { text: '# 보고서 목록\n\n표\n', found: false });
  const twice = 'a\n---\n\n## 실행 정보\nbody\n---\n\n## 실행 정보\n시각\n';
  assert.equal(stripRunMetadata(twice, 'markdown').text, 'a\n---\n\n## 실행 정보\nbody\n');
  assert.deepEqual(stripRunMetadata('<main><p>x</p>\n<hr>\n<h2>실행 정보</h2>\n<p>t</p>\n</main>\n', 'html'), { text: '<main><p>x</p>\n</main>\n', found: true });
  assert.equal(stripRunMetadata('<hr>\n<h2>실행 정보</h2>\nno end', 'html').found, false);
});

test('firstDifference: one unified hunk, context before, long lines clipped around the change', () => {
  assert.equal(firstDifference('a\nb\n', 'a\nb\n', 'old', 'new'), '');
  assert.equal(firstDifference('a\nb\nc\nd\n', 'a\nb\nC\nd\n', 'old', 'new'), '--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n b\n-c\n+C');
  // Only the first hunk; the later change is announced, not printed.
  assert.equal(
    firstDifference('a\nb\nc\nd\ne\n', 'a\nB\nc\nd\nE\n', 'old', 'new', { context: 1 }),
    '--- old\n+++ new\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n… (뒤에도 다른 줄이 있습니다)',
  );
  // An inserted line resyncs right after it.
  assert.equal(firstDifference('a\nc\n', 'a\nb\nc\n', 'old', 'new'), '--- old\n+++ new\n@@ -1,1 +1,2 @@\n a\n+b');
  assert.equal(firstDifference('a\n', 'a\nb\n', 'old', 'new'), '--- old\n+++ new\n@@ -1,1 +1,2 @@\n a\n+b');
  const many = firstDifference('x\n', Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n'), 'old', 'new', { maxLines: 3 });
  assert.match(many, /\+line 2\n\+… \(17줄 더\)$/);
  const long = 'p'.repeat(5000);
  const diff = firstDifference(`${long}A${long}`, `${long}B${long}`, 'old', 'new', { maxWidth: 60 });
  const [minus, plus] = diff.split('\n').slice(3);
  assert.ok(minus.startsWith('-…') && minus.includes('A') && minus.length < 70, minus);
  assert.ok(plus.startsWith('+…') && plus.includes('B'), plus);
});

test('compareReportDirs treats an absent folder as empty', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-check-dirs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'a.md'), 'x\n');
  writeFileSync(path.join(dir, 'a.ipynb'), '{}');
  assert.deepEqual(compareReportDirs(path.join(dir, 'none'), dir), [{ file: 'a.md', status: 'missing' }]);
});

test('hanlab reports --check: a missing reports folder is an input error naming it', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-check-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeNotebook(path.join(dir, 'x.ipynb'), readNotebook(path.join(FIXTURES, 'sentiment.ipynb')));
  const missing = path.join(dir, 'no-reports');
  await assert.rejects(reportsCommand(['--check', '--notebooks', dir, '--out', missing]), (e: unknown) => e instanceof InputError && e.file === missing);
  await assert.rejects(checkReports({ outDir: missing }), InputError);
});
