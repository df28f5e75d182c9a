import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { convBlock } from '../../lib/tensor/ops/conv-block.js';
import { seededDropout } from '../../lib/tensor/ops/dropout.js';
import { embedTokens, embeddingLookup } from '../../lib/tensor/ops/embedding-lookup.js';
import { bidirectionalLstm } from '../../lib/tensor/ops/lstm.js';
import { MixedBackendError, opForm } from '../../lib/tensor/ops/op-form.js';
import { readConcatenated, readValues } from '../../lib/tensor/ops/scratch.js';
import { crfNegLogLikelihood, iob2Constraints } from '../../lib/train/models/crf.js';
import { onBackend, relativeDifference, webgpuSkipReason } from './webgpu-helpers.js';

let skip: string | null = null;
before(async () => {
  skip = await webgpuSkipReason();
});

/** A reproducible float32 array of `size` values in [−1, 1). */
function values(size: number, seed: number): Float32Array {
  let state = seed >>> 0 || 1;
  return Float32Array.from({ length: size }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 2 ** 32) * 2 - 1;
  });
}

interface Case {
  /** The op's inputs (fresh on each backend, from the same values) and a loss from its output. */
  run: () => { inputs: tf.Tensor[]; loss: (...inputs: tf.Tensor[]) => tf.Scalar };
}

/** The loss and its gradients with respect to every input, read as host arrays. */
async function lossAndGradients(c: Case): Promise<Float32Array[]> {
  const { inputs, loss } = c.run();
  const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => loss(...xs))(inputs);
  const read = await Promise.all([value, ...grads].map((t) => readConcatenated([t])));
  tf.dispose([value, ...grads, ...inputs]);
  return read;
}

async function assertSameOnBothBackends(c: Case, t: { skip: (reason: string) => void }): Promise<void> {
  if (skip) return t.skip(skip);
  const wasm = await onBackend('wasm', () => lossAndGradients(c));
  const webgpu = await onBackend('webgpu', () => lossAndGradients(c));
  wasm.forEach((expected, i) => {
    const difference = relativeDifference(webgpu[i], expected);
    assert.ok(difference < 1e-4, `${i === 0 ? 'loss' : `gradient ${i}`}: relative difference ${difference}`);
  });
}

const weighted = (out: tf.Tensor, seed: number) => tf.sum(tf.mul(out, tf.tensor(values(out.size, seed), out.shape))) as tf.Scalar;
const shape = { size: 3, time: 6, lengths: [6, 2, 4] };

test('convBlock: value and gradients on webgpu equal wasm (dilation, residual, dropout, padding)', async (t) => {
  await assertSameOnBothBackends(
    {
      run: () => ({
        inputs: [tf.tensor3d(values(3 * 6 * 4, 1), [3, 6, 4]), tf.tensor2d(values(3 * 4 * 4, 2), [12, 4]), tf.tensor1d(values(4, 3))],
        loss: (x, kernel, bias) => {
          // Zero at padding, as the block's input always is.
          const masked = tf.mul(x, tf.tensor3d(Float32Array.from({ length: 18 }, (_, p) => Number(p % 6 < shape.lengths[Math.floor(p / 6)])), [3, 6, 1]));
          const out = convBlock(masked as tf.Tensor3D, shape, kernel as tf.Tensor2D, bias as tf.Tensor1D, { width: 3, dilation: 2, residual: true, dropout: { rate: 0.25, seed: 7 } });
          return weighted(out, 4);
        },
      }),
    },
    t,
  );
});

