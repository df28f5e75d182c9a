import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { isSafeUrl, markdownToHtml, renderPage } from '../../lib/results/html.js';

test('raw HTML in Markdown prints as text; only our chart images become inline SVG figures', () => {
  const chart = { file: 'r.loss.svg', title: '손실 <b>', svg: '<svg xmlns="http://www.w3.org/2000/svg"><text>7.5</text></svg>' };
  const html = markdownToHtml(`<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n![손실](r.loss.svg)\n\n![다른 그림](other.svg)\n\n텍스트 <b>굵게</b>`, [chart]);
  assert.ok(!/<script|<img|<b>/.test(html), html);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /<figure class="chart" role="img" aria-label="손실 &lt;b&gt;"><svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"><text>7\.5<\/text><\/svg><\/figure>/);
  // An image that is not one of the report's charts never loads: its alt text shows.
  assert.match(html, /<p>다른 그림<\/p>/);
});

test('bold next to Hangul renders (CJK-friendly emphasis); underscores inside words stay text', () => {
  assert.equal(markdownToHtml('Instruction은 **"질문을 보고, 맞추세요."**로 통일합니다.').trim(), '<p>Instruction은 <strong>&quot;질문을 보고, 맞추세요.&quot;</strong>로 통일합니다.</p>');
  assert.equal(markdownToHtml('risk_level과 match_정답_').trim(), '<p>risk_level과 match_정답_</p>');
});

test('links and images: only http(s), mailto, fragments and relative paths; remote images never load', () => {
  const html = markdownToHtml('[a](javascript:alert(1)) [b](JaVa\tScRiPt:alert(1)) [c](data:text/html,x) [d](report.html) [e](https://example.org) ![f](https://example.org/x.png) ![g](javascript:x)');
  assert.ok(!/href="(javascript|data|JaVa)/i.test(html), html);
  assert.match(html, /<a href="report\.html">d<\/a>/);
  assert.match(html, /<a href="https:\/\/example\.org">e<\/a>/);
  assert.ok(!/<img/.test(html), 'no image element');
  assert.deepEqual(['http://x', 'mailto:a@b', '#top', 'a/b.html'].map(isSafeUrl), [true, true, true, true]);
  assert.deepEqual(['javascript:x', ' javascript:x', 'java\nscript:x', 'vbscript:x', 'data:x', '//evil.example'].map(isSafeUrl), [false, false, false, false, false, false]);
});

test('tables scroll in their own box', () => {
  assert.match(markdownToHtml('| a | b |\n|---|---|\n| 1 | 2 |\n'), /^<div class="table-scroll"><table>/);
});

test('a page carries no script and forbids every script', () => {
  const html = renderPage({ title: '제목 <b>', markdown: '# 제목\n', charts: [], templatesDir: path.join(process.cwd(), 'templates') });
  assert.ok(!html.includes('<script'));
  assert.match(html, /script-src &#39;none&#39;/);
  assert.match(html, /<title>제목 &lt;b&gt;<\/title>/);
  assert.match(html, /<html lang="ko">/);
});
