/**
 * Which TensorFlow.js backends this machine could run, found without loading TensorFlow.js (which
 * takes a second): packages installed, native bindings present, CUDA libraries loadable. Used by
 * `hanlab kernels list` and by the notebook runner's record of a run. initBackend() is the real test.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CUDA_LIBRARIES, findMissingLibraries } from './cuda.js';
import { gpuDeviceNodes, vulkanProblems } from './vulkan.js';

/** `webgpu`: TensorFlow.js on WebGPU (Dawn over Vulkan), the GPU backend; `tensorflow-gpu`: the old CUDA path. */
export type BackendChoice = 'webgpu' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
/** The backends that compute on a GPU: what the hanlab-gpu kernel accepts. */
export const GPU_BACKENDS: readonly BackendChoice[] = ['webgpu', 'tensorflow-gpu'];

export interface BackendProbe {
  backend: BackendChoice;
  available: boolean;
  reason?: string;
}

export interface PackageInfo {
  dir: string;
  /** The name in the installed package.json (differs from the requested one for npm aliases). */
  name: string;
  version: string;
}

/** Where a package is installed (resolved from the project root), without loading it. */
export function locatePackage(name: string, root: string = process.cwd()): PackageInfo | undefined {
  try {
    // A package whose "exports" hides its package.json (node-llama-cpp) is read where npm puts it.
    const direct = path.join(root, 'node_modules', ...name.split('/'), 'package.json');
    const manifestPath = existsSync(direct) ? direct : createRequire(path.join(root, 'package.json')).resolve(`${name}/package.json`);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name?: string; version?: string };
    return { dir: path.dirname(manifestPath), name: manifest.name ?? name, version: manifest.version ?? 'unknown' };
  } catch {
    return undefined;
  }
}

