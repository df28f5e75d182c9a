/**
 * Chart specs for the reports: loss curve, confusion-matrix heatmap, per-label F1 bars, base vs
 * fine-tuned bars. Each is a Vega-Lite spec (plain JSON); `chart-svg.ts` renders it to a static SVG in
 * Node, which the Markdown report links beside itself and the HTML report inlines. Nothing here
 * touches the DOM or the file system, so specs are testable as data.
 *
 * Why these choices:
 *  - A loss that falls by orders of magnitude (study 000: 7.5 → 0.0000) is drawn on a symmetric-log
 *    axis, so the late epochs do not sit flat on zero; zero itself stays drawable (a log axis cannot).
 *  - Both axes of a dual-axis chart get round ticks (`nice`, a fixed tick count, a fixed format).
 *  - Labels are data, never spec text or expressions: Vega escapes them when it writes the SVG.
 */
import { predictedByGold, type ComparisonResult, type ConfusionResult, type LossResult, type NamedResult, type PerLabelResult } from './kinds.js';
import { comparisonRows } from './views.js';

export interface Figure {
  /** What the chart shows, in Korean (the SVG's title, the image's alt text, the HTML caption). */
  title: string;
  /** A Vega-Lite spec. */
  spec: Record<string, unknown>;
}

/** The CSS font stack for Korean text; charts and pages use the same one. */
export const CJK_FONT_STACK = '"Noto Sans CJK KR", "Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic", "Nanum Gothic", sans-serif';

const COLORS = { base: '#9aa5b1', tuned: '#2f6fdf', train: '#2f6fdf', valid: '#e0663a', metric: '#2a9d5b' };

/** Shared look: white background, the CJK font everywhere, no outer frame. */
function withConfig(title: string, spec: Record<string, unknown>): Figure {
  return {
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: title, fontSize: 15, anchor: 'start', offset: 12 },
      background: '#ffffff',
      padding: 12,
      ...spec,
      config: {
        font: CJK_FONT_STACK,
        view: { stroke: null },
        axis: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e9ee' },
        legend: { labelFontSize: 12, titleFontSize: 12, orient: 'bottom', direction: 'horizontal', title: null },
      },
    },
  };
}

/**
 * The y scale for losses: linear when they stay within two orders of magnitude, else symmetric-log
 * with ticks at powers of ten (and 0), so 7.5 and 0.0093 are both readable.
 */
export function lossScale(values: number[]): { scale: Record<string, unknown>; axis: Record<string, unknown>; log: boolean } {
  const positive = values.filter((v) => v > 0);
  const max = Math.max(0, ...values);
  const minPositive = positive.length ? Math.min(...positive) : 0;
  if (positive.length < 2 || minPositive <= 0 || max / minPositive < 100) {
    return { scale: { zero: true, nice: true }, axis: { tickCount: 5, format: '~r' }, log: false };
  }
  const low = Math.floor(Math.log10(minPositive));
  const high = Math.ceil(Math.log10(max));
  const ticks = [0];
  for (let e = low; e <= high; e++) ticks.push(Number((10 ** e).toPrecision(1)));
  return {
    // Below the constant the axis is linear, so 0 sits one decade under the smallest loss.
    scale: { type: 'symlog', constant: 10 ** low, domain: [0, 10 ** high], nice: false },
    axis: { values: ticks, format: '~r' },
    log: true,
  };
}

export function lossChart(result: LossResult, title = result.title ?? '에폭별 손실'): Figure | undefined {
  const metricName = result.metricName ?? '평가 지표';
  const losses: Array<{ epoch: number; series: string; value: number }> = [];
  const metrics: Array<{ epoch: number; series: string; value: number }> = [];
  for (const row of result.epochs) {
    if (row.trainLoss !== undefined) losses.push({ epoch: row.epoch, series: '학습 손실', value: row.trainLoss });
    if (row.validLoss !== undefined) losses.push({ epoch: row.epoch, series: '검증 손실', value: row.validLoss });
    if (row.metric !== undefined) metrics.push({ epoch: row.epoch, series: metricName, value: row.metric });
  }
  if (losses.length === 0 && metrics.length === 0) return undefined;
  const seriesNames = [...new Set([...losses, ...metrics].map((d) => d.series))];
  const colorOf: Record<string, string> = { '학습 손실': COLORS.train, '검증 손실': COLORS.valid, [metricName]: COLORS.metric };
  const color = { field: 'series', type: 'nominal', scale: { domain: seriesNames, range: seriesNames.map((s) => colorOf[s]) } };
  const x = { field: 'epoch', type: 'quantitative', title: '에폭', axis: { tickMinStep: 1, format: 'd' }, scale: { nice: false } };
  const layers: Array<Record<string, unknown>> = [];
  let log = false;
  if (losses.length) {
    const y = lossScale(losses.map((d) => d.value));
    log = y.log;
    layers.push({
      data: { values: losses },
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: { x, y: { field: 'value', type: 'quantitative', title: log ? '손실 (대칭 로그 눈금)' : '손실', scale: y.scale, axis: y.axis }, color },
    });
  }
  if (metrics.length) {
    const values = metrics.map((d) => d.value);
    const unit = values.every((v) => v >= 0 && v <= 1);
    layers.push({
      data: { values: metrics },
      mark: { type: 'line', point: true, strokeWidth: 2, strokeDash: [5, 3] },
      encoding: {
        x,
        y: {
          field: 'value',
          type: 'quantitative',
          title: metricName,
          // A score in [0, 1] gets the whole range and ticks at 0, 0.2, … 1.
          scale: unit ? { domain: [0, 1], nice: false } : { zero: true, nice: true },
          axis: { orient: losses.length ? 'right' : 'left', tickCount: 5, format: unit ? '.1f' : '~r', grid: losses.length === 0 },
        },
        color,
      },
    });
  }
  return withConfig(title, {
    width: 460,
    height: 220,
    layer: layers,
    resolve: { scale: { y: 'independent' } },
  });
}

