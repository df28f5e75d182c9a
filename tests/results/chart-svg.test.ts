/**
 * Charts become static SVG in Node: the synchronous path gives the same markup as Vega's own
 * `View.toSVG()`, the bytes do not depend on what was drawn before (a fresh `npm start` and a single
 * `hanlab report` agree), and labels are escaped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { renderSvg } from '../../lib/results/chart-svg.js';
import { comparisonChart, confusionChart, lossChart, perLabelF1Chart, type Figure } from '../../lib/results/charts.js';

const figures: Figure[] = [
  lossChart({ kind: 'loss', epochs: [7.5144, 0.6174, 0.0151, 0, 0.22].map((trainLoss, i) => ({ epoch: i + 1, trainLoss })) })!,
  lossChart({ kind: 'loss', metricName: '검증 정확도', epochs: [{ epoch: 1, trainLoss: 0.75, metric: 0.68 }, { epoch: 2, trainLoss: 0.66, metric: 0.73 }] })!,
  confusionChart({ kind: 'confusion', labels: ['높음', '애매', '낮음'], rows: 'predicted', matrix: [[29, 1, 0], [0, 42, 1], [0, 6, 64]] }),
  perLabelF1Chart({ kind: 'per-label', rows: [{ label: 'DT', precision: 0.67, recall: 0.43, f1: 0.52, support: 14 }] }),
  comparisonChart({ kind: 'comparison', format: 'percent', relative: true, base: { doctor: 0.331 }, tuned: { doctor: 0.3839 } })!,
];

test('the synchronous SVG equals what Vega\'s own asynchronous toSVG() writes', async () => {
  for (const figure of figures) {
    const ours = renderSvg(figure.spec);
    (vega as unknown as { resetSVGDefIds(): void }).resetSVGDefIds();
    const view = new vega.View(vega.parse(compile(figure.spec as never).spec), { renderer: 'none' });
    const theirs = await view.toSVG();
    view.finalize();
    assert.equal(ours, theirs, figure.title);
    assert.match(ours, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  }
});

test('the same spec gives the same bytes whatever was drawn before', () => {
  const alone = figures.map((f) => renderSvg(f.spec));
  const reversed = [...figures].reverse().map((f) => renderSvg(f.spec)).reverse();
  assert.deepEqual(reversed, alone);
});

test('labels are text in the SVG, never markup', () => {
  const svg = renderSvg(confusionChart({ kind: 'confusion', labels: ['<script>alert(1)</script>', 'a&b'], matrix: [[1, 0], [0, 1]] }).spec);
  assert.ok(!svg.includes('<script'), 'no script element');
  assert.match(svg, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(svg, /a&amp;b/);
});

test('Korean text is laid out as full-width: a longer Hangul label makes a wider chart', () => {
  const width = (label: string) => Number(/width="(\d+)"/.exec(renderSvg(perLabelF1Chart({ kind: 'per-label', title: label, rows: [{ label: 'x', precision: 1, recall: 1, f1: 1, support: 1 }] }).spec))![1]);
  // The title alone decides the width here: 40 Hangul syllables at 15px are about 600px wide.
  assert.ok(width('가'.repeat(40)) >= 600, `width ${width('가'.repeat(40))}`);
});
