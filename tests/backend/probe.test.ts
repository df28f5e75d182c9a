import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findMissingLibraries } from '../../lib/backend/cuda.js';
import { expectedBackend, findNativeBinding, localLlmBuild, nativePackageProblem, probeBackends } from '../../lib/backend/probe.js';
import { vulkanProblems } from '../../lib/backend/vulkan.js';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-probe-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A fake project root with one installed package (package.json only, plus optional files). */
function fakeRoot(name: string, pkg: object, files: string[] = []): string {
  const root = mkdtempSync(path.join(work, 'root-'));
  writeFileSync(path.join(root, 'package.json'), '{"name": "fake"}');
  const dir = path.join(root, 'node_modules', ...name.split('/'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), '');
  }
  return root;
}

describe('backend probe', () => {
  test('the dynamic linker is asked: libz loads, a made-up library is missing', () => {
    assert.deepEqual(findMissingLibraries(['libz.so.1', 'libhanlab-does-not-exist.so.9']), ['libhanlab-does-not-exist.so.9']);
  });

  test('this project: @tensorflow/tfjs-node is an alias of plain tfjs, wasm and cpu are available', () => {
    const probes = probeBackends();
    assert.deepEqual(probes.map((probe) => probe.backend), ['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    const tensorflow = probes[2];
    if (!tensorflow.available) assert.match(String(tensorflow.reason), /@tensorflow\/tfjs-node resolves to @tensorflow\/tfjs@4\.22\.0 \(an npm alias\)/);
    assert.equal(probes[3].available, true);
    assert.equal(probes[4].available, true);
  });

  test('tfjs-node-gpu missing, installed without its binding, or installed with it', () => {
    const empty = mkdtempSync(path.join(work, 'empty-'));
    writeFileSync(path.join(empty, 'package.json'), '{}');
    assert.match(String(nativePackageProblem('@tensorflow/tfjs-node-gpu', empty)), /is not installed \(an optional dependency: its install downloads libtensorflow/);
    const noBinding = fakeRoot('@tensorflow/tfjs-node-gpu', { name: '@tensorflow/tfjs-node-gpu', version: '4.22.0' });
    assert.match(String(nativePackageProblem('@tensorflow/tfjs-node-gpu', noBinding)), /4\.22\.0 is installed without its native binding .*npm rebuild @tensorflow\/tfjs-node-gpu/);
    const built = fakeRoot('@tensorflow/tfjs-node-gpu', { name: '@tensorflow/tfjs-node-gpu', version: '4.22.0' }, ['lib/napi-v8/tfjs_binding.node']);
    assert.equal(nativePackageProblem('@tensorflow/tfjs-node-gpu', built), undefined);
    assert.match(String(findNativeBinding(path.join(built, 'node_modules', '@tensorflow', 'tfjs-node-gpu'))), /napi-v8[\\/]tfjs_binding\.node$/);
  });

  test('the local LLM build: node-llama-cpp\'s CPU build here, where the Vulkan package is the stand-in', () => {
    const build = localLlmBuild();
    assert.match(String(build?.package), /^node-llama-cpp@\d+\.\d+\.\d+$/);
    assert.equal(build?.build, 'cpu');
    assert.match(String(build?.reason), /@node-llama-cpp\/linux-x64-vulkan is not installed/);
    const real = fakeRoot('@node-llama-cpp/linux-x64-vulkan', { name: '@node-llama-cpp/linux-x64-vulkan', version: '3.22.1' });
    const engine = path.join(real, 'node_modules', 'node-llama-cpp');
    mkdirSync(engine, { recursive: true });
    writeFileSync(path.join(engine, 'package.json'), JSON.stringify({ name: 'node-llama-cpp', version: '3.22.1' }));
    // Installed for real: the Vulkan build, where Vulkan has a loader and a driver ICD.
    const withDriver = localLlmBuild(real);
    assert.equal(withDriver?.build, vulkanProblems().length ? 'cpu' : 'vulkan');
  });

  test('the expected backend is the first available one', () => {
    assert.equal(expectedBackend([{ backend: 'tensorflow-gpu', available: false }, { backend: 'tensorflow', available: false }, { backend: 'wasm', available: true }, { backend: 'cpu', available: true }]), 'wasm');
    assert.equal(expectedBackend([]), 'cpu');
  });
});
