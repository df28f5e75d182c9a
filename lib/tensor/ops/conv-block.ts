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
import { bufferProducts, type BufferProduct } from '../blas.js';
import { bytes, filledTensor, floats, floatsInOneBuffer, peekValues, readValues, tensorOf } from './scratch.js';
import type { ConvBlockOptions, SequenceShape } from './op-types.js';

export type { ConvBlockOptions } from './op-types.js';
import { matMulWithTransposes } from './mat-mul.js';
import { formFor } from './op-form.js';
import { convBlockWebgpu } from './conv-block.webgpu.js';

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
  // Real positions, packed: row r of the windows matrix is position positions[r] of the flat [B·T]
  // layout; sources[r · width + tap] is the position tap reads, or −1 outside the sentence.
  let rows = 0;
  for (let b = 0; b < size; b++) rows += Math.max(0, Math.min(lengths[b], time));
  const positions = new Int32Array(rows);
  const sources = new Int32Array(rows * width);
  for (let b = 0, r = 0; b < size; b++) {
    const length = Math.max(0, Math.min(lengths[b], time));
    for (let t = 0; t < length; t++, r++) {
      positions[r] = b * time + t;
      for (let tap = 0; tap < width; tap++) {
        const s = t - half + tap * dilation;
        sources[r * width + tap] = s >= 0 && s < length ? b * time + s : -1;
      }
    }
  }
  const scales = options.dropout && options.dropout.rate > 0 ? dropoutScales(rows * outChannels, options.dropout.rate, options.dropout.seed) : null;
  if (formFor('convBlock', { x, kernel, bias }) === 'webgpu') return convBlockWebgpu(x, shape, kernel, bias, options, scales);
  const shape2 = { rows, width, channels, outChannels, residual };

  const product = bufferProducts();
  if (product) return convBlockInBuffer(product, x, kernel, bias, { size, time, positions, sources, scales, shape: shape2 });

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, weights, offsets, save] = args as [tf.Tensor3D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    const biasValues = readValues(offsets);
    // The windows matrix is gathered straight into the tensor's memory and kept for the gradient (the
    // tape holds it): no copy into the backend, none back, no second upload.
    const windows = filledTensor<tf.Rank.R2>([rows, windowWidth], (values) => gatherWindows(values, peekValues(input), sources, shape2));
    save([weights, windows]);
    const product = tf.matMul(windows, weights);
    windows.dispose();
    // No dropout multiplies by ones: the element loops stay free of branches.
    const scale = scales ?? floats(rows * outChannels).fill(1);
    const active = bytes(rows * outChannels);
    const out = filledTensor<tf.Rank.R3>([size, time, outChannels], (values) => {
      values.fill(0);
      activate(values, active, peekValues(product), biasValues, peekValues(input), scale, positions, shape2);
    });
    product.dispose();
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedWeights, savedWindows] = saved as tf.Tensor2D[];
        const dInput = floats(size * time * channels);
        const dBias = floats(outChannels);
        const dPre = filledTensor<tf.Rank.R2>([rows, outChannels], (values) => backActivate(dInput, values, dBias, peekValues(dy), active, scale, positions, shape2));
        const dWeights = matMulWithTransposes(savedWindows, dPre, true, false);
        const dWindows = matMulWithTransposes(dPre, savedWeights, false, true);
        // Read in place: no tfjs op runs between this view and the end of the scatter.
        scatterWindows(dInput, peekValues(dWindows), sources, shape2);
        tf.dispose([dPre, dWindows]);
        return [tensorOf<tf.Rank.R3>(dInput, [size, time, channels]), dWeights, tensorOf<tf.Rank.R1>(dBias, [outChannels])];
      },
    };
  });
  return op(x, kernel, bias) as tf.Tensor3D;
}

/** What convBlock works out from the shapes and lengths before its op runs. */
interface BlockPlan {
  size: number;
  time: number;
  positions: Int32Array;
  sources: Int32Array;
  scales: Float32Array | null;
  shape: BlockShape;
}

/**
 * convBlock where OpenBLAS runs the products: the windows matrix, a copy of the kernel, the product
 * and the gradients' products all live in one scratch buffer and the products run there
 * (`bufferProducts`), the same cblas_sgemm calls tf.matMul would make, so the same bits. What it
 * saves is per layer and pass: the tfjs kernel calls, the tape's copy of the saved windows matrix
 * (its size is the layer's input times the taps), and the product tensors' trips through the heap.
 */
