/**
 * lib/results/result-html.ts: one emitted result drawn by the report's own templates and HTML renderer,
 * for the notebook display. The same result must read the same in a notebook and in the report.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Notebook } from '../../lib/notebook/nbformat.js';
import { RESULT_MIME } from '../../lib/results/read.js';
import { renderDocuments } from '../../lib/report/render.js';
import { resultHtml } from '../../lib/results/result-html.js';
import { classifyResult } from '../../lib/results/kinds.js';

const RESULTS: Record<string, unknown> = {
  risk: { kind: 'confusion', title: '위험도 혼동 행렬', labels: ['높음', '<b>낮음</b>'], matrix: [[29, 1], [0, 42]] },
  steps: { kind: 'table', title: '변환 단계', columns: ['단계', 'F1'], rows: [['json_to_bio', 0], ['alignAnswer', 0.7463]] },
  'per-label': { kind: 'per-label', title: '라벨별', rows: [{ label: 'PS', precision: 0.8, recall: 0.5, f1: 0.6, support: 10 }] },
};

function notebookOf(results: Record<string, unknown>): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { hanlab: { report: { template: 'generic', name: 'same', title: '같은 표' } } },
    cells: [
      {
        cell_type: 'code',
        source: '',
        metadata: {},
        execution_count: 1,
        outputs: Object.entries(results).map(([name, value]) => ({ output_type: 'display_data', data: { [RESULT_MIME]: { name, value }, 'text/plain': name }, metadata: {} })),
      },
    ],
  };
}

/** The tables of an HTML text. */
const tables = (html: string): string[] => html.match(/<table>[\s\S]*?<\/table>/g) ?? [];

describe('resultHtml', () => {
  test('every table and chart is exactly the one in the HTML report of the same result', () => {
    const report = renderDocuments(notebookOf(RESULTS)).html;
    for (const [name, value] of Object.entries(RESULTS)) {
      const shown = tables(resultHtml(classifyResult(name, value)));
      assert.ok(shown.length > 0, name);
      for (const table of shown) assert.ok(report.includes(table), `${name}: ${table.slice(0, 200)}`);
    }
    assert.ok(tables(resultHtml(classifyResult('risk', RESULTS.risk)))[0]!.includes('정답: &lt;b&gt;낮음&lt;/b&gt;'), 'labels are escaped');
    const charts = (html: string): string[] => html.match(/<figure class="chart"[\s\S]*?<\/figure>/g) ?? [];
    const riskCharts = charts(resultHtml(classifyResult('risk', RESULTS.risk)));
    assert.equal(riskCharts.length, 1, 'the confusion matrix has its chart, as an inline SVG');
    assert.match(riskCharts[0]!, /<svg[\s\S]*<\/svg>/);
    assert.ok(charts(report).includes(riskCharts[0]!), 'the same SVG as in the report');
  });

  test('headline figures and the environment, which the report shows outside the result sections, are drawn too', () => {
    const headline = resultHtml(classifyResult('headline', { kind: 'headline', figures: [{ label: 'F1', value: 0.7463, format: 'score' }] }));
    assert.match(headline, /<li><strong>F1<\/strong>: 0\.7463<\/li>/);
    const environment = resultHtml(classifyResult('environment', { kind: 'environment', hardware: 'CPU × 2', backend: 'wasm' }));
    assert.match(environment, /<td>백엔드<\/td>\n<td><code>wasm<\/code><\/td>/);
  });

  test('a malformed result is the report\'s own error', () => {
    assert.throws(() => resultHtml(classifyResult('risk', { kind: 'confusion', labels: ['a'], matrix: 'x' })), /result "risk"/);
  });
});
