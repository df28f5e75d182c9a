/** Saving and loading a trained tagger or classifier (weights, architecture, vocabulary, tag/label names). */
import { InputError } from '../errors.js';
import { readContainer, writeContainer } from './model-file.js';
import { TextClassifier, type ClassifierConfig } from './models/classifier.js';
import { SequenceTagger, type TaggerConfig } from './models/tagger.js';
import type { ParameterManifestEntry } from '../tensor/parameters.js';
import { readConcatenated } from '../tensor/ops/scratch.js';
import { Vocabulary, type VocabularyJson } from './vocabulary.js';
import type { EncoderModel, EncoderModelDescription } from './encoder-model.js';

/** The models trained from scratch on syllables (saved as model.hanlab). */
export type SyllableModel = SequenceTagger | TextClassifier;
export type TrainableModel = SyllableModel | EncoderModel;

export interface ModelDescription {
  format: 'hanlab-model';
  version: 1;
  config: TaggerConfig | ClassifierConfig;
  vocabulary: VocabularyJson;
  /** Tag names (tagger) or label names (classifier), index = id. */
  classes: string[];
  manifest: ParameterManifestEntry[];
  seed: number;
}

/** Builds a fresh model from a description (weights initialised from its seed). */
export function createModel(config: TaggerConfig | ClassifierConfig, vocabulary: Vocabulary, classes: readonly string[], seed: number): SyllableModel {
  return config.kind === 'tagger' ? new SequenceTagger(config, vocabulary, classes, seed) : new TextClassifier(config, vocabulary, classes, seed);
}

export function describeModel(model: TrainableModel, seed: number): ModelDescription | EncoderModelDescription {
  // Pretrained encoders describe themselves (model folder, task, LoRA); they are rebuilt from the folder.
  if (model.kind === 'encoder') return model.describe(seed);
  return {
    format: 'hanlab-model',
    version: 1,
    config: model.config,
    vocabulary: model.vocabulary.toJSON(),
    classes: [...(model.kind === 'tagger' ? model.tags : model.labels)],
    manifest: model.parameters.manifest(),
    seed,
  };
}

export function modelFromDescription(description: ModelDescription, weights: Float32Array, file: string): SyllableModel {
  if (description.format !== 'hanlab-model' || description.version !== 1) {
    throw new InputError(`unsupported model format ${String(description.format)} v${String(description.version)}`, { file, field: 'format' });
  }
  let model: TrainableModel;
  try {
    model = createModel(description.config, Vocabulary.fromJSON(description.vocabulary), description.classes, description.seed);
  } catch (error) {
    throw new InputError(`the model description cannot be built: ${(error as Error).message}`, { file, field: 'model' }, { cause: error });
  }
  try {
    model.parameters.write(weights, description.manifest);
  } catch (error) {
    model.dispose();
    throw new InputError((error as Error).message, { file, field: 'weights' }, { cause: error });
  }
  return model;
}

/** Writes the model atomically to `file` (`extra` lands in the header, e.g. training metrics). */
export function saveModel(model: SyllableModel, file: string, seed: number, extra: Record<string, unknown> = {}): void {
  writeContainer(file, { ...extra, model: describeModel(model, seed) }, { weights: model.parameters.read() });
}

/** `saveModel` with the weights read back by an await (every backend; webgpu has no synchronous read). */
export async function saveModelAsync(model: SyllableModel, file: string, seed: number, extra: Record<string, unknown> = {}): Promise<void> {
  writeContainer(file, { ...extra, model: describeModel(model, seed) }, { weights: await readConcatenated(model.parameters.variables) });
}

export function loadModel(file: string): { model: SyllableModel; header: Record<string, unknown> } {
  const { header, arrays } = readContainer(file);
  const description = header.model as ModelDescription | undefined;
  const weights = arrays.get('weights');
  if (!description || !weights) throw new InputError('file holds no model (missing "model" header or "weights")', { file });
  return { model: modelFromDescription(description, weights, file), header };
}
