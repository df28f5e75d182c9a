/**
 * The figures the study notebooks compute, through the same lib/ calls, on the shipped reconstructed
 * records: they reproduce the published tables (and the published report's own inconsistencies show up
 * as computed differences). Fast: no kernel, no training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readTable } from '../../lib/data/tabular.js';
import { readKorMedMcqaFile } from '../../lib/data/kormedmcqa.js';
import { scoreStructuredJson, type StructuredRecord } from '../../lib/metrics/structured-json.js';
import { compareMcqa, scoreMcqa, type McqaRecord } from '../../lib/metrics/mcqa.js';
import { checkSpans, compareSpanScores, scoreSpans, type SpanDocument } from '../../lib/metrics/spans.js';

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

test('study 001 through scoreStructuredJson: 143/147 valid, 135/147 risk_level, the published matrices, 609 not 611', async () => {
  const published = readJson('data/study-001/published.json');
  const rows = (await readTable('data/study-001/answers.jsonl', { format: 'jsonl' })).rows;
  const records: StructuredRecord[] = rows.map((r) => ({ id: String(r.values.id), query: r.values.query as string, answer: r.values.answer as string, gold: r.values.gold }));
  const result = scoreStructuredJson(records, {
    fields: [{ field: 'risk_level', labels: published.labels.risk_level }],
    lists: [{ list: 'components', item: 'match', key: 'component', labels: published.labels.match }],
  });
  assert.equal(result.validity.parsed, 143);
  assert.equal(result.validity.strict, 143);
  assert.equal(result.validity.unrecoverable.total, 4);
  const [risk] = result.fields;
  const [match] = result.lists;
  assert.deepEqual([risk.overAll.correct, risk.overAll.total], [135, 147]);
  assert.deepEqual([risk.overParsed.correct, risk.overParsed.total], [135, 143]);
  // rows = gold in lib; the published matrix has rows = predicted: compare with its transpose.
  const transpose = (m: number[][]) => m[0].map((_, j) => m.map((row) => row[j]));
  const square = (m: number[][], k: number) => m.map((row) => row.slice(0, k));
  assert.deepEqual(square(risk.confusion.matrix, 3), transpose(published.risk_level_confusion.matrix));
  assert.deepEqual(square(match.confusion.matrix, 3), transpose(published.match_confusion.matrix));
  assert.deepEqual([match.overAll.correct, match.overAll.total], [609, 643]);
  assert.deepEqual([match.overParsed.correct, match.overParsed.total], [609, 633]);
  assert.notEqual(match.overAll.correct, published.summary.match_accuracy.correct);
  // Per class, honestly: recall over gold (columns of the published matrix), precision over predictions.
  const high = risk.perClass.find((c) => c.label === '높음')!;
  assert.deepEqual([high.truePositives, high.goldParsed, high.predicted], [29, 29, 30]);
  const errors = result.errors.filter((e) => e.field === 'risk_level' && e.kind === 'wrong');
  assert.deepEqual(
    errors.map((e) => [e.sample, e.predicted, e.gold]),
    published.risk_level_errors.map((e: { id: number; predicted: string; gold: string }) => [e.id, e.predicted, e.gold]),
  );
});

test('study 002 through scoreMcqa / compareMcqa: the published per-subset accuracies', async () => {
  const published = readJson('data/study-002/published.json');
  const recordsOf = async (model: string): Promise<McqaRecord[]> => {
    const out: McqaRecord[] = [];
    for (const s of published.subsets) {
      const questions = await readKorMedMcqaFile(`data/study-002/questions/${s.subset}.csv`, { subset: s.subset });
      const answers = (await readTable(`data/study-002/${model}/${s.subset}.jsonl`, { format: 'jsonl' })).rows;
      assert.equal(answers.length, questions.length);
      answers.forEach((a, i) => out.push({ id: String(a.values.id), subset: s.subset, gold: questions[i].answer, answer: a.values.answer as string }));
    }
    return out;
  };
  const base = scoreMcqa(await recordsOf('base'));
  const tuned = scoreMcqa(await recordsOf('finetuned'));
  const comparison = compareMcqa(base, tuned, { resamples: 200, seed: 1 });
  for (const s of published.subsets) {
    const row = comparison.subsets.find((r) => r.name === s.subset)!;
    const digits = (x: number) => (String(x).split('.')[1] ?? '').length;
    assert.equal(Number((row.base * 100).toFixed(digits(s.base_percent))), s.base_percent, `${s.subset} base`);
    assert.equal(Number((row.tuned * 100).toFixed(digits(s.finetuned_percent))), s.finetuned_percent, `${s.subset} fine-tuned`);
    assert.equal(row.total, s.size);
    // The published gain is computed from rounded percentages; from counts it may differ in the last digit.
    assert.ok(Math.abs((row.relativeGainPercent ?? 0) - s.relative_gain_percent) < 0.05, `${s.subset} relative gain`);
  }
  assert.equal(base.overall.unextractable + tuned.overall.unextractable, 0);
});

test('study 000 through scoreSpans: TP/FP/FN 1/1/21 and 0/0/22, P/R/F1 as published', async () => {
  const published = readJson('data/study-000/published.json');
  const read = async (file: string, texts?: Map<string, string>) =>
    (await readTable(file, { format: 'jsonl' })).rows.map((r) => {
      const id = String(r.values.id);
      const text = (r.values.text as string | undefined) ?? texts?.get(id);
      return { id, text, spans: checkSpans(r.values.entities, { file, field: 'entities' }, text) };
    });
  const gold = await read('data/study-000/gold.jsonl');
  const texts = new Map(gold.map((g) => [g.id, g.text!]));
  const docs = async (file: string): Promise<SpanDocument[]> => {
    const pred = new Map((await read(file, texts)).map((p) => [p.id, p.spans]));
    return gold.map((g) => ({ id: g.id, gold: g.spans, pred: pred.get(g.id) ?? [] }));
  };
  const base = scoreSpans(await docs('data/study-000/base.jsonl'));
  const tuned = scoreSpans(await docs('data/study-000/finetuned.jsonl'));
  const c = compareSpanScores(base, tuned);
  const value = (side: 'base' | 'tuned', metric: string) => c.micro.find((r) => r.metric === metric)![side];
  for (const [side, key] of [
    ['base', 'baseline'],
    ['tuned', 'finetuned'],
  ] as const) {
    const p = published.results[key];
    assert.equal(value(side, 'tp'), p.tp);
    assert.equal(value(side, 'fp'), p.fp);
    assert.equal(value(side, 'fn'), p.fn);
    for (const m of ['precision', 'recall', 'f1']) assert.equal(Number(value(side, m).toFixed(4)), p[m], `${key} ${m}`);
  }
});
