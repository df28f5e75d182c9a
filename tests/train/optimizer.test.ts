/**
 * AdamW (lib/train/optimizer.ts): an update applied in ranges (as the trainer's threads apply it)
 * gives the bits of one whole update, moments included, whatever the split and the decay layout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AdamW } from '../../lib/train/optimizer.js';
import type { ParameterSet } from '../../lib/tensor/parameters.js';

/** The two things AdamW reads of a parameter set: the shapes and which ones skip weight decay. */
function parameterSet(sizes: number[], noDecay: boolean[]): ParameterSet {
  const specs = sizes.map((size, i) => ({ name: `p${i}`, shape: [size], noDecay: noDecay[i] }));
  return { specs, count: sizes.reduce((a, b) => a + b, 0) } as unknown as ParameterSet;
}

const bits = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength);

test('AdamW: an update applied in ranges equals one apply, bit for bit (weights and moments), over several steps', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.boolean()), { minLength: 1, maxLength: 5 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 0, max: 2 ** 30 }),
      (layout, cuts, seed) => {
        const parameters = parameterSet(layout.map(([size]) => size), layout.map(([, skip]) => skip));
        const count = parameters.count;
        let state = seed;
        const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
        const start = Float32Array.from({ length: count }, random);
        const whole = new AdamW(parameters);
        const split = new AdamW(parameters, { moments: new SharedArrayBuffer(8 * count) });
        const wholeWeights = start.slice();
        const splitWeights = start.slice();
        const bounds = [0, ...cuts.map((cut) => Math.floor(cut * count)).sort((a, b) => a - b), count];
        for (let step = 0; step < 3; step++) {
          const gradients = Float32Array.from({ length: count }, random);
          assert.equal(whole.apply(wholeWeights, gradients, 1e-2, 0.5), true);
          const update = split.begin(1e-2, 0.5);
          for (let i = 0; i + 1 < bounds.length; i++) assert.equal(split.applyRange(splitWeights, gradients, bounds[i], bounds[i + 1], update), true);
          assert.deepEqual(bits(splitWeights), bits(wholeWeights));
          assert.deepEqual(bits(split.readState()), bits(whole.readState()));
          assert.equal(split.step, whole.step);
        }
      },
    ),
    { numRuns: 200, seed: 28 },
  );
});

test('AdamW: a range reports a NaN weight only when it holds one', () => {
  const parameters = parameterSet([4, 4], [false, true]);
  const optimizer = new AdamW(parameters);
  const weights = new Float32Array(8).fill(1);
  const gradients = new Float32Array(8).fill(0.1);
  gradients[6] = Number.NaN;
  const update = optimizer.begin(1e-3);
  assert.equal(optimizer.applyRange(weights, gradients, 0, 4, update), true);
  assert.equal(optimizer.applyRange(weights, gradients, 4, 8, update), false);
  assert.throws(() => new AdamW(parameters, { moments: new ArrayBuffer(8) }), /the moments need 64 bytes/);
});
