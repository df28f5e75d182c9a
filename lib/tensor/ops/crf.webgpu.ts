/**
 * The device form of the CRF's negative log-likelihood: the forward algorithm in log space as tfjs
 * ops with WebGPU kernels (one log-sum-exp over `[B, K, K]` per time step; a sentence that has ended
 * keeps its last forward scores), the gold paths' scores as sums against their counts, and the
 * gradient from tfjs's tape (the marginals, as forward–backward gives them in the host form).
 * Forbidden moves and starts get a score of −1e9: exp of it is exactly 0 in float32, as the host
 * form's zero entries, without the NaN that −∞ − (−∞) would give.
 */
import * as tf from '@tensorflow/tfjs';
import { uploaded } from './dropout.webgpu.js';
import { goldCounts, type CrfParameters, type TransitionConstraints } from './crf.js';

const FORBIDDEN = -1e9;

export function crfNegLogLikelihoodWebgpu(emissions: tf.Tensor3D, params: CrfParameters, lengths: readonly number[], gold: Int32Array, constraints: TransitionConstraints): tf.Scalar {
  const [batch, time, size] = emissions.shape;
  const counts = goldCounts([batch, time, size], lengths, gold, constraints);
  const longest = Math.max(0, ...lengths.map((length) => Math.min(length, time)));
  const transitionMask = Float32Array.from(constraints.allowed, (allowed) => (allowed ? 0 : FORBIDDEN));
  const startMask = Float32Array.from(constraints.allowedStart, (allowed) => (allowed ? 0 : FORBIDDEN));
  // running[t][b] = 1 while sentence b has a token at t.
  const running = Array.from({ length: longest }, (_, t) => Float32Array.from(lengths, (length) => Number(t < length)));
  return tf.tidy(() => {
    const transitions = tf.add(params.transitions, uploaded(transitionMask, [size, size]));
    const steps = tf.unstack(emissions, 1) as tf.Tensor2D[];
    let alpha: tf.Tensor2D = tf.add(tf.add(params.start, uploaded(startMask, [size])), steps[0]);
    for (let t = 1; t < longest; t++) {
      const scores = tf.add(tf.add(tf.expandDims(alpha, 2), transitions), tf.expandDims(steps[t], 1));
      const next = tf.logSumExp(scores, 1) as tf.Tensor2D;
      const keep = uploaded(running[t], [batch, 1]);
      alpha = tf.add(tf.mul(next, keep), tf.mul(alpha, tf.sub(1, keep)));
    }
    const logZ = tf.sum(tf.logSumExp(tf.add(alpha, params.end), 1));
    const goldScore = tf.addN([
      tf.sum(tf.mul(emissions, uploaded(counts.emissions, [batch, time, size]))),
      tf.sum(tf.mul(params.transitions, uploaded(counts.transitions, [size, size]))),
      tf.sum(tf.mul(params.start, uploaded(counts.start, [size]))),
      tf.sum(tf.mul(params.end, uploaded(counts.end, [size]))),
    ]);
    return tf.sub(logZ, goldScore) as tf.Scalar;
  });
}
