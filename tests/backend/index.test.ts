import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { BLAS_ADDON } from '../../lib/tensor/blas.js';
import { BackendUnavailableError, currentDevice, describeBackend, initBackend, parseBackendChoice } from '../../lib/backend/index.js';
import { gpuProblem } from '../../lib/backend/probe.js';

const saved = { backend: process.env.HANLAB_BACKEND, fallback: process.env.HANLAB_ALLOW_CPU_FALLBACK, require: process.env.HANLAB_REQUIRE_GPU };
afterEach(() => {
  for (const [name, value] of [['HANLAB_BACKEND', saved.backend], ['HANLAB_ALLOW_CPU_FALLBACK', saved.fallback], ['HANLAB_REQUIRE_GPU', saved.require]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

// This suite runs where there is no CUDA GPU (this machine, CI); on a GPU host the GPU cases differ.
const noGpu = gpuProblem() !== undefined;

describe('initBackend', () => {
  test('HANLAB_BACKEND=cpu gives the plain JS backend, and a manifest that says so', async () => {
    process.env.HANLAB_BACKEND = 'cpu';
    const device = await initBackend();
    assert.equal(device.backend, 'cpu');
    assert.equal(device.tfBackend, 'cpu');
    assert.equal(describeBackend(device), 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.equal(device.requestedBy, 'HANLAB_BACKEND');
    assert.equal(device.tfjsVersion, tf.version.tfjs);
    assert.equal(device.nodeVersion, process.version);
    assert.ok(typeof device.cpus === 'number' && device.cpus > 0);
    assert.equal(device.gpu, undefined);
    assert.deepEqual(currentDevice(), device);
    assert.deepEqual(tf.tensor([1, 2]).add(1).arraySync(), [2, 3]);
  });

  test('wasm runs with SIMD and without threads, and really is the active backend', async () => {
    const device = await initBackend({ prefer: 'wasm' });
    assert.equal(device.backend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(device.wasm?.simd, true);
    assert.equal(device.wasm?.threads, false);
    // tests/tensor/blas.test.ts tests the products themselves; here: the manifest says what runs them.
    assert.equal(device.wasm?.gemm.products, existsSync(BLAS_ADDON) && process.env.HANLAB_GEMM !== 'wasm' ? 'openblas' : 'xnnpack');
    assert.match(describeBackend(device), device.wasm?.gemm.products === 'openblas' ? /^wasm \(OpenBLAS \w+\)$/ : /^wasm \(XNNPACK\)$/);
    assert.deepEqual(Array.from(tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()), [11]);
  });

  test('HANLAB_BACKEND beats prefer; bad names are refused with the list of backends', async () => {
    process.env.HANLAB_BACKEND = 'cpu';
    assert.equal((await initBackend({ prefer: 'wasm' })).backend, 'cpu');
    process.env.HANLAB_BACKEND = 'metal';
    await assert.rejects(initBackend(), /HANLAB_BACKEND="metal" is not a backend; use one of webgpu, tensorflow-gpu, tensorflow, wasm, cpu/);
    assert.equal(parseBackendChoice(' WASM ', 'x'), 'wasm');
  });

  test('automatic choice here: not the GPU, and the manifest says why each better backend was skipped', { skip: !noGpu && 'a CUDA GPU is present' }, async () => {
    const device = await initBackend();
    assert.notEqual(device.backend, 'tensorflow-gpu');
    assert.equal(device.requestedBy, 'auto');
    assert.match(String(device.fallbackReason), /tensorflow-gpu: missing CUDA libraries: .*libcudart\.so\.11\.0/);
    assert.equal(tf.getBackend(), device.tfBackend);
  });

  test('requireGpu without CUDA fails loudly, naming the missing libraries and the way out', { skip: !noGpu && 'a CUDA GPU is present' }, async () => {
    await assert.rejects(initBackend({ requireGpu: true }), (error: unknown) =>
      error instanceof BackendUnavailableError &&
      error.backend === 'tensorflow-gpu' &&
      /libcudart\.so\.11\.0/.test(error.message) &&
      /libcudnn\.so\.8/.test(error.message) &&
      /HANLAB_ALLOW_CPU_FALLBACK=1/.test(error.message));
    // The GPU kernel's environment variable means the same.
    process.env.HANLAB_REQUIRE_GPU = '1';
    await assert.rejects(initBackend(), BackendUnavailableError);
    process.env.HANLAB_BACKEND = 'cpu';
    await assert.rejects(initBackend(), /the GPU kernel was asked for backend "cpu"/);
  });

  test('HANLAB_ALLOW_CPU_FALLBACK=1 turns the GPU requirement into a recorded fallback', { skip: !noGpu && 'a CUDA GPU is present' }, async () => {
    process.env.HANLAB_ALLOW_CPU_FALLBACK = '1';
    const device = await initBackend({ requireGpu: true });
    assert.notEqual(device.backend, 'tensorflow-gpu');
    // The GPU backends in order (webgpu, then the CUDA one), each with its reason, then the CPU one that ran.
    assert.match(String(device.fallbackReason), /^webgpu: .+; tensorflow-gpu: missing CUDA libraries/);
  });
});
