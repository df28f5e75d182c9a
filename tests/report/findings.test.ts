import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findFindings, interpretLevel } from '../../lib/report/findings.js';
import { classifyResult, type NamedResult } from '../../lib/results/kinds.js';

const results = (entries: Record<string, unknown>): NamedResult[] => Object.entries(entries).map(([name, value]) => classifyResult(name, value));
const rules = (found: ReturnType<typeof findFindings>) => found.map((f) => f.rule);

// Study 000: training loss reaches 0 while F1 falls from 0.0833 to 0.
const study000Loss = { kind: 'loss', epochs: [7.5144, 0.6174, 0.4563, 1.6171, 0.96, 0.0151, 0.0093, 0.0, 0.0023, 0.22].map((trainLoss, i) => ({ epoch: i + 1, trainLoss })) };
const study000Scores = { kind: 'comparison', base: { precision: 0.5, recall: 0.0455, f1: 0.0833 }, tuned: { precision: 0, recall: 0, f1: 0 } };

test('overfitting fires on study 000: loss near 0, F1 below the baseline', () => {
  const [finding] = findFindings(results({ loss: study000Loss, scores: study000Scores }));
  assert.equal(finding.rule, 'overfitting');
  assert.equal(finding.numbers.minTrainLoss, 0);
  assert.equal(finding.numbers.minTrainLossEpoch, 8);
  assert.equal(finding.numbers.baseMetric, 0.0833);
  assert.equal(finding.numbers.tunedMetric, 0);
  assert.match(finding.text, /8 에폭에서 0\.0000까지/);
  assert.match(finding.text, /베이스라인 0\.0833에서 파인튜닝 후 0\.0000으로/);
  assert.deepEqual(finding.sources, ['loss', 'scores']);
});

test('overfitting fires on a rising validation loss or a falling epoch metric', () => {
  const rising = findFindings(results({ loss: { kind: 'loss', epochs: [
    { epoch: 1, trainLoss: 0.5, validLoss: 0.45 }, { epoch: 2, trainLoss: 0.1, validLoss: 0.4 }, { epoch: 3, trainLoss: 0.02, validLoss: 0.62 },
  ] } }));
  assert.deepEqual(rules(rising), ['overfitting']);
  assert.equal(rising[0].numbers.lastValidLoss, 0.62);
  assert.match(rising[0].text, /검증 손실은 2 에폭의 0\.4000에서 3 에폭 0\.6200으로 올랐습니다/);

  const falling = findFindings(results({ loss: { kind: 'loss', metricName: 'F1', epochs: [
    { epoch: 1, trainLoss: 0.4, metric: 0.7 }, { epoch: 2, trainLoss: 0.05, metric: 0.8 }, { epoch: 3, trainLoss: 0.01, metric: 0.75 },
  ] } }));
  assert.deepEqual(rules(falling), ['overfitting']);
  assert.match(falling[0].text, /F1은 2 에폭의 0\.8000에서 3 에폭 0\.7500으로 떨어졌습니다/);
});

test('overfitting does not fire when the loss stays above 0.1 or the evaluation improves', () => {
  assert.deepEqual(findFindings(results({ loss: { kind: 'loss', epochs: [{ epoch: 1, trainLoss: 0.8 }, { epoch: 2, trainLoss: 0.3 }] }, scores: study000Scores })), []);
  const improving = { kind: 'comparison', base: { f1: 0.5 }, tuned: { f1: 0.9 } };
  assert.deepEqual(rules(findFindings(results({ loss: study000Loss, scores: improving }))), []);
  const steadyValid = { kind: 'loss', epochs: [{ epoch: 1, trainLoss: 0.3, validLoss: 0.4 }, { epoch: 2, trainLoss: 0.05, validLoss: 0.38 }] };
  assert.deepEqual(findFindings(results({ loss: steadyValid })), []);
});

test('the most confused pair names gold, prediction and count (study 001: 애매 → 낮음, 6건)', () => {
  const found = findFindings(results({ risk: { kind: 'confusion', title: 'risk_level', rows: 'predicted', labels: ['높음', '애매', '낮음'], matrix: [[29, 1, 0], [0, 42, 1], [0, 6, 64]] } }));
  assert.deepEqual(rules(found), ['confused-pair']);
  assert.equal(found[0].numbers.count, 6);
  assert.equal(found[0].numbers.goldTotal, 49);
  assert.match(found[0].text, /정답 "애매"를 "낮음"으로 예측한 경우가 6건으로 가장 많습니다 \(정답 "애매" 49건 중 12\.2%\)/);
  // The same matrix given gold-by-row (scikit-learn's layout) gives the same finding.
  const gold = findFindings(results({ risk: { kind: 'confusion', labels: ['높음', '애매', '낮음'], matrix: [[29, 0, 0], [1, 42, 6], [0, 1, 64]] } }));
  assert.equal(gold[0].numbers.count, 6);
  assert.match(gold[0].text, /"애매"를 "낮음"으로/);
});

