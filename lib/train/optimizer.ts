/**
 * AdamW (decoupled weight decay, Loshchilov & Hutter) with its state in plain variables so a
 * checkpoint can save and restore it exactly. tfjs's AdamOptimizer has no decoupled decay and its
 * state is not addressable by parameter name.
 */
import * as tf from '@tensorflow/tfjs';
import { assignFlat, concatTensors, type ParameterSet } from './parameters.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  /** Updates applied so far (bias correction uses it). */
  step = 0;
  private readonly firstMoments: tf.Variable[];
  private readonly secondMoments: tf.Variable[];

  constructor(private readonly parameters: ParameterSet, options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    // tidy releases the zero tensors; the variables keep their own reference to the data.
    this.firstMoments = tf.tidy(() => parameters.variables.map((v) => tf.variable(tf.zerosLike(v), false)));
    this.secondMoments = tf.tidy(() => parameters.variables.map((v) => tf.variable(tf.zerosLike(v), false)));
  }

  /** One update with `gradients` (same order as the parameters) at learning rate `lr`. */
  apply(gradients: readonly tf.Tensor[], lr: number): void {
    this.step++;
    const correction1 = 1 - this.beta1 ** this.step;
    const correction2 = 1 - this.beta2 ** this.step;
    tf.tidy(() => {
      this.parameters.variables.forEach((variable, i) => {
        const g = gradients[i];
        const m = tf.add(tf.mul(this.firstMoments[i], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.secondMoments[i], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.firstMoments[i].assign(m);
        this.secondMoments[i].assign(v);
        let update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), this.epsilon));
        const decay = this.parameters.specs[i].noDecay ? 0 : this.weightDecay;
        if (decay > 0) update = tf.add(update, tf.mul(variable, decay));
        variable.assign(tf.sub(variable, tf.mul(update, lr)));
      });
    });
  }

  /** Moments, first then second, flattened in parameter order. */
  readState(): Float32Array {
    return concatTensors([...this.firstMoments, ...this.secondMoments]);
  }

  writeState(values: Float32Array, step: number): void {
    assignFlat([...this.firstMoments, ...this.secondMoments], values);
    this.step = step;
  }

  dispose(): void {
    for (const v of [...this.firstMoments, ...this.secondMoments]) v.dispose();
  }
}
