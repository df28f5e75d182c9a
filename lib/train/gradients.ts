/**
 * The gradient of a model's loss over some micro-batches, summed into one flat Float32Array in
 * parameter order: the unit of work a thread does in one update (the main thread and every gradient
 * worker call this same function, so a micro-batch's gradient does not depend on where it ran).
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from './batching.js';
import { peekValues, readConcatenated, withScratch } from '../tensor/ops/scratch.js';
import { SeededRandom } from '../tensor/rng.js';
import type { TrainableModel } from './saved-model.js';

/**
 * Adds the gradient of `Σ lossSum(part) / units` over `parts` to `into` (which the caller zeroes) and
 * returns the loss summed over the parts (not divided). `seeds[i]` seeds part i's dropout.
 */
export function accumulateGradients(model: TrainableModel, parts: readonly Batch[], seeds: readonly number[], units: number, into: Float32Array): number {
  const variables = model.parameters.variables;
  let loss = 0;
  parts.forEach((batch, index) => {
    // The fused ops' typed arrays live in reused scratch memory until this part's gradient is read.
    loss += withScratch(() => {
      const rng = new SeededRandom(seeds[index]);
      const { value, grads } = tf.variableGrads(() => tf.div(model.lossSum(batch, { training: true, rng }), units) as tf.Scalar, variables);
      try {
        let at = 0;
        for (const variable of variables) {
          // A parameter the loss does not reach (none today) gets no entry: its gradient is zero.
          const grad = grads[variable.name];
          if (grad) {
            // Added straight from the backend's memory: no tfjs call in between, so the view stays valid.
            const values = peekValues(grad);
            for (let i = 0; i < values.length; i++) into[at + i] += values[i];
          }
          at += variable.size;
        }
        return value.dataSync()[0] * units;
      } finally {
        tf.dispose([value, ...Object.values(grads)]);
      }
    });
  });
  return loss;
}

/**
 * `accumulateGradients` where tensors stay on the device (webgpu, which has no synchronous read): each
 * part's gradient is summed on the device, and the parts' losses and the summed gradient come back in
 * one read per update instead of one per parameter and part. The same float32 sums as the host form
 * (which adds each part into `into` in turn, starting from zero), and the loss summed in float64 in the
 * same order.
 */
export async function accumulateGradientsOnDevice(model: TrainableModel, parts: readonly Batch[], seeds: readonly number[], units: number, into: Float32Array): Promise<number> {
  const variables = model.parameters.variables;
  const losses: tf.Scalar[] = [];
  let sums: (tf.Tensor | null)[] = variables.map(() => null);
  try {
    parts.forEach((batch, index) => {
      const rng = new SeededRandom(seeds[index]);
      const { value, grads } = tf.variableGrads(() => tf.div(model.lossSum(batch, { training: true, rng }), units) as tf.Scalar, variables);
      losses.push(value);
      sums = variables.map((variable, i) => {
        const grad = grads[variable.name];
        if (!grad) return sums[i];
        const previous = sums[i];
        if (!previous) return grad;
        const sum = tf.add(previous, grad);
        tf.dispose([previous, grad]);
        return sum;
      });
    });
    // A parameter the loss does not reach gets zeros, as in the host form.
    const gradients = tf.tidy(() => variables.map((variable, i) => sums[i] ?? tf.zerosLike(variable)));
    const values = await readConcatenated([...losses, ...gradients]);
    tf.dispose(gradients);
    const flat = values.subarray(losses.length);
    for (let i = 0; i < flat.length; i++) into[i] += flat[i];
    let loss = 0;
    for (let i = 0; i < losses.length; i++) loss += values[i] * units;
    return loss;
  } finally {
    tf.dispose([...losses, ...sums.filter((sum): sum is tf.Tensor => sum !== null)]);
  }
}

/** Euclidean norm of a flat gradient (in float64). */
export function globalNorm(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return Math.sqrt(sum);
}
