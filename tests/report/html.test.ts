import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { chartPlaceholder, isSafeUrl, markdownToHtml, renderPage, scriptSafeJson } from '../../lib/report/html.js';

test('raw HTML in Markdown prints as text; only our chart placeholders become elements', () => {
  const html = markdownToHtml(`<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n${chartPlaceholder(0)}\n\n텍스트 <b>굵게</b>`);
  assert.ok(!/<script|<img|<b>/.test(html), html);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /<figure class="chart"><div class="chart-plot" id="hanlab-chart-0"><\/div><\/figure>/);
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

test('script-safe JSON cannot close its script element and parses back to the same value', () => {
  const value = { label: '</script><script>alert(1)</script>', amp: 'a & b', line: 'x\u2028y' };
  const text = scriptSafeJson(value);
  assert.ok(!/[<>&\u2028]/.test(text));
  assert.deepEqual(JSON.parse(text), value);
});

test('a page without charts carries no plotly and forbids every script', () => {
  const html = renderPage({ title: '제목 <b>', markdown: '# 제목\n', charts: [], templatesDir: path.join(process.cwd(), 'templates') });
  assert.ok(!html.includes('<script'));
  assert.match(html, /script-src &#39;none&#39;/);
  assert.match(html, /<title>제목 &lt;b&gt;<\/title>/);
  assert.match(html, /<html lang="ko">/);
});
