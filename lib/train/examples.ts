/**
 * From data to model inputs and back: tagged sentences and labelled texts become encoded examples;
 * predictions become tag strings and labels; evaluation gives the figures early stopping uses
 * (seqeval micro F1 for taggers, accuracy and macro F1 for classifiers).
 */
import { InputError } from '../errors.js';
import { averageScores, type LabelCounts } from '../metrics/prf.js';
import { f1Score, precisionScore, recallScore } from '../metrics/seqeval.js';
import { makeBatch, planBatches, type EncodedExample } from './batching.js';
import type { TextClassifier } from './models/classifier.js';
import { iob2Constraints } from './models/crf.js';
import type { SequenceTagger } from './models/tagger.js';
import type { ValidationResult } from './trainer.js';
import { syllables, type Vocabulary } from './vocabulary.js';

/** A sentence as syllables with one tag each (KLUE NER: a space is a syllable of its own). */
export interface TaggedSentence {
  id?: string;
  tokens: readonly string[];
  tags: readonly string[];
}

/**
 * Encodes tagged sentences. Every tag must be in `tags`; with `checkIob2` every sentence must be valid
 * IOB2 (a CRF with IOB2 constraints gives an invalid gold path zero probability).
 */
export function encodeTaggedSentences(
  sentences: readonly TaggedSentence[],
  vocabulary: Vocabulary,
  tags: readonly string[],
  options: { checkIob2?: boolean; source?: string } = {},
): EncodedExample[] {
  const tagIndex = new Map(tags.map((tag, id) => [tag, id]));
  const constraints = options.checkIob2 ? iob2Constraints(tags) : undefined;
  return sentences.map((sentence, row) => {
    const where = { file: options.source, field: sentence.id ? `sentence ${sentence.id}` : `sentence #${row + 1}` };
    if (sentence.tokens.length !== sentence.tags.length) {
      throw new InputError(`has ${sentence.tokens.length} syllables but ${sentence.tags.length} tags`, where);
    }
    if (sentence.tokens.length === 0) throw new InputError('is empty', where);
    const ids = new Int32Array(sentence.tags.length);
    sentence.tags.forEach((tag, position) => {
      const id = tagIndex.get(tag);
      if (id === undefined) throw new InputError(`tag "${tag}" at syllable ${position + 1} is not one of ${tags.join(' ')}`, where);
      if (constraints) {
        const ok = position === 0 ? constraints.allowedStart[id] : constraints.allowed[ids[position - 1] * tags.length + id];
        if (!ok) {
          throw new InputError(`tag "${tag}" at syllable ${position + 1} breaks IOB2 (follows "${position === 0 ? 'start' : sentence.tags[position - 1]}")`, where);
        }
      }
      ids[position] = id;
    });
    return { ids: vocabulary.encode(sentence.tokens), tags: ids };
  });
}

/** Encodes texts (split into syllables) with optional label ids. */
export function encodeTexts(texts: readonly string[], vocabulary: Vocabulary, labels?: readonly number[]): EncodedExample[] {
  return texts.map((text, row) => {
    const tokens = syllables(text);
    // An empty text still gets one padding position so it has a (neutral) prediction.
    const ids = tokens.length > 0 ? vocabulary.encode(tokens) : new Int32Array([vocabulary.id(' ')]);
    return labels ? { ids, label: labels[row] } : { ids };
  });
}

/** Tag strings per sentence, predicted in length-sorted batches (the output keeps input order). */
export function predictTagStrings(model: SequenceTagger, sentences: readonly (readonly string[])[], batchSize = 64): string[][] {
  const examples = sentences.map((tokens) => ({ ids: model.vocabulary.encode(tokens) }));
  const out: string[][] = new Array(sentences.length);
  for (const indices of planBatches(examples.map((e) => e.ids.length), { batchSize, bucketing: true })) {
    const batch = makeBatch(examples, indices);
    model.predict(batch).forEach((path, row) => {
      out[indices[row]] = path.map((id) => model.tags[id]);
    });
  }
  return out;
}

/** Class probabilities per text. */
export function predictProbabilities(model: TextClassifier, texts: readonly string[], options: { batchSize?: number; maxLength?: number } = {}): number[][] {
  const examples = encodeTexts(texts, model.vocabulary);
  const out: number[][] = new Array(texts.length);
  for (const indices of planBatches(examples.map((e) => e.ids.length), { batchSize: options.batchSize ?? 128, bucketing: true })) {
    const batch = makeBatch(examples, indices, options.maxLength);
    model.predictProbabilities(batch).forEach((probabilities, row) => {
      out[indices[row]] = probabilities;
    });
  }
  return out;
}

