import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type LabelCounts,
  averageScores,
  mean,
  pairwiseSum,
  parseZeroDivision,
  perLabelScores,
  weightedMean,
} from '../../lib/metrics/prf.js';

const c = (label: string, trueSum: number, predSum: number, tpSum: number): LabelCounts => ({ label, trueSum, predSum, tpSum });

describe('precision / recall / F1 from counts', () => {
  const counts = [c('A', 4, 2, 2), c('B', 2, 4, 1), c('C', 0, 1, 0), c('D', 3, 0, 0)];

  test('per label, with zero_division 0 and 1', () => {
    const zero = perLabelScores(counts, { zeroDivision: 0 });
    assert.deepEqual(zero.map((s) => [s.label, s.precision, s.recall, s.f1, s.support]), [
      ['A', 1, 0.5, (2 * 1 * 0.5) / 1.5, 4],
      ['B', 0.25, 0.5, (2 * 0.25 * 0.5) / 0.75, 2],
      ['C', 0, 0, 0, 0],
      ['D', 0, 0, 0, 3],
    ]);
    const one = perLabelScores(counts, { zeroDivision: 1 });
    assert.deepEqual(one.map((s) => [s.precision, s.recall, s.f1]).slice(2), [[0, 1, 0], [1, 0, 0]]);
    // Absent from both sides: P = R = F = 1 with zero_division 1 (KLUE's character-level F1 relies on it).
    assert.deepEqual(perLabelScores([c('Z', 0, 0, 0)], { zeroDivision: 1 }).map((s) => [s.precision, s.recall, s.f1]), [[1, 1, 1]]);
  });

  test('micro, macro and weighted averages', () => {
    const micro = averageScores(counts, 'micro', { zeroDivision: 0 });
    assert.deepEqual(micro, { precision: 3 / 7, recall: 3 / 9, f1: (2 * (3 / 7) * (3 / 9)) / (3 / 7 + 3 / 9), support: 9 });
    const per = perLabelScores(counts, { zeroDivision: 0 });
    const macro = averageScores(counts, 'macro', { zeroDivision: 0 });
    assert.equal(macro.precision, (1 + 0.25 + 0 + 0) / 4);
    assert.equal(macro.f1, per.reduce((a, s) => a + s.f1, 0) / 4);
    const weighted = averageScores(counts, 'weighted', { zeroDivision: 0 });
    assert.equal(weighted.recall, (0.5 * 4 + 0.5 * 2 + 0 + 0) / 9);
    assert.equal(weighted.support, 9);
  });

  test('weighted average without any gold instance follows scikit-learn', () => {
    assert.deepEqual(averageScores([c('A', 0, 0, 0)], 'weighted', { zeroDivision: 1 }), { precision: 1, recall: 1, f1: 1, support: 0 });
    assert.deepEqual(averageScores([c('A', 0, 2, 0)], 'weighted', { zeroDivision: 1 }), { precision: 0, recall: 1, f1: 0, support: 0 });
    assert.deepEqual(averageScores([c('A', 0, 2, 0)], 'weighted', { zeroDivision: 0 }), { precision: 0, recall: 0, f1: 0, support: 0 });
    assert.ok(Number.isNaN(averageScores([], 'macro').precision));
  });

  test("'warn' acts as 0 and records scikit-learn's warning texts", () => {
    const warnings: string[] = [];
    const scores = perLabelScores(counts, { zeroDivision: 'warn', warnings });
    assert.deepEqual(scores.map((s) => s.precision), perLabelScores(counts, { zeroDivision: 0 }).map((s) => s.precision));
    assert.deepEqual(warnings, [
      'Precision and F-score are ill-defined and being set to 0.0 in labels with no predicted samples. Use `zero_division` parameter to control this behavior.',
      'Recall and F-score are ill-defined and being set to 0.0 in labels with no true samples. Use `zero_division` parameter to control this behavior.',
    ]);
    const fOnly: string[] = [];
    averageScores([c('A', 0, 0, 0), c('B', 1, 1, 1)], 'macro', { warnFor: ['f-score'], warnings: fOnly });
    assert.deepEqual(fOnly, ['F-score is ill-defined and being set to 0.0 in labels with no true nor predicted samples. Use `zero_division` parameter to control this behavior.']);
  });

  test('F-beta weighs recall by beta', () => {
    const [s] = perLabelScores([c('A', 4, 2, 2)], { beta: 2 });
    assert.equal(s.f1, ((1 + 4) * 1 * 0.5) / (4 * 1 + 0.5));
    assert.throws(() => perLabelScores(counts, { beta: -1 }), /beta should be >=0/);
  });

  test('parseZeroDivision', () => {
    assert.equal(parseZeroDivision('0'), 0);
    assert.equal(parseZeroDivision('1'), 1);
    assert.equal(parseZeroDivision('warn'), 'warn');
    assert.equal(parseZeroDivision('2'), undefined);
  });
});

describe('NumPy-compatible sums', () => {
  test('pairwise summation groups like NumPy (8 partial sums, then the rest)', () => {
    const xs = [1e16, 1, 1, 1, 1, 1, 1, 1, 1, -1e16];
    // NumPy: r[0..7] = xs[0..7]; ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) then + xs[8] + xs[9].
    const r = ((1e16 + 1 + (1 + 1)) + ((1 + 1) + (1 + 1))) + 1 + -1e16;
    assert.equal(pairwiseSum(xs), r);
    assert.equal(pairwiseSum([0.1, 0.2, 0.3]), 0.1 + 0.2 + 0.3);
    assert.equal(mean([]), NaN);
    assert.equal(weightedMean([1, 0], [3, 1]), 0.75);
  });

  test('property: pairwise sums are close to exact sums, for any length', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 600 }), (xs) => {
        const exact = xs.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(pairwiseSum(xs) - exact) <= 1e-12 * Math.max(1, xs.length));
      }),
    );
  });

  test('property: F1 lies between 0 and 1 and equals 2PR/(P+R)', () => {
    fc.assert(
      fc.property(fc.nat(50), fc.nat(50), fc.nat(50), fc.constantFrom<0 | 1>(0, 1), (a, b, tp, zd) => {
        const counts = [c('A', a + tp, b + tp, tp)];
        const [s] = perLabelScores(counts, { zeroDivision: zd });
        assert.ok(s.f1 >= 0 && s.f1 <= 1);
        const f = s.precision + s.recall === 0 ? 0 : (2 * s.precision * s.recall) / (s.precision + s.recall);
        assert.ok(Math.abs(s.f1 - f) < 1e-15);
      }),
    );
  });
});
