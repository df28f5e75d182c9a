/**
 * A Hugging Face `config.json`, read into one object that names every size the encoders need (as
 * transformers' BertConfig / RobertaConfig / ElectraConfig / DebertaV2Config do, with the same
 * defaults). Unknown architectures and impossible sizes are errors that name the file and the key.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../errors.js';

/** The encoder families lib/models implements (RoBERTa also covers XLM-RoBERTa). */
export type Architecture = 'bert' | 'roberta' | 'electra' | 'deberta-v2';

/** `model_type` values accepted, and the architecture each one runs. */
export const MODEL_TYPES: Readonly<Record<string, Architecture>> = {
  bert: 'bert',
  roberta: 'roberta',
  'xlm-roberta': 'roberta',
  electra: 'electra',
  'deberta-v2': 'deberta-v2',
};

/** The attribute holding the encoder in transformers' task models (`bert.encoder.layer.0…`). */
export const BASE_PREFIX: Readonly<Record<Architecture, string>> = { bert: 'bert', roberta: 'roberta', electra: 'electra', 'deberta-v2': 'deberta' };

export interface EncoderConfig {
  architecture: Architecture;
  /** `model_type` as written. */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  headSize: number;
  intermediateSize: number;
  hiddenAct: string;
  layerNormEps: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  padTokenId: number;
  /** ELECTRA (and DeBERTa) embedding width; equals hiddenSize when absent. */
  embeddingSize: number;
  hiddenDropout: number;
  attentionDropout: number;
  classifierDropout: number | null;
  /** DeBERTa-v2 only. */
  deberta?: {
    relativeAttention: boolean;
    /** log buckets (> 0) or -1 */
    positionBuckets: number;
    /** After the default (max_position_embeddings when < 1). */
    maxRelativePositions: number;
    posAttType: ('c2p' | 'p2c')[];
    shareAttKey: boolean;
    normRelEmbedding: boolean;
    positionBiasedInput: boolean;
    poolerHiddenSize: number;
    poolerHiddenAct: string;
    poolerDropout: number;
    clsDropout: number | null;
  };
  /** Label names from `id2label`, when the checkpoint was fine-tuned. */
  id2label: string[] | null;
  /** The whole file, for writing merged models back in HF's layout. */
  raw: Record<string, unknown>;
}

export const SUPPORTED_ACTIVATIONS = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu', 'tanh'] as const;

export function readEncoderConfig(file: string): EncoderConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InputError(`cannot read the model config: ${(error as Error).message}`, { file }, { cause: error });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError('is not a JSON object', { file });
  return parseEncoderConfig(raw as Record<string, unknown>, file);
}

