/**
 * The training loop: AdamW with warmup + decay, global-norm clipping, gradient accumulation up to a
 * target batch, automatic micro-batching when an allocation fails, data-parallel gradients on worker
 * threads, evaluation every epoch with early stopping and best-model restore, checksummed atomic
 * checkpoints that a killed run resumes from exactly (falling back to the previous one when the last
 * is damaged), a clear stop when the loss diverges, and the history as data.
 *
 * The weights live in one flat Float32Array (shared with the worker threads), the summed gradient in
 * another: the update is plain array arithmetic, pushed into the model's tensors once per step.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import path from 'node:path';
import { makeBatch, paddingEfficiency, planBatches, splitIndices, type Batch, type EncodedExample } from './batching.js';
import { NonFiniteOutputError, OutOfMemoryError, TrainingDivergedError } from './errors.js';
import { accumulateGradients, accumulateGradientsOnDevice, globalNorm } from './gradients.js';
import { readConcatenated, readsAreSynchronous } from '../tensor/ops/scratch.js';
import { CHECKPOINT_FILE, checkCheckpointSettings, prepareCheckpointDirectory, readCheckpoint, writeCheckpoint, type CheckpointState } from './checkpoint.js';
import { AdamW } from './optimizer.js';
import { createProgress, formatDuration, type ProgressMode, type ProgressReporter } from './progress.js';
import { SeededRandom } from '../tensor/rng.js';
import { describeModel, type TrainableModel } from './saved-model.js';
import { learningRateAt } from './schedule.js';
import { InputError, UsageError } from '../errors.js';
import { checkBackendUnchanged, runningBackend, tfBackendName, type BackendChoice } from '../backend/index.js';
import { GradientWorkers } from './parallel.js';

export { NonFiniteOutputError, OutOfMemoryError, TrainingDivergedError } from './errors.js';
export { CHECKPOINT_FILE };

export interface TrainOptions {
  epochs: number;
  /** Target (effective) batch: examples per optimizer update (more than the data: the data size, with a notice). */
  batchSize: number;
  /**
   * First micro-batch size tried (default: half the batch, so that two threads can share every update
   * whether or not they do: the split, and so the result, never depends on the thread count). Halved
   * on allocation failure.
   */
  microBatchSize?: number;
  learningRate: number;
  /** Share of all updates spent warming up (default 0.1). */
  warmupRatio?: number;
  decay?: 'linear' | 'cosine' | 'constant';
  weightDecay?: number;
  /** Clip gradients to this global norm (default 5; 0 disables). */
  clipNorm?: number;
  seed: number;
  /** Length bucketing (default on). */
  bucketing?: boolean;
  /** Truncate longer examples while training (classifiers; taggers leave it unset). */
  maxLength?: number;
  /** Stop after this many epochs without a better validation score (default 3; 0 = never). */
  patience?: number;
  /** Smallest improvement that counts (default 1e-4). */
  minDelta?: number;
  /** Directory for `checkpoint.hanlab` (none: no checkpoints). */
  checkpointDir?: string | null;
  /** Also checkpoint every this many updates (default: only at epoch ends). */
  checkpointEverySteps?: number;
  /** Continue from the checkpoint in `checkpointDir` when there is one. */
  resume?: boolean;
  /** Stop after this many updates in total (benches, tests). */
  maxSteps?: number;
  progress?: ProgressMode | ProgressReporter;
  /**
   * Simulated allocation limit: a micro-batch with more padded positions (size × length) fails as
   * an out-of-memory error would. For tests of the automatic micro-batching.
   */
  simulatedMemoryLimit?: { maxPaddedTokens: number };
  /**
   * Extra worker threads computing micro-batch gradients in parallel. The wasm backend is
   * single-threaded in Node; 1 worker puts a second core to work. Default 'auto': one worker on a
   * CPU backend with at least two cores, for runs long enough to repay its start-up; none on
   * TensorFlow's native backends (they thread themselves). The result is the same either way.
   */
  workers?: number | 'auto';
  /** Where log lines go (micro-batch changes, resume, early stop). Default: the progress reporter. */
  log?: (line: string) => void;
}

export interface ValidationResult {
  /** The score early stopping maximises (seqeval micro F1, accuracy). */
  score: number;
  /** Every figure, for the history. */
  metrics: Record<string, number>;
}

