/**
 * The reconstructed study records (data/study-000, -001, -002) reproduce their studies' published tables,
 * and the files on disk are exactly what scripts/reconstruct-study-data.ts writes (deterministic).
 * Counting here is deliberately plain (no lib metric) so that a metric bug cannot hide a data bug;
 * tests/studies/notebook-figures.test.ts checks the same tables through lib/metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { jsonrepair } from 'jsonrepair';
import {
  apportion,
  buildStudy000,
  buildStudy001,
  buildStudy002,
  countForPercent,
  type JudgementRecord,
  type SpanRecord,
  type Study000Published,
  type Study001Published,
  type Study002Published,
} from '../../scripts/reconstruct-study-data.js';

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const readJsonl = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);

const pub001 = readJson<Study001Published & Record<string, any>>('data/study-001/published.json');
const pub002 = readJson<Study002Published>('data/study-002/published.json');
const pub000 = readJson<Study000Published & Record<string, any>>('data/study-000/published.json');

function parses(answer: string): { risk_level: string; components: { component: string; match: string }[] } | undefined {
  try {
    return JSON.parse(answer);
  } catch {
    try {
      return JSON.parse(jsonrepair(answer));
    } catch {
      return undefined;
    }
  }
}

test('apportion splits by largest remainder and keeps the total', () => {
  assert.deepEqual(apportion(4, [29, 49, 65]), [1, 1, 2]);
  assert.deepEqual(apportion(10, [387, 116, 130]), [6, 2, 2]);
  assert.deepEqual(apportion(22, [1, 1, 1, 1, 1, 1, 1, 1]), [3, 3, 3, 3, 3, 3, 2, 2]);
});

test('study 001: the shipped answers file is what the script writes', () => {
  const { records } = buildStudy001(pub001);
  const onDisk = readJsonl<JudgementRecord>('data/study-001/answers.jsonl');
  assert.deepEqual(onDisk, records);
});

test('study 001: 147 samples, 4 unparseable even after JSON repair', () => {
  const records = readJsonl<JudgementRecord>('data/study-001/answers.jsonl');
  assert.equal(records.length, pub001.summary.json_valid.total);
  const strict = records.filter((r) => {
    try {
      JSON.parse(r.answer);
      return true;
    } catch {
      return false;
    }
  });
  assert.equal(strict.length, pub001.summary.json_valid.correct);
  assert.equal(records.filter((r) => parses(r.answer) === undefined).length, pub001.json_failures);
});

test('study 001: risk_level confusion (rows = 예측, columns = 정답) equals the published matrix', () => {
  const labels = pub001.labels.risk_level;
  const records = readJsonl<JudgementRecord>('data/study-001/answers.jsonl');
  const m = labels.map(() => labels.map(() => 0));
  let correct = 0;
  for (const r of records) {
    const p = parses(r.answer);
    if (!p) continue;
    m[labels.indexOf(p.risk_level)][labels.indexOf(r.gold.risk_level)] += 1;
    if (p.risk_level === r.gold.risk_level) correct += 1;
  }
  assert.deepEqual(m, pub001.risk_level_confusion.matrix);
  assert.equal(correct, pub001.summary.risk_level_accuracy.correct);
});

test('study 001: match item confusion equals the published matrix; 643 gold items in all', () => {
  const labels = pub001.labels.match;
  const records = readJsonl<JudgementRecord>('data/study-001/answers.jsonl');
  const m = labels.map(() => labels.map(() => 0));
  let goldItems = 0;
  for (const r of records) {
    goldItems += r.gold.components.length;
    const p = parses(r.answer);
    if (!p) continue;
    assert.deepEqual(p.components.map((c) => c.component), r.gold.components.map((c) => c.component), `sample ${r.id}: components`);
    p.components.forEach((x, i) => (m[labels.indexOf(x.match)][labels.indexOf(r.gold.components[i].match)] += 1));
  }
  assert.deepEqual(m, pub001.match_confusion.matrix);
  assert.equal(goldItems, pub001.summary.match_accuracy.total);
  // The published 611 is not the diagonal of the published matrix: the data keeps the matrix.
  const diagonal = m[0][0] + m[1][1] + m[2][2];
  assert.equal(diagonal, 609);
  assert.notEqual(diagonal, pub001.summary.match_accuracy.correct);
});

test('study 001: the 8 published error cases, with their ids and query excerpts', () => {
  const records = readJsonl<JudgementRecord>('data/study-001/answers.jsonl');
  const errors = records
    .map((r) => ({ r, p: parses(r.answer) }))
    .filter(({ r, p }) => p && p.risk_level !== r.gold.risk_level)
    .map(({ r, p }) => ({ id: r.id, query: r.query, predicted: p!.risk_level, gold: r.gold.risk_level }));
  assert.deepEqual(errors, pub001.risk_level_errors);
  // Every other query is a visible placeholder, never an invented text.
  for (const r of records) {
    if (pub001.risk_level_errors.some((e: { id: number }) => e.id === r.id)) continue;
    assert.equal(r.query, `특허 청구항 질의 #${r.id}`);
  }
});

test('study 002: counts reproduce the published percentages', () => {
  assert.equal(countForPercent(33.1, 435), 144);
  assert.equal(countForPercent(38.39, 435), 167);
  assert.equal(countForPercent(48.86, 878), 429);
  assert.equal(countForPercent(51.03, 878), 448);
  assert.equal(countForPercent(35.64, 811), 289);
  assert.equal(countForPercent(37.85, 811), 307);
  assert.equal(countForPercent(42.49, 885), 376);
  assert.equal(countForPercent(43.05, 885), 381);
  assert.throws(() => countForPercent(33.333, 7));
});

test('study 002: shipped files are what the script writes, and score as published', () => {
  const { files } = buildStudy002(pub002);
  for (const [rel, text] of files) assert.equal(readFileSync(`data/${rel}`, 'utf8'), text, rel);
  for (const s of pub002.subsets) {
    const rows = readFileSync(`data/study-002/questions/${s.subset}.csv`, 'utf8').trim().split('\n').slice(1);
    const gold = rows.map((line) => line.slice(line.lastIndexOf(',') + 1));
    assert.equal(gold.length, s.size);
    for (const [model, percent] of [
      ['base', s.base_percent],
      ['finetuned', s.finetuned_percent],
    ] as const) {
      const answers = readJsonl<{ id: string; answer: string }>(`data/study-002/${model}/${s.subset}.jsonl`);
      assert.equal(answers.length, s.size);
      const correct = answers.filter((a, i) => a.answer === gold[i]).length;
      const digits = (String(percent).split('.')[1] ?? '').length;
      assert.equal(Number(((100 * correct) / s.size).toFixed(digits)), percent, `${model} ${s.subset}`);
    }
  }
});

test('study 000: TP/FP/FN 1/1/21 (base) and 0/0/22 (fine-tuned) over 8 sentences; loss table as published', () => {
  const gold = readJsonl<SpanRecord>('data/study-000/gold.jsonl');
  const built = buildStudy000(pub000);
  assert.deepEqual(gold, built.gold);
  assert.equal(gold.length, pub000.data.test);
  const key = (id: string, e: { label: string; start: number; end: number }) => `${id}|${e.label}|${e.start}|${e.end}`;
  const goldKeys = new Set(gold.flatMap((g) => g.entities.map((e) => key(g.id, e))));
  for (const [file, expected] of [
    ['base', pub000.results.baseline],
    ['finetuned', pub000.results.finetuned],
  ] as const) {
    const pred = readJsonl<{ id: string; entities: SpanRecord['entities'] }>(`data/study-000/${file}.jsonl`);
    const predKeys = pred.flatMap((p) => p.entities.map((e) => key(p.id, e)));
    const tp = predKeys.filter((k) => goldKeys.has(k)).length;
    assert.deepEqual({ tp, fp: predKeys.length - tp, fn: goldKeys.size - tp }, { tp: expected.tp, fp: expected.fp, fn: expected.fn }, file);
    // Every predicted span lies inside its sentence and names its surface.
    for (const p of pred) {
      const text = gold.find((g) => g.id === p.id)!.text;
      for (const e of p.entities) assert.equal(text.slice(e.start, e.end), e.text);
    }
  }
  const loss = readJson<{ epochs: { epoch: number; loss: number }[] }>('data/study-000/loss.json');
  assert.deepEqual(loss.epochs.map((e) => e.loss), pub000.loss);
  assert.deepEqual(loss.epochs.map((e) => e.epoch), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});
