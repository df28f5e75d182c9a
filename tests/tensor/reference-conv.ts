/**
 * The reference the fused `convBlock` op is checked against: a 'same'-padded dilated 1-D convolution
 * built from shifted slices and one matMul, differentiated by tfjs's autodiff (the layer the trainer
 * used before the fused op; tfjs's own conv1d has no gradient for dilation > 1).
 */
import * as tf from '@tensorflow/tfjs';
import { matMul } from '../../lib/tensor/ops/mat-mul.js';

/**
 * `x [B, T, C]`, `kernel [width·C, O]` (rows ordered tap-major: tap 0's C channels first), `bias [O]`
 * → `[B, T, O]`. `width` must be odd so the output is centred on each position.
 */
export function dilatedConv1d(x: tf.Tensor3D, kernel: tf.Tensor2D, bias: tf.Tensor1D, width: number, dilation: number): tf.Tensor3D {
  if (width % 2 !== 1) throw new Error(`dilatedConv1d: width must be odd, got ${width}`);
  const [batch, time, channels] = x.shape;
  if (kernel.shape[0] !== width * channels) {
    throw new Error(`dilatedConv1d: kernel has ${kernel.shape[0]} rows, expected width·channels = ${width * channels}`);
  }
  const half = ((width - 1) / 2) * dilation;
  const padded = half > 0 ? tf.pad(x, [[0, 0], [half, half], [0, 0]]) : x;
  const taps: tf.Tensor3D[] = [];
  for (let tap = 0; tap < width; tap++) taps.push(tf.slice(padded, [0, tap * dilation, 0], [batch, time, channels]));
  const windows = width === 1 ? taps[0] : tf.concat(taps, 2);
  const flat = tf.reshape(windows, [batch * time, width * channels]) as tf.Tensor2D;
  const out = tf.add(matMul(flat, kernel), bias);
  return tf.reshape(out, [batch, time, kernel.shape[1]]) as tf.Tensor3D;
}
