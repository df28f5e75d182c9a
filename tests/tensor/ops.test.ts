import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { embedTokens } from '../../lib/tensor/ops/embedding-lookup.js';
import { matMul } from '../../lib/tensor/ops/mat-mul.js';
import { convBlock } from '../../lib/tensor/ops/conv-block.js';
import { dropoutScales, seededDropout } from '../../lib/tensor/ops/dropout.js';
import { dilatedConv1d } from './reference-conv.js';
import { bidirectionalLstm } from '../../lib/tensor/ops/lstm.js';
import { referenceLstm } from './reference-lstm.js';
import { bigramIds } from '../../lib/train/models/encoder.js';
import { maxAbsDifference, setupBackend } from '../train/helpers.js';

before(setupBackend);

test('embedTokens: summed rows at real positions, zero at padding, dropout; gradient scatter-adds repeated ids', () => {
  tf.tidy(() => {
    const table = tf.randomNormal([6, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const second = tf.randomNormal([4, 3], 0, 1, 'float32', 21) as tf.Tensor2D;
    const ids = Int32Array.from([1, 4, 1, 0, 1, 5]);
    const bigrams = Int32Array.from([3, 2, 0, 1, 1, 2]);
    const shape = { size: 2, time: 3, lengths: [3, 2] };
    const rows = embedTokens([{ table, ids }, { table: second, ids: bigrams }], shape);
    const expected = tf.mul(tf.add(tf.gather(table, tf.tensor2d(ids, [2, 3], 'int32')), tf.gather(second, tf.tensor2d(bigrams, [2, 3], 'int32'))), tf.tensor3d([1, 1, 1, 1, 1, 0], [2, 3, 1]));
    assert.ok(maxAbsDifference(rows.dataSync(), expected.dataSync()) < 1e-6);
    const scales = dropoutScales(18, 0.5, 77);
    const dropped = embedTokens([{ table, ids }], shape, { rate: 0.5, seed: 77 });
    const plain = embedTokens([{ table, ids }], shape).dataSync();
    dropped.dataSync().forEach((v, i) => assert.ok(Math.abs(v - plain[i] * scales[i]) < 1e-6));
    const weights = tf.randomNormal([2, 3, 3], 0, 1, 'float32', 2);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embedTokens([{ table: t as tf.Tensor2D, ids }], shape, { rate: 0.5, seed: 77 }), weights)))(table).dataSync();
    const w = weights.dataSync();
    const want = new Float32Array(18);
    ids.forEach((id, position) => {
      if (position === 5) return; // padding of the second row
      for (let d = 0; d < 3; d++) want[id * 3 + d] += w[position * 3 + d] * scales[position * 3 + d];
    });
    assert.ok(maxAbsDifference(grad, want) < 1e-5);
  });
});

test('dropout masks: the rate holds, the same seed gives the same mask, the gradient uses it', () => {
  const scales = dropoutScales(100_001, 0.2, 5);
  const kept = scales.filter((v) => v > 0);
  assert.ok(Math.abs(kept.length / scales.length - 0.8) < 0.005, `kept ${kept.length}`);
  assert.ok(kept.every((v) => Math.abs(v - 1.25) < 1e-6));
  assert.deepEqual(dropoutScales(1000, 0.2, 5), dropoutScales(1000, 0.2, 5));
  assert.notDeepEqual(dropoutScales(1000, 0.2, 5), dropoutScales(1000, 0.2, 6));
  tf.tidy(() => {
    const x = tf.randomNormal([4, 5], 0, 1, 'float32', 3);
    const mask = dropoutScales(20, 0.3, 9);
    const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(seededDropout(v, 0.3, 9), 2)))(x).dataSync();
    grad.forEach((g, i) => assert.ok(Math.abs(g - 2 * mask[i]) < 1e-6));
    assert.equal(seededDropout(x, 0, 9), x);
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

test('reference dilatedConv1d equals the direct definition for dilations 1, 2 and 4', () => {
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
    // dilation 1 also agrees with tf.conv1d (kernel rows are tap-major, conv1d wants [width, C, O]).
    const viaConv = tf.conv1d(x, tf.reshape(kernel, [width, C, O]) as tf.Tensor3D, 1, 'same').dataSync();
    assert.ok(maxAbsDifference(dilatedConv1d(x, kernel, bias, width, 1).dataSync(), viaConv) < 1e-4);
  });
});

