/**
 * Under nbclient (`jupyter nbconvert --execute --allow-errors`, as papermill and CI tools run notebooks)
 * a notebook with two failing cells: every later cell runs, the failures are real `error` outputs, and
 * every cell has its execution_count. (Under stock tslab the cells after an error came back empty.)
 * Skips, saying why, only where nbconvert is missing and HANLAB_REQUIRE_JUPYTER is unset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { installKernelSpecs } from '../../lib/jupyter/kernelspec.js';
import { readNotebook, sourceText, type CodeCell, type ErrorOutput } from '../../lib/notebook/nbformat.js';
import { readResults } from '../../lib/results/read.js';
import { findJupyter, isolatedJupyterEnv, nbformatErrors, skipUnlessRequired } from '../notebook/jupyter.js';
import { testWorkspace } from '../notebook/processes.js';

const jupyter = findJupyter();
const skip = skipUnlessRequired(jupyter ? undefined : 'jupyter nbconvert is not installed (apt install jupyter-nbconvert)');
const { work, marker } = testWorkspace('nbconvert', 'nbconvert shut the kernel down');

function nbconvert(notebook: string, output: string, extra: string[] = []): Promise<{ code: number | null; stderr: string }> {
  const prefix = path.join(work, 'prefix');
  installKernelSpecs({ prefix });
  return new Promise((resolve, reject) => {
    const child = spawn(
      jupyter!,
      ['nbconvert', '--to', 'notebook', '--execute', ...extra, '--ExecutePreprocessor.kernel_name=hanlab', '--ExecutePreprocessor.timeout=120', '--output', output, notebook],
      { env: isolatedJupyterEnv(prefix, work, { HANLAB_TEST_MARKER: marker }), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (exitCode) => resolve({ code: exitCode, stderr }));
  });
}

test('nbconvert --execute --allow-errors: two failing cells, every later cell runs with real errors and execution counts', { skip, timeout: 180_000 }, async () => {
  assert.ok(jupyter, 'HANLAB_REQUIRE_JUPYTER=1 but `jupyter nbconvert` was not found');
  const output = path.join(work, 'two-errors.out.ipynb');
  const { code, stderr } = await nbconvert('tests/fixtures/notebooks/two-errors.ipynb', output, ['--allow-errors']);
  assert.equal(code, 0, stderr);
  const errors = nbformatErrors(output);
  assert.ok(errors === undefined || errors === '', `not valid nbformat 4: ${errors}`);

  const cells = readNotebook(output).cells as CodeCell[];
  assert.deepEqual(cells.map((cell) => cell.execution_count), [1, 2, 3, 4, 5], 'every cell ran and has its count');
  const thrown = cells[1].outputs.at(-1) as ErrorOutput;
  assert.deepEqual([thrown.output_type, thrown.ename, thrown.evalue], ['error', 'RangeError', '첫 번째 오류: 2']);
  assert.ok(thrown.traceback.includes("----> 2 | throw new RangeError('첫 번째 오류: ' + labels.length);"), thrown.traceback.join('\n'));
  assert.deepEqual([cells[1].outputs[0].output_type, sourceText((cells[1].outputs[0] as { text: string[] }).text)], ['stream', 'before the first failure\n']);
  assert.deepEqual(cells[2].outputs.map((output) => output.output_type), ['stream', 'display_data', 'execute_result']);
  assert.equal(sourceText((cells[2].outputs[2] as { data: Record<string, string> }).data['text/plain']), '20');
  const compile = cells[3].outputs[0] as ErrorOutput;
  assert.deepEqual([compile.ename, compile.evalue], ['CompileError', "1:7 - Type 'number' is not assignable to type 'string'."]);
  assert.deepEqual(cells[4].outputs.map((output) => output.output_type), ['display_data', 'stream']);
  assert.deepEqual({ ...readResults(readNotebook(output)) }, { middle: 2, after: true });
});

test('nbconvert --execute: two cells printing 400 lines each in synchronous bursts both finish (stalled stock tslab)', { skip, timeout: 180_000 }, async () => {
  const output = path.join(work, 'burst.out.ipynb');
  const { code, stderr } = await nbconvert('tests/fixtures/notebooks/burst-output.ipynb', output);
  assert.equal(code, 0, stderr);
  const cells = readNotebook(output).cells as CodeCell[];
  const lines = (cell: CodeCell) => cell.outputs.map((out) => sourceText((out as { text: string | string[] }).text)).join('').split('\n').filter(Boolean);
  assert.deepEqual(cells.map((cell) => lines(cell).length), [400, 400]);
  assert.equal(lines(cells[1]).at(-1), '두 번째 셀 399');
});
