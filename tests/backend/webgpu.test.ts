/**
 * The webgpu backend (TensorFlow.js on Dawn over Vulkan) on the software GPU (SwiftShader): taken only
 * with HANLAB_ALLOW_SOFTWARE_GPU=1, named in the device manifest, computing correctly; refused without
 * it, saying that only a software adapter was found. Each case runs in a child process, because the
 * Vulkan loader reads VK_ICD_FILENAMES once, when Dawn loads.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { softwareReason } from '../../lib/backend/webgpu.js';
import { vulkanIcds, vulkanProblems } from '../../lib/backend/vulkan.js';
import { assertSoftwareGpu, softwareGpuEnv, softwareGpuSkip } from './software-gpu.js';

/** Runs `body` (an async function body with `initBackend`, `describeBackend` and `tf` in scope) in a child; its JSON answer. */
function inChild(body: string, env: Record<string, string | undefined>): Record<string, unknown> {
  const script = [
    "const tf = await import('@tensorflow/tfjs');",
    "const { initBackend, describeBackend } = await import('./lib/backend/index.ts');",
    'const answer = await (async () => {', body, '})();',
    "console.log('ANSWER ' + JSON.stringify(answer));",
  ].join('\n');
  const childEnv: Record<string, string | undefined> = { ...process.env, HANLAB_BACKEND: undefined, HANLAB_REQUIRE_GPU: undefined, HANLAB_ALLOW_SOFTWARE_GPU: undefined, HANLAB_ALLOW_CPU_FALLBACK: undefined, ...env };
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: childEnv as NodeJS.ProcessEnv, timeout: 120_000 });
  const line = run.stdout.split('\n').find((text) => text.startsWith('ANSWER '));
  assert.ok(line, `the child answered (exit ${run.status}): ${run.stderr.slice(-2000)}`);
  return JSON.parse(line.slice('ANSWER '.length)) as Record<string, unknown>;
}

const rejection = "try { await initBackend(); return { ok: true }; } catch (e) { return { ok: false, name: e.constructor.name, message: e.message }; }";

describe('webgpu on the software GPU (SwiftShader)', { skip: softwareGpuSkip }, () => {
  test('HANLAB_ALLOW_SOFTWARE_GPU=1: webgpu runs, the manifest names the adapter, and products are right', { timeout: 120_000 }, () => {
    assertSoftwareGpu();
    const answer = inChild(
      `const device = await initBackend();
       const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
       const product = Array.from(await tf.matMul(a, a, false, true).data());
       return { device, described: describeBackend(device), tfBackend: tf.getBackend(), product };`,
      { ...softwareGpuEnv(), HANLAB_BACKEND: 'webgpu' },
    );
    const device = answer.device as { backend: string; tfBackend: string; requestedBy: string; webgpu: Record<string, unknown> & { limits: Record<string, number> } };
    assert.equal(device.backend, 'webgpu');
    assert.equal(answer.tfBackend, 'webgpu');
    assert.equal(device.requestedBy, 'HANLAB_BACKEND');
    assert.equal(device.webgpu.vendor, 'google');
    assert.equal(device.webgpu.architecture, 'swiftshader');
    assert.match(String(device.webgpu.description), /SwiftShader/);
    assert.equal(device.webgpu.isFallbackAdapter, true);
    assert.match(String(device.webgpu.software), /swiftshader.*software rasteriser/);
    for (const limit of ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup']) {
      assert.ok(device.webgpu.limits[limit]! > 0, `limit ${limit} is recorded`);
    }
    assert.match(String(answer.described), /^webgpu \(google swiftshader .*SwiftShader.* \(software\)\)$/);
    assert.deepEqual(answer.product, [14, 32, 32, 77]);
  });

  test('without HANLAB_ALLOW_SOFTWARE_GPU: asked for by name, or by the GPU kernel, it is refused as "only a software adapter"', { timeout: 120_000 }, () => {
    assertSoftwareGpu();
    const named = inChild(rejection, { ...softwareGpuEnv(false), HANLAB_BACKEND: 'webgpu' });
    assert.equal(named.name, 'BackendUnavailableError');
    assert.match(String(named.message), /only a software adapter was found \(google swiftshader.*\).*HANLAB_ALLOW_SOFTWARE_GPU=1/);
    const kernel = inChild(rejection, { ...softwareGpuEnv(false), HANLAB_REQUIRE_GPU: '1' });
    assert.equal(kernel.ok, false);
    assert.match(String(kernel.message), /^no GPU backend is available: webgpu: only a software adapter was found .*; tensorflow-gpu: /);
    assert.match(String(kernel.message), /HANLAB_ALLOW_CPU_FALLBACK=1/);
  });

  test('chosen automatically, a software adapter is never picked, and the GPU kernel takes it only when allowed', { timeout: 120_000 }, () => {
    assertSoftwareGpu();
    const auto = inChild('const d = await initBackend(); return { backend: d.backend, reason: d.fallbackReason };', softwareGpuEnv(false));
    assert.notEqual(auto.backend, 'webgpu');
    assert.match(String(auto.reason), /^webgpu: /);
    const kernel = inChild('const d = await initBackend(); return { backend: d.backend, software: d.webgpu?.software };', { ...softwareGpuEnv(true), HANLAB_REQUIRE_GPU: '1' });
    assert.equal(kernel.backend, 'webgpu');
    assert.match(String(kernel.software), /software rasteriser/);
  });
});

describe('software adapters are recognised', () => {
  test('by name (SwiftShader, llvmpipe, lavapipe) or by the fallback flag; a hardware adapter is not', () => {
    assert.match(String(softwareReason({ vendor: 'google', architecture: 'swiftshader' })), /"swiftshader"/);
    assert.match(String(softwareReason({ vendor: 'mesa', architecture: '', device: 'llvmpipe-llvm-15-0-6-256-bits-' })), /llvmpipe/);
    assert.match(String(softwareReason({ description: 'lavapipe' })), /lavapipe/);
    assert.match(String(softwareReason({ vendor: 'x', isFallbackAdapter: true })), /fallback adapter/);
    assert.equal(softwareReason({ vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100 80GB HBM3', description: 'NVIDIA: 550.90.07', isFallbackAdapter: false }), undefined);
  });

  test('VK_ICD_FILENAMES replaces the ICD folders; one that names no file leaves no driver', () => {
    const saved = process.env.VK_ICD_FILENAMES;
    try {
      process.env.VK_ICD_FILENAMES = '/nonexistent/hanlab_icd.json';
      assert.deepEqual(vulkanIcds(), []);
      assert.ok(vulkanProblems().some((problem) => /no Vulkan driver ICD/.test(problem)));
    } finally {
      if (saved === undefined) delete process.env.VK_ICD_FILENAMES;
      else process.env.VK_ICD_FILENAMES = saved;
    }
  });
});
