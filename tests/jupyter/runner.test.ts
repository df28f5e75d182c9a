import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CellError, CellTimeoutError, KernelDiedError, RunStoppedError } from '../../lib/jupyter/errors.js';
import { liveKernelCount } from '../../lib/jupyter/kernel-client.js';
import { readNotebook, sourceText, type CodeCell, type ErrorOutput } from '../../lib/notebook/nbformat.js';
import { INJECTED_TAG, hasTag } from '../../lib/notebook/parameters.js';
import { DEFAULT_CELL_TIMEOUT_MS, runNotebook, type CellEvent, type RunMetadata } from '../../lib/jupyter/runner.js';
import { RESULT_MIME, readResults } from '../../lib/results/read.js';
import { RESULT_KINDS_VERSION } from '../../lib/results/kinds.js';
import { nbformatErrors } from '../notebook/jupyter.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';

const FIXTURES = 'tests/fixtures/notebooks';
const work = mkdtempSync(path.join(tmpdir(), 'hanlab-runner-'));
const marker = newMarker();
const env = { HANLAB_TEST_MARKER: marker };

after(async () => {
  rmSync(work, { recursive: true, force: true });
  assert.equal(liveKernelCount(), 0);
  assert.deepEqual(await waitForNoProcesses(marker), [], 'every kernel process was stopped');
});

const code = (cell: unknown) => cell as CodeCell;
/** Saved notebooks must pass nbformat's schema (checked where Python's nbformat is installed). */
function assertValidNbformat(file: string): void {
  const errors = nbformatErrors(file);
  assert.ok(errors === undefined || errors === '', `${file} is not valid nbformat 4: ${errors}`);
}
const runOf = (notebook: { metadata: { hanlab?: { run?: unknown } } }) => notebook.metadata.hanlab?.run as RunMetadata;

