/**
 * Which implementation of a fused op runs: one form per kind of backend, decided by the running
 * backend's name, and the guard that keeps one model on one backend.
 *
 * - `typed-arrays`: the host form. The op's element loops run in JavaScript over typed arrays (on
 *   wasm straight in its heap, through ../backend-internals.ts; on the other host backends through
 *   the public API), and tfjs runs only the matrix products.
 * - `webgpu`: the device form. The op is a graph of tfjs ops that have WebGPU kernels, so the values
 *   never leave the GPU (a synchronous read does not exist there in Node: tfjs's `dataSync` needs an
 *   OffscreenCanvas), and tfjs's tape gives the gradient.
 *
 * Both forms compute the same function to float32 rounding (tests/tensor/webgpu-ops.test.ts). This
 * module, and the fused ops that call it, are the only places that ask which backend runs.
 */
import * as tf from '@tensorflow/tfjs';
import { HanlabError } from '../../errors.js';
import { tensorBackendName } from '../backend-internals.js';

export type OpForm = 'typed-arrays' | 'webgpu';

/** A tensor given to an op lives on another backend than the one running (tfjs would move it silently). */
export class MixedBackendError extends HanlabError {}

/** The form of the fused ops on the running backend (a function of its name: nothing to remember). */
export function opForm(): OpForm {
  return formOf(tf.getBackend());
}

function formOf(backend: string): OpForm {
  return backend === 'webgpu' ? 'webgpu' : 'typed-arrays';
}

/**
 * The form for `op` over `inputs`, after checking that every input lives on the running backend: a
 * tensor made before a backend switch (a model built on wasm, then run on webgpu) is an error that
 * names the op and the input, not a silent copy through the host.
 */
export function formFor(op: string, inputs: Readonly<Record<string, tf.Tensor | undefined>>): OpForm {
  const running = tf.getBackend();
  for (const [name, tensor] of Object.entries(inputs)) {
    if (!tensor) continue;
    const holder = tensorBackendName(tensor);
    if (holder !== undefined && holder !== running) {
      throw new MixedBackendError(
        `${op}: its input "${name}" lives on the ${holder} backend but ${running} runs now; ` +
          `build the model (or load it) after choosing the backend, and keep one backend per model`,
      );
    }
  }
  return formOf(running);
}

/**
 * An op with a host form written above the tensor floor (the CRF's loops live with the tagger): the
 * function that checks the tensors `inputsOf` names and runs the running backend's form, so the
 * caller never asks which backend runs.
 */
export function perBackend<A extends unknown[], R>(
  op: string,
  forms: Readonly<Record<OpForm, (...args: A) => R>>,
  inputsOf: (...args: A) => Record<string, tf.Tensor | undefined>,
): (...args: A) => R {
  return (...args: A) => forms[formFor(op, inputsOf(...args))](...args);
}
