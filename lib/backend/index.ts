/**
 * The one place that picks and initialises the TensorFlow.js backend, and says what it picked.
 *
 * Order of preference: `webgpu` on a hardware adapter (Dawn over Vulkan, lib/backend/webgpu.ts) >
 * `tensorflow` on the GPU (@tensorflow/tfjs-node-gpu, which no longer installs: tensorflow/tfjs#8742) >
 * `tensorflow` on the CPU (@tensorflow/tfjs-node) > `wasm` (SIMD, single-threaded in Node) > `cpu`
 * (plain JS). `HANLAB_BACKEND` (or `opts.prefer`) names one; with `requireGpu` (the `hanlab-gpu` kernel)
 * anything but a GPU backend is an error unless `HANLAB_ALLOW_CPU_FALLBACK=1`. A software WebGPU adapter
 * (SwiftShader, lavapipe) counts as a GPU only with `HANLAB_ALLOW_SOFTWARE_GPU=1` (tests and CI).
 *
 * The returned DeviceManifest is what every notebook prints (`emit('device', manifest)`) and every
 * report carries.
 */
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { HanlabError } from '../errors.js';
import { checkWasmInternals } from '../tensor/backend-internals.js';
import { installBlasProducts, type GemmChoice } from '../tensor/blas.js';
import { queryGpu } from './cuda.js';
import { loadNativeBackend } from './native.js';
import { BACKEND_CHOICES, GPU_BACKENDS, gpuProblem, localLlmBuild, locatePackage, webGpuProblem, type BackendChoice } from './probe.js';
import { adapterName, initWebGpuBackend, type WebGpuAdapter } from './webgpu.js';

// `tensorflow-gpu` and `tensorflow` are both tf's "tensorflow" backend, on CUDA or on the CPU.
export { BACKEND_CHOICES, GPU_BACKENDS, expectedBackend, probeBackends, type BackendChoice, type BackendProbe } from './probe.js';

export interface DeviceManifest {
  /** What runs the tensors, as a BackendChoice: `webgpu`, `tensorflow-gpu`, `tensorflow`, `wasm` or `cpu`. */
  backend: string;
  /** `tf.getBackend()` after initialisation (`webgpu`, `tensorflow`, `wasm`, `cpu`). */
  tfBackend: string;
  tfjsVersion: string;
  /** Version of the native package providing the backend, when one does. */
  nativePackage?: { name: string; version: string };
  nodeVersion: string;
  platform: string;
  arch: string;
  cpus: number | string;
  cpuModel?: string;
  memoryMiB: number;
  gpu?: { name?: string; memoryMiB?: number; driverVersion?: string };
  /** The node-llama-cpp build local GGUF generation loads here (`vulkan` or `cpu`), and why not the GPU one. */
  localLlm?: { package: string; build: 'vulkan' | 'cpu'; reason?: string };
  /** webgpu only: the adapter Dawn gave (vendor, architecture, device, driver, fallback flag, the limits tfjs uses). */
  webgpu?: WebGpuAdapter;
  /**
   * wasm only: SIMD and threads as the backend reports them, and what runs its matrix products;
   * `internals`, when the backend's private members that the tensor floor reads in place were
   * missing at load (lib/tensor/backend-internals.ts), why it copies through the public API instead.
   */
  wasm?: { simd: boolean; threads: boolean; gemm: GemmChoice; internals?: string };
  /** Why a preferred backend was not used (each one tried, in order). */
  fallbackReason?: string;
  /** What asked for the backend: `HANLAB_BACKEND`, `prefer`, or `auto`. */
  requestedBy: 'HANLAB_BACKEND' | 'prefer' | 'auto';
  initialisedAt: string;
}

export interface InitBackendOptions {
  /** Use this backend (still overridden by `HANLAB_BACKEND`). Without it: the best available. */
  prefer?: BackendChoice;
  /**
   * Fail unless TensorFlow.js runs on a GPU (webgpu on a hardware adapter, or tensorflow-gpu). Default:
   * HANLAB_REQUIRE_GPU=1 (set by the `hanlab-gpu` kernel). `HANLAB_ALLOW_CPU_FALLBACK=1` relaxes it to a
   * recorded fallback.
   */
  requireGpu?: boolean;
  /** Project root for finding packages and the wasm binaries; default `process.cwd()`. */
  root?: string;
}

