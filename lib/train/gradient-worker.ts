/**
 * Worker-thread side of data-parallel training (see `parallel.ts`): holds a copy of the model; for
 * each gradient request it loads the shared weights if their version changed, sums the gradients of
 * its micro-batches into its shared gradient slot and answers with their loss; for each update request
 * it applies AdamW to its range of the shared weights, from the main thread's summed gradient and the
 * shared moments. Started by `GradientWorkers`, never imported by the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { GemmChoice } from '../tensor/blas.js';
import { initBackend, type BackendChoice } from '../backend/index.js';
import type { Batch } from './batching.js';
import { EncoderModel } from './encoder-model.js';
import { accumulateGradients } from './gradients.js';
import { AdamW, type AdamWUpdate, type DecayRange } from './optimizer.js';
import { createModel, type describeModel, type TrainableModel } from './saved-model.js';
import { Vocabulary } from './vocabulary.js';

export interface GradientRequest {
  id: number;
  parts: Batch[];
  /** Dropout seed of each part. */
  seeds: number[];
  /** Loss normaliser of the whole target batch. */
  units: number;
  /** Version of the shared weights this update must use. */
  weightsVersion: number;
}

/** Apply the update the main thread began to weights `[from, to)`. */
export interface UpdateRequest {
  id: number;
  kind: 'update';
  from: number;
  to: number;
  update: AdamWUpdate;
}

export interface GradientResponse {
  id: number;
  loss?: number;
  /** An update request's answer: whether every weight it updated is finite. */
  finite?: boolean;
  error?: string;
}

export interface WorkerSetup {
  description: ReturnType<typeof describeModel>;
  backend: BackendChoice;
  /** Project root the main thread's backend was set up from (the wasm binaries, the OpenBLAS addon). */
  root: string;
  /** What runs the main thread's wasm matrix products; the worker must use the same, or its half of a batch would round differently. */
  products?: GemmChoice['products'];
  /** The current weights, flat in parameter order, written by the main thread. */
  weights: SharedArrayBuffer;
  /** This worker's gradient slot, as long as the weights. */
  gradients: SharedArrayBuffer;
  /** The main thread's summed gradient, which update requests read. */
  summed: SharedArrayBuffer;
  /** AdamW's moments (first, then second) and the main thread's decay ranges, which update requests use. */
  moments: SharedArrayBuffer;
  decayRanges: readonly DecayRange[];
}

async function start(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('gradient-worker.ts runs only as a worker thread');
  const setup = workerData as WorkerSetup;
  const device = await initBackend({ prefer: setup.backend, root: setup.root });
  const products = device.wasm?.gemm.products;
  if (products !== setup.products) {
    throw new Error(`the gradient worker's matrix products run on ${products ?? 'no wasm backend'}, the main thread's on ${setup.products ?? 'no wasm backend'}`);
  }
  const { description } = setup;
  const model: TrainableModel =
    description.format === 'hanlab-encoder'
      ? await EncoderModel.fromDescription(description)
      : createModel(description.config, Vocabulary.fromJSON(description.vocabulary), description.classes, description.seed);
  const weights = new Float32Array(setup.weights);
  const gradients = new Float32Array(setup.gradients);
  const summed = new Float32Array(setup.summed);
  const optimizer = new AdamW(model.parameters, { moments: setup.moments, decayRanges: setup.decayRanges });
  let loadedVersion = -1;
  port.on('message', (request: GradientRequest | UpdateRequest) => {
    try {
      if ('kind' in request) {
        const finite = optimizer.applyRange(weights, summed, request.from, request.to, request.update);
        port.postMessage({ id: request.id, finite } satisfies GradientResponse);
        return;
      }
      if (request.weightsVersion !== loadedVersion) {
        model.parameters.write(weights);
        loadedVersion = request.weightsVersion;
      }
      gradients.fill(0);
      const loss = accumulateGradients(model, request.parts, request.seeds, request.units, gradients);
      port.postMessage({ id: request.id, loss } satisfies GradientResponse);
    } catch (error) {
      port.postMessage({ id: request.id, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) } satisfies GradientResponse);
    }
  });
  port.postMessage({ id: -1 } satisfies GradientResponse);
}

start().catch((error) => {
  parentPort?.postMessage({ id: -1, error: String(error) } satisfies GradientResponse);
});
