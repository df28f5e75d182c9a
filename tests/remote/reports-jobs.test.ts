/**
 * `hanlab reports` orchestration with a fake runner (no kernel): notebooks run N at once, a notebook
 * waits for the one whose outputs it reads, a failure blocks only its readers, the freeze cache still
 * skips unchanged notebooks, per-cell progress lines, git state read once and git left clean by a
 * re-run that changes nothing but run metadata. The same with real kernels is in reports-kernels.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readNotebook, writeNotebook } from '../../lib/notebook/nbformat.js';
import type { CellEvent, RunOptions, RunResult } from '../../lib/jupyter/runner.js';
import { compareReportDirs } from '../../lib/report/check.js';
import { regenerateReports, renderReport } from '../../lib/report/pipeline.js';
import { jobsOnCycles, runScheduled } from '../../lib/report/schedule.js';

const FIXTURES = path.join(process.cwd(), 'tests', 'fixtures', 'reports');
const TEMPLATES = path.join(process.cwd(), 'templates');
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Spec {
  fixture: string;
  name: string;
  inputs?: string[];
  outputs?: string[];
}

/** A project whose notebooks are report fixtures renamed, with declared inputs and outputs. */
function project(t: { after: (fn: () => void) => void }, specs: Record<string, Spec>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'hanlab-jobs-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'notebooks'));
  mkdirSync(path.join(root, 'data'));
  writeFileSync(path.join(root, 'data', 'train.csv'), 'text,label\n좋다,1\n');
  for (const [file, spec] of Object.entries(specs)) {
    const notebook = readNotebook(path.join(FIXTURES, spec.fixture));
    const report = notebook.metadata.hanlab!.report!;
    report.name = spec.name;
    report.inputs = spec.inputs ?? [];
    if (spec.outputs) (report as Record<string, unknown>).outputs = spec.outputs;
    writeNotebook(path.join(root, 'notebooks', file), notebook);
  }
  return root;
}

const THREE: Record<string, Spec> = {
  '01-train.ipynb': { fixture: 'sentiment.ipynb', name: 'train', inputs: ['data/train.csv'], outputs: ['out/train'] },
  '02-compare.ipynb': { fixture: 'klue-ner-exaone.ipynb', name: 'compare', inputs: ['out/train/metrics.json'] },
  '03-other.ipynb': { fixture: 'patent-risk.ipynb', name: 'other' },
};

interface Call {
  name: string;
  start: number;
  end: number;
  options: RunOptions;
}

/**
 * Stands in for the runner: takes `ms` per notebook, writes what 01 declares it writes, stamps new run
 * metadata (times) and stream text with a timing, as a real re-run does.
 */
function fakeRunner(root: string, calls: Call[], opts: { ms?: number; fail?: string; metrics?: () => string } = {}) {
  let active = 0;
  const runner = async (input: string, options: RunOptions): Promise<RunResult> => {
    const name = path.basename(input);
    const call: Call = { name, start: Date.now(), end: 0, options };
    calls.push(call);
    active++;
    runner.maxActive = Math.max(runner.maxActive, active);
    try {
      await delay(opts.ms ?? 30);
      const notebook = readNotebook(input);
      if (name === '01-train.ipynb') {
        mkdirSync(path.join(root, 'out', 'train'), { recursive: true });
        writeFileSync(path.join(root, 'out', 'train', 'metrics.json'), opts.metrics?.() ?? '{"f1": 0.8}\n');
      }
      const now = new Date().toISOString();
      notebook.metadata.hanlab!.run = { ...(notebook.metadata.hanlab!.run as object), startedAt: now, endedAt: now, durationMs: Math.random() * 1000, git: options.git ?? undefined };
      if (opts.fail && name === opts.fail) return { notebook, ok: false, failedCell: { index: 1, ename: 'Error', evalue: '학습 실패' }, durationMs: 5 };
      return { notebook, ok: true, durationMs: 5 };
    } finally {
      call.end = Date.now();
      active--;
    }
  };
  runner.maxActive = 0;
  return runner;
}

