/** lib/data/train-validation.ts: a validation file, or the seeded stratified split of the training file. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readTrainingConfig } from '../../lib/data/config-ini.js';
import { labelCounts, type LabeledTexts } from '../../lib/data/text-classification.js';
import { loadTrainValidation, splitTrainValidation, stratifiedQuotas } from '../../lib/data/train-validation.js';
import { UsageError } from '../../lib/errors.js';
import { tableWriter } from './table-files.js';

const write = tableWriter();

describe('splitTrainValidation', () => {
  const toy = (sizes: number[]): LabeledTexts => {
    const labels = sizes.flatMap((size, id) => Array.from({ length: size }, () => id));
    return { texts: labels.map((_, i) => `t${i}`), labels, labelNames: sizes.map((_, id) => `c${id}`) };
  };

  test('property: quotas sum to round(n × ratio) and give each class floor or ceil of its share', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 6 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (sizes, ratio) => {
        const n = sizes.reduce((a, b) => a + b, 0);
        fc.pre(n >= 2);
        const quotas = stratifiedQuotas(sizes, ratio);
        assert.equal(quotas.reduce((a, b) => a + b, 0), Math.min(n - 1, Math.max(1, Math.round(n * ratio))));
        quotas.forEach((q, c) => {
          assert.ok(q >= Math.floor(sizes[c] * ratio) && q <= Math.ceil(sizes[c] * ratio), `class ${c}: ${q} of ${sizes[c]}`);
        });
      }),
      { numRuns: 500 },
    );
  });

  test('property: the split partitions the data, is stratified by the quotas, keeps order, and depends only on the seed', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }), fc.double({ min: 0.05, max: 0.95, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (sizes, ratio, seed) => {
        const data = toy(sizes);
        fc.pre(data.texts.length >= 2);
        const a = splitTrainValidation(data, { ratio, seed });
        const b = splitTrainValidation(data, { ratio, seed });
        assert.deepEqual(a, b);
        const all = [...a.trainIndices, ...a.validationIndices].sort((x, y) => x - y);
        assert.deepEqual(all, data.texts.map((_, i) => i));
        assert.deepEqual(a.validationIndices, [...a.validationIndices].sort((x, y) => x - y));
        const quotas = stratifiedQuotas(sizes, ratio);
        const perClass = sizes.map((_, c) => a.validation.labels.filter((l) => l === c).length);
        assert.deepEqual(perClass, quotas);
        assert.deepEqual(a.validation.texts, a.validationIndices.map((i) => data.texts[i]));
      }),
      { numRuns: 200 },
    );
  });

  test('different seeds choose different validation rows; bad ratios and tiny sets are refused', () => {
    const data = toy([50, 50]);
    const one = splitTrainValidation(data, { ratio: 0.2, seed: 1 });
    const two = splitTrainValidation(data, { ratio: 0.2, seed: 2 });
    assert.notDeepEqual(one.validationIndices, two.validationIndices);
    assert.throws(() => splitTrainValidation(data, { ratio: 1, seed: 1 }), UsageError);
    assert.throws(() => splitTrainValidation(data, { ratio: 0, seed: 1 }), /between 0 and 1/);
    assert.throws(() => splitTrainValidation(toy([1]), { ratio: 0.5, seed: 1 }), /at least 2 examples/);
  });

  test('the shipped config.ini splits the NSMC training sample 90/10 per class with seed 42', async () => {
    const config = readTrainingConfig('data/nsmc/config.ini');
    const data = await loadTrainValidation(config.trainFile, { validFile: config.validFile, splitRatio: config.splitRatio, seed: config.seed, numLabels: config.numLabels });
    assert.equal(data.validation.texts.length, Math.round(14_274 * 0.1));
    assert.equal(data.train.texts.length + data.validation.texts.length, 14_274);
    assert.deepEqual(data.labelNames, ['0', '1']);
    // 7,192 negative and 7,082 positive reviews: 10% of each class, rounded either way.
    const counts = labelCounts(data.validation).map((c) => c.count);
    assert.ok(counts[0] === 719 || counts[0] === 720, `negative: ${counts[0]}`);
    assert.ok(counts[1] === 708 || counts[1] === 709, `positive: ${counts[1]}`);
    assert.equal(data.split?.seed, 42);
    await assert.rejects(loadTrainValidation(config.trainFile, { splitRatio: 0.2, numLabels: 3 }), /has 2 labels \(0, 1\) but num_labels is 3/);
  });

  test('with a validation file its labels must be among the training labels', async () => {
    const train = write('tv-train.csv', 'text,label\n좋아,pos\n싫어,neg\n');
    const valid = write('tv-valid.csv', 'text,label\n그래,pos\n몰라,neutral\n');
    await assert.rejects(loadTrainValidation(train, { validFile: valid }), /tv-valid\.csv:3, field "label": label 'neutral' is not one of neg, pos/);
    const ok = await loadTrainValidation(train, { validFile: write('tv-valid-ok.csv', 'text,label\n그래,pos\n') });
    assert.deepEqual(ok.validation.labels, [1]);
    assert.equal(ok.split, null);
    await assert.rejects(loadTrainValidation(train, {}), /set valid_file or split_ratio/);
  });
});
