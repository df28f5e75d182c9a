/**
 * A linear-chain CRF head: negative log-likelihood by the forward algorithm, its exact gradient by
 * forward–backward, Viterbi decoding, and IOB2 constraints (an `I-X` may only follow `B-X` or `I-X`,
 * and never starts a sentence) applied in training and decoding alike.
 *
 * Hand-written in plain JS over the emission scores rather than as a graph of tfjs ops: the
 * recursion over time steps would cost ~10 tiny kernel launches per step (and as many in the
 * gradient), while the whole batch here is ~B·T·K² multiply-adds, well under a millisecond. The loss is
 * wrapped in `tf.customGrad` so it composes with the encoder's autodiff.
 */
import * as tf from '@tensorflow/tfjs';
import type { CrfParameters, TransitionConstraints } from '../../tensor/ops/crf.js';
import { crfNegLogLikelihoodWebgpu } from '../../tensor/ops/crf.webgpu.js';
import { perBackend } from '../../tensor/ops/op-form.js';
import { doubles, floats, readValues, tensorOf } from '../../tensor/ops/scratch.js';

export type { CrfParameters, TransitionConstraints } from '../../tensor/ops/crf.js';

/** IOB2 constraints for tag names like `O`, `B-PS`, `I-PS`. */
export function iob2Constraints(tags: readonly string[]): TransitionConstraints {
  const size = tags.length;
  const allowed = new Uint8Array(size * size);
  const allowedStart = new Uint8Array(size);
  for (let j = 0; j < size; j++) {
    const inside = tags[j].startsWith('I-') ? tags[j].slice(2) : undefined;
    allowedStart[j] = inside === undefined ? 1 : 0;
    for (let i = 0; i < size; i++) {
      allowed[i * size + j] = inside === undefined || tags[i] === `B-${inside}` || tags[i] === `I-${inside}` ? 1 : 0;
    }
  }
  return { allowed, allowedStart };
}

/** No constraints (every move allowed). */
export function unconstrained(size: number): TransitionConstraints {
  return { allowed: new Uint8Array(size * size).fill(1), allowedStart: new Uint8Array(size).fill(1) };
}

/**
 * Sum over the batch of −log p(gold | emissions). `emissions [B, T, K]`; `lengths[b]` real tokens of
 * sentence b (≥ 1); `gold` row-major `[B, T]` tag ids (padding ignored). Gold paths must satisfy the
 * constraints (checked: a violation throws, since its likelihood would be zero).
 */
export const crfNegLogLikelihood = perBackend(
  'crfNegLogLikelihood',
  { 'typed-arrays': crfNegLogLikelihoodTypedArrays, webgpu: crfNegLogLikelihoodWebgpu },
  (emissions, params) => ({ emissions, transitions: params.transitions, start: params.start, end: params.end }),
);

