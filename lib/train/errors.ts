/** Errors of training and prediction that a user can hit (the CLI prints them as one line, exit 2). */
import { HanlabError } from '../errors.js';

/** A model produced NaN or ∞ scores (its weights diverged). */
export class NonFiniteOutputError extends HanlabError {}

/** The loss, the gradient or the weights became NaN or ∞ during training; the run stopped. */
export class TrainingDivergedError extends HanlabError {
  constructor(
    message: string,
    /** The update (1-based) that produced the non-finite value. */
    readonly step: number,
  ) {
    super(message);
  }
}

/** Memory ran out even for a micro-batch of one example. */
export class OutOfMemoryError extends HanlabError {}

/** Throws NonFiniteOutputError when `values` holds a NaN or ∞ (`what` names them in the message). */
export function assertFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new NonFiniteOutputError(`${what} contain ${values[i]} (the model's weights have diverged; retrain it with a smaller learning rate)`);
    }
  }
}
