/**
 * Issue 14: `hanlab report` on a result nested 100,000 levels deep gave a nunjucks stack trace, and at
 * 3,000 levels it took 47 s and wrote an 18 MB report. Now such a result is left out with a notice that
 * says which bound it passed, the other results still render, and the report stays small.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RESULT_MIME } from '../../lib/results/read.js';
import { renderReport } from '../../lib/report/pipeline.js';
import { MAX_RESULT_CHARS, MAX_RESULT_DEPTH, measureResult } from '../../lib/results/bounds.js';

/** An executed notebook's JSON text with one result nested `depth` levels (built as text: JSON.stringify would overflow). */
function notebookText(depth: number, extra: Record<string, unknown> = {}): string {
  const nested = '{"a":'.repeat(depth) + '"leaf"' + '}'.repeat(depth);
  const output = (name: string, valueJson: string) =>
    `{"output_type":"display_data","metadata":{},"data":{${JSON.stringify(RESULT_MIME)}:{"name":${JSON.stringify(name)},"value":${valueJson}},"text/plain":"x"}}`;
  const outputs = [output('deep', nested), output('count', '3'), ...Object.entries(extra).map(([k, v]) => output(k, JSON.stringify(v)))];
  return `{"nbformat":4,"nbformat_minor":5,"metadata":{"hanlab":{"report":{"template":"generic","name":"deep","title":"깊은 결과"}}},"cells":[{"cell_type":"code","id":"c1","metadata":{},"execution_count":1,"source":"","outputs":[${outputs.join(',')}]}]}`;
}

for (const depth of [100_000, 3_000]) {
  test(`hanlab report: a result nested ${depth.toLocaleString('en-US')} levels is left out with a clear notice`, (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-deep-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'deep.ipynb');
    writeFileSync(file, notebookText(depth));
    const started = Date.now();
    const written = renderReport(file, path.join(dir, 'out'));
    const seconds = (Date.now() - started) / 1000;
    const markdown = readFileSync(written.markdownPath, 'utf8');
    assert.match(markdown, new RegExp(`> \\*\\*생략한 결과\\*\\*: 결과 "deep"은\\(는\\) ${MAX_RESULT_DEPTH}단계보다 깊이 중첩되어`));
    assert.match(markdown, /\| count \| 3 \|/, 'the other results still render');
    assert.ok(statSync(written.markdownPath).size < 10_000 && statSync(written.htmlPath).size < 50_000, 'the report stays small');
    // Not a timed test: a generous ceiling that the old 47 s would have failed by far.
    assert.ok(seconds < 20, `rendered in ${seconds} s`);
  });
}

test('a result over the size bound is left out; one within both bounds renders', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-big-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'big.ipynb');
  const big = Array.from({ length: 30_000 }, (_, i) => ({ id: i, text: '가'.repeat(80) }));
  writeFileSync(file, notebookText(MAX_RESULT_DEPTH - 2, { big }));
  const markdown = readFileSync(renderReport(file, path.join(dir, 'out')).markdownPath, 'utf8');
  assert.match(markdown, /결과 "big"은\(는\) JSON으로 2\.0MB를 넘어/);
  assert.doesNotMatch(markdown, /결과 "deep"/, `a result ${MAX_RESULT_DEPTH - 2} levels deep is within the bound`);
});

test('measureResult walks iteratively and stops at the first bound passed', () => {
  assert.deepEqual(measureResult({ a: [1, { b: 'x' }] }), { depth: 3, chars: measureResult({ a: [1, { b: 'x' }] }).chars });
  let deep: unknown = 0;
  for (let i = 0; i < 200_000; i++) deep = [deep];
  assert.equal(measureResult(deep).over, 'depth');
  assert.equal(measureResult('x'.repeat(MAX_RESULT_CHARS + 1)).over, 'size');
  assert.equal(measureResult(null).over, undefined);
});