/** A backend could not be initialised the way it was asked for. The message says what to do. */
export class BackendUnavailableError extends HanlabError {
  readonly backend: string;
  constructor(backend: string, message: string) {
    super(message);
    this.backend = backend;
  }
}

let current: DeviceManifest | undefined;

/** The manifest of the last successful initBackend() in this process. */
export function currentDevice(): DeviceManifest | undefined {
  return current;
}

/** What runs the tensors: initBackend's BackendChoice, else TensorFlow.js's backend name (before initBackend). */
export function runningBackend(): string {
  return current?.backend ?? tf.getBackend();
}

/** TensorFlow.js's own name of the backend that runs now (`wasm`, `cpu`, `tensorflow`), for records. */
export function tfBackendName(): string {
  return tf.getBackend();
}

/**
 * Throws when TensorFlow.js no longer runs on the backend initBackend set up: setBackend can fall back
 * silently (wasm → cpu is 8–32× slower), so a trainer checks before it starts.
 */
export function checkBackendUnchanged(): void {
  if (current && current.tfBackend !== tf.getBackend()) {
    throw new Error(`TensorFlow.js runs on "${tf.getBackend()}" but initBackend() set up "${current.tfBackend}"; something switched backends`);
  }
}

export async function initBackend(opts: InitBackendOptions = {}): Promise<DeviceManifest> {
  const root = opts.root ?? process.cwd();
  const fromEnv = process.env.HANLAB_BACKEND?.trim();
  const allowCpuFallback = process.env.HANLAB_ALLOW_CPU_FALLBACK === '1';
  // The hanlab-gpu kernel sets HANLAB_REQUIRE_GPU=1, so a notebook's plain initBackend() insists on a GPU there.
  const requireGpu = opts.requireGpu ?? process.env.HANLAB_REQUIRE_GPU === '1';
  let requested: BackendChoice | undefined;
  let requestedBy: DeviceManifest['requestedBy'] = 'auto';
  if (fromEnv) {
    requested = parseBackendChoice(fromEnv, 'HANLAB_BACKEND');
    requestedBy = 'HANLAB_BACKEND';
  } else if (opts.prefer) {
    requested = parseBackendChoice(opts.prefer, 'prefer');
    requestedBy = 'prefer';
  }
  if (requireGpu && requested && !GPU_BACKENDS.includes(requested) && !allowCpuFallback) {
    throw new BackendUnavailableError(
      requested,
      `the GPU kernel was asked for backend "${requested}" (${requestedBy}); unset it or set HANLAB_ALLOW_CPU_FALLBACK=1 to run on the CPU`,
    );
  }

  // Explicit choice: that one or an error. Automatic: walk the order, remembering why each failed.
  const order: BackendChoice[] = requested ? [requested] : [...BACKEND_CHOICES];
  if (requireGpu && !requested) order.splice(0, order.length, ...GPU_BACKENDS);
  if (requireGpu && allowCpuFallback && !requested) order.push('tensorflow', 'wasm', 'cpu');
  const failures: string[] = [];
  for (const choice of order) {
    // Asked for by name, or for the GPU kernel (whose refusal should say what Dawn found), Dawn is asked.
    const attempt = await tryBackend(choice, root, choice === requested || requireGpu);
    if (attempt.ok) {
      const manifest = buildManifest(choice, attempt, requestedBy, failures);
      current = manifest;
      return manifest;
    }
    failures.push(`${choice}: ${attempt.reason}`);
    const lastGpu = requireGpu && !requested && choice === GPU_BACKENDS[GPU_BACKENDS.length - 1];
    if (requested || (lastGpu && !allowCpuFallback)) {
      const hint = requireGpu ? ` ${GPU_HINT}` : '';
      const what = requested ? `TensorFlow.js backend "${choice}" is not available: ${attempt.reason}` : `no GPU backend is available: ${failures.join('; ')}`;
      throw new BackendUnavailableError(choice, `${what}.${hint}`);
    }
  }
  // Unreachable in practice: the plain `cpu` backend is always registered by @tensorflow/tfjs.
  throw new BackendUnavailableError('cpu', `no TensorFlow.js backend could be initialised: ${failures.join('; ')}`);
}

