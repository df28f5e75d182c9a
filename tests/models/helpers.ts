/** Shared set-up for the lib/models tests: tiny checkpoints in temp dirs and the PyTorch reference. */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeTinyCheckpoint, PYTHON, REFERENCE_SCRIPT, type TinyCheckpointOptions } from '../../scripts/make-tiny-checkpoint.js';
import type { EncoderInputs } from '../../lib/models/architecture.js';
import type { EncoderTokenizer } from '../../lib/models/tokenizer.js';

/** Is Debian's python3-torch there? (CI installs it; without it these tests cannot run.) */
export function hasTorch(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/**
 * The `skip` option of tests that need the PyTorch reference: a reason when torch is missing, unless
 * HANLAB_REQUIRE_TORCH=1 (set by .ci/run), where a missing torch fails instead of skipping.
 */
export function skipWithoutTorch(): string | false {
  if (hasTorch()) return false;
  const reason = `${PYTHON} with torch is missing (apt-get install python3-torch)`;
  if (process.env.HANLAB_REQUIRE_TORCH === '1') throw new Error(`HANLAB_REQUIRE_TORCH=1 but ${reason}`);
  return reason;
}

const roots: string[] = [];

/** A fresh temp dir removed by `cleanup()`. */
export function tempDir(prefix = 'hanlab-models-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  roots.push(dir);
  return dir;
}

export function cleanup(): void {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Makes a tiny checkpoint in a temp dir and returns its folder. */
export function tinyCheckpoint(options: Omit<TinyCheckpointOptions, 'out'>): string {
  const out = path.join(tempDir(), options.arch);
  makeTinyCheckpoint({ ...options, out });
  return out;
}

export interface ReferenceOutput {
  hidden_states: number[][][][];
  logits?: number[][] | number[][][];
  loss?: number;
  grads?: Record<string, number[]>;
}

/** Runs tests/models/reference/hf_reference.py forward on `inputs`. */
export function runReference(
  modelDir: string,
  task: 'seq' | 'tok' | 'base',
  inputs: { input_ids: number[][]; attention_mask: number[][]; token_type_ids?: number[][]; labels?: number[] | number[][] },
  options: { numLabels?: number; adapter?: string; grads?: boolean } = {},
): ReferenceOutput {
  const dir = tempDir('hanlab-ref-');
  const inFile = path.join(dir, 'inputs.json');
  const outFile = path.join(dir, 'out.json');
  writeFileSync(inFile, JSON.stringify(inputs));
  const args = [REFERENCE_SCRIPT, 'forward', '--model', modelDir, '--task', task, '--inputs', inFile, '--out', outFile];
  if (options.numLabels) args.push('--num-labels', String(options.numLabels));
  if (options.adapter) args.push('--adapter', options.adapter);
  if (options.grads) args.push('--grads');
  const run = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`hf_reference.py forward failed:\n${run.stderr}`);
  return JSON.parse(readFileSync(outFile, 'utf8'));
}

/** Tokenises texts into a right-padded batch (pad id at padding), plus the reference's input lists. */
export async function batchOf(tokenizer: EncoderTokenizer, texts: string[], maxLength?: number): Promise<{ inputs: EncoderInputs; lists: { input_ids: number[][]; attention_mask: number[][] } }> {
  const encoded = await tokenizer.encode(texts, maxLength);
  const length = Math.max(...encoded.map((e) => e.ids.length));
  const ids = new Int32Array(texts.length * length).fill(tokenizer.padId);
  encoded.forEach((e, row) => ids.set(e.ids, row * length));
  const lengths = encoded.map((e) => e.ids.length);
  const input_ids = encoded.map((_, row) => Array.from(ids.subarray(row * length, (row + 1) * length)));
  const attention_mask = lengths.map((n) => Array.from({ length }, (_, t) => (t < n ? 1 : 0)));
  return { inputs: { batch: texts.length, length, ids, lengths }, lists: { input_ids, attention_mask } };
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

export function flat(values: unknown): number[] {
  return (values as number[]).flat(Infinity as 1) as number[];
}

export function values(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}
