/**
 * DeBERTa-v2 / v3 (transformers' modeling_deberta_v2.py): embeddings without absolute positions
 * (`position_biased_input: false` in v3), masked after their LayerNorm; disentangled self-attention
 * whose scores add content→position (c2p) and position→content (p2c) terms over log-bucketed
 * relative positions, with the relative embeddings LayerNorm-ed once (`norm_rel_ebd`) and projected
 * by the layer's own query/key projections (`share_att_key`) or separate `pos_*_proj` layers; padded
 * query rows attend to nothing (XSoftmax); a GELU context pooler before the classifier.
 *
 * The c2p/p2c gathers are done without a gather: the relative embeddings are first picked per
 * distance L−1 … −(L−1) (2L−1 rows), projected, multiplied with the queries (keys), and the
 * `[L, 2L−1]` result is turned into `[L, L]` by a relative shift (ops.relativeShift).
 */
import * as tf from '@tensorflow/tfjs';
import { embeddingLookup } from '../tensor/ops/embedding-lookup.js';
import { absolutePositions, firstTokens, keyMaskBias, tokenIds, tokenMask, typeIds, type ArchitectureImpl, type EncoderInputs } from './architecture.js';
import { attend, layerTail, layerTailSpecs } from './bert.js';
import type { EncoderConfig } from './config.js';
import { activation, batchMatMul, relativeShift, splitHeads } from './ops.js';
import { layerNormSpecs, linearSpecs, type LayerContext, type WeightSpec } from './weights.js';

type DebertaOptions = NonNullable<EncoderConfig['deberta']>;

function options(config: EncoderConfig): DebertaOptions {
  if (!config.deberta) throw new Error('not a DeBERTa-v2 config');
  return config.deberta;
}

/** Rows of the relative embedding table: `position_buckets` when bucketed, else `max_relative_positions`. */
export function attentionSpan(config: EncoderConfig): number {
  const o = options(config);
  return o.positionBuckets > 0 ? o.positionBuckets : o.maxRelativePositions;
}

/**
 * transformers' `make_log_bucket_position` for one relative position, in float32 like torch: within
 * ±bucket/2 positions stay exact, beyond that they share logarithmically wider buckets.
 */
export function logBucketPosition(relative: number, bucketSize: number, maxPosition: number): number {
  const mid = Math.floor(bucketSize / 2);
  const abs = relative < mid && relative > -mid ? mid - 1 : Math.abs(relative);
  if (abs <= mid) return relative;
  const f = Math.fround;
  const ratio = f(f(Math.log(f(abs / mid))) / f(Math.log(f((maxPosition - 1) / mid))));
  return (Math.ceil(f(ratio * (mid - 1))) + mid) * Math.sign(relative);
}

/** `build_relative_position` for distance `i − j`. */
export function relativePosition(distance: number, config: EncoderConfig): number {
  const o = options(config);
  return o.positionBuckets > 0 && o.maxRelativePositions > 0 ? logBucketPosition(distance, o.positionBuckets, o.maxRelativePositions) : distance;
}

/** Row of the relative embedding table for each distance `first, first − 1, …` (2L−1 of them), clamped as transformers does. */
function relativeRows(length: number, config: EncoderConfig, sign: 1 | -1): Int32Array {
  const span = attentionSpan(config);
  const rows = new Int32Array(2 * length - 1);
  for (let k = 0; k < rows.length; k++) {
    const distance = sign * (length - 1 - k);
    rows[k] = Math.min(Math.max(relativePosition(distance, config) + span, 0), 2 * span - 1);
  }
  return rows;
}

function embeddingSpecs(config: EncoderConfig): WeightSpec[] {
  const o = options(config);
  const e = config.embeddingSize;
  const specs: WeightSpec[] = [{ name: 'deberta.embeddings.word_embeddings.weight', shape: [config.vocabSize, e], role: 'embedding' }];
  if (o.positionBiasedInput) specs.push({ name: 'deberta.embeddings.position_embeddings.weight', shape: [config.maxPositionEmbeddings, e], role: 'embedding' });
  if (config.typeVocabSize > 0) specs.push({ name: 'deberta.embeddings.token_type_embeddings.weight', shape: [config.typeVocabSize, e], role: 'embedding' });
  if (e !== config.hiddenSize) specs.push(...linearSpecs('deberta.embeddings.embed_proj', e, config.hiddenSize, { bias: false }));
  specs.push(...layerNormSpecs('deberta.embeddings.LayerNorm', config.hiddenSize));
  return specs;
}

