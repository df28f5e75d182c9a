/**
 * Worker-thread side of data-parallel training (see `parallel.ts`): holds a copy of the model, and for
 * each request loads the current weights, computes the gradient of one micro-batch and sends it back
 * as one flat Float32Array. Started by `GradientWorkers`, never imported by the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendChoice } from '../backend/index.js';
import type { Batch } from './batching.js';
import { SeededRandom } from './rng.js';
import { createModel, type describeModel, type TrainableModel } from './saved-model.js';
import { EncoderModel } from './encoder-model.js';
import { Vocabulary } from './vocabulary.js';

export interface GradientRequest {
  id: number;
  /** Current weights (flat, parameter order); omitted when unchanged since the last request. */
  weights?: Float32Array;
  batch: Batch;
  /** Loss normaliser of the whole target batch. */
  units: number;
  /** Seed of this micro-batch's dropout generator. */
  dropoutSeed: number;
}

export interface GradientResponse {
  id: number;
  loss?: number;
  gradients?: Float32Array;
  error?: string;
}

export interface WorkerSetup {
  description: ReturnType<typeof describeModel>;
  backend: BackendChoice;
}

async function start(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('gradient-worker.ts runs only as a worker thread');
  const setup = workerData as WorkerSetup;
  await initBackend({ prefer: setup.backend });
  const { description } = setup;
  const model: TrainableModel =
    description.format === 'hanlab-encoder'
      ? await EncoderModel.fromDescription(description)
      : createModel(description.config, Vocabulary.fromJSON(description.vocabulary), description.classes, description.seed);
  const variables = model.parameters.variables;
  port.on('message', (request: GradientRequest) => {
    try {
      if (request.weights) model.parameters.write(request.weights);
      const rng = new SeededRandom(request.dropoutSeed);
      const { value, grads } = tf.variableGrads(() => tf.div(model.lossSum(request.batch, { training: true, rng }), request.units) as tf.Scalar, variables);
      const loss = value.dataSync()[0] * request.units;
      const total = variables.reduce((sum, v) => sum + v.size, 0);
      const flat = new Float32Array(total);
      let at = 0;
      for (const v of variables) {
        flat.set(grads[v.name].dataSync() as Float32Array, at);
        at += v.size;
      }
      tf.dispose([value, ...Object.values(grads)]);
      const response: GradientResponse = { id: request.id, loss, gradients: flat };
      port.postMessage(response, [flat.buffer]);
    } catch (error) {
      port.postMessage({ id: request.id, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) } satisfies GradientResponse);
    }
  });
  port.postMessage({ id: -1 } satisfies GradientResponse);
}

start().catch((error) => {
  parentPort?.postMessage({ id: -1, error: String(error) } satisfies GradientResponse);
});