test('--jobs 2 runs independent notebooks at once, waits for the notebook whose outputs another reads, and writes the same reports as --jobs 1', async (t) => {
  const serial = project(t, THREE);
  const parallel = project(t, THREE);
  const serialCalls: Call[] = [];
  const parallelCalls: Call[] = [];
  const one = fakeRunner(serial, serialCalls, { ms: 150 });
  const two = fakeRunner(parallel, parallelCalls, { ms: 150 });
  const a = await regenerateReports({ cwd: serial, templatesDir: TEMPLATES, runner: one, jobs: 1 });
  const b = await regenerateReports({ cwd: parallel, templatesDir: TEMPLATES, runner: two, jobs: 2 });
  assert.deepEqual(a.failed, []);
  assert.deepEqual(b.failed, []);
  assert.equal(one.maxActive, 1);
  assert.equal(two.maxActive, 2, 'two notebooks ran at once');
  assert.deepEqual(serialCalls.map((c) => c.name), ['01-train.ipynb', '02-compare.ipynb', '03-other.ipynb']);
  const byName = Object.fromEntries(parallelCalls.map((c) => [c.name, c]));
  assert.ok(byName['02-compare.ipynb'].start >= byName['01-train.ipynb'].end, '02 starts after 01 wrote out/train');
  assert.ok(byName['03-other.ipynb'].start < byName['01-train.ipynb'].end, '03 runs beside 01');
  // The same reports, apart from the run-metadata section.
  const files = compareReportDirs(path.join(serial, 'reports'), path.join(parallel, 'reports'));
  assert.ok(files.length >= 8);
  assert.deepEqual(files.filter((f) => f.status !== 'unchanged'), []);
  assert.deepEqual(b.outcomes.map((o) => o.notebook), a.outcomes.map((o) => o.notebook), 'outcomes in notebook order');
});

test('a failed notebook blocks only the notebooks that read its outputs; the others are written', async (t) => {
  const root = project(t, THREE);
  const calls: Call[] = [];
  const lines: string[] = [];
  const result = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner: fakeRunner(root, calls, { fail: '01-train.ipynb' }), jobs: 2, log: (line) => lines.push(line) });
  assert.deepEqual(calls.map((c) => c.name).sort(), ['01-train.ipynb', '03-other.ipynb'], '02 was not run');
  assert.deepEqual(
    result.failed.map((f) => [f.notebook, f.error]),
    [
      ['notebooks/01-train.ipynb', 'cell 2 failed: Error: 학습 실패'],
      ['notebooks/02-compare.ipynb', 'not run: it reads what notebooks/01-train.ipynb writes, and that failed'],
    ],
  );
  assert.ok(existsSync(path.join(root, 'reports', 'other.md')));
  assert.ok(lines.includes('[2/3] notebooks/02-compare.ipynb: 건너뜀 (notebooks/01-train.ipynb 실패)'), lines.join('\n'));
  assert.match(readFileSync(path.join(root, 'reports', 'index.md'), 'utf8'), /other\.md/);
});

test('the freeze cache with dependencies: nothing re-runs when nothing changed; a producer that re-runs re-runs its readers', async (t) => {
  const root = project(t, THREE);
  const calls: Call[] = [];
  let f1 = 0.8;
  const runner = fakeRunner(root, calls, { metrics: () => `{"f1": ${f1}}\n` });
  await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner, jobs: 2 });
  assert.equal(calls.length, 3);
  const again = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner, jobs: 2 });
  assert.equal(calls.length, 3, 'all from the cache');
  assert.deepEqual(again.outcomes.map((o) => o.source), ['hit', 'hit', 'hit']);
  // The producer's input changes: it runs, and so does its reader (even if the bytes it writes are the same).
  writeFileSync(path.join(root, 'data', 'train.csv'), 'text,label\n좋다,1\n싫다,0\n');
  const third = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner, jobs: 2 });
  assert.deepEqual(third.outcomes.map((o) => o.source), ['run', 'run', 'hit']);
  // What the producer wrote was deleted: its cached run no longer counts.
  rmSync(path.join(root, 'out'), { recursive: true });
  f1 = 0.9;
  const fourth = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner, jobs: 2 });
  assert.deepEqual(fourth.outcomes.map((o) => o.source), ['run', 'run', 'hit']);
  assert.equal(readFileSync(path.join(root, 'out', 'train', 'metrics.json'), 'utf8'), '{"f1": 0.9}\n');
});

