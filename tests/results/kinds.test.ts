import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../lib/errors.js';
import { classifyResult, predictedByGold, type ConfusionResult } from '../../lib/results/kinds.js';

const fails = (value: unknown, field: string) =>
  assert.throws(() => classifyResult('r', value, 'n.ipynb'), (e: unknown) => e instanceof InputError && e.file === 'n.ipynb' && e.field === field && /result "r"/.test(e.message), field);

test('values without a known kind are plain values', () => {
  for (const value of [3, 'x', null, [1, 2], { a: 1 }, { kind: 'unknown-kind' }]) assert.equal(classifyResult('r', value).kind, 'value');
});

test('each kind checks the fields its macro reads and names the wrong one', () => {
  fails({ kind: 'metrics', rows: [{ label: 'a' }] }, 'rows[0]');
  fails({ kind: 'metrics', rows: [{ label: 'a', value: NaN }] }, 'rows[0].value');
  fails({ kind: 'comparison', base: { f1: 0.1 }, tuned: {} }, 'metrics[0]');
  fails({ kind: 'comparison', base: { f1: '0.1' }, tuned: { f1: 0.2 } }, 'base.f1');
  fails({ kind: 'confusion', labels: ['a', 'b'], matrix: [[1, 2]] }, 'matrix');
  fails({ kind: 'confusion', labels: ['a', 'b'], matrix: [[1, 2], [3, 0.5]] }, 'matrix[1][1]');
  fails({ kind: 'confusion', labels: ['a'], matrix: [[1]], rows: 'sideways' }, 'rows');
  fails({ kind: 'loss', epochs: [{ epoch: 1, trainLoss: 'x' }] }, 'epochs[0].trainLoss');
  fails({ kind: 'errors', rows: [{ input: 'a', predicted: 1, gold: 'b' }] }, 'rows[0].predicted');
  fails({ kind: 'parse', total: 10, failed: 11 }, 'failed');
  fails({ kind: 'config' }, 'values');
  fails({ kind: 'headline', figures: [{ label: 'x' }] }, 'figures[0].value');
  fails({ kind: 'table', columns: ['a', 'b'], rows: [[1]] }, 'rows[0]');
  fails({ kind: 'per-label', rows: [{ label: 'PS', precision: 1, recall: 1, f1: 1 }] }, 'rows[0].support');
});

test('the confusion matrix turns to rows = predicted, columns = gold', () => {
  const gold: ConfusionResult = { kind: 'confusion', labels: ['a', 'b'], matrix: [[5, 1], [2, 7]] };
  assert.deepEqual(predictedByGold(gold), [[5, 2], [1, 7]]);
  assert.deepEqual(predictedByGold({ ...gold, rows: 'predicted' }), [[5, 1], [2, 7]]);
});
