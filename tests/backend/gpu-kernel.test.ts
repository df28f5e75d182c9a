/**
 * The `hanlab-gpu` kernel host on a machine without CUDA (this one, CI): it must refuse to start and
 * name what is missing, unless HANLAB_ALLOW_CPU_FALLBACK=1, when it runs and records the fallback.
 * Also proves lib/backend compiles and runs inside tslab (TypeScript 5.0, CommonJS).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gpuProblem } from '../../lib/backend/probe.js';
import { KernelDiedError } from '../../lib/notebook/errors.js';
import { runNotebook, type RunMetadata } from '../../lib/notebook/runner.js';
import { readResults } from '../../lib/notebook/results.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';

const NOTEBOOK = 'tests/fixtures/notebooks/device.ipynb';
const marker = newMarker();
const noGpu = gpuProblem() !== undefined;
after(async () => {
  assert.deepEqual(await waitForNoProcesses(marker), [], 'no kernel process left');
});

describe('hanlab-gpu kernel without a GPU', { skip: !noGpu && 'this machine has a usable CUDA GPU' }, () => {
  test('refuses to start, naming the missing CUDA libraries', async () => {
    const started = Date.now();
    await assert.rejects(
      runNotebook(NOTEBOOK, { kernel: 'hanlab-gpu', env: { HANLAB_TEST_MARKER: marker } }),
      (error: unknown) =>
        error instanceof KernelDiedError &&
        error.exitCode === 1 &&
        /the kernel exited with code 1 while starting/.test(error.message) &&
        /\[hanlab-gpu\] refusing to start without a usable GPU: .*missing CUDA libraries: .*libcudart\.so\.11\.0/.test(error.message) &&
        /HANLAB_ALLOW_CPU_FALLBACK=1/.test(error.message),
    );
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