/** The host form of crfNegLogLikelihood (see lib/tensor/ops/crf.ts for the op and its device form). */
function crfNegLogLikelihoodTypedArrays(
  emissions: tf.Tensor3D,
  params: CrfParameters,
  lengths: readonly number[],
  gold: Int32Array,
  constraints: TransitionConstraints,
): tf.Scalar {
  const [batch, time, size] = emissions.shape;
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [e, trans, start, end, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    // Scratch memory (a training micro-batch reuses the last one's): these arrays are the size of the
    // batch's scores, and fresh ones each step kept V8 collecting.
    const E = readValues(e);
    const T = readValues(trans);
    const S = readValues(start);
    const N = readValues(end);
    const expT = doubles(size * size);
    for (let x = 0; x < size * size; x++) expT[x] = constraints.allowed[x] ? Math.exp(T[x]) : 0;
    const expS = doubles(size);
    const expN = doubles(size);
    for (let k = 0; k < size; k++) {
      expS[k] = constraints.allowedStart[k] ? Math.exp(S[k]) : 0;
      expN[k] = Math.exp(N[k]);
    }
    // Scaled forward pass: alpha rows are normalised each step; scale[t] keeps the dropped mass.
    const alpha = doubles(batch * time * size);
    const psi = doubles(batch * time * size);
    const scale = doubles(batch * time);
    const finalZ = doubles(batch);
    let total = 0;
    for (let b = 0; b < batch; b++) {
      const length = lengths[b];
      let logZ = 0;
      for (let t = 0; t < length; t++) {
        const row = (b * time + t) * size;
        let peak = -Infinity;
        for (let k = 0; k < size; k++) peak = Math.max(peak, E[row + k]);
        for (let k = 0; k < size; k++) psi[row + k] = Math.exp(E[row + k] - peak);
        let sum = 0;
        if (t === 0) {
          for (let k = 0; k < size; k++) sum += alpha[row + k] = expS[k] * psi[row + k];
        } else {
          const prev = row - size;
          for (let j = 0; j < size; j++) {
            let acc = 0;
            for (let i = 0; i < size; i++) acc += alpha[prev + i] * expT[i * size + j];
            sum += alpha[row + j] = acc * psi[row + j];
          }
        }
        for (let k = 0; k < size; k++) alpha[row + k] /= sum;
        scale[b * time + t] = sum;
        logZ += Math.log(sum) + peak;
      }
      const lastRow = (b * time + length - 1) * size;
      let z = 0;
      for (let k = 0; k < size; k++) z += alpha[lastRow + k] * expN[k];
      finalZ[b] = z;
      logZ += Math.log(z);
      // Gold path score.
      let goldScore = 0;
      for (let t = 0; t < length; t++) {
        const tag = gold[b * time + t];
        if (tag < 0 || tag >= size) throw new Error(`crf: gold tag id ${tag} out of range at sentence ${b}, position ${t}`);
        goldScore += E[(b * time + t) * size + tag];
        if (t === 0) {
          if (!constraints.allowedStart[tag]) throw new Error(`crf: gold path of sentence ${b} starts with a forbidden tag (id ${tag})`);
          goldScore += S[tag];
        } else {
          const prevTag = gold[b * time + t - 1];
          if (!constraints.allowed[prevTag * size + tag]) {
            throw new Error(`crf: gold path of sentence ${b} has a forbidden move ${prevTag} → ${tag} at position ${t}`);
          }
          goldScore += T[prevTag * size + tag];
        }
      }
      goldScore += N[gold[b * time + length - 1]];
      total += logZ - goldScore;
    }
    save([]);
    return {
      value: tf.scalar(total) as tf.Tensor,
      gradFunc: (dy: tf.Tensor) => {
        const upstream = dy.dataSync()[0];
        const dE = floats(batch * time * size);
        const dT = doubles(size * size);
        const dS = doubles(size);
        const dN = doubles(size);
        const beta = doubles(time * size);
        for (let b = 0; b < batch; b++) {
          const length = lengths[b];
          const z = finalZ[b];
          const base = b * time;
          for (let k = 0; k < size; k++) beta[(length - 1) * size + k] = expN[k];
          for (let t = length - 2; t >= 0; t--) {
            const nextRow = (base + t + 1) * size;
            const c = scale[base + t + 1];
            for (let i = 0; i < size; i++) {
              let acc = 0;
              for (let j = 0; j < size; j++) acc += expT[i * size + j] * psi[nextRow + j] * beta[(t + 1) * size + j];
              beta[t * size + i] = acc / c;
            }
          }
          for (let t = 0; t < length; t++) {
            const row = (base + t) * size;
            for (let k = 0; k < size; k++) {
              const marginal = (alpha[row + k] * beta[t * size + k]) / z;
              dE[row + k] = marginal;
              if (t === 0) dS[k] += marginal;
              if (t === length - 1) dN[k] += marginal;
            }
            if (t > 0) {
              const prev = row - size;
              const denominator = scale[base + t] * z;
              for (let i = 0; i < size; i++) {
                const a = alpha[prev + i];
                if (a === 0) continue;
                for (let j = 0; j < size; j++) {
                  dT[i * size + j] += (a * expT[i * size + j] * psi[row + j] * beta[t * size + j]) / denominator;
                }
              }
            }
            const tag = gold[base + t];
            dE[row + tag] -= 1;
            if (t === 0) dS[tag] -= 1;
            else dT[gold[base + t - 1] * size + tag] -= 1;
          }
          dN[gold[base + length - 1]] -= 1;
        }
        for (let x = 0; x < dE.length; x++) dE[x] *= upstream;
        return [
          tensorOf<tf.Rank.R3>(dE, [batch, time, size]),
          tf.tensor2d(Float32Array.from(dT, (v) => v * upstream), [size, size]),
          tf.tensor1d(Float32Array.from(dS, (v) => v * upstream)),
          tf.tensor1d(Float32Array.from(dN, (v) => v * upstream)),
        ];
      },
    };
  });
  return loss(emissions, params.transitions, params.start, params.end) as tf.Scalar;
}

/** Best tag path per sentence under the constraints. `emissions` row-major `[B, T, K]`. */
export function viterbiDecode(
  emissions: Float32Array,
  shape: readonly [number, number, number],
  transitions: Float32Array,
  start: Float32Array,
  end: Float32Array,
  lengths: readonly number[],
  constraints: TransitionConstraints,
): number[][] {
  const [batch, time, size] = shape;
  const paths: number[][] = [];
  const score = new Float64Array(size);
  const next = new Float64Array(size);
  const backPointer = new Int32Array(time * size);
  for (let b = 0; b < batch; b++) {
    const length = lengths[b];
    if (length === 0) {
      paths.push([]);
      continue;
    }
    for (let k = 0; k < size; k++) {
      score[k] = constraints.allowedStart[k] ? start[k] + emissions[b * time * size + k] : -Infinity;
    }
    for (let t = 1; t < length; t++) {
      const row = (b * time + t) * size;
      for (let j = 0; j < size; j++) {
        let best = -Infinity;
        let arg = 0;
        for (let i = 0; i < size; i++) {
          if (!constraints.allowed[i * size + j]) continue;
          const candidate = score[i] + transitions[i * size + j];
          if (candidate > best) {
            best = candidate;
            arg = i;
          }
        }
        next[j] = best + emissions[row + j];
        backPointer[t * size + j] = arg;
      }
      score.set(next);
    }
    let bestTag = 0;
    let bestScore = -Infinity;
    for (let k = 0; k < size; k++) {
      const candidate = score[k] + end[k];
      if (candidate > bestScore) {
        bestScore = candidate;
        bestTag = k;
      }
    }
    const path = new Array<number>(length);
    path[length - 1] = bestTag;
    for (let t = length - 1; t > 0; t--) path[t - 1] = backPointer[t * size + path[t]];
    paths.push(path);
  }
  return paths;
}
