/**
 * Interop with the real Jupyter: the kernelspecs installed into a temporary prefix, a notebook run by
 * `jupyter nbconvert --to notebook --execute`, and the emitted results compared with `runNotebook`'s.
 * Skips (with the reason) only when Jupyter is missing and HANLAB_REQUIRE_JUPYTER is unset; CI sets it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { installKernelSpecs } from '../../lib/jupyter/kernelspec.js';
import { readNotebook, type CodeCell } from '../../lib/notebook/nbformat.js';
import { readResults } from '../../lib/results/read.js';
import { runNotebook } from '../../lib/jupyter/runner.js';
import { findJupyter, nbformatErrors } from './jupyter.js';
import { newMarker, waitForNoProcesses } from './processes.js';

const jupyter = findJupyter();
const required = process.env.HANLAB_REQUIRE_JUPYTER === '1';
const skip = !jupyter && !required ? 'jupyter nbconvert is not installed (apt install jupyter-nbconvert python3-ipykernel; CI sets HANLAB_REQUIRE_JUPYTER=1)' : false;

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-interop-'));
const marker = newMarker();
after(async () => {
  rmSync(work, { recursive: true, force: true });
  assert.deepEqual(await waitForNoProcesses(marker), [], 'no kernel outlives nbconvert or the runner');
});

function nbconvert(kernel: string, input: string, output: string): Promise<{ code: number | null; stderr: string }> {
  const prefix = path.join(work, 'prefix');
  return new Promise((resolve, reject) => {
    const child = spawn(
      jupyter!,
      ['nbconvert', '--to', 'notebook', '--execute', `--ExecutePreprocessor.kernel_name=${kernel}`, '--ExecutePreprocessor.timeout=120', '--output', output, input],
      {
        env: {
          ...process.env,
          JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'),
          JUPYTER_RUNTIME_DIR: path.join(work, 'runtime'),
          JUPYTER_CONFIG_DIR: path.join(work, 'config'),
          HANLAB_TEST_MARKER: marker,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

describe('Jupyter interop', { skip }, () => {
  test('jupyter is installed where CI requires it', () => {
    assert.ok(jupyter, 'HANLAB_REQUIRE_JUPYTER=1 but `jupyter nbconvert` was not found');
  });

  test('nbconvert --execute with the installed hanlab kernel emits the same results as runNotebook', async () => {
    installKernelSpecs({ prefix: path.join(work, 'prefix') });
    // The notebook lives outside the project: the kernel must still run from the project root.
    const elsewhere = path.join(work, 'notebooks');
    mkdirSync(elsewhere, { recursive: true });
    const input = path.join(elsewhere, 'success.ipynb');
    copyFileSync('tests/fixtures/notebooks/success.ipynb', input);

    const converted = path.join(work, 'nbconvert-out.ipynb');
    // Independent runs of the same notebook: side by side.
    const [{ code, stderr }, ours] = await Promise.all([
      nbconvert('hanlab', input, converted),
      runNotebook(input, { output: path.join(work, 'runner-out.ipynb'), env: { HANLAB_TEST_MARKER: marker } }),
    ]);
    assert.equal(code, 0, stderr);
    assert.equal(ours.ok, true, ours.error?.message);

    const theirs = readNotebook(converted);
    const expected = { scores: { precision: 0.8, recall: 0.6, f1: 0.686 }, sentences: ['철수가 서울에 갔다.', '영희는 "KLUE"를 읽었다.'] };
    assert.deepEqual({ ...readResults(theirs) }, expected);
    assert.deepEqual({ ...readResults(ours.notebook) }, expected);
    // Same outputs cell by cell, but for how text is split into lines.
    const normal = (cells: unknown[]) => JSON.parse(JSON.stringify(cells.map((cell) => (cell as CodeCell).outputs ?? []), (key, value) => (Array.isArray(value) && value.every((part) => typeof part === 'string') && key !== 'traceback' && key !== 'value' ? value.join('') : value)));
    assert.deepEqual(normal(ours.notebook.cells), normal(theirs.cells));

    for (const file of [converted, path.join(work, 'runner-out.ipynb')]) {
      const errors = nbformatErrors(file);
      assert.ok(errors === undefined || errors === '', `${file} is not valid nbformat 4: ${errors}`);
    }
  });

  test('the hanlab-gpu kernel in Jupyter on a machine without CUDA: it starts and every cell fails naming the library', async (t) => {
    const gpuReady = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./lib/backend/probe.ts').then((m) => process.exit(m.gpuProblem() ? 1 : 0))"]).status === 0;
    if (gpuReady) return t.skip('this machine has a usable CUDA GPU');
    const input = path.join(work, 'notebooks', 'success.ipynb');
    const { code, stderr } = await nbconvert('hanlab-gpu', input, path.join(work, 'gpu-out.ipynb'));
    assert.notEqual(code, 0);
    assert.match(stderr, /GpuUnavailableError: the hanlab-gpu kernel has no usable GPU, so it runs no cells: .*libcudart\.so\.11\.0/);
    assert.match(stderr, /HANLAB_ALLOW_CPU_FALLBACK=1/);
    assert.doesNotMatch(stderr, /restarting|KernelRestarter|DeadKernelError/i, 'the kernel started once and stayed up');
  });
});
