#!/usr/bin/env node
'use strict';
/**
 * The `hanlab-gpu` kernel host: tslab with TensorFlow.js on CUDA (@tensorflow/tfjs-node-gpu).
 *
 * tfjs-node-gpu quietly runs on the CPU when CUDA 11.2 / cuDNN 8.1 are missing. Before tslab starts,
 * this launcher runs lib/backend's initBackend({ requireGpu: true }) in a child process (the same
 * checks a notebook's initBackend() makes: CUDA libraries loadable, native binding present, a CUDA
 * device in use) and refuses to start, naming what is missing, unless HANLAB_ALLOW_CPU_FALLBACK=1.
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { launch, fail } = require('../launch-tslab.cjs');

launch('hanlab-gpu', (root) => {
  process.env.HANLAB_REQUIRE_GPU = '1';
  const probe = [
    "const m = await import(process.argv[1]);",
    'try { const d = await m.initBackend({ requireGpu: true }); console.log(JSON.stringify(d)); }',
    "catch (e) { console.error(e && e.message ? e.message : String(e)); process.exit(3); }",
  ].join('\n');
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', probe, path.join(root, 'lib', 'backend', 'index.ts')],
    { cwd: root, encoding: 'utf8', env: process.env, timeout: 120000 },
  );
  if (result.error) fail('hanlab-gpu', `could not run the GPU check: ${result.error.message}`);
  if (result.status !== 0) {
    const why = (result.stderr || '').trim().split('\n').filter((line) => !/^\d{4}-\d\d-\d\d .*(W|I) tensorflow/.test(line)).join('\n');
    fail('hanlab-gpu', `refusing to start without a usable GPU: ${why || `GPU check exited with ${result.status}`}`);
  }
  let device;
  try {
    device = JSON.parse(result.stdout.trim().split('\n').pop());
  } catch {
    fail('hanlab-gpu', `the GPU check printed no device manifest: ${result.stdout}`);
  }
  if (device.backend !== 'tensorflow-gpu') {
    process.stderr.write(`[hanlab-gpu] WARNING: no usable GPU, running on "${device.backend}" because HANLAB_ALLOW_CPU_FALLBACK=1: ${device.fallbackReason || ''}\n`);
  } else {
    process.stderr.write(`[hanlab-gpu] GPU: ${(device.gpu && device.gpu.name) || 'CUDA device'}\n`);
  }
});
