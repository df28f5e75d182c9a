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
import { bytes, floats, readValues, tensorOf } from './scratch.js';
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
    const inputValues = readValues(input);
    const biasValues = readValues(offsets);
    const windows = floats(rows * windowWidth);
    forEachTap((r, tap, source) => windows.set(inputValues.subarray(source * channels, (source + 1) * channels), r * windowWidth + tap * channels));
    const product = tf.tidy(() => tf.matMul(tensorOf<tf.Rank.R2>(windows, [rows, windowWidth]), weights));
    const preActivation = readValues(product);
    product.dispose();
    // Branch-free element loops (measured: a data-dependent branch per element, `z > 0 ? z : 0`,
    // cost 9 ns an element against 2): ReLU as (z + |z|) / 2, which is exact; the active mask as
    // an integer; no dropout multiplies by ones.
    const scale = scales ?? floats(rows * outChannels).fill(1);
    const active = bytes(rows * outChannels);
    const out = floats(size * time * outChannels);
    for (let r = 0; r < rows; r++) {
      const at = positions[r] * outChannels;
      const from = positions[r] * channels;
      const row = r * outChannels;
      if (residual) {
        for (let o = 0; o < outChannels; o++) {
          const z = preActivation[row + o] + biasValues[o];
          active[row + o] = Number(z > 0) | 0;
          out[at + o] = ((z + Math.abs(z)) * 0.5 + inputValues[from + o]) * scale[row + o];
        }
      } else {
        for (let o = 0; o < outChannels; o++) {
          const z = preActivation[row + o] + biasValues[o];
          active[row + o] = Number(z > 0) | 0;
          out[at + o] = (z + Math.abs(z)) * 0.5 * scale[row + o];
        }
      }
    }
    return {
      value: tensorOf<tf.Rank.R3>(out, [size, time, outChannels]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedWeights] = saved as tf.Tensor2D[];
        const upstream = readValues(dy);
        const dInput = floats(size * time * channels);
        const dPre = floats(rows * outChannels);
        const dBias = floats(outChannels);
        for (let r = 0; r < rows; r++) {
          const at = positions[r] * outChannels;
          const to = positions[r] * channels;
          const row = r * outChannels;
          for (let o = 0; o < outChannels; o++) {
            const g = upstream[at + o] * scale[row + o];
            if (residual) dInput[to + o] += g;
            const d = g * active[row + o];
            dPre[row + o] = d;
            dBias[o] += d;
          }
        }
        const dPreTensor = tensorOf<tf.Rank.R2>(dPre, [rows, outChannels]);
        const windowsTensor = tensorOf<tf.Rank.R2>(windows, [rows, windowWidth]);
        const windowsT = tf.transpose(windowsTensor);
        const dWeights = tf.matMul(windowsT, dPreTensor);
        const weightsT = tf.transpose(savedWeights);
        const dWindows = tf.matMul(dPreTensor, weightsT);
        const dWindowValues = readValues(dWindows);
        tf.dispose([dPreTensor, windowsTensor, windowsT, weightsT, dWindows]);
        forEachTap((r, tap, source) => {
          const from = r * windowWidth + tap * channels;
          const to = source * channels;
          for (let c = 0; c < channels; c++) dInput[to + c] += dWindowValues[from + c];
        });
        return [tensorOf<tf.Rank.R3>(dInput, [size, time, channels]), dWeights, tensorOf<tf.Rank.R1>(dBias, [outChannels])];
      },
    };
  });
  return op(x, kernel, bias) as tf.Tensor3D;
}
