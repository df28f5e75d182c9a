import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { readKlueNer } from '../../lib/data/klue-ner.js';
import {
  LengthMismatchError,
  classificationReport,
  compareCodePoints,
  f1Score,
  formatClassificationReport,
  precisionScore,
  recallScore,
  type SeqevalDict,
} from '../../lib/metrics/seqeval.js';
import { codePointLength, formatFixed, formatReportText, padStartPython } from '../../lib/metrics/report-text.js';
import { TagSchemeError } from '../../lib/ner/scheme.js';

export const GOLDEN_DIR = 'tests/fixtures/golden/ner-seqeval';
const SHARED_GOLDEN_DIR = '../shared/golden/ner-seqeval';
const KINDS = ['drop', 'orphan', 'mixed'] as const;

interface GoldenKind {
  default: SeqevalDict;
  strict: SeqevalDict;
  klue: { entity_macro_f1: number; char_macro_f1: number };
  text_default_digits4: string;
}

function loadGolden() {
  if (!existsSync(`${GOLDEN_DIR}/refs.json`)) {
    throw new Error(`golden fixtures missing: ${GOLDEN_DIR}/refs.json (copy them from ${SHARED_GOLDEN_DIR})`);
  }
  const refs = JSON.parse(readFileSync(`${GOLDEN_DIR}/refs.json`, 'utf8')) as Record<string, GoldenKind>;
  const goldSentences = readKlueNer(`${GOLDEN_DIR}/gold.tsv`);
  const preds = Object.fromEntries(
    KINDS.map((kind) => [
      kind,
      readFileSync(`${GOLDEN_DIR}/pred_${kind}.jsonl`, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { tags: string[] }).tags),
    ]),
  ) as Record<(typeof KINDS)[number], string[][]>;
  return { refs, goldSentences, gold: goldSentences.map((s) => s.tags), preds };
}

const golden = loadGolden();

function assertDictClose(actual: SeqevalDict, expected: SeqevalDict, what: string): void {
  assert.deepEqual(Object.keys(actual), Object.keys(expected), `${what}: keys and their order`);
  for (const [key, row] of Object.entries(expected)) {
    for (const metric of ['precision', 'recall', 'f1-score', 'support'] as const) {
      const got = actual[key][metric];
      assert.ok(Math.abs(got - row[metric]) <= 1e-9, `${what} ${key} ${metric}: ${got} vs ${row[metric]}`);
    }
  }
}

describe('golden references (Python seqeval 1.2.2)', () => {
  test('the fixture copy equals ../shared/golden when that directory exists', (t) => {
    if (!existsSync(SHARED_GOLDEN_DIR)) {
      t.skip(`${SHARED_GOLDEN_DIR} is not present (fresh clone); the tests use the copy in ${GOLDEN_DIR}`);
      return;
    }
    for (const name of ['refs.json', 'gold.tsv', ...KINDS.map((k) => `pred_${k}.jsonl`)]) {
      assert.equal(readFileSync(`${GOLDEN_DIR}/${name}`, 'utf8'), readFileSync(`${SHARED_GOLDEN_DIR}/${name}`, 'utf8'), name);
    }
  });

  for (const kind of KINDS) {
    const ref = golden.refs[kind];
    const pred = golden.preds[kind];
    test(`${kind}: default-mode output_dict to 1e-9`, () => {
      assertDictClose(classificationReport(golden.gold, pred, { zeroDivision: 0 }).dict, ref.default, `${kind} default`);
    });
    test(`${kind}: strict IOB2 output_dict to 1e-9`, () => {
      const report = classificationReport(golden.gold, pred, { mode: 'strict', scheme: 'IOB2', zeroDivision: 0 });
      assert.equal(report.scheme, 'IOB2');
      assertDictClose(report.dict, ref.strict, `${kind} strict`);
    });
    test(`${kind}: strict mode without a scheme detects IOB2 from gold (seqeval's report)`, () => {
      const report = classificationReport(golden.gold, pred, { mode: 'strict', zeroDivision: 0 });
      assert.equal(report.scheme, 'IOB2');
      assertDictClose(report.dict, ref.strict, `${kind} strict/auto`);
    });
    test(`${kind}: text report (digits 4) byte for byte`, () => {
      const text = formatClassificationReport(classificationReport(golden.gold, pred, { zeroDivision: 0 }), 4);
      assert.equal(text, ref.text_default_digits4);
    });
    test(`${kind}: f1/precision/recall scores equal the report's micro row`, () => {
      const micro = ref.default['micro avg'];
      assert.ok(Math.abs(f1Score(golden.gold, pred) - micro['f1-score']) <= 1e-9);
      assert.ok(Math.abs(precisionScore(golden.gold, pred) - micro.precision) <= 1e-9);
      assert.ok(Math.abs(recallScore(golden.gold, pred) - micro.recall) <= 1e-9);
      const strictMacro = f1Score(golden.gold, pred, { average: 'macro', mode: 'strict', scheme: 'IOB2' });
      assert.ok(Math.abs(strictMacro - ref.strict['macro avg']['f1-score']) <= 1e-9);
      const weighted = f1Score(golden.gold, pred, { average: 'weighted' });
      assert.ok(Math.abs(weighted - ref.default['weighted avg']['f1-score']) <= 1e-9);
    });
  }

  test("seqeval's quirk: the score functions ignore mode 'strict' without a scheme", () => {
    const pred = golden.preds.orphan;
    const lenient = f1Score(golden.gold, pred, { average: 'macro' });
    const strictNoScheme = f1Score(golden.gold, pred, { average: 'macro', mode: 'strict' });
    const strict = f1Score(golden.gold, pred, { average: 'macro', mode: 'strict', scheme: 'IOB2' });
    assert.equal(strictNoScheme, lenient);
    assert.ok(Math.abs(lenient - golden.refs.orphan.default['macro avg']['f1-score']) <= 1e-9);
    assert.ok(Math.abs(strict - golden.refs.orphan.strict['macro avg']['f1-score']) <= 1e-9);
    assert.notEqual(strict, lenient);
  });
});

