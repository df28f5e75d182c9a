import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildMatchIndex, findClosest, forEachOccurrence, normalizeForMatch, removeWhitespace, type TokenRange } from '../../lib/ner/normalize.js';

/** KLUE tokens: one syllable (or space) per token. */
const tokensOf = (text: string) => Array.from(text);

function occurrences(text: string, entity: string): TokenRange[] {
  const found: TokenRange[] = [];
  forEachOccurrence(buildMatchIndex(tokensOf(text)), normalizeForMatch(entity), (range) => void found.push(range));
  return found;
}

describe('normalizeForMatch', () => {
  test('removes every kind of whitespace, newlines and zero-width spaces included', () => {
    assert.equal(normalizeForMatch('중국 정부'), '중국정부');
    assert.equal(normalizeForMatch(' 조니\n뎁\t'), '조니뎁');
    assert.equal(normalizeForMatch('영동\u3000고속\u200b도로'), '영동고속도로');
    assert.equal(removeWhitespace('a \u00a0b'), 'ab');
  });

  test('NFKC: ㎞ → km, ％ → %, full-width digits and letters → ASCII', () => {
    assert.equal(normalizeForMatch('7.2㎞'), '7.2km');
    assert.equal(normalizeForMatch('８.３％'), '8.3%');
    assert.equal(normalizeForMatch('ＫＢＳ'), 'kbs');
  });

  test('decomposed Hangul (NFD, as macOS file names and some tokenizers give it) composes', () => {
    const decomposed = '탕웨이'.normalize('NFD');
    assert.notEqual(decomposed, '탕웨이');
    assert.equal(normalizeForMatch(decomposed), '탕웨이');
  });

  test('case folds, so KM finds km', () => {
    assert.equal(normalizeForMatch('300KM'), '300km');
  });
});

describe('buildMatchIndex', () => {
  test('maps every normalised character back to its token; spaces map to nothing', () => {
    const index = buildMatchIndex(tokensOf('7.2㎞를 뛰어'));
    assert.equal(index.text, '7.2km를뛰어');
    assert.deepEqual(Array.from(index.tokenOf), [0, 1, 2, 3, 3, 4, 6, 7]);
    assert.deepEqual(Array.from(index.tokenStart), [0, 1, 2, 3, 5, 6, 6, 7, 8]);
    assert.equal(index.changed, true);
    assert.equal(buildMatchIndex(tokensOf('서울 시립')).changed, false);
  });
});

describe('forEachOccurrence', () => {
  test('중국정부 finds 중국 정부 (KLUE dev 03378) with the inner space token inside the span', () => {
    assert.deepEqual(occurrences('중국 정부는 이번 폭발로', '중국정부'), [{ start: 0, end: 5 }]);
  });

  test('영동 고속도로 finds 영동고속도로 (KLUE dev 00190)', () => {
    const text = '태운 승합차가 영동고속도로 인천 방면으로';
    assert.deepEqual(occurrences(text, '영동 고속도로'), [{ start: 8, end: 14 }]);
  });

  test('km finds ㎞ and ㎞ finds km (KLUE v1.1 writes 2.4km; the study\'s copy had ㎞)', () => {
    assert.deepEqual(occurrences('자살장소에서 2.4km 떨어진', '2.4㎞'), [{ start: 7, end: 12 }]);
    assert.deepEqual(occurrences('후반 16분까지 7.2㎞를 뛰어', '7.2km'), [{ start: 9, end: 13 }]);
  });

  test('only token-aligned occurrences count: k does not match half of ㎞', () => {
    assert.deepEqual(occurrences('5㎞', 'k'), []);
    assert.deepEqual(occurrences('5㎞', '5㎞'), [{ start: 0, end: 2 }]);
  });

  test('every occurrence, overlapping ones too, left to right', () => {
    assert.deepEqual(occurrences('소치 2014 소치', '소치'), [{ start: 0, end: 2 }, { start: 8, end: 10 }]);
    assert.deepEqual(occurrences('아아아', '아아'), [{ start: 0, end: 2 }, { start: 1, end: 3 }]);
  });
});

describe('findClosest', () => {
  test('names the closest text in the sentence, widened to tokens', () => {
    const index = buildMatchIndex(tokensOf('결국, 정씨는 지난달 말 서울의 한 병원에'));
    const hint = findClosest(index, normalizeForMatch('지난 달말'));
    assert.ok(hint);
    assert.equal(hint.text, '지난달 말');
    assert.equal(hint.distance, 0);
    const fuzzy = findClosest(index, normalizeForMatch('서을'));
    assert.ok(fuzzy);
    assert.equal(fuzzy.text, '서울');
    assert.equal(fuzzy.distance, 1);
    assert.equal(fuzzy.similarity, 0.5);
  });

  test('is undefined for an empty sentence or key', () => {
    assert.equal(findClosest(buildMatchIndex([]), 'a'), undefined);
    assert.equal(findClosest(buildMatchIndex(['a']), ''), undefined);
  });

  test('the hint lies inside the sentence and its distance is at most the key length (2,000 runs)', () => {
    const syllables = fc.constantFrom('서', '울', '시', ' ', 'k', 'm', '㎞', '1');
    fc.assert(
      fc.property(fc.array(syllables, { minLength: 1, maxLength: 30 }), fc.array(syllables, { minLength: 1, maxLength: 8 }), (tokens, key) => {
        const index = buildMatchIndex(tokens);
        const normalized = normalizeForMatch(key.join(''));
        const hint = findClosest(index, normalized);
        if (index.text.length === 0 || normalized.length === 0) return assert.equal(hint, undefined);
        assert.ok(hint);
        assert.ok(hint.start >= 0 && hint.start < hint.end && hint.end <= tokens.length);
        assert.ok(hint.distance <= normalized.length);
      }),
      { numRuns: 2_000 },
    );
  });
});