export function confusionChart(result: ConfusionResult, title = result.title ?? '혼동 행렬'): Figure {
  const counts = predictedByGold(result);
  // Colour by the share of each gold class (column), so a small class's diagonal is as dark as a big
  // one's; the cells print the counts.
  const goldTotals = result.labels.map((_, g) => counts.reduce((sum, row) => sum + row[g], 0));
  const values = counts.flatMap((row, p) =>
    row.map((count, g) => ({ predicted: `예측: ${result.labels[p]}`, gold: `정답: ${result.labels[g]}`, count, share: goldTotals[g] > 0 ? count / goldTotals[g] : 0 })),
  );
  const cell = Math.max(56, Math.min(90, 360 / Math.max(1, result.labels.length)));
  const gold = { field: 'gold', type: 'nominal', sort: result.labels.map((l) => `정답: ${l}`), title: null, axis: { orient: 'top', labelAngle: 0 } };
  const predicted = { field: 'predicted', type: 'nominal', sort: result.labels.map((l) => `예측: ${l}`), title: null };
  return withConfig(title, {
    width: cell * result.labels.length,
    height: Math.round(cell * 0.6) * result.labels.length,
    data: { values },
    encoding: { x: gold, y: predicted },
    layer: [
      { mark: { type: 'rect', stroke: '#ffffff' }, encoding: { color: { field: 'share', type: 'quantitative', scale: { domain: [0, 1], range: ['#f4f8fd', '#7fb0e6', '#1f4e96'] }, legend: null } } },
      {
        mark: { type: 'text', fontSize: 13 },
        encoding: {
          text: { field: 'count', type: 'quantitative', format: ',d' },
          color: { condition: { test: 'datum.share > 0.55', value: '#ffffff' }, value: '#1d2733' },
        },
      },
    ],
  });
}

export function perLabelF1Chart(result: PerLabelResult, title = result.title ?? '라벨별 F1'): Figure {
  const values = result.rows.map((row) => ({ label: row.label, f1: row.f1 }));
  const x = { field: 'label', type: 'nominal', sort: null, title: null, axis: { labelAngle: 0 } };
  const y = { field: 'f1', type: 'quantitative', title: 'F1', scale: { domain: [0, 1], nice: false }, axis: { tickCount: 5, format: '.1f' } };
  return withConfig(title, {
    width: Math.max(200, 60 * values.length),
    height: 200,
    data: { values },
    encoding: { x, y },
    layer: [
      { mark: { type: 'bar', color: COLORS.tuned } },
      { mark: { type: 'text', dy: -7, fontSize: 11 }, encoding: { text: { field: 'f1', type: 'quantitative', format: '.2f' } } },
    ],
  });
}

export function comparisonChart(result: ComparisonResult, title = result.title ?? '베이스라인 vs 파인튜닝'): Figure | undefined {
  // Counts (TP/FP/FN) do not share a scale with scores; the table shows them.
  const rows = comparisonRows(result).filter((row) => !row.isCount);
  if (rows.length === 0) return undefined;
  const baseName = result.baseName ?? '베이스라인';
  const tunedName = result.tunedName ?? '파인튜닝 후';
  const percent = result.format === 'percent';
  const values = rows.flatMap((row) => [
    { metric: row.label, model: baseName, value: row.base },
    { metric: row.label, model: tunedName, value: row.tuned },
  ]);
  const inUnit = values.every((v) => v.value >= 0 && v.value <= 1);
  const y = {
    field: 'value',
    type: 'quantitative',
    title: null,
    scale: inUnit && !percent ? { domain: [0, 1], nice: false } : { zero: true, nice: true },
    axis: { tickCount: 5, format: percent ? '.0%' : '.1f' },
  };
  const x = { field: 'metric', type: 'nominal', sort: rows.map((r) => r.label), title: null, axis: { labelAngle: 0 } };
  const color = { field: 'model', type: 'nominal', sort: [baseName, tunedName], scale: { domain: [baseName, tunedName], range: [COLORS.base, COLORS.tuned] } };
  const xOffset = { field: 'model', type: 'nominal', sort: [baseName, tunedName] };
  return withConfig(title, {
    width: Math.max(240, 130 * rows.length),
    height: 220,
    data: { values },
    encoding: { x, xOffset, y, color },
    layer: [
      { mark: { type: 'bar' } },
      { mark: { type: 'text', dy: -7, fontSize: 11 }, encoding: { text: { field: 'value', type: 'quantitative', format: percent ? '.2%' : '.4f' }, color: { value: '#1d2733' } } },
    ],
  });
}

/** The chart for a result, or undefined when its kind has none (or nothing to draw). */
export function chartFor(result: NamedResult, title?: string): Figure | undefined {
  switch (result.kind) {
    case 'loss':
      return lossChart(result.value as LossResult, title);
    case 'confusion':
      return confusionChart(result.value as ConfusionResult, title);
    case 'per-label':
      return perLabelF1Chart(result.value as PerLabelResult, title);
    case 'comparison':
      return comparisonChart(result.value as ComparisonResult, title);
    default:
      return undefined;
  }
}
