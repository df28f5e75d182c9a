import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatStructuredJsonReport,
  scoreStructuredJson,
  MISSING,
  OUTSIDE_LABELS,
  UNPARSED,
  type StructuredRecord,
} from '../../lib/metrics/structured-json.js';
import { InputError, UsageError } from '../../lib/errors.js';

// A fixed seed keeps the suite deterministic; change it locally to explore other cases.
fc.configureGlobal({ seed: 6 });

const RISK = ['높음', '애매', '낮음'];
const MATCH = ['대응', '판단불가', '미대응'];

/**
 * Study 001's risk_level matrix as printed there (rows = 예측, columns = 정답) plus its 4 JSON failures:
 * 147 samples, 143 parsed, 135 correct.
 */
const STUDY_ROWS_PREDICTED = [
  [29, 1, 0],
  [0, 42, 1],
  [0, 6, 64],
];

function study001Records(): StructuredRecord[] {
  const records: StructuredRecord[] = [];
  STUDY_ROWS_PREDICTED.forEach((row, p) =>
    row.forEach((count, g) => {
      for (let i = 0; i < count; i++) {
        records.push({
          id: `s${records.length + 1}`,
          query: `폴리아미드계 겔화제 ${records.length + 1}중량%를 포함하는 UV 차단 화장품 조성물`,
          answer: JSON.stringify({ risk_level: RISK[p], components: [{ component: '겔화제', match: '대응' }] }),
          gold: { risk_level: RISK[g], components: [{ component: '겔화제', match: '대응' }] },
        });
      }
    }),
  );
  // Four unrecoverable answers (gold 애매, 애매, 낮음, 높음).
  for (const [answer, gold] of [
    ['{{{{', '애매'],
    ['판단할 수 없습니다', '애매'],
    ['', '낮음'],
    ['리스크: {{', '높음'],
  ] as const) {
    records.push({ id: `s${records.length + 1}`, query: '트리에톡시카프릴릴실란에 TiO2를 코팅한 분체', answer, gold: { risk_level: gold, components: [{ component: '분체', match: '미대응' }] } });
  }
  return records;
}

