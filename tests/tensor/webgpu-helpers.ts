/**
 * The WebGPU backend on a software adapter, for the equality tests: SwiftShader's Vulkan driver from
 * Debian's chromium under Dawn (the `webgpu` package). Debian's lavapipe is refused by Dawn. Where
 * neither is there, `webgpuSkipReason()` says why and the tests skip.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../train/helpers.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let ready: Promise<string | null> | undefined;

async function bringUp(): Promise<string | null> {
  if (!existsSync(SWIFTSHADER_ICD)) return `no software Vulkan driver (${SWIFTSHADER_ICD}: apt install chromium)`;
  process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const wasm = await setupBackend();
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) return 'the webgpu backend found no adapter';
    return null;
  } catch (error) {
    return `the webgpu backend did not start: ${(error as Error).message}`;
  } finally {
    await tf.setBackend(wasm);
  }
}

/** Why the WebGPU tests cannot run here, or null when they can. */
export function webgpuSkipReason(): Promise<string | null> {
  ready ??= bringUp();
  return ready;
}

/** Runs `f` on `backend` (then switches back to the one before). */
export async function onBackend<T>(backend: string, f: () => Promise<T> | T): Promise<T> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return await f();
  } finally {
    await tf.setBackend(before);
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