describe('seqeval documented examples', () => {
  const yTrue = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const yPred = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];

  test('classification_report docstring text', () => {
    const expected = [
      '              precision    recall  f1-score   support',
      '',
      '        MISC       0.00      0.00      0.00         1',
      '         PER       1.00      1.00      1.00         1',
      '',
      '   micro avg       0.50      0.50      0.50         2',
      '   macro avg       0.50      0.50      0.50         2',
      'weighted avg       0.50      0.50      0.50         2',
      '',
    ].join('\n');
    assert.equal(formatClassificationReport(classificationReport(yTrue, yPred)), expected);
  });

  test('f1_score docstring: micro, macro, weighted', () => {
    const t = [['O', 'O', 'B-MISC', 'I-MISC', 'B-MISC', 'O', 'O'], ['B-PER', 'I-PER', 'O']];
    const p = [['O', 'O', 'B-MISC', 'I-MISC', 'B-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
    assert.equal(f1Score(t, p), 0.6666666666666666);
    assert.equal(f1Score(t, p, { average: 'macro' }), 0.75);
    assert.equal(f1Score(t, p, { average: 'weighted' }), 0.6666666666666666);
  });

  test('labels are the union of gold and predicted types, sorted', () => {
    const report = classificationReport([['B-PS', 'O']], [['B-PS', 'B-ZZ']], { zeroDivision: 0 });
    assert.deepEqual(report.labels, ['PS', 'ZZ']);
    assert.deepEqual(report.dict.ZZ, { precision: 0, recall: 0, 'f1-score': 0, support: 0 });
    assert.deepEqual(Object.keys(report.dict), ['PS', 'ZZ', 'micro avg', 'macro avg', 'weighted avg']);
  });

  test('zero_division 1 and warn', () => {
    const withOne = classificationReport([['B-PS', 'O']], [['B-PS', 'B-ZZ']], { zeroDivision: 1 });
    assert.deepEqual(withOne.dict.ZZ, { precision: 0, recall: 1, 'f1-score': 0, support: 0 });
    const warned = classificationReport([['B-PS', 'O']], [['O', 'O']]);
    assert.equal(warned.dict.PS.precision, 0);
    assert.ok(
      warned.warnings.includes(
        'Precision and F-score are ill-defined and being set to 0.0 due to no predicted samples. Use `zero_division` parameter to control this behavior.',
      ),
      warned.warnings.join('\n'),
    );
    assert.equal(classificationReport([['B-PS', 'O']], [['O', 'O']], { zeroDivision: 0 }).warnings.length, 0);
  });

  test('default mode warns about tags that do not look like NE tags', () => {
    const report = classificationReport([['B-PS', 'X']], [['B-PS', 'O']], { zeroDivision: 0 });
    assert.ok(report.warnings.includes('X seems not to be NE tag.'));
  });

  test('a label named __proto__ is an ordinary key', () => {
    const report = classificationReport([['B-__proto__', 'O']], [['B-__proto__', 'O']], { zeroDivision: 0 });
    assert.equal(report.dict['__proto__'].precision, 1);
    assert.equal(Object.getPrototypeOf(report.dict), null);
    assert.match(JSON.stringify(report.dict), /"__proto__":\{"precision":1/);
  });

  test('no entities at all: macro is NaN like NumPy, text report still renders', () => {
    const report = classificationReport([['O']], [['O']], { zeroDivision: 0 });
    assert.deepEqual(report.labels, []);
    assert.ok(Number.isNaN(report.macro.precision));
    assert.equal(report.micro['f1-score'], 0);
    assert.match(formatClassificationReport(report), / {3}macro avg {8}nan {7}nan {7}nan {9}0\n/);
  });

  test('strict mode rejects prefixes its scheme does not allow, naming the side', () => {
    assert.throws(
      () => classificationReport([['B-PS', 'I-PS']], [['B-PS', 'E-PS']], { mode: 'strict', scheme: 'IOB2' }),
      (error: unknown) => error instanceof TagSchemeError && /predicted tag "E-PS" in sentence 0 at position 1 is not allowed in IOB2/.test(error.message),
    );
    assert.throws(() => classificationReport([['O', 'I-PS']], [['O', 'O']], { mode: 'strict' }), /cannot detect the tagging scheme/);
  });
});

describe('length mismatches', () => {
  test('a sentence length mismatch names index, id and both lengths', () => {
    assert.throws(
      () => classificationReport([['O'], ['O', 'B-PS']], [['O'], ['O']], { sentenceIds: ['a', 'b'] }),
      (error: unknown) =>
        error instanceof LengthMismatchError &&
        error.sentenceIndex === 1 && error.sentenceId === 'b' && error.goldLength === 2 && error.predLength === 1 &&
        /sentence 1 \(id b\) has 2 gold tags but 1 predicted tags/.test(error.message),
    );
  });
  test('a sentence count mismatch names the counts and the first unmatched sentence', () => {
    assert.throws(
      () => f1Score([['O'], ['O']], [['O']], { sentenceIds: ['a', 'b'] }),
      /gold has 2 sentences but the prediction has 1; first unmatched sentence index 1 \(id b\)/,
    );
  });
});

describe('report text formatting (Python rules)', () => {
  test('half-way cases round to even like Python, others like toFixed', () => {
    assert.equal(formatFixed(0.125, 2), '0.12');
    assert.equal(formatFixed(0.375, 2), '0.38');
    assert.equal(formatFixed(2.5, 0), '2');
    assert.equal(formatFixed(3.5, 0), '4');
    assert.equal(formatFixed(0.3, 2), '0.30');
    assert.equal(formatFixed(2 / 3, 4), '0.6667');
    assert.equal(formatFixed(0.0625, 3), '0.062');
    assert.equal(formatFixed(NaN, 2), 'nan');
    assert.equal(formatFixed(-0, 2), '-0.00');
  });
  test('widths count code points (Korean and astral labels)', () => {
    assert.equal(codePointLength('𝒳가'), 2);
    assert.equal(padStartPython('𝒳', 3), '  𝒳');
    const text = formatReportText([{ name: '긍정적인감정을나타내는레이블', precision: 1, recall: 1, f1: 1, support: 3 }], [], 2);
    assert.equal(text.split('\n')[0], ' '.repeat(14) + ' ' + ' precision    recall  f1-score   support');
  });
  test('labels sort by code point like Python', () => {
    assert.deepEqual(['\uFFFF', '𝒳', 'B', 'A'].sort(compareCodePoints), ['A', 'B', '\uFFFF', '𝒳']);
  });
  test('property: formatFixed agrees with toFixed except on exact ties', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 6 }), (x, digits) => {
        const exact = x.toFixed(100).slice(x.toFixed(100).indexOf('.') + 1 + digits);
        if (/^50*$/.test(exact)) return;
        assert.equal(formatFixed(x, digits), x.toFixed(digits));
      }),
    );
  });
});

