import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { kbmcTagsToSpans, parseKbmcTag, readKbmc, splitMorphemes, type KbmcSpan } from '../../lib/data/kbmc.js';
import { InputError } from '../../lib/errors.js';

const FIXTURE = 'tests/fixtures/kbmc/kbmc-sample.tsv';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hanlab-kbmc-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

const spanTexts = (sentence: string, spans: KbmcSpan[]) => spans.map((s) => [s.label, sentence.slice(s.start, s.end)]);

describe('readKbmc', () => {
  test('reads the fixture: spans with character offsets into the sentence as written', async () => {
    const data = await readKbmc(FIXTURE);
    assert.equal(data.encoding, 'utf-8');
    assert.equal(data.sentences.length, 6);
    assert.deepEqual(data.labels, ['Body', 'Disease', 'Treatment']);
    assert.deepEqual(data.irregularTags, []);
    const [first, second] = data.sentences;
    assert.deepEqual(first.spans, [
      { label: 'Disease', start: 0, end: 9 },
      { label: 'Treatment', start: 15, end: 20 },
      { label: 'Treatment', start: 26, end: 31 },
    ]);
    assert.deepEqual(spanTexts(first.sentence, first.spans), [
      ['Disease', '제 2 형 당뇨병'],
      ['Treatment', '메트포르민'],
      ['Treatment', '식이 요법'],
    ]);
    assert.deepEqual(spanTexts(second.sentence, second.spans), [
      ['Disease', '급성 충수염'],
      ['Body', '오른쪽 아랫배'],
      ['Treatment', '충수 절제술'],
    ]);
    assert.deepEqual(second.source, { file: FIXTURE, line: 3, row: 2 });
  });

  test("the KBMC card's published example sentence converts as tagged", async () => {
    const sentence = '전신 적 다한증 은 신체 전체 에 힘 이 빠져서 일상 생활 이 어려워지는 질환 으로 , 근육 통증 과 무기 력 감 이 동반 됩니다 .';
    const tags = 'Disease-B Disease-I Disease-I O O O O O O O O O O O O O O Disease-B Disease-I O Disease-B Disease-I Disease-I O O O O';
    const data = await readKbmc(write('KBMC.tsv', `Sentence\tTags\n${sentence}\t${tags}\n`));
    const [s] = data.sentences;
    assert.deepEqual(spanTexts(s.sentence, s.spans), [
      ['Disease', '전신 적 다한증'],
      ['Disease', '근육 통증'],
      ['Disease', '무기 력 감'],
    ]);
  });

  test('lower-case column names, the B-Label form and extra spaces are read too', async () => {
    const data = await readKbmc(write('prefix.tsv', 'sentence\ttags\n골절  환자 는\tB-Disease O O\n'));
    const [s] = data.sentences;
    assert.deepEqual(s.tokens, ['골절', '환자', '는']);
    assert.deepEqual(spanTexts(s.sentence, s.spans), [['Disease', '골절']]);
  });

  test('an -I tag that does not continue its entity starts one and is listed, never fixed silently', async () => {
    const data = await readKbmc(write('irregular.tsv', 'Sentence\tTags\n어깨 통증 과 허리 디스크\tBody-I O O Body-B Disease-I\n'));
    const [s] = data.sentences;
    assert.deepEqual(spanTexts(s.sentence, s.spans), [
      ['Body', '어깨'],
      ['Body', '허리'],
      ['Disease', '디스크'],
    ]);
    assert.deepEqual(data.irregularTags, [
      { tokenIndex: 0, tag: 'Body-I', previous: 'O', file: path.join(dir, 'irregular.tsv'), line: 2, row: 1 },
      { tokenIndex: 4, tag: 'Disease-I', previous: 'Body-B', file: path.join(dir, 'irregular.tsv'), line: 2, row: 1 },
    ]);
  });

  test('errors name file, line and column', async () => {
    await assert.rejects(readKbmc(write('count.tsv', 'Sentence\tTags\n간염 환자\tDisease-B O\n간염 환자 다\tDisease-B O\n')), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.line, 3);
      assert.equal(error.field, 'Tags');
      assert.match(error.message, /3 morphemes but 2 tags/);
      return true;
    });
    await assert.rejects(readKbmc(write('badtag.tsv', 'Sentence\tTags\n간염 환자\tDisease-X O\n')), /badtag\.tsv:2, field "Tags": tag 'Disease-X' of morpheme 1 \('간염'\) is not O, Label-B or Label-I/);
    await assert.rejects(readKbmc(write('empty.tsv', 'Sentence\tTags\n\tO\n')), /empty\.tsv:2, field "Sentence": sentence is empty/);
    await assert.rejects(readKbmc(write('cols.tsv', 'text\tlabels\n가\tO\n')), /has no 'Sentence' column/);
  });

  test('parseKbmcTag', () => {
    assert.deepEqual(parseKbmcTag('O'), { prefix: 'O' });
    assert.deepEqual(parseKbmcTag('Treatment-I'), { prefix: 'I', label: 'Treatment' });
    assert.deepEqual(parseKbmcTag('B-Body'), { prefix: 'B', label: 'Body' });
    assert.equal(parseKbmcTag('Body'), null);
    assert.equal(parseKbmcTag('o'), null);
  });

  test('property: spans → BIO tags → spans is the identity, and each span covers exactly its morphemes', () => {
    const morpheme = fc.array(fc.constantFrom('가', '나', '뇨', '병', '암', '1', 'a', '-', '('), { minLength: 1, maxLength: 4 }).map((c) => c.join(''));
    const labelled = fc.array(fc.tuple(fc.array(morpheme, { minLength: 1, maxLength: 3 }), fc.constantFrom(null, 'Disease', 'Body', 'Treatment')), {
      minLength: 1,
      maxLength: 10,
    });
    fc.assert(
      fc.property(labelled, fc.constantFrom(' ', '  '), (chunks, gap) => {
        const tokens: string[] = [];
        const tags: string[] = [];
        const expected: [string, string][] = [];
        for (const [words, label] of chunks) {
          words.forEach((word, i) => {
            tokens.push(word);
            tags.push(label === null ? 'O' : `${label}-${i === 0 ? 'B' : 'I'}`);
          });
          if (label !== null) expected.push([label, words.join(gap)]);
        }
        const sentence = tokens.join(gap);
        const { offsets } = splitMorphemes(sentence);
        const { spans, irregular } = kbmcTagsToSpans(tokens, tags, offsets);
        assert.deepEqual(irregular, []);
        assert.deepEqual(spanTexts(sentence, spans), expected);
      }),
      { numRuns: 300 },
    );
  });
});
