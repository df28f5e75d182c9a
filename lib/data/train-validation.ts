/**
 * Training and validation data for the classifiers: a validation file when given, else a seeded,
 * stratified split of the training file (each class keeps its share).
 */
import { InputError, UsageError } from '../errors.js';
import { createRng, shuffleInPlace } from '../random.js';
import { loadTextClassification, type LabeledTexts, type TextClassificationDataset, type TextClassificationOptions } from './text-classification.js';

export interface SplitOptions {
  /** Share of each class that goes to validation, in (0, 1). */
  ratio: number;
  seed: number;
}

export interface TrainValidationSplit {
  train: LabeledTexts;
  validation: LabeledTexts;
  /** Indices into the split data set, ascending (file order is kept). */
  trainIndices: number[];
  validationIndices: number[];
  ratio: number;
  seed: number;
}

/**
 * How many examples of each class go to validation: the total is round(n × ratio) (kept between 1 and
 * n − 1), shared by largest remainder so every class gets floor or ceil of its own n_c × ratio.
 */
export function stratifiedQuotas(classSizes: readonly number[], ratio: number): number[] {
  const n = classSizes.reduce((a, b) => a + b, 0);
  const total = Math.min(n - 1, Math.max(1, Math.round(n * ratio)));
  const exact = classSizes.map((size) => size * ratio);
  const quotas = exact.map(Math.floor);
  let left = total - quotas.reduce((a, b) => a + b, 0);
  const order = exact
    .map((value, id) => ({ id, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.id - b.id);
  if (left > 0) {
    for (const { id } of order) {
      if (left === 0) break;
      if (quotas[id] < classSizes[id]) {
        quotas[id]++;
        left--;
      }
    }
  } else if (left < 0) {
    // Only when clamping to n − 1 took one back: take it from the smallest remainder.
    for (const { id } of [...order].reverse()) {
      if (left === 0) break;
      if (quotas[id] > 0) {
        quotas[id]--;
        left++;
      }
    }
  }
  return quotas;
}

function pick(data: LabeledTexts, indices: number[]): LabeledTexts {
  return { texts: indices.map((i) => data.texts[i]), labels: indices.map((i) => data.labels[i]), labelNames: data.labelNames };
}

/**
 * Seeded, stratified train/validation split (for when no validation file is given). Each class is
 * shuffled with the seed and its quota (see `stratifiedQuotas`) goes to validation; both parts keep
 * the original order.
 */
export function splitTrainValidation(data: LabeledTexts, options: SplitOptions): TrainValidationSplit {
  const { ratio, seed } = options;
  if (!(ratio > 0 && ratio < 1)) throw new UsageError(`split ratio must be between 0 and 1 (exclusive), got ${ratio}`);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`seed must be an integer, got ${seed}`);
  if (data.texts.length !== data.labels.length) throw new UsageError('texts and labels differ in length');
  if (data.texts.length < 2) throw new UsageError(`need at least 2 examples to split, got ${data.texts.length}`);
  const byClass: number[][] = data.labelNames.map(() => []);
  data.labels.forEach((label, index) => {
    if (!Number.isInteger(label) || label < 0 || label >= byClass.length) throw new UsageError(`label id ${label} at index ${index} has no name`);
    byClass[label].push(index);
  });
  const quotas = stratifiedQuotas(byClass.map((c) => c.length), ratio);
  const rng = createRng(seed);
  const validationIndices: number[] = [];
  byClass.forEach((indices, id) => {
    validationIndices.push(...shuffleInPlace(indices.slice(), rng).slice(0, quotas[id]));
  });
  validationIndices.sort((a, b) => a - b);
  const inValidation = new Set(validationIndices);
  const trainIndices = data.texts.map((_, i) => i).filter((i) => !inValidation.has(i));
  return { train: pick(data, trainIndices), validation: pick(data, validationIndices), trainIndices, validationIndices, ratio, seed };
}

export interface TrainValidationOptions extends TextClassificationOptions {
  /** A validation file; when absent the training file is split. */
  validFile?: string | null;
  /** Validation share when splitting (config.ini `split_ratio`). */
  splitRatio?: number | null;
  seed?: number;
  /** When given (config.ini `num_labels`), the number of labels found must equal it. */
  numLabels?: number;
}

export interface TrainValidationData {
  train: LabeledTexts;
  validation: LabeledTexts;
  labelNames: string[];
  /** The loaded files, with their problems and duplicates. */
  trainSource: TextClassificationDataset;
  validationSource: TextClassificationDataset | null;
  /** The split, when the validation part came from the training file. */
  split: TrainValidationSplit | null;
}

/**
 * Training and validation data as study 004's scripts take them: a validation file when given (its
 * labels must be among the training labels), else a seeded stratified split of the training file.
 */
export async function loadTrainValidation(trainFile: string, options: TrainValidationOptions = {}): Promise<TrainValidationData> {
  const { validFile, splitRatio, seed = 42, numLabels, ...loadOptions } = options;
  const trainSource = await loadTextClassification(trainFile, loadOptions);
  if (numLabels !== undefined && trainSource.labelNames.length !== numLabels) {
    throw new InputError(
      `has ${trainSource.labelNames.length} labels (${trainSource.labelNames.join(', ')}) but num_labels is ${numLabels}`,
      { file: trainFile, field: 'num_labels' },
    );
  }
  if (validFile) {
    const validationSource = await loadTextClassification(validFile, { ...loadOptions, labelOrder: trainSource.labelNames });
    return { train: trainSource, validation: validationSource, labelNames: trainSource.labelNames, trainSource, validationSource, split: null };
  }
  if (splitRatio === undefined || splitRatio === null) {
    throw new UsageError('no validation file and no split ratio: set valid_file or split_ratio');
  }
  const split = splitTrainValidation(trainSource, { ratio: splitRatio, seed });
  return { train: split.train, validation: split.validation, labelNames: trainSource.labelNames, trainSource, validationSource: null, split };
}