test('convBlock: values and gradients equal the autodiff composition (conv, ReLU, residual, mask, dropout)', () => {
  tf.tidy(() => {
    const [B, T, C, width] = [3, 8, 4, 3];
    const lengths = [8, 5, 1];
    const mask = tf.tensor3d(lengths.flatMap((length) => Array.from({ length: T }, (_, t) => (t < length ? 1 : 0))), [B, T, 1]);
    // Zero at padding, as every layer's input is.
    const x = tf.mul(tf.randomNormal([B, T, C], 0, 1, 'float32', 31), mask) as tf.Tensor3D;
    const kernel = tf.randomNormal([width * C, C], 0, 0.5, 'float32', 32) as tf.Tensor2D;
    const bias = tf.randomNormal([C], 0, 0.3, 'float32', 33) as tf.Tensor1D;
    const upstream = tf.randomNormal([B, T, C], 0, 1, 'float32', 34);
    const realRows = lengths.flatMap((length, b) => Array.from({ length }, (_, t) => b * T + t));
    for (const dilation of [1, 2, 4]) {
      for (const residual of [false, true]) {
        for (const rate of [0, 0.4]) {
          const label = `dilation ${dilation}, residual ${residual}, dropout ${rate}`;
          const dropout = rate > 0 ? { rate, seed: 35 } : undefined;
          // The fused op's dropout mask, scattered to the real positions (padded rows are zero anyway).
          const packed = rate > 0 ? dropoutScales(realRows.length * C, rate, 35) : null;
          const scale = new Float32Array(B * T * C).fill(1);
          if (packed) realRows.forEach((flat, r) => scale.set(packed.subarray(r * C, (r + 1) * C), flat * C));
          const scaleTensor = tf.tensor3d(scale, [B, T, C]);
          const fused = (xx: tf.Tensor, k: tf.Tensor, b: tf.Tensor) => convBlock(xx as tf.Tensor3D, { size: B, time: T, lengths }, k as tf.Tensor2D, b as tf.Tensor1D, { width, dilation, residual, dropout });
          const reference = (xx: tf.Tensor, k: tf.Tensor, b: tf.Tensor) => {
            const y = tf.relu(dilatedConv1d(xx as tf.Tensor3D, k as tf.Tensor2D, b as tf.Tensor1D, width, dilation));
            return tf.mul(tf.mul(residual ? tf.add(xx, y) : y, mask), scaleTensor);
          };
          assert.ok(maxAbsDifference(fused(x, kernel, bias).dataSync(), reference(x, kernel, bias).dataSync()) < 1e-5, label);
          const loss = (layer: (xx: tf.Tensor, k: tf.Tensor, b: tf.Tensor) => tf.Tensor) => (xx: tf.Tensor, k: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layer(xx, k, b), upstream)) as tf.Scalar;
          const ours = tf.grads(loss(fused))([x, kernel, bias]);
          const theirs = tf.grads(loss(reference))([x, kernel, bias]);
          // dx is compared at real positions: the fused op never reads a sentence's padding, so
          // (unlike the reference) sends it no gradient; it is zero, so nothing upstream changes.
          const real = (values: ArrayLike<number>) => realRows.flatMap((flat) => Array.from({ length: C }, (_, c) => values[flat * C + c]));
          assert.ok(maxAbsDifference(real(ours[0].dataSync()), real(theirs[0].dataSync())) < 1e-4, `dx, ${label}`);
          assert.ok(maxAbsDifference(ours[1].dataSync(), theirs[1].dataSync()) < 1e-4, `dkernel, ${label}`);
          assert.ok(maxAbsDifference(ours[2].dataSync(), theirs[2].dataSync()) < 1e-4, `dbias, ${label}`);
        }
      }
    }
    // The first layer widens (C → 2C, no residual): nothing may read past a row's channels.
    const wide = tf.randomNormal([width * C, 2 * C], 0, 0.5, 'float32', 36) as tf.Tensor2D;
    const wideBias = tf.zeros([2 * C]) as tf.Tensor1D;
    const fusedWide = convBlock(x, { size: B, time: T, lengths }, wide, wideBias, { width, dilation: 1, residual: false });
    const referenceWide = tf.mul(tf.relu(dilatedConv1d(x, wide, wideBias, width, 1)), mask);
    assert.ok(maxAbsDifference(fusedWide.dataSync(), referenceWide.dataSync()) < 1e-5, 'widening layer');
  });
});

/** Both directions by the step-by-step reference, concatenated like the fused op's output. */
function referenceBidirectional(x: tf.Tensor3D, lengths: number[], f: Parameters<typeof referenceLstm>[2], b: Parameters<typeof referenceLstm>[2]): tf.Tensor3D {
  const [batch, time] = x.shape;
  const mask = tf.tensor3d(lengths.flatMap((length) => Array.from({ length: time }, (_, t) => (t < length ? 1 : 0))), [batch, time, 1]);
  return tf.concat([referenceLstm(x, mask, f, false), referenceLstm(x, mask, b, true)], 2);
}