// --- property-based invariants --------------------------------------------------------------------

const TYPES = ['PS', 'LC', 'OG'];

/** Valid IOB2 sentences with entities separated by at least one O (no adjacent same-type entities). */
const iob2Sentence = fc
  .array(fc.oneof(fc.constant<null>(null), fc.record({ type: fc.constantFrom(...TYPES), length: fc.integer({ min: 1, max: 4 }) })), { maxLength: 8 })
  .map((parts) => {
    const tags: string[] = [];
    for (const part of parts) {
      if (part === null) tags.push('O');
      else {
        tags.push(`B-${part.type}`);
        for (let i = 1; i < part.length; i++) tags.push(`I-${part.type}`);
        tags.push('O');
      }
    }
    return tags;
  });

const anyTag = fc.constantFrom('O', 'B-PS', 'I-PS', 'B-LC', 'I-LC', 'I-OG', 'B-OG');

describe('properties', () => {
  test('F1 of gold against itself is 1 (default and strict) when gold has an entity', () => {
    fc.assert(
      fc.property(fc.array(iob2Sentence, { minLength: 1, maxLength: 6 }), (gold) => {
        fc.pre(gold.some((tags) => tags.some((t) => t !== 'O')));
        for (const average of ['micro', 'macro', 'weighted'] as const) {
          assert.equal(f1Score(gold, gold, { average }), 1);
          assert.equal(f1Score(gold, gold, { average, mode: 'strict', scheme: 'IOB2' }), 1);
        }
      }),
    );
  });

  test('the order of sentences does not change micro scores', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 8 }).chain((n) => fc.tuple(fc.array(anyTag, { minLength: n, maxLength: n }), fc.array(anyTag, { minLength: n, maxLength: n }))), { maxLength: 8 }),
        fc.infiniteStream(fc.nat()),
        (pairs, randoms) => {
          const order = pairs.map((_, i) => i);
          const it = randoms[Symbol.iterator]();
          for (let i = order.length - 1; i > 0; i--) {
            const j = it.next().value % (i + 1);
            [order[i], order[j]] = [order[j], order[i]];
          }
          const gold = pairs.map((p) => p[0]);
          const pred = pairs.map((p) => p[1]);
          const g2 = order.map((i) => gold[i]);
          const p2 = order.map((i) => pred[i]);
          const a = classificationReport(gold, pred, { zeroDivision: 0 });
          const b = classificationReport(g2, p2, { zeroDivision: 0 });
          assert.deepEqual(b.micro, a.micro);
          assert.deepEqual(b.counts, a.counts);
          assert.equal(f1Score(g2, p2, { mode: 'strict', scheme: 'IOB2' }), f1Score(gold, pred, { mode: 'strict', scheme: 'IOB2' }));
        },
      ),
    );
  });

  test('strict <= lenient on orphan I- tags (B- turned into I-)', () => {
    fc.assert(
      fc.property(fc.array(iob2Sentence, { minLength: 1, maxLength: 6 }), fc.infiniteStream(fc.boolean()), (gold, flips) => {
        const it = flips[Symbol.iterator]();
        let entities = 0;
        let kept = 0;
        const pred = gold.map((tags) =>
          tags.map((tag) => {
            if (!tag.startsWith('B-')) return tag;
            entities++;
            if (it.next().value) return 'I-' + tag.slice(2);
            kept++;
            return tag;
          }),
        );
        fc.pre(entities > 0);
        const lenient = classificationReport(gold, pred, { zeroDivision: 0 });
        const strict = classificationReport(gold, pred, { mode: 'strict', scheme: 'IOB2', zeroDivision: 0 });
        // The lenient mode still finds every orphan entity; the strict one drops them.
        assert.equal(lenient.micro['f1-score'], 1);
        assert.ok(strict.micro['f1-score'] <= lenient.micro['f1-score']);
        assert.ok(strict.micro.recall <= lenient.micro.recall);
        assert.equal(strict.micro.recall, kept / entities);
      }),
    );
  });

  test('strict recall never exceeds lenient recall for B/I/O predictions', () => {
    fc.assert(
      fc.property(
        fc.array(iob2Sentence, { minLength: 1, maxLength: 5 }).chain((gold) =>
          fc.tuple(fc.constant(gold), fc.tuple(...gold.map((tags) => fc.array(anyTag, { minLength: tags.length, maxLength: tags.length })))),
        ),
        ([gold, pred]) => {
          fc.pre(gold.some((tags) => tags.some((t) => t !== 'O')));
          const lenient = recallScore(gold, pred as string[][], { zeroDivision: 0 });
          const strict = recallScore(gold, pred as string[][], { mode: 'strict', scheme: 'IOB2', zeroDivision: 0 });
          assert.ok(strict <= lenient);
        },
      ),
    );
  });

  test('scores stay within [0, 1] and micro F1 is the harmonic mean of micro P and R', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 8 }).chain((n) => fc.tuple(fc.array(anyTag, { minLength: n, maxLength: n }), fc.array(anyTag, { minLength: n, maxLength: n }))), { minLength: 1, maxLength: 6 }),
        (pairs) => {
          const report = classificationReport(pairs.map((p) => p[0]), pairs.map((p) => p[1]), { zeroDivision: 0 });
          for (const row of Object.values(report.dict)) {
            for (const v of [row.precision, row.recall, row['f1-score']]) assert.ok(Number.isNaN(v) || (v >= 0 && v <= 1));
          }
          const { precision: p, recall: r } = report.micro;
          const f = p + r === 0 ? 0 : (2 * p * r) / (p + r);
          assert.ok(Math.abs(report.micro['f1-score'] - f) <= 1e-12);
        },
      ),
    );
  });
});
