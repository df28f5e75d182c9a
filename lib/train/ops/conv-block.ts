/**
 * One layer of the dilated-convolution encoder as one op with its own gradient:
 * `dropout(mask ⊙ (ReLU(conv(x) + bias) [+ x]))`, a 'same'-padded dilated 1-D convolution over each
 * sentence, an optional residual, zeros at padding, and a seeded dropout mask.
 *
 * Why hand-written: built from tfjs ops this layer was pad + per-tap slices + concat + matMul + bias +
 * ReLU + residual + mask + dropout, and twice as many kernels backward (the concat's gradient, a
 * SplitV, and the slices' pads alone cost more than the layer's products' share of overhead; tfjs's
 * own conv1d has no gradient for dilation > 1). Here tfjs does the matrix products on XNNPACK and
 * everything else is a typed-array loop: the windows matrix `[N, width·C]` is built directly (im2col)
 * over the N real tokens only, so padding costs nothing, and the gradient scatters back (col2im).
 * The windows of a sentence never read across its own ends, so its result does not depend on the
 * batch it is in.
 */
import * as tf from '@tensorflow/tfjs';
import { dropoutScales } from './dropout.js';
import type { SequenceShape } from './embedding-lookup.js';

export interface ConvBlockOptions {
  /** Taps of the kernel (odd). */
  width: number;
  dilation: number;
  /** Add the input to the activation (needs as many output channels as input channels). */
  residual: boolean;
  dropout?: { rate: number; seed: number };
}

/**
 * `x [B, T, C]` (zero at padding), `kernel [width·C, O]` (rows tap-major: tap 0's C channels
 * first), `bias [O]` → `[B, T, O]`, zero at padding.
 */
export function convBlock(x: tf.Tensor3D, shape: SequenceShape, kernel: tf.Tensor2D, bias: tf.Tensor1D, options: ConvBlockOptions): tf.Tensor3D {
  const { width, dilation, residual } = options;
  const { size, time, lengths } = shape;
  const channels = x.shape[2];
  const outChannels = kernel.shape[1];
  if (width % 2 !== 1) throw new Error(`convBlock: width must be odd, got ${width}`);
  if (kernel.shape[0] !== width * channels) throw new Error(`convBlock: kernel has ${kernel.shape[0]} rows, expected width·channels = ${width * channels}`);
  if (residual && outChannels !== channels) throw new Error(`convBlock: a residual needs ${channels} output channels, the kernel has ${outChannels}`);
  const half = ((width - 1) / 2) * dilation;
  const windowWidth = width * channels;
  // Real positions, packed: row r of the windows matrix is position positions[r] of the flat [B·T] layout.
  const positions: number[] = [];
  const rowLength: number[] = [];
  for (let b = 0; b < size; b++) {
    const length = Math.min(lengths[b], time);
    for (let t = 0; t < length; t++) {
      positions.push(b * time + t);
      rowLength.push(length);
    }
  }
  const rows = positions.length;
  const scales = options.dropout && options.dropout.rate > 0 ? dropoutScales(rows * outChannels, options.dropout.rate, options.dropout.seed) : null;

  /** Calls `visit(row, tap, source)` for each tap of each row that falls inside its sentence. */
  const forEachTap = (visit: (row: number, tap: number, source: number) => void) => {
    for (let r = 0; r < rows; r++) {
      const flat = positions[r];
      const t = flat % time;
      const start = flat - t;
      for (let tap = 0; tap < width; tap++) {
        const s = t - half + tap * dilation;
        if (s >= 0 && s < rowLength[r]) visit(r, tap, start + s);
      }
    }
  };

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, weights, offsets, save] = args as [tf.Tensor3D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([weights]);
    const inputValues = input.dataSync() as Float32Array;
    const biasValues = offsets.dataSync() as Float32Array;
    const windows = new Float32Array(rows * windowWidth);
    forEachTap((r, tap, source) => windows.set(inputValues.subarray(source * channels, (source + 1) * channels), r * windowWidth + tap * channels));
    const product = tf.tidy(() => tf.matMul(tf.tensor2d(windows, [rows, windowWidth]), weights));
    const preActivation = product.dataSync() as Float32Array;
    product.dispose();
    const active = new Uint8Array(rows * outChannels);
    const out = new Float32Array(size * time * outChannels);
    for (let r = 0; r < rows; r++) {
      const at = positions[r] * outChannels;
      for (let o = 0; o < outChannels; o++) {
        const i = r * outChannels + o;
        const z = preActivation[i] + biasValues[o];
        let y = 0;
        if (z > 0) {
          y = z;
          active[i] = 1;
        }
        if (residual) y += inputValues[positions[r] * channels + o];
        out[at + o] = scales ? y * scales[i] : y;
      }
    }
    return {
      value: tf.tensor3d(out, [size, time, outChannels]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedWeights] = saved as tf.Tensor2D[];
        const upstream = dy.dataSync() as Float32Array;
        const dInput = new Float32Array(size * time * channels);
        const dPre = new Float32Array(rows * outChannels);
        const dBias = new Float32Array(outChannels);
        for (let r = 0; r < rows; r++) {
          const at = positions[r] * outChannels;
          for (let o = 0; o < outChannels; o++) {
            const i = r * outChannels + o;
            const g = scales ? upstream[at + o] * scales[i] : upstream[at + o];
            if (residual) dInput[positions[r] * channels + o] += g;
            if (active[i]) {
              dPre[i] = g;
              dBias[o] += g;
            }
          }
        }
        const dPreTensor = tf.tensor2d(dPre, [rows, outChannels]);
        const windowsTensor = tf.tensor2d(windows, [rows, windowWidth]);
        const windowsT = tf.transpose(windowsTensor);
        const dWeights = tf.matMul(windowsT, dPreTensor);
        const weightsT = tf.transpose(savedWeights);
        const dWindows = tf.matMul(dPreTensor, weightsT);
        const dWindowValues = dWindows.dataSync() as Float32Array;
        tf.dispose([dPreTensor, windowsTensor, windowsT, weightsT, dWindows]);
        forEachTap((r, tap, source) => {
          const from = r * windowWidth + tap * channels;
          const to = source * channels;
          for (let c = 0; c < channels; c++) dInput[to + c] += dWindowValues[from + c];
        });
        return [tf.tensor3d(dInput, [size, time, channels]), dWeights, tf.tensor1d(dBias)];
      },
    };
  });
  return op(x, kernel, bias) as tf.Tensor3D;
}
