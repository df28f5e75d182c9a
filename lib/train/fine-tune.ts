/**
 * Fine-tuning a pretrained encoder (a local Hugging Face folder) on sentence labels (NSMC, study 004's
 * news sentiment) or syllable tags (KLUE NER), fully or with LoRA, with lib/train's trainer (AdamW
 * without decay on biases and LayerNorm, warmup + linear decay, accumulation, automatic
 * micro-batching, early stopping, atomic checkpoints and resume). The API notebooks and `hanlab train`
 * call:
 *
 *   const tuned = await fineTuneEncoder({ modelDir: 'models/klue-bert-base', task: 'sequence-classification',
 *     train, validation, lora: { r: 8, alpha: 16, dropout: 0.1, targetModules: ['query', 'value'] },
 *     maxLength: 128, training: { epochs: 3, batchSize: 32, learningRate: 2e-4, seed: 42 } });
 *   console.log(tuned.trainableParameters.line);   // trainable params: … || all params: … || trainable%: …
 *   saveFineTunedEncoder(tuned.model, 'out/model', { maxLength: 128 });   // → out/model/adapter/, out/model/merged/
 */
import path from 'node:path';
import { InputError } from '../errors.js';
import type { LabeledTexts } from '../data/text-classification.js';
import { f1Score, precisionScore, recallScore } from '../metrics/seqeval.js';
import { writeAdapter, writeMergedModel, type FineTunedInfo, loadFineTuned } from '../models/export.js';
import { formatTrainableParameters, type LoraSettings } from '../models/lora.js';
import { makeBatch, planBatches, type EncodedExample } from './batching.js';
import { EncoderModel, type EncoderTaskKind } from './encoder-model.js';
import { encodeSentencesForEncoder, encodeTextsForEncoder, projectToSyllables, type EncodedSentences } from './encoder-data.js';
import { classificationFigures, type TaggedSentence } from './examples.js';
import { collectTags } from '../data/klue-ner.js';
import { trainModel, type TrainHistory, type TrainOptions, type ValidationResult } from './trainer.js';

export interface FineTuneEncoderOptions {
  /** The model folder (config.json, model.safetensors, tokenizer). */
  modelDir: string;
  /** The name as the user wrote it (for messages and the adapter's base_model_name_or_path). */
  modelName?: string;
  task: EncoderTaskKind;
  train: LabeledTexts | readonly TaggedSentence[];
  validation?: LabeledTexts | readonly TaggedSentence[];
  /** Label names (sequence) or tag names (token); default: the data's (`O` first for tags). */
  labels?: readonly string[];
  /** LoRA settings, or null / absent for full fine-tuning. */
  lora?: LoraSettings | null;
  /** Tokens per example (with `[CLS]`/`[SEP]`); longer texts are truncated. */
  maxLength: number;
  /** Trainer options; `maxLength` is ignored (the tokenizer truncates). Default weight decay 0.01. */
  training: TrainOptions;
  /** Data file, for error messages. */
  source?: string;
  log?: (line: string) => void;
}

export interface FineTunedEncoder {
  model: EncoderModel;
  history: TrainHistory;
  /** Validation figures of the restored (best) model. */
  validation: ValidationResult | null;
  seconds: number;
  /** PEFT's `print_trainable_parameters` figures and line. */
  trainableParameters: { trainable: number; all: number; line: string };
  /** What loading the checkpoint noticed (new head, unused tensors). */
  notes: string[];
}

function isTexts(data: LabeledTexts | readonly TaggedSentence[]): data is LabeledTexts {
  return !Array.isArray(data);
}

