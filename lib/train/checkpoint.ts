/**
 * Training checkpoints: `checkpoint.hanlab` in the checkpoint directory holds the trainer's state
 * (step, epoch, position in the epoch, the generator's state, history, best score) beside the weights,
 * the optimizer's state and the best weights. Each write keeps the previous checkpoint beside it, so a
 * run killed while writing, or a damaged file (a checksum mismatch, a truncated file), resumes from the
 * one before; a checkpoint of other settings stops the run. The trainer (trainer.ts) decides when to
 * write and what its state is; this module reads and writes the files.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { InputError } from '../errors.js';
import type { RandomState } from '../tensor/rng.js';
import { CorruptFileError, previousFile, readContainer, removeStaleTemporaries, writeContainer } from './model-file.js';
import { checkOutputDirectory } from './output-directory.js';
import type { describeModel } from './saved-model.js';

export interface CheckpointState<History> {
  format: 'hanlab-checkpoint';
  step: number;
  epoch: number;
  batchInEpoch: number;
  rng: RandomState;
  microBatchSize: number;
  epochLossSum: number;
  epochUnits: number;
  epochTokens: number;
  epochPadded: number;
  epochSeconds: number;
  history: History;
  bestScore: number | null;
  bestEpoch: number | null;
  epochsWithoutImprovement: number;
  options: { epochs: number; batchSize: number; learningRate: number; seed: number };
  model: ReturnType<typeof describeModel>;
}

/** The checkpoint's name in the checkpoint directory. */
export const CHECKPOINT_FILE = 'checkpoint.hanlab';

/** The settings a checkpoint must share with the run that resumes it. */
export type CheckpointSettings = Pick<CheckpointState<unknown>['options'], 'epochs' | 'batchSize' | 'seed'>;

/**
 * Checks that checkpoints can be written at `file` before any work (a directory that cannot be written
 * fails now, not after an epoch) and removes what killed processes half-wrote there.
 */
export function prepareCheckpointDirectory(file: string, log: (line: string) => void): void {
  checkOutputDirectory(path.dirname(file), 'checkpoint directory');
  for (const name of removeStaleTemporaries(file)) log(`removed ${name}, a checkpoint half-written by a process that was killed`);
}

/** Writes a checkpoint, keeping the previous one beside it. */
export function writeCheckpoint<History>(file: string, state: CheckpointState<History>, arrays: { weights: Float32Array; optimizer: Float32Array; best: Float32Array | null }): void {
  const stored: Record<string, Float32Array> = { weights: arrays.weights, optimizer: arrays.optimizer };
  if (arrays.best) stored.best = arrays.best;
  writeContainer(file, { trainer: state }, stored, { keepPrevious: true });
}

/**
 * The checkpoint at `file`, or the previous one kept beside it when `file` is missing or damaged
 * (`onFallback` says so); undefined when there is none. Neither usable is an InputError.
 */
export function readCheckpoint<History>(
  file: string,
  onFallback: (message: string) => void,
): { file: string; state: CheckpointState<History>; arrays: Map<string, Float32Array> } | undefined {
  const candidates = [file, previousFile(file)].filter((name) => existsSync(name));
  if (candidates.length === 0) return undefined;
  const damaged: string[] = [];
  for (const candidate of candidates) {
    let contents: ReturnType<typeof readContainer>;
    try {
      contents = readContainer(candidate);
    } catch (error) {
      if (!(error instanceof CorruptFileError)) throw error;
      damaged.push((error as Error).message);
      continue;
    }
    if (damaged.length > 0) onFallback(`${damaged.join('; ')}: resuming from the previous checkpoint ${candidate} instead`);
    const state = contents.header.trainer as CheckpointState<History> | undefined;
    if (!state || state.format !== 'hanlab-checkpoint') throw new InputError('not a training checkpoint', { file: candidate });
    return { file: candidate, state, arrays: contents.arrays };
  }
  throw new InputError(
    `${damaged.join('; ')}; no usable earlier checkpoint is left: delete ${candidates.join(' and ')} to start afresh`,
    { file },
  );
}

/** A checkpoint written with other settings stops the run (resuming it would train something else). */
export function checkCheckpointSettings(state: CheckpointState<unknown>, file: string, run: CheckpointSettings): void {
  const same = state.options;
  if (same.batchSize !== run.batchSize || same.seed !== run.seed || same.epochs !== run.epochs) {
    throw new InputError(
      `checkpoint was written with batch ${same.batchSize}, seed ${same.seed}, ${same.epochs} epochs; this run asks for ` +
        `batch ${run.batchSize}, seed ${run.seed}, ${run.epochs} epochs (start fresh or use the same settings)`,
      { file, field: 'trainer.options' },
    );
  }
}
