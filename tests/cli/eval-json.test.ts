import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

function hanlab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const gold = (risk: string, matches: string[]) => ({ risk_level: risk, components: matches.map((match, i) => ({ component: `구성요소${i + 1}`, match })) });

// Study-001-shaped answers: strict, fenced, repaired (single quotes), unrecoverable, a wrong risk level.
const RECORDS = [
  { id: 'p1', query: 'UV 차단 화장품 조성물', answer: JSON.stringify(gold('높음', ['대응', '대응'])), gold: gold('높음', ['대응', '대응']) },
  { id: 'p2', query: '폴리아미드계 겔화제 50중량%', answer: '```json\n' + JSON.stringify(gold('낮음', ['대응', '미대응'])) + '\n```', gold: gold('애매', ['대응', '판단불가']) },
  { id: 'p3', query: 'ATPA 겔화제 9%', answer: "{'risk_level': '애매', 'components': [{'component': '구성요소1', 'match': '판단불가'}]}", gold: JSON.stringify(gold('애매', ['판단불가', '대응'])) },
  { id: 'p4', query: '트리에톡시카프릴릴실란에 TiO2', answer: '분석 결과 리스크는 낮습니다.', gold: gold('낮음', ['미대응']) },
];

test('hanlab eval json: tiers, both denominators, study-001 matrices, error table; --json; bad records named by line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-eval-json-'));
  try {
    const records = path.join(dir, 'answers.jsonl');
    writeFileSync(records, RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, JSON.stringify(RECORDS[0]) + '\n' + JSON.stringify({ ...RECORDS[1], gold: '{"risk_level": ' }) + '\n');
    const noAnswer = path.join(dir, 'no-answer.jsonl');
    writeFileSync(noAnswer, JSON.stringify({ gold: gold('높음', []) }) + '\n');
    const args = ['--field', 'risk_level=높음,애매,낮음', '--list', 'components[].match@component=대응,판단불가,미대응'];
    // hanlab generate writes the gold answer of chat data as "reference" (JSON text).
    const generated = path.join(dir, 'generated.jsonl');
    writeFileSync(generated, RECORDS.map((r) => JSON.stringify({ id: r.id, query: r.query, answer: r.answer, reference: typeof r.gold === 'string' ? r.gold : JSON.stringify(r.gold) })).join('\n') + '\n');
    const [text, json, badGold, missingAnswer, badSpec, noField, fromGenerate] = await Promise.all([
      hanlab(['eval', 'json', '--records', records, ...args]),
      hanlab(['eval', 'json', '--records', records, ...args, '--json']),
      hanlab(['eval', 'json', '--records', bad, ...args]),
      hanlab(['eval', 'json', '--records', noAnswer, ...args]),
      hanlab(['eval', 'json', '--records', records, '--list', 'components.match']),
      hanlab(['eval', 'json', '--records', records]),
      hanlab(['eval', 'json', '--records', generated, '--gold-field', 'reference', ...args, '--json']),
    ]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\| JSON 유효성 \(그대로 파싱\) \| 1\/4 \| 25\.0% \|/);
    assert.match(text.stdout, /\| JSON 유효성 \(복구 포함\) \| 3\/4 \| \*\*75\.0%\*\* \|/);
    assert.match(text.stdout, /\| risk_level 정확도 \| 2\/4 \| \*\*50\.0%\*\* \| 2\/3 \| 66\.7% \|/);
    // match: 7 gold items; p1 2/2, p2 1/2, p3 1 paired right + 1 missing, p4 unparsed.
    assert.match(text.stdout, /\| components\[\]\.match 정확도 \| 4\/7 \| \*\*57\.1%\*\* \| 4\/5 \| 80\.0% \|/);
    assert.match(text.stdout, /\| \*\*예측: 낮음\*\* \| 0 \| 1 \| 0 \|/);
    assert.match(text.stdout, /\| 4 \| 트리에톡시카프릴릴실란에 TiO2 \| JSON 없음 \| 분석 결과 리스크는 낮습니다\. \|/);
    assert.match(text.stdout, /\| 2 \| risk_level \| 폴리아미드계 겔화제 50중량% \| 낮음 \| 애매 \|/);
    assert.match(text.stdout, /\| 3 \| components\[\]\.match \(구성요소2\) \| ATPA 겔화제 9% \| \(누락\) \| 대응 \|/);

    assert.equal(json.code, 0, json.stderr);
    const result = JSON.parse(json.stdout);
    assert.deepEqual(result.statuses, ['strict', 'fenced', 'repaired', 'no_json']);
    assert.deepEqual(result.fields[0].confusion.columns, ['높음', '애매', '낮음', '(범위 밖)', '(누락)', '(파싱 실패)']);
    assert.deepEqual(result.fields[0].confusion.matrix, [
      [1, 0, 0, 0, 0, 0],
      [0, 1, 1, 0, 0, 0],
      [0, 0, 0, 0, 0, 1],
    ]);
    assert.deepEqual(result.lists[0].countMismatches, [{ sample: 3, id: 'p3', gold: 2, predicted: 1 }]);

    assert.equal(fromGenerate.code, 0, fromGenerate.stderr);
    assert.deepEqual(JSON.parse(fromGenerate.stdout).fields, result.fields);

    assert.equal(badGold.code, 2);
    assert.match(badGold.stderr, /bad\.jsonl:2, field "gold": gold is text but not JSON/);
    assert.equal(missingAnswer.code, 2);
    assert.match(missingAnswer.stderr, /no-answer\.jsonl:1, field "answer"/);
    assert.equal(badSpec.code, 2);
    assert.match(badSpec.stderr, /expected LIST\[\]\.ITEM/);
    assert.equal(noField.code, 2);
    assert.match(noField.stderr, /name at least one --field or --list/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
