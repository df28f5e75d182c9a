import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { readKlueNer } from '../../lib/data/klue-ner.js';
import {
  DEFAULT_NER_SYSTEM_PROMPT,
  buildChatDataset,
  buildChatRecord,
  chatJsonl,
  pythonJsonDumps,
  writeChatJsonl,
} from '../../lib/ner/chat-dataset.js';

const sentences = readKlueNer('tests/fixtures/klue-small.tsv');

describe('chat dataset (study 003)', () => {
  test('one record: system prompt, the sentence, the JSON answer', () => {
    const record = buildChatRecord(sentences[0]);
    assert.deepEqual(record.messages.map((m) => m.role), ['system', 'user', 'assistant']);
    assert.equal(record.messages[0].content, DEFAULT_NER_SYSTEM_PROMPT);
    assert.equal(record.messages[1].content, sentences[0].text);
    assert.equal(record.messages[2].content, '{"OG": ["경찰"], "PS": ["박", "김"], "QT": ["32", "33", "16명"]}');
  });

  test('the default prompt is study 003\'s Korean prompt; a custom prompt replaces it', () => {
    assert.match(DEFAULT_NER_SYSTEM_PROMPT, /^당신은 유능한 개체명 인식기\(NER\)입니다\. /);
    assert.match(DEFAULT_NER_SYSTEM_PROMPT, /PS\(사람\), LC\(장소\), OG\(기관\), DT\(날짜\), TI\(시간\), QT\(수량\)/);
    assert.match(DEFAULT_NER_SYSTEM_PROMPT, /해당하는 개체명이 없으면 빈 JSON '\{\}'을 출력하세요\.$/);
    const record = buildChatRecord(sentences[1], { systemPrompt: '개체명을 JSON으로 추출하세요.' });
    assert.equal(record.messages[0].content, '개체명을 JSON으로 추출하세요.');
  });

  test('JSONL is written like Python json.dump(ensure_ascii=False), one record per line', () => {
    const records = buildChatDataset(sentences.slice(0, 3));
    const text = chatJsonl(records);
    const lines = text.split('\n');
    assert.equal(lines.length, 4);
    assert.equal(lines[3], '');
    assert.ok(lines[0].startsWith('{"messages": [{"role": "system", "content": "당신은'));
    assert.deepEqual(lines.slice(0, 3).map((l) => JSON.parse(l)), records);
    const dir = mkdtempSync(path.join(tmpdir(), 'chat-'));
    try {
      const file = path.join(dir, 'train.jsonl');
      writeChatJsonl(file, records);
      assert.equal(readFileSync(file, 'utf8'), text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a sentence with mismatched tokens and tags is an error naming it', () => {
    assert.throws(() => buildChatRecord({ id: 's1', tokens: ['a'], tags: [] }), /sentence s1 has 1 tokens but 0 tags/);
  });

  test('property: pythonJsonDumps parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.deepEqual(JSON.parse(pythonJsonDumps(value)), JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});
