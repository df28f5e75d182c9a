/**
 * Every committed report read as a reviewer reads it (issue 25): no internal names in the prose, no
 * result keys as headings, one 실행 시간 row, counts in prose that agree with their tables. Each
 * defect class is also planted into a real report, so the scan is shown to catch it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { scanReport, type ReportDefectKind } from '../../lib/report/report-scan.js';

const reportsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../reports');
const reports = readdirSync(reportsDir)
  .filter((file) => file.endsWith('.md') && file !== 'README.md')
  .sort()
  .map((file) => ({ file, text: readFileSync(path.join(reportsDir, file), 'utf8') }));
const report = (name: string) => reports.find((r) => r.file === name)!.text;
const kinds = (text: string) => new Set(scanReport(text).map((d) => d.kind));
const assertFinds = (text: string, kind: ReportDefectKind, what: string) => assert.ok(kinds(text).has(kind), `the scan misses ${what}`);

test('the committed reports are all there, study reports and the index', () => {
  assert.deepEqual(
    reports.map((r) => r.file),
    ['01-bilstm-crf-tagger.md', '02-klue-ner-llm.md', '03-sentiment.md', '04-json-judgement.md', '05-kormedmcqa.md', '06-span-ner-lora.md', 'index.md'],
  );
});

for (const { file, text } of reports) {
  test(`${file}: no defect a reviewer would flag`, () => {
    const defects = scanReport(text);
    assert.deepEqual(defects.map((d) => `${file}:${d.line}: ${d.kind}: ${d.message}`), []);
  });
}

test('planted: an internal name in the prose is found; the same name in code formatting is not', () => {
  const base = report('02-klue-ner-llm.md');
  assert.equal(kinds(base).size, 0);
  assertFinds(base.replace('## 1. ', '변환 결과는 oracle round trip으로 잽니다.\n\n## 1. '), 'internal-name', 'an English working name');
  assertFinds(base.replace('## 1. ', '원인: 경계 틀림 (wrong\\_boundary)\n\n## 1. '), 'internal-name', 'an escaped diagnoser code');
  assertFinds(report('06-span-ner-lora.md').replace('\n---\n\n## 실행 정보\n', '\n---\n\n## 실행 정보\n\n| cellTimeoutMs | 1800000 |\n'), 'internal-name', 'a runner key in the run metadata');
  assert.equal(kinds(base.replace('## 1. ', '원인: 경계 틀림(`wrong_boundary`)\n\n```\nstrict fenced\n```\n\n## 1. ')).size, 0, 'code spans and fences are where code names may stand');
});

test('planted: an internal result key as a heading, and a 기타 결과 section, are found', () => {
  const base = report('03-sentiment.md');
  assertFinds(base.replace('## 1. ', '### report-title\n\n- 감성 분류\n\n## 1. '), 'key-heading', 'a result key heading');
  assertFinds(base.replace('## 1. ', '## 기타 결과\n\n## 1. '), 'key-heading', 'a catch-all section');
});

test('planted: a second 실행 시간 row is found', () => {
  for (const { file, text } of reports.filter((r) => r.file !== 'index.md')) {
    const row = /^\| 실행 시간 \|.*\|$/m.exec(text);
    assert.ok(row, `${file} has its 실행 시간 row`);
    assertFinds(text.replace(row[0], `${row[0]}\n| 하드웨어 | CPU |\n| 실행 시간 | 1초 |`), 'run-time-rows', `${file}: two run-time rows`);
  }
});

test('planted: a count in prose that disagrees with its table is found', () => {
  const base = report('02-klue-ner-llm.md');
  const sentence = /답변 (\d+)개, 문장 (\d+)개이고/.exec(base);
  assert.ok(sentence, '02 says how many replayed answers it read');
  assertFinds(base.replace(sentence[0], `답변 ${Number(sentence[1]) + 1}개, 문장 ${sentence[2]}개이고`), 'count-mismatch', 'an answer count off by one');
  assertFinds(base.replace(sentence[0], `답변 ${sentence[1]}개, 문장 ${Number(sentence[2]) - 1}개이고`), 'count-mismatch', 'a sentence count off by one');
  const shown = /전체 (\d+)건 중 (\d+)건을 보입니다/.exec(base);
  assert.ok(shown, '02 says how many wrong cases it shows');
  assertFinds(base.replace(shown[0], `전체 ${shown[1]}건 중 ${Number(shown[2]) - 1}건을 보입니다`), 'count-mismatch', 'a shown-rows count');
});