/** Validation of the model as it stands; asynchronous where the backend reads its tensors back that way (webgpu). */
export type Evaluator = (model: TrainableModel) => ValidationResult | Promise<ValidationResult>;

export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  learningRate: number;
  gradNorm: number;
  microBatchSize: number;
  realTokens: number;
  paddedTokens: number;
  tokensPerSecond: number;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validation?: ValidationResult;
  seconds: number;
  /** Real (non-padding) tokens per second of training compute in this epoch. */
  tokensPerSecond: number;
  /** Real tokens / padded positions over the epoch's batches. */
  paddingEfficiency: number;
  memory: { numTensors: number; numBytes: number; rssBytes: number };
}

export interface TrainEvent {
  step: number;
  kind: 'micro-batch' | 'resume' | 'early-stop' | 'best-restored' | 'checkpoint' | 'batch-size' | 'checkpoint-fallback';
  message: string;
}

export interface OverfittingSignal {
  epoch: number;
  bestEpoch: number;
  trainLossDrop: number;
  validationDrop: number;
  message: string;
}

export interface TrainHistory {
  backend: string;
  steps: StepRecord[];
  epochs: EpochRecord[];
  events: TrainEvent[];
  bestEpoch: number | null;
  bestScore: number | null;
  overfitting: OverfittingSignal | null;
  stoppedEarly: boolean;
  totalSteps: number;
  /** Training seconds over every process of the run (a resumed run adds to its checkpoint's). */
  seconds: number;
}

export interface TrainResult {
  history: TrainHistory;
  /** Epochs completed (fewer than asked for after early stopping). */
  epochsRun: number;
  /** Seconds the processes before a resume had spent (0 for a fresh run): add them to wall-clock totals. */
  earlierSeconds: number;
}

/** An allocation failed (real, or simulated by `simulatedMemoryLimit`). */
export class AllocationError extends Error {
  override name = 'AllocationError';
}

/**
 * Padded positions (examples × length) at most in one micro-batch. A bigger one is no faster (the
 * matrix products saturate long before), and it keeps the wasm heap, which cannot grow past 4 GB, far
 * from its limit (a batch of 5,000 long texts in one piece grew it to 4.4 GB and killed the backend).
 * It depends on the batch only, so the split, and the result, are the same on every machine.
 */
export const MAX_MICRO_BATCH_POSITIONS = 16384;

/**
 * The WebAssembly backend aborted (its heap could not grow: "Aborted()"); every later op fails the
 * same way, so retrying with smaller micro-batches cannot help.
 */
