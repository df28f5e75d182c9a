import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readNotebook, writeNotebook } from '../../lib/notebook/nbformat.js';
import type { RunOptions, RunResult } from '../../lib/jupyter/runner.js';
import { regenerateReports, renderReport } from '../../lib/report/pipeline.js';

const FIXTURES = path.join(process.cwd(), 'tests', 'fixtures', 'reports');
const TEMPLATES = path.join(process.cwd(), 'templates');

/** A project with two notebooks; the "runner" hands back the fixture's executed form. */
function project() {
  const root = mkdtempSync(path.join(tmpdir(), 'hanlab-pipeline-'));
  mkdirSync(path.join(root, 'notebooks'));
  mkdirSync(path.join(root, 'data'));
  writeFileSync(path.join(root, 'data', 'news.csv'), 'text,label\n좋은 소식,1\n');
  const sentiment = readNotebook(path.join(FIXTURES, 'sentiment.ipynb'));
  sentiment.metadata.hanlab!.report!.inputs = ['data/news.csv'];
  sentiment.metadata.hanlab!.report!.parameters = { epochs: 3 };
  writeNotebook(path.join(root, 'notebooks', '004-sentiment.ipynb'), sentiment);
  copyFileSync(path.join(FIXTURES, 'patent-risk.ipynb'), path.join(root, 'notebooks', '001-patent.ipynb'));
  return root;
}

function fakeRunner(calls: Array<{ input: string; options: RunOptions }>, fail?: string) {
  return async (input: string, options: RunOptions): Promise<RunResult> => {
    calls.push({ input: path.basename(input), options });
    const notebook = readNotebook(input);
    if (fail && input.endsWith(fail)) return { notebook, ok: false, failedCell: { index: 2, ename: 'Error', evalue: '데이터 없음' }, durationMs: 5 };
    return { notebook, ok: true, durationMs: 5 };
  };
}

test('regenerateReports runs every notebook, writes reports, executed notebooks and the index', async (t) => {
  const root = project();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const calls: Array<{ input: string; options: RunOptions }> = [];
  const result = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner: fakeRunner(calls), kernel: 'hanlab' });
  assert.deepEqual(calls.map((c) => c.input), ['001-patent.ipynb', '004-sentiment.ipynb']);
  assert.deepEqual(calls[1].options.parameters, { epochs: 3 });
  assert.equal(calls[1].options.kernel, 'hanlab');
  assert.equal(calls[1].options.cwd, root);
  assert.deepEqual(result.failed, []);
  for (const name of ['patent-risk', 'news-sentiment']) {
    for (const ext of ['md', 'html', 'ipynb']) assert.ok(existsSync(path.join(root, 'reports', `${name}.${ext}`)), `${name}.${ext}`);
  }
  const executed = readNotebook(path.join(root, 'reports', 'news-sentiment.ipynb'));
  assert.match((executed.metadata.hanlab!.report!.inputHashes as Record<string, string>)['data/news.csv'], /^[0-9a-f]{64}$/);
  const markdown = readFileSync(path.join(root, 'reports', 'news-sentiment.md'), 'utf8');
  assert.match(markdown, /\| 데이터 해시 \| `data\/news\.csv=[0-9a-f]{64}` \|/);
  // `hanlab report` of the kept executed notebook gives the same bytes as the pipeline wrote.
  const again = renderReport(path.join(root, 'reports', 'news-sentiment.ipynb'), path.join(root, 'again'), { templatesDir: TEMPLATES });
  assert.equal(readFileSync(again.markdownPath, 'utf8'), markdown);
  assert.equal(readFileSync(again.htmlPath, 'utf8'), readFileSync(path.join(root, 'reports', 'news-sentiment.html'), 'utf8'));
  const index = readFileSync(path.join(root, 'reports', 'index.md'), 'utf8');
  assert.match(index, /\(news-sentiment\.md\)/);
  assert.match(index, /\(patent-risk\.md\)/);
  assert.match(readFileSync(path.join(root, 'reports', 'index.html'), 'utf8'), /href="patent-risk\.html"/);
});

test('the freeze cache: unchanged notebooks are not run again; a changed input, or --force, runs them', async (t) => {
  const root = project();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const calls: Array<{ input: string; options: RunOptions }> = [];
  const runner = fakeRunner(calls);
  await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner });
  assert.equal(calls.length, 2);
  const before = readFileSync(path.join(root, 'reports', 'news-sentiment.md'), 'utf8');

  const second = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner });
  assert.equal(calls.length, 2, 'a cache hit runs nothing');
  assert.deepEqual(second.outcomes.map((o) => o.source), ['hit', 'hit']);
  assert.equal(readFileSync(path.join(root, 'reports', 'news-sentiment.md'), 'utf8'), before, 'the same report from the cache');

  writeFileSync(path.join(root, 'data', 'news.csv'), 'text,label\n좋은 소식,1\n나쁜 소식,0\n');
  const third = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner });
  assert.deepEqual(calls.slice(2).map((c) => c.input), ['004-sentiment.ipynb'], 'only the notebook whose input changed');
  assert.deepEqual(third.outcomes.map((o) => o.source), ['hit', 'run']);

  await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner, force: true });
  assert.equal(calls.length, 5, '--force runs everything');
  assert.ok(existsSync(path.join(root, '.cache', 'reports', 'news-sentiment.ipynb')));
});

test('a failing notebook is reported and does not stop the others', async (t) => {
  const root = project();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const calls: Array<{ input: string; options: RunOptions }> = [];
  const result = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner: fakeRunner(calls, '001-patent.ipynb') });
  assert.equal(result.failed.length, 1);
  assert.equal(result.failed[0].notebook, path.join('notebooks', '001-patent.ipynb'));
  assert.match(result.failed[0].error!, /cell 3 failed: Error: 데이터 없음/);
  assert.ok(existsSync(path.join(root, 'reports', 'news-sentiment.html')));
  assert.ok(!existsSync(path.join(root, 'reports', 'patent-risk.md')));
  assert.ok(!existsSync(path.join(root, '.cache', 'reports', 'patent-risk.json')), 'a failed run is not cached');
  assert.doesNotMatch(readFileSync(path.join(root, 'reports', 'index.md'), 'utf8'), /patent-risk/);
});

test('two notebooks with one report name are an error for the second, naming the field', async (t) => {
  const root = project();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  copyFileSync(path.join(root, 'notebooks', '004-sentiment.ipynb'), path.join(root, 'notebooks', '005-copy.ipynb'));
  const result = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner: fakeRunner([]) });
  assert.equal(result.failed.length, 1);
  assert.match(result.failed[0].error!, /005-copy\.ipynb, field "metadata\.hanlab\.report\.name": report name "news-sentiment" is also used by notebooks\/004-sentiment\.ipynb/);
});

test('renderReport writes <name>.md and <name>.html from an executed notebook', (t) => {
  const out = mkdtempSync(path.join(tmpdir(), 'hanlab-report-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const written = renderReport(path.join(FIXTURES, 'kormedmcqa.ipynb'), out);
  assert.equal(written.markdownPath, path.join(out, 'kormedmcqa.md'));
  assert.match(readFileSync(written.markdownPath, 'utf8'), /^# Gemma-2-2b-it QLoRA KorMedMCQA 평가\n/);
  assert.match(readFileSync(written.htmlPath, 'utf8'), /^<!DOCTYPE html>\n<html lang="ko">/);
});