test('study 001 reproduced with honest denominators: 135/147 over all samples, 135/143 over parsed ones', () => {
  const result = scoreStructuredJson(study001Records(), { fields: [{ field: 'risk_level', labels: RISK }] });
  const v = result.validity;
  assert.equal(v.total, 147);
  assert.equal(v.parsed, 143);
  assert.equal(v.strict, 143);
  assert.deepEqual(v.unrecoverable, { total: 4, noJson: 1, unparseable: 2, empty: 1 });
  const risk = result.fields[0];
  assert.deepEqual(risk.overAll, { correct: 135, total: 147, value: 135 / 147 });
  assert.deepEqual(risk.overParsed, { correct: 135, total: 143, value: 135 / 143 });
  assert.deepEqual(risk.confusion.columns, [...RISK, OUTSIDE_LABELS, MISSING, UNPARSED]);
  // Rows = gold: the transpose of the study's table, plus the unparsed column.
  assert.deepEqual(risk.confusion.matrix, [
    [29, 0, 0, 0, 0, 1],
    [1, 42, 6, 0, 0, 2],
    [0, 1, 64, 0, 0, 1],
  ]);
  // The study's "높음: 30개 중 29개 정답" is precision (of 30 predicted 높음, 29 were right).
  const high = risk.perClass[0];
  assert.deepEqual([high.truePositives, high.predicted, high.gold, high.goldParsed], [29, 30, 30, 29]);
  assert.equal(high.precision, 29 / 30);
  assert.equal(high.recall, 29 / 30);
  assert.equal(high.recallParsed, 1);
  const middle = risk.perClass[1];
  assert.deepEqual([middle.predicted, middle.gold], [43, 51]);
  assert.equal(middle.recallParsed, 42 / 49); // the study's "49개 중 42개" is recall over parsed samples
  // The sklearn reports agree with the matrix.
  risk.perClass.forEach((c, i) => {
    assert.equal(risk.report.overAll.perLabel[i].precision, c.precision);
    assert.equal(risk.report.overAll.perLabel[i].recall, c.recall);
    assert.equal(risk.report.overParsed.perLabel[i].recall, c.recallParsed);
  });
  assert.equal(result.errors.filter((e) => e.kind === 'unparsed').length, 4);
  const wrong = result.errors.filter((e) => e.kind === 'wrong');
  assert.equal(wrong.length, 8);
  assert.equal(wrong.filter((e) => e.predicted === '낮음' && e.gold === '애매').length, 6);
  assert.equal(wrong[0].queryExcerpt, '폴리아미드계 겔화제 30중량%를 포함하는 UV 차단 화…'); // 30 characters and an ellipsis

  const text = formatStructuredJsonReport(result);
  assert.match(text, /\| risk_level 정확도 \| 135\/147 \| \*\*91\.8%\*\* \| 135\/143 \| 94\.4% \|/);
  assert.match(text, /\| JSON 유효성 \(복구 포함\) \| 143\/147 \| \*\*97\.3%\*\* \|/);
  assert.match(text, /\| \*\*예측: 높음\*\* \| 29 \| 1 \| 0 \|/);
  assert.match(text, /\| \*\*예측: \(파싱 실패\)\*\* \| 1 \| 2 \| 1 \|/);
  assert.doesNotMatch(text, /예측: \(누락\)/); // empty absent rows are left out
  assert.match(text, /\| 높음 \| 29\/30 \(96\.7%\) \| 29\/30 \(96\.7%\) \| 29\/29 \(100\.0%\) \|/);
  assert.match(text, /### JSON 파싱 실패 \(4건\)/);
  assert.match(text, /### 필드 오류 \(8건\)/);
});

test('validity tiers: strict, fenced, repaired, and the three unrecoverable kinds', () => {
  const gold = { risk_level: '높음' };
  const answers = ['{"risk_level": "높음"}', '```json\n{"risk_level": "높음"}\n```', "{'risk_level': '높음'}", '모르겠습니다', '{{{{', '   ', '["높음"]'];
  const result = scoreStructuredJson(answers.map((answer) => ({ answer, gold })), { fields: [{ field: 'risk_level', labels: RISK }] });
  assert.deepEqual(result.statuses, ['strict', 'fenced', 'repaired', 'no_json', 'unparseable', 'empty', 'strict']);
  assert.equal(result.validity.strict, 2);
  assert.deepEqual(result.validity.afterRepair, { total: 2, fenced: 1, repaired: 1 });
  assert.equal(result.validity.notAnObject, 1);
  const risk = result.fields[0];
  assert.deepEqual([risk.overAll.correct, risk.overAll.total, risk.overParsed.total], [3, 7, 4]);
  assert.deepEqual(risk.confusion.matrix[0], [3, 0, 0, 0, 1, 3]); // the array answer is parsed but lacks the field
});

test('missing fields and values outside the labels are wrong, kept visible in their own columns', () => {
  const records: StructuredRecord[] = [
    { answer: '{"risk_level": "중간"}', gold: { risk_level: '애매' }, query: 'q1' },
    { answer: '{"risk": "높음"}', gold: { risk_level: '높음' }, query: 'q2' },
    { answer: '{"risk_level": {"value": "높음"}}', gold: { risk_level: '높음' }, query: 'q3' },
    { answer: '{"__proto__": {"risk_level": "높음"}}', gold: { risk_level: '높음' }, query: 'q4' },
    { answer: '{"risk_level": "낮음"}', gold: { risk_level: '낮음' }, query: 'q5' },
  ];
  const result = scoreStructuredJson(records, { fields: [{ field: 'risk_level', labels: RISK }] });
  const risk = result.fields[0];
  assert.deepEqual([risk.overAll.correct, risk.overParsed.total], [1, 5]);
  assert.deepEqual(risk.confusion.matrix, [
    [0, 0, 0, 0, 3, 0],
    [0, 0, 0, 1, 0, 0],
    [0, 0, 1, 0, 0, 0],
  ]);
  assert.deepEqual(
    result.errors.map((e) => [e.sample, e.kind, e.predicted, e.gold]),
    [
      [1, 'outside', '중간', '애매'],
      [2, 'missing', MISSING, '높음'],
      [3, 'missing', MISSING, '높음'],
      [4, 'missing', MISSING, '높음'],
    ],
  );
  // A nested path and a dangerous path segment.
  const nested = scoreStructuredJson([{ answer: '{"result": {"risk_level": "높음"}}', gold: { result: { risk_level: '높음' } } }], { fields: [{ field: 'result.risk_level' }] });
  assert.equal(nested.fields[0].overAll.correct, 1);
  assert.throws(() => scoreStructuredJson([{ answer: '{}', gold: {} }], { fields: [{ field: 'constructor' }] }), InputError);
});

test('list items pair by key (count mismatches, missing and extra items reported) or by position', () => {
  const gold = {
    components: [
      { component: '겔화제', match: '대응' },
      { component: '자외선 차단제', match: '판단불가' },
      { component: '분체', match: '미대응' },
    ],
  };
  const answer = JSON.stringify({
    components: [
      { component: '분체', match: '미대응' },
      { component: '겔화제', match: '판단불가' },
      { component: '겔화제', match: '대응' }, // duplicate key: extra
      { component: '향료', match: '대응' }, // unknown key: extra
    ],
  });
  const byKey = scoreStructuredJson([{ answer, gold, query: '특허' }, { answer: 'no json', gold, query: '특허2' }], {
    lists: [{ list: 'components', item: 'match', key: 'component', labels: MATCH }],
  });
  const match = byKey.lists[0];
  assert.equal(match.name, 'components[].match');
  assert.equal(match.pairing, 'key');
  assert.deepEqual([match.goldItems, match.predictedItems, match.pairedItems, match.missingItems, match.extraItems], [6, 4, 2, 1, 2]);
  assert.deepEqual(match.countMismatches, [{ sample: 1, id: '1', gold: 3, predicted: 4 }]);
  assert.deepEqual([match.overAll.correct, match.overAll.total], [1, 6]);
  assert.deepEqual([match.overParsed.correct, match.overParsed.total], [1, 2]);
  assert.deepEqual(
    byKey.errors.filter((e) => e.kind !== 'unparsed').map((e) => [e.item, e.kind, e.predicted, e.gold]),
    [
      ['겔화제', 'wrong', '판단불가', '대응'],
      ['자외선 차단제', 'missing', MISSING, '판단불가'],
    ],
  );
  const byIndex = scoreStructuredJson([{ answer, gold }], { lists: [{ list: 'components', item: 'match', labels: MATCH }] });
  assert.deepEqual([byIndex.lists[0].pairedItems, byIndex.lists[0].extraItems, byIndex.lists[0].overAll.correct], [3, 1, 1]); // only position 1 (판단불가) agrees
  assert.match(formatStructuredJsonReport(byKey), /항목 짝짓기: 키 필드 기준\. 정답 항목 6개, 예측 항목 4개, 짝지어진 항목 2개, 누락 1개, 초과 2개, 항목 수가 다른 샘플 1개\./);
});

test('bad gold data is an error naming the record and field; bad options are usage errors', () => {
  assert.throws(
    () => scoreStructuredJson([{ answer: '{}', gold: { risk_level: '높음' } }, { answer: '{}', gold: { level: '높음' } }], { fields: [{ field: 'risk_level' }], file: 'gold.jsonl' }),
    (error: unknown) => error instanceof InputError && error.line === 2 && error.field === 'gold.risk_level' && /gold\.jsonl:2/.test(error.message),
  );
  assert.throws(
    () => scoreStructuredJson([{ answer: '{}', gold: { risk_level: '보통' } }], { fields: [{ field: 'risk_level', labels: RISK }] }),
    (error: unknown) => error instanceof InputError && /보통/.test(error.message),
  );
  assert.throws(
    () => scoreStructuredJson([{ answer: '{}', gold: { c: [{ k: 'a', m: 'x' }, { k: 'a', m: 'y' }] } }], { lists: [{ list: 'c', item: 'm', key: 'k' }] }),
    /appears twice/,
  );
  assert.throws(() => scoreStructuredJson([{ answer: '{}', gold: 'x' }], { fields: [{ field: 'a' }] }), InputError);
  assert.throws(() => scoreStructuredJson([], {}), UsageError);
});

test('invariants: denominators, matrix sums and the sklearn report agree with the matrix', () => {
  const answerArb = fc.oneof(
    fc.constantFrom(...RISK, '중간').map((risk) => JSON.stringify({ risk_level: risk })),
    fc.constant('{}'),
    fc.constant('파싱 불가'),
    fc.constantFrom(...RISK).map((risk) => '```json\n' + JSON.stringify({ risk_level: risk }) + '\n```'),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(answerArb, fc.constantFrom(...RISK)), { minLength: 1, maxLength: 40 }), (pairs) => {
      const result = scoreStructuredJson(
        pairs.map(([answer, gold]) => ({ answer, gold: { risk_level: gold } })),
        { fields: [{ field: 'risk_level', labels: RISK }] },
      );
      const risk = result.fields[0];
      assert.equal(risk.overAll.total, pairs.length);
      assert.equal(risk.overParsed.total, result.validity.parsed);
      assert.equal(risk.overAll.correct, risk.overParsed.correct);
      const matrixTotal = risk.confusion.matrix.flat().reduce((a, b) => a + b, 0);
      assert.equal(matrixTotal, pairs.length);
      const trace = RISK.reduce((sum, _, i) => sum + risk.confusion.matrix[i][i], 0);
      assert.equal(trace, risk.overAll.correct);
      risk.perClass.forEach((c, i) => {
        assert.equal(c.gold, pairs.filter(([, gold]) => gold === c.label).length);
        assert.equal(risk.report.overAll.perLabel[i].precision, c.precision);
        assert.equal(risk.report.overAll.perLabel[i].recall, c.recall);
      });
      assert.equal(result.errors.length, pairs.length - risk.overAll.correct);
    }),
  );
});
