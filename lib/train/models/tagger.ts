/**
 * Syllable-level sequence tagger (KLUE NER): encoder → per-syllable tag scores → linear-chain CRF
 * (default) or independent softmax per syllable.
 */
import * as tf from '@tensorflow/tfjs';
import { assertFinite } from '../errors.js';
import { readValues } from '../../tensor/ops/scratch.js';
import { dense } from '../../tensor/ops/mat-mul.js';
import { ParameterSet, type ParameterSpec } from '../../tensor/parameters.js';
import { SeededRandom } from '../../tensor/rng.js';
import type { Batch } from '../batching.js';
import type { Vocabulary } from '../vocabulary.js';
import { crfNegLogLikelihood, iob2Constraints, viterbiDecode, type TransitionConstraints } from './crf.js';
import type { ForwardContext } from '../../tensor/forward-context.js';
import { encode, encoderOutputDim, encoderSpecs, lengthMask, type SyllableEncoderConfig } from './encoder.js';

export type TaggerHead = 'crf' | 'softmax';

export interface TaggerConfig extends SyllableEncoderConfig {
  kind: 'tagger';
  head: TaggerHead;
}

export const DEFAULT_TAGGER_CONFIG: TaggerConfig = {
  kind: 'tagger',
  encoder: 'conv',
  head: 'crf',
  embeddingDim: 128,
  hiddenDim: 256,
  convWidth: 3,
  dilations: [1, 2, 4, 1],
  dropout: 0.2,
};

export class SequenceTagger {
  readonly kind = 'tagger' as const;
  readonly parameters: ParameterSet;
  readonly constraints: TransitionConstraints;

  constructor(
    readonly config: TaggerConfig,
    readonly vocabulary: Vocabulary,
    /** Tag names, index = tag id. */
    readonly tags: readonly string[],
    seed: number,
  ) {
    this.constraints = iob2Constraints(tags);
    const outDim = encoderOutputDim(config);
    const specs: ParameterSpec[] = [
      ...encoderSpecs(config, vocabulary.size),
      { name: 'output.kernel', shape: [outDim, tags.length], init: 'glorot' },
      { name: 'output.bias', shape: [tags.length], init: 'zeros', noDecay: true },
    ];
    if (config.head === 'crf') {
      specs.push({ name: 'crf.transitions', shape: [tags.length, tags.length], init: 'zeros', noDecay: true });
      specs.push({ name: 'crf.start', shape: [tags.length], init: 'zeros', noDecay: true });
      specs.push({ name: 'crf.end', shape: [tags.length], init: 'zeros', noDecay: true });
    }
    this.parameters = new ParameterSet(specs, new SeededRandom(seed));
  }

  /** Per-syllable tag scores `[B, T, K]`. */
  emissions(batch: Batch, context: ForwardContext): tf.Tensor3D {
    return tf.tidy(() => {
      const mask = lengthMask(batch.lengths, batch.time);
      const hidden = encode(this.config, this.parameters, batch, context);
      return dense(hidden, this.parameters.get('output.kernel'), this.parameters.get('output.bias')) as tf.Tensor3D;
    });
  }

  /** Units the loss is a sum over: sentences (CRF) or syllables (softmax). */
  lossUnits(batch: Batch): number {
    return this.config.head === 'crf' ? batch.size : batch.realTokens;
  }

  /** Sum of the loss over the batch's units. */
  lossSum(batch: Batch, context: ForwardContext): tf.Scalar {
    if (!batch.tags) throw new Error('tagger loss needs gold tags');
    const gold = batch.tags;
    return tf.tidy(() => {
      const scores = this.emissions(batch, context);
      if (this.config.head === 'crf') {
        return crfNegLogLikelihood(
          scores,
          {
            transitions: this.parameters.get('crf.transitions'),
            start: this.parameters.get('crf.start'),
            end: this.parameters.get('crf.end'),
          },
          batch.lengths,
          gold,
          this.constraints,
        );
      }
      const mask = tf.reshape(lengthMask(batch.lengths, batch.time), [batch.size, batch.time]);
      const logProbs = tf.logSoftmax(scores);
      const oneHot = tf.oneHot(tf.tensor2d(gold, [batch.size, batch.time], 'int32'), this.tags.length);
      return tf.neg(tf.sum(tf.mul(tf.sum(tf.mul(logProbs, oneHot), 2), mask))) as tf.Scalar;
    });
  }

  /** Tag ids per sentence (Viterbi under IOB2 constraints for the CRF head, argmax for softmax). */
  predict(batch: Batch): number[][] {
    const scores = this.emissions(batch, { training: false });
    // readValues: on webgpu (no synchronous read) a clear error that points to predictAsync.
    const values = readValues(scores);
    scores.dispose();
    const crf = this.config.head === 'crf' ? (['crf.transitions', 'crf.start', 'crf.end'] as const).map((name) => readValues(this.parameters.get(name))) : null;
    return this.decode(batch, values, crf);
  }

  /**
   * `predict` with the scores read back by an await: the form for a backend whose tensors stay on the
   * device (webgpu has no synchronous read); the same tags on every backend.
   */
  async predictAsync(batch: Batch): Promise<number[][]> {
    const scores = this.emissions(batch, { training: false });
    const names = this.config.head === 'crf' ? ['crf.transitions', 'crf.start', 'crf.end'] : [];
    try {
      const [values, ...crf] = (await Promise.all([scores, ...names.map((name) => this.parameters.get(name))].map((t) => t.data()))) as Float32Array[];
      return this.decode(batch, values, crf.length ? crf : null);
    } finally {
      scores.dispose();
    }
  }

  /** Tag ids from the scores `[B, T, K]` (and the CRF's transitions, start and end scores). */
  private decode(batch: Batch, values: Float32Array, crf: Float32Array[] | null): number[][] {
    assertFinite(values, 'tag scores');
    const shape: [number, number, number] = [batch.size, batch.time, this.tags.length];
    if (crf) {
      const [transitions, start, end] = crf;
      return viterbiDecode(values, shape, transitions, start, end, batch.lengths, this.constraints);
    }
    const size = this.tags.length;
    return batch.lengths.map((length, row) => {
      const path: number[] = [];
      for (let t = 0; t < length; t++) {
        const base = (row * batch.time + t) * size;
        let best = 0;
        for (let k = 1; k < size; k++) if (values[base + k] > values[base + best]) best = k;
        path.push(best);
      }
      return path;
    });
  }

  dispose(): void {
    this.parameters.dispose();
  }
}
