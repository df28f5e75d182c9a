import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../../lib/errors.js';
import { readNotebook, type Notebook } from '../../lib/notebook/nbformat.js';
import { buildReportModel, renderDocuments, renderIndex, renderMarkdown, reportSettings } from '../../lib/report/render.js';

const FIXTURES = path.join(process.cwd(), 'tests', 'fixtures', 'reports');
const fixture = (name: string) => path.join(FIXTURES, name);
const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.ipynb')).sort();
const render = (name: string) => renderDocuments(readNotebook(fixture(name)), { file: fixture(name) });

test('rendering is deterministic: the same notebook gives byte-identical Markdown and HTML', () => {
  for (const name of fixtures) {
    const first = render(name);
    const second = render(name);
    assert.equal(first.markdown, second.markdown, `${name}: Markdown`);
    assert.equal(first.html, second.html, `${name}: HTML`);
    assert.equal(renderMarkdown(readNotebook(fixture(name)), { file: fixture(name) }), first.markdown);
  }
});

test('run times and dates appear only in the closing 실행 정보 section', () => {
  for (const name of fixtures) {
    const { markdown } = render(name);
    const cut = markdown.indexOf('\n## 실행 정보\n');
    assert.ok(cut > 0, `${name} has a 실행 정보 section`);
    const body = markdown.slice(0, cut);
    assert.doesNotMatch(body, /\d{4}-\d{2}-\d{2}/, `${name}: no dates before 실행 정보`);
    assert.doesNotMatch(body, /실행 시간|\d+분 \d+초/, `${name}: no run times before 실행 정보`);
    assert.match(markdown.slice(cut), /2026-11-21 05:00:00 UTC/);
    assert.match(markdown.slice(cut), /1df4f6b2a9c3e0d4f5a6b7c8d9e0f1a2b3c4d5e6/);
  }
});

