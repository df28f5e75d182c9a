/**
 * The hanlab-gpu gate: refuses cells with the reason while no GPU is usable, waits for the full check
 * before the first cell, and runs the full check (initBackend in a child process) from a backend
 * module, here stand-ins since no machine of ours has a GPU.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Engine, ExecuteOutcome } from '../../lib/kernel/engine.js';
import { fullGpuCheck, GpuGatedEngine, OVERRIDE_HINT, type GpuVerdict } from '../../lib/kernel/gpu-gate.js';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-gpu-gate-'));
after(() => rmSync(work, { recursive: true, force: true }));

const inner = {
  languageInfo: { name: 'typescript', version: '5.0.4', mimetype: 'text/typescript', file_extension: '.ts' },
  implementation: 'hanlab',
  implementationVersion: '1',
  banner: () => 'inner banner',
  warm: async () => undefined,
  execute: async (): Promise<ExecuteOutcome> => ({ status: 'ok', result: { value: 'ran' } }),
  complete: async () => ({ matches: [], cursorStart: 0, cursorEnd: 0 }),
  inspect: async () => ({ found: false }),
  isComplete: async () => ({ status: 'complete' as const }),
  interrupt: () => undefined,
  failRunningCell: () => false,
  close: () => undefined,
} satisfies Engine;

describe('GpuGatedEngine', () => {
  test('refused: the banner and every cell say why and how to override', async () => {
    const gated = new GpuGatedEngine(inner, { kind: 'refused', reason: 'missing CUDA libraries: libcudart.so.11.0' });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gated.banner(), `inner banner\nhanlab-gpu REFUSES TO RUN CELLS: no usable GPU: missing CUDA libraries: libcudart.so.11.0\n${OVERRIDE_HINT}`);
    const outcome = await gated.execute('1', { executionCount: 1 });
    assert.deepEqual(outcome, {
      status: 'error',
      failure: {
        ename: 'GpuUnavailableError',
        evalue: 'the hanlab-gpu kernel has no usable GPU, so it runs no cells: missing CUDA libraries: libcudart.so.11.0',
        traceback: ['GpuUnavailableError: the hanlab-gpu kernel has no usable GPU, so it runs no cells: missing CUDA libraries: libcudart.so.11.0', '', OVERRIDE_HINT],
      },
    });
    assert.match(OVERRIDE_HINT, /HANLAB_ALLOW_CPU_FALLBACK=1/);
  });

  test('while the full check runs the banner says so and the first cell waits; then cells run on the GPU', async () => {
    let decide!: (verdict: GpuVerdict) => void;
    const gated = new GpuGatedEngine(inner, new Promise<GpuVerdict>((resolve) => (decide = resolve)));
    assert.match(gated.banner(), /checking the GPU/);
    let settled = false;
    const running = gated.execute('1', { executionCount: 1 }).then((outcome) => ((settled = true), outcome));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(settled, false, 'the cell waits for the check');
    decide({ kind: 'usable', description: 'GPU: Fake A100' });
    assert.deepEqual(await running, { status: 'ok', result: { value: 'ran' } });
    assert.equal(gated.banner(), 'inner banner\nhanlab-gpu: GPU: Fake A100');
  });
});

describe('fullGpuCheck runs initBackend({ requireGpu: true }) in a child process', () => {
  const backend = (name: string, body: string) => {
    const file = path.join(work, `${name}.mjs`);
    writeFileSync(file, body);
    return file;
  };

  test('a CUDA device: usable, named', async () => {
    const file = backend('gpu', "export async function initBackend(o) { if (!o.requireGpu) throw new Error('requireGpu not passed'); return { backend: 'tensorflow-gpu', gpu: { name: 'Fake A100' } }; }");
    assert.deepEqual(await fullGpuCheck(file, [], work), { kind: 'usable', description: 'GPU: Fake A100' });
  });

  test('a WebGPU adapter: usable, named; a software one (allowed in tests) says it is not a GPU', async () => {
    const adapter = (fields: string) => `{ vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100', description: 'NVIDIA: 550.90.07', driver: 'NVIDIA: 550.90.07', isFallbackAdapter: false, limits: {}${fields} }`;
    const hardware = backend('webgpu', `export async function initBackend() { return { backend: 'webgpu', webgpu: ${adapter('')} }; }`);
    assert.deepEqual(await fullGpuCheck(hardware, [], work), { kind: 'usable', description: 'GPU: nvidia hopper NVIDIA H100, NVIDIA: 550.90.07 (TensorFlow.js on WebGPU)' });
    const software = backend('swiftshader', `export async function initBackend() { return { backend: 'webgpu', webgpu: ${adapter(", software: 'a software rasteriser'")} }; }`);
    const verdict = await fullGpuCheck(software, [], work);
    assert.equal(verdict.kind, 'usable');
    assert.match(verdict.kind === 'usable' ? verdict.description : '', /^software adapter .*HANLAB_ALLOW_SOFTWARE_GPU=1: the GPU code path, computed on the CPU$/);
  });

  test('initBackend refusing: the reason, without the lines Dawn, its drivers or TensorFlow write to stderr', async () => {
    const file = backend('refuses', "console.error('2024-01-01 10:00:00.000000: I tensorflow/core/platform/cpu_feature_guard.cc:193] noise');\nconsole.error('Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.');\nexport async function initBackend() { throw new Error('cuDNN 8.1 not found'); }");
    assert.deepEqual(await fullGpuCheck(file, [], work), { kind: 'refused', reason: 'cuDNN 8.1 not found' });
  });

  test('TensorFlow on the CPU after all: refused with its fallback reason', async () => {
    const file = backend('cpu', "export async function initBackend() { return { backend: 'wasm', fallbackReason: 'tensorflow-gpu: no CUDA device' }; }");
    assert.deepEqual(await fullGpuCheck(file, [], work), { kind: 'refused', reason: 'tensorflow-gpu: no CUDA device' });
  });
});
