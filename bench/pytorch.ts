/**
 * How the benches start their PyTorch reference (Debian's python3-torch, which does its matrix
 * products with OpenBLAS): with its own threads only. torch.set_num_threads sets PyTorch's threads;
 * OpenBLAS would start a second pool of one thread per core under them, and the two fight (measured
 * here on the BiLSTM+CRF, 2 threads: about 5,000 tokens/s with OpenBLAS's pool against 19,000 without).
 * The thread count is set explicitly, so the baseline does not depend on the caller's shell; the
 * kernel is left to OpenBLAS (hanlab pins its own only while loading it, lib/tensor/blas.ts).
 */
export { PYTHON } from '../scripts/make-tiny-checkpoint.js';

export function pytorchEnvironment(): NodeJS.ProcessEnv {
  // HANLAB_BENCH_TORCH_OPENBLAS_THREADS=2 measures the other way (the figures above).
  return { ...process.env, OPENBLAS_NUM_THREADS: process.env.HANLAB_BENCH_TORCH_OPENBLAS_THREADS ?? '1' };
}
