/**
 * The tensor operations the encoders share: layer norm, activations, scaled dot-product attention,
 * and the relative shift DeBERTa's disentangled attention needs. Dense layers and embedding lookups
 * come from lib/tensor/ops (fast-path matMul gradients; a scatter-add gradient for row gathers).
 */
import * as tf from '@tensorflow/tfjs';
import { dense, matMulWithTransposes } from '../tensor/ops/mat-mul.js';

// The batched product is a tensor-floor op (one implementation per backend); the encoders import it from here.
export { batchMatMul } from '../tensor/ops/batch-mat-mul.js';

/**
 * Column sums of `m [rows, n]` as `[n]`, by a product with a row of ones: on the wasm backend a sum
 * over the first axis transposes the whole matrix first (the bias gradients' main cost), a matMul
 * does not.
 */
export function columnSums(m: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(tf.matMul(tf.ones([1, m.shape[0]]), m), [m.shape[1]]) as tf.Tensor1D;
}

/** `x [M, in] · kernel [in, out] + bias`, one op with transposed-operand gradients and matMul column sums. */
const linearWithBias = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, kernel, bias, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, kernel]);
  return {
    value: tf.add(tf.matMul(x, kernel), bias) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [input, weights] = saved as tf.Tensor2D[];
      const grad = dy as tf.Tensor2D;
      return [matMulWithTransposes(grad, weights, false, true), matMulWithTransposes(input, grad, true, false), columnSums(grad)];
    },
  };
});

/** `x [..., in] · kernel [in, out] (+ bias)` over the last axis, any leading shape. */
export function linear(x: tf.Tensor, kernel: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor {
  if (!bias) return dense(x, kernel);
  const lead = x.shape.slice(0, -1);
  const y = linearWithBias(tf.reshape(x, [-1, kernel.shape[0]]), kernel, bias);
  return tf.reshape(y, [...lead, kernel.shape[1]]);
}

/**
 * `LayerNorm` over the last axis with biased variance, as torch.nn.LayerNorm, as one op whose
 * gradient is written out (x̂ = (x − μ)·r, dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))): fewer kernels than
 * differentiating the moments, and the γ/β gradients as matMul column sums.
 */
const layerNormOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, gamma, beta, epsilon, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Scalar, tf.GradSaveFunc];
  const { mean, variance } = tf.moments(x, -1, true);
  const rstd = tf.rsqrt(tf.add(variance, epsilon));
  const normalized = tf.mul(tf.sub(x, mean), rstd);
  save([normalized, rstd, gamma]);
  return {
    value: tf.add(tf.mul(normalized, gamma), beta) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xHat, r, g] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
      const grad = dy as tf.Tensor2D;
      const dxHat = tf.mul(grad, g);
      const dx = tf.mul(r, tf.sub(tf.sub(dxHat, tf.mean(dxHat, -1, true)), tf.mul(xHat, tf.mean(tf.mul(dxHat, xHat), -1, true))));
      return [dx, columnSums(tf.mul(grad, xHat) as tf.Tensor2D), columnSums(grad), tf.zerosLike(epsilon)];
    },
  };
});

/** `LayerNorm` over the last axis of `x` (any leading shape). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const size = gamma.shape[0];
  const y = layerNormOp(tf.reshape(x, [-1, size]), gamma, beta, tf.scalar(eps));
  return tf.reshape(y, x.shape);
}

const SQRT_HALF = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** transformers' ACT2FN: `gelu` is the exact erf form; `gelu_new` the tanh approximation. */
export function activation(name: string, x: tf.Tensor): tf.Tensor {
  switch (name) {
    case 'gelu':
      return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, SQRT_HALF)))));
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI)))));
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    default:
      throw new Error(`unsupported activation ${name}`);
  }
}

/** `[B·L, H·d]` → `[B, H, L, d]` (one sequence's heads side by side). */
export function splitHeads(x: tf.Tensor, batch: number, length: number, heads: number): tf.Tensor4D {
  const size = x.shape[x.shape.length - 1] / heads;
  return tf.transpose(tf.reshape(x, [batch, length, heads, size]), [0, 2, 1, 3]);
}

/** `[B, H, L, d]` → `[B·L, H·d]`. */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor2D {
  const [batch, heads, length, size] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [batch * length, heads * size]);
}

/**
 * Relative shift: `x [N, L, 2L−1]` whose column k holds relative distance L−1−k becomes
 * `out [N, L, L]` with `out[n, i, j] = x[n, i, L−1−i+j]` (distance i − j). Done with one flat slice
 * and reshape (each row starts one column earlier than the last), so its gradient is a pad.
 */
export function relativeShift(x: tf.Tensor3D): tf.Tensor3D {
  const [n, length, width] = x.shape;
  if (width !== 2 * length - 1) throw new Error(`relativeShift: expected width ${2 * length - 1}, got ${width}`);
  if (length === 1) return x;
  const flat = tf.reshape(x, [n, length * width]);
  const stride = 2 * length - 2;
  const window = tf.slice(flat, [0, length - 1], [n, length * stride]);
  return tf.slice(tf.reshape(window, [n, length, stride]), [0, 0, 0], [n, length, length]) as tf.Tensor3D;
}
