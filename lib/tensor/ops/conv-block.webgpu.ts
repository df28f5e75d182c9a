/**
 * The device form of `convBlock` (conv-block.ts): the same layer as a graph of tfjs ops with WebGPU
 * kernels, its gradient from tfjs's tape. The windows matrix is a gather of the input rows (im2col:
 * one index per real position and tap, a zero row where a tap falls outside its sentence), one
 * matrix product, bias, ReLU, the residual, the dropout scales, and a second gather that puts the
 * real rows back into the padded `[B, T, O]` layout (zeros at padding). The gathers' gradients are
 * segment sums (col2im), so nothing is read back to the host.
 */
import * as tf from '@tensorflow/tfjs';
import { uploaded } from './dropout.webgpu.js';
import type { ConvBlockOptions, SequenceShape } from './op-types.js';

/** Host-side indices of the gathers: which input row each window slot reads, where each output row goes. */
interface WindowIndices {
  rows: number;
  /** `[rows · width]` flat input positions, or B·T (the appended zero row) outside the sentence. */
  sources: Int32Array;
  /** `[rows]` flat position of each real row (for the residual). */
  positions: Int32Array;
  /** `[B · T]` row of each flat position, or `rows` (the appended zero row) at padding. */
  placement: Int32Array;
}

function windowIndices({ size, time, lengths }: SequenceShape, width: number, dilation: number): WindowIndices {
  const half = ((width - 1) / 2) * dilation;
  const zeroInput = size * time;
  const clipped = lengths.map((length) => Math.max(0, Math.min(length, time)));
  const rows = clipped.reduce((sum, length) => sum + length, 0);
  const sources = new Int32Array(rows * width).fill(zeroInput);
  const positions = new Int32Array(rows);
  const placement = new Int32Array(size * time).fill(rows);
  let r = 0;
  clipped.forEach((length, b) => {
    for (let t = 0; t < length; t++, r++) {
      positions[r] = b * time + t;
      placement[b * time + t] = r;
      for (let tap = 0; tap < width; tap++) {
        const s = t - half + tap * dilation;
        if (s >= 0 && s < length) sources[r * width + tap] = b * time + s;
      }
    }
  });
  return { rows, sources, positions, placement };
}

/** The layer on the running (WebGPU) backend; `scales` are the dropout scales of the `[rows, O]` real rows, or null. */
export function convBlockWebgpu(x: tf.Tensor3D, shape: SequenceShape, kernel: tf.Tensor2D, bias: tf.Tensor1D, options: ConvBlockOptions, scales: Float32Array | null): tf.Tensor3D {
  const { width, dilation, residual } = options;
  const { size, time } = shape;
  const channels = x.shape[2];
  const outChannels = kernel.shape[1];
  const { rows, sources, positions, placement } = windowIndices(shape, width, dilation);
  return tf.tidy(() => {
    const flat = tf.reshape(x, [size * time, channels]) as tf.Tensor2D;
    const withZero = tf.concat([flat, tf.zeros([1, channels])]);
    const windows = tf.reshape(tf.gather(withZero, uploaded(sources, [rows * width], 'int32')), [rows, width * channels]) as tf.Tensor2D;
    let y: tf.Tensor = tf.relu(tf.add(tf.matMul(windows, kernel), bias));
    if (residual) y = tf.add(y, tf.gather(flat, uploaded(positions, [rows], 'int32')));
    if (scales) y = tf.mul(y, uploaded(scales, [rows, outChannels]));
    const placed = tf.gather(tf.concat([y, tf.zeros([1, outChannels])]), uploaded(placement, [size * time], 'int32'));
    return tf.reshape(placed, [size, time, outChannels]) as tf.Tensor3D;
  });
}
