/**
 * The device form of `bidirectionalLstm` (lstm.ts): the same recurrence as a graph of tfjs ops with
 * WebGPU kernels, its gradient from tfjs's tape. One product for every input projection of both
 * directions, then per step and direction a gather of each sentence's projection at that step, one
 * `[B, H]·[H, 4H]` product and the gate arithmetic; the steps' hidden states are placed back into the
 * padded layout by one gather per direction (zeros at padding). The forward direction reads position
 * s of each sentence, the backward direction position `length − 1 − s`, as in the host form.
 *
 * Unlike the host form, every step computes the whole batch and a sentence that has ended keeps its
 * state (a 0/1 mask per row): every step then has the same shapes, so WebGPU compiles each kernel
 * once per batch shape instead of once per count of running sentences (measured on SwiftShader: the
 * packed form spent most of its time compiling shaders). For a running sentence the mask multiplies
 * by exactly 1 and 0, so its values are those of the packed recurrence.
 */
import * as tf from '@tensorflow/tfjs';
import { uploaded } from './dropout.webgpu.js';
import type { LstmWeights } from './op-types.js';

/** Host-side indices and masks of one direction. */
interface DirectionIndices {
  /** Per step: the flat `[B·T]` position each sentence reads (position 0 of its row once it has ended). */
  steps: Int32Array[];
  /** Per step: 1 for each sentence still running, else 0 (`[B, 1]`). */
  running: Float32Array[];
  /** `[B·T]` row of each flat position in the steps' stacked states `[steps·B, H]`, or that count (a zero row) at padding. */
  placement: Int32Array;
}

function directionIndices(lengths: readonly number[], time: number, reverse: boolean): DirectionIndices {
  const batch = lengths.length;
  const clipped = lengths.map((length) => Math.max(0, Math.min(time, length)));
  const longest = Math.max(0, ...clipped);
  const placement = new Int32Array(batch * time).fill(longest * batch);
  const steps: Int32Array[] = [];
  const running: Float32Array[] = [];
  for (let s = 0; s < longest; s++) {
    const step = new Int32Array(batch);
    const mask = new Float32Array(batch);
    clipped.forEach((length, b) => {
      if (s >= length) {
        step[b] = b * time;
        return;
      }
      const position = b * time + (reverse ? length - 1 - s : s);
      step[b] = position;
      mask[b] = 1;
      placement[position] = s * batch + b;
    });
    steps.push(step);
    running.push(mask);
  }
  return { steps, running, placement };
}

/** One direction over the projections `[B·T, 4H]`: its hidden states in the padded layout, `[B·T, H]`. */
function runDirection(projection: tf.Tensor2D, recurrent: tf.Tensor2D, indices: DirectionIndices): tf.Tensor2D {
  const hidden = recurrent.shape[0];
  const batch = indices.steps[0]?.length ?? 0;
  const states: tf.Tensor2D[] = [];
  let h: tf.Tensor2D | null = null;
  let c: tf.Tensor2D | null = null;
  indices.steps.forEach((step, s) => {
    let z = tf.gather(projection, uploaded(step, [batch], 'int32')) as tf.Tensor2D;
    if (h) z = tf.add(z, tf.matMul(h, recurrent));
    const [zi, zf, zg, zo] = tf.split(z, 4, 1) as tf.Tensor2D[];
    const i = tf.sigmoid(zi);
    const g = tf.tanh(zg);
    const o = tf.sigmoid(zo);
    const candidateCell: tf.Tensor2D = c ? tf.add(tf.mul(tf.sigmoid(zf), c), tf.mul(i, g)) : tf.mul(i, g);
    const candidate: tf.Tensor2D = tf.mul(o, tf.tanh(candidateCell));
    const keep = uploaded(indices.running[s], [batch, 1]);
    const ended = tf.sub(1, keep);
    // A sentence that has ended keeps its state (it is never placed in the output again).
    const cell: tf.Tensor2D = c ? tf.add(tf.mul(candidateCell, keep), tf.mul(c, ended)) : tf.mul(candidateCell, keep);
    const state: tf.Tensor2D = h ? tf.add(tf.mul(candidate, keep), tf.mul(h, ended)) : tf.mul(candidate, keep);
    h = state;
    c = cell;
    states.push(state);
  });
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