test('a perfect confusion matrix has no confused pair', () => {
  assert.deepEqual(findFindings(results({ m: { kind: 'confusion', labels: ['a', 'b'], matrix: [[5, 0], [0, 7]] } })), []);
});

test('recall far below precision fires with the share of unparsed answers (study 003)', () => {
  const micro = { kind: 'metrics', rows: [{ label: 'P', key: 'precision', value: 0.84 }, { label: 'R', key: 'recall', value: 0.58 }] };
  const [finding] = findFindings(results({ micro, parse: { kind: 'parse', format: 'JSON', total: 100, failed: 48 } }));
  assert.equal(finding.rule, 'recall-gap');
  assert.equal(finding.numbers.parseFailed, 48);
  assert.ok(Math.abs(finding.numbers.gap - 0.26) < 1e-12);
  assert.match(finding.text, /정밀도 0\.8400, 재현율 0\.5800 \(차이 0\.2600\)/);
  assert.match(finding.text, /응답 48\/100건\(48\.0%\)이 JSON으로 파싱되지 않아/);

  const noParse = findFindings(results({ micro }));
  assert.deepEqual(rules(noParse), ['recall-gap']);
  assert.ok(!('parseFailed' in noParse[0].numbers));
  const allParsed = findFindings(results({ micro, parse: { kind: 'parse', total: 100, failed: 0 } }));
  assert.match(allParsed[0].text, /원인은 파싱이 아니라/);
});

test('recall close to precision does not fire', () => {
  const close = { kind: 'metrics', rows: [{ label: 'P', key: 'precision', value: 0.81 }, { label: 'R', key: 'recall', value: 0.75 }] };
  assert.deepEqual(findFindings(results({ close, parse: { kind: 'parse', total: 100, failed: 48 } })), []);
});

test('study 004 interpretation table: every level, gaps to the lower band, the lower of accuracy and F1', () => {
  const level = (input: Parameters<typeof interpretLevel>[0]) => interpretLevel(input).level.name;
  assert.equal(level({ accuracy: 0.42, f1: 0.3 }), '학습 부족');
  assert.equal(level({ accuracy: 0.55, f1: 0.55 }), '학습 부족');
  assert.equal(level({ accuracy: 0.7, f1: 0.65 }), '학습 진행 중');
  assert.equal(level({ accuracy: 0.78, f1: 0.78 }), '학습 진행 중');
  assert.equal(level({ accuracy: 0.85, f1: 0.84 }), '사용 가능');
  assert.equal(level({ accuracy: 0.89, f1: 0.95 }), '사용 가능');
  assert.equal(level({ accuracy: 0.95, f1: 0.79 }), '학습 진행 중');
  assert.equal(level({ accuracy: 0.93, f1: 0.91 }), '최우수');
  assert.equal(level({ accuracy: 0.93, f1: 0.91, trainLoss: 0.05, validLoss: 0.7 }), '과적합 경고');
  assert.equal(level({ accuracy: 0.78, f1: 0.77, trainAccuracy: 0.995 }), '과적합 경고');
  assert.equal(level({ accuracy: 0.93, f1: 0.91, trainLoss: 0.05, validLoss: 0.3 }), '최우수');
});

test('the level finding fires only when accuracy and F1 are both known', () => {
  const both = findFindings(results({ c: { kind: 'comparison', base: { accuracy: 0.34, f1: 0.3 }, tuned: { accuracy: 0.853, f1: 0.8412 } } }));
  assert.deepEqual(rules(both), ['level']);
  assert.match(both[0].text, /"사용 가능 \(Good\)" 단계입니다 \(정확도 85\.3%, F1 0\.8412\)/);
  assert.equal(both[0].brief, '기준표: 사용 가능 (Good)');
  assert.deepEqual(findFindings(results({ c: { kind: 'metrics', rows: [{ label: '정확도', key: 'accuracy', correct: 135, total: 147 }] } })), []);
});

test('nothing fires on results without the kinds the rules read', () => {
  assert.deepEqual(findFindings(results({ n: 500, text: '<b>x</b>', table: { a: 1 } })), []);
});
