/**
 * The WebGPU backend on a software adapter, for the equality tests: SwiftShader's Vulkan driver from
 * Debian's chromium under Dawn (lib/backend/webgpu.ts), beside the wasm backend in the same process.
 * Debian's lavapipe is refused by Dawn. Where there is no adapter, `webgpuSkipReason()` says why and
 * the tests skip.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { currentDevice, initBackend, type BackendChoice } from '../../lib/backend/index.js';
import { initWebGpuBackend } from '../../lib/backend/webgpu.js';
import { setupBackend } from '../train/helpers.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let ready: Promise<string | null> | undefined;

async function bringUp(): Promise<string | null> {
  if (!existsSync(SWIFTSHADER_ICD) && !process.env.VK_ICD_FILENAMES) return `no software Vulkan driver (${SWIFTSHADER_ICD}: apt install chromium)`;
  // Set before Dawn loads: the Vulkan loader reads them when the instance is made.
  process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const wasm = await setupBackend();
  try {
    const started = await initWebGpuBackend({ allowSoftware: true });
    return started.ok ? null : `the webgpu backend did not start: ${started.reason}`;
  } finally {
    await tf.setBackend(wasm);
  }
}

/** Why the WebGPU tests cannot run here, or null when they can. */
export function webgpuSkipReason(): Promise<string | null> {
  ready ??= bringUp();
  return ready;
}

/**
 * Runs `f` on `backend`, initialised as the CLI does (initBackend, so the trainer's check that the
 * backend did not change holds), then goes back to the one before.
 */
export async function onBackend<T>(backend: BackendChoice, f: () => Promise<T> | T): Promise<T> {
  const before = currentDevice()?.backend as BackendChoice | undefined;
  const allowed = process.env.HANLAB_ALLOW_SOFTWARE_GPU;
  process.env.HANLAB_ALLOW_SOFTWARE_GPU = '1';
  try {
    await initBackend({ prefer: backend });
    return await f();
  } finally {
    if (allowed === undefined) delete process.env.HANLAB_ALLOW_SOFTWARE_GPU;
    else process.env.HANLAB_ALLOW_SOFTWARE_GPU = allowed;
    if (before) await initBackend({ prefer: before });
  }
}

/** Largest |a − b| over the largest |b|: "equal within 1e-4 relative" for a whole tensor. */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}
