/**
 * The six study notebooks and their report templates, checked without a kernel: each notebook is
 * valid nbformat 4 with a `parameters` cell, names an existing template, imports only `./lib/...`
 * (and Node built-ins), and each study template renders from a notebook's results: with none of them
 * (a partial run), and with results shaped as the notebook emits them, escaping untrusted text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readNotebook, type Notebook } from '../../lib/notebook/nbformat.js';
import { RESULT_MIME } from '../../lib/results/read.js';
import { renderMarkdown } from '../../lib/report/render.js';

const NOTEBOOKS = readdirSync('notebooks').filter((f) => f.endsWith('.ipynb')).sort();
const EXPECTED = ['01-bilstm-crf-tagger', '02-klue-ner-llm', '03-sentiment', '04-json-judgement', '05-kormedmcqa', '06-span-ner-lora'];
const source = (cell: { source: string | string[] }) => (Array.isArray(cell.source) ? cell.source.join('') : cell.source);

test('the six study notebooks are there', () => {
  assert.deepEqual(NOTEBOOKS.map((f) => f.replace(/\.ipynb$/, '')), EXPECTED);
});

for (const file of NOTEBOOKS) {
  test(`${file}: parameters cell, template, imports`, () => {
    const nb = readNotebook(path.join('notebooks', file));
    assert.equal(nb.nbformat, 4);
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    const parameters = code.filter((c) => (c.metadata.tags ?? []).includes('parameters'));
    assert.equal(parameters.length, 1, 'exactly one cell tagged "parameters"');
    // Parameters are plain const declarations (the runner injects overrides after them).
    for (const line of source(parameters[0]).split('\n')) {
      if (line.trim() === '' || line.trim().startsWith('//')) continue;
      assert.match(line, /^const [a-z_]+ = /, `parameters cell line: ${line}`);
    }
    const report = (nb.metadata.hanlab as { report?: { template?: string; name?: string; title?: string } } | undefined)?.report;
    assert.ok(report?.template && report.name && report.title, 'metadata.hanlab.report names template, name and title');
    assert.ok(existsSync(path.join('templates', `${report.template}.njk`)), `templates/${report.template}.njk exists`);
    assert.equal(report.name, file.replace(/\.ipynb$/, ''));
    for (const cell of code) {
      for (const m of source(cell).matchAll(/from '([^']+)'/g)) {
        const spec = m[1];
        assert.ok(spec.startsWith('./lib/') || spec === 'fs' || spec === 'path', `${file} imports ${spec}`);
        if (spec.startsWith('./lib/')) assert.ok(existsSync(`${spec}.ts`), `${spec}.ts exists`);
      }
      // No outputs are committed: notebooks are run by `hanlab run`, reports come from the executed copy.
      assert.deepEqual(cell.outputs, []);
    }
  });
}

/** A notebook holding only results (as the runner leaves them) for rendering. */
function withResults(file: string, results: Record<string, unknown>): Notebook {
  const nb = readNotebook(path.join('notebooks', file));
  const outputs = Object.entries(results).map(([name, value]) => ({
    output_type: 'display_data' as const,
    metadata: {},
    data: { [RESULT_MIME]: { name, value }, 'text/plain': name },
  }));
  return { ...nb, cells: [{ cell_type: 'code', id: 'results', metadata: {}, execution_count: 1, source: '', outputs }] } as Notebook;
}

