/**
 * Matrix products with transposed operands, and a 2-D matMul whose gradients use them.
 *
 * On the wasm backend with its own XNNPACK products, matMul with transposeA/transposeB misses the fast
 * path (measured 2 vs 20–32 GFLOP/s): an explicit transpose followed by a plain matMul is faster.
 * OpenBLAS (lib/tensor/blas.ts), tfjs-node and the plain JavaScript backend read a transposed operand
 * in place, so there the flags go straight to matMul and no transposed copy is made.
 */
import * as tf from '@tensorflow/tfjs';
import { productsRunOnXnnpack } from '../blas.js';

/** `op(a) · op(b)` for 2-D tensors, op = transpose where asked. */
export function matMulWithTransposes(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
  if (!productsRunOnXnnpack() || (!transposeA && !transposeB)) return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b));
}

const matMulExplicitGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const grad = dy as tf.Tensor2D;
      const [savedA, savedB] = saved as tf.Tensor2D[];
      return [matMulWithTransposes(grad, savedB, false, true), matMulWithTransposes(savedA, grad, true, false)];
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
