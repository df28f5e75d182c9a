/**
 * TensorFlow.js on WebGPU in Node: Dawn (the `webgpu` npm package, a prebuilt `dawn.node` that talks
 * Vulkan on Linux) gives a `navigator.gpu`, and @tensorflow/tfjs-backend-webgpu computes on it.
 *
 * Why not @tensorflow/tfjs-node-gpu: its install downloads libtensorflow 2.9.1 from a bucket that has
 * answered 403 since August 2026 (tensorflow/tfjs#8742), and that build needs CUDA 11.2 + cuDNN 8.1.
 * Dawn needs only the GPU's Vulkan driver.
 *
 * A software adapter (SwiftShader, llvmpipe/lavapipe, anything Dawn marks `isFallbackAdapter`) computes
 * on the CPU, slower than wasm: it is not taken for a GPU unless HANLAB_ALLOW_SOFTWARE_GPU=1, which
 * tests and CI set to run the GPU code path on a GPU-less machine.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { dawnBinary } from './probe.js';
import { vulkanIcds, vulkanProblems } from './vulkan.js';

import { adapterName, TFJS_LIMITS, type TfjsLimit, type WebGpuAdapter } from './webgpu-adapter.js';

export { adapterName, TFJS_LIMITS, type TfjsLimit, type WebGpuAdapter };

export type WebGpuLookup = { kind: 'adapter'; adapter: WebGpuAdapter } | { kind: 'none'; reason: string };

// Dawn's own types are the browser's; the few members used here are typed locally so lib/ does not
// need @webgpu/types in its compilation.
interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor?: unknown): Promise<unknown>;
}
interface GpuLike {
  requestAdapter(options?: unknown): Promise<GpuAdapterLike | null>;
}

let dawn: { gpu: GpuLike } | undefined;
let registered = false;
let adapterPromise: Promise<{ lookup: WebGpuLookup; raw?: GpuAdapterLike }> | undefined;

const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i;

export function softwareGpuAllowed(): boolean {
  return process.env.HANLAB_ALLOW_SOFTWARE_GPU === '1';
}

/** Why `info` describes a CPU rasteriser, or undefined for a hardware adapter. */
export function softwareReason(info: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }): string | undefined {
  const named = [info.vendor, info.architecture, info.device, info.description].find((part) => part && SOFTWARE_NAMES.test(part));
  if (named) return `"${named}" is a software rasteriser (it computes on the CPU)`;
  if (info.isFallbackAdapter) return 'Dawn marks it a fallback adapter (it computes on the CPU)';
  return undefined;
}

/**
 * Loads Dawn once, puts the WebGPU globals (GPUBufferUsage, …) and `navigator.gpu` where
 * tfjs-backend-webgpu looks for them, and asks for the high-performance adapter. Never throws: a
 * missing package, loader or adapter is a `none` with the reason.
 */
export function findWebGpuAdapter(): Promise<WebGpuLookup> {
  return requestAdapter().then((found) => found.lookup);
}

function requestAdapter(): Promise<{ lookup: WebGpuLookup; raw?: GpuAdapterLike }> {
  adapterPromise ??= (async () => {
    try {
      if (!dawn) {
        const binary = dawnBinary();
        if ('problem' in binary) return { lookup: { kind: 'none', reason: binary.problem } };
        // The addon itself, not the package's ES-module entry: tslab compiles notebooks' imports of lib/
        // to CommonJS, and gpu-check's bundle carries dawn.node alone.
        const { create, globals } = createRequire(binary.path)(binary.path) as { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
        Object.assign(globalThis, globals);
        dawn = { gpu: create([]) };
      }
      const raw = await dawn.gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!raw) return { lookup: { kind: 'none', reason: `Dawn found no WebGPU adapter${vulkanHint()}` } };
      return { lookup: { kind: 'adapter', adapter: describeAdapter(raw) }, raw };
    } catch (error) {
      return { lookup: { kind: 'none', reason: `Dawn (the "webgpu" package) did not load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` } };
    }
  })();
  return adapterPromise;
}

