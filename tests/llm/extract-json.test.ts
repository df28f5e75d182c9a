import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { extractJson, PARSED_STATUSES } from '../../lib/llm/extract-json.js';

// Answers printed by study 003 (its debug dump and "JSON Error" list).
const FENCED = '```json\n{\n    "OG": ["중국 정부"],\n    "LC": ["톈진항"]\n}\n```';
const PLAIN = '{"PS": ["이소룡"], "QT": ["하나"], "DT": ["14살"]}';

describe('extractJson: where the candidate comes from', () => {
  test('a plain JSON answer parses strictly', () => {
    const r = extractJson(PLAIN);
    assert.equal(r.status, 'strict');
    assert.deepEqual(r.value, { PS: ['이소룡'], QT: ['하나'], DT: ['14살'] });
    assert.equal(r.candidate, PLAIN);
    assert.equal(r.fenced, false);
    assert.equal(r.truncated, false);
  });

  test('a ```json fenced answer (study 003) is taken from the fence: status fenced', () => {
    const r = extractJson(FENCED);
    assert.equal(r.status, 'fenced');
    assert.deepEqual(r.value, { OG: ['중국 정부'], LC: ['톈진항'] });
    assert.equal(r.fenced, true);
    assert.ok(r.steps.some((s) => s.step === 'fence' && s.ok && s.detail.includes('json')));
  });

  test('a bare ``` fence works too, and prose around it is ignored', () => {
    const r = extractJson('결과입니다:\n```\n{"PS": ["임권택", "강수연"]}\n```\n감사합니다.');
    assert.equal(r.status, 'fenced');
    assert.deepEqual(r.value, { PS: ['임권택', '강수연'] });
  });

  test('a fence holding no JSON is passed over for JSON outside it', () => {
    const r = extractJson('```python\nprint(1)\n```\n{"LC": ["로마"]}');
    assert.equal(r.status, 'strict');
    assert.deepEqual(r.value, { LC: ['로마'] });
  });

  test('prose before and after: the balanced region, not a greedy regex', () => {
    const r = extractJson('답: {"PS": ["헤닝"]} 입니다. {참고}');
    assert.equal(r.status, 'strict');
    assert.deepEqual(r.value, { PS: ['헤닝'] });
  });

  test('two objects in a row: the first wins', () => {
    const r = extractJson('{"PS": ["코난"]}\n{"QT": ["탐정"]}');
    assert.equal(r.status, 'strict');
    assert.deepEqual(r.value, { PS: ['코난'] });
  });

  test('braces inside strings do not close the region', () => {
    const r = extractJson('x {"QT": ["}{ 1위 ]"], "PS": ["a\\"}"]} y');
    assert.equal(r.status, 'strict');
    assert.deepEqual(r.value, { QT: ['}{ 1위 ]'], PS: ['a"}'] });
  });

  test('a list answer is a region of its own', () => {
    const r = extractJson('[{"text": "서울", "label": "LC"}]');
    assert.equal(r.status, 'strict');
    assert.deepEqual(r.value, [{ text: '서울', label: 'LC' }]);
  });

  test('a prose [bracket] before the JSON does not win over strict JSON after it', () => {
    const r = extractJson('[참고] {"LC": ["서울"]}');
    assert.equal(r.status, 'strict');
    assert.deepEqual(r.value, { LC: ['서울'] });
    assert.equal(r.candidateStart, 5);
  });
});

describe('extractJson: repair', () => {
  test('Python dict answers (single quotes, None, True) are repaired', () => {
    const r = extractJson("{'PS': ['손흥민'], 'LC': ['춘천'], 'DT': None, 'x': True}");
    assert.equal(r.status, 'repaired');
    assert.deepEqual(r.value, { PS: ['손흥민'], LC: ['춘천'], DT: null, x: true });
    assert.ok(r.repairedText);
  });

  test('trailing commas, unquoted keys and smart quotes are repaired', () => {
    assert.deepEqual(extractJson('{PS: ["이지혜",],}').value, { PS: ['이지혜'] });
    assert.deepEqual(extractJson('{"QT": [“1”, “2”]}').value, { QT: ['1', '2'] });
  });

  test('an answer cut off at max_new_tokens runs to the end and is closed by repair', () => {
    const r = extractJson('{"DT": ["내년 말", "2016년 말"], "QT": ["1%", "2.2');
    assert.equal(r.status, 'repaired');
    assert.equal(r.truncated, true);
    assert.deepEqual(r.value, { DT: ['내년 말', '2016년 말'], QT: ['1%', '2.2'] });
  });

  test('a fence that never closes still yields its JSON, marked truncated', () => {
    const r = extractJson('```json\n{"LC": ["로마", "포폴로광장"]}');
    assert.equal(r.status, 'fenced');
    assert.equal(r.truncated, true);
    assert.deepEqual(r.value, { LC: ['로마', '포폴로광장'] });
  });
});

describe('extractJson: failures', () => {
  test('empty and whitespace-only answers are empty', () => {
    assert.equal(extractJson('').status, 'empty');
    assert.equal(extractJson(' \n\t ').status, 'empty');
  });

  test('an answer without { or [ is no_json', () => {
    const r = extractJson('개체명이 없습니다.');
    assert.equal(r.status, 'no_json');
    assert.equal(r.value, undefined);
    assert.equal(r.candidate, undefined);
  });

  test('a region that even jsonrepair cannot fix is unparseable, with the candidate kept', () => {
    const bad = extractJson('답: {:::}');
    assert.equal(bad.status, 'unparseable');
    assert.equal(bad.candidate, '{:::}');
    assert.equal(bad.candidateStart, 3);
    assert.ok(bad.steps.some((s) => s.step === 'repair' && !s.ok));
  });

  test('__proto__ keys stay own data properties and never touch a prototype', () => {
    const r = extractJson('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}');
    assert.equal(r.status, 'strict');
    const value = r.value as Record<string, unknown>;
    assert.ok(Object.prototype.hasOwnProperty.call(value, '__proto__'));
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const repaired = extractJson("{'__proto__': {'polluted': True}}");
    assert.equal(repaired.status, 'repaired');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('a parsed status always has a value; a failed one never does', () => {
    for (const answer of [PLAIN, FENCED, "{'a': 1}", '', 'none', '{:::}']) {
      const r = extractJson(answer);
      assert.equal(PARSED_STATUSES.includes(r.status), r.value !== undefined, answer);
    }
  });
});

describe('extractJson: properties', () => {
  test('never throws, status is known, candidate lies inside the answer (10,000 runs)', () => {
    const pieces = fc.constantFrom('{', '}', '[', ']', '"', "'", ':', ',', '```', '```json\n', '\\', 'PS', '서울', ' ', '\n', 'None', '1');
    const answer = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.array(pieces, { maxLength: 30 }).map((p) => p.join('')));
    fc.assert(
      fc.property(answer, (text) => {
        const r = extractJson(text);
        assert.ok(['strict', 'fenced', 'repaired', 'no_json', 'unparseable', 'empty'].includes(r.status));
        if (r.candidate !== undefined) assert.equal(text.slice(r.candidateStart, r.candidateEnd), r.candidate);
      }),
      { numRuns: 10_000 },
    );
  });

  test('any JSON object, stringified, comes back strictly and equal (2,000 runs)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
        const text = JSON.stringify(object);
        const r = extractJson(text);
        assert.equal(r.status, 'strict');
        assert.deepEqual(r.value, JSON.parse(text));
      }),
      { numRuns: 2_000 },
    );
  });
});
