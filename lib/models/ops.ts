/**
 * The tensor operations the encoders share: layer norm, activations, scaled dot-product attention,
 * and the relative shift DeBERTa's disentangled attention needs. Dense layers and embedding lookups
 * come from lib/train/ops (fast-path matMul gradients; a scatter-add gradient for row gathers).
 */
import * as tf from '@tensorflow/tfjs';

/** `LayerNorm` over the last axis with biased variance, as torch.nn.LayerNorm. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normalized, gamma), beta);
  });
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

/** `a [N, m, k] · b [N, k, n]` → `[N, m, n]`. */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return tf.matMul(a, b);
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
