/**
 * The device form of `bidirectionalLstm` (lstm.ts): the same packed recurrence as a graph of tfjs ops
 * with WebGPU kernels, its gradient from tfjs's tape. One product for every input projection of both
 * directions, then per step and direction a gather of the running sentences' projections, one
 * `[n, H]·[H, 4H]` product and the gate arithmetic; the steps' hidden states are placed back into the
 * padded layout by one gather per direction (zeros at padding). Packing as in the host form: the
 * batch walked in order of decreasing length, so the running sentences are a prefix of the previous
 * step's, and the backward direction reads position `length − 1 − s`.
 */
import * as tf from '@tensorflow/tfjs';
import { uploaded } from './dropout.webgpu.js';
import type { LstmWeights } from './op-types.js';

/** Host-side indices of one direction's gathers. */
interface DirectionIndices {
  /** Per step: the flat `[B·T]` positions the running sentences read, in packed order. */
  steps: Int32Array[];
  /** `[B·T]` row of each flat position in the steps' concatenated states, or that count (a zero row) at padding. */
  placement: Int32Array;
}

function directionIndices(lengths: readonly number[], time: number, reverse: boolean): DirectionIndices {
  const clipped = lengths.map((length) => Math.max(0, Math.min(time, length)));
  const order = clipped.map((_, row) => row).sort((a, b) => clipped[b] - clipped[a] || a - b);
  const total = clipped.reduce((sum, length) => sum + length, 0);
  const placement = new Int32Array(lengths.length * time).fill(total);
  const steps: Int32Array[] = [];
  let row = 0;
  for (let s = 0; s < time; s++) {
    const running = order.filter((b) => clipped[b] > s);
    if (running.length === 0) break;
    const step = Int32Array.from(running, (b) => b * time + (reverse ? clipped[b] - 1 - s : s));
    for (const position of step) placement[position] = row++;
    steps.push(step);
  }
  return { steps, placement };
}

/** One direction over the projections `[B·T, 4H]`: its hidden states in the padded layout, `[B·T, H]`. */
function runDirection(projection: tf.Tensor2D, recurrent: tf.Tensor2D, indices: DirectionIndices): tf.Tensor2D {
  const hidden = recurrent.shape[0];
  const states: tf.Tensor2D[] = [];
  let h: tf.Tensor2D | null = null;
  let c: tf.Tensor2D | null = null;
  for (const step of indices.steps) {
    const n = step.length;
    let z = tf.gather(projection, uploaded(step, [n], 'int32')) as tf.Tensor2D;
    if (h) z = tf.add(z, tf.matMul(tf.slice(h, [0, 0], [n, hidden]), recurrent));
    const [zi, zf, zg, zo] = tf.split(z, 4, 1) as tf.Tensor2D[];
    const i = tf.sigmoid(zi);
    const g = tf.tanh(zg);
    const o = tf.sigmoid(zo);
    const cell: tf.Tensor2D = c ? tf.add(tf.mul(tf.sigmoid(zf), tf.slice(c, [0, 0], [n, hidden])), tf.mul(i, g)) : tf.mul(i, g);
    const state: tf.Tensor2D = tf.mul(o, tf.tanh(cell));
    h = state;
    c = cell;
    states.push(state);
  }
  const all = tf.concat([...states, tf.zeros([1, hidden])]);
  return tf.gather(all, uploaded(indices.placement, [indices.placement.length], 'int32')) as tf.Tensor2D;
}

/** Both directions over `x [B, T, D]` → `[B, T, 2H]`; `scales` are the dropout scales of the output, or null. */
export function bidirectionalLstmWebgpu(x: tf.Tensor3D, lengths: readonly number[], forward: LstmWeights, backward: LstmWeights, scales: Float32Array | null): tf.Tensor3D {
  const [batch, time, inputDim] = x.shape;
  const hidden = forward.recurrent.shape[0];
  return tf.tidy(() => {
    const flat = tf.reshape(x, [batch * time, inputDim]) as tf.Tensor2D;
    const projected = tf.add(tf.matMul(flat, tf.concat([forward.input, backward.input], 1)), tf.concat([forward.bias, backward.bias]));
    const [projF, projB] = tf.split(projected, 2, 1) as tf.Tensor2D[];
    const outF = runDirection(projF, forward.recurrent, directionIndices(lengths, time, false));
    const outB = runDirection(projB, backward.recurrent, directionIndices(lengths, time, true));
    let out: tf.Tensor = tf.concat([outF, outB], 1);
    if (scales) out = tf.mul(out, uploaded(scales, [batch * time, 2 * hidden]));
    return tf.reshape(out, [batch, time, 2 * hidden]) as tf.Tensor3D;
  });
}
