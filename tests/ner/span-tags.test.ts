import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError } from '../../lib/errors.js';
import { spansToSyllableTags, syllableTagsToSpans } from '../../lib/ner/span-tags.js';
import type { Span } from '../../lib/metrics/spans.js';

test('KBMC-style spans become syllable BIO (spaces inside an entity are I-) and come back with their text', () => {
  const text = '전신 적 다한증 은 교감신경 절제술 로 치료';
  const spans: Span[] = [
    { label: 'Disease', start: 0, end: 8 },
    { label: 'Treatment', start: 11, end: 19 },
  ];
  const { syllables, tags } = spansToSyllableTags(text, spans);
  assert.equal(syllables.join(''), text);
  assert.deepEqual(tags.slice(0, 9), ['B-Disease', 'I-Disease', 'I-Disease', 'I-Disease', 'I-Disease', 'I-Disease', 'I-Disease', 'I-Disease', 'O']);
  assert.equal(tags[11], 'B-Treatment');
  assert.deepEqual(syllableTagsToSpans(syllables, tags), [
    { label: 'Disease', start: 0, end: 8, text: '전신 적 다한증' },
    { label: 'Treatment', start: 11, end: 19, text: '교감신경 절제술' },
  ]);
});

test('offsets stay UTF-16 units with characters outside the BMP', () => {
  const text = '𝐀 당뇨병 😀 두통';
  const start = text.indexOf('당');
  const headache = text.indexOf('두');
  const spans: Span[] = [
    { label: 'Disease', start, end: start + 3 },
    { label: 'Disease', start: headache, end: headache + 2 },
  ];
  const { syllables, tags } = spansToSyllableTags(text, spans);
  assert.equal(syllables.length, [...text].length);
  assert.deepEqual(syllableTagsToSpans(syllables, tags).map((s) => s.text), ['당뇨병', '두통']);
  assert.deepEqual(syllableTagsToSpans(syllables, tags).map((s) => [s.start, s.end]), spans.map((s) => [s.start, s.end]));
});

test('overlapping spans and offsets off the characters are errors naming the entity', () => {
  const text = '가나다라마';
  assert.throws(
    () => spansToSyllableTags(text, [{ label: 'A', start: 0, end: 3 }, { label: 'B', start: 2, end: 4 }], { file: 'train.jsonl', line: 7 }),
    (error: unknown) => error instanceof InputError && /train\.jsonl:7, field "entities\[1\]": span B 2\.\.4 overlaps span A 0\.\.3 \(entities\[0\]\)/.test(error.message),
  );
  assert.throws(() => spansToSyllableTags(text, [{ label: 'A', start: 3, end: 9 }]), /does not lie on character boundaries/);
  assert.throws(() => spansToSyllableTags('😀가', [{ label: 'A', start: 1, end: 3 }]), /does not lie on character boundaries/);
});

test('a stray I- opens an entity as seqeval reads it', () => {
  assert.deepEqual(syllableTagsToSpans([...'가나다'], ['O', 'I-X', 'I-X']), [{ label: 'X', start: 1, end: 3, text: '나다' }]);
  assert.deepEqual(syllableTagsToSpans([...'가나'], ['B-X', 'B-X']).length, 2);
});

test('property: non-overlapping spans round-trip through syllable tags', () => {
  const character = fc.constantFrom('가', '나', ' ', 'a', '😀', '〈', '1');
  const labels = fc.constantFrom('Disease', 'Body', 'Treatment', 'My-Label');
  fc.assert(
    fc.property(fc.array(character, { minLength: 1, maxLength: 30 }), fc.array(fc.tuple(fc.nat(), fc.nat(), labels), { maxLength: 6 }), (chars, picks) => {
      // Spans on syllable boundaries, sorted and disjoint.
      const spans: Span[] = [];
      let taken = -1;
      const offsets = [0];
      for (const c of chars) offsets.push(offsets[offsets.length - 1] + c.length);
      for (const [a, b, label] of picks.sort((x, y) => x[0] - y[0])) {
        const first = Math.max(a % chars.length, taken + 1);
        const last = first + (b % 4);
        if (last >= chars.length) continue;
        spans.push({ label, start: offsets[first], end: offsets[last + 1] });
        taken = last;
      }
      const text = chars.join('');
      const { syllables, tags } = spansToSyllableTags(text, spans);
      const back = syllableTagsToSpans(syllables, tags);
      assert.deepEqual(back.map(({ label, start, end }) => ({ label, start, end })), spans);
      for (const span of back) assert.equal(span.text, text.slice(span.start, span.end));
    }),
  );
});