/**
 * The backend as a report names it: the BackendChoice, and on wasm what ran its matrix products
 * (`wasm (OpenBLAS Haswell)`, `wasm (XNNPACK)`), since training figures depend on it in their last digits.
 */
export function describeBackend(device: DeviceManifest): string {
  if (device.webgpu) return `${device.backend} (${adapterName(device.webgpu)})`;
  const gemm = device.wasm?.gemm;
  if (!gemm) return device.backend;
  if (gemm.products === 'xnnpack') return `${device.backend} (XNNPACK)`;
  const core = gemm.openblas?.core;
  return `${device.backend} (OpenBLAS${core ? ` ${core}` : ''})`;
}

export function parseBackendChoice(value: string, source: string): BackendChoice {
  const normal = value.trim().toLowerCase();
  if ((BACKEND_CHOICES as readonly string[]).includes(normal)) return normal as BackendChoice;
  throw new BackendUnavailableError(value, `${source}="${value}" is not a backend; use one of ${BACKEND_CHOICES.join(', ')}`);
}

/** How to get a GPU backend, or to do without. */
export const GPU_HINT =
  'The hanlab-gpu kernel computes on WebGPU (Dawn over Vulkan): it needs the GPU driver with its Vulkan ICD (NVIDIA: nvidia_icd.json) ' +
  'and the Vulkan loader libvulkan.so.1 (Debian: libvulkan1); a software adapter (SwiftShader, lavapipe) counts only with ' +
  'HANLAB_ALLOW_SOFTWARE_GPU=1 (tests and CI); set HANLAB_ALLOW_CPU_FALLBACK=1 to run on the CPU instead.';

// Not a discriminated union: tslab compiles lib/ without strictNullChecks, where `ok: true | false` does not narrow.
interface Attempt {
  ok: boolean;
  /** Why it failed (when !ok). */
  reason?: string;
  nativeVersion?: { name: string; version: string };
  /** wasm: what runs its matrix products. */
  gemm?: GemmChoice;
  /** webgpu: the adapter. */
  adapter?: WebGpuAdapter;
}

async function tryBackend(choice: BackendChoice, root: string, askDawn: boolean): Promise<Attempt> {
  switch (choice) {
    case 'webgpu': {
      // Chosen automatically, Dawn is loaded only where a GPU driver could answer (it takes a moment and
      // prints its drivers' complaints); otherwise Dawn is asked whatever the machine looks like.
      const blocker = askDawn ? undefined : webGpuProblem(root);
      if (blocker) return { ok: false, reason: blocker };
      const started = await initWebGpuBackend();
      return started.ok ? { ok: true, adapter: started.adapter } : { ok: false, reason: started.reason };
    }
    case 'tensorflow-gpu': {
      const blocker = gpuBlocker(root);
      if (blocker) return { ok: false, reason: blocker };
      const switched = await switchTo('tensorflow');
      if (!switched.ok) return switched;
      if (!usingGpuDevice()) {
        return { ok: false, reason: 'libtensorflow started without a CUDA device (it falls back to the CPU silently; see its "Could not load dynamic library" log lines)' };
      }
      return { ok: true, nativeVersion: nativeVersion('@tensorflow/tfjs-node-gpu', root) };
    }
    case 'tensorflow': {
      // Either native package provides the CPU `tensorflow` backend; prefer the one that is installed for real.
      let load = loadNativeBackend('@tensorflow/tfjs-node', root);
      let name = '@tensorflow/tfjs-node';
      if (!load.ok && locatePackage('@tensorflow/tfjs-node-gpu', root)) {
        const gpu = loadNativeBackend('@tensorflow/tfjs-node-gpu', root);
        if (gpu.ok) {
          load = gpu;
          name = '@tensorflow/tfjs-node-gpu';
        }
      }
      if (!load.ok) return { ok: false, reason: load.reason };
      const switched = await switchTo('tensorflow');
      if (!switched.ok) return switched;
      return { ok: true, nativeVersion: { name, version: load.version ?? 'unknown' } };
    }
    case 'wasm': {
      const dir = wasmDir(root);
      if (!dir) return { ok: false, reason: '@tensorflow/tfjs-backend-wasm is not installed' };
      // Threads need SharedArrayBuffer workers that the Node build of the backend does not start; SIMD works.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      setWasmPaths(dir + path.sep);
      const switched = await switchTo('wasm');
      return switched.ok ? { ok: true, gemm: installBlasProducts(root) } : switched;
    }
    case 'cpu':
      return switchTo('cpu');
  }
}

