import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRateAt } from '../../lib/train/schedule.js';
import { SeededRandom } from '../../lib/tensor/rng.js';

test('warmup rises linearly to the peak, then linear decay reaches the floor at the end', () => {
  const schedule = { peak: 1e-3, warmupSteps: 10, totalSteps: 110, decay: 'linear' as const };
  assert.equal(learningRateAt(schedule, 0), 1e-4);
  assert.equal(learningRateAt(schedule, 9), 1e-3);
  assert.equal(learningRateAt(schedule, 10), 1e-3);
  assert.ok(Math.abs(learningRateAt(schedule, 60) - 5e-4) < 1e-12);
  assert.equal(learningRateAt(schedule, 110), 0);
});

test('cosine decay is half-way at the middle and respects minRatio; constant stays', () => {
  const cosine = { peak: 2, warmupSteps: 0, totalSteps: 100, decay: 'cosine' as const, minRatio: 0.1 };
  assert.equal(learningRateAt(cosine, 0), 2);
  assert.ok(Math.abs(learningRateAt(cosine, 50) - (0.2 + 1.8 * 0.5)) < 1e-12);
  assert.ok(Math.abs(learningRateAt(cosine, 100) - 0.2) < 1e-12);
  assert.equal(learningRateAt({ peak: 3, warmupSteps: 0, totalSteps: 10, decay: 'constant' }, 7), 3);
});

test('the generator resumes exactly from a saved state and stays in range', () => {
  const rng = new SeededRandom(42);
  for (let i = 0; i < 10; i++) rng.next();
  const saved = rng.getState();
  const ahead = Array.from({ length: 5 }, () => rng.nextUint32());
  const resumed = new SeededRandom(saved);
  assert.deepEqual(Array.from({ length: 5 }, () => resumed.nextUint32()), ahead);
  const draws = Array.from({ length: 1000 }, () => rng.next());
  assert.ok(draws.every((x) => x >= 0 && x < 1));
  assert.ok(Math.abs(draws.reduce((a, b) => a + b) / 1000 - 0.5) < 0.05);
  assert.notDeepEqual(new SeededRandom(1).getState(), new SeededRandom(2).getState());
});