export async function fineTuneEncoder(options: FineTuneEncoderOptions): Promise<FineTunedEncoder> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const { task, train, validation } = options;
  let labels: readonly string[];
  if (task === 'sequence-classification') {
    if (!isTexts(train)) throw new InputError('sequence classification needs texts with labels');
    if (train.texts.length !== train.labels.length) throw new InputError('training texts and labels differ in length');
    labels = options.labels ?? train.labelNames;
  } else {
    if (isTexts(train)) throw new InputError('token classification needs syllable-tagged sentences');
    labels = options.labels ?? collectTags([...train, ...((validation as readonly TaggedSentence[] | undefined) ?? [])]);
  }
  const model = await EncoderModel.load(options.modelDir, { task, labels: [...labels], lora: options.lora ?? null, seed: options.training.seed }, options.modelName ?? options.modelDir);
  try {
    for (const note of model.encoder.notes) log(`note: ${note}`);
    const trainable = model.encoder.trainableCount;
    const all = model.encoder.totalCount;
    const line = formatTrainableParameters(trainable, all);
    log(line);
    const { tokenizer } = model.encoder;
    let examples: EncodedExample[];
    let evaluate: ((m: unknown) => Promise<ValidationResult>) | null = null;
    if (task === 'sequence-classification') {
      const texts = train as LabeledTexts;
      examples = await encodeTextsForEncoder(tokenizer, texts.texts, options.maxLength, texts.labels);
      const held = validation as LabeledTexts | undefined;
      if (held && held.texts.length > 0) {
        const encoded = await encodeTextsForEncoder(tokenizer, held.texts, options.maxLength);
        evaluate = async () => {
          const predicted = (await probabilitiesOf(model, encoded)).map(argmax);
          const figures = classificationFigures(held.labels, predicted, labels.length);
          return { score: figures.accuracy, metrics: figures };
        };
      }
    } else {
      const sentences = train as readonly TaggedSentence[];
      const encoded = await encodeSentencesForEncoder(tokenizer, sentences, options.maxLength, labels, options.source);
      if (encoded.uncovered > 0) log(`note: ${encoded.uncovered} syllables of the training sentences lie beyond ${options.maxLength} tokens or are dropped by the tokenizer (not trained)`);
      examples = encoded.examples;
      const held = validation as readonly TaggedSentence[] | undefined;
      if (held && held.length > 0) {
        const heldEncoded = await encodeSentencesForEncoder(tokenizer, held, predictionLength(model));
        const gold = held.map((s) => [...s.tags]);
        evaluate = async () => {
          const predicted = await tagsOf(model, heldEncoded);
          const f1 = f1Score(gold, predicted);
          return { score: f1, metrics: { f1, precision: precisionScore(gold, predicted), recall: recallScore(gold, predicted) } };
        };
      }
    }
    // transformers' Trainer clips at global norm 1 (max_grad_norm); the tokenizer already truncated.
    const result = await trainModel(model, examples, evaluate, { clipNorm: 1, ...options.training, maxLength: undefined, log: options.training.log ?? log });
    return {
      model,
      history: result.history,
      validation: evaluate ? await evaluate(model) : null,
      // Wall-clock seconds of the whole run: this process, plus the ones a resume continued.
      seconds: (Date.now() - started) / 1000 + result.earlierSeconds,
      trainableParameters: { trainable, all, line },
      notes: model.encoder.notes,
    };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * Token limit for predictions (training truncates to maxLength): the tokenizer's `model_max_length`,
 * capped by the absolute position embeddings when the model has them (DeBERTa-v3 has none).
 */
export function predictionLength(model: EncoderModel): number {
  const { config, folder } = model.encoder;
  const declared = Number(folder.tokenizerConfig.model_max_length);
  const tokenizerLimit = Number.isSafeInteger(declared) && declared > 0 && declared < 100_000 ? declared : 512;
  const absolute = config.architecture !== 'deberta-v2' || config.deberta?.positionBiasedInput;
  const positions = config.maxPositionEmbeddings - (config.architecture === 'roberta' ? config.padTokenId + 1 : 0);
  return absolute ? Math.min(tokenizerLimit, positions) : tokenizerLimit;
}

/** Class probabilities per encoded text, in input order. */
export async function probabilitiesOf(model: EncoderModel, examples: readonly EncodedExample[], batchSize = 32): Promise<number[][]> {
  const classes = model.labels.length;
  const out: number[][] = new Array(examples.length);
  for (const indices of planBatches(examples.map((e) => e.ids.length), { batchSize, bucketing: true })) {
    const values = await model.probabilities(makeBatch(examples, indices));
    indices.forEach((index, row) => {
      out[index] = Array.from(values.subarray(row * classes, (row + 1) * classes));
    });
  }
  return out;
}

/** Syllable tags per encoded sentence (token argmax, projected to syllables), in input order. */
export async function tagsOf(model: EncoderModel, encoded: EncodedSentences, batchSize = 32): Promise<string[][]> {
  const classes = model.labels.length;
  const out: string[][] = new Array(encoded.examples.length);
  for (const indices of planBatches(encoded.examples.map((e) => e.ids.length), { batchSize, bucketing: true })) {
    const batch = makeBatch(encoded.examples, indices);
    const values = await model.probabilities(batch);
    indices.forEach((index, row) => {
      const perToken = Array.from({ length: batch.lengths[row] }, (_, t) => {
        const base = (row * batch.time + t) * classes;
        return model.labels[argmax(values.subarray(base, base + classes))];
      });
      out[index] = projectToSyllables(encoded.alignments[index], perToken);
    });
  }
  return out;
}

/** Class probabilities per text. */
export async function predictEncoderProbabilities(model: EncoderModel, texts: readonly string[], maxLength: number): Promise<number[][]> {
  return probabilitiesOf(model, await encodeTextsForEncoder(model.encoder.tokenizer, texts, maxLength));
}

/** Syllable tags per sentence (syllables as KLUE NER lists them). */
export async function predictEncoderTags(model: EncoderModel, sentences: readonly (readonly string[])[]): Promise<{ tags: string[][]; uncovered: number }> {
  const encoded = await encodeSentencesForEncoder(model.encoder.tokenizer, sentences.map((tokens) => ({ tokens })), predictionLength(model));
  return { tags: await tagsOf(model, encoded), uncovered: encoded.uncovered };
}

export interface SavedEncoder {
  /** `<outputDir>/adapter` (LoRA only). */
  adapterDir: string | null;
  /** `<outputDir>/merged`. */
  mergedDir: string;
}

/** Writes `<outputDir>/merged/` (HF layout) and, for LoRA, `<outputDir>/adapter/` (PEFT layout). */
export async function saveFineTunedEncoder(model: EncoderModel, outputDir: string, options: { maxLength: number }): Promise<SavedEncoder> {
  const { encoder } = model;
  const info: FineTunedInfo = {
    format: 'hanlab-fine-tuned',
    task: model.task,
    labels: [...model.labels],
    maxLength: options.maxLength,
    baseModel: path.resolve(encoder.folder.dir),
    baseModelName: model.modelName,
    unit: model.task === 'token-classification' ? 'syllable' : 'text',
  };
  const mergedDir = path.join(outputDir, 'merged');
  await writeMergedModel(encoder, mergedDir, info);
  let adapterDir: string | null = null;
  if (encoder.setup.lora) {
    adapterDir = path.join(outputDir, 'adapter');
    await writeAdapter(encoder, adapterDir, info);
  }
  return { adapterDir, mergedDir };
}

/** Loads `<outputDir>/merged` or `<outputDir>/adapter` (or any HF / PEFT folder) for prediction. */
export async function loadFineTunedEncoder(dir: string): Promise<{ model: EncoderModel; maxLength: number }> {
  const { encoder, info } = await loadFineTuned(dir);
  return { model: new EncoderModel(encoder, info?.baseModelName ?? dir), maxLength: info?.maxLength ?? encoder.config.maxPositionEmbeddings };
}

/** What `hanlab predict` needs from a model: syllable tags per sentence, or label probabilities per text. */
export type Predictor =
  | { kind: 'tagger'; tag(sentences: string[][]): Promise<string[][]> }
  | { kind: 'classifier'; labels: readonly string[]; probabilities(texts: string[]): Promise<number[][]> };

/** Loads a fine-tuned encoder folder as a Predictor (syllables no token covers are tagged `O`, with a note). */
export async function encoderPredictor(dir: string, log: (line: string) => void = (line) => console.error(line)): Promise<{ model: EncoderModel; predictor: Predictor }> {
  const { model, maxLength } = await loadFineTunedEncoder(dir);
  const predictor: Predictor =
    model.task === 'token-classification'
      ? {
          kind: 'tagger',
          async tag(sentences) {
            const { tags, uncovered } = await predictEncoderTags(model, sentences);
            if (uncovered > 0) log(`note: ${uncovered} syllables lie beyond the model's ${predictionLength(model)} tokens or are dropped by its tokenizer; they are tagged O`);
            return tags;
          },
        }
      : { kind: 'classifier', labels: model.labels, probabilities: (texts) => predictEncoderProbabilities(model, texts, maxLength) };
  return { model, predictor };
}
