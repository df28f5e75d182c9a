/**
 * `hanlab reports --jobs` and `--server` with real kernels: a study notebook and a producer/reader pair
 * (the reader reads the producer's metrics, as 02 reads 01's), run with one job, two jobs, and two
 * jobs on a Jupyter server. The reports are the same apart from run metadata; the reader runs after
 * the producer; the manual `hanlab run` + `hanlab report` path gives the same report as the pipeline,
 * data-hash row included.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { liveKernelCount } from '../../lib/jupyter/kernel-client.js';
import { readNotebook, writeNotebook, type Notebook } from '../../lib/notebook/nbformat.js';
import { liveRemoteKernelCount, remoteLauncher } from '../../lib/jupyter/remote-kernel.js';
import { parseServerAddress } from '../../lib/jupyter/remote-server.js';
import type { RunMetadata } from '../../lib/jupyter/runner.js';
import { compareReportDirs, stripRunMetadata } from '../../lib/report/check.js';
import { regenerateReports, type RegenerateResult } from '../../lib/report/pipeline.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';
import { remoteSkipReason, startJupyterServer, type JupyterServer } from './jupyter-server.js';

const root = process.cwd();
const work = mkdtempSync(path.join(tmpdir(), 'hanlab-reports-kernels-'));
// The producer writes under out/ of the project (git-ignored), where the kernel runs.
const shared = path.join('out', `hanlab-test-${randomUUID()}`);
const marker = newMarker();

function notebook(name: string, report: Record<string, unknown>, cells: string[]): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'hanlab', display_name: 'hanlab', language: 'typescript' }, hanlab: { report: { template: 'generic', name, ...report } } },
    cells: cells.map((source, index) => ({ cell_type: 'code', id: `${name}-${index}`, metadata: {}, execution_count: null, outputs: [], source })),
  } as Notebook;
}

const notebooksDir = path.join(work, 'notebooks');
mkdirSync(notebooksDir);
copyFileSync('notebooks/04-json-judgement.ipynb', path.join(notebooksDir, '04-json-judgement.ipynb'));
writeNotebook(
  path.join(notebooksDir, '10-producer.ipynb'),
  notebook('producer', { title: '생산 노트북', inputs: ['data/study-001'], outputs: [shared] }, [
    "import { mkdirSync, writeFileSync } from 'fs';\nimport { emit } from './lib/notebook/display.js';",
    `await new Promise((resolve) => setTimeout(resolve, 1500));\nmkdirSync(${JSON.stringify(shared)}, { recursive: true });\nwriteFileSync(${JSON.stringify(`${shared}/metrics.json`)}, JSON.stringify({ f1: 0.75 }));\nconsole.log('written');`,
    "emit('metrics', { f1: 0.75 });",
  ]),
);
writeNotebook(
  path.join(notebooksDir, '11-reader.ipynb'),
  notebook('reader', { title: '읽는 노트북', inputs: [`${shared}/metrics.json`] }, [
    "import { readFileSync } from 'fs';\nimport { emit } from './lib/notebook/display.js';",
    `const produced = JSON.parse(readFileSync(${JSON.stringify(`${shared}/metrics.json`)}, 'utf8'));\nemit('comparison', { f1: produced.f1, baseline: 0.5, gain: produced.f1 - 0.5 });`,
  ]),
);

after(async () => {
  rmSync(work, { recursive: true, force: true });
  rmSync(shared, { recursive: true, force: true });
  assert.equal(liveKernelCount(), 0);
  assert.deepEqual(await waitForNoProcesses(marker), [], 'no local kernel left');
});

const runOf = (file: string) => readNotebook(file).metadata.hanlab!.run as RunMetadata;

function regenerate(label: string, jobs: number, extra: { launcher?: ReturnType<typeof remoteLauncher> } = {}): Promise<RegenerateResult> {
  rmSync(shared, { recursive: true, force: true });
  return regenerateReports({
    cwd: root,
    notebooksDir,
    outDir: path.join(work, label, 'reports'),
    cacheDir: path.join(work, label, 'cache'),
    jobs,
    ...extra,
    runner: async (input, options) => {
      const { runNotebook } = await import('../../lib/jupyter/runner.js');
      return runNotebook(input, { ...options, env: { HANLAB_TEST_MARKER: marker } });
    },
  });
}

describe('hanlab reports with real kernels', { skip: remoteSkipReason() }, () => {
  let server: JupyterServer;
  before(async () => {
    server = await startJupyterServer();
  });
  after(async () => {
    await server?.stop();
  });

  test('--jobs 2 writes the same reports as --jobs 1 (apart from run metadata), runs notebooks at once and the reader after its producer', async () => {
    const one = await regenerate('one', 1);
    const two = await regenerate('two', 2);
    assert.deepEqual(one.failed, []);
    assert.deepEqual(two.failed, []);
    const files = compareReportDirs(path.join(work, 'one', 'reports'), path.join(work, 'two', 'reports'));
    // Markdown and HTML of three reports and the index, and the study's chart SVGs.
    assert.ok(files.length >= 8 && files.some((file) => file.file.endsWith('.svg')), files.map((file) => file.file).join(', '));
    assert.deepEqual(files.filter((file) => file.status !== 'unchanged'), []);
    const times = (label: string, name: string) => {
      const run = runOf(path.join(work, label, 'reports', `${name}.ipynb`));
      return { start: Date.parse(run.startedAt), end: Date.parse(run.endedAt) };
    };
    for (const label of ['one', 'two']) assert.ok(times(label, 'reader').start >= times(label, 'producer').end, `${label}: the reader starts after the producer ends`);
    const study = times('two', '04-json-judgement');
    const producer = times('two', 'producer');
    assert.ok(study.start < producer.end && producer.start < study.end, 'with two jobs, the study notebook and the producer overlap');
    assert.match(readFileSync(path.join(work, 'two', 'reports', 'reader.md'), 'utf8'), /0\.25/);
  });

  test('--jobs 2 --server: the same reports from kernels on a Jupyter server, nothing left there', async () => {
    const launcher = remoteLauncher(parseServerAddress(server.url, server.token));
    const remote = await regenerate('remote', 2, { launcher });
    assert.deepEqual(remote.failed, []);
    const files = compareReportDirs(path.join(work, 'one', 'reports'), path.join(work, 'remote', 'reports'));
    assert.deepEqual(files.filter((file) => file.status !== 'unchanged'), []);
    assert.equal(runOf(path.join(work, 'remote', 'reports', 'reader.ipynb')).server, server.url);
    assert.deepEqual(await server.kernels(), []);
    assert.equal(liveRemoteKernelCount(), 0);
  });

  test('hanlab run + hanlab report gives the same report as the pipeline, data-hash row included', async () => {
    const cli = (args: string[]) =>
      new Promise<void>((resolve, reject) =>
        execFile(process.execPath, ['bin/hanlab.mjs', ...args], { env: { ...process.env, HANLAB_TEST_MARKER: marker } }, (error, _stdout, stderr) => (error ? reject(new Error(stderr)) : resolve())),
      );
    const executed = path.join(work, 'manual', '04.ipynb');
    await cli(['run', path.join(notebooksDir, '04-json-judgement.ipynb'), '--out', executed, '-q']);
    await cli(['report', executed, '--out', path.join(work, 'manual')]);
    const manual = readFileSync(path.join(work, 'manual', '04-json-judgement.md'), 'utf8');
    const pipeline = readFileSync(path.join(work, 'one', 'reports', '04-json-judgement.md'), 'utf8');
    const hashRow = (text: string) => text.split('\n').find((line) => line.startsWith('| 데이터 해시 |'));
    assert.ok(hashRow(pipeline), 'the pipeline report has the data-hash row');
    assert.equal(hashRow(manual), hashRow(pipeline));
    assert.equal(stripRunMetadata(manual, 'markdown').text, stripRunMetadata(pipeline, 'markdown').text);
  });
});
