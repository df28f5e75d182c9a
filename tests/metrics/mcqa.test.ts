import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  compareMcqa,
  extractChoice,
  formatMcqaComparison,
  formatMcqaScore,
  formatRelativeGain,
  percentile,
  scoreMcqa,
  unextractableItems,
  type McqaRecord,
} from '../../lib/metrics/mcqa.js';
import { InputError } from '../../lib/errors.js';

// A fixed seed keeps the suite deterministic; change it locally to explore other cases.
fc.configureGlobal({ seed: 6 });

// Study 002's sample question.
const OPTIONS = { A: '항핵항체(ANA)', B: '류마티스인자(RF)', C: '비타민B12(cobalamin)', D: '갑상샘자극호르몬(TSH)', E: '알칼리인산분해효소(ALP)' };

test('extraction: the formats models answer in', () => {
  const cases: Array<[string, string | null, string]> = [
    ['C', 'C', 'letter'],
    [' c.\n', 'C', 'letter'],
    ['Ｃ', 'C', 'letter'],
    ['**C**', 'C', 'letter'],
    ['정답: C', 'C', 'labelled'],
    ['정답은 (C)입니다.', 'C', 'labelled'],
    ['답: E', 'E', 'labelled'],
    ['Answer: B', 'B', 'labelled'],
    ['이 환자는 MCV가 증가했으므로 거대적아구빈혈을 의심해야 합니다. 정답: C', 'C', 'labelled'],
    ['C. 비타민B12', 'C', 'letter-with-text'],
    ['C) 비타민B12(cobalamin)', 'C', 'letter-with-text'],
    ['C입니다', 'C', 'letter-with-text'],
    ['C 비타민B12(cobalamin)', 'C', 'letter-with-text'],
    ['(C)', 'C', 'parenthesized'],
    ['(C) 비타민B12', 'C', 'parenthesized'],
    ['거대적아구빈혈이 의심되므로 (C)를 검사한다', 'C', 'parenthesized'],
    ['비타민B12(cobalamin)', 'C', 'option-text'],
    ['비타민B12(cobalamin)입니다.', 'C', 'option-text'],
    ['추가 검사는 비타민B12(cobalamin) 측정이 필요하다', 'C', 'option-text'],
  ];
  for (const [answer, choice, method] of cases) {
    const got = extractChoice(answer, { options: OPTIONS });
    assert.equal(got.choice, choice, answer);
    assert.equal(got.method, method, answer);
  }
});

test('extraction: unextractable answers say why, and nothing is guessed', () => {
  const cases: Array<[string, string]> = [
    ['', 'empty'],
    ['   ', 'empty'],
    ['잘 모르겠습니다', 'no-choice'],
    ['A patient with anemia', 'no-choice'],
    ['B형 간염을 먼저 배제해야 한다', 'no-choice'],
    ['정답: C\n정답: D', 'ambiguous'],
    ['(B) 또는 (C)', 'ambiguous'],
    ['C. 항핵항체(ANA)', 'ambiguous'], // the letter says C, the text says A
    ['항핵항체(ANA)와 류마티스인자(RF)를 모두 본다', 'ambiguous'],
    ['비타민B12', 'no-choice'], // not the full option text
  ];
  for (const [answer, failure] of cases) {
    const got = extractChoice(answer, { options: OPTIONS });
    assert.equal(got.choice, null, answer);
    assert.equal(got.failure, failure, answer);
    assert.ok(got.detail.length > 0);
  }
  assert.equal(extractChoice('비타민B12(cobalamin)').choice, null, 'option text needs the options');
});

const hangul = fc.string({ unit: fc.integer({ min: 0xac00, max: 0xd7a3 }).map((code) => String.fromCharCode(code)), minLength: 2, maxLength: 12 });

test('extraction (property): every answer format of a letter gives that letter; an option text gives its letter', () => {
  fc.assert(
    fc.property(fc.uniqueArray(hangul, { minLength: 5, maxLength: 5, selector: (s) => s }), fc.integer({ min: 0, max: 4 }), (texts, index) => {
      // Option texts that contain one another make a contained-text answer ambiguous; keep them apart.
      fc.pre(texts.every((a, i) => texts.every((b, j) => i === j || !b.includes(a))));
      const letter = 'ABCDE'[index];
      const options = Object.fromEntries(texts.map((text, i) => ['ABCDE'[i], text]));
      for (const answer of [letter, `정답: ${letter}`, `(${letter})`, `${letter}. ${texts[index]}`, `정답은 ${letter}입니다`, texts[index], `${texts[index]}입니다.`]) {
        assert.equal(extractChoice(answer, { options }).choice, letter, answer);
      }
    }),
  );
});

function records(subset: string, total: number, correct: number, unextractable = 0): McqaRecord[] {
  return Array.from({ length: total }, (_, i) => ({
    id: `${subset}-${i}`,
    subset,
    gold: 'C',
    answer: i < correct ? '정답: C' : i < correct + unextractable ? '모르겠다' : 'A',
  }));
}