/** setBackend() resolves false or quietly keeps another backend on failure: check what we really got. */
async function switchTo(name: string): Promise<Attempt> {
  if (!tf.findBackendFactory(name)) return { ok: false, reason: `no "${name}" backend is registered` };
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (error) {
    return { ok: false, reason: `tf.setBackend("${name}") failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  const actual = tf.getBackend();
  if (!ok || actual !== name) return { ok: false, reason: `tf.setBackend("${name}") left the backend at "${actual}"` };
  return { ok: true };
}

/** Why the GPU backend cannot run here (checked before loading anything), or undefined. */
function gpuBlocker(root: string): string | undefined {
  const problem = gpuProblem(root);
  if (problem) return problem;
  const load = loadNativeBackend('@tensorflow/tfjs-node-gpu', root);
  return load.ok ? undefined : load.reason;
}

function usingGpuDevice(): boolean {
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean | (() => boolean) };
  const flag = backend.isUsingGpuDevice;
  return typeof flag === 'function' ? Boolean(flag.call(backend)) : Boolean(flag);
}

function wasmDir(root: string): string | undefined {
  // scripts/gpu-check.sh carries the .wasm files beside its bundle, without node_modules.
  if (process.env.HANLAB_TFJS_WASM_DIR) return process.env.HANLAB_TFJS_WASM_DIR;
  const info = locatePackage('@tensorflow/tfjs-backend-wasm', root);
  return info ? path.join(info.dir, 'dist') : undefined;
}

function nativeVersion(name: string, root: string): { name: string; version: string } | undefined {
  const load = loadNativeBackend(name as '@tensorflow/tfjs-node-gpu', root);
  return load.ok ? { name, version: load.version ?? 'unknown' } : undefined;
}

function buildManifest(
  choice: BackendChoice,
  { nativeVersion: nativePackage, gemm, adapter }: Attempt,
  requestedBy: DeviceManifest['requestedBy'],
  failures: string[],
): DeviceManifest {
  const cpus = os.cpus();
  const manifest: DeviceManifest = {
    backend: choice,
    tfBackend: tf.getBackend(),
    tfjsVersion: tf.version.tfjs,
    nodeVersion: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: cpus.length || 'unknown',
    cpuModel: cpus[0]?.model?.trim() || undefined,
    memoryMiB: Math.round(os.totalmem() / 2 ** 20),
    requestedBy,
    initialisedAt: new Date().toISOString(),
  };
  if (nativePackage) manifest.nativePackage = nativePackage;
  if (adapter) manifest.webgpu = adapter;
  const llm = localLlmBuild();
  if (llm) manifest.localLlm = llm;
  if (choice === 'tensorflow-gpu') {
    const gpu = queryGpu();
    manifest.gpu = gpu ?? {};
  }
  if (choice === 'wasm') {
    manifest.wasm = {
      simd: Boolean(tf.env().getBool('WASM_HAS_SIMD_SUPPORT')),
      threads: Boolean(tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')),
      gemm: gemm ?? { products: 'xnnpack' },
    };
    const internals = checkWasmInternals(tf.backend());
    if (typeof internals === 'string') manifest.wasm.internals = internals;
  }
  if (failures.length) manifest.fallbackReason = failures.join('; ');
  return manifest;
}
