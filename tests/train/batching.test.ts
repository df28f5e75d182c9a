import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeBatch, paddingEfficiency, planBatches, splitIndices } from '../../lib/train/batching.js';
import { SeededRandom } from '../../lib/tensor/rng.js';

test('every example lands in exactly one batch, with or without bucketing', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), (lengths, batchSize, bucketing) => {
      const batches = planBatches(lengths, { batchSize, bucketing, rng: new SeededRandom(3) });
      const seen = batches.flat().sort((a, b) => a - b);
      assert.deepEqual(seen, lengths.map((_, i) => i));
      assert.ok(batches.every((b) => b.length >= 1 && b.length <= batchSize));
    }),
  );
});

test('bucketing pads less than random batches (measured on skewed lengths)', () => {
  const rng = new SeededRandom(5);
  const lengths = Array.from({ length: 2000 }, () => 5 + Math.floor(rng.next() ** 2 * 140));
  const bucketed = paddingEfficiency(lengths, planBatches(lengths, { batchSize: 32, rng: new SeededRandom(1) }));
  const random = paddingEfficiency(lengths, planBatches(lengths, { batchSize: 32, bucketing: false, rng: new SeededRandom(1) }));
  assert.ok(bucketed > 0.9, `bucketed efficiency ${bucketed}`);
  assert.ok(random < 0.5, `random efficiency ${random}`);
});

test('the same generator state gives the same plan', () => {
  const lengths = Array.from({ length: 100 }, (_, i) => (i * 37) % 50 + 1);
  assert.deepEqual(planBatches(lengths, { batchSize: 8, rng: new SeededRandom(9) }), planBatches(lengths, { batchSize: 8, rng: new SeededRandom(9) }));
});

test('makeBatch pads with 0, truncates to maxLength and counts real tokens', () => {
  const examples = [
    { ids: Int32Array.from([5, 6, 7]), tags: Int32Array.from([1, 2, 0]) },
    { ids: Int32Array.from([8]), tags: Int32Array.from([0]) },
  ];
  const batch = makeBatch(examples, [0, 1]);
  assert.deepEqual([...batch.ids], [5, 6, 7, 8, 0, 0]);
  assert.deepEqual([...batch.tags!], [1, 2, 0, 0, 0, 0]);
  assert.deepEqual(batch.lengths, [3, 1]);
  assert.equal(batch.realTokens, 4);
  const truncated = makeBatch(examples, [0, 1], 2);
  assert.equal(truncated.time, 2);
  assert.deepEqual(truncated.lengths, [2, 1]);
  assert.deepEqual(splitIndices([1, 2, 3, 4, 5], 2), [[1, 4], [2, 5], [3]]);
  assert.deepEqual(splitIndices([1, 2, 3, 4], 2), [[1, 3], [2, 4]]);
});
