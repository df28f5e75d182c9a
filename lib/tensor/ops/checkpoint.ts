/**
 * Gradient checkpointing: a block of ops whose backward pass keeps only its input, running the block
 * again to differentiate it. TensorFlow.js keeps every intermediate tensor and every intermediate
 * gradient of `variableGrads` until it returns; for a base-size encoder (a GLiNER2 LoRA step at
 * batch 4) that is 4.8 GiB, more than the wasm heap's 4 GiB. Checkpointed layer by layer, a step holds
 * the layers' inputs plus one layer's tensors at a time, for one more forward pass of compute.
 *
 * The recomputation is a nested `tf.grads` inside a gradient function. TensorFlow.js supports that for
 * higher-order gradients only while an outer tape is recording; here the outer backward pass has ended
 * its recording, so the nested call would start a tape of its own and, when it ends, drop the outer
 * one (whose saved tensors the outer pass still frees). The engine's active tape is therefore put back
 * after the nested call. That member is not public API (read through lib/tensor/backend-internals.ts):
 * where a tfjs release lacks it, the block simply runs without checkpointing (same values, more memory).
 */
import * as tf from '@tensorflow/tfjs';
import { engineTapeState } from '../backend-internals.js';
import type { SeededRandom } from '../rng.js';

/**
 * `step(x, constants)` whose gradients (for `x` and `parameters`, the variables `step` reads) are
 * computed by running it again in the backward pass. `constants` are the other tensors `step` reads
 * (masks, shared embeddings; weights it reads need not be named). `rng`, the generator its dropout
 * masks draw from, is rewound for the second run, so the masks are the same.
 */
export function checkpointed<T extends tf.Tensor>(step: (x: T, constants: tf.Tensor[]) => T, x: T, constants: tf.Tensor[], parameters: tf.Tensor[], rng?: SeededRandom): T {
  if (!engineTapeState()) return step(x, constants);
  const start = rng?.getState();
  const block = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as T;
    // Only saved tensors outlive the forward pass: the input and the constants.
    (args[args.length - 1] as tf.GradSaveFunc)([input, ...constants]);
    return {
      value: step(input, constants),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, ...savedConstants] = saved;
        const state = engineTapeState() as { activeTape?: unknown };
        const outerTape = state.activeTape;
        const now = rng?.getState();
        if (rng && start) rng.setState(start);
        try {
          // `parameters` are the very tensors `step` reads, so their gradients come with the input's.
          return tf.grads((again: tf.Tensor) => step(again as T, savedConstants))([savedInput, ...parameters], dy);
        } finally {
          if (rng && now) rng.setState(now);
          state.activeTape = outerTape;
        }
      },
    };
  });
  return block(x, ...parameters) as T;
}
