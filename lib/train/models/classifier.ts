/**
 * Sentence classifier (NSMC sentiment): encoder → masked max- and mean-pooling over syllables →
 * dropout → softmax over the labels.
 */
import * as tf from '@tensorflow/tfjs';
import { assertFinite } from '../errors.js';
import { readValues, readValuesAsync } from '../../tensor/ops/scratch.js';
import { dense } from '../../tensor/ops/mat-mul.js';
import { ParameterSet } from '../../tensor/parameters.js';
import { SeededRandom } from '../../tensor/rng.js';
import type { Batch } from '../batching.js';
import type { Vocabulary } from '../vocabulary.js';
import { dropout, type ForwardContext } from '../../tensor/forward-context.js';
import { encode, encoderOutputDim, encoderSpecs, lengthMask, type SyllableEncoderConfig } from './encoder.js';

export interface ClassifierConfig extends SyllableEncoderConfig {
  kind: 'classifier';
}

export const DEFAULT_CLASSIFIER_CONFIG: ClassifierConfig = {
  kind: 'classifier',
  encoder: 'conv',
  embeddingDim: 128,
  hiddenDim: 256,
  convWidth: 3,
  dilations: [1, 2, 4],
  dropout: 0.3,
};

export class TextClassifier {
  readonly kind = 'classifier' as const;
  readonly parameters: ParameterSet;

  constructor(
    readonly config: ClassifierConfig,
    readonly vocabulary: Vocabulary,
    /** Label names, index = class id. */
    readonly labels: readonly string[],
    seed: number,
  ) {
    const pooledDim = 2 * encoderOutputDim(config);
    this.parameters = new ParameterSet(
      [
        ...encoderSpecs(config, vocabulary.size),
        { name: 'output.kernel', shape: [pooledDim, labels.length], init: 'glorot' },
        { name: 'output.bias', shape: [labels.length], init: 'zeros', noDecay: true },
      ],
      new SeededRandom(seed),
    );
  }

  /** Class scores `[B, labels]`. */
  logits(batch: Batch, context: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => {
      const mask = lengthMask(batch.lengths, batch.time);
      const hidden = encode(this.config, this.parameters, batch, context);
      // Max over real syllables only: padding is pushed far below any activation.
      const maxPooled = tf.max(tf.add(hidden, tf.mul(tf.sub(mask, 1), 1e4)), 1);
      const lengths = tf.tensor2d(batch.lengths.map((length) => Math.max(1, Math.min(length, batch.time))), [batch.size, 1]);
      const meanPooled = tf.div(tf.sum(hidden, 1), lengths);
      const pooled = dropout(tf.concat([maxPooled, meanPooled], 1), this.config.dropout, context);
      return dense(pooled, this.parameters.get('output.kernel'), this.parameters.get('output.bias')) as tf.Tensor2D;
    });
  }

  lossUnits(batch: Batch): number {
    return batch.size;
  }

  lossSum(batch: Batch, context: ForwardContext): tf.Scalar {
    if (!batch.labels) throw new Error('classifier loss needs labels');
    const labels = batch.labels;
    return tf.tidy(() => {
      const logProbs = tf.logSoftmax(this.logits(batch, context));
      const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), this.labels.length);
      return tf.neg(tf.sum(tf.mul(logProbs, oneHot))) as tf.Scalar;
    });
  }

  /** Class probabilities per example. */
  predictProbabilities(batch: Batch): number[][] {
    const probabilities = tf.tidy(() => tf.softmax(this.logits(batch, { training: false })));
    // readValues: on webgpu (no synchronous read) a clear error that points to the asynchronous form.
    const values = readValues(probabilities);
    probabilities.dispose();
    return this.rows(batch, values);
  }

  /** `predictProbabilities` read back by an await (the form for webgpu, which has no synchronous read). */
  async predictProbabilitiesAsync(batch: Batch): Promise<number[][]> {
    const probabilities = tf.tidy(() => tf.softmax(this.logits(batch, { training: false })));
    try {
      return this.rows(batch, await readValuesAsync(probabilities));
    } finally {
      probabilities.dispose();
    }
  }

  private rows(batch: Batch, values: Float32Array): number[][] {
    assertFinite(values, 'class probabilities');
    const size = this.labels.length;
    return Array.from({ length: batch.size }, (_, row) => Array.from(values.subarray(row * size, (row + 1) * size)));
  }

  dispose(): void {
    this.parameters.dispose();
  }
}

