/**
 * The figures early stopping and the reports use: seqeval micro P/R/F1 (default mode) for taggers,
 * accuracy and macro P/R/F1 for classifiers.
 */
import { averageScores, type LabelCounts } from '../metrics/prf.js';
import { f1Score, precisionScore, recallScore } from '../metrics/seqeval.js';
import { predictLabels, predictTagStrings, type TaggedSentence } from './examples.js';
import type { TextClassifier } from './models/classifier.js';
import type { SequenceTagger } from './models/tagger.js';
import type { ValidationResult } from './trainer.js';

/** Seqeval (default mode) micro P/R/F1 of the tagger on gold sentences. */
export function evaluateTagger(model: SequenceTagger, sentences: readonly TaggedSentence[]): ValidationResult {
  const predicted = predictTagStrings(model, sentences.map((s) => s.tokens));
  const gold = sentences.map((s) => [...s.tags]);
  const f1 = f1Score(gold, predicted);
  return { score: f1, metrics: { f1, precision: precisionScore(gold, predicted), recall: recallScore(gold, predicted) } };
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