test('bidirectionalLstm: values and every gradient equal the step-by-step autodiff reference', () => {
  tf.tidy(() => {
    const [D, H] = [5, 6];
    const weights = (seed: number) => ({
      input: tf.randomNormal([D, 4 * H], 0, 0.5, 'float32', seed) as tf.Tensor2D,
      recurrent: tf.randomNormal([H, 4 * H], 0, 0.5, 'float32', seed + 1) as tf.Tensor2D,
      bias: tf.randomNormal([4 * H], 0, 0.5, 'float32', seed + 2) as tf.Tensor1D,
    });
    const f = weights(20);
    const b = weights(30);
    // Unsorted lengths, one full row, one of length 1 and one empty: the packing must undo its order.
    const lengths = [3, 7, 1, 5, 0];
    const x = tf.randomNormal([lengths.length, 7, D], 0, 1, 'float32', 12) as tf.Tensor3D;
    const upstream = tf.randomNormal([lengths.length, 7, 2 * H], 0, 1, 'float32', 13);
    const ours = bidirectionalLstm(x, lengths, f, b);
    const reference = referenceBidirectional(x, lengths, f, b);
    assert.ok(maxAbsDifference(ours.dataSync(), reference.dataSync()) < 1e-5);
    const inputs = [x, f.input, f.recurrent, f.bias, b.input, b.recurrent, b.bias];
    type Args = [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    const lossOf = (layer: (...args: Args) => tf.Tensor) => (...args: tf.Tensor[]) => tf.sum(tf.mul(layer(...(args as Args)), upstream)) as tf.Scalar;
    const oursGrads = tf.grads(lossOf((xx, fi, fr, fb, bi, br, bb) => bidirectionalLstm(xx, lengths, { input: fi, recurrent: fr, bias: fb }, { input: bi, recurrent: br, bias: bb })))(inputs);
    const referenceGrads = tf.grads(lossOf((xx, fi, fr, fb, bi, br, bb) => referenceBidirectional(xx, lengths, { input: fi, recurrent: fr, bias: fb }, { input: bi, recurrent: br, bias: bb })))(inputs);
    const names = ['x', 'forward.input', 'forward.recurrent', 'forward.bias', 'backward.input', 'backward.recurrent', 'backward.bias'];
    oursGrads.forEach((grad, i) => {
      assert.deepEqual(grad.shape, inputs[i].shape, names[i]);
      const difference = maxAbsDifference(grad.dataSync(), referenceGrads[i].dataSync());
      assert.ok(difference < 1e-4, `d${names[i]}: max difference ${difference}`);
    });
    assert.ok(tf.sum(tf.abs(oursGrads[2])).dataSync()[0] > 0, 'the recurrent weights get a gradient');
  });
});

test('bidirectionalLstm: padding changes nothing at real positions and is zero; reverse reads right to left', () => {
  tf.tidy(() => {
    const [D, H] = [3, 4];
    const w = (seed: number) => ({
      input: tf.randomNormal([D, 4 * H], 0, 0.5, 'float32', seed) as tf.Tensor2D,
      recurrent: tf.randomNormal([H, 4 * H], 0, 0.5, 'float32', seed + 1) as tf.Tensor2D,
      bias: tf.zeros([4 * H]) as tf.Tensor1D,
    });
    const [f, b] = [w(8), w(18)];
    const x = tf.randomNormal([1, 4, D], 0, 1, 'float32', 10) as tf.Tensor3D;
    const padded = tf.concat([x, tf.randomNormal([1, 3, D], 0, 1, 'float32', 11)], 1) as tf.Tensor3D;
    const plain = bidirectionalLstm(x, [4], f, b);
    const out = bidirectionalLstm(padded, [4], f, b);
    assert.ok(maxAbsDifference(plain.dataSync(), tf.slice(out, [0, 0, 0], [1, 4, 2 * H]).dataSync()) < 1e-6);
    assert.equal(tf.sum(tf.abs(tf.slice(out, [0, 4, 0], [1, 3, 2 * H]))).dataSync()[0], 0);
    // The backward half equals a forward pass over the reversed sentence with the backward weights, reversed back.
    const viaForward = tf.reverse(tf.slice(bidirectionalLstm(tf.reverse(x, 1) as tf.Tensor3D, [4], b, f), [0, 0, 0], [1, 4, H]), 1);
    assert.ok(maxAbsDifference(tf.slice(plain, [0, 0, H], [1, 4, H]).dataSync(), viaForward.dataSync()) < 1e-6);
  });
});

test('bigram hash ids: (previous id, id) per position, padding before the first', () => {
  const expected = [5, (5 * 7919 + 6) % 100, (6 * 7919 + 7) % 100, 8, (8 * 7919) % 100, 0];
  assert.deepEqual([...bigramIds(Int32Array.from([5, 6, 7, 8, 0, 0]), 2, 3, 100)], expected);
  assert.deepEqual([...bigramIds(Int32Array.from([9]), 1, 1, 4)], [1]);
});
