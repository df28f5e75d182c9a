/**
 * OpenBLAS matrix products for the wasm backend.
 *
 * The trainer spends two thirds of a conv+CRF update in matrix products, and tfjs-backend-wasm's
 * XNNPACK products run at 29–31 GFLOP/s per thread here (wasm SIMD is 128 bits wide, and the Node
 * build of the backend has no threads). OpenBLAS, from Debian's libopenblas-dev, runs the same shapes
 * at ~110 GFLOP/s. `installBlasProducts` replaces the wasm backend's BatchMatMul kernel with one that
 * hands the operands, where they already lie in the wasm heap, to cblas_sgemm (native/blas-gemm.c,
 * built by scripts/build-native.mjs): no copy, no change to any op or gradient above the kernel.
 *
 * Reproducibility: OpenBLAS picks its kernel by CPU, and kernels sum in different orders. Unless the
 * user pins one, OPENBLAS_CORETYPE=Haswell (AVX2 + FMA, the fastest of the four measured here) is in
 * force while the library loads, so every AVX2 machine trains bit for bit alike; and
 * OPENBLAS_NUM_THREADS=1, because the trainer runs its own threads, one product per thread.
 *
 * HANLAB_GEMM chooses: `auto` (default: OpenBLAS when the addon is built and matches the size and
 * checksum its build recorded, else the wasm products, with the reason in the device manifest),
 * `openblas` (that or an error) or `wasm`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { HanlabError } from '../errors.js';
import { checkWasmInternals, runsOnWasm } from './backend-internals.js';

export const BLAS_ADDON = path.join('native', 'build', 'blas-gemm.node');
/** The addon's size and SHA-256, written by scripts/build-native.mjs beside it. */
export const BLAS_ADDON_RECORD = `${BLAS_ADDON}.json`;

export interface GemmChoice {
  /** What runs float32 matrix products on the wasm backend. */
  products: 'openblas' | 'xnnpack';
  /** OpenBLAS's kernel (`Haswell`, …) and build configuration, when it runs them. */
  openblas?: { core: string; config: string; threads: number };
  /** Why OpenBLAS does not, when it was not refused on purpose (HANLAB_GEMM=wasm). */
  reason?: string;
}

export interface BlasAddon {
  sgemm(
    memory: ArrayBuffer,
    transposeA: boolean,
    transposeB: boolean,
    m: number,
    n: number,
    k: number,
    batch: number,
    a: number,
    aStride: number,
    b: number,
    bStride: number,
    c: number,
  ): void;
  library(): { core: string; config: string; threads: number };
  /** OpenBLAS's threads for the products that follow (process-wide). */
  setThreads(threads: number): void;
}

/** HANLAB_GEMM named something other than auto / openblas / wasm, or asked for OpenBLAS where it cannot load. */
export class GemmUnavailableError extends HanlabError {}

/** Set once OpenBLAS runs the products: the kernel registry is per process (or worker thread), and stays so. */
let installed: GemmChoice | undefined;
/** The addon behind `installed`, for `bufferProducts`. */
let installedAddon: BlasAddon | undefined;

/**
 * `c = op(a) · op(b)` (row-major, `op(a)` m × k, `op(b)` k × n) where a, b and c are float offsets
 * into one ArrayBuffer, with C packed.
 */
export type BufferProduct = (memory: ArrayBuffer, transposeA: boolean, transposeB: boolean, m: number, n: number, k: number, a: number, b: number, c: number) => void;

/**
 * OpenBLAS's product over operands in one ArrayBuffer of the caller's (scratch memory, not the wasm
 * heap), when OpenBLAS runs this thread's products; null otherwise. It is the very cblas_sgemm call
 * the BatchMatMul kernel makes for the same shapes and transposes, so the values are the same bits as
 * tf.matMul's; what it saves is the tfjs kernel call and the copies into and out of the heap, which
 * cost several times the arithmetic of the small products of a recurrence step.
 */
