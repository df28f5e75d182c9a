import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparisonChart, confusionChart, lossChart, perLabelF1Chart, plotlyText } from '../../lib/report/charts.js';

test('loss curve: one line per series present, the metric on a second axis', () => {
  const figure = lossChart({ kind: 'loss', metricName: 'F1', epochs: [{ epoch: 1, trainLoss: 0.9, metric: 0.5 }, { epoch: 2, trainLoss: 0.4, metric: 0.7 }] })!;
  assert.deepEqual(figure.data.map((d) => d.name), ['학습 손실', 'F1']);
  assert.equal(figure.data[1].yaxis, 'y2');
  assert.deepEqual(figure.data[0].y, [0.9, 0.4]);
  assert.equal(lossChart({ kind: 'loss', epochs: [{ epoch: 1 }] }), undefined);
});

test('confusion heatmap: rows = 예측, columns = 정답, counts as text, colour by share of the gold class', () => {
  const figure = confusionChart({ kind: 'confusion', labels: ['높음', '낮음'], matrix: [[8, 2], [1, 9]] });
  const trace = figure.data[0];
  assert.deepEqual(trace.y, ['예측: 높음', '예측: 낮음']);
  assert.deepEqual(trace.x, ['정답: 높음', '정답: 낮음']);
  assert.deepEqual(trace.text, [['8', '1'], ['2', '9']]);
  // Gold 높음 has 8 + 2 = 10 items, gold 낮음 1 + 9 = 10.
  assert.deepEqual(trace.z, [[0.8, 0.1], [0.2, 0.9]]);
});

test('per-label F1 bars and base vs fine-tuned bars (counts left to the table)', () => {
  const f1 = perLabelF1Chart({ kind: 'per-label', rows: [{ label: 'PS', precision: 0.97, recall: 0.81, f1: 0.88, support: 77 }] });
  assert.deepEqual(f1.data[0].y, [0.88]);
  const bars = comparisonChart({ kind: 'comparison', base: { f1: 0.0833, TP: 1, FN: 21 }, tuned: { f1: 0, TP: 0, FN: 22 } })!;
  assert.deepEqual(bars.data.map((d) => d.x), [['F1'], ['F1']]);
  assert.deepEqual(bars.data.map((d) => d.y), [[0.0833], [0]]);
  assert.equal(comparisonChart({ kind: 'comparison', base: { TP: 1 }, tuned: { TP: 3 } }), undefined);
});

test('labels are entity-escaped for plotly, which reads <b>, <a href> and <br> in text', () => {
  assert.equal(plotlyText('<a href="javascript:x">&</a>'), '&lt;a href="javascript:x"&gt;&amp;&lt;/a&gt;');
  const figure = confusionChart({ kind: 'confusion', labels: ['<b>x</b>'], matrix: [[1]] });
  assert.deepEqual(figure.data[0].x, ['정답: &lt;b&gt;x&lt;/b&gt;']);
});
