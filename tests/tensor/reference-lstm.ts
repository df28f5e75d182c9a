/**
 * The reference the fused `bidirectionalLstm` op is checked against: one direction of an LSTM built
 * step by step from tfjs ops, differentiated by tfjs's own autodiff (the layer the trainer used
 * before the fused op). The mask keeps the state unchanged over padding.
 */
import * as tf from '@tensorflow/tfjs';
import { dense, matMul } from '../../lib/tensor/ops/mat-mul.js';

export interface ReferenceLstmWeights {
  /** `[inputDim, 4·hidden]`, gate order i, f, g (cell candidate), o. */
  input: tf.Tensor2D;
  /** `[hidden, 4·hidden]`. */
  recurrent: tf.Tensor2D;
  /** `[4·hidden]`. */
  bias: tf.Tensor1D;
}

/**
 * Runs one direction over `x [B, T, D]`. `mask [B, T, 1]` (1 = real token) keeps the state unchanged
 * over padding, so with right-padding the reverse direction starts each sequence from a zero state
 * at its own last token. Returns `[B, T, hidden]` with zeros at padded positions.
 */
export function referenceLstm(x: tf.Tensor3D, mask: tf.Tensor3D, weights: ReferenceLstmWeights, reverse: boolean): tf.Tensor3D {
  const [batch, time] = x.shape;
  const hidden = weights.recurrent.shape[0];
  const projected = dense(x, weights.input, weights.bias) as tf.Tensor3D;
  let h: tf.Tensor2D = tf.zeros([batch, hidden]);
  let c: tf.Tensor2D = tf.zeros([batch, hidden]);
  const outputs: tf.Tensor3D[] = new Array(time);
  for (let step = 0; step < time; step++) {
    const t = reverse ? time - 1 - step : step;
    const xt = tf.reshape(tf.slice(projected, [0, t, 0], [batch, 1, 4 * hidden]), [batch, 4 * hidden]);
    const gates = tf.add(xt, matMul(h, weights.recurrent));
    const [i, f, g, o] = tf.split(gates, 4, 1) as tf.Tensor2D[];
    const cNew = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
    const hNew = tf.mul(tf.sigmoid(o), tf.tanh(cNew));
    const m = tf.reshape(tf.slice(mask, [0, t, 0], [batch, 1, 1]), [batch, 1]);
    // Over padding keep the previous state: s = s_prev + m · (s_new − s_prev).
    c = tf.add(c, tf.mul(m, tf.sub(cNew, c)));
    h = tf.add(h, tf.mul(m, tf.sub(hNew, h)));
    outputs[t] = tf.expandDims(tf.mul(hNew, m), 1) as tf.Tensor3D;
  }
  return tf.concat(outputs, 1);
}
