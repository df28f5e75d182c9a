import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparisonChart, confusionChart, lossChart, lossScale, perLabelF1Chart } from '../../lib/results/charts.js';

type Layer = { data?: { values: Array<Record<string, unknown>> }; encoding: Record<string, any>; mark: any };
const layers = (spec: Record<string, unknown>) => spec.layer as Layer[];

test('loss curve: losses on the left axis, the metric on a right axis with round ticks', () => {
  const figure = lossChart({ kind: 'loss', metricName: 'F1', epochs: [{ epoch: 1, trainLoss: 0.9, metric: 0.5 }, { epoch: 2, trainLoss: 0.4, metric: 0.7 }] })!;
  const [loss, metric] = layers(figure.spec);
  assert.deepEqual(loss.data!.values.map((d) => d.value), [0.9, 0.4]);
  assert.deepEqual(metric.data!.values.map((d) => d.series), ['F1', 'F1']);
  assert.equal(metric.encoding.y.axis.orient, 'right');
  // A score in [0, 1]: the whole range, five ticks 0, 0.2, … 1 printed with one decimal.
  assert.deepEqual(metric.encoding.y.scale.domain, [0, 1]);
  assert.equal(metric.encoding.y.axis.format, '.1f');
  assert.deepEqual((figure.spec.resolve as any).scale, { y: 'independent' });
  assert.equal(lossChart({ kind: 'loss', epochs: [{ epoch: 1 }] }), undefined);
});

test('a loss that falls by orders of magnitude gets a symmetric-log axis with ticks at powers of ten', () => {
  // Study 000's table: epochs 6–9 are 0.0151, 0.0093, 0, 0.0023 next to 7.5144.
  const study000 = [7.5144, 0.6174, 0.4563, 1.6171, 0.96, 0.0151, 0.0093, 0, 0.0023, 0.22];
  const scale = lossScale(study000);
  assert.equal(scale.log, true);
  assert.equal(scale.scale.type, 'symlog');
  assert.deepEqual(scale.axis.values, [0, 0.001, 0.01, 0.1, 1, 10]);
  const figure = lossChart({ kind: 'loss', epochs: study000.map((trainLoss, i) => ({ epoch: i + 1, trainLoss })) })!;
  assert.match(layers(figure.spec)[0].encoding.y.title, /로그 눈금/);
  // Losses within two orders of magnitude stay linear.
  assert.equal(lossScale([0.75, 0.66, 0.5]).log, false);
  assert.equal(lossScale([0, 0]).log, false);
});

test('confusion heatmap: rows = 예측, columns = 정답, counts as text, colour by share of the gold class', () => {
  const figure = confusionChart({ kind: 'confusion', labels: ['높음', '낮음'], matrix: [[8, 2], [1, 9]] });
  const values = (figure.spec.data as { values: Array<Record<string, unknown>> }).values;
  // matrix rows are gold: gold 높음 → predicted 높음 8, predicted 낮음 2.
  assert.deepEqual(values, [
    { predicted: '예측: 높음', gold: '정답: 높음', count: 8, share: 0.8 },
    { predicted: '예측: 높음', gold: '정답: 낮음', count: 1, share: 0.1 },
    { predicted: '예측: 낮음', gold: '정답: 높음', count: 2, share: 0.2 },
    { predicted: '예측: 낮음', gold: '정답: 낮음', count: 9, share: 0.9 },
  ]);
  assert.equal((figure.spec.encoding as any).x.axis.orient, 'top');
});

test('per-label F1 bars and base vs fine-tuned bars (counts left to the table)', () => {
  const f1 = perLabelF1Chart({ kind: 'per-label', rows: [{ label: 'PS', precision: 0.97, recall: 0.81, f1: 0.88, support: 77 }] });
  assert.deepEqual((f1.spec.data as any).values, [{ label: 'PS', f1: 0.88 }]);
  const bars = comparisonChart({ kind: 'comparison', base: { f1: 0.0833, TP: 1, FN: 21 }, tuned: { f1: 0, TP: 0, FN: 22 } })!;
  assert.deepEqual((bars.spec.data as any).values, [
    { metric: 'F1', model: '베이스라인', value: 0.0833 },
    { metric: 'F1', model: '파인튜닝 후', value: 0 },
  ]);
  assert.equal(comparisonChart({ kind: 'comparison', base: { TP: 1 }, tuned: { TP: 3 } }), undefined);
});