test('bidirectionalLstm: value and gradients on webgpu equal wasm (packed lengths, dropout)', async (t) => {
  const H = 3;
  await assertSameOnBothBackends(
    {
      run: () => ({
        inputs: [
          tf.tensor3d(values(3 * 6 * 4, 11), [3, 6, 4]),
          ...[12, 15].flatMap((seed) => [tf.tensor2d(values(4 * 4 * H, seed), [4, 4 * H]), tf.tensor2d(values(H * 4 * H, seed + 1), [H, 4 * H]), tf.tensor1d(values(4 * H, seed + 2))]),
        ],
        loss: (x, inF, recF, biasF, inB, recB, biasB) => {
          const out = bidirectionalLstm(
            x as tf.Tensor3D,
            shape.lengths,
            { input: inF as tf.Tensor2D, recurrent: recF as tf.Tensor2D, bias: biasF as tf.Tensor1D },
            { input: inB as tf.Tensor2D, recurrent: recB as tf.Tensor2D, bias: biasB as tf.Tensor1D },
            { rate: 0.2, seed: 9 },
          );
          return weighted(out, 16);
        },
      }),
    },
    t,
  );
});

test('embedTokens and embeddingLookup: value and gradients on webgpu equal wasm (repeated ids, two tables, dropout)', async (t) => {
  const ids = Int32Array.from({ length: 18 }, (_, i) => (i * 7) % 5);
  const bigrams = Int32Array.from({ length: 18 }, (_, i) => (i * 3) % 4);
  await assertSameOnBothBackends(
    {
      run: () => ({
        inputs: [tf.tensor2d(values(5 * 4, 21), [5, 4]), tf.tensor2d(values(4 * 4, 22), [4, 4])],
        loss: (table, second) => {
          const out = embedTokens([{ table: table as tf.Tensor2D, ids }, { table: second as tf.Tensor2D, ids: bigrams }], shape, { rate: 0.3, seed: 5 });
          const rows = embeddingLookup(second as tf.Tensor2D, tf.tensor2d(bigrams, [3, 6], 'int32'));
          return tf.add(weighted(out, 23), weighted(rows, 24)) as tf.Scalar;
        },
      }),
    },
    t,
  );
});

test('seededDropout: the same mask and gradient on webgpu as on wasm', async (t) => {
  await assertSameOnBothBackends({ run: () => ({ inputs: [tf.tensor2d(values(40, 31), [5, 8])], loss: (x) => weighted(seededDropout(x, 0.4, 12), 32) }) }, t);
});

test('crfNegLogLikelihood: loss and gradients on webgpu equal wasm (IOB2 constraints, ragged lengths)', async (t) => {
  const tags = ['O', 'B-PS', 'I-PS', 'B-LC', 'I-LC'];
  const constraints = iob2Constraints(tags);
  const gold = Int32Array.from([0, 1, 2, 2, 0, 3, 1, 2, 0, 0, 0, 0, 3, 4, 0, 1, 0, 0]);
  await assertSameOnBothBackends(
    {
      run: () => ({
        inputs: [tf.tensor3d(values(3 * 6 * 5, 41), [3, 6, 5]), tf.tensor2d(values(25, 42), [5, 5]), tf.tensor1d(values(5, 43)), tf.tensor1d(values(5, 44))],
        loss: (emissions, transitions, start, end) =>
          crfNegLogLikelihood(emissions as tf.Tensor3D, { transitions: transitions as tf.Tensor2D, start: start as tf.Tensor1D, end: end as tf.Tensor1D }, shape.lengths, gold, constraints),
      }),
    },
    t,
  );
});

test('a tensor from another backend is an error that names the op and the input, not a silent copy', async (t) => {
  if (skip) return t.skip(skip);
  const kernel = tf.tensor2d(values(12 * 4, 2), [12, 4]);
  try {
    await onBackend('webgpu', () => {
      assert.equal(opForm(), 'webgpu');
      const x = tf.zeros([3, 6, 4]) as tf.Tensor3D;
      assert.throws(() => convBlock(x, shape, kernel, tf.zeros([4]) as tf.Tensor1D, { width: 3, dilation: 1, residual: false }), (error: Error) => {
        assert.ok(error instanceof MixedBackendError);
        assert.match(error.message, /convBlock: its input "kernel" lives on the wasm backend but webgpu runs now/);
        return true;
      });
      // And a synchronous read says what to use instead of failing inside tfjs.
      assert.throws(() => readValues(x), /webgpu backend has no synchronous read; use the asynchronous forms \(readValuesAsync, predictTagStringsAsync/);
      x.dispose();
    });
  } finally {
    kernel.dispose();
  }
});