test('the sentiment template reads like study 004: before/after, verdict, confusion matrix, config', () => {
  const { markdown, charts } = render('sentiment.ipynb');
  assert.match(markdown, /^# 뉴스 감성분석 모델 재학습 결과 \(KoELECTRA\)\n/);
  assert.match(markdown, /\| 지표 \| 재학습 전 \(Base\) \| 재학습 후 \(Fine-tuned\) \| Delta \|/);
  assert.match(markdown, /\| 정확도 \| 0\.3410 \| 0\.8530 \| \+0\.5120 \|/);
  assert.match(markdown, /\| \*\*F1\*\* \| \*\*0\.2957\*\* \| \*\*0\.8412\*\* \| \*\*\+0\.5455\*\* \|/);
  assert.match(markdown, /이 모델은 \*\*사용 가능 \(Good\)\*\* 단계입니다/);
  assert.match(markdown, /\| \*\*▶ 사용 가능 \(Good\)\*\* \|/);
  assert.match(markdown, /\|  \| 정답: 긍정 \| 정답: 부정 \| 정답: 중립 \|/);
  assert.match(markdown, /\| \*\*예측: 긍정\*\* \| 412 \| 22 \| 41 \|/);
  assert.match(markdown, /- \*\*중립\*\*: 400개 중 330개 정답 \(82\.5%\) - 가장 어려운 클래스/);
  assert.match(markdown, /```ini\n\[Path\]\nmodel_name = monologg\/koelectra-base-v3-discriminator/);
  assert.deepEqual(charts.map((c) => c.file), ['news-sentiment.before-after.svg', 'news-sentiment.confusion.svg', 'news-sentiment.loss.svg']);
  // Each chart is an image line linking its SVG file beside the report.
  for (const chart of charts) assert.ok(markdown.includes(`](${chart.file})\n`), chart.file);
  // The verdict has its own section; 주요 발견 does not repeat it.
  assert.doesNotMatch(markdown.slice(0, markdown.indexOf('## 1.')), /기준표/);
});

test('the generic template shows study 000 and 002 figures the way the studies write them', () => {
  const gliner = render('gliner-kbmc.ipynb').markdown;
  assert.match(gliner, /\| \*\*F1\*\* \| \*\*0\.0833\*\* \| \*\*0\.0000\*\* \| \*\*-0\.0833\*\* \|/);
  assert.match(gliner, /\| TP \| 1 \| 0 \| -1 \|/);
  assert.match(gliner, /\| FN \| 21 \| 22 \| \+1 \|/);
  assert.match(gliner, /\| 8 \| 0\.0000 \|/);
  assert.match(gliner, /- \*\*과적합\*\*: /);
  const mcqa = render('kormedmcqa.ipynb').markdown;
  assert.match(mcqa, /\| Doctor \(435\) \| 33\.10% \| 38\.39% \| \+5\.29%p \| ▴ 15\.98% \|/);
  assert.match(mcqa, /\| KorMedMCQA \| 3,401 \| 1,059 \| 3,009 \|/);
  const patent = render('patent-risk.ipynb').markdown;
  assert.match(patent, /\| JSON 유효성 \| 143\/147 \| \*\*97\.3%\*\* \|/);
  assert.match(patent, /\| 102 \| 폴리아미드계 겔화제-ATPA 52% \\\| 비교 대상 \| 높음 \| 애매 \|/);
});

test('HTML is one self-contained file: charts as inline SVG, no script, no outside URL', () => {
  for (const name of fixtures) {
    const { html, charts } = render(name);
    assert.ok(!/<script\b/i.test(html), `${name}: no script element`);
    assert.ok(!/<(script|link|img|iframe|image|use)\b[^>]*\b(src|href)\s*=/i.test(html), `${name}: no element loads anything by URL`);
    // The only URLs are the SVG namespace declarations Vega writes.
    const urls = html.match(/https?:\/\/[^\s"')<]+/g) ?? [];
    assert.deepEqual([...new Set(urls)].filter((u) => !/^http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)$/.test(u)), [], `${name}: no outside URL`);
    // nunjucks writes the quotes as &#39;, which the browser reads back as quotes.
    assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; script-src &#39;none&#39;`), `${name}: CSP`);
    assert.equal(html.match(/<figure class="chart"[^>]*><svg /g)?.length ?? 0, charts.length, `${name}: one inline SVG per chart`);
  }
});

