import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  classificationReportDict,
  confusionMatrix,
  formatClassificationReport,
  formatConfusionMatrix,
  scoreClassification,
  uniqueLabels,
  type ReportEntry,
} from '../../lib/metrics/classification.js';
import { UsageError } from '../../lib/errors.js';

// A fixed seed keeps the suite deterministic; change it locally to explore other cases.
fc.configureGlobal({ seed: 6 });

const GOLDEN = 'tests/fixtures/golden/classification';

interface GoldenCase {
  labels: string[];
  accuracy: number;
  report: Record<string, ReportEntry | number>;
  report_text_digits4: string;
  confusion_matrix_rows_gold_cols_pred: number[][];
  macro_f1: number;
  weighted_f1: number;
}

const refs = JSON.parse(readFileSync(`${GOLDEN}/refs.json`, 'utf8')) as Record<string, GoldenCase>;

function readRecords(name: string): { gold: string[]; pred: string[] } {
  const lines = readFileSync(`${GOLDEN}/${name}.jsonl`, 'utf8').trim().split('\n');
  const records = lines.map((line) => JSON.parse(line) as { gold: string; pred: string });
  return { gold: records.map((r) => r.gold), pred: records.map((r) => r.pred) };
}

function assertClose(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9, `${what}: ${actual} vs ${expected}`);
}

for (const [name, ref] of Object.entries(refs)) {
  test(`golden ${name}: every number to 1e-9, the text byte for byte, the matrix exactly`, () => {
    const { gold, pred } = readRecords(name);
    for (const labels of [ref.labels, undefined]) {
      const result = scoreClassification(gold, pred, { labels, zeroDivision: 0 });
      assert.deepEqual(result.labels, ref.labels);
      assertClose(result.accuracy, ref.accuracy, 'accuracy');
      const dict = classificationReportDict(result);
      assert.deepEqual(Object.keys(dict), Object.keys(ref.report));
      for (const [key, expected] of Object.entries(ref.report)) {
        const actual = dict[key];
        if (typeof expected === 'number') {
          assert.equal(typeof actual, 'number');
          assertClose(actual as number, expected, key);
        } else {
          const entry = actual as ReportEntry;
          for (const metric of ['precision', 'recall', 'f1-score'] as const) assertClose(entry[metric], expected[metric], `${key} ${metric}`);
          assert.equal(entry.support, expected.support);
        }
      }
      assert.equal(formatClassificationReport(result, 4), ref.report_text_digits4);
      assert.deepEqual(result.confusionMatrix, ref.confusion_matrix_rows_gold_cols_pred);
      assert.deepEqual(confusionMatrix(gold, pred, ref.labels), ref.confusion_matrix_rows_gold_cols_pred);
      assertClose(result.macro.f1, ref.macro_f1, 'macro f1');
      assertClose(result.weighted.f1, ref.weighted_f1, 'weighted f1');
    }
  });
}

test('scikit-learn documentation examples, default digits (2): accuracy row, and micro avg when labels differ from those seen', () => {
  const names = ['class 0', 'class 1', 'class 2'];
  const gold = [0, 1, 2, 2, 2].map((i) => names[i]);
  const pred = [0, 0, 2, 2, 1].map((i) => names[i]);
  assert.equal(
    formatClassificationReport(scoreClassification(gold, pred)),
    [
      '              precision    recall  f1-score   support',
      '',
      '     class 0       0.50      1.00      0.67         1',
      '     class 1       0.00      0.00      0.00         1',
      '     class 2       1.00      0.67      0.80         3',
      '',
      '    accuracy                           0.60         5',
      '   macro avg       0.50      0.56      0.49         5',
      'weighted avg       0.70      0.60      0.61         5',
      '',
    ].join('\n'),
  );
  const result = scoreClassification(['1', '1', '1'], ['1', '1', '0'], { labels: ['1', '2', '3'], zeroDivision: 0 });
  assert.equal(result.microIsAccuracy, false);
  assert.equal(
    formatClassificationReport(result),
    [
      '              precision    recall  f1-score   support',
      '',
      '           1       1.00      0.67      0.80         3',
      '           2       0.00      0.00      0.00         0',
      '           3       0.00      0.00      0.00         0',
      '',
      '   micro avg       1.00      0.67      0.80         3',
      '   macro avg       0.33      0.22      0.27         3',
      'weighted avg       1.00      0.67      0.80         3',
      '',
    ].join('\n'),
  );
  assert.deepEqual(Object.keys(classificationReportDict(result)), ['1', '2', '3', 'micro avg', 'macro avg', 'weighted avg']);
  assert.equal(result.accuracy, 2 / 3);
});

test('zero_division: 1 fills 0/0 with 1, "warn" fills 0 and says so', () => {
  const gold = ['긍정', '긍정', '부정'];
  const pred = ['긍정', '긍정', '긍정'];
  const one = scoreClassification(gold, pred, { zeroDivision: 1 });
  assert.equal(one.perLabel[1].precision, 1); // 부정 never predicted
  assert.equal(one.perLabel[1].recall, 0);
  const warnings: string[] = [];
  const warn = scoreClassification(gold, pred, { warnings });
  assert.equal(warn.perLabel[1].precision, 0);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /Precision and F-score are ill-defined/);
});

