/**
 * 2-D matMul whose gradients transpose explicitly. tfjs-core's own gradient calls matMul with
 * transposeA/transposeB, which on the wasm backend misses XNNPACK's fast path (measured 2 vs 20–32
 * GFLOP/s); an explicit transpose followed by a plain matMul keeps every product on the fast path.
 */
import * as tf from '@tensorflow/tfjs';

const matMulExplicitGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const grad = dy as tf.Tensor2D;
      const [savedA, savedB] = saved as tf.Tensor2D[];
      return [tf.matMul(grad, tf.transpose(savedB)), tf.matMul(tf.transpose(savedA), grad)];
    },
  };
});

/** `a [m, k] · b [k, n]` with fast-path gradients. */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMulExplicitGrad(a, b) as tf.Tensor2D;
}

/** `x [..., k] · w [k, n] + bias [n]` over the last axis, any leading shape. */
export function dense(x: tf.Tensor, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor {
  const inner = x.shape[x.shape.length - 1];
  const lead = x.shape.slice(0, -1);
  const flat = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inner]) as tf.Tensor2D;
  let y: tf.Tensor = matMul(flat, w);
  if (bias) y = tf.add(y, bias);
  return x.rank === 2 ? y : tf.reshape(y, [...lead, w.shape[1]]);
}
