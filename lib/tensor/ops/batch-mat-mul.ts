/**
 * The batched matrix product of attention, `a [N, m, k] · b [N, k, n]`, with one implementation per
 * backend: where XNNPACK runs the wasm backend's products, through its depthwise-convolution path (its
 * own batched matMul has no fast path); everywhere else (OpenBLAS, tfjs-node, the JavaScript backend)
 * tfjs's batched matMul.
 */
import * as tf from '@tensorflow/tfjs';
import { productsRunOnXnnpack } from '../blas.js';

/**
 * `a [N, m, k] · b [N, k, n]` → `[N, m, n]` by a depthwise convolution: with the batch as channels, a
 * `1 × k` filter per channel and a depth multiplier of n, XNNPACK's grouped GEMM computes each channel's
 * product. The wasm backend's own batched matMul has no fast path (measured 2.1 vs 8.6 GFLOP/s for
 * attention's [32, 128, 64] · [32, 64, 128], layout transposes included).
 */
function depthwiseBatchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [n, m, k] = a.shape;
  const cols = b.shape[2];
  return tf.tidy(() => {
    const x = tf.reshape(tf.transpose(a, [1, 2, 0]), [1, m, k, n]) as tf.Tensor4D;
    const filter = tf.reshape(tf.transpose(b, [1, 0, 2]), [1, k, n, cols]) as tf.Tensor4D;
    const out = tf.depthwiseConv2d(x, filter, 1, 'valid');
    return tf.transpose(tf.reshape(out, [m, n, cols]), [1, 0, 2]) as tf.Tensor3D;
  });
}

const fastBatchMatMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: depthwiseBatchMatMul(a, b) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedA, savedB] = saved as tf.Tensor3D[];
      const grad = dy as tf.Tensor3D;
      return [depthwiseBatchMatMul(grad, tf.transpose(savedB, [0, 2, 1])), depthwiseBatchMatMul(tf.transpose(savedA, [0, 2, 1]), grad)];
    },
  };
});

/** `a [N, m, k] · b [N, k, n]` → `[N, m, n]` (with XNNPACK's products, through the depthwise-convolution path). */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return productsRunOnXnnpack() ? (fastBatchMatMul(a, b) as tf.Tensor3D) : tf.matMul(a, b);
}