test('notebooks that read each other\'s outputs are a cycle, reported by name; the rest still run', async (t) => {
  const root = project(t, {
    'a.ipynb': { fixture: 'sentiment.ipynb', name: 'a', inputs: ['out/b'], outputs: ['out/a'] },
    'b.ipynb': { fixture: 'klue-ner-exaone.ipynb', name: 'b', inputs: ['out/a/x.json'], outputs: ['out/b'] },
    'c.ipynb': { fixture: 'patent-risk.ipynb', name: 'c' },
  });
  const result = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner: fakeRunner(root, []), jobs: 2 });
  assert.deepEqual(result.failed.map((f) => f.notebook), ['notebooks/a.ipynb', 'notebooks/b.ipynb']);
  assert.match(result.failed[0].error!, /form a cycle with notebooks\/b\.ipynb/);
  assert.ok(existsSync(path.join(root, 'reports', 'c.md')));
});

test('declared outputs must be a list of paths', async (t) => {
  const root = project(t, { 'a.ipynb': { fixture: 'sentiment.ipynb', name: 'a' } });
  const notebook = readNotebook(path.join(root, 'notebooks', 'a.ipynb'));
  (notebook.metadata.hanlab!.report as Record<string, unknown>).outputs = 'out/a';
  writeNotebook(path.join(root, 'notebooks', 'a.ipynb'), notebook);
  const result = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner: fakeRunner(root, []) });
  assert.match(result.failed[0].error!, /notebooks\/a\.ipynb, field "metadata\.hanlab\.report\.outputs": outputs must be a list/);
});

test('per-cell progress: a line while a long cell runs (with what it printed last) and one when it ends', async (t) => {
  const root = project(t, { '01-train.ipynb': THREE['01-train.ipynb'] });
  const lines: string[] = [];
  const runner = async (input: string, options: RunOptions): Promise<RunResult> => {
    const notebook = readNotebook(input);
    const cell = notebook.cells.find((c) => c.cell_type === 'code') as CellEvent['cell'];
    const streams = [{ name: 'stdout' as const, text: 'epoch 1/2 ████░░ 120/400 loss 0.4123\r' }];
    options.onCell?.({ phase: 'start', index: 0, position: 1, total: 2, cell, streams });
    await delay(250);
    options.onCell?.({ phase: 'end', index: 0, position: 1, total: 2, cell, streams, status: 'ok', durationMs: 2500 });
    options.onCell?.({ phase: 'start', index: 1, position: 2, total: 2, cell, streams: [] });
    options.onCell?.({ phase: 'end', index: 1, position: 2, total: 2, cell, streams: [], status: 'ok', durationMs: 10 });
    mkdirSync(path.join(root, 'out', 'train'), { recursive: true });
    return { notebook, ok: true, durationMs: 5 };
  };
  await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner, progressIntervalMs: 100, log: (line) => lines.push(line) });
  assert.ok(lines.some((line) => /^\[1\/1\] notebooks\/01-train\.ipynb: 셀 1\/2 실행 중, 0\.\d초 경과 — epoch 1\/2 ████░░ 120\/400 loss 0\.4123$/.test(line)), lines.join('\n'));
  assert.ok(lines.includes('[1/1] notebooks/01-train.ipynb: 셀 1/2 완료, 2.5초'), lines.join('\n'));
  assert.ok(!lines.some((line) => line.includes('셀 2/2')), 'quick cells print nothing');
});

function git(root: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
}

test('a re-run that changes nothing but run metadata leaves git clean; the git state is read once, before anything is written', async (t) => {
  const root = project(t, THREE);
  writeFileSync(path.join(root, '.gitignore'), '.cache/\nout/\n');
  const calls: Call[] = [];
  const runner = fakeRunner(root, calls, { ms: 20 });
  await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner, jobs: 2 });
  git(root, 'init', '-q');
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', 'reports');
  const head = git(root, 'rev-parse', 'HEAD').trim();
  // --force: every notebook runs again, every run has new times.
  const again = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner, jobs: 2, force: true });
  assert.deepEqual(again.outcomes.map((o) => [o.source, o.changed]), [['run', false], ['run', false], ['run', false]]);
  assert.equal(git(root, 'status', '--porcelain'), '', 'git status is clean');

  // A change in one report: the later runs still record the state from before the first write.
  const notebook = readNotebook(path.join(root, 'notebooks', '01-train.ipynb'));
  notebook.metadata.hanlab!.report!.title = '새 제목';
  writeNotebook(path.join(root, 'notebooks', '01-train.ipynb'), notebook);
  git(root, 'commit', '-qam', 'new title');
  const newHead = git(root, 'rev-parse', 'HEAD').trim();
  assert.notEqual(newHead, head);
  calls.length = 0;
  const third = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner, jobs: 1, force: true });
  assert.deepEqual(third.outcomes.map((o) => o.changed), [true, false, false]);
  assert.deepEqual(calls.map((c) => c.options.git), [{ commit: newHead, dirty: false }, { commit: newHead, dirty: false }, { commit: newHead, dirty: false }]);
  assert.match(git(root, 'status', '--porcelain'), /reports\/train\.md/);
});

