import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { embeddingLookup } from '../../lib/train/ops/embedding-lookup.js';
import { matMul } from '../../lib/train/ops/mat-mul.js';
import { dilatedConv1d } from '../../lib/train/ops/dilated-conv1d.js';
import { lstm } from '../../lib/train/ops/lstm.js';
import { bigramIds } from '../../lib/train/models/encoder.js';
import { maxAbsDifference, setupBackend } from './helpers.js';

before(setupBackend);

test('embeddingLookup: rows of the table, gradient sums repeated ids (scatter-add)', () => {
  tf.tidy(() => {
    const table = tf.randomNormal([6, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const ids = tf.tensor2d([[1, 4, 1], [0, 1, 5]], [2, 3], 'int32');
    const rows = embeddingLookup(table, ids);
    assert.deepEqual(rows.shape, [2, 3, 3]);
    assert.ok(maxAbsDifference(rows.dataSync(), tf.gather(table, ids).dataSync()) < 1e-7);
    const weights = tf.randomNormal([2, 3, 3], 0, 1, 'float32', 2);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embeddingLookup(t as tf.Tensor2D, ids), weights)))(table).dataSync();
    const w = weights.dataSync();
    const expected = new Float32Array(18);
    [1, 4, 1, 0, 1, 5].forEach((id, position) => {
      for (let d = 0; d < 3; d++) expected[id * 3 + d] += w[position * 3 + d];
    });
    assert.ok(maxAbsDifference(grad, expected) < 1e-5);
  });
});

test('matMul: value and gradients equal tf.matMul', () => {
  tf.tidy(() => {
    const a = tf.randomNormal([5, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
    const b = tf.randomNormal([4, 3], 0, 1, 'float32', 4) as tf.Tensor2D;
    const w = tf.randomNormal([5, 3], 0, 1, 'float32', 5);
    const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMul(x as tf.Tensor2D, y as tf.Tensor2D), w)))([a, b]);
    const theirs = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), w)))([a, b]);
    assert.ok(maxAbsDifference(matMul(a, b).dataSync(), tf.matMul(a, b).dataSync()) < 1e-5);
    assert.ok(maxAbsDifference(ours[0].dataSync(), theirs[0].dataSync()) < 1e-5);
    assert.ok(maxAbsDifference(ours[1].dataSync(), theirs[1].dataSync()) < 1e-5);
  });
});

/** Direct 'same' dilated convolution in plain JS (the definition). */
function referenceConv(x: Float32Array, [B, T, C]: number[], kernel: Float32Array, O: number, width: number, dilation: number): Float32Array {
  const out = new Float32Array(B * T * O);
  const half = ((width - 1) / 2) * dilation;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let o = 0; o < O; o++) {
        let sum = 0;
        for (let tap = 0; tap < width; tap++) {
          const source = t - half + tap * dilation;
          if (source < 0 || source >= T) continue;
          for (let c = 0; c < C; c++) sum += x[(b * T + source) * C + c] * kernel[(tap * C + c) * O + o];
        }
        out[(b * T + t) * O + o] = sum;
      }
  return out;
}

test('dilatedConv1d equals the direct definition for dilations 1, 2 and 4, and has gradients', () => {
  tf.tidy(() => {
    const [B, T, C, O, width] = [2, 9, 3, 4, 3];
    const x = tf.randomNormal([B, T, C], 0, 1, 'float32', 6) as tf.Tensor3D;
    const kernel = tf.randomNormal([width * C, O], 0, 1, 'float32', 7) as tf.Tensor2D;
    const bias = tf.zeros([O]) as tf.Tensor1D;
    for (const dilation of [1, 2, 4]) {
      const ours = dilatedConv1d(x, kernel, bias, width, dilation).dataSync();
      const reference = referenceConv(x.dataSync() as Float32Array, [B, T, C], kernel.dataSync() as Float32Array, O, width, dilation);
      assert.ok(maxAbsDifference(ours, reference) < 1e-4, `dilation ${dilation}`);
    }
    const grads = tf.grads((a: tf.Tensor, k: tf.Tensor) => tf.sum(tf.square(dilatedConv1d(a as tf.Tensor3D, k as tf.Tensor2D, bias, width, 2))))([x, kernel]);
    assert.deepEqual(grads[0].shape, [B, T, C]);
    assert.ok(Number.isFinite(tf.sum(tf.abs(grads[1])).dataSync()[0]));
    // dilation 1 also agrees with tf.conv1d (kernel rows are tap-major, conv1d wants [width, C, O]).
    const viaConv = tf.conv1d(x, tf.reshape(kernel, [width, C, O]) as tf.Tensor3D, 1, 'same').dataSync();
    assert.ok(maxAbsDifference(dilatedConv1d(x, kernel, bias, width, 1).dataSync(), viaConv) < 1e-4);
  });
});

test('lstm: padding does not change real positions, and reverse reads right to left', () => {
  tf.tidy(() => {
    const [D, H] = [3, 4];
    const weights = {
      input: tf.randomNormal([D, 4 * H], 0, 0.5, 'float32', 8) as tf.Tensor2D,
      recurrent: tf.randomNormal([H, 4 * H], 0, 0.5, 'float32', 9) as tf.Tensor2D,
      bias: tf.zeros([4 * H]) as tf.Tensor1D,
    };
    const x = tf.randomNormal([1, 4, D], 0, 1, 'float32', 10) as tf.Tensor3D;
    const padded = tf.concat([x, tf.randomNormal([1, 3, D], 0, 1, 'float32', 11)], 1) as tf.Tensor3D;
    const mask = tf.ones([1, 4, 1]) as tf.Tensor3D;
    const paddedMask = tf.concat([mask, tf.zeros([1, 3, 1])], 1) as tf.Tensor3D;
    for (const reverse of [false, true]) {
      const plain = lstm(x, mask, weights, reverse).dataSync();
      const out = lstm(padded, paddedMask, weights, reverse);
      const realPart = tf.slice(out, [0, 0, 0], [1, 4, H]).dataSync();
      assert.ok(maxAbsDifference(plain, realPart) < 1e-5, `reverse=${reverse}`);
      assert.equal(tf.sum(tf.abs(tf.slice(out, [0, 4, 0], [1, 3, H]))).dataSync()[0], 0);
    }
    // Reverse direction = forward direction over the reversed sentence, read back reversed.
    const reversed = tf.reverse(x, 1) as tf.Tensor3D;
    const viaForward = tf.reverse(lstm(reversed, mask, weights, false), 1).dataSync();
    assert.ok(maxAbsDifference(lstm(x, mask, weights, true).dataSync(), viaForward) < 1e-5);
  });
});

test('bigram hash ids: (previous id, id) per position, padding before the first', () => {
  tf.tidy(() => {
    const ids = tf.tensor2d([[5, 6, 7], [8, 0, 0]], [2, 3], 'int32');
    const expected = [5, (5 * 7919 + 6) % 100, (6 * 7919 + 7) % 100, 8, (8 * 7919) % 100, 0];
    assert.deepEqual([...bigramIds(ids, 100).dataSync()], expected);
    assert.deepEqual([...bigramIds(tf.tensor2d([[9]], [1, 1], 'int32'), 4).dataSync()], [1]);
  });
});
