/**
 * Plotly figure specs for the HTML report: loss curve, confusion-matrix heatmap, per-label F1 bars,
 * base vs fine-tuned bars. Specs are plain JSON (data + layout); `html.ts` embeds them and plotly.js,
 * inlined in the page, draws them. Nothing here touches the DOM, so specs are testable in Node.
 */
import { predictedByGold, type ComparisonResult, type ConfusionResult, type LossResult, type NamedResult, type PerLabelResult } from './result-kinds.js';
import { comparisonRows } from './views.js';

export interface Figure {
  /** What the chart shows, in Korean (also the figure caption). */
  title: string;
  data: Array<Record<string, unknown>>;
  layout: Record<string, unknown>;
}

/** The CSS font stack for Korean text; charts and pages use the same one. */
export const CJK_FONT_STACK = '"Noto Sans CJK KR", "Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic", "Nanum Gothic", sans-serif';

const COLORS = { base: '#9aa5b1', tuned: '#2f6fdf', train: '#2f6fdf', valid: '#e0663a', metric: '#2a9d5b' };

/**
 * Plotly reads a few HTML tags (<b>, <a href>, <br>) in every text it draws. Untrusted labels are
 * entity-escaped so they print as written and can never become a link.
 */
export function plotlyText(text: unknown): string {
  return String(text ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function baseLayout(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: { text: plotlyText(title), font: { size: 16 } },
    font: { family: CJK_FONT_STACK, size: 13 },
    margin: { l: 70, r: 20, t: 50, b: 60 },
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    height: 360,
    ...extra,
  };
}

export function lossChart(result: LossResult, title = result.title ?? '에폭별 손실'): Figure | undefined {
  const epochs = result.epochs.map((row) => row.epoch);
  const series: Array<Record<string, unknown>> = [];
  const line = (name: string, values: Array<number | undefined>, color: string, yaxis = 'y') => {
    if (values.every((v) => v === undefined)) return;
    series.push({ type: 'scatter', mode: 'lines+markers', name, x: epochs, y: values.map((v) => (v === undefined ? null : v)), line: { color }, yaxis });
  };
  line('학습 손실', result.epochs.map((row) => row.trainLoss), COLORS.train);
  line('검증 손실', result.epochs.map((row) => row.validLoss), COLORS.valid);
  line(plotlyText(result.metricName ?? '평가 지표'), result.epochs.map((row) => row.metric), COLORS.metric, 'y2');
  if (series.length === 0) return undefined;
  const hasMetric = series.some((s) => s.yaxis === 'y2');
  return {
    title,
    data: series,
    layout: baseLayout(title, {
      xaxis: { title: { text: '에폭' }, dtick: 1 },
      yaxis: { title: { text: '손실' }, rangemode: 'tozero' },
      ...(hasMetric ? { yaxis2: { title: { text: plotlyText(result.metricName ?? '평가 지표'), standoff: 12 }, overlaying: 'y', side: 'right', rangemode: 'tozero', automargin: true } } : {}),
      margin: { l: 70, r: hasMetric ? 80 : 20, t: 50, b: 90 },
      legend: { orientation: 'h', x: 0, y: -0.3 },
    }),
  };
}

export function confusionChart(result: ConfusionResult, title = result.title ?? '혼동 행렬'): Figure {
  const labels = result.labels.map(plotlyText);
  const counts = predictedByGold(result);
  // Colour by the share of each gold class (column), so a small class's diagonal is as dark as a big
  // one's; the cells print the counts.
  const goldTotals = labels.map((_, g) => counts.reduce((sum, row) => sum + row[g], 0));
  const shares = counts.map((row) => row.map((count, g) => (goldTotals[g] > 0 ? count / goldTotals[g] : 0)));
  return {
    title,
    data: [
      {
        type: 'heatmap',
        x: labels.map((l) => `정답: ${l}`),
        y: labels.map((l) => `예측: ${l}`),
        z: shares,
        zmin: 0,
        zmax: 1,
        text: counts.map((row) => row.map(String)),
        texttemplate: '%{text}',
        customdata: shares.map((row) => row.map((share) => `${(share * 100).toFixed(1)}%`)),
        hovertemplate: '%{y} / %{x}: %{text}건 (정답의 %{customdata})<extra></extra>',
        // Light for few, dark blue for many (plotly's own 'Blues' runs the other way).
        colorscale: [
          [0, '#f4f8fd'],
          [0.5, '#7fb0e6'],
          [1, '#1f4e96'],
        ],
        showscale: false,
      },
    ],
    layout: baseLayout(title, {
      // automargin: long labels widen the margin instead of being cut off.
      yaxis: { autorange: 'reversed', automargin: true },
      xaxis: { side: 'top', automargin: true },
      margin: { l: 110, r: 20, t: 80, b: 20 },
      height: Math.max(260, 70 * labels.length + 110),
    }),
  };
}

export function perLabelF1Chart(result: PerLabelResult, title = result.title ?? '라벨별 F1'): Figure {
  return {
    title,
    data: [
      {
        type: 'bar',
        x: result.rows.map((row) => plotlyText(row.label)),
        y: result.rows.map((row) => row.f1),
        text: result.rows.map((row) => row.f1.toFixed(2)),
        textposition: 'outside',
        marker: { color: COLORS.tuned },
        hovertemplate: '%{x}: F1 %{y:.4f}<extra></extra>',
      },
    ],
    layout: baseLayout(title, { yaxis: { title: { text: 'F1' }, range: [0, 1.1] } }),
  };
}

export function comparisonChart(result: ComparisonResult, title = result.title ?? '베이스라인 vs 파인튜닝'): Figure | undefined {
  // Counts (TP/FP/FN) do not share a scale with scores; the table shows them.
  const rows = comparisonRows(result).filter((row) => !row.isCount);
  const metrics = rows.map((row) => row.key);
  if (metrics.length === 0) return undefined;
  const names = rows.map((row) => plotlyText(row.label));
  const scale = result.format === 'percent' ? 100 : 1;
  const bar = (name: string, values: Record<string, number>, color: string) => ({
    type: 'bar',
    name: plotlyText(name),
    x: names,
    y: metrics.map((key) => values[key] * scale),
    marker: { color },
    text: metrics.map((key) => (result.format === 'percent' ? `${(values[key] * 100).toFixed(2)}%` : values[key].toFixed(4))),
    textposition: 'outside',
  });
  return {
    title,
    data: [bar(result.baseName ?? '베이스라인', result.base, COLORS.base), bar(result.tunedName ?? '파인튜닝 후', result.tuned, COLORS.tuned)],
    layout: baseLayout(title, {
      barmode: 'group',
      yaxis: { rangemode: 'tozero', ...(result.format === 'percent' ? { ticksuffix: '%' } : {}) },
      margin: { l: 70, r: 20, t: 50, b: 90 },
      legend: { orientation: 'h', x: 0, y: -0.25 },
    }),
  };
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