function layerSpecs(config: EncoderConfig): WeightSpec[] {
  const o = options(config);
  const h = config.hiddenSize;
  const all = config.numHeads * config.headSize;
  const specs: WeightSpec[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const name = `deberta.encoder.layer.${i}`;
    for (const part of ['query_proj', 'key_proj', 'value_proj']) specs.push(...linearSpecs(`${name}.attention.self.${part}`, h, all));
    if (o.relativeAttention && !o.shareAttKey) {
      if (o.posAttType.includes('c2p')) specs.push(...linearSpecs(`${name}.attention.self.pos_key_proj`, h, all));
      if (o.posAttType.includes('p2c')) specs.push(...linearSpecs(`${name}.attention.self.pos_query_proj`, h, all));
    }
    specs.push(...layerTailSpecs(config, name));
  }
  if (o.relativeAttention) {
    specs.push({ name: 'deberta.encoder.rel_embeddings.weight', shape: [2 * attentionSpan(config), h], role: 'embedding' });
    if (o.normRelEmbedding) specs.push(...layerNormSpecs('deberta.encoder.LayerNorm', h));
  }
  return specs;
}

function embeddings(w: LayerContext, config: EncoderConfig, inputs: EncoderInputs, mask: tf.Tensor2D): tf.Tensor2D {
  const o = options(config);
  let x = w.embedding('deberta.embeddings.word_embeddings', tokenIds(inputs));
  if (o.positionBiasedInput) x = tf.add(x, w.embedding('deberta.embeddings.position_embeddings', absolutePositions(inputs)));
  if (config.typeVocabSize > 0) x = tf.add(x, w.embedding('deberta.embeddings.token_type_embeddings', typeIds(inputs)));
  x = tf.reshape(x, [inputs.batch * inputs.length, config.embeddingSize]);
  if (config.embeddingSize !== config.hiddenSize) x = w.linear(x, 'deberta.embeddings.embed_proj', false);
  x = tf.mul(w.layerNorm(x, 'deberta.embeddings.LayerNorm', config.layerNormEps), mask);
  return w.dropout(x, config.hiddenDropout) as tf.Tensor2D;
}

/**
 * c2p (`rows` of q, projection `projection` of the relative embeddings) or p2c (rows of k, the query
 * projection, transposed): `[B, nh, L, L]`, already divided by the score scale.
 */
function relativeTerm(w: LayerContext, config: EncoderConfig, contents: tf.Tensor4D, relative: tf.Tensor2D, rows: Int32Array, projection: string, transposeResult: boolean, scale: number): tf.Tensor4D {
  const [batch, heads, length, size] = contents.shape;
  const picked = embeddingLookup(relative, tf.tensor1d(rows, 'int32')) as tf.Tensor2D;
  const positions = tf.transpose(tf.reshape(w.linear(picked, projection), [rows.length, heads, size]), [1, 2, 0]) as tf.Tensor3D; // [nh, d, 2L−1]
  const byHead = tf.reshape(tf.transpose(contents, [1, 0, 2, 3]), [heads, batch * length, size]) as tf.Tensor3D;
  const raw = tf.reshape(batchMatMul(byHead, positions), [heads * batch, length, rows.length]) as tf.Tensor3D;
  let shifted: tf.Tensor3D = relativeShift(raw);
  if (transposeResult) shifted = tf.transpose(shifted, [0, 2, 1]);
  return tf.mul(tf.transpose(tf.reshape(shifted, [heads, batch, length, length]), [1, 0, 2, 3]), scale) as tf.Tensor4D;
}

