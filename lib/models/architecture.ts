/**
 * What every encoder architecture provides (one file each: bert.ts, roberta.ts, electra.ts,
 * deberta-v2.ts): the weights it has, by checkpoint name, for a task; the forward pass to hidden
 * states; and the task head (transformers' `…ForSequenceClassification` / `…ForTokenClassification`).
 */
import * as tf from '@tensorflow/tfjs';
import type { EncoderConfig } from './config.js';
import type { LayerContext, WeightSpec } from './weights.js';

export type EncoderTask = 'sequence-classification' | 'token-classification' | 'base';

/** A padded batch of token ids, row-major `[batch, length]`, right-padded. */
export interface EncoderInputs {
  batch: number;
  length: number;
  /** Token ids; padding positions hold the tokenizer's pad id. */
  ids: Int32Array;
  /** Real tokens per row (the attention mask). */
  lengths: readonly number[];
  /** Segment ids (default all 0). */
  typeIds?: Int32Array;
}

export interface ArchitectureImpl {
  /** The base model's tensors plus the head's for `task` (labels = number of classes). */
  weightSpecs(config: EncoderConfig, task: EncoderTask, labels: number): WeightSpec[];
  /** Hidden states `[B·L, H]`: the embedding output and every layer's when `collect`, else only the last. */
  encode(w: LayerContext, config: EncoderConfig, inputs: EncoderInputs, collect: boolean): tf.Tensor2D[];
  /** Logits: `[B, labels]` (sequence) or `[B·L, labels]` (token). */
  head(w: LayerContext, config: EncoderConfig, task: EncoderTask, last: tf.Tensor2D, inputs: EncoderInputs): tf.Tensor2D;
}

/** `[B, 1, 1, L]`: 0 for real keys, a large negative number for padding (added to attention scores). */
export function keyMaskBias(inputs: EncoderInputs): tf.Tensor4D {
  const values = new Float32Array(inputs.batch * inputs.length);
  inputs.lengths.forEach((length, row) => values.fill(-1e30, row * inputs.length + Math.min(length, inputs.length), (row + 1) * inputs.length));
  return tf.tensor4d(values, [inputs.batch, 1, 1, inputs.length]);
}

/** `[B·L, 1]`: 1 for real tokens, 0 for padding. */
export function tokenMask(inputs: EncoderInputs): tf.Tensor2D {
  const values = new Float32Array(inputs.batch * inputs.length);
  inputs.lengths.forEach((length, row) => values.fill(1, row * inputs.length, row * inputs.length + Math.min(length, inputs.length)));
  return tf.tensor2d(values, [inputs.batch * inputs.length, 1]);
}

/** Rows `[B, H]` at position 0 of each sequence (the `[CLS]` token) from `[B·L, H]`. */
export function firstTokens(hidden: tf.Tensor2D, inputs: EncoderInputs): tf.Tensor2D {
  const size = hidden.shape[1];
  return tf.reshape(tf.slice(tf.reshape(hidden, [inputs.batch, inputs.length, size]), [0, 0, 0], [inputs.batch, 1, size]), [inputs.batch, size]);
}

/** Position ids `0…L−1` per row, as `[B, L]` int32. */
export function absolutePositions(inputs: EncoderInputs): tf.Tensor2D {
  const values = new Int32Array(inputs.batch * inputs.length);
  for (let row = 0; row < inputs.batch; row++) for (let t = 0; t < inputs.length; t++) values[row * inputs.length + t] = t;
  return tf.tensor2d(values, [inputs.batch, inputs.length], 'int32');
}

export function typeIds(inputs: EncoderInputs): tf.Tensor2D {
  return tf.tensor2d(inputs.typeIds ?? new Int32Array(inputs.batch * inputs.length), [inputs.batch, inputs.length], 'int32');
}

export function tokenIds(inputs: EncoderInputs): tf.Tensor2D {
  return tf.tensor2d(inputs.ids, [inputs.batch, inputs.length], 'int32');
}
