import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { crfNegLogLikelihood, iob2Constraints, unconstrained, viterbiDecode, type TransitionConstraints } from '../../lib/train/models/crf.js';
import { setupBackend } from './helpers.js';

before(setupBackend);

const TAGS = ['O', 'B-PS', 'I-PS', 'B-LC', 'I-LC'];

/** Every path's score by enumeration: the reference the CRF must match. */
function enumerate(E: Float32Array, T: Float32Array, S: Float32Array, N: Float32Array, length: number, time: number, row: number, K: number, c: TransitionConstraints) {
  const paths: { path: number[]; score: number }[] = [];
  for (let code = 0; code < K ** length; code++) {
    const path: number[] = [];
    let x = code;
    for (let t = 0; t < length; t++) {
      path.push(x % K);
      x = Math.floor(x / K);
    }
    if (!c.allowedStart[path[0]] || path.some((tag, t) => t > 0 && !c.allowed[path[t - 1] * K + tag])) continue;
    let score = S[path[0]] + N[path[length - 1]];
    path.forEach((tag, t) => {
      score += E[(row * time + t) * K + tag] + (t > 0 ? T[path[t - 1] * K + tag] : 0);
    });
    paths.push({ path, score });
  }
  return paths;
}

function logSumExp(values: number[]): number {
  const peak = Math.max(...values);
  return peak + Math.log(values.reduce((sum, v) => sum + Math.exp(v - peak), 0));
}

test('IOB2 constraints forbid I-X after O or another type, and at the start', () => {
  const c = iob2Constraints(TAGS);
  const allowed = (a: string, b: string) => c.allowed[TAGS.indexOf(a) * TAGS.length + TAGS.indexOf(b)] === 1;
  assert.equal(allowed('O', 'I-PS'), false);
  assert.equal(allowed('B-LC', 'I-PS'), false);
  assert.equal(allowed('B-PS', 'I-PS'), true);
  assert.equal(allowed('I-PS', 'I-PS'), true);
  assert.equal(allowed('I-PS', 'B-LC'), true);
  assert.deepEqual([...c.allowedStart], [1, 1, 0, 1, 0]);
});

test('NLL, its gradient and Viterbi match enumeration of all paths', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), (seed, lenA, lenB) => {
      const K = TAGS.length;
      const time = Math.max(lenA, lenB);
      const lengths = [lenA, lenB];
      const c = iob2Constraints(TAGS);
      tf.tidy(() => {
        const E = tf.randomNormal([2, time, K], 0, 1.5, 'float32', seed) as tf.Tensor3D;
        const T = tf.randomNormal([K, K], 0, 1, 'float32', seed + 1) as tf.Tensor2D;
        const S = tf.randomNormal([K], 0, 1, 'float32', seed + 2) as tf.Tensor1D;
        const N = tf.randomNormal([K], 0, 1, 'float32', seed + 3) as tf.Tensor1D;
        const [e, t, s, n] = [E, T, S, N].map((x) => x.dataSync() as Float32Array);
        // Gold: the best valid path of each sentence under random scores of another seed, so it is valid IOB2.
        const gold = new Int32Array(2 * time);
        const expectedPaths: number[][] = [];
        let expected = 0;
        const gradE = new Float64Array(e.length);
        lengths.forEach((length, row) => {
          const paths = enumerate(e, t, s, n, length, time, row, K, c);
          const goldPath = paths[(seed + row) % paths.length].path;
          goldPath.forEach((tag, i) => (gold[row * time + i] = tag));
          const logZ = logSumExp(paths.map((p) => p.score));
          const goldScore = paths.find((p) => p.path.join() === goldPath.join())!.score;
          expected += logZ - goldScore;
          for (const p of paths) {
            const w = Math.exp(p.score - logZ);
            p.path.forEach((tag, i) => (gradE[(row * time + i) * K + tag] += w));
          }
          goldPath.forEach((tag, i) => (gradE[(row * time + i) * K + tag] -= 1));
          expectedPaths.push(paths.reduce((a, b) => (b.score > a.score ? b : a)).path);
        });
        const params = { transitions: T, start: S, end: N };
        const loss = crfNegLogLikelihood(E, params, lengths, gold, c);
        assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-3 * Math.max(1, Math.abs(expected)), `NLL ${loss.dataSync()[0]} vs ${expected}`);
        const grad = tf.grad((x: tf.Tensor) => crfNegLogLikelihood(x as tf.Tensor3D, params, lengths, gold, c))(E).dataSync();
        for (let i = 0; i < grad.length; i++) assert.ok(Math.abs(grad[i] - gradE[i]) < 1e-4, `dE[${i}] ${grad[i]} vs ${gradE[i]}`);
        const decoded = viterbiDecode(e, [2, time, K], t, s, n, lengths, c);
        assert.deepEqual(decoded, expectedPaths);
      });
    }),
    { numRuns: 25 },
  );
});

test('transition gradients match central differences', () => {
  const K = TAGS.length;
  const c = unconstrained(K);
  tf.tidy(() => {
    const E = tf.randomNormal([1, 3, K], 0, 1, 'float32', 7) as tf.Tensor3D;
    const T = tf.randomNormal([K, K], 0, 1, 'float32', 8) as tf.Tensor2D;
    const S = tf.zeros([K]) as tf.Tensor1D;
    const N = tf.zeros([K]) as tf.Tensor1D;
    const gold = new Int32Array([0, 1, 2]);
    const f = (trans: tf.Tensor) => crfNegLogLikelihood(E, { transitions: trans as tf.Tensor2D, start: S, end: N }, [3], gold, c);
    const analytic = tf.grad(f)(T).dataSync();
    const base = T.dataSync();
    for (const i of [0, 6, 7, 13, 24]) {
      const h = 1e-2;
      const up = base.slice();
      up[i] += h;
      const down = base.slice();
      down[i] -= h;
      const numeric = (f(tf.tensor2d(up, [K, K])).dataSync()[0] - f(tf.tensor2d(down, [K, K])).dataSync()[0]) / (2 * h);
      assert.ok(Math.abs(numeric - analytic[i]) < 5e-3, `dT[${i}] ${analytic[i]} vs numeric ${numeric}`);
    }
  });
});

test('a gold path that breaks IOB2 is refused', () => {
  const c = iob2Constraints(TAGS);
  tf.tidy(() => {
    const E = tf.zeros([1, 2, TAGS.length]) as tf.Tensor3D;
    const params = { transitions: tf.zeros([5, 5]) as tf.Tensor2D, start: tf.zeros([5]) as tf.Tensor1D, end: tf.zeros([5]) as tf.Tensor1D };
    assert.throws(() => crfNegLogLikelihood(E, params, [2], new Int32Array([0, 2]), c), /forbidden move/);
    assert.throws(() => crfNegLogLikelihood(E, params, [2], new Int32Array([2, 2]), c), /starts with a forbidden tag/);
  });
});

test('Viterbi never outputs an invalid IOB2 sequence even when emissions favour one', () => {
  const c = iob2Constraints(TAGS);
  // Emissions strongly prefer I-PS at the start and I-LC after B-PS.
  const E = new Float32Array([0, 0, 9, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9]);
  const [path] = viterbiDecode(E, [1, 3, 5], new Float32Array(25), new Float32Array(5), new Float32Array(5), [3], c);
  assert.ok(c.allowedStart[path[0]]);
  for (let t = 1; t < path.length; t++) assert.ok(c.allowed[path[t - 1] * 5 + path[t]], `move ${path[t - 1]}→${path[t]}`);
});
