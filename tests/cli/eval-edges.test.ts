/**
 * The eval commands on edge inputs (issues 12 §2, 14, 15): each bad input is one clear line with exit 2
 * and no stack trace; the --json conventions (key order, NaN) hold on the command line; suffix tags,
 * subsets and the align → eval ner round trip work as the README says.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseMetricsJson } from '../../lib/metrics/json.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function hanlab(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** One clear line on stderr, exit 2, nothing on stdout, no stack trace. */
function assertClearError(run: Run, pattern: RegExp, what: string): void {
  assert.equal(run.code, 2, `${what}: exit ${run.code}\n${run.stderr}`);
  assert.equal(run.stdout, '', `${what}: stdout`);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one line, got ${lines.length}: ${run.stderr.slice(0, 500)}`);
  assert.ok(lines[0].length < 400, `${what}: a bounded line (${lines[0].length} characters)`);
  assert.match(lines[0], pattern, what);
}

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-eval-edges-'));
const file = (name: string, content: string) => {
  const full = path.join(work, name);
  writeFileSync(full, content);
  return full;
};
after(() => rmSync(work, { recursive: true, force: true }));

const GOLD = 'data/klue-ner/klue-ner-v1.1_dev.tsv';
const ANSWERS = 'data/replay/study003-wrong-cases.jsonl';

describe('issue 14: JSON nested 100,000 levels deep is one clear line, exit 2', () => {
  const n = 100_000;
  const deep = '['.repeat(n) + ']'.repeat(n);
  const runs: Record<string, Promise<Run>> = {};
  before(() => {
    runs.cls = hanlab('eval', 'cls', '--records', file('deep-cls.jsonl', `{"gold":"a","pred":"a"}\n{"gold":${deep},"pred":"a"}\n`));
    runs.mcqa = hanlab('eval', 'mcqa', '--records', file('deep-mcqa.jsonl', `{"gold":${deep},"answer":"A"}\n`));
    runs.json = hanlab('eval', 'json', '--records', file('deep-json.jsonl', `{"id":${deep},"answer":"{}","gold":{"risk_level":"a"}}\n`), '--field', 'risk_level');
    runs.spans = hanlab('eval', 'spans', '--records', file('deep-spans.jsonl', `{"id":${deep},"gold":[],"pred":[]}\n`));
    runs.jsonAnswer = hanlab('eval', 'json', '--records', file('deep-json-answer.jsonl', `{"answer":${deep},"gold":{"risk_level":"a"}}\n`), '--field', 'risk_level');
  });
  test('eval cls', async () => assertClearError(await runs.cls, /deep-cls\.jsonl:2, field "gold": expected a label .*got \[\[\[\[.*…$/, 'eval cls'));
  test('eval mcqa', async () => assertClearError(await runs.mcqa, /deep-mcqa\.jsonl:1, field "gold": gold must be a letter A-E or 1-5, got \[\[\[.*…$/, 'eval mcqa'));
  test('eval spans', async () => assertClearError(await runs.spans, /deep-spans\.jsonl:1, field "id": expected a string or number, got \[\[\[.*…$/, 'eval spans'));
  test('eval json', async () => {
    assertClearError(await runs.json, /deep-json\.jsonl:1, field "id": expected a string or number, got \[\[\[.*…$/, 'eval json id');
    assertClearError(await runs.jsonAnswer, /deep-json-answer\.jsonl:1, field "answer": expected the raw model answer as a string, got \[\[.*…$/, 'eval json answer');
  });
});

describe('issue 14: empty inputs and duplicates', () => {
  test('eval spans on an empty file says "has no records", like the other evals', async () => {
    const empty = file('empty.jsonl', '');
    const [spans, cls, gold] = await Promise.all([
      hanlab('eval', 'spans', '--records', empty),
      hanlab('eval', 'cls', '--records', empty),
      hanlab('eval', 'spans', '--gold', 'data/study-000/gold.jsonl', '--records', empty),
    ]);
    assertClearError(spans, /empty\.jsonl: has no records$/, 'eval spans');
    assertClearError(cls, /empty\.jsonl: has no records$/, 'eval cls');
    assertClearError(gold, /empty\.jsonl: has no records$/, 'eval spans --gold');
  });
  test('align and explain refuse an answers file without answers instead of exiting 0 on 0 sentences', async () => {
    const empty = file('answers-empty.jsonl', '\n');
    const nulls = file('answers-null.jsonl', '{"id": 0, "answer": null}\n');
    const [answeredOnly, all, explain, allNull] = await Promise.all([
      hanlab('align', '--gold', GOLD, '--answers', empty, '--answered-only'),
      hanlab('align', '--gold', GOLD, '--answers', empty),
      hanlab('explain', '--gold', GOLD, '--answers', empty, '--answered-only'),
      hanlab('align', '--gold', GOLD, '--answers', nulls, '--answered-only'),
    ]);
    assertClearError(answeredOnly, /answers-empty\.jsonl: has no answers; nothing to align \(--answered-only would score 0 sentences\)$/, 'align --answered-only');
    assertClearError(all, /answers-empty\.jsonl: has no answers; nothing to align$/, 'align');
    assertClearError(explain, /has no answers/, 'explain');
    assertClearError(allNull, /answers-null\.jsonl: answers no gold sentence \(every answer is null\)/, 'align, null answers');
  });
  test('eval mcqa --records does not count a question twice: a duplicate id is an error naming both lines', async () => {
    const dup = file('dup.jsonl', '{"id":"q1","subset":"doctor","gold":"A","answer":"A"}\n{"id":"q2","subset":"doctor","gold":"B","answer":"A"}\n{"id":"q1","subset":"doctor","gold":"A","answer":"A"}\n');
    const otherSubset = file('dup-ok.jsonl', '{"id":"q1","subset":"doctor","gold":"A","answer":"A"}\n{"id":"q1","subset":"nurse","gold":"A","answer":"B"}\n');
    const [bad, ok] = await Promise.all([hanlab('eval', 'mcqa', '--records', dup), hanlab('eval', 'mcqa', '--records', otherSubset, '--json')]);
    assertClearError(bad, /dup\.jsonl:3, field "id": question "q1" of subset doctor is answered twice \(first at line 1\)/, 'eval mcqa duplicate');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((parseMetricsJson(ok.stdout) as { overall: { total: number } }).overall.total, 2);
  });
  test('eval ner: empty gold and prediction say "no sentences" and exit 2, unless --allow-empty', async () => {
    const gold = file('empty.tsv', '');
    const pred = file('empty-pred.jsonl', '');
    const [refused, allowed] = await Promise.all([hanlab('eval', 'ner', '--gold', gold, '--pred', pred), hanlab('eval', 'ner', '--gold', gold, '--pred', pred, '--allow-empty', '--json')]);
    assertClearError(refused, /empty\.tsv: has no sentences to score; nothing to report \(pass --allow-empty/, 'eval ner empty');
    assert.equal(allowed.code, 0, allowed.stderr);
    const report = parseMetricsJson(allowed.stdout) as Record<string, { precision: number }>;
    assert.ok(Number.isNaN(report['macro avg'].precision));
  });
});

describe('issue 15 on the command line', () => {
  test('--json keeps seqeval key order for integer-like types and writes NaN', async () => {
    const gold = file('int-gold.jsonl', '{"id":"s1","tags":["B-10","B-2","B-x","O"]}\n');
    const pred = file('int-pred.jsonl', '{"id":"s1","tags":["O","B-x","B-2","B-10"]}\n');
    const none = file('none.jsonl', '{"id":"s1","tags":["O","O"]}\n');
    const [ordered, nan, cls] = await Promise.all([
      hanlab('eval', 'ner', '--gold', gold, '--pred', pred, '--json'),
      hanlab('eval', 'ner', '--gold', none, '--pred', none, '--json', '--klue', '--zero-division', '0'),
      hanlab('eval', 'cls', '--records', file('int-cls.jsonl', '{"gold":"10","pred":"10"}\n{"gold":"2","pred":"x"}\n'), '--json'),
    ]);
    assert.equal(ordered.code, 0, ordered.stderr);
    assert.match(ordered.stdout, /^\{"10":\{.*\},"2":\{.*\},"x":\{.*\},"micro avg":/);
    assert.equal(nan.code, 0, nan.stderr);
    assert.match(nan.stdout, /"macro avg":\{"precision":NaN,"recall":NaN,"f1-score":NaN,"support":0\}.*"klue":\{"entity_macro_f1":NaN,"char_macro_f1":100\}/);
    assert.match(cls.stdout, /"report":\{"10":.*"2":.*"x":/);
  });
  test('eval ner --suffix reads PER-B tags', async () => {
    const gold = file('suffix-gold.jsonl', '{"id":"s1","tags":["PS-B","PS-I","O","LC-B"]}\n');
    const pred = file('suffix-pred.jsonl', '{"id":"s1","tags":["PS-B","PS-I","O","O"]}\n');
    const [suffix, prefixRead] = await Promise.all([hanlab('eval', 'ner', '--gold', gold, '--pred', pred, '--suffix', '--json', '--zero-division', '0'), hanlab('eval', 'ner', '--gold', gold, '--pred', pred, '--json', '--zero-division', '0')]);
    const report = parseMetricsJson(suffix.stdout) as Record<string, { support: number; recall: number }>;
    assert.deepEqual(Object.keys(report).slice(0, 2), ['LC', 'PS']);
    assert.equal(report['micro avg'].recall, 0.5);
    assert.notDeepEqual(Object.keys(parseMetricsJson(prefixRead.stdout) as object).slice(0, 2), ['LC', 'PS']);
  });
  test('eval cls prints labels as scikit-learn does and rejects continuous targets', async () => {
    const [floats, bools, continuous, unseen] = await Promise.all([
      hanlab('eval', 'cls', '--records', file('floats.jsonl', '{"gold": 1.0, "pred": 2.0}\n{"gold": 2.0, "pred": 1}\n')),
      hanlab('eval', 'cls', '--records', file('bools.jsonl', '{"gold": true, "pred": true}\n{"gold": false, "pred": true}\n')),
      hanlab('eval', 'cls', '--records', file('continuous.jsonl', '{"gold": 1, "pred": 1}\n{"gold": 2.5, "pred": 1}\n')),
      hanlab('eval', 'cls', '--records', file('unseen.jsonl', '{"gold": "2", "pred": "2"}\n'), '--labels', 'x', '--json'),
    ]);
    assert.match(floats.stdout, /\n {9}1\.0 +0\.00 +0\.00 +0\.00 +1\.0\n {9}2\.0 /);
    assert.match(floats.stdout, /\n {4}accuracy {27}0\.00 {7}2\.0\n/);
    assert.match(bools.stdout, /\n {7}False +0\.00 +0\.00 +0\.00 +1\n {8}True +0\.50 +1\.00 +0\.67 +1\n/);
    assertClearError(continuous, /continuous\.jsonl:2, field "gold": gold label is 2\.5, a continuous value, not a class: scikit-learn rejects continuous targets/, 'continuous');
    assert.equal(unseen.code, 0, unseen.stderr);
    const out = parseMetricsJson(unseen.stdout) as { accuracy: number; confusion_matrix: unknown };
    assert.equal(out.accuracy, 1);
    assert.equal(out.confusion_matrix, null);
    assert.match(unseen.stderr, /no label of --labels occurs in gold: there is no confusion matrix/);
  });
});

describe('issue 12 §2: align --out and eval ner --subset ids', () => {
  test('align --out writes ids; eval ner --subset ids scores those sentences, says how many, and gives align\'s F1', async () => {
    const pred = path.join(work, 'pred.jsonl');
    const all = path.join(work, 'pred-all.jsonl');
    const [align, alignAll] = await Promise.all([
      hanlab('align', '--gold', GOLD, '--answers', ANSWERS, '--answered-only', '--out', pred, '--json'),
      hanlab('align', '--gold', GOLD, '--answers', ANSWERS, '--out', all),
    ]);
    assert.equal(align.code, 0, align.stderr);
    const lines = readFileSync(pred, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { id: string; tags: string[] });
    assert.equal(lines.length, 10);
    assert.ok(lines.every((line) => /^klue-ner-v1_dev_\d+/.test(line.id) && Array.isArray(line.tags)));
    assert.equal(alignAll.code, 0, alignAll.stderr);
    assert.equal(readFileSync(all, 'utf8').trim().split('\n').length, 5000);
    const [subset, withoutSubset, full] = await Promise.all([
      hanlab('eval', 'ner', '--gold', GOLD, '--pred', pred, '--subset', 'ids', '--json'),
      hanlab('eval', 'ner', '--gold', GOLD, '--pred', pred),
      hanlab('eval', 'ner', '--gold', GOLD, '--pred', all, '--json'),
    ]);
    assert.equal(subset.code, 0, subset.stderr);
    assert.match(subset.stderr, /note: 10 of 5000 gold sentences scored \(--subset ids/);
    const diagnosis = parseMetricsJson(align.stdout) as { f1: { tag: number } };
    assert.equal((parseMetricsJson(subset.stdout) as Record<string, { 'f1-score': number }>)['micro avg']['f1-score'], diagnosis.f1.tag);
    assertClearError(withoutSubset, /pred\.jsonl: has 10 predictions for 5000 gold sentences; to score only the sentences it names, add --subset ids$/, 'no --subset');
    assert.equal(full.code, 0, full.stderr);
  });
  test('--subset ids refuses unknown and repeated ids, and lines without one', async () => {
    const [unknown, twice, noId] = await Promise.all([
      hanlab('eval', 'ner', '--gold', GOLD, '--pred', file('unknown.jsonl', '{"id":"nope","tags":["O"]}\n'), '--subset', 'ids'),
      hanlab('eval', 'ner', '--gold', GOLD, '--pred', file('twice.jsonl', '{"id":"klue-ner-v1_dev_00000-wikitree","tags":[]}\n{"id":"klue-ner-v1_dev_00000-wikitree","tags":[]}\n'), '--subset', 'ids'),
      hanlab('eval', 'ner', '--gold', GOLD, '--pred', file('noid.jsonl', '{"tags":["O"]}\n'), '--subset', 'ids'),
    ]);
    assertClearError(unknown, /unknown\.jsonl:1, field "id": no gold sentence has the id "nope"/, 'unknown id');
    assertClearError(twice, /twice\.jsonl:2, field "id": sentence klue-ner-v1_dev_00000-wikitree is predicted twice \(first on line 1\)/, 'twice');
    assertClearError(noId, /noid\.jsonl:1, field "id": --subset ids needs an "id" on every prediction line/, 'no id');
  });
});
