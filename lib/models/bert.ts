/**
 * BERT (transformers' modeling_bert.py): word + position + token-type embeddings and LayerNorm, then
 * post-norm transformer layers (self-attention → dense → LayerNorm(x + ·), GELU feed-forward →
 * LayerNorm(x + ·)), a tanh pooler on `[CLS]`, and the task heads. RoBERTa and ELECTRA reuse these
 * layers (roberta.ts, electra.ts), as transformers' "Copied from" modules do.
 */
import * as tf from '@tensorflow/tfjs';
import {
  absolutePositions,
  firstTokens,
  keyMaskBias,
  tokenIds,
  typeIds,
  type ArchitectureImpl,
  type EncoderInputs,
  type EncoderTask,
} from './architecture.js';
import type { EncoderConfig } from './config.js';
import { activation, batchMatMul, mergeHeads, splitHeads } from './ops.js';
import { layerNormSpecs, linearSpecs, type LayerContext, type WeightSpec } from './weights.js';

/** Embedding tables of a BERT-style model (`width` = embedding size). */
export function bertEmbeddingSpecs(config: EncoderConfig, prefix: string, width: number): WeightSpec[] {
  return [
    { name: `${prefix}.embeddings.word_embeddings.weight`, shape: [config.vocabSize, width], role: 'embedding' },
    { name: `${prefix}.embeddings.position_embeddings.weight`, shape: [config.maxPositionEmbeddings, width], role: 'embedding' },
    { name: `${prefix}.embeddings.token_type_embeddings.weight`, shape: [config.typeVocabSize, width], role: 'embedding' },
    ...layerNormSpecs(`${prefix}.embeddings.LayerNorm`, width),
  ];
}

/** The attention output block and the feed-forward block of layer `name` (shared with DeBERTa). */
export function layerTailSpecs(config: EncoderConfig, name: string): WeightSpec[] {
  const h = config.hiddenSize;
  return [
    ...linearSpecs(`${name}.attention.output.dense`, config.numHeads * config.headSize, h),
    ...layerNormSpecs(`${name}.attention.output.LayerNorm`, h),
    ...linearSpecs(`${name}.intermediate.dense`, h, config.intermediateSize),
    ...linearSpecs(`${name}.output.dense`, config.intermediateSize, h),
    ...layerNormSpecs(`${name}.output.LayerNorm`, h),
  ];
}

export function bertLayerSpecs(config: EncoderConfig, prefix: string): WeightSpec[] {
  const specs: WeightSpec[] = [];
  const h = config.hiddenSize;
  const all = config.numHeads * config.headSize;
  for (let i = 0; i < config.numLayers; i++) {
    const name = `${prefix}.encoder.layer.${i}`;
    for (const part of ['query', 'key', 'value']) specs.push(...linearSpecs(`${name}.attention.self.${part}`, h, all));
    specs.push(...layerTailSpecs(config, name));
  }
  return specs;
}

/** Word + position + token-type embeddings, LayerNorm, dropout → `[B·L, width]`. */
export function bertEmbeddings(w: LayerContext, config: EncoderConfig, prefix: string, inputs: EncoderInputs, positions: tf.Tensor2D): tf.Tensor2D {
  const width = w.weight(`${prefix}.embeddings.word_embeddings.weight`).shape[1] as number;
  let x = tf.add(w.embedding(`${prefix}.embeddings.word_embeddings`, tokenIds(inputs)), w.embedding(`${prefix}.embeddings.token_type_embeddings`, typeIds(inputs)));
  x = tf.add(x, w.embedding(`${prefix}.embeddings.position_embeddings`, positions));
  x = tf.reshape(x, [inputs.batch * inputs.length, width]);
  return w.dropout(w.layerNorm(x, `${prefix}.embeddings.LayerNorm`, config.layerNormEps), config.hiddenDropout) as tf.Tensor2D;
}

/** Scaled dot-product attention over heads: `q, k, v [B, nh, L, d]` → context `[B·L, nh·d]`. */
export function attend(w: LayerContext, config: EncoderConfig, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scores: (raw: tf.Tensor4D) => tf.Tensor, mask: (scores: tf.Tensor) => tf.Tensor): tf.Tensor2D {
  const [batch, heads, length, size] = q.shape;
  const flat = (x: tf.Tensor4D) => tf.reshape(x, [batch * heads, length, size]) as tf.Tensor3D;
  const raw = tf.reshape(batchMatMul(flat(q), tf.transpose(flat(k), [0, 2, 1])), [batch, heads, length, length]) as tf.Tensor4D;
  const probs = w.dropout(mask(scores(raw)), config.attentionDropout) as tf.Tensor4D;
  const context = batchMatMul(tf.reshape(probs, [batch * heads, length, length]) as tf.Tensor3D, flat(v));
  return mergeHeads(tf.reshape(context, [batch, heads, length, size]));
}

