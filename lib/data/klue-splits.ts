/**
 * The KLUE NER sentences a training config names, split into train / validation (/ test): by the
 * fixed partition (`--klue-partition`), by a validation file, or by a seeded split. Every trainer of
 * taggers (BiLSTM/conv, pretrained encoders) reads its data through here.
 */
import { InputError } from '../errors.js';
import { SeededRandom } from '../tensor/rng.js';
import type { TrainingConfig } from './config-ini.js';
import { collectTags, readKlueNer, type KlueSentence } from './klue-ner.js';
import { loadKluePartition, splitKlueSentences } from './klue-partition.js';

/**
 * KLUE NER sentences of a config, split into train / validation (/ test with a partition file), and
 * their tag values, checked against num_labels (`who` names the model family in the message).
 */
export function readKlueSplits(
  config: TrainingConfig,
  partitionOption: string | undefined,
  who: string,
): { train: KlueSentence[]; validation: KlueSentence[]; test: KlueSentence[] | null; tags: string[] } {
  const sentences = readKlueNer(config.trainFile);
  let train: KlueSentence[];
  let validation: KlueSentence[];
  let test: KlueSentence[] | null = null;
  if (partitionOption !== undefined) {
    const splits = splitKlueSentences(sentences, loadKluePartition(partitionOption));
    ({ train, validation, test } = splits);
  } else if (config.validFile) {
    train = sentences;
    validation = readKlueNer(config.validFile);
  } else {
    ({ train, validation } = splitSentences(sentences, config.splitRatio ?? 0.2, config.seed));
  }
  const tags = collectTags([...train, ...validation]);
  if (tags.length !== config.numLabels) {
    throw new InputError(
      `num_labels is ${config.numLabels} but the data has ${tags.length} tag values (${tags.join(' ')}); for ${who} num_labels counts tag values`,
      { file: config.file, field: '[Hyperparameters] num_labels' },
    );
  }
  return { train, validation, test, tags };
}

/** Seeded split of sentences into train / validation (for taggers without a validation file). */
export function splitSentences<T>(sentences: readonly T[], ratio: number, seed: number): { train: T[]; validation: T[] } {
  const order = new SeededRandom(seed).shuffle(sentences.map((_, i) => i));
  const count = Math.min(sentences.length - 1, Math.max(1, Math.round(sentences.length * ratio)));
  const inValidation = new Set(order.slice(0, count));
  return {
    train: sentences.filter((_, i) => !inValidation.has(i)),
    validation: sentences.filter((_, i) => inValidation.has(i)),
  };
}
