/**
 * What the GPU kernel host needs from the machine: the CUDA and cuDNN shared libraries that
 * @tensorflow/tfjs-node-gpu 4.x (libtensorflow 2.9) loads, and the GPU's name and memory.
 *
 * libtensorflow does not fail when these are missing: it logs "Could not load dynamic library" and
 * quietly runs on the CPU. We look for each library ourselves first so the GPU kernel can refuse to
 * start and name what is missing.
 */
import { execFileSync } from 'node:child_process';

/** The libraries libtensorflow 2.9.1 (tfjs-node-gpu 4.x) dlopens for CUDA 11.2 + cuDNN 8.1. */
export const CUDA_LIBRARIES: readonly string[] = [
  'libcuda.so.1',
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
];

/**
 * Returns the libraries from `names` that the dynamic linker cannot load.
 *
 * We ask the real linker (dlopen through `process.dlopen`) rather than scanning folders, so
 * LD_LIBRARY_PATH, ld.so.cache and rpath rules are exactly the ones libtensorflow will meet. A plain
 * shared library loads but then "did not self-register" as a Node addon: that error means "present".
 */
export function findMissingLibraries(names: readonly string[] = CUDA_LIBRARIES): string[] {
  if (process.platform !== 'linux') return [...names];
  const missing: string[] = [];
  for (const name of names) {
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, name);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!/self-register|napi_register_module|module registration/i.test(message)) missing.push(name);
    }
  }
  return missing;
}

export interface GpuInfo {
  name?: string;
  memoryMiB?: number;
  driverVersion?: string;
}

/** The first GPU as `nvidia-smi` reports it, or undefined where there is no driver tool or no GPU. */
export function queryGpu(): GpuInfo | undefined {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader,nounits'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    });
    const first = out.split('\n').find((line) => line.trim() !== '');
    if (!first) return undefined;
    const [name, memory, driver] = first.split(',').map((part) => part.trim());
    const memoryMiB = Number(memory);
    return { name, memoryMiB: Number.isFinite(memoryMiB) ? memoryMiB : undefined, driverVersion: driver };
  } catch {
    return undefined;
  }
}
