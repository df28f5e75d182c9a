/**
 * The `hanlab-gpu` kernel host on a machine without CUDA (this one, CI): it starts but refuses to run
 * cells, naming what is missing, unless HANLAB_ALLOW_CPU_FALLBACK=1, when it runs and records the fallback.
 * Also proves lib/backend compiles and runs inside tslab (TypeScript 5.0, CommonJS).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gpuProblem } from '../../lib/backend/probe.js';
import type { CodeCell, ErrorOutput } from '../../lib/notebook/nbformat.js';
import { runNotebook, type RunMetadata } from '../../lib/jupyter/runner.js';
import { readResults } from '../../lib/results/read.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';

const NOTEBOOK = 'tests/fixtures/notebooks/device.ipynb';
const marker = newMarker();
const noGpu = gpuProblem() !== undefined;
after(async () => {
  assert.deepEqual(await waitForNoProcesses(marker), [], 'no kernel process left');
});

describe('hanlab-gpu kernel without a GPU', { skip: !noGpu && 'this machine has a usable CUDA GPU' }, () => {
  test('starts, and refuses to run cells, naming the missing CUDA libraries and the override', async () => {
    const started = Date.now();
    const result = await runNotebook(NOTEBOOK, { kernel: 'hanlab-gpu', env: { HANLAB_TEST_MARKER: marker } });
    assert.equal(result.ok, false);
    assert.equal(result.failedCell?.ename, 'GpuUnavailableError');
    assert.match(result.failedCell?.evalue ?? '', /^the hanlab-gpu kernel has no usable GPU, so it runs no cells: missing CUDA libraries: .*libcudart\.so\.11\.0/);
    const error = (result.notebook.cells[result.failedCell!.index] as CodeCell).outputs.at(-1) as ErrorOutput;
    assert.ok(error.traceback.some((line) => line.includes('HANLAB_ALLOW_CPU_FALLBACK=1')), error.traceback.join('\n'));
    assert.ok(Date.now() - started < 30_000, 'fails fast, not by a start-up timeout');
  });

  test('with HANLAB_ALLOW_CPU_FALLBACK=1 it runs, and the notebook\'s device manifest records the fallback', async () => {
    const result = await runNotebook(NOTEBOOK, { kernel: 'hanlab-gpu', env: { HANLAB_TEST_MARKER: marker, HANLAB_ALLOW_CPU_FALLBACK: '1' } });
    assert.equal(result.ok, true, result.error?.message);
    const device = readResults(result.notebook).device as { backend: string; fallbackReason: string; requestedBy: string };
    assert.notEqual(device.backend, 'tensorflow-gpu');
    assert.match(device.fallbackReason, /^tensorflow-gpu: missing CUDA libraries: .*libcudart\.so\.11\.0/);
    const run = result.notebook.metadata.hanlab?.run as RunMetadata;
    assert.equal(run.kernel, 'hanlab-gpu');
    assert.equal(run.deviceSource, 'notebook');
    assert.deepEqual(run.device, device);
  });
});
