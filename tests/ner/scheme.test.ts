import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type Entity,
  type Scheme,
  TagSchemeError,
  defaultEntities,
  detectScheme,
  forEachDefaultChunk,
  getEntities,
  splitStrictTag,
  strictEntities,
} from '../../lib/ner/scheme.js';

const e = (type: string, start: number, end: number): Entity => ({ type, start, end });

describe('default mode (seqeval get_entities / conlleval)', () => {
  const cases: [string[], Entity[]][] = [
    [['B-PER', 'I-PER', 'O', 'B-LOC'], [e('PER', 0, 2), e('LOC', 3, 4)]],
    [['O', 'I-PER', 'I-PER', 'O'], [e('PER', 1, 3)]], // I- after O starts an entity
    [['B-PER', 'I-LOC'], [e('PER', 0, 1), e('LOC', 1, 2)]], // I- of another type starts one
    [['B-PER', 'B-PER'], [e('PER', 0, 1), e('PER', 1, 2)]],
    [['E-PER', 'E-PER'], [e('PER', 0, 1), e('PER', 1, 2)]],
    [['S-PER', 'I-PER'], [e('PER', 0, 1), e('PER', 1, 2)]],
    [['B-PER', 'E-PER', 'S-LOC'], [e('PER', 0, 2), e('LOC', 2, 3)]],
    [['B', 'I', 'O'], [e('_', 0, 2)]],
    [['B-ORG-X', 'I-ORG-X'], [e('ORG-X', 0, 2)]],
    [['O', 'O'], []],
    [[], []],
  ];
  for (const [tags, expected] of cases) {
    test(`${tags.join(' ') || '(empty)'}`, () => {
      assert.deepEqual(defaultEntities(tags), expected);
      assert.deepEqual(getEntities(tags), expected);
    });
  }

  test('sentences are flattened with an O between them, so entities never cross', () => {
    const chunks: Entity[] = [];
    forEachDefaultChunk([['O', 'I-PS'], ['I-PS', 'O']], (type, start, end) => chunks.push(e(type, start, end)));
    assert.deepEqual(chunks, [e('PS', 1, 2), e('PS', 3, 4)]);
  });

  test('an empty tag is an error', () => {
    assert.throws(() => defaultEntities(['O', '']), (err: unknown) => err instanceof TagSchemeError && /empty tag in sentence 0 at position 1/.test(err.message));
  });
});