export function isBackendAbort(error: unknown): boolean {
  return error instanceof Error && /(^|: )Aborted\(/.test(error.message);
}

/**
 * Does this error mean "out of memory"? (tfjs, wasm and the GPU word it differently: a wasm heap that
 * cannot grow past 4 GB surfaces as "memory access out of bounds" from a null allocation.)
 */
export function isAllocationFailure(error: unknown): boolean {
  if (error instanceof AllocationError) return true;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return /out of memory|\bOOM\b|failed to allocate|cannot allocate|allocation failed|Cannot enlarge memory|RESOURCE_EXHAUSTED|Array buffer allocation|memory access out of bounds|WebAssembly\.Memory|Invalid typed array length/i.test(
    text,
  );
}

/** Trains `model` in place. After it returns the model holds the best validation weights (when validated). */
export function trainModel(
  model: TrainableModel,
  train: readonly EncodedExample[],
  evaluate: Evaluator | null,
  options: TrainOptions,
): Promise<TrainResult> {
  return new Trainer(model, train, evaluate, options).run();
}

/**
 * The batches of epoch `epoch` (0-based): a function of the seed and the epoch only, so a resumed run
 * rebuilds the interrupted epoch's order and skips the batches already trained.
 */
export function planEpoch(lengths: readonly number[], options: Pick<TrainOptions, 'batchSize' | 'bucketing' | 'seed'>, epoch: number): number[][] {
  return planBatches(lengths, {
    batchSize: options.batchSize,
    bucketing: options.bucketing ?? true,
    rng: new SeededRandom((options.seed + Math.imul(epoch + 1, 0x9e3779b1)) >>> 0),
  });
}

/** Updates below which a worker thread's start-up (about a second) costs more than it saves. */
const MIN_UPDATES_FOR_WORKER = 8;

/** How many gradient worker threads `workers` means on this machine and backend. */
export function resolveWorkers(workers: number | 'auto', updates: number): number {
  if (workers !== 'auto') {
    if (!Number.isSafeInteger(workers) || workers < 0) throw new UsageError(`workers must be a non-negative integer or 'auto', got ${workers}`);
    return workers;
  }
  const backend = runningBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return 0;
  return os.availableParallelism() >= 2 && updates >= MIN_UPDATES_FOR_WORKER ? 1 : 0;
}

/** Lets queued output (a notebook's progress lines) and signals through between updates. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

class Trainer {
  private readonly rng: SeededRandom;
  private readonly optimizer: AdamW;
  private readonly progress: ProgressReporter;
  private readonly log: (line: string) => void;
  private readonly lengths: number[];
  /** The effective batch: options.batchSize, clamped to the data size. */
  private readonly batchSize: number;
  private readonly stepsPerEpoch: number;
  private readonly totalSteps: number;
  /** The weights, flat in parameter order: what the optimizer updates and the workers read. */
  private readonly weights: Float32Array;
  /** Bumped whenever `weights` changed, so workers know to reload them. */
  private weightsVersion = 0;
  /** The summed gradient of the current update. */
  private readonly gradients: Float32Array;
  /** AdamW's moments (shared with the workers when there are workers). */
  private readonly moments: ArrayBuffer | SharedArrayBuffer;
  private microBatchSize: number;
  private history: TrainHistory;
  private bestWeights: Float32Array | null = null;
  private bestScore: number | null = null;
  private bestEpoch: number | null = null;
  private epochsWithoutImprovement = 0;
  private epoch = 0;
  private batchInEpoch = 0;
  private epochLossSum = 0;
  private epochUnits = 0;
  private epochTokens = 0;
  private epochPadded = 0;
  private epochSeconds = 0;
  /** Training seconds of the processes before a resume. */
  private earlierSeconds = 0;
  private processStarted = Date.now();
  /** The update of the last checkpoint written or resumed from (for the divergence message). */
  private lastCheckpointStep: number | null = null;
  private workers: GradientWorkers | null = null;
  private readonly workerCount: number;
  /** Tensors stay on the device (webgpu): gradients and weights are read back with one await per update. */
  private readonly onDevice: boolean;

  constructor(
    private readonly model: TrainableModel,
    private readonly train: readonly EncodedExample[],
    private readonly evaluate: Evaluator | null,
    private readonly options: TrainOptions,
  ) {
    if (train.length === 0) throw new InputError('no training examples');
    // Train only on the backend initBackend reported.
    checkBackendUnchanged();
    if (!(options.batchSize >= 1) || !(options.epochs >= 1)) throw new UsageError('batchSize and epochs must be ≥ 1');
    this.rng = new SeededRandom((options.seed ^ 0x6a09e667) >>> 0);
    this.progress = typeof options.progress === 'object' ? options.progress : createProgress(options.progress ?? 'auto');
    this.log = options.log ?? ((line) => this.progress.message(line));
    this.lengths = train.map((example) => (options.maxLength !== undefined ? Math.min(example.ids.length, options.maxLength) : example.ids.length));
    this.batchSize = Math.min(Math.floor(options.batchSize), train.length);
    this.stepsPerEpoch = Math.ceil(train.length / this.batchSize);
    const planned = this.stepsPerEpoch * options.epochs;
    this.totalSteps = options.maxSteps !== undefined ? Math.min(planned, options.maxSteps) : planned;
    this.microBatchSize = Math.max(1, Math.min(options.microBatchSize ?? Math.ceil(this.batchSize / 2), this.batchSize));
    // On a device backend (webgpu) one process drives the GPU: worker threads over wasm do not apply.
    this.onDevice = !readsAreSynchronous();
    this.workerCount = this.onDevice ? 0 : resolveWorkers(options.workers ?? 'auto', this.totalSteps);
    const shared = this.workerCount > 0;
    const count = model.parameters.count;
    // With workers, the weights, the summed gradient and AdamW's moments are shared: each thread
    // updates its range of the weights (see applyUpdate).
    const memory = (bytes: number) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    this.weights = new Float32Array(memory(4 * count));
    this.gradients = new Float32Array(memory(4 * count));
    this.moments = memory(8 * count);
    this.optimizer = new AdamW(model.parameters, { weightDecay: options.weightDecay ?? 0.01, moments: this.moments });
    this.history = {
      backend: tfBackendName(),
      steps: [],
      epochs: [],
      events: [],
      bestEpoch: null,
      bestScore: null,
      overfitting: null,
      stoppedEarly: false,
      totalSteps: 0,
      seconds: 0,
    };
    if (this.batchSize < options.batchSize) {
      this.event('batch-size', `batch size ${options.batchSize} is larger than the ${train.length} training examples: using ${this.batchSize} (one update per epoch)`);
    }
  }

  private get checkpointPath(): string | null {
    return this.options.checkpointDir ? path.join(this.options.checkpointDir, CHECKPOINT_FILE) : null;
  }

  async run(): Promise<TrainResult> {
    const workerCount = this.workerCount;
    const checkpoint = this.checkpointPath;
    if (checkpoint) {
      // Before any work: a checkpoint directory that cannot be written fails now, not after an epoch.
      prepareCheckpointDirectory(checkpoint, this.log);
    }
    if (this.options.resume && checkpoint) this.restore(checkpoint);
    if (this.onDevice) {
      const asked = this.options.workers ?? 'auto';
      this.log(`gradients: one process on the GPU (${tfBackendName()}); gradient worker threads (--workers ${asked}) are for CPU backends and do not apply`);
    }
    this.weights.set(await this.readWeights());
    this.weightsVersion++;
    if (workerCount > 0) {
      const backend = runningBackend() as BackendChoice;
      // Each worker would open its own CUDA context on the one GPU: workers are for CPU backends.
      if (backend === 'tensorflow-gpu') throw new UsageError('gradient worker threads are for CPU backends; train on the GPU without workers');
      this.workers = await GradientWorkers.start(workerCount, describeModel(this.model, this.options.seed), backend, {
        weights: this.weights,
        summed: this.gradients,
        moments: this.moments as SharedArrayBuffer,
        decayRanges: this.optimizer.decayRanges,
      });
    }
    try {
      return await this.runLoop();
    } finally {
      await this.workers?.close();
      this.workers = null;
    }
  }

  /** The model's weights, flat in parameter order (one read from the device on webgpu). */
  private async readWeights(): Promise<Float32Array> {
    return this.onDevice ? readConcatenated(this.model.parameters.variables) : this.model.parameters.read();
  }

  private elapsedSeconds(): number {
    return this.earlierSeconds + (Date.now() - this.processStarted) / 1000;
  }

  private async runLoop(): Promise<TrainResult> {
    this.processStarted = Date.now();
    // A run that stopped early stays stopped when resumed from its last checkpoint.
    let stopped = this.history.stoppedEarly;
    while (this.epoch < this.options.epochs && !stopped) {
      const plan = planEpoch(this.lengths, { ...this.options, batchSize: this.batchSize }, this.epoch);
      const efficiency = paddingEfficiency(this.lengths, plan);
      const epochStart = Date.now() - this.epochSeconds * 1000;
      for (; this.batchInEpoch < plan.length; ) {
        if (this.optimizer.step >= this.totalSteps) break;
        const record = await this.step(plan[this.batchInEpoch]);
        this.batchInEpoch++;
        await yieldToEventLoop();
        this.progress.update({
          epoch: this.epoch + 1,
          epochs: this.options.epochs,
          batch: this.batchInEpoch,
          batches: plan.length,
          loss: this.epochLossSum / Math.max(1, this.epochUnits),
          learningRate: record.learningRate,
          tokensPerSecond: record.tokensPerSecond,
          elapsed: (Date.now() - epochStart) / 1000,
        });
        const every = this.options.checkpointEverySteps;
        if (every && this.optimizer.step % every === 0 && this.batchInEpoch < plan.length) {
          this.epochSeconds = (Date.now() - epochStart) / 1000;
          this.saveCheckpoint();
        }
      }
      const epochDone = this.batchInEpoch >= plan.length;
      if (!epochDone) {
        // maxSteps reached mid-epoch: checkpoint where we are (a later run may continue), no validation.
        this.epochSeconds = (Date.now() - epochStart) / 1000;
        if (this.lastCheckpointStep !== this.optimizer.step) this.saveCheckpoint();
        stopped = true;
        break;
      }
      this.epochSeconds = (Date.now() - epochStart) / 1000;
      stopped = await this.finishEpoch(efficiency);
      this.epoch++;
      this.batchInEpoch = 0;
      this.epochLossSum = this.epochUnits = this.epochTokens = this.epochPadded = this.epochSeconds = 0;
      this.saveCheckpoint();
      if (this.optimizer.step >= this.totalSteps) stopped = true;
    }
    if (this.bestWeights && this.bestEpoch !== null) {
      this.model.parameters.write(this.bestWeights);
      this.event('best-restored', `restored the weights of epoch ${this.bestEpoch} (validation ${this.bestScore?.toFixed(4)})`);
    }
    this.history.totalSteps = this.optimizer.step;
    this.history.seconds = this.elapsedSeconds();
    this.history.bestEpoch = this.bestEpoch;
    this.history.bestScore = this.bestScore;
    return { history: this.history, epochsRun: this.history.epochs.length, earlierSeconds: this.earlierSeconds };
  }

  /** One optimizer update over the target batch `indices`. */
  private async step(indices: number[]): Promise<StepRecord> {
    const stepStart = performance.now();
    const rngBefore = this.rng.getState();
    for (;;) {
      const longest = Math.max(...indices.map((index) => this.lengths[index]));
      const microSize = Math.max(1, Math.min(this.microBatchSize, Math.floor(MAX_MICRO_BATCH_POSITIONS / longest)));
      const parts = splitIndices(indices, microSize).map((part) => makeBatch(this.train, part, this.options.maxLength));
      const units = parts.reduce((sum, batch) => sum + this.model.lossUnits(batch), 0);
      // One dropout seed per micro-batch, drawn in order: the same masks whichever thread computes it.
      const seeds = parts.map(() => this.rng.nextUint32());
      let lossSum: number;
      let gradNorm: number;
      try {
        for (const batch of parts) this.checkSimulatedMemory(batch);
        ({ loss: lossSum, norm: gradNorm } = await this.computeGradients(parts, seeds, units));
      } catch (error) {
        if (isBackendAbort(error)) {
          throw new OutOfMemoryError(
            `TensorFlow.js's WebAssembly memory (at most 4 GB) ran out on micro-batches of ${microSize} × ${longest} tokens and the backend cannot go on in this process: ` +
              `rerun with a smaller batch_size or max_seq_length${this.lastCheckpointStep !== null ? ` (--resume continues from the checkpoint of update ${this.lastCheckpointStep})` : ''}`,
            { cause: error },
          );
        }
        if (!isAllocationFailure(error)) throw error;
        const from = microSize;
        if (from === 1) {
          const longest = Math.max(...parts.map((batch) => batch.time));
          throw new OutOfMemoryError(
            `out of memory even for one example at a time (up to ${longest} tokens; ${(error as Error).message}): shorten the inputs (max_seq_length) or train a smaller model`,
            { cause: error },
          );
        }
        this.microBatchSize = Math.max(1, Math.floor(from / 2));
        const accumulation = Math.ceil(this.batchSize / this.microBatchSize);
        this.event(
          'micro-batch',
          `allocation failed at micro-batch ${from} (${(error as Error).message}); now ${this.microBatchSize} × ${accumulation} accumulation steps, effective batch still ${this.batchSize}`,
        );
        this.rng.setState(rngBefore);
        continue;
      }
      if (!Number.isFinite(lossSum) || !Number.isFinite(gradNorm)) {
        throw this.diverged(Number.isFinite(lossSum) ? `the gradient norm is ${gradNorm}` : `the loss is ${lossSum}`);
      }
      const clipNorm = this.options.clipNorm ?? 5;
      const scale = clipNorm > 0 && gradNorm > clipNorm ? clipNorm / gradNorm : 1;
      const learningRate = learningRateAt(
        {
          peak: this.options.learningRate,
          warmupSteps: Math.round((this.options.warmupRatio ?? 0.1) * this.totalSteps),
          totalSteps: this.totalSteps,
          decay: this.options.decay ?? 'linear',
        },
        this.optimizer.step,
      );
      if (!(await this.applyUpdate(learningRate, scale))) {
        // The model's tensors still hold the last good weights: keep them for the caller.
        this.weights.set(await this.readWeights());
        throw this.diverged('an update made the weights NaN or ∞');
      }
      this.model.parameters.write(this.weights);
      this.weightsVersion++;
      const realTokens = parts.reduce((sum, batch) => sum + batch.realTokens, 0);
      const paddedTokens = parts.reduce((sum, batch) => sum + batch.size * batch.time, 0);
      const seconds = (performance.now() - stepStart) / 1000;
      this.epochLossSum += lossSum;
      this.epochUnits += units;
      this.epochTokens += realTokens;
      this.epochPadded += paddedTokens;
      const record: StepRecord = {
        step: this.optimizer.step,
        epoch: this.epoch + 1,
        loss: lossSum / units,
        learningRate,
        gradNorm,
        microBatchSize: Math.min(this.microBatchSize, parts[0].size),
        realTokens,
        paddedTokens,
        tokensPerSecond: realTokens / Math.max(seconds, 1e-9),
      };
      this.history.steps.push(record);
      return record;
    }
  }

  /**
   * AdamW on the summed gradient, in place on `this.weights`; false when a weight became NaN or ∞.
   * With workers each thread updates its share of the weights at the same time (this one the first):
   * the update is element by element, so the bits are those of one thread's.
   */
  private async applyUpdate(lr: number, scale: number): Promise<boolean> {
    const workers = this.workers;
    if (!workers) return this.optimizer.apply(this.weights, this.gradients, lr, scale);
    const update = this.optimizer.begin(lr, scale);
    const threads = 1 + workers.size;
    const bound = (thread: number) => Math.round((this.weights.length * thread) / threads);
    const remote = Array.from({ length: workers.size }, (_, w) => workers.update(w, bound(w + 1), bound(w + 2), update));
    // Keep a rejection from being reported as unhandled while this thread works.
    for (const pending of remote) pending.catch(() => undefined);
    let finite: boolean;
    try {
      finite = this.optimizer.applyRange(this.weights, this.gradients, 0, bound(1), update);
    } catch (error) {
      await Promise.allSettled(remote);
      throw error;
    }
    const answers = await Promise.all(remote);
    return finite && answers.every(Boolean);
  }

  /**
   * Sums the gradient of the micro-batches `parts` into `this.gradients`; returns their summed loss
   * and the gradient's global norm. With workers, part i goes to thread i mod threads (0 = this
   * one); each thread sums its parts, then the threads' sums are added in thread order.
   */
  private async computeGradients(parts: Batch[], seeds: number[], units: number): Promise<{ loss: number; norm: number }> {
    if (this.onDevice) {
      this.gradients.fill(0);
      const loss = await accumulateGradientsOnDevice(this.model, parts, seeds, units, this.gradients);
      return { loss, norm: globalNorm(this.gradients) };
    }
    const workers = this.workers;
    const threads = 1 + (workers?.size ?? 0);
    const share = (thread: number) => parts.map((_, i) => i).filter((i) => i % threads === thread);
    const remote = Array.from({ length: threads - 1 }, (_, w) => {
      const mine = share(w + 1);
      if (!workers || mine.length === 0) return null;
      const pending = workers.compute(w, mine.map((i) => parts[i]), mine.map((i) => seeds[i]), units, this.weightsVersion);
      // Keep a rejection from being reported as unhandled while this thread works.
      pending.catch(() => undefined);
      return pending;
    });
    this.gradients.fill(0);
    let loss: number;
    try {
      const own = share(0);
      loss = accumulateGradients(this.model, own.map((i) => parts[i]), own.map((i) => seeds[i]), units, this.gradients);
    } catch (error) {
      await Promise.allSettled(remote);
      throw error;
    }
    let failure: unknown = null;
    const gradients = this.gradients;
    let squares = -1;
    for (let w = 0; w < remote.length; w++) {
      const pending = remote[w];
      if (!pending || !workers) continue;
      try {
        loss += await pending;
        const slot = workers.gradients(w);
        // The main thread waits here while the worker idles: the norm comes in the same pass.
        squares = 0;
        for (let i = 0; i < slot.length; i++) {
          gradients[i] += slot[i];
          // The stored (float32) value, as globalNorm reads it: one thread or two, the same norm.
          const g = gradients[i];
          squares += g * g;
        }
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure) throw isAllocationFailure(failure) ? new AllocationError((failure as Error).message) : failure;
    return { loss, norm: squares >= 0 && remote.filter(Boolean).length === 1 ? Math.sqrt(squares) : globalNorm(gradients) };
  }

  /** The error that stops a diverged run: where, why, what to try, and which checkpoint is kept. */
  private diverged(what: string): TrainingDivergedError {
    const step = this.optimizer.step + 1;
    const rate = this.options.learningRate;
    const suggestion = Math.min(rate / 10, 2e-3);
    const checkpoint = this.checkpointPath;
    const kept =
      checkpoint && this.lastCheckpointStep !== null
        ? `the last good checkpoint (${checkpoint}, update ${this.lastCheckpointStep}) is kept`
        : 'no checkpoint was written';
    return new TrainingDivergedError(
      `training diverged at update ${step} (epoch ${this.epoch + 1}): ${what}. The learning rate ${rate} is probably too large: ` +
        `try a smaller one (e.g. ${Number(suggestion.toPrecision(2))}); ${kept}`,
      step,
    );
  }

  private checkSimulatedMemory(batch: Batch): void {
    const limit = this.options.simulatedMemoryLimit;
    if (limit && batch.size * batch.time > limit.maxPaddedTokens) {
      throw new AllocationError(`simulated out of memory: ${batch.size}×${batch.time} positions > ${limit.maxPaddedTokens}`);
    }
  }

  /** Validation, early stopping and the overfitting signal; true when training should stop. */
  private async finishEpoch(efficiency: number): Promise<boolean> {
    const epochNumber = this.epoch + 1;
    const trainLoss = this.epochLossSum / Math.max(1, this.epochUnits);
    let validation: ValidationResult | undefined;
    try {
      validation = this.evaluate ? await this.evaluate(this.model) : undefined;
    } catch (error) {
      if (error instanceof NonFiniteOutputError) throw this.diverged(`after it the model's validation outputs are NaN or ∞`);
      throw error;
    }
    const memory = tf.memory();
    const record: EpochRecord = {
      epoch: epochNumber,
      trainLoss,
      validation,
      seconds: this.epochSeconds,
      tokensPerSecond: this.epochTokens / Math.max(this.epochSeconds, 1e-9),
      paddingEfficiency: efficiency,
      memory: { numTensors: memory.numTensors, numBytes: memory.numBytes, rssBytes: process.memoryUsage().rss },
    };
    this.history.epochs.push(record);
    let stop = false;
    if (validation) {
      const minDelta = this.options.minDelta ?? 1e-4;
      if (this.bestScore === null || validation.score > this.bestScore + minDelta) {
        this.bestScore = validation.score;
        this.bestEpoch = epochNumber;
        this.bestWeights = this.weights.slice();
        this.epochsWithoutImprovement = 0;
      } else {
        this.epochsWithoutImprovement++;
      }
      this.history.overfitting = updateOverfitting(this.history.overfitting, this.history.epochs, this.bestEpoch);
      const patience = this.options.patience ?? 3;
      if (patience > 0 && this.epochsWithoutImprovement >= patience && epochNumber < this.options.epochs) {
        this.history.stoppedEarly = true;
        this.event('early-stop', `no better validation score for ${patience} epochs; stopping after epoch ${epochNumber} (best: epoch ${this.bestEpoch})`);
        stop = true;
      }
    }
    const figures = validation ? ' ' + Object.entries(validation.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' ') : '';
    this.progress.epochEnd(
      `epoch ${epochNumber}/${this.options.epochs} loss ${trainLoss.toFixed(4)}${figures} ` +
        `${Math.round(record.tokensPerSecond)} tok/s ${formatDuration(record.seconds)}`,
    );
    return stop;
  }

  private event(kind: TrainEvent['kind'], message: string): void {
    this.history.events.push({ step: this.optimizer.step, kind, message });
    if (kind !== 'checkpoint') this.log(message);
  }

  private saveCheckpoint(): void {
    const file = this.checkpointPath;
    if (!file) return;
    this.history.seconds = this.elapsedSeconds();
    const state: CheckpointState<TrainHistory> = {
      format: 'hanlab-checkpoint',
      step: this.optimizer.step,
      epoch: this.epoch,
      batchInEpoch: this.batchInEpoch,
      rng: this.rng.getState(),
      microBatchSize: this.microBatchSize,
      epochLossSum: this.epochLossSum,
      epochUnits: this.epochUnits,
      epochTokens: this.epochTokens,
      epochPadded: this.epochPadded,
      epochSeconds: this.epochSeconds,
      history: this.history,
      bestScore: this.bestScore,
      bestEpoch: this.bestEpoch,
      epochsWithoutImprovement: this.epochsWithoutImprovement,
      options: { epochs: this.options.epochs, batchSize: this.batchSize, learningRate: this.options.learningRate, seed: this.options.seed },
      model: describeModel(this.model, this.options.seed),
    };
    writeCheckpoint(file, state, { weights: this.weights, optimizer: this.optimizer.readState(), best: this.bestWeights });
    this.lastCheckpointStep = this.optimizer.step;
  }

  /** Resumes from the checkpoint at `file` (or the previous one kept beside it), when there is one. */
  private restore(file: string): void {
    const found = readCheckpoint<TrainHistory>(file, (message) => this.event('checkpoint-fallback', message));
    if (!found) return;
    const { state, arrays } = found;
    checkCheckpointSettings(state, found.file, { epochs: this.options.epochs, batchSize: this.batchSize, seed: this.options.seed });
    const weights = arrays.get('weights');
    const optimizerState = arrays.get('optimizer');
    if (!weights || !optimizerState) throw new InputError('checkpoint lacks weights or optimizer state', { file: found.file });
    try {
      this.model.parameters.write(weights, state.model.manifest);
      this.optimizer.writeState(optimizerState, state.step);
    } catch (error) {
      throw new InputError(`checkpoint does not fit this model: ${(error as Error).message}`, { file: found.file, field: 'weights' }, { cause: error });
    }
    this.bestWeights = arrays.get('best') ?? null;
    this.rng.setState(state.rng);
    this.epoch = state.epoch;
    this.batchInEpoch = state.batchInEpoch;
    this.microBatchSize = state.microBatchSize;
    this.epochLossSum = state.epochLossSum;
    this.epochUnits = state.epochUnits;
    this.epochTokens = state.epochTokens;
    this.epochPadded = state.epochPadded;
    this.epochSeconds = state.epochSeconds;
    const events = this.history.events;
    this.history = state.history;
    this.history.backend = tfBackendName();
    // Notices of this process (a clamped batch size) stay in the history.
    for (const event of events) if (!this.history.events.some((e) => e.kind === event.kind && e.message === event.message)) this.history.events.push(event);
    this.earlierSeconds = state.history.seconds ?? 0;
    this.bestScore = state.bestScore;
    this.bestEpoch = state.bestEpoch;
    this.epochsWithoutImprovement = state.epochsWithoutImprovement;
    this.lastCheckpointStep = state.step;
    this.event('resume', `resumed from ${found.file} at update ${state.step} (epoch ${state.epoch + 1}, batch ${state.batchInEpoch})`);
  }
}

/**
 * Overfitting: the validation score has fallen for two epochs in a row below its best while the
 * training loss kept falling (to under 80% of its value at the best epoch).
 */
export function detectOverfitting(epochs: readonly EpochRecord[], bestEpoch: number | null): OverfittingSignal | null {
  if (bestEpoch === null || epochs.length < bestEpoch + 2) return null;
  const best = epochs[bestEpoch - 1];
  const last = epochs[epochs.length - 1];
  const previous = epochs[epochs.length - 2];
  if (!best.validation || !last.validation || !previous.validation) return null;
  const falling = last.validation.score < previous.validation.score && previous.validation.score < best.validation.score + 1e-12 && last.epoch - bestEpoch >= 2;
  const lossDrop = 1 - last.trainLoss / best.trainLoss;
  if (!falling || lossDrop < 0.2) return null;
  const validationDrop = best.validation.score - last.validation.score;
  return {
    epoch: last.epoch,
    bestEpoch,
    trainLossDrop: lossDrop,
    validationDrop,
    message:
      `과적합 신호: ${bestEpoch} 에폭부터 ${last.epoch} 에폭까지 학습 손실은 ${(lossDrop * 100).toFixed(0)}% 더 줄었지만 ` +
      `검증 점수는 ${(validationDrop * 100).toFixed(2)}%p 떨어졌습니다. 조기 종료나 드롭아웃·데이터 증강을 검토하세요.`,
  };
}

/**
 * The overfitting signal after one more epoch. A finding must hold for the state it is printed with:
 * a signal raised earlier is withdrawn when a later epoch beats its best epoch (the validation score
 * recovered), and is kept (its message names the epochs it covers) only while that best still stands.
 */
export function updateOverfitting(previous: OverfittingSignal | null, epochs: readonly EpochRecord[], bestEpoch: number | null): OverfittingSignal | null {
  const now = detectOverfitting(epochs, bestEpoch);
  if (now) return now;
  if (previous && previous.bestEpoch === bestEpoch) return previous;
  return null;
}
