import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAnswers, readAnswers } from '../../lib/ner/answers.js';
import { readKlueNer } from '../../lib/data/klue-ner.js';
import { InputError } from '../../lib/errors.js';

const SENTENCES = [
  { id: 'klue-ner-v1_dev_00002-wikitree', tokens: Array.from('수학 A형의 1등급'), tags: [] as string[] },
  { id: 'klue-ner-v1_dev_00008-nsmc', tokens: Array.from('저우쉰과 탕웨이.'), tags: [] as string[] },
  { id: 'klue-ner-v1_dev_00013-wikitree', tokens: Array.from('배우 이아현 씨가'), tags: [] as string[] },
];

function errorOf(content: string): InputError {
  try {
    parseAnswers(content, SENTENCES, { file: 'answers.jsonl' });
  } catch (error) {
    assert.ok(error instanceof InputError);
    return error;
  }
  assert.fail('expected an InputError');
}

describe('parseAnswers', () => {
  test('matches by id or index, keeps gold order, reports the sentences without an answer', () => {
    const set = parseAnswers(
      '\uFEFF{"id": "klue-ner-v1_dev_00013-wikitree", "answer": "{\\"PS\\": [\\"이아현\\"]}", "source": "replay"}\r\n\n{"id": 0, "answer": "{}"}\n',
      SENTENCES,
    );
    assert.deepEqual(set.items.map((item) => item.answer), ['{}', undefined, '{"PS": ["이아현"]}']);
    assert.equal(set.answered, 2);
    assert.deepEqual(set.missing, ['klue-ner-v1_dev_00008-nsmc']);
  });

  test('"answer": null means the model gave none: reported as missing', () => {
    const set = parseAnswers('{"id": 1, "answer": null}', SENTENCES);
    assert.equal(set.items[1].answer, undefined);
    assert.equal(set.missing.length, 3);
  });

  test('bad lines name file, line and field', () => {
    assert.equal(errorOf('{"id": 0, "answer": "{}"}\n{oops').line, 2);
    const unknown = errorOf('{"id": "klue-ner-v1_dev_99999-x", "answer": "{}"}');
    assert.equal(unknown.field, 'id');
    assert.match(unknown.message, /^answers\.jsonl:1, field "id": no gold sentence has the id/);
    assert.equal(errorOf('{"id": 1.5, "answer": "{}"}').field, 'id');
    assert.equal(errorOf('{"id": -1, "answer": "{}"}').field, 'id');
    assert.equal(errorOf('{"answer": "{}"}').field, 'id');
    assert.equal(errorOf('{"id": 0}').field, 'answer');
    assert.equal(errorOf('{"id": 0, "answer": 3}').field, 'answer');
    const duplicate = errorOf('{"id": 0, "answer": "{}"}\n{"id": "klue-ner-v1_dev_00002-wikitree", "answer": "{}"}');
    assert.equal(duplicate.line, 2);
    assert.match(duplicate.message, /already answered on line 1/);
  });

  test('an "id" key inherited from Object.prototype does not count', () => {
    assert.equal(errorOf('{"__proto__": {"id": 0}, "answer": "{}"}').field, 'id');
  });
});

describe('data/replay (study 003\'s printed answers)', () => {
  test('every line matches a KLUE dev sentence: 5 + 10 + 7 answers', () => {
    const dev = readKlueNer('data/klue-ner/klue-ner-v1.1_dev.tsv');
    const counts = ['study003-debug-dump', 'study003-wrong-cases', 'study003-fenced-answers'].map(
      (name) => readAnswers(`data/replay/${name}.jsonl`, dev).answered,
    );
    assert.deepEqual(counts, [5, 10, 7]);
  });
});
