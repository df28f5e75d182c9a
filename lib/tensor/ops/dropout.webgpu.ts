/**
 * The device form of the seeded dropout (dropout.ts): the same mask, drawn on the host from the same
 * seed by `dropoutScales` and uploaded once, multiplied on the GPU; the gradient is the upstream
 * gradient times that mask.
 */
import * as tf from '@tensorflow/tfjs';

/** `scales` (fresh or scratch: copied here) as a float32 tensor of `shape` on the running backend. */
export function uploaded(scales: Float32Array | Int32Array, shape: number[], dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
  // A copy: the webgpu backend keeps the array it is given until its first upload, and scratch
  // arrays are reused.
  return tf.tensor(scales.slice(), shape, dtype);
}

/**
 * `x ⊙ scales` (the mask `dropoutScales` drew) with the gradient `dy ⊙ scales`. The mask is made and
 * saved inside the op: tfjs keeps saved tensors for the gradient and disposes the rest of the forward
 * pass.
 */
export function seededDropoutWebgpu<T extends tf.Tensor>(x: T, scales: Float32Array): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const mask = uploaded(scales, input.shape);
    save([mask]);
    return { value: tf.mul(input, mask), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0])] };
  });
  return op(x) as T;
}
