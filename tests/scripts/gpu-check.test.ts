/**
 * scripts/gpu-check.sh as a GPU host would run it: the carried folder is packed here (with a Node binary
 * and the Vulkan loader, the largest case) and stays under 64 MiB as .tar.xz; then its short mode runs
 * from that folder alone (no node_modules, no tsx) on the software GPU, and prints the one table.
 * The CPU column must measure; the webgpu column may fail on the trainer's fused ops until their WebGPU
 * forms land (issue 24 part B), but where a gradient check compares, it must pass.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CARRY_LIMIT_BYTES, packGpuCheck } from '../../scripts/gpu-check-pack.js';
import { PYTHON } from '../../scripts/make-tiny-checkpoint.js';
import { assertSoftwareGpu, softwareGpuEnv, softwareGpuSkip } from '../backend/software-gpu.js';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-gpu-check-'));
after(() => rmSync(work, { recursive: true, force: true }));

const torch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const skip = !torch && !process.env.HANLAB_REQUIRE_TORCH ? 'python3-torch is missing (it makes the carried checkpoint)' : softwareGpuSkip;

describe('scripts/gpu-check.sh', { skip }, () => {
  test('packs under 64 MiB, and its short mode runs from the carried folder on the software GPU', { timeout: 1_200_000 }, async () => {
    assertSoftwareGpu();
    const out = path.join(work, 'gpu-check');
    const { bytes } = await packGpuCheck(out, { withNode: true, withVulkanLoader: true });
    assert.ok(bytes <= CARRY_LIMIT_BYTES, `the archive is ${(bytes / 2 ** 20).toFixed(1)} MiB`);
    for (const file of ['gpu-check.mjs', 'gpu-check.sh', 'dawn.node', 'node/bin/node', 'lib/libvulkan.so.1', 'bert/model.safetensors']) assert.ok(existsSync(path.join(out, file)), file);

    // Nothing of the checkout is reachable: run it from a copy of the folder elsewhere, with PATH's node.
    const run = spawnSync(path.join(out, 'gpu-check.sh'), ['--short'], { cwd: work, encoding: 'utf8', env: { ...process.env, ...softwareGpuEnv(true), NODE_PATH: '' }, timeout: 1_100_000 });
    assert.equal(run.status, 0, run.stderr.slice(-3000));
    const lines = run.stdout.trim().split('\n');
    assert.match(lines[0], /^hanlab gpu-check \(short run, \d+ s\)$/);
    assert.match(run.stdout, /\nadapter: webgpu \(google swiftshader .*\(software\)\)\n/);
    assert.match(run.stdout, /\nCPU backend: wasm \(XNNPACK\), one thread/);
    assert.match(run.stdout, /\| measure +\| webgpu +\| CPU \(wasm\) +\| webgpu vs CPU +\|/);
    const figures = JSON.parse(lines.at(-1)!) as Record<string, { cpu?: number | null; webgpu?: number | null; ratio?: number | null; pass?: boolean | null }>;
    assert.ok(figures.conv_crf_syllables_per_s.cpu! > 0, 'the CPU side measures conv+CRF');
    assert.ok(figures.encoder_tokens_per_s.cpu! > 0, 'the CPU side measures the encoder');
    for (const key of ['conv_crf_gradients', 'encoder_gradients']) assert.notEqual(figures[key].pass, false, `${key}: compared and over 1e-4`);
    if (figures.conv_crf_syllables_per_s.ratio !== null) assert.match(run.stdout, /software adapter, not a speed claim/);
  });
});