export function bufferProducts(): BufferProduct | null {
  const addon = installedAddon;
  if (!addon || tf.getBackend() !== 'wasm') return null;
  return (memory, transposeA, transposeB, m, n, k, a, b, c) => addon.sgemm(memory, transposeA, transposeB, m, n, k, 1, a, 0, b, 0, c);
}

/**
 * Runs `work` with OpenBLAS computing each product on `threads` threads, then goes back to one. For a
 * loop that is the only one computing (GLiNER2's fine-tuning and extraction): the trainer's gradient
 * workers keep one thread each, as OpenBLAS is loaded once per process and its thread count is
 * process-wide. Without OpenBLAS (XNNPACK products, another backend) `work` runs as it is.
 */
export async function withProductThreads<T>(threads: number, work: () => Promise<T>): Promise<T> {
  const addon = installedAddon;
  // An addon built before setThreads existed (npm run build:native updates it) runs on one thread.
  if (!addon || threads <= 1 || typeof addon.setThreads !== 'function') return work();
  addon.setThreads(threads);
  try {
    return await work();
  } finally {
    addon.setThreads(1);
  }
}

/**
 * Makes OpenBLAS run the wasm backend's float32 products when HANLAB_GEMM allows it and the addon
 * loads; says what runs them. Call after the wasm backend is initialised. Once OpenBLAS runs them,
 * later calls say so whatever they ask.
 */
export function installBlasProducts(root: string): GemmChoice {
  if (installed) return installed;
  const wanted = (process.env.HANLAB_GEMM ?? 'auto').trim().toLowerCase() || 'auto';
  if (!['auto', 'openblas', 'wasm'].includes(wanted)) {
    throw new GemmUnavailableError(`HANLAB_GEMM="${process.env.HANLAB_GEMM}" is not a choice; use auto, openblas or wasm`);
  }
  if (wanted === 'wasm') return { products: 'xnnpack' };
  const addon = loadBlasAddon(root);
  if (typeof addon === 'string') {
    if (wanted === 'openblas') throw new GemmUnavailableError(`HANLAB_GEMM=openblas, but ${addon}`);
    return { products: 'xnnpack', reason: addon };
  }
  // The products read the operands where they lie in the wasm heap: not without the backend's members.
  const internals = runsOnWasm() ? checkWasmInternals(tf.backend()) : undefined;
  if (typeof internals === 'string') {
    if (wanted === 'openblas') throw new GemmUnavailableError(`HANLAB_GEMM=openblas, but ${internals}`);
    return { products: 'xnnpack', reason: internals };
  }
  replaceBatchMatMul(addon);
  installedAddon = addon;
  return (installed = { products: 'openblas', openblas: addon.library() });
}

/**
 * Whether the current backend's products are XNNPACK's in tfjs-backend-wasm, fast only for plain 2-D
 * operands: callers then transpose explicitly (lib/tensor/ops/mat-mul.ts) and batch by other means
 * (lib/tensor/ops/batch-mat-mul.ts). OpenBLAS, tfjs-node and the JavaScript backend need neither.
 */
export function productsRunOnXnnpack(): boolean {
  return tf.getBackend() === 'wasm' && installed === undefined;
}