test('the scheduler: longest chain first with several slots, blocked dependents, cycles found', async () => {
  const started: string[] = [];
  const jobs = [
    { id: 'short', dependsOn: [], estimateMs: 10 },
    { id: 'long-head', dependsOn: [], estimateMs: 50 },
    { id: 'long-tail', dependsOn: ['long-head'], estimateMs: 100 },
    { id: 'broken', dependsOn: [], estimateMs: 1 },
    { id: 'reader', dependsOn: ['broken'], estimateMs: 1 },
  ];
  const blocked: string[] = [];
  const outcome = await runScheduled(jobs, {
    jobs: 1,
    run: async (job) => {
      started.push(job.id);
      return job.id !== 'broken';
    },
    onBlocked: (job, cause) => blocked.push(`${job.id}<-${cause.id}`),
  });
  assert.deepEqual(started, ['short', 'long-head', 'long-tail', 'broken'], 'one slot: the given order');
  assert.deepEqual(blocked, ['reader<-broken']);
  assert.equal(outcome.get('reader'), 'blocked');
  started.length = 0;
  await runScheduled(jobs, { jobs: 2, run: async (job) => (started.push(job.id), true) });
  assert.deepEqual(started.slice(0, 2), ['long-head', 'short'], 'two slots: the longest chain starts first');
  assert.deepEqual(jobsOnCycles([{ id: 'a', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['a'] }]).map((j) => j.id), ['a', 'b']);
});

test('a report the pipeline keeps renders the same from the kept executed notebook (hanlab report reproduces it)', async (t) => {
  const root = project(t, { '03-other.ipynb': THREE['03-other.ipynb'] });
  const runner = fakeRunner(root, []);
  await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner });
  const before = readFileSync(path.join(root, 'reports', 'other.md'), 'utf8');
  await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner, force: true });
  assert.equal(readFileSync(path.join(root, 'reports', 'other.md'), 'utf8'), before);
  const again = renderReport(path.join(root, 'reports', 'other.ipynb'), path.join(root, 'again'), { templatesDir: TEMPLATES });
  assert.equal(readFileSync(again.markdownPath, 'utf8'), before);
});

test('on a server: a shipped input with other bytes there fails that notebook; inputs another notebook wrote there are the server\'s own', async (t) => {
  const root = project(t, { ...THREE, '03-other.ipynb': { ...THREE['03-other.ipynb'], inputs: ['data/train.csv'] } });
  const inner = fakeRunner(root, []);
  const runner = async (input: string, options: RunOptions): Promise<RunResult> => {
    const result = await inner(input, options);
    const run = result.notebook.metadata.hanlab!.run as Record<string, unknown>;
    if (input.endsWith('02-compare.ipynb')) run.inputMismatch = { missing: [], different: ['out/train/metrics.json'] };
    if (input.endsWith('03-other.ipynb')) run.inputMismatch = { missing: [], different: ['data/train.csv'] };
    return result;
  };
  const launcher = { location: 'http://gpu-host:8888/', kernelSpec: async () => ({ name: 'hanlab', display_name: 'hanlab', language: 'typescript' }), start: async () => { throw new Error('not used'); } };
  const result = await regenerateReports({ cwd: root, templatesDir: TEMPLATES, runner, launcher, jobs: 2 });
  assert.deepEqual(result.failed.map((f) => [f.notebook, f.error]), [
    ['notebooks/03-other.ipynb', "the server's checkout differs from this one: data/train.csv has other bytes there; sync it so the report matches its cache key"],
  ]);
  assert.ok(existsSync(path.join(root, 'reports', 'compare.md')));
});
