/**
 * Data-parallel gradients on worker threads. The wasm backend runs single-threaded in Node, so one
 * training process uses one core; with `workers: 1` the trainer computes half of each batch's
 * micro-batches on a worker thread while the main thread computes the other half, then sums the
 * gradients and updates once. Each micro-batch draws dropout from its own seed, so the result does
 * not depend on which thread computed it.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { BackendChoice } from '../backend/index.js';
import type { Batch } from './batching.js';
import type { GradientRequest, GradientResponse, WorkerSetup } from './gradient-worker.js';
import type { describeModel } from './saved-model.js';

export interface GradientResult {
  loss: number;
  gradients: Float32Array;
}

interface Pending {
  resolve: (result: GradientResult) => void;
  reject: (error: Error) => void;
}

class GradientWorker {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (response: GradientResponse) => {
      const waiting = this.pending.get(response.id);
      if (!waiting) return;
      this.pending.delete(response.id);
      if (response.error !== undefined) waiting.reject(new Error(response.error));
      else waiting.resolve({ loss: response.loss as number, gradients: response.gradients as Float32Array });
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`gradient worker exited with code ${code}`)));
  }

  static start(file: string, tsxApi: string, setup: WorkerSetup): Promise<GradientWorker> {
    // The worker is TypeScript: a small CommonJS bootstrap registers tsx's require hook in the worker
    // thread (an `--import tsx` execArgv does not reach worker threads), then loads the worker module.
    const bootstrap = `require(${JSON.stringify(tsxApi)}).register(); require(${JSON.stringify(file)});`;
    const worker = new Worker(bootstrap, { eval: true, workerData: setup });
    const handle = new GradientWorker(worker);
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

  compute(batch: Batch, units: number, dropoutSeed: number, weights: Float32Array | undefined): Promise<GradientResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const request: GradientRequest = { id, batch, units, dropoutSeed, weights };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
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

/** A pool of gradient workers holding copies of one model. */
export class GradientWorkers {
  private constructor(private readonly workers: GradientWorker[]) {}

  static async start(count: number, description: ReturnType<typeof describeModel>, backend: BackendChoice, root: string = process.cwd()): Promise<GradientWorkers> {
    const file = path.join(root, 'lib', 'train', 'gradient-worker.ts');
    const tsxApi = createRequire(path.join(root, 'package.json')).resolve('tsx/cjs/api');
    const workers = await Promise.all(Array.from({ length: count }, () => GradientWorker.start(file, tsxApi, { description, backend })));
    return new GradientWorkers(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Gradient of `batch` on worker `index` with the given weights (sent only when they changed). */
  compute(index: number, batch: Batch, units: number, dropoutSeed: number, weights: Float32Array | undefined): Promise<GradientResult> {
    return this.workers[index].compute(batch, units, dropoutSeed, weights);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
