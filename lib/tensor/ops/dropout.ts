/**
 * Dropout masks from the trainer's own seeded generator, as typed arrays the fused ops multiply by.
 *
 * Why not tf.dropout: it draws its mask with tf.randomUniform, which fills the tensor element by
 * element in JavaScript through seedrandom's Alea (measured: the largest share of the time a conv+CRF
 * step spent outside kernels). Here one 32-bit draw of xoshiro128** decides two elements (16 bits
 * each, so the rate is exact to 1/65536), and the same seed gives the same mask on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../rng.js';
import { floats, readValues, tensorOf } from './scratch.js';
import { formFor } from './op-form.js';
import { seededDropoutWebgpu } from './dropout.webgpu.js';

/** Per element: 0 (dropped) or 1 / (1 − rate) (kept), `count` elements drawn from `seed`. */
export function dropoutScales(count: number, rate: number, seed: number): Float32Array {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate must be in [0, 1), got ${rate}`);
  const scales = floats(count);
  const keep = 1 / (1 - rate);
  const threshold = Math.round(rate * 65536);
  const rng = new SeededRandom(seed);
  // Branch-free: a kept/dropped branch per element is a coin flip the CPU mispredicts half the time.
  const pairs = count >> 1;
  for (let p = 0; p < pairs; p++) {
    const bits = rng.nextUint32();
    scales[2 * p] = keep * (Number((bits & 0xffff) >= threshold) | 0);
    scales[2 * p + 1] = keep * (Number(bits >>> 16 >= threshold) | 0);
  }
  if (count & 1) scales[count - 1] = keep * (Number((rng.nextUint32() & 0xffff) >= threshold) | 0);
  return scales;
}

/** `x` times a dropout mask drawn from `seed` (its gradient: the upstream gradient times the same mask). */
export function seededDropout<T extends tf.Tensor>(x: T, rate: number, seed: number): T {
  if (rate <= 0) return x;
  const scales = dropoutScales(x.size, rate, seed);
  if (formFor('seededDropout', { x }) === 'webgpu') return seededDropoutWebgpu(x, scales);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const values = readValues(input);
    const out = floats(values.length);
    for (let i = 0; i < out.length; i++) out[i] = values[i] * scales[i];
    return {
      value: tensorOf(out, input.shape),
      gradFunc: (dy: tf.Tensor) => {
        const upstream = readValues(dy);
        const grad = floats(upstream.length);
        for (let i = 0; i < grad.length; i++) grad[i] = upstream[i] * scales[i];
        return [tensorOf(grad, input.shape)];
      },
    };
  });
  return op(x) as T;
}