function describeAdapter(raw: GpuAdapterLike): WebGpuAdapter {
  const info = raw.info ?? {};
  const isFallbackAdapter = Boolean(info.isFallbackAdapter ?? raw.isFallbackAdapter);
  const limits = Object.fromEntries(TFJS_LIMITS.map((name) => [name, Number(raw.limits[name])])) as Record<TfjsLimit, number>;
  const vendor = info.vendor ?? '';
  const description = info.description ?? '';
  const nvidiaDriver = /nvidia/i.test(`${vendor} ${description}`) ? nvidiaDriverVersion() : undefined;
  const adapter: WebGpuAdapter = {
    vendor,
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description,
    driver: nvidiaDriver ? `${description} (NVIDIA driver ${nvidiaDriver})` : description,
    isFallbackAdapter,
    limits,
  };
  // Dawn's info fields are getters on its prototype: a spread would copy none of them.
  const software = softwareReason({ vendor, architecture: adapter.architecture, device: adapter.device, description, isFallbackAdapter });
  if (software) adapter.software = software;
  return adapter;
}

/**
 * `ok`: webgpu runs on `adapter`; else `reason` says why not (`adapter` when one was found but refused).
 * Not a discriminated union: tslab compiles lib/ without strictNullChecks, where `ok: true | false` does not narrow.
 */
export interface WebGpuStart {
  ok: boolean;
  reason?: string;
  adapter?: WebGpuAdapter;
}

/**
 * Makes TensorFlow.js compute on the WebGPU adapter: registers the `webgpu` backend on the adapter
 * found above (the same one the manifest names) and switches to it. Returns the adapter, or why not.
 * A software adapter is refused unless `allowSoftware` (default: HANLAB_ALLOW_SOFTWARE_GPU=1).
 */
export async function initWebGpuBackend(opts: { allowSoftware?: boolean } = {}): Promise<WebGpuStart> {
  const allowSoftware = opts.allowSoftware ?? softwareGpuAllowed();
  const { lookup, raw } = await requestAdapter();
  if (lookup.kind === 'none' || !raw) return { ok: false, reason: lookup.kind === 'none' ? lookup.reason : 'no adapter' };
  const adapter = lookup.adapter;
  if (adapter.software && !allowSoftware) {
    return {
      ok: false,
      adapter,
      reason: `only a software adapter was found (${adapterName(adapter)}): ${adapter.software}; it is not taken for a GPU unless HANLAB_ALLOW_SOFTWARE_GPU=1 (tests and CI)`,
    };
  }
  if (!registered) {
    // Imported before navigator.gpu exists, the package does not register its own factory (which
    // would ask for an adapter of its own, at priority 3, so that TensorFlow.js could pick it unasked).
    const { WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
      WebGPUBackend: new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend;
    };
    // The backend's constructor checks navigator.gpu (Node 20 has no navigator; 21+ has one without gpu).
    const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: unknown };
    if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: dawn!.gpu, configurable: true });
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    registered = true;
    // As tfjs-backend-webgpu's own factory does, but on this adapter; priority -1 so that TensorFlow.js
    // never picks it by itself (initBackend chooses).
    tf.registerBackend(
      'webgpu',
      async () => {
        const requiredFeatures = ['timestamp-query'].filter((name) => raw.features.has(name));
        const device = await raw.requestDevice({ requiredFeatures, requiredLimits: adapter.limits });
        return new WebGPUBackend(device, raw.info);
      },
      -1,
    );
  }
  try {
    const ok = await tf.setBackend('webgpu');
    await tf.ready();
    if (!ok || tf.getBackend() !== 'webgpu') return { ok: false, adapter, reason: `tf.setBackend("webgpu") left the backend at "${tf.getBackend()}"` };
  } catch (error) {
    return { ok: false, adapter, reason: `tf.setBackend("webgpu") failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { ok: true, adapter };
}

function vulkanHint(): string {
  const problems = vulkanProblems();
  return problems.length ? `: ${problems.join('; ')}` : ` (Vulkan loader and driver ICDs present: ${vulkanIcds().map((file) => path.basename(file)).join(', ')}; none gave a device Dawn accepts)`;
}

function nvidiaDriverVersion(): string | undefined {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=driver_version', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    return out.split('\n')[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}
