/**
 * How one forward pass runs: training or not, and the generator its dropout masks draw their seeds
 * from. Every model (the taggers' encoders, the pretrained encoders) takes one, so a pass is
 * reproducible from the generator's seed alone.
 */
import type * as tf from '@tensorflow/tfjs';
import { seededDropout } from './ops/dropout.js';
import type { SeededRandom } from './rng.js';

export interface ForwardContext {
  training: boolean;
  /** Draws dropout seeds; required when training with dropout > 0. */
  rng?: SeededRandom;
}

/** A dropout rate and the seed of its mask, when this forward pass trains with dropout. */
export function dropoutDraw(rate: number, context: ForwardContext): { rate: number; seed: number } | undefined {
  if (!context.training || rate <= 0) return undefined;
  if (!context.rng) throw new Error('dropout while training needs a seeded generator');
  return { rate, seed: context.rng.nextUint32() };
}

/** `x` with dropout applied when this pass trains (a seeded mask), else `x` itself. */
export function dropout<T extends tf.Tensor>(x: T, rate: number, context: ForwardContext): T {
  const draw = dropoutDraw(rate, context);
  return draw ? seededDropout(x, draw.rate, draw.seed) : x;
}
