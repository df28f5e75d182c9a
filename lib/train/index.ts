/**
 * `lib/train`: train syllable-level taggers (KLUE NER) and sentence classifiers (NSMC) with
 * TensorFlow.js. The two entry points below build the vocabulary and the model from data, run the
 * trainer and return the model with its history; notebooks and the CLI call only these (and the
 * prediction / evaluation helpers re-exported here).
 *
 *   const { model, history } = await trainTagger({ train, validation, training: { epochs: 20, batchSize: 32, learningRate: 2e-3, seed: 42 } });
 *   saveModel(model, 'models/ner.hanlab', 42);
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.js';
import type { LabeledTexts } from '../data/text-classification.js';
import { encodeTaggedSentences, encodeTexts, evaluateClassifierAsync, evaluateTaggerAsync, type TaggedSentence } from './examples.js';
import { collectTags } from '../data/klue-ner.js';
import { TextClassifier, DEFAULT_CLASSIFIER_CONFIG, type ClassifierConfig } from './models/classifier.js';
import { SequenceTagger, DEFAULT_TAGGER_CONFIG, type TaggerConfig } from './models/tagger.js';
import { trainModel, type TrainHistory, type TrainOptions, type ValidationResult } from './trainer.js';
import { syllables, Vocabulary } from './vocabulary.js';
import type { EncodedExample } from './batching.js';
import type { TrainableModel } from './saved-model.js';

export * from './examples.js';
export { SequenceTagger, DEFAULT_TAGGER_CONFIG, type TaggerConfig, type TaggerHead } from './models/tagger.js';
export { TextClassifier, DEFAULT_CLASSIFIER_CONFIG, type ClassifierConfig } from './models/classifier.js';
export type { SyllableEncoderConfig, EncoderType } from './models/encoder.js';
export { saveModel, saveModelAsync, loadModel, type TrainableModel } from './saved-model.js';
export {
  trainModel,
  detectOverfitting,
  isAllocationFailure,
  isBackendAbort,
  resolveWorkers,
  AllocationError,
  TrainingDivergedError,
  OutOfMemoryError,
  NonFiniteOutputError,
  MAX_MICRO_BATCH_POSITIONS,
  CHECKPOINT_FILE,
  type TrainOptions,
  type TrainHistory,
  type TrainResult,
  type StepRecord,
  type EpochRecord,
  type TrainEvent,
  type OverfittingSignal,
  type ValidationResult,
  type Evaluator,
} from './trainer.js';
export { Vocabulary, syllables } from './vocabulary.js';
export { createProgress, type ProgressMode, type ProgressReporter } from './progress.js';
export { planBatches, paddingEfficiency, makeBatch, type Batch, type EncodedExample } from './batching.js';
export {
  fineTuneEncoder,
  saveFineTunedEncoder,
  loadFineTunedEncoder,
  predictEncoderProbabilities,
  predictEncoderTags,
  type FineTuneEncoderOptions,
  type FineTunedEncoder,
} from './fine-tune.js';
export { EncoderModel } from './encoder-model.js';

/** The model kinds `hanlab train` and the notebooks name. */
export const MODEL_KINDS = ['conv-crf', 'bilstm-crf', 'conv-softmax', 'bilstm-softmax', 'conv-classifier', 'bilstm-classifier'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** Architecture defaults for a model kind. */
export function modelConfigFor(kind: ModelKind): TaggerConfig | ClassifierConfig {
  const [encoder, head] = kind.split('-') as ['conv' | 'bilstm', string];
  if (head === 'classifier') {
    return encoder === 'conv' ? { ...DEFAULT_CLASSIFIER_CONFIG } : { ...DEFAULT_CLASSIFIER_CONFIG, encoder, hiddenDim: 128 };
  }
  return encoder === 'conv'
    ? { ...DEFAULT_TAGGER_CONFIG, head: head as 'crf' | 'softmax' }
    : { ...DEFAULT_TAGGER_CONFIG, encoder, head: head as 'crf' | 'softmax', hiddenDim: 128 };
}

export interface VocabularyOptions {
  /** Keep syllables seen at least this often in training (default 1). */
  minCount?: number;
  maxSize?: number;
}

export interface TrainTaggerInput {
  train: readonly TaggedSentence[];
  validation?: readonly TaggedSentence[];
  /** Architecture; unset fields take DEFAULT_TAGGER_CONFIG's values. */
  model?: Partial<Omit<TaggerConfig, 'kind'>>;
  training: TrainOptions;
  vocabulary?: VocabularyOptions;
  /** Tag names (default: those in the data, `O` first). */
  tags?: readonly string[];
  /** File name for error messages. */
  source?: string;
}

/** A trained model, its history, and how the restored (best) weights did on validation. */
export interface Trained<M> {
  model: M;
  history: TrainHistory;
  /** Validation figures of the restored (best) model. */
  validation: ValidationResult | null;
  /** Wall-clock seconds over every process of the run (a resumed run includes the earlier ones). */
  seconds: number;
}

export type TrainedTagger = Trained<SequenceTagger>;

export async function trainTagger(input: TrainTaggerInput): Promise<TrainedTagger> {
  const started = Date.now();
  const config: TaggerConfig = { ...DEFAULT_TAGGER_CONFIG, ...input.model, kind: 'tagger' };
  const tags = input.tags ?? collectTags([...input.train, ...(input.validation ?? [])]);
  const vocabulary = Vocabulary.build(input.train.map((s) => s.tokens), input.vocabulary);
  const examples = encodeTaggedSentences(input.train, vocabulary, tags, { checkIob2: config.head === 'crf', source: input.source });
  if (input.validation) encodeTaggedSentences(input.validation, vocabulary, tags, { checkIob2: false, source: input.source });
  const model = new SequenceTagger(config, vocabulary, tags, input.training.seed);
  const validation = input.validation;
  const evaluate = validation && validation.length > 0 ? (m: unknown) => evaluateTaggerAsync(m as SequenceTagger, validation) : null;
  return trainAndValidate(model, examples, evaluate, input.training, started);
}

export interface TrainClassifierInput {
  train: LabeledTexts;
  validation?: LabeledTexts;
  model?: Partial<Omit<ClassifierConfig, 'kind'>>;
  training: TrainOptions;
  vocabulary?: VocabularyOptions;
}

export type TrainedClassifier = Trained<TextClassifier>;

export async function trainClassifier(input: TrainClassifierInput): Promise<TrainedClassifier> {
  const started = Date.now();
  const config: ClassifierConfig = { ...DEFAULT_CLASSIFIER_CONFIG, ...input.model, kind: 'classifier' };
  const { train } = input;
  if (train.texts.length !== train.labels.length) throw new InputError('training texts and labels differ in length');
  const vocabulary = Vocabulary.build(train.texts.map(syllables), input.vocabulary);
  const examples = encodeTexts(train.texts, vocabulary, train.labels);
  const model = new TextClassifier(config, vocabulary, train.labelNames, input.training.seed);
  const validation = input.validation;
  const maxLength = input.training.maxLength;
  const evaluate =
    validation && validation.texts.length > 0 ? (m: unknown) => evaluateClassifierAsync(m as TextClassifier, validation.texts, validation.labels, { maxLength }) : null;
  return trainAndValidate(model, examples, evaluate, input.training, started);
}

/** Trains `model`, then validates the restored (best) weights; what trainTagger and trainClassifier return. */
async function trainAndValidate<M extends TrainableModel>(
  model: M,
  examples: EncodedExample[],
  evaluate: ((model: unknown) => Promise<ValidationResult>) | null,
  training: TrainOptions,
  started: number,
): Promise<Trained<M>> {
  const result = await trainModel(model, examples, evaluate, training);
  return {
    model,
    history: result.history,
    validation: evaluate ? await evaluate(model) : null,
    // Wall-clock seconds of the whole run: this process, plus the ones a resume continued.
    seconds: (Date.now() - started) / 1000 + result.earlierSeconds,
  };
}

/** Tensors alive now (for leak checks in notebooks and tests). */
export function liveTensors(): number {
  return tf.memory().numTensors;
}