test('accuracy per subset and overall: micro, size-weighted (= micro by default) and macro', () => {
  const score = scoreMcqa([...records('doctor', 10, 3, 2), ...records('nurse', 30, 15)]);
  assert.deepEqual(
    score.subsets.map((s) => [s.subset, s.total, s.correct, s.unextractable, s.accuracy]),
    [
      ['doctor', 10, 3, 2, 0.3],
      ['nurse', 30, 15, 0, 0.5],
    ],
  );
  assert.equal(score.overall.micro, 18 / 40);
  assert.ok(Math.abs(score.overall.sizeWeighted - score.overall.micro) < 1e-15);
  assert.equal(score.overall.macro, 0.4);
  assert.equal(score.overall.unextractable, 2);
  assert.equal(unextractableItems(score).length, 2);
  assert.equal(score.methods.labelled, 18);
  // Weighting by the full test-set sizes instead of the evaluated sample.
  const weighted = scoreMcqa([...records('doctor', 10, 3), ...records('nurse', 30, 15)], { subsetSizes: { doctor: 435, nurse: 878 } });
  assert.ok(Math.abs(weighted.overall.sizeWeighted - (0.3 * 435 + 0.5 * 878) / 1313) < 1e-15);
  assert.match(formatMcqaScore(score), /\| doctor \| 10 \| 3 \| 2 \| 30\.00% \|/);
  assert.throws(() => scoreMcqa([{ gold: 'F', answer: 'A' }]), (error: unknown) => error instanceof InputError && error.field === 'gold');
});

test('base vs fine-tuned: difference in points, relative gain with ▴ / ▾, paired bootstrap CI', () => {
  // Doctor (435): 144 → 167 correct (33.10% → 38.39%, as in study 002); nurse (878): 440 → 420.
  const base = scoreMcqa([...records('doctor', 435, 144), ...records('nurse', 878, 440)]);
  const tuned = scoreMcqa([...records('doctor', 435, 167), ...records('nurse', 878, 420)]);
  const comparison = compareMcqa(base, tuned, { resamples: 2000, seed: 7 });
  const doctor = comparison.subsets[0];
  assert.equal(doctor.base.toFixed(4), '0.3310');
  assert.equal(doctor.tuned.toFixed(4), '0.3839');
  assert.ok(Math.abs(doctor.differencePoints - (23 / 435) * 100) < 1e-12);
  assert.ok(Math.abs(doctor.relativeGainPercent! - (23 / 144) * 100) < 1e-12);
  assert.equal(formatRelativeGain(doctor), '▴ 15.97%');
  assert.equal(formatRelativeGain(comparison.subsets[1]), '▾ 4.55%');
  // Here every changed question moved one way (first answers right in both), so the bootstrap CI of
  // doctor is strictly positive and contains the point estimate.
  assert.ok(doctor.ci.low > 0 && doctor.ci.low <= doctor.differencePoints && doctor.differencePoints <= doctor.ci.high);
  assert.equal(comparison.micro.total, 1313);
  assert.ok(comparison.micro.ci.low <= comparison.micro.differencePoints && comparison.micro.differencePoints <= comparison.micro.ci.high);
  // Seeded: the same seed gives the same interval, another seed another one.
  assert.deepEqual(compareMcqa(base, tuned, { resamples: 2000, seed: 7 }).micro.ci, comparison.micro.ci);
  assert.notDeepEqual(compareMcqa(base, tuned, { resamples: 2000, seed: 8 }).micro.ci, comparison.micro.ci);
  const table = formatMcqaComparison(comparison);
  assert.match(table, /\| doctor \(435\) \| 33\.10% \| \*\*38\.39%\*\* \| \+5\.29 \| ▴ 15\.97% \| \[\+\d+\.\d\d, \+\d+\.\d\d\] \|/);
  assert.match(table, /대응\(paired\) 부트스트랩 2,000회/);
});

test('bootstrap edge cases: identical models give [0, 0]; always-better gives a point interval', () => {
  const same = scoreMcqa(records('pharm', 50, 20));
  const none = compareMcqa(same, same, { resamples: 200 });
  assert.deepEqual([none.micro.ci.low, none.micro.ci.high, none.micro.direction], [0, 0, '=']);
  const zero = scoreMcqa(records('pharm', 50, 0));
  const all = scoreMcqa(records('pharm', 50, 50));
  const jump = compareMcqa(zero, all, { resamples: 200 });
  assert.deepEqual([jump.micro.ci.low, jump.micro.ci.high, jump.micro.differencePoints], [100, 100, 100]);
  assert.equal(jump.micro.relativeGainPercent, null);
  assert.equal(formatRelativeGain(jump.micro), '—');
});

test('pairing: different questions or different gold between the two runs are errors', () => {
  const base = scoreMcqa(records('doctor', 5, 2));
  assert.throws(() => compareMcqa(base, scoreMcqa(records('doctor', 4, 2))), /5 answers but fine-tuned has 4/);
  const renamed = records('doctor', 5, 2).map((r, i) => (i === 4 ? { ...r, id: 'other' } : r));
  assert.throws(() => compareMcqa(base, scoreMcqa(renamed)), /"doctor-4" of subset "doctor" has a base answer but no fine-tuned one/);
  const regolded = records('doctor', 5, 2).map((r, i) => (i === 0 ? { ...r, gold: 'D' } : r));
  assert.throws(() => compareMcqa(base, scoreMcqa(regolded)), /gold is C in base but D/);
});

test('percentile interpolates linearly between order statistics, like numpy', () => {
  assert.equal(percentile([4, 1, 3, 2], 0.025), 1.075);
  assert.equal(percentile([4, 1, 3, 2], 0.975), 3.925);
  assert.equal(percentile([5], 0.5), 5);
});
