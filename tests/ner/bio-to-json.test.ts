import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readKlueNer } from '../../lib/data/klue-ner.js';
import { bioToEntries, bioToJson, bioToJsonText } from '../../lib/ner/bio-to-json.js';
import { defaultEntities } from '../../lib/ner/scheme.js';

const chars = (text: string) => [...text];

/** The entities written in KLUE's tagged sentence, `<surface:TYPE>`, grouped by type in order. */
function fromAnnotation(annotated: string): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const m of annotated.matchAll(/<([^>]*?):([A-Z]{2})>/g)) {
    if (!groups.has(m[2])) groups.set(m[2], []);
    groups.get(m[2])!.push(m[1]);
  }
  return [...groups];
}

describe('bioToJson', () => {
  test('study 003 example: 손흥민은 춘천에서 태어났다.', () => {
    const tokens = chars('손흥민은 춘천에서 태어났다.');
    const tags = tokens.map(() => 'O');
    tags[0] = 'B-PS'; tags[1] = 'I-PS'; tags[2] = 'I-PS'; tags[5] = 'B-LC'; tags[6] = 'I-LC';
    assert.deepEqual({ ...bioToJson(tokens, tags) }, { PS: ['손흥민'], LC: ['춘천'] });
    assert.equal(bioToJsonText(tokens, tags), '{"PS": ["손흥민"], "LC": ["춘천"]}');
  });

  test('surfaces keep inner spaces; labels in order of first appearance', () => {
    const tokens = chars('중국 정부와 톈진항, 미국 정부');
    const tags = ['B-OG', 'I-OG', 'I-OG', 'I-OG', 'I-OG', 'O', 'O', 'B-LC', 'I-LC', 'I-LC', 'O', 'O', 'B-OG', 'I-OG', 'I-OG', 'I-OG', 'I-OG'];
    assert.deepEqual(bioToEntries(tokens, tags), [['OG', ['중국 정부', '미국 정부']], ['LC', ['톈진항']]]);
  });

  test('an I- tag after O starts an entity, as in the metric\'s default mode', () => {
    const tokens = chars('가나다');
    assert.deepEqual({ ...bioToJson(tokens, ['O', 'I-PS', 'I-PS']) }, { PS: ['나다'] });
    assert.deepEqual({ ...bioToJson(tokens, ['B-PS', 'I-LC', 'O']) }, { PS: ['가'], LC: ['나'] });
  });

  test('no entity gives {}', () => {
    assert.equal(bioToJsonText(chars('가나'), ['O', 'O']), '{}');
    assert.deepEqual(Object.keys(bioToJson(chars('가나'), ['O', 'O'])), []);
  });

  test('a label named __proto__ is a plain key, and text is escaped as JSON', () => {
    const out = bioToJson(['"', 'x'], ['B-__proto__', 'I-__proto__']);
    assert.equal(Object.getPrototypeOf(out), null);
    assert.deepEqual(out['__proto__'], ['"x']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(bioToJsonText(['"', 'x'], ['B-__proto__', 'I-__proto__']), '{"__proto__": ["\\"x"]}');
  });

  test('tokens and tags of different lengths are an error', () => {
    assert.throws(() => bioToJson(['a'], ['O', 'O']), /1 tokens but 2 tags/);
  });

  test('on all 5,000 KLUE dev sentences it equals the entities written in the tagged sentence', () => {
    const sentences = readKlueNer('data/klue-ner/klue-ner-v1.1_dev.tsv');
    for (const s of sentences) assert.deepEqual(bioToEntries(s.tokens, s.tags), fromAnnotation(s.annotated), s.id);
  });

  test('property: one surface per default-mode entity, each equal to its tokens', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('가', ' ', 'a', '1'), fc.constantFrom('O', 'B-PS', 'I-PS', 'B-LC', 'I-LC')), { maxLength: 30 }),
        (pairs) => {
          const tokens = pairs.map((p) => p[0]);
          const tags = pairs.map((p) => p[1]);
          const entities = defaultEntities(tags);
          const entries = bioToEntries(tokens, tags);
          assert.equal(entries.reduce((n, [, surfaces]) => n + surfaces.length, 0), entities.length);
          for (const [label, surfaces] of entries) {
            const expected = entities.filter((x) => x.type === label).map((x) => tokens.slice(x.start, x.end).join(''));
            assert.deepEqual(surfaces, expected);
          }
          assert.deepEqual(JSON.parse(bioToJsonText(tokens, tags)), Object.fromEntries(entries));
        },
      ),
    );
  });
});