/** The native addon of tfjs-node(-gpu) (`lib/napi-v<N>/tfjs_binding.node`), when it was built/downloaded. */
export function findNativeBinding(packageDir: string): string | undefined {
  const lib = path.join(packageDir, 'lib');
  if (!existsSync(lib)) return undefined;
  for (const entry of readdirSync(lib)) {
    const candidate = path.join(lib, entry, 'tfjs_binding.node');
    if (entry.startsWith('napi-v') && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Why a native package cannot provide the `tensorflow` backend, or undefined when it looks usable. */
export function nativePackageProblem(name: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node', root: string = process.cwd()): string | undefined {
  const info = locatePackage(name, root);
  if (!info) {
    return name === '@tensorflow/tfjs-node-gpu'
      ? `${name} is not installed (an optional dependency: its install downloads libtensorflow, so it is dropped where that fails; ` +
          'on a GPU host with internet run `npm install --include=optional`)'
      : `${name} is not installed`;
  }
  if (info.name !== name) return `${name} resolves to ${info.name}@${info.version} (an npm alias), not the native package`;
  if (!findNativeBinding(info.dir)) {
    return `${name}@${info.version} is installed without its native binding (lib/napi-v*/tfjs_binding.node): its install script, which ` +
      `downloads libtensorflow, did not run or failed; run \`npm rebuild ${name}\` on a host with internet`;
  }
  return undefined;
}

/** Why the CUDA backend cannot run here, or undefined when it can be tried. */
export function gpuProblem(root: string = process.cwd()): string | undefined {
  if (process.platform !== 'linux') return `CUDA TensorFlow.js runs on Linux only (this is ${process.platform})`;
  const missing = findMissingLibraries(CUDA_LIBRARIES);
  if (missing.length) return `missing CUDA libraries: ${missing.join(', ')} (needs the NVIDIA driver, CUDA 11.2 and cuDNN 8.1 on the library path)`;
  return nativePackageProblem('@tensorflow/tfjs-node-gpu', root);
}

/** Where the `webgpu` package's `dawn.node` for this platform is, or why there is none. */
export function dawnBinary(root: string = process.cwd()): { path: string } | { problem: string } {
  // scripts/gpu-check.sh carries dawn.node beside its bundle, without node_modules.
  const carried = process.env.HANLAB_DAWN_NODE;
  if (carried) return existsSync(carried) ? { path: carried } : { problem: `HANLAB_DAWN_NODE=${carried} does not exist` };
  const info = locatePackage('webgpu', root);
  if (!info) return { problem: 'the "webgpu" package (Dawn for Node) is not installed' };
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  const file = path.join(info.dir, 'dist', `${process.platform}-${arch}`, 'dawn.node');
  return existsSync(file) ? { path: file } : { problem: `webgpu@${info.version} has no dawn.node for ${process.platform}-${arch}` };
}

/**
 * Why WebGPU cannot compute on a GPU here, found without loading Dawn: no Dawn binary, no Vulkan loader,
 * no driver ICD, or no GPU device node (/dev/nvidia*, /dev/dri/renderD*, /dev/dxg); the last is waived
 * with HANLAB_ALLOW_SOFTWARE_GPU=1 (a software Vulkan driver needs none). Undefined: worth asking Dawn
 * for an adapter (lib/backend/webgpu.ts), which is the real test.
 */
export function webGpuProblem(root: string = process.cwd()): string | undefined {
  const setup = webGpuSetupProblem(root);
  if (setup) return setup;
  if (process.platform === 'linux' && process.env.HANLAB_ALLOW_SOFTWARE_GPU !== '1' && !gpuDeviceNodes().length) {
    return 'no GPU device node (/dev/nvidia*, /dev/dri/renderD*, /dev/dxg): no GPU driver is loaded on this machine';
  }
  return undefined;
}

/** What Dawn needs before it can be asked for any adapter: its binary, the Vulkan loader, a driver ICD. */
export function webGpuSetupProblem(root: string = process.cwd()): string | undefined {
  const dawn = dawnBinary(root);
  if ('problem' in dawn) return dawn.problem;
  const vulkan = vulkanProblems();
  return vulkan.length ? vulkan.join('; ') : undefined;
}

/**
 * The hanlab-gpu kernel's quick check: why neither GPU backend can run here (both reasons), or
 * undefined when one is worth the full check (a child process asks Dawn for its adapter).
 */
export function gpuKernelProblem(root: string = process.cwd()): string | undefined {
  const webgpu = webGpuSetupProblem(root);
  if (!webgpu) return undefined;
  const cuda = gpuProblem(root);
  return cuda ? `webgpu: ${webgpu}; tensorflow-gpu (optional, no longer installs): ${cuda}` : undefined;
}

/**
 * Which node-llama-cpp build local GGUF generation loads here with `--gpu auto` (lib/llm/local-engine.ts),
 * found without loading it: its Vulkan build where that package is really installed (not the stand-in
 * that package.json's overrides put in its place) and Vulkan has a loader and a driver, else the CPU build.
 * The generation records name the build that did run (`node-llama-cpp 3.22.1 (vulkan)`).
 */
export function localLlmBuild(root: string = process.cwd()): { package: string; build: 'vulkan' | 'cpu'; reason?: string } | undefined {
  const engine = locatePackage('node-llama-cpp', root);
  if (!engine) return undefined;
  const name = `@node-llama-cpp/${process.platform}-${process.arch}-vulkan`;
  const vulkan = locatePackage(name, root);
  const pkg = `node-llama-cpp@${engine.version}`;
  if (!vulkan || vulkan.name !== name) return { package: pkg, build: 'cpu', reason: `${name} is not installed (README, "Local GGUF models")` };
  const problems = vulkanProblems();
  if (problems.length) return { package: pkg, build: 'cpu', reason: problems.join('; ') };
  return { package: pkg, build: 'vulkan' };
}

/** For each backend in preference order: could it run here? Loads nothing. */
export function probeBackends(root: string = process.cwd()): BackendProbe[] {
  return BACKEND_CHOICES.map((backend): BackendProbe => {
    let reason: string | undefined;
    switch (backend) {
      case 'webgpu':
        reason = webGpuProblem(root);
        break;
      case 'tensorflow-gpu':
        reason = gpuProblem(root);
        break;
      case 'tensorflow': {
        const cpu = nativePackageProblem('@tensorflow/tfjs-node', root);
        const gpu = locatePackage('@tensorflow/tfjs-node-gpu', root) ? nativePackageProblem('@tensorflow/tfjs-node-gpu', root) : 'not installed';
        reason = cpu && gpu ? cpu : undefined;
        break;
      }
      case 'wasm': {
        const info = locatePackage('@tensorflow/tfjs-backend-wasm', root);
        if (!info) reason = '@tensorflow/tfjs-backend-wasm is not installed';
        else if (!existsSync(path.join(info.dir, 'dist', 'tfjs-backend-wasm-simd.wasm'))) reason = `no .wasm files in ${path.join(info.dir, 'dist')}`;
        break;
      }
      case 'cpu':
        break;
    }
    return reason ? { backend, available: false, reason } : { backend, available: true };
  });
}

/** The backend initBackend() would pick automatically, judging by the probe. */
export function expectedBackend(probes: readonly BackendProbe[]): BackendChoice {
  return probes.find((probe) => probe.available)?.backend ?? 'cpu';
}
