/**
 * The linear-chain CRF's negative log-likelihood as a fused op: its interface (parameters and IOB2
 * transition constraints) and its device form. The host form (the forward algorithm and its exact
 * forward–backward gradient as typed-array loops, with Viterbi decoding beside it) lives with the
 * tagger in lib/train/models/crf.ts, which registers both forms with `perBackend`.
 */
import type * as tf from '@tensorflow/tfjs';

/** Which transitions a tag set allows under IOB2. */
export interface TransitionConstraints {
  /** `allowed[i * K + j]`: may tag j follow tag i. */
  allowed: Uint8Array;
  /** `allowedStart[k]`: may a sentence start with tag k. */
  allowedStart: Uint8Array;
}

export interface CrfParameters {
  /** `[K, K]`: score of moving from tag i to tag j. */
  transitions: tf.Tensor2D;
  /** `[K]`: score of starting with each tag. */
  start: tf.Tensor1D;
  /** `[K]`: score of ending with each tag. */
  end: tf.Tensor1D;
}

/**
 * Counts of the gold paths, checked against the constraints (a violation throws: its likelihood
 * would be zero). Both forms check the same way, with the same messages.
 */
export interface GoldCounts {
  /** `[B, T, K]`: 1 at each real position's gold tag. */
  emissions: Float32Array;
  /** `[K, K]`: how often each move occurs. */
  transitions: Float32Array;
  start: Float32Array;
  end: Float32Array;
}

export function goldCounts(shape: readonly [number, number, number], lengths: readonly number[], gold: Int32Array, constraints: TransitionConstraints): GoldCounts {
  const [batch, time, size] = shape;
  const counts: GoldCounts = {
    emissions: new Float32Array(batch * time * size),
    transitions: new Float32Array(size * size),
    start: new Float32Array(size),
    end: new Float32Array(size),
  };
  for (let b = 0; b < batch; b++) {
    const length = lengths[b];
    for (let t = 0; t < length; t++) {
      const tag = gold[b * time + t];
      if (tag < 0 || tag >= size) throw new Error(`crf: gold tag id ${tag} out of range at sentence ${b}, position ${t}`);
      counts.emissions[(b * time + t) * size + tag] = 1;
      if (t === 0) {
        if (!constraints.allowedStart[tag]) throw new Error(`crf: gold path of sentence ${b} starts with a forbidden tag (id ${tag})`);
        counts.start[tag]++;
      } else {
        const prevTag = gold[b * time + t - 1];
        if (!constraints.allowed[prevTag * size + tag]) throw new Error(`crf: gold path of sentence ${b} has a forbidden move ${prevTag} → ${tag} at position ${t}`);
        counts.transitions[prevTag * size + tag]++;
      }
    }
    counts.end[gold[b * time + length - 1]]++;
  }
  return counts;
}
