/**
 * How the benches start their PyTorch reference (Debian's python3-torch, which does its matrix
 * products with OpenBLAS): with its own threads only. torch.set_num_threads sets PyTorch's threads;
 * OpenBLAS would start a second pool of one thread per core under them, and the two fight (measured
 * here on the BiLSTM+CRF, 2 threads: about 5,000 tokens/s with OpenBLAS's pool against 19,000 without).
 * The environment is set explicitly, so the baseline does not depend on what hanlab's own process set
 * for its OpenBLAS (lib/backend/blas.ts) or on the caller's shell.
 */
export { PYTHON } from '../scripts/make-tiny-checkpoint.js';

export function pytorchEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: process.env.HANLAB_BENCH_TORCH_OPENBLAS_THREADS ?? '1' };
  // hanlab pins OpenBLAS's kernel for reproducible training; PyTorch gets the one OpenBLAS picks for this CPU.
  delete env.OPENBLAS_CORETYPE;
  return env;
}