test('labels are data: __proto__ is a label like any other; report keys cannot be labels', () => {
  const result = scoreClassification(['__proto__', 'constructor', '__proto__'], ['__proto__', '__proto__', 'constructor']);
  const dict = classificationReportDict(result);
  assert.deepEqual(Object.keys(dict).slice(0, 2), ['__proto__', 'constructor']);
  assert.equal((dict['__proto__'] as ReportEntry).support, 2);
  assert.equal(({} as Record<string, unknown>).support, undefined);
  assert.throws(() => scoreClassification(['accuracy'], ['accuracy']), UsageError);
  assert.throws(() => scoreClassification(['a'], ['a', 'b']), UsageError);
  // M7: labels given, none in gold — scikit-learn's report, precision_recall_fscore_support and
  // accuracy_score answer; only confusion_matrix raises.
  const unseen = scoreClassification(['2'], ['2'], { labels: ['x'], zeroDivision: 0 });
  assert.equal(unseen.accuracy, 1);
  assert.deepEqual(unseen.perLabel, [{ label: 'x', precision: 0, recall: 0, f1: 0, support: 0 }]);
  assert.equal(unseen.microIsAccuracy, false);
  assert.equal(unseen.confusionMatrixDefined, false);
  assert.equal(unseen.confusionMatrix, null);
  assert.throws(() => confusionMatrix(['2'], ['2'], ['x']), (e: unknown) => e instanceof UsageError && /no label of labels occurs in the gold labels.*"At least one label specified must be in y_true"/.test(e.message));
});

test('the confusion table: rows = gold by default, study 001 orientation (rows = 예측) on request', () => {
  const labels = ['높음', '애매', '낮음'];
  const goldRowsMatrix = [
    [29, 0, 0],
    [1, 42, 6],
    [0, 1, 64],
  ];
  const byPrediction = formatConfusionMatrix(labels, goldRowsMatrix, { rows: 'predicted' });
  assert.equal(
    byPrediction,
    [
      '| 예측 \\ 정답 | 정답: 높음 | 정답: 애매 | 정답: 낮음 |',
      '|---|:---:|:---:|:---:|',
      '| **예측: 높음** | 29 | 1 | 0 |',
      '| **예측: 애매** | 0 | 42 | 1 |',
      '| **예측: 낮음** | 0 | 6 | 64 |',
    ].join('\n'),
  );
  assert.match(formatConfusionMatrix(labels, goldRowsMatrix), /\| \*\*정답: 애매\*\* \| 1 \| 42 \| 6 \|/);
});

const labelArb = fc.constantFrom('긍정', '부정', '중립', 'A', 'b');
const samplesArb = fc.array(fc.tuple(labelArb, labelArb), { minLength: 1, maxLength: 60 });

test('invariants: accuracy = trace / total, rows sum to support, columns to predictions, recall and precision read from the matrix', () => {
  fc.assert(
    fc.property(samplesArb, (samples) => {
      const gold = samples.map(([g]) => g);
      const pred = samples.map(([, p]) => p);
      const r = scoreClassification(gold, pred, { zeroDivision: 0 });
      const m = r.confusionMatrix as number[][];
      const trace = r.labels.reduce((sum, _, i) => sum + m[i][i], 0);
      assert.equal(r.accuracy, trace / gold.length);
      assert.ok(Math.abs(r.micro.f1 - r.accuracy) < 1e-12);
      assert.equal(r.micro.precision, r.accuracy);
      assert.ok(Math.abs(r.weighted.recall - r.accuracy) < 1e-12); // weighted recall is accuracy
      r.labels.forEach((label, i) => {
        const rowSum = m[i].reduce((a, b) => a + b, 0);
        const colSum = m.reduce((a, row) => a + row[i], 0);
        assert.equal(rowSum, gold.filter((g) => g === label).length);
        assert.equal(r.perLabel[i].support, rowSum);
        assert.equal(colSum, pred.filter((p) => p === label).length);
        assert.equal(r.perLabel[i].recall, rowSum ? m[i][i] / rowSum : 0);
        assert.equal(r.perLabel[i].precision, colSum ? m[i][i] / colSum : 0);
      });
    }),
  );
});

test('invariants: sample order does not matter; a label order permutes the matrix and the rows', () => {
  fc.assert(
    fc.property(samplesArb, fc.infiniteStream(fc.nat()), (samples, randomness) => {
      const gold = samples.map(([g]) => g);
      const pred = samples.map(([, p]) => p);
      const base = scoreClassification(gold, pred, { zeroDivision: 0 });
      const order = samples.map((_, i) => i);
      const draws = randomness.take(order.length);
      let k = 0;
      for (const draw of draws) {
        const j = k + (draw % (order.length - k));
        [order[k], order[j]] = [order[j], order[k]];
        k++;
      }
      const shuffled = scoreClassification(order.map((i) => gold[i]), order.map((i) => pred[i]), { zeroDivision: 0 });
      assert.deepEqual(shuffled.confusionMatrix, base.confusionMatrix);
      assert.equal(formatClassificationReport(shuffled, 4), formatClassificationReport(base, 4));
      const reversed = [...base.labels].reverse();
      const permuted = scoreClassification(gold, pred, { labels: reversed, zeroDivision: 0 });
      const n = reversed.length;
      (permuted.confusionMatrix as number[][]).forEach((row, i) => row.forEach((value, j) => assert.equal(value, (base.confusionMatrix as number[][])[n - 1 - i][n - 1 - j])));
      assert.deepEqual(permuted.perLabel, [...base.perLabel].reverse());
      assert.equal(permuted.macro.f1.toFixed(12), base.macro.f1.toFixed(12));
    }),
  );
});

test('unique labels sort by code point, like NumPy', () => {
  assert.deepEqual(uniqueLabels(['중립', 'b', '긍정'], ['B', '부정', '10', '2']), ['10', '2', 'B', 'b', '긍정', '부정', '중립']);
});
