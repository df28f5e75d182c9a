import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  checkSpans,
  compareSpanScores,
  diffSpans,
  formatSpanComparison,
  formatSpanEvaluation,
  scoreSpans,
  type Span,
  type SpanDocument,
} from '../../lib/metrics/spans.js';
import { InputError } from '../../lib/errors.js';

// A fixed seed keeps the suite deterministic; change it locally to explore other cases.
fc.configureGlobal({ seed: 6 });

// A KBMC-style sentence (morphemes joined by spaces, as the published TSV writes them).
const TEXT = '전신 적 다한증 은 신체 전체 에 땀 이 과도 하 게 나 는 질환 이 다 .';
const span = (label: string, surface: string, from = 0): Span => {
  const start = TEXT.indexOf(surface, from);
  return { label, start, end: start + surface.length, text: surface };
};
const GOLD = [span('Disease', '전신 적 다한증'), span('Body', '신체 전체'), span('Body', '땀')];

test('exact match: label, start and end must all agree', () => {
  const pred = [
    span('Disease', '전신 적 다한증'), // TP
    span('Disease', '다한증'), // wrong start: FP (and the gold one... is matched above)
    span('Treatment', '신체 전체'), // wrong label: FP, and gold Body 신체 전체 is FN
    span('Body', '땀'), // TP
  ];
  const { tp, fp, fn } = diffSpans(GOLD, pred);
  assert.deepEqual(tp.map((s) => s.text), ['전신 적 다한증', '땀']);
  assert.deepEqual(fp.map((s) => `${s.label}:${s.text}`), ['Disease:다한증', 'Treatment:신체 전체']);
  assert.deepEqual(fn.map((s) => `${s.label}:${s.text}`), ['Body:신체 전체']);
  const evaluation = scoreSpans([{ gold: GOLD, pred }]);
  assert.deepEqual(evaluation.labels, ['Body', 'Disease', 'Treatment']);
  assert.deepEqual(
    evaluation.perLabel.map((r) => [r.label, r.tp, r.fp, r.fn]),
    [
      ['Body', 1, 0, 1],
      ['Disease', 1, 1, 0],
      ['Treatment', 0, 1, 0],
    ],
  );
  assert.deepEqual([evaluation.micro.tp, evaluation.micro.fp, evaluation.micro.fn], [2, 2, 1]);
  assert.equal(evaluation.micro.precision, 0.5);
  assert.equal(evaluation.micro.recall, 2 / 3);
  assert.ok(Math.abs(evaluation.micro.f1 - 4 / 7) < 1e-15);
  assert.equal(evaluation.perLabel[2].recall, 0); // 0/0 with zero_division 0
  assert.equal(scoreSpans([{ gold: GOLD, pred }], { zeroDivision: 1 }).perLabel[2].recall, 1);
});

test('a span predicted twice matches once; the copy is a false positive', () => {
  const evaluation = scoreSpans([{ gold: [GOLD[2]], pred: [GOLD[2], GOLD[2]] }]);
  assert.deepEqual([evaluation.micro.tp, evaluation.micro.fp, evaluation.micro.fn], [1, 1, 0]);
});

test('study 000 reproduced: baseline 1 TP / 1 FP / 21 FN against fine-tuned 0 / 0 / 22, with Delta', () => {
  const labels = ['Disease', 'Body', 'Treatment'];
  const gold: Span[] = Array.from({ length: 22 }, (_, i) => ({ label: labels[i % 3], start: i * 10, end: i * 10 + 4 }));
  const documents = (pred: Span[]): SpanDocument[] => [{ gold: gold.slice(0, 11), pred }, { gold: gold.slice(11), pred: [] }];
  const base = scoreSpans(documents([gold[0], { label: 'Body', start: 3, end: 5 }]));
  const tuned = scoreSpans(documents([]));
  const comparison = compareSpanScores(base, tuned);
  assert.equal(
    formatSpanComparison(comparison.micro),
    [
      '| 지표 | 베이스라인 | 파인튜닝 후 | Delta |',
      '|------|-----------|------------|-------|',
      '| Precision | 0.5000 | 0.0000 | -0.5000 |',
      '| Recall | 0.0455 | 0.0000 | -0.0455 |',
      '| **F1** | **0.0833** | **0.0000** | **-0.0833** |',
      '| TP | 1 | 0 | -1 |',
      '| FP | 1 | 0 | -1 |',
      '| FN | 21 | 22 | +1 |',
    ].join('\n'),
  );
  assert.deepEqual(comparison.perLabel.map((row) => row.label), ['Body', 'Disease', 'Treatment']);
  assert.match(formatSpanEvaluation(base), /\| \*\*micro\*\* \| 0\.5000 \| 0\.0455 \| 0\.0833 \| 1 \| 1 \| 21 \| 22 \|/);
  assert.throws(() => compareSpanScores(base, scoreSpans([{ gold: [], pred: [] }])), /different gold data/);
});

test('span checks catch bad offsets, bad labels and text that does not match the offsets', () => {
  const where = { file: 'spans.jsonl', line: 3, field: 'pred' };
  assert.deepEqual(checkSpans([{ label: 'Body', start: 0, end: 2, text: '전신' }], where, TEXT), [{ label: 'Body', start: 0, end: 2, text: '전신' }]);
  const bad: Array<[unknown, RegExp]> = [
    ['x', /expected an array/],
    [[{ label: '', start: 0, end: 1 }], /label/],
    [[{ label: 'Body', start: 1.5, end: 2 }], /integers/],
    [[{ label: 'Body', start: 2, end: 2 }], /start < end/],
    [[{ label: 'Body', start: 0, end: 999 }], /past the text/],
    [[{ label: 'Body', start: 0, end: 2, text: '신체' }], /"text" is "신체" but the text at 0\.\.2 is "전신"/],
  ];
  for (const [spans, message] of bad) {
    assert.throws(
      () => checkSpans(spans, where, TEXT),
      (error: unknown) => error instanceof InputError && message.test(error.message) && error.line === 3 && /spans\.jsonl:3/.test(error.message),
    );
  }
});

const spanArb = fc.record({ label: fc.constantFrom('Disease', 'Body', 'Treatment'), start: fc.integer({ min: 0, max: 20 }), length: fc.integer({ min: 1, max: 4 }) }).map(
  ({ label, start, length }): Span => ({ label, start, end: start + length }),
);
const docArb = fc.record({ gold: fc.array(spanArb, { maxLength: 6 }), pred: fc.array(spanArb, { maxLength: 6 }) });

test('invariants: gold vs gold is perfect; counts add up; document order does not matter', () => {
  fc.assert(
    fc.property(fc.array(docArb, { minLength: 1, maxLength: 6 }), (documents) => {
      const evaluation = scoreSpans(documents);
      const goldCount = documents.reduce((n, d) => n + d.gold.length, 0);
      const predCount = documents.reduce((n, d) => n + d.pred.length, 0);
      assert.equal(evaluation.micro.tp + evaluation.micro.fn, goldCount);
      assert.equal(evaluation.micro.tp + evaluation.micro.fp, predCount);
      assert.equal(evaluation.perLabel.reduce((n, r) => n + r.tp, 0), evaluation.micro.tp);
      const reversed = scoreSpans([...documents].reverse());
      assert.deepEqual(reversed.micro, evaluation.micro);
      const perfect = scoreSpans(documents.map((d) => ({ gold: d.gold, pred: [...d.gold].reverse() })));
      assert.equal(perfect.micro.fp + perfect.micro.fn, 0);
      if (goldCount > 0) assert.equal(perfect.micro.f1, 1);
    }),
  );
});
