import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { readKlueNer } from '../../lib/data/klue-ner.js';
import { KLUE_NER_TAGS, KLUE_NER_TYPES, klueCharMacroF1, klueEntityMacroF1, klueScores } from '../../lib/metrics/klue.js';
import { LengthMismatchError, f1Score } from '../../lib/metrics/seqeval.js';

const GOLDEN_DIR = 'tests/fixtures/golden/ner-seqeval';
const refs = JSON.parse(readFileSync(`${GOLDEN_DIR}/refs.json`, 'utf8')) as Record<string, { klue: { entity_macro_f1: number; char_macro_f1: number } }>;
const gold = readKlueNer(`${GOLDEN_DIR}/gold.tsv`).map((s) => s.tags);

describe('KLUE official figures', () => {
  test('the 13 tag values and 6 types', () => {
    assert.equal(KLUE_NER_TAGS.length, 13);
    assert.equal(KLUE_NER_TAGS[12], 'O');
    assert.deepEqual([...KLUE_NER_TYPES].sort(), ['DT', 'LC', 'OG', 'PS', 'QT', 'TI']);
  });

  for (const kind of ['drop', 'orphan', 'mixed']) {
    test(`${kind}: both figures match KLUE-baseline's to 1e-9`, () => {
      const pred = readFileSync(`${GOLDEN_DIR}/pred_${kind}.jsonl`, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { tags: string[] }).tags);
      const scores = klueScores(gold, pred);
      assert.ok(Math.abs(scores.entity_macro_f1 - refs[kind].klue.entity_macro_f1) <= 1e-9, `${scores.entity_macro_f1}`);
      assert.ok(Math.abs(scores.char_macro_f1 - refs[kind].klue.char_macro_f1) <= 1e-9, `${scores.char_macro_f1}`);
    });
  }

  test('gold against gold is 100 / 100', () => {
    assert.deepEqual(klueScores(gold, gold), { entity_macro_f1: 100, char_macro_f1: 100 });
  });

  test('entity figure concatenates sentences into one sequence (an entity may run across a border)', () => {
    const g = [['O', 'B-PS'], ['I-PS', 'O']];
    assert.equal(klueEntityMacroF1(g, g), 100);
    // Per-sentence strict scoring would see an orphan I-PS and a one-syllable PS instead.
    assert.equal(f1Score(g, [['O', 'B-PS'], ['O', 'O']], { mode: 'strict', scheme: 'IOB2', average: 'macro' }), 1);
    assert.equal(klueEntityMacroF1(g, [['O', 'B-PS'], ['O', 'O']]), 0);
  });

  test('character figure: tags absent from both sides count as F1 = 1 (zero_division 1)', () => {
    // Only O and B-PS occur; the 11 other tag values score 1 each.
    assert.equal(klueCharMacroF1([['O', 'B-PS']], [['O', 'B-PS']]), 100);
    const score = klueCharMacroF1([['O', 'B-PS']], [['O', 'O']]);
    // O: P = 1/2, R = 1, F = 2/3; B-PS: P = 1 (no prediction), R = 0, F = 0; others 1.
    assert.ok(Math.abs(score - ((2 / 3 + 0 + 11) / 13) * 100) <= 1e-9);
  });

  test('length mismatches are errors naming the sentence', () => {
    assert.throws(() => klueScores([['O', 'O']], [['O']], { sentenceIds: ['s0'] }), (e: unknown) => e instanceof LengthMismatchError && e.sentenceId === 's0');
  });

  test('no strict entity on either side: the entity figure is NaN, as in seqeval (mean of nothing)', () => {
    assert.ok(Number.isNaN(klueEntityMacroF1([['I-DT']], [['I-DT']])));
    assert.equal(klueCharMacroF1([['I-DT']], [['I-DT']]), 100);
  });

  test('property: both figures lie in [0, 100] (entity figure NaN only without any entity)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10 }).chain((n) => fc.tuple(fc.array(fc.constantFrom(...KLUE_NER_TAGS), { minLength: n, maxLength: n }), fc.array(fc.constantFrom(...KLUE_NER_TAGS), { minLength: n, maxLength: n }))), { minLength: 1, maxLength: 5 }),
        (pairs) => {
          const s = klueScores(pairs.map((p) => p[0]), pairs.map((p) => p[1]));
          assert.ok(s.char_macro_f1 >= 0 && s.char_macro_f1 <= 100);
          const anyEntity = pairs.some(([g, p]) => g.some((t) => t.startsWith('B-')) || p.some((t) => t.startsWith('B-')));
          if (anyEntity) assert.ok(s.entity_macro_f1 >= 0 && s.entity_macro_f1 <= 100);
          else assert.ok(Number.isNaN(s.entity_macro_f1));
        },
      ),
    );
  });
});
