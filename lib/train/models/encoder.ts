/**
 * The shared front of both models: syllable embeddings, then a dilated-convolution stack or a
 * bidirectional LSTM. Every layer's output is zeroed at padding, so a sentence's result does not
 * depend on how much padding its batch has (bucketing and micro-batching change only the speed).
 */
import * as tf from '@tensorflow/tfjs';
import { convBlock } from '../../tensor/ops/conv-block.js';
import { dropoutDraw, type ForwardContext } from '../../tensor/forward-context.js';
import { embedTokens, type EmbeddingInput } from '../../tensor/ops/embedding-lookup.js';
import { bidirectionalLstm } from '../../tensor/ops/lstm.js';
import type { ParameterSet, ParameterSpec } from '../../tensor/parameters.js';

export type EncoderType = 'conv' | 'bilstm';

/**
 * The syllable encoder's settings (what the BiLSTM/conv taggers and classifiers train). Not the
 * pretrained encoders' config.json (lib/models/config.ts `EncoderConfig`).
 */
export interface SyllableEncoderConfig {
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

export function encoderSpecs(config: SyllableEncoderConfig, vocabSize: number): ParameterSpec[] {
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

export function encoderOutputDim(config: SyllableEncoderConfig): number {
  return config.encoder === 'conv' ? config.hiddenDim : 2 * config.hiddenDim;
}

/** The token side of a batch the encoder reads (a `Batch` is one). */
export interface EncoderInput {
  size: number;
  time: number;
  /** Row-major `[size, time]` syllable ids. */
  ids: Int32Array;
  /** Real tokens per row; the rest is padding. */
  lengths: readonly number[];
}

/** `[B, T, encoderOutputDim]`, zero at padding. */
export function encode(config: SyllableEncoderConfig, params: ParameterSet, batch: EncoderInput, context: ForwardContext): tf.Tensor3D {
  const shape = { size: batch.size, time: batch.time, lengths: batch.lengths };
  const tables: EmbeddingInput[] = [{ table: params.get<tf.Rank.R2>('embedding'), ids: batch.ids }];
  if (config.bigramBuckets) {
    tables.push({ table: params.get<tf.Rank.R2>('bigram-embedding'), ids: bigramIds(batch.ids, batch.size, batch.time, config.bigramBuckets) });
  }
  // Padding embeds to zero: a convolution would otherwise read it at sentence edges.
  let x = embedTokens(tables, shape, dropoutDraw(config.dropout, context));
  if (config.encoder === 'conv') {
    config.dilations.forEach((dilation, layer) => {
      x = convBlock(x, shape, params.get(`conv${layer}.kernel`), params.get(`conv${layer}.bias`), {
        width: config.convWidth,
        dilation,
        // Residual from the second layer on (same width), which keeps deep dilated stacks trainable.
        residual: layer > 0,
        dropout: dropoutDraw(config.dropout, context),
      });
    });
    return x;
  }
  const weights = (direction: string) => ({
    input: params.get<tf.Rank.R2>(`lstm.${direction}.input`),
    recurrent: params.get<tf.Rank.R2>(`lstm.${direction}.recurrent`),
    bias: params.get<tf.Rank.R1>(`lstm.${direction}.bias`),
  });
  return bidirectionalLstm(x, batch.lengths, weights('forward'), weights('backward'), dropoutDraw(config.dropout, context));
}

/**
 * Hash bucket of (previous id, id) per position of a row-major `[size, time]` id matrix; the first
 * position's previous id is padding (0).
 */
export function bigramIds(ids: Int32Array, size: number, time: number, buckets: number): Int32Array {
  const out = new Int32Array(size * time);
  for (let b = 0; b < size; b++) {
    for (let t = 0; t < time; t++) {
      const previous = t === 0 ? 0 : ids[b * time + t - 1];
      // previous · 7919 + id stays far inside 2^53 (and int32) for any vocabulary under 200,000 syllables.
      out[b * time + t] = (previous * 7919 + ids[b * time + t]) % buckets;
    }
  }
  return out;
}

/** `[B, T, 1]` float mask from sentence lengths. */
export function lengthMask(lengths: readonly number[], time: number): tf.Tensor3D {
  const values = new Float32Array(lengths.length * time);
  lengths.forEach((length, row) => values.fill(1, row * time, row * time + Math.min(length, time)));
  return tf.tensor3d(values, [lengths.length, time, 1]);
}