test('INJECTION: model answers with <script>, <img onerror>, javascript: links stay inert text in Markdown and HTML', () => {
  const { markdown, html } = render('injection.ipynb');
  // Markdown: every payload is escaped where it stands; nothing would render as a tag or link.
  assert.match(markdown, /\\<script>window\.\\_\\_pwned = "script"; alert\(1\)\\<\/script>/);
  assert.match(markdown, /\\<img src=x onerror="window\.\\_\\_pwned = 'img'; alert\(2\)">/);
  assert.match(markdown, /\\\[눌러 보세요\\\]\(javascript:window/);
  // Outside code spans (whose content is never markup), no "<" or "[" is left unescaped before a payload.
  const prose = markdown.replace(/`[^`\n]*`/g, '');
  assert.doesNotMatch(prose, /(^|[^\\])<(script|img|iframe|svg|a )/m);
  assert.doesNotMatch(prose, /(^|[^\\])\[[^\]]*\]\(javascript:/);
  assert.match(markdown, /`prompt=<img src=x onerror=alert\("param"\)>`/);

  // HTML: the page body holds the payloads only as escaped text; charts are Vega's own SVG markup.
  const main = html.slice(html.indexOf('<main'), html.indexOf('</main>'));
  const figures = main.match(/<figure class="chart"[\s\S]*?<\/figure>/g) ?? [];
  const body = main.replace(/<figure class="chart"[\s\S]*?<\/figure>/g, '');
  assert.ok(!/<(script|img|iframe|svg|a|object|embed)\b/i.test(body), 'no tag from the payloads');
  // Attribute values (quoted, escaped) are cut first: a label may quote "onload=" as text.
  assert.ok(!/<[a-z][^>]*\son[a-z]+\s*=/i.test(main.replace(/"[^"]*"/g, '""')), 'no element with an event handler');
  assert.ok(!/href\s*=\s*["']?\s*javascript:/i.test(main), 'no javascript: link');
  assert.match(body, /&lt;script&gt;window\.__pwned = &quot;script&quot;; alert\(1\)&lt;\/script&gt;/);
  assert.match(body, /&lt;img src=x onerror=&quot;window\.__pwned = &#39;img&#39;; alert\(2\)&quot;&gt;/);
  assert.match(body, /\[눌러 보세요\]\(javascript:window\.__pwned=&#39;link&#39;;alert\(3\)\)/);
  assert.ok(html.includes('<title>주입 방어 점검 &lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;</title>'), 'the title is escaped');
  // Chart labels are text inside the SVG: escaped, never an element.
  assert.ok(figures.length > 0, 'the injection fixture has a chart');
  assert.ok(figures.some((f) => f.includes('&lt;script&gt;alert(8)')), 'the label is in the chart as escaped text');
  for (const figure of figures) assert.ok(!/<(script|foreignObject|a|image|iframe)\b/i.test(figure), 'no active element inside a chart');
  assert.equal(html.match(/<script\b/g), null, 'no script element at all');
});

test('report settings: defaults, and errors that name the field', () => {
  const bare: Notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] };
  assert.deepEqual(reportSettings(bare, 'notebooks/study-x.ipynb'), { template: 'generic', name: 'study-x', title: 'study-x', inputs: [], parameters: undefined });
  const withReport = (report: unknown): Notebook => ({ ...bare, metadata: { hanlab: { report: report as Record<string, unknown> } } });
  assert.throws(() => reportSettings(withReport({ name: '../evil' }), 'n.ipynb'), (e: unknown) => e instanceof InputError && e.field === 'metadata.hanlab.report.name');
  assert.throws(() => reportSettings(withReport({ name: 'index' }), 'n.ipynb'), InputError);
  assert.throws(() => reportSettings(withReport({ template: '../x' }), 'n.ipynb'), (e: unknown) => e instanceof InputError && e.field === 'metadata.hanlab.report.template');
  assert.throws(() => reportSettings(withReport({ inputs: 'data.csv' }), 'n.ipynb'), (e: unknown) => e instanceof InputError && e.field === 'metadata.hanlab.report.inputs');
  assert.throws(
    () => renderMarkdown(withReport({ template: 'no-such-template' }), { file: 'n.ipynb' }),
    (e: unknown) => e instanceof InputError && /template "no-such-template" not found .*available: .*sentiment/.test(e.message),
  );
});

test('a notebook without results still renders (title, run section), and bad results name their field', () => {
  const bare: Notebook = { nbformat: 4, nbformat_minor: 5, metadata: { hanlab: { report: { title: '빈 노트북' } } }, cells: [] };
  const md = renderMarkdown(bare, { file: 'empty.ipynb' });
  assert.match(md, /^# 빈 노트북\n/);
  assert.match(md, /실행 기록\(`metadata\.hanlab\.run`\)이 없습니다/);
  const bad = readNotebook(fixture('sentiment.ipynb'));
  const output = (bad.cells[2] as { outputs: Array<{ data: Record<string, { value: { epochs: unknown[] } }> }> }).outputs[0];
  output.data['application/vnd.hanlab.result+json'].value.epochs = [{ epoch: 'one' }];
  assert.throws(() => buildReportModel(bad, 'bad.ipynb'), (e: unknown) => e instanceof InputError && e.file === 'bad.ipynb' && e.field === 'epochs[0].epoch');
});

test('the index lists every report with its headline figures and links in each format', () => {
  const entries = fixtures.map((name) => {
    const { model } = render(name);
    return { name: model.report.name, title: model.report.title, template: model.report.template, headline: model.headline, findings: model.findings };
  });
  const index = renderIndex(entries);
  assert.match(index.markdown, /\| \[뉴스 감성분석 모델 재학습 결과 \(KoELECTRA\)\]\(news-sentiment\.md\) \| 정확도 0\.8530 \(▴ 150\.15%\), F1 0\.8412 \(▴ 184\.48%\) \| 기준표: 사용 가능 \(Good\); 혼동 중립→긍정 41건 \|/);
  assert.match(index.markdown, /\(kormedmcqa\.md\) \| Doctor 정확도 38\.4% \(▴ 15\.98%\), Pharm 정확도 43\.0% \(▴ 1\.32%\) \| – \|/);
  assert.match(index.html, /<a href="news-sentiment\.html">/);
  assert.equal(index.markdown.match(/^\| \[/gm)?.length, fixtures.length);
  assert.ok(!index.html.includes('<svg'), 'no charts in the index');
});

test('result names are untrusted: __proto__ and constructor render as ordinary results', () => {
  const bundle = (name: string, value: unknown) => ({ output_type: 'display_data' as const, metadata: {}, data: { 'application/vnd.hanlab.result+json': { name, value } } });
  const notebook: Notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { hanlab: { report: { title: '이름 점검' } } },
    cells: [{ cell_type: 'code', source: '', metadata: {}, execution_count: 1, outputs: [bundle('__proto__', 7), bundle('constructor', { kind: 'metrics', rows: [{ label: 'x', value: 0.5 }] })] }],
  };
  const model = buildReportModel(notebook, 'names.ipynb');
  assert.deepEqual(model.results.map((r) => r.name), ['__proto__', 'constructor']);
  assert.equal(Object.getPrototypeOf(model.result), null);
  assert.equal(({} as Record<string, unknown>).kind, undefined, 'Object.prototype untouched');
  const md = renderMarkdown(notebook, { file: 'names.ipynb' });
  assert.match(md, /\| \\_\\_proto\\_\\_ \| 7 \|/);
  assert.match(md, /### constructor/);
});

test('result names that differ only in case get chart files that differ in more than case', () => {
  const confusion = (name: string, cell: number) => ({
    output_type: 'display_data' as const,
    metadata: {},
    data: { 'application/vnd.hanlab.result+json': { name, value: { kind: 'confusion', labels: ['a', 'b'], matrix: [[cell, 1], [2, 3]] } } },
  });
  const notebook: Notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { hanlab: { report: { title: '대소문자' } } },
    cells: [{ cell_type: 'code', source: '', metadata: {}, execution_count: 1, outputs: [confusion('x-y', 5), confusion('X-Y', 6), confusion('x-Y', 7)] }],
  };
  const { charts, markdown } = renderDocuments(notebook, { file: 'case.ipynb' });
  const files = charts.map((c) => c.file);
  assert.deepEqual(files, ['case.x-y.svg', 'case.X-Y-2.svg', 'case.x-Y-3.svg']);
  assert.equal(new Set(files.map((f) => f.toLowerCase())).size, files.length);
  for (const file of files) assert.ok(markdown.includes(`](${file})`), file);
});

test('an index without reports says so', () => {
  assert.match(renderIndex([]).markdown, /아직 만든 보고서가 없습니다/);
});

test('one result renders on its own, as in the report, with its chart inline', async () => {
  const { renderResult } = await import('../../lib/results/render.js');
  const { classifyResult } = await import('../../lib/results/kinds.js');
  const r = classifyResult('risk', { kind: 'confusion', title: '혼동 <b>', labels: ['높음', '낮음'], matrix: [[8, 2], [1, 9]] });
  const { markdown, html, charts } = renderResult(r);
  assert.match(markdown, /^### 혼동 \\<b>\n/);
  assert.match(markdown, /\| \*\*예측: 높음\*\* \| 8 \| 1 \|/);
  assert.deepEqual(charts.map((c) => c.file), ['result.risk.svg']);
  assert.match(html, /<figure class="chart" role="img" aria-label="혼동 &lt;b&gt;"><svg /);
  assert.match(renderResult(classifyResult('n', 3)).markdown, /- n: \*\*3\*\*/);
});