for (const file of NOTEBOOKS) {
  test(`${file}: its template renders with no results at all`, () => {
    const md = renderMarkdown(withResults(file, {}), { file });
    const nb = JSON.parse(readFileSync(path.join('notebooks', file), 'utf8'));
    assert.ok(md.startsWith(`# ${nb.metadata.hanlab.report.title}`.replace(/[\\`*_[\]|<>]/g, (c) => `\\${c}`)) || md.startsWith('# '));
    assert.doesNotMatch(md, /undefined|\[object Object\]|NaN/);
  });
}

test('study 000 template: the overfitting analysis follows the numbers', () => {
  const results = {
    'data-note': { source: 'reconstructed', files: ['data/study-000/base.jsonl'], text: '재구성 | <script>alert(1)</script>' },
    scores: { kind: 'comparison', base: { precision: 0.5, recall: 0.0455, f1: 0.0833, tp: 1, fp: 1, fn: 21 }, tuned: { precision: 0, recall: 0, f1: 0, tp: 0, fp: 0, fn: 22 }, highlight: ['f1'] },
    loss: { kind: 'loss', epochs: [{ epoch: 1, trainLoss: 7.5 }, { epoch: 2, trainLoss: 0 }] },
    'loss-summary': { first: 7.5, min: 0, minEpoch: 2, last: 0, lastEpoch: 2, epochs: 2, baseF1: 0.0833, tunedF1: 0, trainSentences: 37, testSentences: 8 },
    'published-check': { checked: 12, mismatches: [] },
  };
  const md = renderMarkdown(withResults('06-span-ner-lora.ipynb', results), { file: '06' });
  assert.match(md, /\*\*과적합\*\*입니다/);
  assert.match(md, /\*\*파인튜닝으로 성능이 나아지지 않았습니다\*\*/);
  assert.match(md, /\| \*\*F1\*\* \| \*\*0\.0833\*\* \| \*\*0\.0000\*\* \| \*\*-0\.0833\*\* \|/);
  assert.match(md, /모두 일치합니다\. 이 기록은 그 표에서 재구성한 것이라 일치는 구성상 당연하며/, 'agreement with rebuilt records is said to be by construction');
  assert.match(md, /> \*\*데이터 안내 — 공개 보고서의 표에서 재구성한 기록\*\*: 이 보고서의 수치는 `data\/study-000\/base\.jsonl`에서 계산했습니다\./);
  assert.match(md, /재구성 \\\| \\<script>/, 'untrusted text is escaped');
  assert.doesNotMatch(md, /(^|[^\\])<script>/, 'no raw <script> tag');

  const better = { ...results, 'loss-summary': { ...results['loss-summary'], min: 0.5, tunedF1: 0.3 } };
  const md2 = renderMarkdown(withResults('06-span-ner-lora.ipynb', better), { file: '06' });
  assert.doesNotMatch(md2, /\*\*과적합\*\*입니다/);
  assert.match(md2, /테스트 F1은 올랐습니다/);
});

test('study 001 template: rows = 예측, columns = 정답, honest recall lines, notes on the published report', () => {
  const results = {
    'risk-confusion': { kind: 'confusion', labels: ['높음', '애매', '낮음'], rows: 'gold', matrix: [[29, 0, 0], [1, 42, 6], [0, 1, 64]] },
    'published-notes': ['공개 보고서의 match 정확도 611/643은 행렬 대각합 609와 맞지 않습니다.'],
    'published-errors-match': { same: false, published: 8, computed: 1, shared: 1 },
    'published-check': { kind: 'table', columns: ['지표', '공개 보고서', '계산'], rows: [['match 정확도', '611/643', '609/643']] },
    'risk-error-pattern': { predicted: '낮음', gold: '애매', count: 6, errors: 8 },
    'risk-errors': { kind: 'errors', rows: [{ id: 68, input: 'UV | 차단 <b>', predicted: '낮음', gold: '애매' }] },
  };
  const md = renderMarkdown(withResults('04-json-judgement.ipynb', results), { file: '04' });
  assert.match(md, /\| \*\*예측: 낮음\*\* \| 0 \| 6 \| 64 \|/);
  assert.match(md, /- \*\*높음\*\*: 29개 중 29개 정답 \(100\.0%\)/);
  assert.match(md, /- \*\*애매\*\*: 49개 중 42개 정답 \(85\.7%\) - 가장 어려운 클래스/);
  assert.match(md, /공개 보고서 안에서 맞지 않는 수치/);
  assert.match(md, /risk_level 오류 케이스: 이 평가 1건, 공개 보고서의 오류 표 8건이고, 번호 · 예측 · 정답이 같은 케이스는 1건입니다\./);
  assert.match(md, /"애매"를 "낮음"으로 예측하는 경향이 있습니다 \(risk_level 오류 8건 중 6건\)/);
  assert.match(md, /UV \\\| 차단 \\<b>/);
});

test('study 002 template: per-subset table with ▴ gains and the CI conclusion', () => {
  const results = {
    accuracy: { kind: 'comparison', base: { doctor: 0.331 }, tuned: { doctor: 0.3839 }, labels: { doctor: 'Doctor (435)' }, format: 'percent', relative: true },
    'ci-summary': {
      subsets: 1, improved: ['Doctor'], worse: [], ciIncludesZero: ['Doctor'], improvedLine: '한 부분집합 모두에서 파인튜닝 모델의 정확도가 베이스 모델보다 높습니다',
      zeroLine: '한 부분집합 모두 차이의 95% 신뢰구간이 0을 포함합니다. 이 문항 수로는 부분집합별 향상이 우연과 구별되지 않습니다.',
      microLow: -0.9, microHigh: 11.7, microPoints: 5.29, resamples: 10000, seed: 42, unextractableBase: 0, unextractableTuned: 0,
    },
  };
  const md = renderMarkdown(withResults('05-kormedmcqa.ipynb', results), { file: '05' });
  assert.match(md, /Doctor \(435\)/);
  assert.match(md, /▴ 15\.98%/);
  assert.match(md, /- 한 부분집합 모두 차이의 95% 신뢰구간이 0을 포함합니다\./);
  assert.match(md, /전체 차이의 95% 신뢰구간: 문항 가중\(micro\) -0\.90%p ~ \+11\.70%p\.\n/);
  const both = renderMarkdown(withResults('05-kormedmcqa.ipynb', { ...results, 'ci-summary': { ...results['ci-summary'], macroLow: 0.01, macroHigh: 5.13, overallLine: '어느 평균을 쓰느냐에 따라 판단이 갈립니다.', pairingAssumed: true } }), { file: '05' });
  assert.match(both, /문항 가중\(micro\) -0\.90%p ~ \+11\.70%p, 세트 평균\(macro\) \+0\.01%p ~ \+5\.13%p\. 어느 평균을 쓰느냐에 따라 판단이 갈립니다\./);
  assert.match(both, /향상이 우연과 구별되는지는 실제 문항별 답변이 있어야 판단할 수 있습니다/, 'the assumed overlap of rebuilt records is named');
});
