/**
 * The `hanlab-gpu` kernel host on a machine without a GPU (this one, CI): it starts but refuses to run
 * cells, naming what is missing, unless HANLAB_ALLOW_CPU_FALLBACK=1, when it runs and records the fallback.
 * On the software GPU (SwiftShader, tests/backend/software-gpu.ts) it refuses, saying that only a
 * software adapter was found, unless HANLAB_ALLOW_SOFTWARE_GPU=1, when it runs the device cell on webgpu.
 * Also proves lib/backend (Dawn and tfjs-backend-webgpu included) compiles and runs inside tslab
 * (TypeScript 5.0, CommonJS).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gpuProblem } from '../../lib/backend/probe.js';
import { gpuDeviceNodes } from '../../lib/backend/vulkan.js';
import type { CodeCell, ErrorOutput } from '../../lib/notebook/nbformat.js';
import { runNotebook, type RunMetadata } from '../../lib/jupyter/runner.js';
import { readResults } from '../../lib/results/read.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';
import { assertSoftwareGpu, softwareGpuEnv, softwareGpuSkip } from './software-gpu.js';

const NOTEBOOK = 'tests/fixtures/notebooks/device.ipynb';
/** The device cell, then three updates of a small conv+CRF tagger and its predictions, on the kernel's backend. */
const TRAINING_NOTEBOOK = 'tests/fixtures/notebooks/gpu-training.ipynb';
const marker = newMarker();
const noGpu = gpuProblem() !== undefined && gpuDeviceNodes().length === 0;
after(async () => {
  assert.deepEqual(await waitForNoProcesses(marker), [], 'no kernel process left');
});

describe('hanlab-gpu kernel without a GPU', { skip: !noGpu && 'this machine has a GPU' }, () => {
  test('starts, and refuses to run cells, naming what each GPU backend misses and the override', async () => {
    const started = Date.now();
    const result = await runNotebook(NOTEBOOK, { kernel: 'hanlab-gpu', env: { HANLAB_TEST_MARKER: marker } });
    assert.equal(result.ok, false);
    assert.equal(result.failedCell?.ename, 'GpuUnavailableError');
    assert.match(result.failedCell?.evalue ?? '', /^the hanlab-gpu kernel has no usable GPU, so it runs no cells: .*webgpu: .+; tensorflow-gpu.*: missing CUDA libraries: .*libcudart\.so\.11\.0/);
    const error = (result.notebook.cells[result.failedCell!.index] as CodeCell).outputs.at(-1) as ErrorOutput;
    assert.ok(error.traceback.some((line) => line.includes('HANLAB_ALLOW_CPU_FALLBACK=1') && line.includes('libvulkan.so.1')), error.traceback.join('\n'));
    assert.ok(Date.now() - started < 30_000, 'fails fast, not by a start-up timeout');
  });

  test('with HANLAB_ALLOW_CPU_FALLBACK=1 it runs, and the notebook\'s device manifest records the fallback', async () => {
    const result = await runNotebook(NOTEBOOK, { kernel: 'hanlab-gpu', env: { HANLAB_TEST_MARKER: marker, HANLAB_ALLOW_CPU_FALLBACK: '1' } });
    assert.equal(result.ok, true, result.error?.message);
    const device = readResults(result.notebook).device as { backend: string; fallbackReason: string; requestedBy: string };
    assert.notEqual(device.backend, 'tensorflow-gpu');
    assert.match(device.fallbackReason, /^webgpu: .+; tensorflow-gpu: missing CUDA libraries: .*libcudart\.so\.11\.0/);
    const run = result.notebook.metadata.hanlab?.run as RunMetadata;
    assert.equal(run.kernel, 'hanlab-gpu');
    assert.equal(run.deviceSource, 'notebook');
    assert.deepEqual(run.device, device);
  });
});

describe('hanlab-gpu kernel on the software GPU (SwiftShader)', { skip: (!noGpu && 'this machine has a GPU') || softwareGpuSkip }, () => {
  test('without HANLAB_ALLOW_SOFTWARE_GPU it refuses: only a software adapter was found', { timeout: 120_000 }, async () => {
    assertSoftwareGpu();
    const result = await runNotebook(NOTEBOOK, { kernel: 'hanlab-gpu', env: { HANLAB_TEST_MARKER: marker, ...softwareGpuEnv(false) } });
    assert.equal(result.ok, false);
    assert.equal(result.failedCell?.ename, 'GpuUnavailableError');
    assert.match(result.failedCell?.evalue ?? '', /no usable GPU, so it runs no cells: no GPU backend is available: webgpu: only a software adapter was found \(google swiftshader/);
    assert.match(result.failedCell?.evalue ?? '', /HANLAB_ALLOW_SOFTWARE_GPU=1/);
  });

  test('with HANLAB_ALLOW_SOFTWARE_GPU=1 it runs the device cell on webgpu, and the manifest names the software adapter', { timeout: 120_000 }, async () => {
    assertSoftwareGpu();
    const result = await runNotebook(NOTEBOOK, { kernel: 'hanlab-gpu', env: { HANLAB_TEST_MARKER: marker, ...softwareGpuEnv(true) } });
    assert.equal(result.ok, true, result.error?.message);
    const device = readResults(result.notebook).device as { backend: string; tfBackend: string; webgpu?: { architecture: string; software?: string; isFallbackAdapter: boolean } };
    assert.equal(device.backend, 'webgpu');
    assert.equal(device.tfBackend, 'webgpu');
    assert.equal(device.webgpu?.architecture, 'swiftshader');
    assert.equal(device.webgpu?.isFallbackAdapter, true);
    assert.match(device.webgpu?.software ?? '', /software rasteriser/);
    const run = result.notebook.metadata.hanlab?.run as RunMetadata;
    assert.equal(run.kernel, 'hanlab-gpu');
    assert.deepEqual(run.device, device);
  });

  test('with HANLAB_ALLOW_SOFTWARE_GPU=1 a short training notebook trains and predicts on webgpu', { timeout: 300_000 }, async () => {
    assertSoftwareGpu();
    const result = await runNotebook(TRAINING_NOTEBOOK, { kernel: 'hanlab-gpu', env: { HANLAB_TEST_MARKER: marker, ...softwareGpuEnv(true) } });
    assert.equal(result.ok, true, result.error?.message);
    const results = readResults(result.notebook);
    assert.equal((results.device as { backend: string }).backend, 'webgpu');
    const training = results.training as { backend: string; losses: number[]; predictedLengths: number[]; goldLengths: number[] };
    assert.equal(training.backend, 'webgpu');
    assert.equal(training.losses.length, 3);
    assert.ok(training.losses.every(Number.isFinite), training.losses.join(', '));
    assert.deepEqual(training.predictedLengths, training.goldLengths, 'one tag per syllable');
  });
});