// Concurrent: each test starts its own kernel and spends much of its time waiting on it.
describe('runNotebook', { concurrency: 3 }, () => {
  test('a notebook that succeeds: outputs, results, execution counts, run metadata, authored metadata kept', async () => {
    const output = path.join(work, 'success.ipynb');
    const events: CellEvent[] = [];
    const result = await runNotebook(path.join(FIXTURES, 'success.ipynb'), { output, env, onCell: (event) => events.push(event) });
    assertValidNbformat(output);
    assert.equal(result.ok, true);
    assert.equal(result.output, output);
    assert.equal(result.error, undefined);
    const saved = readNotebook(output);
    assert.deepEqual(saved, JSON.parse(JSON.stringify(result.notebook)));

    assert.deepEqual({ ...readResults(saved) }, {
      scores: { precision: 0.8, recall: 0.6, f1: 0.686 },
      sentences: ['철수가 서울에 갔다.', '영희는 "KLUE"를 읽었다.'],
    });
    const cells = saved.cells.filter((cell) => cell.cell_type === 'code').map(code);
    assert.deepEqual(cells.map((cell) => cell.execution_count), [1, 2, 3, 4, 5]);
    assert.deepEqual(cells[1].outputs[0], { output_type: 'stream', name: 'stdout', text: '개체명 F1 0.6\n' });
    const emitted = cells[1].outputs[1] as { output_type: string; data: Record<string, unknown>; metadata: object };
    assert.equal(emitted.output_type, 'display_data');
    // The kernel stamps the kind it decided (a plain value here) and the kind contract's version.
    assert.deepEqual(emitted.data[RESULT_MIME], { name: 'scores', value: { precision: 0.75, recall: 0.5, f1: 0.6 }, kind: 'value', kindVersion: RESULT_KINDS_VERSION });
    assert.equal(emitted.data['text/plain'], 'F1 = 0.6');
    // The kernel adds the report's own HTML of the result: here the 항목 | 값 table.
    assert.match(String(emitted.data['text/html']), /^<div class="hanlab-result"><h3>scores<\/h3>[\s\S]*<th>항목<\/th>[\s\S]*<td>precision<\/td>\n<td>0.75<\/td>/);
    const table = cells[2].outputs[0] as { data: Record<string, string> };
    assert.match(table.data['text/html'], /<td>&#60;b&#62;OG&#60;\/b&#62;<\/td>/);
    assert.match(table.data['text/plain'], /^유형별 F1\n유형/);
    const plot = (cells[3].outputs[0] as { data: Record<string, string> }).data;
    assert.deepEqual(Object.keys(plot).sort(), ['application/vnd.plotly.v1+json', 'text/html', 'text/plain']);
    assert.match(plot['text/html'], /^<script type="text\/javascript">if \(!window\.Plotly\)/, 'the first figure of the session carries plotly.js');
    assert.match(plot['text/html'], /Plotly\.newPlot\(box, figure\.data/);
    assert.deepEqual(cells[4].outputs[0], { output_type: 'stream', name: 'stderr', text: '경고: 작은 표본\n' });

    assert.deepEqual(saved.metadata.hanlab?.report, { template: 'ner', name: 'success', title: '성공 노트북' });
    assert.deepEqual(saved.metadata.kernelspec, { name: 'hanlab', display_name: 'hanlab (TypeScript, CPU)', language: 'typescript' });
    assert.equal(saved.metadata.language_info?.name, 'typescript');
    const run = runOf(saved);
    assert.equal(run.kernel, 'hanlab');
    assert.equal(run.ok, true);
    assert.equal(run.input, 'tests/fixtures/notebooks/success.ipynb');
    assert.ok(Date.parse(run.endedAt) >= Date.parse(run.startedAt));
    assert.deepEqual(run.cells.map((cell) => cell.status), ['ok', 'ok', 'ok', 'ok', 'ok']);
    assert.ok(run.cells.every((cell) => typeof cell.durationMs === 'number'));
    assert.ok(run.kernelStartMs > 0 && run.kernelStartMs < run.durationMs);
    assert.equal(run.cellTimeoutMs, DEFAULT_CELL_TIMEOUT_MS, 'a generous default limit: nothing hangs forever');
    assert.equal(DEFAULT_CELL_TIMEOUT_MS, 30 * 60 * 1000);
    assert.equal(run.packages.tslab, '1.0.22');
    assert.equal(run.packages['@tensorflow/tfjs'], '4.22.0');
    assert.equal(run.deviceSource, 'runner-probe', 'the notebook emitted no device');
    assert.ok(Array.isArray((run.device as { backends: unknown[] }).backends));
    if (run.git) assert.match(run.git.commit, /^[0-9a-f]{40}$/);
    assert.deepEqual(events.filter((event) => event.phase === 'end').map((event) => [event.index, event.position, event.total, event.status]), [
      [1, 1, 5, 'ok'], [2, 2, 5, 'ok'], [3, 3, 5, 'ok'], [4, 4, 5, 'ok'], [5, 5, 5, 'ok'],
    ]);
  });

  test('a cell that throws: a proper error output, later cells not run, the partial notebook saved', async () => {
    const output = path.join(work, 'error.ipynb');
    const result = await runNotebook(path.join(FIXTURES, 'error.ipynb'), { output, env });
    assertValidNbformat(output);
    assert.equal(result.ok, false);
    assert.deepEqual(result.failedCell, { index: 1, ename: 'DataError', evalue: 'klue-ner.tsv:12: 태그 "B-XX"를 알 수 없음' });
    assert.ok(result.error instanceof CellError);
    assert.match(result.error.message, /^cell 2 \("console\.log\('about to fail'\);"\) failed: DataError: klue-ner\.tsv:12/);
    const saved = readNotebook(output);
    const failing = code(saved.cells[1]);
    assert.deepEqual(failing.outputs[0], { output_type: 'stream', name: 'stdout', text: 'about to fail\n' });
    const error = failing.outputs[1] as ErrorOutput;
    assert.equal(failing.outputs.length, 2, 'the error text is not repeated as stderr');
    assert.deepEqual([error.output_type, error.ename, error.evalue], ['error', 'DataError', 'klue-ner.tsv:12: 태그 "B-XX"를 알 수 없음']);
    assert.ok(error.traceback.some((line) => line.startsWith('DataError: klue-ner.tsv:12')));
    // The traceback points at the cell's own line, not at tslab, node:vm or the kernel.
    assert.ok(error.traceback.some((line) => /^\s+at In\[2\]:3:\d+$/.test(line)), error.traceback.join('\n'));
    assert.ok(error.traceback.includes(`----> 3 | throw new DataError('klue-ner.tsv:12: 태그 "B-XX"를 알 수 없음');`), error.traceback.join('\n'));
    assert.ok(!error.traceback.some((line) => /tslab|node:|evalmachine|hanlab-cell|dist\/lib/.test(line)), error.traceback.join('\n'));
    assert.equal(failing.execution_count, 2);
    const never = code(saved.cells[2]);
    assert.deepEqual([never.execution_count, never.outputs], [null, []]);
    assert.deepEqual(runOf(saved).cells.map((cell) => cell.status), ['ok', 'error', 'skipped']);
    assert.equal('never' in readResults(saved), false);
  });

  test('allowErrors runs past failures (thrown and compile errors) at once: no abort window after an error', async () => {
    const result = await runNotebook(path.join(FIXTURES, 'several-errors.ipynb'), { allowErrors: true, env });
    assert.equal(result.ok, false);
    assert.equal(result.failedCell?.index, 0);
    const [thrown, compile, last] = result.notebook.cells.map(code);
    assert.deepEqual(thrown.outputs.map((output) => output.output_type), ['stream', 'error']);
    assert.deepEqual(thrown.outputs[0], { output_type: 'stream', name: 'stderr', text: 'a warning before the failure\n' });
    assert.deepEqual([(thrown.outputs[1] as ErrorOutput).ename, (thrown.outputs[1] as ErrorOutput).evalue], ['RangeError', '첫 번째 오류']);
    assert.deepEqual(compile.outputs, [
      {
        output_type: 'error',
        ename: 'CompileError',
        evalue: "1:7 - Type 'number' is not assignable to type 'string'.",
        traceback: ["1:7 - Type 'number' is not assignable to type 'string'.", '', 'In[2], line 1:', '----> 1 | const wrong: string = 42;'],
      },
    ]);
    assert.equal(readResults(result.notebook).after, true);
    assert.deepEqual(runOf(result.notebook).cells.map((cell) => cell.status), ['error', 'error', 'ok']);
    assert.deepEqual(result.notebook.cells.map((cell) => code(cell).execution_count), [1, 2, 3]);
  });

  test('a cell over the time limit: CellTimeoutError naming the cell and limit, kernel stopped', async () => {
    const output = path.join(work, 'timeout.ipynb');
    const started = Date.now();
    const result = await runNotebook(path.join(FIXTURES, 'timeout.ipynb'), { output, cellTimeoutMs: 3000, allowErrors: true, env });
    assertValidNbformat(output);
    assert.ok(Date.now() - started < 60_000, 'the two-minute cell was not waited for');
    assert.equal(result.ok, false);
    assert.ok(result.error instanceof CellTimeoutError);
    assert.equal(result.error.timeoutMs, 3000);
    assert.match(result.error.message, /^cell 2 \("console\.log\('sleeping'\);"\) did not finish within 3 s/);
    const saved = readNotebook(output);
    const cell = code(saved.cells[1]);
    assert.deepEqual(cell.outputs[0], { output_type: 'stream', name: 'stdout', text: 'sleeping\n' });
    assert.equal((cell.outputs[1] as ErrorOutput).ename, 'CellTimeoutError');
    assert.deepEqual(runOf(saved).cells.map((cell) => cell.status), ['ok', 'timeout', 'skipped'], 'a timeout ends the run even with allowErrors');
    assert.equal(runOf(saved).cellTimeoutMs, 3000);
  });

  test('a kernel killed mid-run: KernelDiedError naming the cell and the signal', async () => {
    const output = path.join(work, 'dies.ipynb');
    const result = await runNotebook(path.join(FIXTURES, 'kernel-dies.ipynb'), { output, env });
    assertValidNbformat(output);
    assert.equal(result.ok, false);
    assert.ok(result.error instanceof KernelDiedError);
    assert.equal(result.error.signal, 'SIGKILL');
    assert.match(result.error.message, /^the kernel was killed by SIGKILL while running cell 2 \("console\.log\('dying'\);"\)/);
    assert.deepEqual(result.failedCell && [result.failedCell.index, result.failedCell.ename], [1, 'KernelDiedError']);
    const saved = readNotebook(output);
    assert.deepEqual(code(saved.cells[1]).outputs[0], { output_type: 'stream', name: 'stdout', text: 'dying\n' });
    assert.deepEqual(runOf(saved).cells.map((cell) => cell.status), ['ok', 'kernel-died', 'skipped']);
  });

  test('parameters are injected after the parameters cell as typed consts, used, and recorded', async () => {
    const result = await runNotebook(path.join(FIXTURES, 'parameters.ipynb'), { parameters: { epochs: 7, labels: ['PS', 'OG'], mode: 'full', seed: 42 }, env });
    assert.equal(result.ok, true, result.error?.message);
    const injected = result.notebook.cells[2];
    assert.ok(hasTag(injected, INJECTED_TAG));
    assert.equal(sourceText(injected.source), '// Parameters injected by hanlab run\nconst epochs: number = 7;\nconst labels: string[] = ["PS","OG"];\nconst mode: \'fast\' | \'full\' = "full";\nconst seed: number = 42;\n');
    assert.deepEqual(readResults(result.notebook).params, { epochs: 7, model: 'klue/bert-base', labels: ['PS', 'OG'], verbose: false, mode: 'full' });
    const run = runOf(result.notebook);
    assert.deepEqual(run.parameters, { epochs: 7, labels: ['PS', 'OG'], mode: 'full', seed: 42 });
    assert.equal(run.injectedParameters, true);
    assert.deepEqual(run.unknownParameters, ['seed']);
    assert.equal(existsSync(path.join(work, 'parameters.ipynb')), false, 'no output path, nothing written');
  });

  test('two cells printing 400 lines each in synchronous bursts both finish (stalled stock tslab)', async () => {
    const result = await runNotebook(path.join(FIXTURES, 'burst-output.ipynb'), { env, cellTimeoutMs: 60_000 });
    assert.equal(result.ok, true, result.error?.message);
    const [first, second] = result.notebook.cells.map(code);
    const lines = (cell: CodeCell) => sourceText((cell.outputs[0] as { text: string | string[] }).text).split('\n').filter(Boolean);
    assert.equal(lines(first).length, 400);
    assert.equal(lines(second).length, 400);
    assert.equal(lines(second)[399], '두 번째 셀 399');
    assert.deepEqual(result.notebook.cells.map((cell) => code(cell).execution_count), [1, 2]);
  });

  test('an uncaught exception from a timer, or a promise nobody awaited, is that cell\'s error', async () => {
    const result = await runNotebook(path.join(FIXTURES, 'uncaught-async.ipynb'), { env, allowErrors: true });
    assert.equal(result.ok, false);
    const [timer, unawaited, third] = result.notebook.cells.map(code);
    const timerError = timer.outputs.at(-1) as ErrorOutput;
    assert.deepEqual([timerError.output_type, timerError.ename, timerError.evalue], ['error', 'Error', '타이머에서 던진 오류']);
    assert.ok(timerError.traceback.some((line) => /^\s+at .*In\[1\]:2:\d+\)?$/.test(line)), timerError.traceback.join('\n'));
    assert.deepEqual(timer.outputs[0], { output_type: 'stream', name: 'stdout', text: 'before\n' }, 'the cell stopped at the error');
    const rejection = unawaited.outputs.at(-1) as ErrorOutput;
    assert.deepEqual([rejection.ename, rejection.evalue], ['RangeError', '아무도 기다리지 않은 promise']);
    assert.deepEqual(unawaited.outputs[0], { output_type: 'stream', name: 'stdout', text: 'sync part ran\n' });
    assert.deepEqual(third.outputs, [{ output_type: 'stream', name: 'stdout', text: 'third cell runs\n' }]);
    assert.deepEqual(runOf(result.notebook).cells.map((cell) => cell.status), ['error', 'error', 'ok']);
  });

  test('emit() with a name already emitted by another cell, or twice in one cell, is an error; { replace: true } replaces', async () => {
    const result = await runNotebook(path.join(FIXTURES, 'duplicate-emit.ipynb'), { env, allowErrors: true });
    const [, second, third] = result.notebook.cells.map(code);
    const otherCell = second.outputs.at(-1) as ErrorOutput;
    assert.equal(otherCell.ename, 'DuplicateResultError');
    assert.match(otherCell.evalue, /^emit\("f1"\): a result of that name was already emitted by In\[1\].*\{ replace: true \}/);
    const sameCell = third.outputs.at(-1) as ErrorOutput;
    assert.match(sameCell.evalue, /^emit\("pair"\): a result of that name was already emitted earlier in this cell/);
    assert.deepEqual(runOf(result.notebook).cells.map((cell) => cell.status), ['ok', 'error', 'error', 'ok']);
    // The saved notebook reads as: f1 from the first cell, replaced explicitly by the last.
    assert.deepEqual({ ...readResults(result.notebook) }, { f1: 0.7, pair: 1, single: 'ok' });
  });

  test('a run stopped from outside (SIGINT/SIGTERM): the running cell says so and the partial notebook is written', async () => {
    const output = path.join(work, 'stopped.ipynb');
    const stop = new AbortController();
    const running = runNotebook(path.join(FIXTURES, 'timeout.ipynb'), {
      output,
      env,
      signal: stop.signal,
      onCell: (event) => {
        if (event.phase === 'start' && event.position === 2) setTimeout(() => stop.abort('SIGTERM'), 300);
      },
    });
    const result = await running;
    assertValidNbformat(output);
    assert.ok(result.error instanceof RunStoppedError);
    assert.match(result.error.message, /^the run was stopped by SIGTERM while cell 2 \("console\.log\('sleeping'\);"\) was running/);
    const saved = readNotebook(output);
    assert.deepEqual(code(saved.cells[0]).outputs, [{ output_type: 'stream', name: 'stdout', text: 'start\n' }]);
    assert.equal((code(saved.cells[1]).outputs.at(-1) as ErrorOutput).ename, 'RunStoppedError');
    assert.deepEqual(runOf(saved).cells.map((cell) => cell.status), ['ok', 'stopped', 'skipped']);
  });

  test('a kernel that cannot start: the notebook is written with the error in its first code cell', async () => {
    const output = path.join(work, 'no-kernel.ipynb');
    const empty = path.join(work, 'empty-root');
    mkdirSync(empty, { recursive: true });
    // The launcher finds no tslab under this root and exits, naming what is missing.
    const result = await runNotebook(path.join(FIXTURES, 'error.ipynb'), { output, env: { ...env, HANLAB_PROJECT_ROOT: empty } });
    assertValidNbformat(output);
    assert.equal(result.ok, false);
    assert.ok(result.error instanceof KernelDiedError);
    const saved = readNotebook(output);
    const first = code(saved.cells[0]).outputs[0] as ErrorOutput;
    assert.equal(first.ename, 'KernelDiedError');
    assert.match(first.evalue, /the kernel exited with code 1 while starting[\s\S]*tslab is not installed in .*empty-root/);
    assert.deepEqual(runOf(saved).cells.map((cell) => cell.status), ['kernel-died', 'skipped', 'skipped']);
    assert.equal(runOf(saved).ok, false);
  });
});
