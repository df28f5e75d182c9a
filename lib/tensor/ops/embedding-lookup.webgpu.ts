/**
 * The device form of `embedTokens` (embedding-lookup.ts): a gather per table at the tokens' ids, their
 * sum, times one mask that zeroes padding and applies the dropout scales; the gradient scatter-adds
 * the upstream rows into each table (UnsortedSegmentSum, a WebGPU kernel). Same function as the host
 * form: the ids are checked on the host with the same message, and padding positions read row 0 and
 * are masked out.
 */
import * as tf from '@tensorflow/tfjs';
import { uploaded } from './dropout.webgpu.js';
import type { EmbeddingInput, SequenceShape } from './op-types.js';

export function embedTokensWebgpu(inputs: readonly EmbeddingInput[], shape: SequenceShape, scales: Float32Array | null): tf.Tensor3D {
  const { size, time, lengths } = shape;
  const dim = inputs[0].table.shape[1];
  const positions = size * time;
  // Ids with padding pointed at row 0 (masked below), and the mask: 0 at padding, else the dropout scale (or 1).
  const idArrays = inputs.map(({ table, ids }) => {
    const rows = table.shape[0];
    const safe = new Int32Array(positions);
    for (let b = 0; b < size; b++) {
      for (let t = 0; t < Math.min(lengths[b], time); t++) {
        const id = ids[b * time + t];
        if (id < 0 || id >= rows) throw new Error(`embedTokens: id ${id} outside a table of ${rows} rows`);
        safe[b * time + t] = id;
      }
    }
    return safe;
  });
  const mask = new Float32Array(positions * dim);
  for (let b = 0; b < size; b++) {
    for (let t = 0; t < Math.min(lengths[b], time); t++) {
      const at = (b * time + t) * dim;
      for (let d = 0; d < dim; d++) mask[at + d] = scales ? scales[at + d] : 1;
    }
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[inputs.length] as tf.GradSaveFunc;
    const tables = args.slice(0, inputs.length) as tf.Tensor2D[];
    const idTensors = idArrays.map((ids) => uploaded(ids, [positions], 'int32'));
    const maskTensor = uploaded(mask, [positions, dim]);
    save([maskTensor, ...idTensors]);
    const rows = tables.map((table, k) => tf.gather(table, idTensors[k]));
    const summed = rows.length === 1 ? rows[0] : tf.addN(rows);
    return {
      value: tf.reshape(tf.mul(summed, maskTensor), [size, time, dim]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedMask, ...savedIds] = saved;
        const upstream = tf.mul(tf.reshape(dy, [positions, dim]), savedMask);
        return tables.map((table, k) => tf.unsortedSegmentSum(upstream, savedIds[k] as tf.Tensor1D, table.shape[0]));
      },
    };
  });
  return op(...inputs.map((input) => input.table)) as tf.Tensor3D;
}
