/**
 * The webgpu figures of `npm run bench:train`, beside the CPU ones: where Dawn finds a WebGPU adapter,
 * the same measurement runs on webgpu in a child process (scripts/gpu-check.ts's child: one backend per
 * process, as initBackend picks once). A software adapter (SwiftShader, lavapipe) is measured too, with
 * HANLAB_ALLOW_SOFTWARE_GPU=1 for that child only, and labelled: its figures are no speed claim.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { adapterName, findWebGpuAdapter } from '../lib/backend/webgpu.js';

export const SOFTWARE_LABEL = 'software adapter, not a speed claim';

export interface WebGpuFigure {
  adapter: string | null;
  software: boolean;
  per_s: number | null;
  label?: string;
  error?: string;
}

/** `job`: gpu-check's `tagger-speed` (conv+CRF, syllables/s) or `encoder-speed` (BERT, tokens/s; needs `checkpoint`). */
export async function measureOnWebGpu(job: 'tagger-speed' | 'encoder-speed', checkpoint?: string): Promise<WebGpuFigure> {
  const lookup = await findWebGpuAdapter();
  if (lookup.kind === 'none') return { adapter: null, software: false, per_s: null, error: lookup.reason };
  const adapter = lookup.adapter;
  const software = Boolean(adapter.software);
  const work = mkdtempSync(path.join(tmpdir(), 'hanlab-bench-webgpu-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, ...(software ? { HANLAB_ALLOW_SOFTWARE_GPU: '1' } : {}) };
    delete env.HANLAB_BACKEND;
    const args = ['--import', 'tsx', 'scripts/gpu-check.ts', '--child', job, '--backend', 'webgpu', '--out', path.join(work, 'unused'), ...(checkpoint ? ['--checkpoint', checkpoint] : [])];
    const run = spawnSync(process.execPath, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024, timeout: 1_200_000, killSignal: 'SIGKILL' });
    const line = run.stdout.split('\n').filter((text) => text.startsWith('{')).at(-1);
    const answer = line ? (JSON.parse(line) as { ok: boolean; perSecond?: number; error?: string }) : { ok: false, error: run.error?.message ?? `exited with ${run.status}` };
    return {
      adapter: adapterName(adapter),
      software,
      per_s: answer.ok && answer.perSecond !== undefined ? Math.round(answer.perSecond) : null,
      ...(software ? { label: SOFTWARE_LABEL } : {}),
      ...(answer.ok ? {} : { error: answer.error }),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** One line for the bench's log. */
export function describeWebGpuFigure(what: string, unit: string, figure: WebGpuFigure, cpu: number): string {
  if (!figure.adapter) return `${what} on webgpu: no adapter (${figure.error})`;
  if (figure.per_s === null) return `${what} on webgpu (${figure.adapter}): failed: ${figure.error}`;
  return `${what} on webgpu (${figure.adapter}): ${figure.per_s} ${unit} (×${(figure.per_s / cpu).toFixed(2)} the CPU's)${figure.label ? ` — ${figure.label}` : ''}`;
}