/** Most probable class id per text. */
export function predictLabels(model: TextClassifier, texts: readonly string[], options: { batchSize?: number; maxLength?: number } = {}): number[] {
  return predictProbabilities(model, texts, options).map((p) => p.indexOf(Math.max(...p)));
}

/**
 * The asynchronous forms of the predictions and evaluations above: the same batches and the same
 * results, with the scores read back by an await, so that they run on a backend whose tensors stay on
 * the device (webgpu has no synchronous read). The CLI and the trainer's evaluators use these.
 */
export async function predictTagStringsAsync(model: SequenceTagger, sentences: readonly (readonly string[])[], batchSize = 64): Promise<string[][]> {
  const examples = sentences.map((tokens) => ({ ids: model.vocabulary.encode(tokens) }));
  const out: string[][] = new Array(sentences.length);
  for (const indices of planBatches(examples.map((e) => e.ids.length), { batchSize, bucketing: true })) {
    (await model.predictAsync(makeBatch(examples, indices))).forEach((path, row) => {
      out[indices[row]] = path.map((id) => model.tags[id]);
    });
  }
  return out;
}

export async function predictProbabilitiesAsync(model: TextClassifier, texts: readonly string[], options: { batchSize?: number; maxLength?: number } = {}): Promise<number[][]> {
  const examples = encodeTexts(texts, model.vocabulary);
  const out: number[][] = new Array(texts.length);
  for (const indices of planBatches(examples.map((e) => e.ids.length), { batchSize: options.batchSize ?? 128, bucketing: true })) {
    (await model.predictProbabilitiesAsync(makeBatch(examples, indices, options.maxLength))).forEach((probabilities, row) => {
      out[indices[row]] = probabilities;
    });
  }
  return out;
}

export async function evaluateTaggerAsync(model: SequenceTagger, sentences: readonly TaggedSentence[]): Promise<ValidationResult> {
  return taggerFigures(sentences, await predictTagStringsAsync(model, sentences.map((s) => s.tokens)));
}

export async function evaluateClassifierAsync(model: TextClassifier, texts: readonly string[], labels: readonly number[], options: { maxLength?: number } = {}): Promise<ValidationResult> {
  const predicted = (await predictProbabilitiesAsync(model, texts, options)).map((p) => p.indexOf(Math.max(...p)));
  return { score: accuracy(labels, predicted), metrics: classificationFigures(labels, predicted, model.labels.length) };
}

function taggerFigures(sentences: readonly TaggedSentence[], predicted: string[][]): ValidationResult {
  const gold = sentences.map((s) => [...s.tags]);
  const f1 = f1Score(gold, predicted);
  return { score: f1, metrics: { f1, precision: precisionScore(gold, predicted), recall: recallScore(gold, predicted) } };
}

/** Seqeval (default mode) micro P/R/F1 of the tagger on gold sentences. */
export function evaluateTagger(model: SequenceTagger, sentences: readonly TaggedSentence[]): ValidationResult {
  return taggerFigures(sentences, predictTagStrings(model, sentences.map((s) => s.tokens)));
}

/** Accuracy and macro F1 (the score is accuracy). */
export function evaluateClassifier(model: TextClassifier, texts: readonly string[], labels: readonly number[], options: { maxLength?: number } = {}): ValidationResult {
  const predicted = predictLabels(model, texts, options);
  return { score: accuracy(labels, predicted), metrics: classificationFigures(labels, predicted, model.labels.length) };
}

export function accuracy(gold: readonly number[], predicted: readonly number[]): number {
  if (gold.length === 0) return 0;
  let right = 0;
  gold.forEach((label, i) => {
    if (predicted[i] === label) right++;
  });
  return right / gold.length;
}

/** Accuracy and macro P/R/F1 over `classes` labels (scikit-learn's definitions, zero_division 0). */
export function classificationFigures(gold: readonly number[], predicted: readonly number[], classes: number): Record<string, number> {
  const counts: LabelCounts[] = Array.from({ length: classes }, (_, id) => ({ label: String(id), trueSum: 0, predSum: 0, tpSum: 0 }));
  gold.forEach((label, i) => {
    counts[label].trueSum++;
    counts[predicted[i]].predSum++;
    if (label === predicted[i]) counts[label].tpSum++;
  });
  const macro = averageScores(counts, 'macro', { zeroDivision: 0 });
  return { accuracy: accuracy(gold, predicted), macro_f1: macro.f1, macro_precision: macro.precision, macro_recall: macro.recall };
}
