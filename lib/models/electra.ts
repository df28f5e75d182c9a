/**
 * ELECTRA discriminator (transformers' modeling_electra.py; KoELECTRA): BERT's layers over embeddings
 * of width `embedding_size`, projected to the hidden size by `electra.embeddings_project` when the two
 * differ; no pooler; a two-layer GELU classification head on `[CLS]`.
 */
import { absolutePositions, type ArchitectureImpl } from './architecture.js';
import { bertEmbeddings, bertEmbeddingSpecs, bertLayers, bertLayerSpecs, tokenClassifier, tokenClassifierSpecs } from './bert.js';
import { activation } from './ops.js';
import { twoLayerHead, twoLayerHeadSpecs } from './roberta.js';
import { linearSpecs, type WeightSpec } from './weights.js';
import * as tf from '@tensorflow/tfjs';

export const electra: ArchitectureImpl = {
  weightSpecs(config, task, labels) {
    const specs: WeightSpec[] = bertEmbeddingSpecs(config, 'electra', config.embeddingSize);
    if (config.embeddingSize !== config.hiddenSize) specs.push(...linearSpecs('electra.embeddings_project', config.embeddingSize, config.hiddenSize));
    specs.push(...bertLayerSpecs(config, 'electra'));
    if (task === 'sequence-classification') specs.push(...twoLayerHeadSpecs(config, labels));
    if (task === 'token-classification') specs.push(...tokenClassifierSpecs(config, labels));
    return specs;
  },
  encode(w, config, inputs, collect) {
    let hidden = bertEmbeddings(w, config, 'electra', inputs, absolutePositions(inputs));
    if (config.embeddingSize !== config.hiddenSize) hidden = w.linear(hidden, 'electra.embeddings_project') as tf.Tensor2D;
    return bertLayers(w, config, 'electra', hidden, inputs, collect);
  },
  head(w, config, task, last, inputs) {
    return task === 'token-classification' ? tokenClassifier(w, config, last) : twoLayerHead(w, config, last, inputs, (x) => activation('gelu', x));
  },
};
