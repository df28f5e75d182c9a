import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const DEV = 'data/klue-ner/klue-ner-v1.1_dev.tsv';
const REPLAY = 'data/replay';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-align-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The first `count` sentences of the dev file, as a small gold file. */
function smallGold(count: number): string {
  const blocks = readFileSync(DEV, 'utf8').split('\n\n');
  const file = path.join(work, `gold-${count}.tsv`);
  writeFileSync(file, blocks.slice(0, count).join('\n\n') + '\n');
  return file;
}

function hanlab(...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function answersFile(name: string, lines: string[]): string {
  const file = path.join(work, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

// The dev file starts with 5 header comment lines in the first block; sentence 0 and 1:
// 0: <경찰:OG>은 또 성매매 알선 자금을 관리한 <박:PS>씨의 딸(<32:QT>)과 성매매 여성 <김:PS>모(<33:QT>)씨 등 <16명:QT>을 ...
// 1: <B:PS> 씨는 사법시험 합격증이 위조된 것인지 알 수 없었고, ... <A:PS> 씨를 더 의심하지 않았다.
const GOLD3 = smallGold(3);

describe('hanlab align', () => {
  test('prints the diagnosis, writes tags that hanlab eval ner scores to the same F1', () => {
    const answers = answersFile('a.jsonl', [
      JSON.stringify({ id: 'klue-ner-v1_dev_00000-wikitree', answer: '```json\n{"OG": ["경찰"], "PS": ["박", "김"], "QT": ["32", "33", "16 명"]}\n```' }),
      JSON.stringify({ id: 1, answer: "{'PS': ['B', 'A']}" }),
    ]);
    const out = path.join(work, 'pred.jsonl');
    const text = hanlab('align', '--gold', GOLD3, '--answers', answers, '--out', out);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /정렬 진단/);
    assert.match(text.stdout, /답변 없음 \(missing\)\s+1/);
    assert.match(text.stdout, /복구 후 파싱됨 \(repaired\)\s+1/);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 3);
    const first = JSON.parse(lines[0]) as { tags: string[] };
    assert.deepEqual(first.tags.slice(0, 3), ['B-OG', 'I-OG', 'O']);
    assert.ok((JSON.parse(lines[2]) as { tags: string[] }).tags.every((t) => t === 'O'));

    const json = hanlab('align', '--gold', GOLD3, '--answers', answers, '--json');
    assert.equal(json.code, 0, json.stderr);
    const d = JSON.parse(json.stdout);
    assert.equal(d.sentences, 3);
    assert.equal(d.parseOutcomes.missing, 1);
    assert.equal(d.explanations, undefined);
    const scored = hanlab('eval', 'ner', '--gold', GOLD3, '--pred', out, '--json');
    assert.equal(scored.code, 0, scored.stderr);
    assert.ok(Math.abs(JSON.parse(scored.stdout)['micro avg']['f1-score'] - d.f1.tag) < 1e-12);
  });

  test('study 003 replay: its first converter gives F1 = 0 and the alarm; alignAnswer does not', () => {
    const seed = hanlab('align', '--gold', DEV, '--answers', `${REPLAY}/study003-debug-dump.jsonl`, '--answered-only', '--converter', 'original', '--json');
    assert.equal(seed.code, 0, seed.stderr);
    const d = JSON.parse(seed.stdout);
    assert.equal(d.sentences, 5);
    assert.equal(d.f1.tag, 0);
    assert.equal(d.alarm.kind, 'zero_f1');
    assert.equal(d.alarm.causes[0].key, 'wrong_boundary');
    const ours = hanlab('align', '--gold', DEV, '--answers', `${REPLAY}/study003-debug-dump.jsonl`, '--answered-only');
    assert.equal(ours.code, 0, ours.stderr);
    assert.doesNotMatch(ours.stdout, /경보/);
  });

  test('a bad answers line is an error naming the file, line and field', () => {
    const cases: [string[], RegExp][] = [
      [['{"id": 0, "answer": "{}"}', '{"id": 1, "answer": '], /bad-0\.jsonl:2: not valid JSON/],
      [['{"id": "nope", "answer": "{}"}'], /bad-1\.jsonl:1, field "id": no gold sentence has the id "nope"/],
      [['{"id": 7, "answer": "{}"}'], /bad-2\.jsonl:1, field "id": index 7 is not a sentence index \(0 to 2\)/],
      [['{"id": 0, "answer": {"PS": []}}'], /bad-3\.jsonl:1, field "answer"/],
      [['{"id": 0, "answer": "{}"}', '', '{"id": "klue-ner-v1_dev_00000-wikitree", "answer": "{}"}'], /bad-4\.jsonl:3, field "id": .*already answered on line 1/],
      [['[1, 2]'], /bad-5\.jsonl:1: expected an object/],
    ];
    cases.forEach(([lines, message], i) => {
      const result = hanlab('align', '--gold', GOLD3, '--answers', answersFile(`bad-${i}.jsonl`, lines));
      assert.equal(result.code, 2, `case ${i}`);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
    });
  });

  test('usage errors: missing --answers, unknown converter; --help', () => {
    assert.match(hanlab('align', '--gold', GOLD3).stderr, /--answers is required/);
    const answers = answersFile('ok.jsonl', ['{"id": 0, "answer": "{}"}']);
    assert.match(hanlab('align', '--gold', GOLD3, '--answers', answers, '--converter', 'magic').stderr, /--converter must be one of original, whitespace, fence, units, align/);
    const help = hanlab('align', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--out FILE/);
  });
});

describe('hanlab explain', () => {
  const answers = answersFile('explain.jsonl', [
    JSON.stringify({ id: 0, answer: '{"OG": ["경찰"], "PS": ["박"], "PER": ["김"]}' }),
    JSON.stringify({ id: 1, answer: '{"PS": ["B", "A"]}' }),
  ]);

  test('--id prints one sentence: parse steps, entity statuses, tags side by side', () => {
    const result = hanlab('explain', '--gold', GOLD3, '--answers', answers, '--id', 'klue-ner-v1_dev_00000-wikitree');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /== 문장 klue-ner-v1_dev_00000-wikitree/);
    assert.match(result.stdout, /PER\s+김\s+unknown_label/);
    assert.match(result.stdout, /놓침 \(missed\)\s+not_placed:unknown_label/);
    const byIndex = hanlab('explain', '--gold', GOLD3, '--answers', answers, '--id', '1', '--json');
    assert.equal(JSON.parse(byIndex.stdout).id, 'klue-ner-v1_dev_00001-wikitree');
  });

  test('without --id the worst sentences come first', () => {
    const result = hanlab('explain', '--gold', GOLD3, '--answers', answers, '--limit', '2');
    assert.equal(result.code, 0, result.stderr);
    const ids = [...result.stdout.matchAll(/== 문장 (\S+)/g)].map((m) => m[1]);
    // Sentence 2 has no answer: all its gold entities are missed; sentence 0 misses three; 1 is perfect.
    assert.equal(ids.length, 2);
    assert.ok(!ids.includes('klue-ner-v1_dev_00001-wikitree'));
  });

  test('an unknown --id is a usage error', () => {
    const result = hanlab('explain', '--gold', GOLD3, '--answers', answers, '--id', 'nope');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--id nope: no sentence has this id/);
  });
});
