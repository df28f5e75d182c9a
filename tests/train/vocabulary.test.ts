import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PAD_ID, UNK_ID, Vocabulary, syllables } from '../../lib/train/vocabulary.js';

test('ids: padding 0, unknown 1, then by frequency; unseen syllables map to <unk>', () => {
  const vocabulary = Vocabulary.build([syllables('가나다 가나'), syllables('가')]);
  assert.deepEqual(vocabulary.tokens, ['<pad>', '<unk>', '가', '나', ' ', '다']);
  assert.deepEqual([...vocabulary.encode(syllables('나라'))], [3, UNK_ID]);
  assert.equal(vocabulary.id('<pad>'), PAD_ID);
  assert.equal(vocabulary.unknownRate([syllables('가라')]), 0.5);
});

test('minCount and maxSize; prototype keys are ordinary tokens', () => {
  const vocabulary = Vocabulary.build([['__proto__', 'constructor', 'a', 'a']], { minCount: 1, maxSize: 4 });
  assert.deepEqual(vocabulary.tokens, ['<pad>', '<unk>', 'a', '__proto__']);
  assert.equal(vocabulary.id('constructor'), UNK_ID);
  assert.equal(Vocabulary.build([['a', 'b', 'b']], { minCount: 2 }).id('a'), UNK_ID);
});

test('JSON round trip keeps every id', () => {
  fc.assert(
    fc.property(fc.array(fc.array(fc.string({ minLength: 1, maxLength: 2 }), { maxLength: 8 }), { maxLength: 8 }), (sequences) => {
      const vocabulary = Vocabulary.build(sequences);
      const copy = Vocabulary.fromJSON(JSON.parse(JSON.stringify(vocabulary.toJSON())));
      for (const sequence of sequences) assert.deepEqual(copy.encode(sequence), vocabulary.encode(sequence));
    }),
  );
});

test('syllables are NFC code points', () => {
  assert.deepEqual(syllables('한\u1100\u1161'), ['한', '가']);
  assert.deepEqual(syllables('😀a'), ['😀', 'a']);
});