export function parseEncoderConfig(raw: Record<string, unknown>, file: string): EncoderConfig {
  const modelType = raw.model_type;
  if (typeof modelType !== 'string') throw new InputError('has no "model_type" (is this a Hugging Face model folder?)', { file, field: 'model_type' });
  const architecture = Object.hasOwn(MODEL_TYPES, modelType) ? MODEL_TYPES[modelType] : undefined;
  if (!architecture) {
    throw new InputError(
      `model_type "${modelType}" is not an encoder hanlab can load; supported: ${Object.keys(MODEL_TYPES).join(', ')}` +
        (modelType === 'deberta' ? ' (DeBERTa v1 has a different attention; use a deberta-v2/v3 checkpoint)' : ''),
      { file, field: 'model_type' },
    );
  }
  const int = (key: string, fallback?: number, min = 1): number => {
    const value = raw[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new InputError(value === undefined ? 'is missing' : `must be an integer ≥ ${min}, got ${JSON.stringify(value)}`, { file, field: key });
    }
    return value;
  };
  const num = (key: string, fallback: number, check: (n: number) => boolean = (n) => n >= 0 && n < 1): number => {
    const value = raw[key] ?? fallback;
    if (typeof value !== 'number' || !check(value)) throw new InputError(`must be a number in range, got ${JSON.stringify(value)}`, { file, field: key });
    return value;
  };
  const activation = (key: string, fallback: string): string => {
    const value = raw[key] ?? fallback;
    if (typeof value !== 'string' || !(SUPPORTED_ACTIVATIONS as readonly string[]).includes(value)) {
      throw new InputError(`activation ${JSON.stringify(value)} is not supported (${SUPPORTED_ACTIVATIONS.join(', ')})`, { file, field: key });
    }
    return value;
  };
  const hiddenSize = int('hidden_size', 768);
  const numHeads = int('num_attention_heads', 12);
  const headSize = architecture === 'deberta-v2' && raw.attention_head_size !== undefined ? int('attention_head_size') : hiddenSize / numHeads;
  if (!Number.isInteger(headSize)) throw new InputError(`hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`, { file, field: 'num_attention_heads' });
  const classifierDropout = raw.classifier_dropout === undefined || raw.classifier_dropout === null ? null : num('classifier_dropout', 0);
  const config: EncoderConfig = {
    architecture,
    modelType,
    vocabSize: int('vocab_size'),
    hiddenSize,
    numLayers: int('num_hidden_layers', 12),
    numHeads,
    headSize,
    intermediateSize: int('intermediate_size', 3072),
    hiddenAct: activation('hidden_act', 'gelu'),
    layerNormEps: num('layer_norm_eps', architecture === 'deberta-v2' ? 1e-7 : 1e-12, (n) => n > 0 && n < 1),
    maxPositionEmbeddings: int('max_position_embeddings', 512),
    typeVocabSize: int('type_vocab_size', architecture === 'deberta-v2' ? 0 : 2, 0),
    padTokenId: int('pad_token_id', architecture === 'roberta' ? 1 : 0, 0),
    embeddingSize: architecture === 'electra' || architecture === 'deberta-v2' ? int('embedding_size', hiddenSize) : hiddenSize,
    hiddenDropout: num('hidden_dropout_prob', 0.1),
    attentionDropout: num('attention_probs_dropout_prob', 0.1),
    classifierDropout,
    id2label: readLabels(raw.id2label, file),
    raw,
  };
  if (architecture !== 'deberta-v2' && config.typeVocabSize < 1) throw new InputError('must be ≥ 1 for this architecture', { file, field: 'type_vocab_size' });
  if (architecture === 'deberta-v2') {
    if (typeof raw.conv_kernel_size === 'number' && raw.conv_kernel_size > 0) {
      throw new InputError('DeBERTa-v2 with a convolution layer (conv_kernel_size > 0, the xlarge/xxlarge v2 models) is not supported; v3 models have none', { file, field: 'conv_kernel_size' });
    }
    const relativeAttention = raw.relative_attention === true;
    let posAttType = raw.pos_att_type ?? [];
    if (typeof posAttType === 'string') posAttType = posAttType.toLowerCase().split('|').map((s) => s.trim());
    if (!Array.isArray(posAttType) || !posAttType.every((t) => t === 'c2p' || t === 'p2c')) {
      throw new InputError(`must list "c2p" and/or "p2c", got ${JSON.stringify(raw.pos_att_type)}`, { file, field: 'pos_att_type' });
    }
    const maxRelative = typeof raw.max_relative_positions === 'number' ? raw.max_relative_positions : -1;
    const normRel = typeof raw.norm_rel_ebd === 'string' ? raw.norm_rel_ebd.toLowerCase().split('|').map((s) => s.trim()) : ['none'];
    const poolerHiddenSize = int('pooler_hidden_size', hiddenSize);
    const clsDropout = raw.cls_dropout === undefined || raw.cls_dropout === null ? null : num('cls_dropout', 0);
    config.deberta = {
      relativeAttention,
      positionBuckets: typeof raw.position_buckets === 'number' ? raw.position_buckets : -1,
      maxRelativePositions: maxRelative < 1 ? config.maxPositionEmbeddings : maxRelative,
      posAttType: posAttType as ('c2p' | 'p2c')[],
      shareAttKey: raw.share_att_key === true,
      normRelEmbedding: normRel.includes('layer_norm'),
      positionBiasedInput: raw.position_biased_input === undefined ? true : raw.position_biased_input === true,
      poolerHiddenSize,
      poolerHiddenAct: activation('pooler_hidden_act', 'gelu'),
      poolerDropout: num('pooler_dropout', 0),
      clsDropout,
    };
  }
  return config;
}

function readLabels(value: unknown, file: string): string[] | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new InputError('must map label ids to names', { file, field: 'id2label' });
  const entries = Object.entries(value as Record<string, unknown>);
  const labels: string[] = new Array(entries.length);
  for (const [key, name] of entries) {
    const id = Number(key);
    if (!Number.isSafeInteger(id) || id < 0 || id >= entries.length || typeof name !== 'string' || labels[id] !== undefined) {
      throw new InputError(`ids must be 0…${entries.length - 1} with string names, got ${JSON.stringify(key)}: ${JSON.stringify(name)}`, { file, field: 'id2label' });
    }
    labels[id] = name;
  }
  return labels;
}
