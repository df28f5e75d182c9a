/**
 * AdamW (decoupled weight decay, Loshchilov & Hutter) over the flat weight vector, with its moments
 * in plain Float32Arrays so a checkpoint saves and restores them exactly.
 *
 * Written as one typed-array loop rather than tfjs ops: tfjs's AdamOptimizer has no decoupled decay
 * and its state is not addressable by parameter name, and as ~14 tfjs kernels per parameter tensor
 * the update took 15 ms of a 380 ms conv+CRF step on wasm, while this loop takes a few. The trainer
 * already holds the summed gradient as one flat array (that is how worker threads hand it over), so
 * the update never goes through tensors at all.
 */
import type { ParameterSet } from '../tensor/parameters.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  /**
   * Where the moments live, first then second, `2 × count` floats: a SharedArrayBuffer lets a worker
   * thread update part of the weights (`applyRange`). Default: memory of the optimizer's own.
   */
  moments?: ArrayBuffer | SharedArrayBuffer;
  /**
   * The weight decay of each range of the flat weights, instead of reading it from the parameters'
   * `noDecay` (a worker thread takes the main thread's `decayRanges`, so both decay alike).
   */
  decayRanges?: readonly DecayRange[];
}

/** Weights `[from, to)` decay by `decay`. */
export interface DecayRange {
  from: number;
  to: number;
  decay: number;
}

/** The numbers of one update that every range of it uses (so a range updated on another thread gets the same bits). */
export interface AdamWUpdate {
  lr: number;
  /** The gradient's factor (clipping). */
  scale: number;
  correction1: number;
  correction2: number;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  /** Updates applied so far (bias correction uses it). */
  step = 0;
  private readonly firstMoments: Float32Array;
  private readonly secondMoments: Float32Array;
  /** Weight decay per element (0 for `noDecay` parameters), in the flat parameter order. */
  readonly decayRanges: readonly DecayRange[];

  constructor(parameters: ParameterSet, options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    const total = parameters.count;
    const moments = options.moments ?? new ArrayBuffer(8 * total);
    if (moments.byteLength !== 8 * total) throw new Error(`AdamW: the moments need ${8 * total} bytes, got ${moments.byteLength}`);
    this.firstMoments = new Float32Array(moments, 0, total);
    this.secondMoments = new Float32Array(moments, 4 * total, total);
    let at = 0;
    this.decayRanges =
      options.decayRanges?.map((range) => ({ ...range })) ??
      parameters.specs.map((spec) => {
        const size = spec.shape.reduce((a, b) => a * b, 1);
        const range = { from: at, to: at + size, decay: spec.noDecay ? 0 : this.weightDecay };
        at += size;
        return range;
      });
  }

  /**
   * One update of `weights` (flat, parameter order) in place with `gradients` × `gradientScale` (the
   * clipping factor) at learning rate `lr`. Returns false when an updated weight is NaN or ∞.
   */
  apply(weights: Float32Array, gradients: Float32Array, lr: number, gradientScale = 1): boolean {
    return this.applyRange(weights, gradients, 0, weights.length, this.begin(lr, gradientScale));
  }

  /** Counts one update and returns its numbers, for `applyRange` over the parts of the weights. */
  begin(lr: number, gradientScale = 1): AdamWUpdate {
    this.step++;
    return { lr, scale: gradientScale, correction1: 1 - this.beta1 ** this.step, correction2: 1 - this.beta2 ** this.step };
  }

  /**
   * The update `begin` counted, on elements `[start, end)` of the weights only: element by element,
   * so ranges updated apart (on two threads) give the bits one `apply` gives. Returns false when an
   * updated weight there is NaN or ∞.
   */
  applyRange(weights: Float32Array, gradients: Float32Array, start: number, end: number, update: AdamWUpdate): boolean {
    if (weights.length !== this.firstMoments.length || gradients.length !== weights.length) {
      throw new Error(`AdamW: expected ${this.firstMoments.length} weights and gradients, got ${weights.length} and ${gradients.length}`);
    }
    const { beta1, beta2, epsilon } = this;
    const { lr, scale: gradientScale, correction1, correction2 } = update;
    const m = this.firstMoments;
    const v = this.secondMoments;
    // A NaN or ∞ among the stored (float32) weights makes this sum NaN or ∞: the finiteness check
    // costs no pass of its own.
    let check = 0;
    for (const range of this.decayRanges) {
      const from = Math.max(range.from, start);
      const to = Math.min(range.to, end);
      const decay = range.decay;
      for (let i = from; i < to; i++) {
        const g = gradients[i] * gradientScale;
        const mi = beta1 * m[i] + (1 - beta1) * g;
        const vi = beta2 * v[i] + (1 - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        const w = weights[i];
        weights[i] = w - lr * (mi / correction1 / (Math.sqrt(vi / correction2) + epsilon) + decay * w);
        check += weights[i];
      }
    }
    return Number.isFinite(check);
  }

  /** Moments, first then second, flattened in parameter order. */
  readState(): Float32Array {
    const state = new Float32Array(2 * this.firstMoments.length);
    state.set(this.firstMoments);
    state.set(this.secondMoments, this.firstMoments.length);
    return state;
  }

  writeState(values: Float32Array, step: number): void {
    const total = this.firstMoments.length;
    if (values.length !== 2 * total) throw new Error(`expected ${2 * total} values, got ${values.length}`);
    this.firstMoments.set(values.subarray(0, total));
    this.secondMoments.set(values.subarray(total));
    this.step = step;
  }
}