function convBlockInBuffer(product: BufferProduct, x: tf.Tensor3D, kernel: tf.Tensor2D, bias: tf.Tensor1D, plan: BlockPlan): tf.Tensor3D {
  const { size, time, positions, sources, scales, shape } = plan;
  const { rows, width, channels, outChannels } = shape;
  const windowWidth = width * channels;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, weights, offsets] = args as [tf.Tensor3D, tf.Tensor2D, tf.Tensor1D];
    const biasValues = readValues(offsets);
    // Every element of each is written before it is read. `pre` holds the product forward and dPre
    // backward; `windows` is reused for dWindows once dWeights has read it.
    const [windows, weightsCopy, pre, dWeights] = floatsInOneBuffer([rows * windowWidth, windowWidth * outChannels, rows * outChannels, windowWidth * outChannels], true);
    const memory = windows.buffer as ArrayBuffer;
    const at = (array: Float32Array) => array.byteOffset / 4;
    gatherWindows(windows, peekValues(input), sources, shape);
    weightsCopy.set(peekValues(weights));
    product(memory, false, false, rows, outChannels, windowWidth, at(windows), at(weightsCopy), at(pre));
    const scale = scales ?? floats(rows * outChannels).fill(1);
    const active = bytes(rows * outChannels);
    const out = filledTensor<tf.Rank.R3>([size, time, outChannels], (values) => {
      values.fill(0);
      activate(values, active, pre, biasValues, peekValues(input), scale, positions, shape);
    });
    return {
      value: out,
      gradFunc: (dy: tf.Tensor) => {
        const dInput = floats(size * time * channels);
        const dBias = floats(outChannels);
        backActivate(dInput, pre, dBias, peekValues(dy), active, scale, positions, shape);
        product(memory, true, false, windowWidth, outChannels, rows, at(windows), at(pre), at(dWeights));
        product(memory, false, true, rows, windowWidth, outChannels, at(pre), at(weightsCopy), at(windows));
        scatterWindows(dInput, windows, sources, shape);
        return [
          tensorOf<tf.Rank.R3>(dInput, [size, time, channels]),
          tensorOf<tf.Rank.R2>(dWeights, [windowWidth, outChannels]),
          tensorOf<tf.Rank.R1>(dBias, [outChannels]),
        ];
      },
    };
  });
  return op(x, kernel, bias) as tf.Tensor3D;
}

interface BlockShape {
  rows: number;
  width: number;
  channels: number;
  outChannels: number;
  residual: boolean;
}

// The element loops are plain functions over typed arrays and locals (not closures over the op's
// variables), so V8 compiles each to one tight loop.

/** im2col: row r of `windows` is the taps' input rows side by side (zeros outside the sentence). */
function gatherWindows(windows: Float32Array, input: Float32Array, sources: Int32Array, { rows, width, channels }: BlockShape): void {
  for (let r = 0; r < rows; r++) {
    for (let tap = 0; tap < width; tap++) {
      const source = sources[r * width + tap];
      const to = (r * width + tap) * channels;
      // Every element is written: the windows may live in uninitialised backend memory.
      if (source >= 0) windows.set(input.subarray(source * channels, (source + 1) * channels), to);
      else windows.fill(0, to, to + channels);
    }
  }
}

/** col2im, the gradient of gatherWindows: each window slice adds back into the row it came from. */
function scatterWindows(dInput: Float32Array, dWindows: Float32Array, sources: Int32Array, { rows, width, channels }: BlockShape): void {
  for (let r = 0; r < rows; r++) {
    for (let tap = 0; tap < width; tap++) {
      const source = sources[r * width + tap];
      if (source < 0) continue;
      const from = (r * width + tap) * channels;
      const to = source * channels;
      for (let c = 0; c < channels; c++) dInput[to + c] += dWindows[from + c];
    }
  }
}

/**
 * out = (ReLU(pre + bias) [+ input]) × scale at each real position. Branch-free (measured: a
 * data-dependent branch per element, `z > 0 ? z : 0`, cost 9 ns an element against 2): ReLU as
 * (z + |z|) / 2, which is exact, and the active mask as an integer.
 */
function activate(
  out: Float32Array,
  active: Uint8Array,
  pre: Float32Array,
  bias: Float32Array,
  input: Float32Array,
  scale: Float32Array,
  positions: Int32Array,
  { rows, channels, outChannels, residual }: BlockShape,
): void {
  for (let r = 0; r < rows; r++) {
    const at = positions[r] * outChannels;
    const from = positions[r] * channels;
    const row = r * outChannels;
    for (let o = 0; o < outChannels; o++) {
      const z = pre[row + o] + bias[o];
      active[row + o] = Number(z > 0) | 0;
      const y = (z + Math.abs(z)) * 0.5;
      out[at + o] = (residual ? y + input[from + o] : y) * scale[row + o];
    }
  }
}

/**
 * The gradient of activate: into dPre and dBias, and (the residual) straight into dInput. It walks the
 * rows and positions as activate does, on purpose: a hot loop of the training step, kept as two plain
 * loops with no callback or shared iterator in the innermost one (each element is a few nanoseconds).
 */
function backActivate(
  dInput: Float32Array,
  dPre: Float32Array,
  dBias: Float32Array,
  upstream: Float32Array,
  active: Uint8Array,
  scale: Float32Array,
  positions: Int32Array,
  { rows, channels, outChannels, residual }: BlockShape,
): void {
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
}
