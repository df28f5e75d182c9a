/**
 * Embedding lookups. `embedTokens`: token embeddings for a padded batch as one op: the rows of one or more tables at the tokens' ids,
 * summed (syllables plus hashed bigrams), zero at padding, times a dropout mask; its gradient
 * scatter-adds into each table.
 *
 * Plain typed-array code rather than tf.gather: tf.gather's gradient needs UnsortedSegmentSum, which
 * the wasm backend lacks (and which took 48 s per batch on the cpu backend), and on wasm the gather
 * itself took ~9 ms for a batch of 1,600 tokens where copying the rows takes well under one.
 */
import * as tf from '@tensorflow/tfjs';
import { dropoutScales } from './dropout.js';
import { floats, peekValues, readValues, tensorOf } from './scratch.js';
import { formFor } from './op-form.js';
import { embedTokensWebgpu } from './embedding-lookup.webgpu.js';
import type { EmbeddingInput, SequenceShape } from './op-types.js';

export type { EmbeddingInput, SequenceShape } from './op-types.js';

/**
 * `[B, T, dim]`: Σ tables[k][ids_k] at real positions, 0 at padding, times a dropout mask drawn from
 * `dropout.seed` when `dropout.rate > 0`.
 */
export function embedTokens(inputs: readonly EmbeddingInput[], shape: SequenceShape, dropout?: { rate: number; seed: number }): tf.Tensor3D {
  const { size, time, lengths } = shape;
  const dim = inputs[0].table.shape[1];
  for (const input of inputs) {
    if (input.table.shape[1] !== dim) throw new Error(`embedTokens: tables of width ${input.table.shape[1]} and ${dim}`);
    if (input.ids.length !== size * time) throw new Error(`embedTokens: ${input.ids.length} ids for a ${size}×${time} batch`);
  }
  const scales = dropout && dropout.rate > 0 ? dropoutScales(size * time * dim, dropout.rate, dropout.seed) : null;
  if (formFor('embedTokens', Object.fromEntries(inputs.map((input, k) => [`table ${k}`, input.table]))) === 'webgpu') return embedTokensWebgpu(inputs, shape, scales);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const tables = args.slice(0, inputs.length) as tf.Tensor2D[];
    const out = floats(size * time * dim);
    tables.forEach((table, k) => {
      // Only the rows in use are read (a hashed-bigram table can be large): no copy of the whole table.
      const values = peekValues(table);
      const { ids } = inputs[k];
      const rows = table.shape[0];
      for (let b = 0; b < size; b++) {
        for (let t = 0; t < Math.min(lengths[b], time); t++) {
          const id = ids[b * time + t];
          if (id < 0 || id >= rows) throw new Error(`embedTokens: id ${id} outside a table of ${rows} rows`);
          const from = id * dim;
          const to = (b * time + t) * dim;
          for (let d = 0; d < dim; d++) out[to + d] += values[from + d];
        }
      }
    });
    if (scales) for (let i = 0; i < out.length; i++) out[i] *= scales[i];
    return {
      value: tensorOf<tf.Rank.R3>(out, [size, time, dim]),
      gradFunc: (dy: tf.Tensor) => {
        const upstream = readValues(dy);
        return tables.map((table, k) => {
          const grad = floats(table.size);
          const { ids } = inputs[k];
          for (let b = 0; b < size; b++) {
            for (let t = 0; t < Math.min(lengths[b], time); t++) {
              const from = (b * time + t) * dim;
              const to = ids[b * time + t] * dim;
              if (scales) for (let d = 0; d < dim; d++) grad[to + d] += upstream[from + d] * scales[from + d];
              else for (let d = 0; d < dim; d++) grad[to + d] += upstream[from + d];
            }
          }
          return tensorOf<tf.Rank.R2>(grad, table.shape);
        });
      },
    };
  });
  return op(...inputs.map((input) => input.table)) as tf.Tensor3D;
}

/**
 * Rows of `table [vocab, dim]` at `ids` (int32 tensor, any shape) → `[...ids.shape, dim]`, with a
 * scatter-add gradient (for graphs of tfjs ops, e.g. the pretrained encoders). tf.gather's own gradient
 * needs UnsortedSegmentSum, which the wasm backend lacks; ScatterNd sums duplicate indices, so it is
 * exactly the gradient of a row gather.
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  // One form: tfjs ops with kernels on every backend (ScatterNd included); only the inputs are checked.
  formFor('embeddingLookup', { table, ids });
  const flatIds = ids.rank === 1 ? (ids as tf.Tensor1D) : (tf.reshape(ids, [-1]) as tf.Tensor1D);
  const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [weights, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([flatIds]);
    return {
      value: tf.gather(weights, flatIds) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.scatterND(tf.expandDims(saved[0], 1), dy, weights.shape)],
    };
  });
  const rows = lookup(table);
  return ids.rank === 1 ? rows : tf.reshape(rows, [...ids.shape, table.shape[1]]);
}
