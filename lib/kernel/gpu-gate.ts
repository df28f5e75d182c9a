/**
 * The `hanlab-gpu` kernel without a usable GPU. TensorFlow.js would quietly run on the CPU, so this
 * kernel refuses to run cells, but it still starts: a kernel that exits at start leaves the browser on
 * "Kernel starting" while the server restarts it five times, with the reason only in the server log.
 * Instead the reason is in the banner, and every cell answers with an error that names what is missing
 * and how to override it, right under the cell.
 *
 * The quick check (Dawn's binary, the Vulkan loader and a driver ICD, or else CUDA's libraries:
 * lib/backend/probe.ts) runs at start; when it passes, the full check (initBackend({ requireGpu }) in a
 * child process so that the kernel itself stays clean: Dawn's adapter, hardware unless
 * HANLAB_ALLOW_SOFTWARE_GPU=1) runs in the background, and the first cell waits for it.
 */
import { spawn } from 'node:child_process';
import type { DeviceManifest } from '../backend/index.js';
import { adapterName, type WebGpuAdapter } from '../backend/webgpu-adapter.js';
import type { CellFailure, CompletenessAnswer, Completion, Engine, ExecuteContext, ExecuteOutcome, Inspection, LanguageInfo } from './engine.js';

export const OVERRIDE_HINT =
  'To use the GPU, install its driver with the Vulkan ICD (NVIDIA: nvidia_icd.json) and the Vulkan loader libvulkan.so.1 (Debian: libvulkan1) ' +
  '(README: "The GPU kernel host"); a software adapter (SwiftShader, lavapipe) counts only with HANLAB_ALLOW_SOFTWARE_GPU=1, for tests and CI; ' +
  'to run this kernel on the CPU anyway, set HANLAB_ALLOW_CPU_FALLBACK=1 in its environment (the "env" of its kernel.json, or before starting Jupyter), ' +
  'or choose the "hanlab (TypeScript, CPU)" kernel.';

// A string discriminant: lib/ also compiles under tslab's settings (no strictNullChecks), where a boolean one does not narrow.
export type GpuVerdict = { kind: 'usable'; description: string } | { kind: 'refused'; reason: string };

export class GpuGatedEngine implements Engine {
  private verdict?: GpuVerdict;
  private readonly pending: Promise<GpuVerdict>;

  /** `check` resolves to whether the GPU is usable; the quick part should already have run. */
  constructor(
    private readonly inner: Engine,
    check: GpuVerdict | Promise<GpuVerdict>,
  ) {
    this.pending = Promise.resolve(check).then((verdict) => (this.verdict = verdict));
  }

  get languageInfo(): LanguageInfo {
    return this.inner.languageInfo;
  }
  get implementation(): string {
    return this.inner.implementation;
  }
  get implementationVersion(): string {
    return this.inner.implementationVersion;
  }

  banner(): string {
    const verdict = this.verdict;
    const gpu = !verdict
      ? 'hanlab-gpu: checking the GPU (TensorFlow.js on WebGPU); the first cell waits for the check.'
      : verdict.kind === 'usable'
        ? `hanlab-gpu: ${verdict.description}`
        : `hanlab-gpu REFUSES TO RUN CELLS: no usable GPU: ${verdict.reason}\n${OVERRIDE_HINT}`;
    return `${this.inner.banner()}\n${gpu}`;
  }

  warm(): Promise<void> {
    return this.inner.warm();
  }

  async execute(code: string, context: ExecuteContext): Promise<ExecuteOutcome> {
    const verdict = await this.pending;
    if (verdict.kind === 'refused') return { status: 'error', failure: refusal(verdict.reason) };
    return this.inner.execute(code, context);
  }

  complete(code: string, cursorPos: number): Promise<Completion> {
    return this.inner.complete(code, cursorPos);
  }
  inspect(code: string, cursorPos: number, detailLevel: number): Promise<Inspection> {
    return this.inner.inspect(code, cursorPos, detailLevel);
  }
  isComplete(code: string): Promise<CompletenessAnswer> {
    return this.inner.isComplete(code);
  }
  interrupt(): void {
    this.inner.interrupt();
  }
  failRunningCell(error: unknown): boolean {
    return this.inner.failRunningCell(error);
  }
  close(): void {
    this.inner.close();
  }
}

const REASON_MARK = 'hanlab-gpu-check: ';

/** The banner's line for a WebGPU adapter; a software one says plainly that it is not a GPU. */
export function webGpuDescription(adapter: WebGpuAdapter): string {
  if (adapter.software) {
    return `software adapter ${adapterName(adapter)}, taken for the GPU because HANLAB_ALLOW_SOFTWARE_GPU=1: the GPU code path, computed on the CPU`;
  }
  return `GPU: ${adapterName(adapter)} (TensorFlow.js on WebGPU)`;
}

export function refusal(reason: string): CellFailure {
  const evalue = `the hanlab-gpu kernel has no usable GPU, so it runs no cells: ${reason}`;
  return { ename: 'GpuUnavailableError', evalue, traceback: [`GpuUnavailableError: ${evalue}`, '', OVERRIDE_HINT] };
}

/**
 * The full check: lib/backend's initBackend({ requireGpu: true }) in a child Node process (the module
 * given, compiled or TypeScript with `loaderArgs` such as ['--import', 'tsx']). Resolves with the
 * device it found or the reason it gave.
 */
export function fullGpuCheck(backendModule: string, loaderArgs: string[], root: string): Promise<GpuVerdict> {
  // Dawn and its Vulkan drivers write their own lines to stderr: the reason is the one line marked.
  const probe = [
    'const m = await import(process.argv[1]);',
    'try { const d = await m.initBackend({ requireGpu: true }); console.log(JSON.stringify(d)); }',
    `catch (e) { console.error('${REASON_MARK}' + (e && e.message ? e.message : String(e))); process.exit(3); }`,
  ].join('\n');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...loaderArgs, '--input-type=module', '-e', probe, backendModule], { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', (error) => resolve({ kind: 'refused', reason: `could not run the GPU check: ${error.message}` }));
    child.once('close', (code) => {
      const marked = stderr.split('\n').find((line) => line.startsWith(REASON_MARK));
      const why = marked ? marked.slice(REASON_MARK.length) : stderr.trim();
      if (code !== 0) return resolve({ kind: 'refused', reason: why || `the GPU check exited with ${code}` });
      try {
        const device = JSON.parse(stdout.trim().split('\n').pop() ?? '') as DeviceManifest;
        if (device.backend === 'webgpu' && device.webgpu) resolve({ kind: 'usable', description: webGpuDescription(device.webgpu) });
        else if (device.backend === 'tensorflow-gpu') resolve({ kind: 'usable', description: `GPU: ${device.gpu?.name ?? 'CUDA device'}` });
        else resolve({ kind: 'refused', reason: device.fallbackReason ?? `TensorFlow.js chose "${device.backend}", not the GPU` });
      } catch {
        resolve({ kind: 'refused', reason: `the GPU check printed no device manifest: ${stdout.trim()}` });
      }
    });
  });
}
