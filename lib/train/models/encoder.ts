/**
 * The shared front of both models: syllable embeddings, then a dilated-convolution stack or a
 * bidirectional LSTM. Every layer's output is zeroed at padding, so a sentence's result does not
 * depend on how much padding its batch has (bucketing and micro-batching change only the speed).
 */
import * as tf from '@tensorflow/tfjs';
import { embeddingLookup } from '../ops/embedding-lookup.js';
import { dilatedConv1d } from '../ops/dilated-conv1d.js';
import { bidirectionalLstm } from '../ops/lstm.js';
import type { ParameterSet, ParameterSpec } from '../parameters.js';
import type { SeededRandom } from '../rng.js';

export type EncoderType = 'conv' | 'bilstm';

export interface EncoderConfig {
  encoder: EncoderType;
  embeddingDim: number;
  /** Conv: channels of every layer. BiLSTM: units per direction. */
  hiddenDim: number;
  /** Conv only: kernel width (odd). */
  convWidth: number;
  /** Conv only: one layer per entry, its dilation. */
  dilations: number[];
  /** Dropout rate on embeddings and between layers. */
  dropout: number;
  /**
   * Hashed syllable-bigram embeddings added to the syllable embeddings: the number of hash buckets
   * (0 or absent = off). Each position's bigram is (previous syllable id, syllable id).
   */
  bigramBuckets?: number;
}

export interface ForwardContext {
  training: boolean;
  /** Draws dropout seeds; required when training with dropout > 0. */
  rng?: SeededRandom;
}

export function encoderSpecs(config: EncoderConfig, vocabSize: number): ParameterSpec[] {
  const specs: ParameterSpec[] = [{ name: 'embedding', shape: [vocabSize, config.embeddingDim], init: 'normal', std: 0.1 }];
  if (config.bigramBuckets) specs.push({ name: 'bigram-embedding', shape: [config.bigramBuckets, config.embeddingDim], init: 'normal', std: 0.1 });
  if (config.encoder === 'conv') {
    let channels = config.embeddingDim;
    config.dilations.forEach((_, layer) => {
      specs.push({ name: `conv${layer}.kernel`, shape: [config.convWidth * channels, config.hiddenDim], init: 'glorot' });
      specs.push({ name: `conv${layer}.bias`, shape: [config.hiddenDim], init: 'zeros', noDecay: true });
      channels = config.hiddenDim;
    });
  } else {
    for (const direction of ['forward', 'backward']) {
      specs.push({ name: `lstm.${direction}.input`, shape: [config.embeddingDim, 4 * config.hiddenDim], init: 'glorot' });
      specs.push({ name: `lstm.${direction}.recurrent`, shape: [config.hiddenDim, 4 * config.hiddenDim], init: 'glorot' });
      specs.push({ name: `lstm.${direction}.bias`, shape: [4 * config.hiddenDim], init: 'lstm-bias', noDecay: true });
    }
  }
  return specs;
}

export function encoderOutputDim(config: EncoderConfig): number {
  return config.encoder === 'conv' ? config.hiddenDim : 2 * config.hiddenDim;
}

/**
 * `ids [B, T]` int32, `mask [B, T, 1]` float (1 = real), `lengths` the real tokens per row (the
 * same as the mask) → `[B, T, encoderOutputDim]`.
 */
export function encode(
  config: EncoderConfig,
  params: ParameterSet,
  ids: tf.Tensor2D,
  mask: tf.Tensor3D,
  lengths: readonly number[],
  context: ForwardContext,
): tf.Tensor3D {
  // Zero the padding's embeddings: a convolution would otherwise read them at sentence edges.
  let embedded = embeddingLookup(params.get<tf.Rank.R2>('embedding'), ids);
  if (config.bigramBuckets) embedded = tf.add(embedded, embeddingLookup(params.get<tf.Rank.R2>('bigram-embedding'), bigramIds(ids, config.bigramBuckets)));
  let x = tf.mul(embedded, mask) as tf.Tensor3D;
  x = dropout(x, config.dropout, context);
  if (config.encoder === 'conv') {
    config.dilations.forEach((dilation, layer) => {
      const y = tf.relu(dilatedConv1d(x, params.get(`conv${layer}.kernel`), params.get(`conv${layer}.bias`), config.convWidth, dilation));
      // Residual from the second layer on (same width), which keeps deep dilated stacks trainable.
      const summed = layer === 0 ? y : tf.add(x, y);
      x = dropout(tf.mul(summed, mask) as tf.Tensor3D, config.dropout, context);
    });
    return x;
  }
  const weights = (direction: string) => ({
    input: params.get<tf.Rank.R2>(`lstm.${direction}.input`),
    recurrent: params.get<tf.Rank.R2>(`lstm.${direction}.recurrent`),
    bias: params.get<tf.Rank.R1>(`lstm.${direction}.bias`),
  });
  return dropout(bidirectionalLstm(x, lengths, weights('forward'), weights('backward')), config.dropout, context);
}

/** Hash bucket of (previous id, id) per position; the first position's previous id is padding (0). */
export function bigramIds(ids: tf.Tensor2D, buckets: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, time] = ids.shape;
    const start = tf.zeros([batch, 1], 'int32');
    const previous = time === 1 ? start : tf.concat([start, tf.slice(ids, [0, 0], [batch, time - 1])], 1);
    // previous · 7919 + id stays far inside int32 for any vocabulary under 200,000 syllables.
    return tf.mod(tf.add(tf.mul(previous, tf.scalar(7919, 'int32')), ids), tf.scalar(buckets, 'int32')) as tf.Tensor2D;
  });
}

/** `[B, T, 1]` float mask from sentence lengths. */
export function lengthMask(lengths: readonly number[], time: number): tf.Tensor3D {
  const values = new Float32Array(lengths.length * time);
  lengths.forEach((length, row) => values.fill(1, row * time, row * time + Math.min(length, time)));
  return tf.tensor3d(values, [lengths.length, time, 1]);
}

export function dropout<T extends tf.Tensor>(x: T, rate: number, context: ForwardContext): T {
  if (!context.training || rate <= 0) return x;
  if (!context.rng) throw new Error('dropout while training needs a seeded generator');
  return tf.dropout(x, rate, undefined, context.rng.nextUint32()) as T;
}