function layers(w: LayerContext, config: EncoderConfig, hidden: tf.Tensor2D, inputs: EncoderInputs, mask: tf.Tensor2D, collect: boolean): tf.Tensor2D[] {
  const o = options(config);
  const states = collect ? [hidden] : [];
  const { batch, length } = inputs;
  const keyBias = keyMaskBias(inputs);
  const queryMask = tf.reshape(mask, [batch, 1, length, 1]);
  const scaleFactor = 1 + (o.posAttType.includes('c2p') ? 1 : 0) + (o.posAttType.includes('p2c') ? 1 : 0);
  const scale = 1 / Math.sqrt(config.headSize * scaleFactor);
  let relative: tf.Tensor2D | null = null;
  if (o.relativeAttention) {
    relative = w.weight<tf.Tensor2D>('deberta.encoder.rel_embeddings.weight');
    if (o.normRelEmbedding) relative = w.layerNorm(relative, 'deberta.encoder.LayerNorm', config.layerNormEps) as tf.Tensor2D;
  }
  const c2pRows = relativeRows(length, config, 1);
  const p2cRows = relativeRows(length, config, -1);
  for (let i = 0; i < config.numLayers; i++) {
    const name = `deberta.encoder.layer.${i}`;
    // `hidden` below is the layer's input; LayerContext.checkpoint may run the layer again in the backward pass.
    hidden = w.checkpoint(hidden, name, relative ? [keyBias, queryMask, relative] : [keyBias, queryMask], (hidden, kept) => {
      const [keyBias, queryMask] = kept;
      const relative = (kept[2] ?? null) as tf.Tensor2D | null;
      const split = (part: string) => splitHeads(w.linear(hidden, `${name}.attention.self.${part}`), batch, length, config.numHeads);
      const q = split('query_proj');
      const k = split('key_proj');
      let bias: tf.Tensor4D | null = null;
      if (relative) {
        const rel = w.dropout(relative, config.hiddenDropout);
        const self = `${name}.attention.self`;
        if (o.posAttType.includes('c2p')) {
          bias = relativeTerm(w, config, q, rel, c2pRows, o.shareAttKey ? `${self}.key_proj` : `${self}.pos_key_proj`, false, scale);
        }
        if (o.posAttType.includes('p2c')) {
          const term = relativeTerm(w, config, k, rel, p2cRows, o.shareAttKey ? `${self}.query_proj` : `${self}.pos_query_proj`, true, scale);
          bias = bias ? (tf.add(bias, term) as tf.Tensor4D) : term;
        }
      }
      const context = attend(
        w,
        config,
        q,
        k,
        split('value_proj'),
        (raw) => (bias ? tf.add(tf.mul(raw, scale), bias) : tf.mul(raw, scale)),
        (scores) => tf.mul(tf.softmax(tf.add(scores, keyBias)), queryMask),
      );
      return layerTail(w, config, name, context, hidden);
    });
    if (collect) states.push(hidden);
  }
  return collect ? states : [hidden];
}

export const debertaV2: ArchitectureImpl = {
  weightSpecs(config, task, labels) {
    const specs = [...embeddingSpecs(config), ...layerSpecs(config)];
    const pooled = options(config).poolerHiddenSize;
    if (task === 'sequence-classification') {
      specs.push(...linearSpecs('pooler.dense', pooled, pooled, { head: true }), ...linearSpecs('classifier', pooled, labels, { head: true }));
    }
    if (task === 'token-classification') specs.push(...linearSpecs('classifier', config.hiddenSize, labels, { head: true }));
    return specs;
  },
  encode(w, config, inputs, collect) {
    const mask = tokenMask(inputs);
    return layers(w, config, embeddings(w, config, inputs, mask), inputs, mask, collect);
  },
  head(w, config, task, last, inputs) {
    if (task === 'token-classification') return w.linear(w.dropout(last, config.hiddenDropout), 'classifier') as tf.Tensor2D;
    const o = options(config);
    const pooled = activation(o.poolerHiddenAct, w.linear(w.dropout(firstTokens(last, inputs), o.poolerDropout), 'pooler.dense')) as tf.Tensor2D;
    return w.linear(w.dropout(pooled, o.clsDropout ?? config.hiddenDropout), 'classifier') as tf.Tensor2D;
  },
};
