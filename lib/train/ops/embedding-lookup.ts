/**
 * Embedding lookup with a scatter-add gradient. `tf.gather`'s gradient needs UnsortedSegmentSum,
 * which the wasm backend lacks (and which took 48 s per batch on the cpu backend); ScatterNd sums
 * duplicate indices, so it is exactly the gradient of a row gather.
 */
import * as tf from '@tensorflow/tfjs';

/** Rows of `table [vocab, dim]` at `ids` (int32, any shape) → `[...ids.shape, dim]`. */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const flatIds = ids.rank === 1 ? (ids as tf.Tensor1D) : tf.reshape(ids, [-1]) as tf.Tensor1D;
  const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [weights, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([flatIds]);
    return {
      value: tf.gather(weights, flatIds) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.scatterND(tf.expandDims(saved[0], 1), dy, weights.shape),
      ],
    };
  });
  const rows = lookup(table);
  return ids.rank === 1 ? rows : tf.reshape(rows, [...ids.shape, table.shape[1]]);
}
