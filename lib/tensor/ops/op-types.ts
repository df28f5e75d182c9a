/**
 * The interfaces of the fused ops (their inputs and options), shared by each op's forms: the host
 * form in `<op>.ts` and the device form in `<op>.webgpu.ts` both take exactly these.
 */
import type * as tf from '@tensorflow/tfjs';

export interface EmbeddingInput {
  /** `[vocabulary, dim]`. */
  table: tf.Tensor2D;
  /** Row-major `[B, T]` ids into the table (padding positions are ignored). */
  ids: Int32Array;
}

export interface SequenceShape {
  size: number;
  time: number;
  /** Real tokens of each row (the rest is padding). */
  lengths: readonly number[];
}

export interface ConvBlockOptions {
  /** Taps of the kernel (odd). */
  width: number;
  dilation: number;
  /** Add the input to the activation (needs as many output channels as input channels). */
  residual: boolean;
  dropout?: { rate: number; seed: number };
}

export interface LstmWeights {
  /** `[inputDim, 4·hidden]`, gate order i, f, g (cell candidate), o. */
  input: tf.Tensor2D;
  /** `[hidden, 4·hidden]`. */
  recurrent: tf.Tensor2D;
  /** `[4·hidden]`. */
  bias: tf.Tensor1D;
}
