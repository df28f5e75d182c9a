/**
 * A pretrained encoder (lib/models) as a model the trainer can train: it reads the trainer's padded
 * batches of token ids, returns the summed cross-entropy (per text for sequence classification, per
 * labelled token for token classification; tag −1 marks tokens that are not trained), and describes
 * itself so checkpoints and gradient workers can rebuild it from the model folder.
 */
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import type { Batch } from './batching.js';
import type { ForwardContext } from '../tensor/forward-context.js';
import type { ParameterManifestEntry, ParameterSet } from '../tensor/parameters.js';
import { readValuesAsync } from '../tensor/ops/scratch.js';
import type { EncoderInputs } from '../models/architecture.js';
import { PretrainedEncoder, type EncoderSetup } from '../models/pretrained.js';

export type EncoderTaskKind = 'sequence-classification' | 'token-classification';

export interface EncoderModelDescription {
  format: 'hanlab-encoder';
  version: 1;
  /** Absolute path of the model folder. */
  modelDir: string;
  /** The model name as the user wrote it. */
  modelName: string;
  setup: EncoderSetup;
  manifest: ParameterManifestEntry[];
  seed: number;
}

/** Tag id of tokens that are not trained (transformers' −100). */
export const IGNORED_TAG = -1;

export class EncoderModel {
  readonly kind = 'encoder' as const;

  constructor(
    readonly encoder: PretrainedEncoder,
    readonly modelName: string,
  ) {
    if (encoder.setup.task === 'base') throw new Error('an EncoderModel needs a task head');
  }

  static async load(modelDir: string, setup: EncoderSetup, modelName: string = modelDir): Promise<EncoderModel> {
    return new EncoderModel(await PretrainedEncoder.load(modelDir, setup, modelName), modelName);
  }

  static fromDescription(description: EncoderModelDescription): Promise<EncoderModel> {
    return EncoderModel.load(description.modelDir, description.setup, description.modelName);
  }

  get task(): EncoderTaskKind {
    return this.encoder.setup.task as EncoderTaskKind;
  }

  get parameters(): ParameterSet {
    return this.encoder.parameters;
  }

  /** Class names (sequence labels or tags), index = id. */
  get labels(): readonly string[] {
    return this.encoder.setup.labels;
  }

  describe(seed: number): EncoderModelDescription {
    return {
      format: 'hanlab-encoder',
      version: 1,
      modelDir: path.resolve(this.encoder.folder.dir),
      modelName: this.modelName,
      setup: this.encoder.setup,
      manifest: this.parameters.manifest(),
      seed,
    };
  }

  /** The batch as encoder inputs: padding positions get the tokenizer's pad id (the trainer pads with 0). */
  inputs(batch: Batch): EncoderInputs {
    const ids = new Int32Array(batch.ids);
    const pad = this.encoder.tokenizer.padId;
    batch.lengths.forEach((length, row) => ids.fill(pad, row * batch.time + Math.min(length, batch.time), (row + 1) * batch.time));
    return { batch: batch.size, length: batch.time, ids, lengths: batch.lengths };
  }

  /** Logits: `[B, labels]` or `[B·T, labels]`. */
  logits(batch: Batch, context: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => {
      const { states, logits } = this.encoder.forward(this.inputs(batch), context);
      tf.dispose(states);
      return logits as tf.Tensor2D;
    });
  }

  /** Texts (sequence) or trained tokens (token classification) in the batch. */
  lossUnits(batch: Batch): number {
    if (this.task === 'sequence-classification') return batch.size;
    let units = 0;
    const tags = batch.tags as Int32Array;
    batch.lengths.forEach((length, row) => {
      for (let t = 0; t < Math.min(length, batch.time); t++) if (tags[row * batch.time + t] >= 0) units++;
    });
    return units;
  }

  lossSum(batch: Batch, context: ForwardContext): tf.Scalar {
    const classes = this.labels.length;
    return tf.tidy(() => {
      const logProbs = tf.logSoftmax(this.logits(batch, context));
      if (this.task === 'sequence-classification') {
        if (!batch.labels) throw new Error('sequence classification loss needs labels');
        return tf.neg(tf.sum(tf.mul(logProbs, tf.oneHot(tf.tensor1d(batch.labels, 'int32'), classes)))) as tf.Scalar;
      }
      if (!batch.tags) throw new Error('token classification loss needs tags');
      const tags = batch.tags;
      const ids = new Int32Array(tags.length);
      const mask = new Float32Array(tags.length);
      batch.lengths.forEach((length, row) => {
        for (let t = 0; t < Math.min(length, batch.time); t++) {
          const at = row * batch.time + t;
          if (tags[at] >= 0) {
            ids[at] = tags[at];
            mask[at] = 1;
          }
        }
      });
      const picked = tf.sum(tf.mul(logProbs, tf.oneHot(tf.tensor1d(ids, 'int32'), classes)), 1);
      return tf.neg(tf.sum(tf.mul(picked, tf.tensor1d(mask)))) as tf.Scalar;
    });
  }

  /**
   * Class probabilities per text `[B][labels]`, or per token `[B][T][labels]` flattened row-major.
   * Read asynchronously: the webgpu backend has no synchronous read in Node.
   */
  async probabilities(batch: Batch): Promise<Float32Array> {
    const probs = tf.tidy(() => tf.softmax(this.logits(batch, { training: false })));
    try {
      return await readValuesAsync(probs);
    } finally {
      probs.dispose();
    }
  }

  dispose(): void {
    this.encoder.dispose();
  }
}