/** The addon under `root`, or why it cannot be used (a sentence). */
export function loadBlasAddon(root: string): BlasAddon | string {
  const file = path.join(root, BLAS_ADDON);
  if (!existsSync(file)) {
    return `${BLAS_ADDON} is not built (npm run build:native; it needs Debian's libopenblas-dev)`;
  }
  const damage = addonDamage(root);
  if (damage) return `${BLAS_ADDON} ${damage}; rebuild it with npm run build:native`;
  // OpenBLAS reads its settings from the environment once, when it loads: set them for that moment
  // only, so programs this process starts later (a notebook's Python, say) keep the user's.
  const saved = { OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS, OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE };
  process.env.OPENBLAS_NUM_THREADS = '1';
  if (saved.OPENBLAS_CORETYPE === undefined && cpuHasAvx2Fma()) process.env.OPENBLAS_CORETYPE = 'Haswell';
  try {
    return createRequire(path.join(root, 'package.json'))(file) as BlasAddon;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return `${BLAS_ADDON} failed to load: ${message.slice(0, 300)}`;
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/**
 * Why the addon must not be loaded, or null: its size and checksum against the build's record. Loading
 * a truncated shared object ends the process with SIGBUS (exit 135), past any fallback, so a file that
 * is not byte for byte what the build wrote is never handed to the dynamic loader.
 */
function addonDamage(root: string): string | null {
  let written: { size?: unknown; sha256?: unknown };
  try {
    written = JSON.parse(readFileSync(path.join(root, BLAS_ADDON_RECORD), 'utf8'));
  } catch {
    return `has no readable size and checksum record (${BLAS_ADDON_RECORD}), so it cannot be verified`;
  }
  const bytes = readFileSync(path.join(root, BLAS_ADDON));
  if (bytes.length !== written.size) return `is damaged: ${bytes.length} bytes where the build wrote ${JSON.stringify(written.size)}`;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== written.sha256) return `is damaged: its SHA-256 differs from the one the build wrote`;
  return null;
}

function cpuHasAvx2Fma(): boolean {
  if (process.arch !== 'x64') return false;
  try {
    const flags = readFileSync('/proc/cpuinfo', 'latin1').match(/^flags\s*:(.*)$/m)?.[1].split(/\s+/) ?? [];
    return flags.includes('avx2') && flags.includes('fma');
  } catch {
    return false;
  }
}

function replaceBatchMatMul(addon: BlasAddon): void {
  const original = tf.getKernel('BatchMatMul', 'wasm');
  if (!original) throw new GemmUnavailableError('the wasm backend has no BatchMatMul kernel to replace (is @tensorflow/tfjs-backend-wasm loaded?)');
  const fallback = original.kernelFunc;
  const kernelFunc: tf.KernelFunc = (args) => {
    const { inputs, attrs } = args;
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const batchA = a.shape.slice(0, -2).reduce((n, d) => n * d, 1);
    const batchB = b.shape.slice(0, -2).reduce((n, d) => n * d, 1);
    // Other dtypes, and broadcasts other than one operand shared by every product, stay with tfjs.
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return fallback(args);
    if (batchA !== batchB && batchA !== 1 && batchB !== 1) return fallback(args);
    const internals = checkWasmInternals(args.backend as object);
    // Checked when the backend loaded (installBlasProducts); a backend set up again is checked here.
    if (typeof internals === 'string') return fallback(args);
    const [aRows, aCols] = a.shape.slice(-2);
    const [bRows, bCols] = b.shape.slice(-2);
    const m = transposeA ? aCols : aRows;
    const k = transposeA ? aRows : aCols;
    const n = transposeB ? bRows : bCols;
    const kB = transposeB ? bCols : bRows;
    if (k !== kB) {
      throw new Error(
        `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and ` +
          `transposeA=${transposeA} and transposeB=${transposeB} must match.`,
      );
    }
    const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const out = internals.makeOutput([...outer, m, n], 'float32');
    const batch = Math.max(batchA, batchB);
    if (batch * m * n === 0) return out;
    // Offsets are read after makeOutput: it may grow the heap (the buffer is taken afresh, too).
    addon.sgemm(
      internals.heap(),
      transposeA,
      transposeB,
      m,
      n,
      k,
      batch,
      internals.byteOffset(a.dataId) / 4,
      batchA === 1 ? 0 : m * k,
      internals.byteOffset(b.dataId) / 4,
      batchB === 1 ? 0 : k * n,
      internals.byteOffset(out.dataId) / 4,
    );
    return out;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  // The original setup stays: it prepares the fallback's wasm function if the backend is set up again.
  tf.registerKernel({ ...original, kernelFunc });
}