describe('strict mode (seqeval.scheme)', () => {
  const cases: [Scheme, string[], Entity[]][] = [
    ['IOB2', ['B-PER', 'I-PER', 'O', 'B-LOC'], [e('PER', 0, 2), e('LOC', 3, 4)]],
    ['IOB2', ['I-PER'], []],
    ['IOB2', ['O', 'I-PER'], []],
    ['IOB2', ['I-PER', 'B-ORG'], [e('ORG', 1, 2)]],
    ['IOB2', ['B-PER', 'I-ORG'], [e('PER', 0, 1)]],
    ['IOB2', ['B-PER', 'B-PER'], [e('PER', 0, 1), e('PER', 1, 2)]],
    ['IOB2', ['B', 'I'], [e('_', 0, 2)]],
    ['IOB1', ['I-PER'], [e('PER', 0, 1)]],
    ['IOB1', ['B-PER'], []],
    ['IOB1', ['I-PER', 'B-PER'], [e('PER', 0, 1), e('PER', 1, 2)]],
    ['IOB1', ['I-PER', 'B-ORG'], [e('PER', 0, 1)]],
    ['IOB1', ['B-PER', 'I-ORG'], [e('ORG', 1, 2)]],
    ['IOE1', ['I-PER', 'I-ORG'], [e('PER', 0, 1), e('ORG', 1, 2)]],
    ['IOE1', ['E-PER', 'I-PER'], [e('PER', 1, 2)]],
    ['IOE1', ['E-PER', 'E-PER'], []],
    ['IOE2', ['E-PER'], [e('PER', 0, 1)]],
    ['IOE2', ['I-PER', 'E-PER'], [e('PER', 0, 2)]],
    ['IOE2', ['I-PER', 'E-ORG'], [e('ORG', 1, 2)]],
    ['IOE2', ['I-PER', 'O'], []],
    ['IOBES', ['S-PER'], [e('PER', 0, 1)]],
    ['IOBES', ['B-PER', 'E-PER'], [e('PER', 0, 2)]],
    ['IOBES', ['B-PER', 'I-PER'], []],
    ['IOBES', ['B-PER', 'S-PER'], [e('PER', 1, 2)]],
    ['IOBES', ['S-PER', 'E-PER'], [e('PER', 0, 1)]],
    ['IOBES', ['B-PER', 'E-ORG'], []],
    ['BILOU', ['U-PER'], [e('PER', 0, 1)]],
    ['BILOU', ['B-PER', 'I-PER', 'L-PER', 'O', 'U-LOC'], [e('PER', 0, 3), e('LOC', 4, 5)]],
    ['BILOU', ['B-PER', 'I-PER'], []],
  ];
  for (const [scheme, tags, expected] of cases) {
    test(`${scheme}: ${tags.join(' ')}`, () => {
      assert.deepEqual(strictEntities(tags, scheme), expected);
      assert.deepEqual(getEntities(tags, { mode: 'strict', scheme }), expected);
    });
  }

  test('token tags strip the delimiter like seqeval (I -> _, I-ORG-COMPANY -> ORG-COMPANY, Korean kept)', () => {
    assert.equal(splitStrictTag('I').type, '_');
    assert.equal(splitStrictTag('O').type, '_');
    assert.equal(splitStrictTag('I-ORG-COMPANY').type, 'ORG-COMPANY');
    assert.equal(splitStrictTag('I-組織').type, '組織');
    assert.equal(splitStrictTag('B--PS-').type, 'PS');
  });

  test('prefixes a scheme does not allow are errors with the position', () => {
    assert.throws(() => strictEntities(['O', 'E-PER'], 'IOB2', 7), /tag "E-PER" in sentence 7 at position 1 is not allowed in IOB2 \(allowed prefixes: I\|O\|B\)/);
    assert.throws(() => strictEntities(['X-PER'], 'IOB2'), /does not start with a scheme prefix/);
  });

  test('auto-detection follows seqeval', () => {
    assert.equal(detectScheme([['B-PER', 'I-PER', 'O']]), 'IOB2');
    assert.equal(detectScheme([['B-PER'], ['O']]), 'IOB2');
    assert.equal(detectScheme([['I-PER', 'E-PER', 'O']]), 'IOE2');
    assert.equal(detectScheme([['B-PER', 'E-PER', 'S-LOC', 'O']]), 'IOBES');
    assert.equal(detectScheme([['S-PER']]), 'IOBES');
    assert.equal(detectScheme([['B-PER', 'L-PER', 'U-LOC']]), 'BILOU');
    assert.equal(detectScheme([['U-PER']]), 'BILOU');
    assert.throws(() => detectScheme([['O']]), /cannot detect the tagging scheme from the prefixes \{O\}/);
    assert.throws(() => detectScheme([['I-PER', 'O']]), TagSchemeError);
    assert.throws(() => detectScheme([['X-PER']]), /does not start with a scheme prefix/);
    assert.deepEqual(getEntities(['B-PS', 'I-PS'], { mode: 'strict' }), [e('PS', 0, 2)]);
  });
});

const bioTag = fc.constantFrom('O', 'B-PS', 'I-PS', 'B-LC', 'I-LC');
const bioesTag = fc.constantFrom('O', 'B-PS', 'I-PS', 'E-PS', 'S-PS', 'B-LC', 'I-LC', 'E-LC', 'S-LC');

describe('properties', () => {
  test('default-mode entities are in bounds, ordered and disjoint', () => {
    fc.assert(
      fc.property(fc.array(bioesTag, { maxLength: 30 }), (tags) => {
        let last = 0;
        for (const entity of defaultEntities(tags)) {
          assert.ok(entity.start >= last && entity.end > entity.start && entity.end <= tags.length);
          last = entity.end;
        }
      }),
    );
  });

  test('chunking many sentences at once equals chunking each one (offset by length + 1)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(bioesTag, { maxLength: 10 }), { maxLength: 6 }), (sentences) => {
        const together: Entity[] = [];
        forEachDefaultChunk(sentences, (type, start, end) => together.push(e(type, start, end)));
        const separately: Entity[] = [];
        let offset = 0;
        for (const tags of sentences) {
          for (const x of defaultEntities(tags)) separately.push(e(x.type, x.start + offset, x.end + offset));
          offset += tags.length + 1;
        }
        assert.deepEqual(together, separately);
      }),
    );
  });

  test('strict IOB2 entities are exactly the default-mode entities that begin with B-', () => {
    fc.assert(
      fc.property(fc.array(bioTag, { maxLength: 30 }), (tags) => {
        const lenient = defaultEntities(tags).filter((x) => tags[x.start].startsWith('B-'));
        assert.deepEqual(strictEntities(tags, 'IOB2'), lenient);
      }),
    );
  });
});
