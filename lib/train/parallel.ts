/**
 * Data-parallel gradients on worker threads. The wasm backend runs single-threaded in Node, so one
 * training process uses one core; with `workers: 1` the trainer computes part of each update's
 * micro-batches on a worker thread while the main thread computes the rest, then sums the gradients
 * and updates once. Each micro-batch draws dropout from its own seed, so the result does not depend on
 * which thread computed it.
 *
 * The exchange is shared memory, not messages: the weights live in one SharedArrayBuffer that the main
 * thread updates and every worker reads when its version changed, and each worker writes its summed
 * gradient into its own shared slot, so an update moves no weight or gradient through postMessage.
 * Messages carry only the batches and a "done" with the loss. The update is split too: the main
 * thread sums the gradients, then each thread applies AdamW to its range of the shared weights (the
 * moments and the summed gradient are shared as well), element by element, so the bits are those of
 * one thread's update. (The wasm backend's own pthread build
 * cannot help here: under Node it starts only with patches to tfjs, and then its matrix products ran
 * at 13 GFLOP/s on two threads against 30 on one.)
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import path from 'node:path';
import { currentDevice, type BackendChoice } from '../backend/index.js';
import type { Batch } from './batching.js';
import type { GradientRequest, GradientResponse, UpdateRequest, WorkerSetup } from './gradient-worker.js';
import type { AdamWUpdate, DecayRange } from './optimizer.js';
import type { describeModel } from './saved-model.js';

interface Pending {
  resolve: (response: GradientResponse) => void;
  reject: (error: Error) => void;
}

class GradientWorker {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    /** This worker's gradient slot (shared). */
    readonly gradients: Float32Array,
  ) {
    worker.on('message', (response: GradientResponse) => {
      const waiting = this.pending.get(response.id);
      if (!waiting) return;
      this.pending.delete(response.id);
      if (response.error !== undefined) waiting.reject(new Error(response.error));
      else waiting.resolve(response);
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`gradient worker exited with code ${code}`)));
  }

  static start(file: string, tsxApi: string, setup: WorkerSetup): Promise<GradientWorker> {
    // The worker is TypeScript: a small CommonJS bootstrap registers tsx's require hook in the worker
    // thread (an `--import tsx` execArgv does not reach worker threads), then loads the worker module.
    const bootstrap = `require(${JSON.stringify(tsxApi)}).register(); require(${JSON.stringify(file)});`;
    const worker = newWorker(bootstrap, setup);
    const handle = new GradientWorker(worker, new Float32Array(setup.gradients));
    return new Promise((resolve, reject) => {
      handle.pending.set(-1, {
        resolve: () => resolve(handle),
        reject: (error) => {
          void worker.terminate();
          reject(error);
        },
      });
    });
  }

  compute(parts: Batch[], seeds: number[], units: number, weightsVersion: number): Promise<number> {
    return this.send({ id: this.nextId++, parts, seeds, units, weightsVersion }).then((response) => response.loss as number);
  }

  update(from: number, to: number, update: AdamWUpdate): Promise<boolean> {
    return this.send({ id: this.nextId++, kind: 'update', from, to, update }).then((response) => response.finite === true);
  }

  private send(request: GradientRequest | UpdateRequest): Promise<GradientResponse> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject });
      this.worker.postMessage(request);
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.failure ??= new Error('gradient worker closed');
    await this.worker.terminate();
  }
}

/** A pool of gradient workers holding copies of one model, reading the weights from `weights`. */
export class GradientWorkers {
  private constructor(private readonly workers: GradientWorker[]) {}

  /**
   * Starts `count` workers. `shared.weights` must be backed by a SharedArrayBuffer: the trainer writes
   * the current weights there and passes a new `weightsVersion` to `compute` whenever they changed.
   * `shared.summed` (the summed gradient) and `shared.moments` (AdamW's, with its `decayRanges`) are
   * what `update` reads and writes.
   */
  static async start(
    count: number,
    description: ReturnType<typeof describeModel>,
    backend: BackendChoice,
    shared: { weights: Float32Array; summed: Float32Array; moments: SharedArrayBuffer; decayRanges: readonly DecayRange[] },
    root: string = process.cwd(),
  ): Promise<GradientWorkers> {
    const { weights, summed } = shared;
    if (!(weights.buffer instanceof SharedArrayBuffer) || !(summed.buffer instanceof SharedArrayBuffer)) {
      throw new Error('GradientWorkers: the weights and the summed gradient must live in SharedArrayBuffers');
    }
    const file = path.join(root, 'lib', 'train', 'gradient-worker.ts');
    const tsxApi = createRequire(path.join(root, 'package.json')).resolve('tsx/cjs/api');
    const workers = await Promise.all(
      Array.from({ length: count }, () =>
        GradientWorker.start(file, tsxApi, {
          description,
          backend,
          root,
          products: currentDevice()?.wasm?.gemm.products,
          weights: weights.buffer as SharedArrayBuffer,
          gradients: new SharedArrayBuffer(weights.byteLength),
          summed: summed.buffer as SharedArrayBuffer,
          moments: shared.moments,
          decayRanges: shared.decayRanges,
        }),
      ),
    );
    return new GradientWorkers(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Worker `index` sums the gradients of `parts` into its slot (`gradients(index)`); resolves to their
   * summed loss once the slot is complete.
   */
  compute(index: number, parts: Batch[], seeds: number[], units: number, weightsVersion: number): Promise<number> {
    return this.workers[index].compute(parts, seeds, units, weightsVersion);
  }

  /**
   * Worker `index` applies the update the main thread began (`AdamW.begin`) to weights `[from, to)`;
   * resolves to whether they are all finite.
   */
  update(index: number, from: number, to: number, update: AdamWUpdate): Promise<boolean> {
    return this.workers[index].update(from, to, update);
  }

  /** Worker `index`'s gradient slot; read it only after its `compute` resolved. */
  gradients(index: number): Float32Array {
    return this.workers[index].gradients;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}

/**
 * A worker thread with the process's own flags, less those a thread cannot take: Node refuses flags
 * that apply to a whole process (`--single-threaded-gc`, for one) with ERR_WORKER_INVALID_EXEC_ARGV,
 * naming them; the worker runs without those. Not --input-type=module from a parent run with `-e`:
 * the bootstrap is CommonJS.
 */
function newWorker(bootstrap: string, setup: WorkerSetup): Worker {
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--input-type'));
  try {
    return new Worker(bootstrap, { eval: true, workerData: setup, execArgv });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    const named = /flags: (.+)$/.exec((error as Error).message)?.[1].split(/,\s*/);
    // Where Node's message does not name them, the worker takes none of the process's flags.
    const refused = new Set(named ?? execArgv);
    return new Worker(bootstrap, { eval: true, workerData: setup, execArgv: execArgv.filter((arg) => !refused.has(arg)) });
  }
}