/** Dense → dropout → LayerNorm(· + input): transformers' `…SelfOutput` and `…Output`. */
export function residualOutput(w: LayerContext, config: EncoderConfig, name: string, x: tf.Tensor2D, input: tf.Tensor2D): tf.Tensor2D {
  const projected = w.dropout(w.linear(x, `${name}.dense`), config.hiddenDropout);
  return w.layerNorm(tf.add(projected, input), `${name}.LayerNorm`, config.layerNormEps) as tf.Tensor2D;
}

/** Attention output block and feed-forward block of layer `name`. */
export function layerTail(w: LayerContext, config: EncoderConfig, name: string, context: tf.Tensor2D, input: tf.Tensor2D): tf.Tensor2D {
  const attended = residualOutput(w, config, `${name}.attention.output`, context, input);
  const intermediate = activation(config.hiddenAct, w.linear(attended, `${name}.intermediate.dense`)) as tf.Tensor2D;
  return residualOutput(w, config, `${name}.output`, intermediate, attended);
}

/** The transformer layers over `hidden [B·L, H]`; returns the input and every layer's output when `collect`. */
export function bertLayers(w: LayerContext, config: EncoderConfig, prefix: string, hidden: tf.Tensor2D, inputs: EncoderInputs, collect: boolean): tf.Tensor2D[] {
  const states = collect ? [hidden] : [];
  const maskBias = keyMaskBias(inputs);
  const scale = 1 / Math.sqrt(config.headSize);
  const { batch, length } = inputs;
  for (let i = 0; i < config.numLayers; i++) {
    const name = `${prefix}.encoder.layer.${i}`;
    const split = (part: string) => splitHeads(w.linear(hidden, `${name}.attention.self.${part}`), batch, length, config.numHeads);
    const context = attend(
      w,
      config,
      split('query'),
      split('key'),
      split('value'),
      (raw) => tf.mul(raw, scale),
      (scores) => tf.softmax(tf.add(scores, maskBias)),
    );
    hidden = layerTail(w, config, name, context, hidden);
    if (collect) states.push(hidden);
  }
  return collect ? states : [hidden];
}

/** Dropout rate of a classification head (`classifier_dropout`, else the hidden dropout). */
export function classifierDropout(config: EncoderConfig): number {
  return config.classifierDropout ?? config.hiddenDropout;
}

export function tokenClassifierSpecs(config: EncoderConfig, labels: number): WeightSpec[] {
  return linearSpecs('classifier', config.hiddenSize, labels, { head: true });
}

export function tokenClassifier(w: LayerContext, config: EncoderConfig, last: tf.Tensor2D): tf.Tensor2D {
  return w.linear(w.dropout(last, classifierDropout(config)), 'classifier') as tf.Tensor2D;
}

export const bert: ArchitectureImpl = {
  weightSpecs(config: EncoderConfig, task: EncoderTask, labels: number): WeightSpec[] {
    const specs = [...bertEmbeddingSpecs(config, 'bert', config.hiddenSize), ...bertLayerSpecs(config, 'bert')];
    // BertForTokenClassification builds BertModel without the pooler.
    if (task !== 'token-classification') specs.push(...linearSpecs('bert.pooler.dense', config.hiddenSize, config.hiddenSize));
    if (task === 'sequence-classification') specs.push(...linearSpecs('classifier', config.hiddenSize, labels, { head: true }));
    if (task === 'token-classification') specs.push(...tokenClassifierSpecs(config, labels));
    return specs;
  },
  encode(w, config, inputs, collect) {
    const embedded = bertEmbeddings(w, config, 'bert', inputs, absolutePositions(inputs));
    return bertLayers(w, config, 'bert', embedded, inputs, collect);
  },
  head(w, config, task, last, inputs) {
    if (task === 'token-classification') return tokenClassifier(w, config, last);
    const pooled = tf.tanh(w.linear(firstTokens(last, inputs), 'bert.pooler.dense')) as tf.Tensor2D;
    return w.linear(w.dropout(pooled, classifierDropout(config)), 'classifier') as tf.Tensor2D;
  },
};
