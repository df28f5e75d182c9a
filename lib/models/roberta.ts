/**
 * RoBERTa (transformers' modeling_roberta.py; also XLM-RoBERTa): BERT's layers, with position ids
 * that count from `pad_token_id + 1` over non-padding tokens (padding keeps `pad_token_id`), no pooler
 * in the task models, and a two-layer tanh classification head on `<s>` / `[CLS]`.
 */
import * as tf from '@tensorflow/tfjs';
import { firstTokens, type ArchitectureImpl, type EncoderInputs } from './architecture.js';
import { bertEmbeddings, bertEmbeddingSpecs, bertLayers, bertLayerSpecs, classifierDropout, tokenClassifier, tokenClassifierSpecs } from './bert.js';
import type { EncoderConfig } from './config.js';
import { linearSpecs, type LayerContext, type WeightSpec } from './weights.js';

/** transformers' `create_position_ids_from_input_ids`: `cumsum(mask) · mask + padding_idx`. */
export function robertaPositions(inputs: EncoderInputs, paddingIdx: number): tf.Tensor2D {
  const values = new Int32Array(inputs.batch * inputs.length);
  for (let row = 0; row < inputs.batch; row++) {
    let count = 0;
    for (let t = 0; t < inputs.length; t++) {
      const at = row * inputs.length + t;
      const real = inputs.ids[at] !== paddingIdx;
      if (real) count++;
      values[at] = real ? count + paddingIdx : paddingIdx;
    }
  }
  return tf.tensor2d(values, [inputs.batch, inputs.length], 'int32');
}

/** `classifier.dense` → activation → `classifier.out_proj` on the first token (RoBERTa: tanh; ELECTRA: GELU). */
export function twoLayerHeadSpecs(config: EncoderConfig, labels: number): WeightSpec[] {
  return [...linearSpecs('classifier.dense', config.hiddenSize, config.hiddenSize, { head: true }), ...linearSpecs('classifier.out_proj', config.hiddenSize, labels, { head: true })];
}

export function twoLayerHead(w: LayerContext, config: EncoderConfig, last: tf.Tensor2D, inputs: EncoderInputs, act: (x: tf.Tensor) => tf.Tensor): tf.Tensor2D {
  const rate = classifierDropout(config);
  const x = act(w.linear(w.dropout(firstTokens(last, inputs), rate), 'classifier.dense')) as tf.Tensor2D;
  return w.linear(w.dropout(x, rate), 'classifier.out_proj') as tf.Tensor2D;
}

export const roberta: ArchitectureImpl = {
  weightSpecs(config, task, labels) {
    const specs = [...bertEmbeddingSpecs(config, 'roberta', config.hiddenSize), ...bertLayerSpecs(config, 'roberta')];
    if (task === 'sequence-classification') specs.push(...twoLayerHeadSpecs(config, labels));
    if (task === 'token-classification') specs.push(...tokenClassifierSpecs(config, labels));
    return specs;
  },
  encode(w, config, inputs, collect) {
    const embedded = bertEmbeddings(w, config, 'roberta', inputs, robertaPositions(inputs, config.padTokenId));
    return bertLayers(w, config, 'roberta', embedded, inputs, collect);
  },
  head(w, config, task, last, inputs) {
    return task === 'token-classification' ? tokenClassifier(w, config, last) : twoLayerHead(w, config, last, inputs, tf.tanh);
  },
};
