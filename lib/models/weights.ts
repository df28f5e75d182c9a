/**
 * Named weights of an encoder, addressed by the same dotted names as in the checkpoint
 * (`bert.encoder.layer.0.attention.self.query.weight`), and the layer functions architectures call
 * by module name (`linear(x, 'bert.encoder.layer.0.attention.self.query')`), so a LoRA adapter can
 * wrap any named dense layer without touching the architecture code.
 *
 * Layout: PyTorch stores a Linear weight as `[out, in]`; we hold it as `[in, out]` (the kernel a plain
 * `x · W` needs: the wasm backend's fast matMul path has no transposed operands), and transpose back
 * when writing HF files. Every other tensor keeps the checkpoint's layout.
 */
import * as tf from '@tensorflow/tfjs';
import { dense, matMulWithTransposes } from '../tensor/ops/mat-mul.js';
import { checkpointed } from '../tensor/ops/checkpoint.js';
import { embeddingLookup } from '../tensor/ops/embedding-lookup.js';
import { dropout, type ForwardContext } from '../tensor/forward-context.js';
import { layerNorm, linear } from './ops.js';

export type WeightRole = 'linear' | 'bias' | 'embedding' | 'norm-weight' | 'norm-bias';

export interface WeightSpec {
  /** The checkpoint's name. */
  name: string;
  /** The checkpoint's shape (`[out, in]` for Linear weights). */
  shape: number[];
  role: WeightRole;
  /** Belongs to the task head (new, randomly initialised, when the checkpoint lacks it). */
  head?: boolean;
}

/** Our in-memory shape for a checkpoint tensor. */
export function internalShape(spec: WeightSpec): number[] {
  return spec.role === 'linear' ? [spec.shape[1], spec.shape[0]] : [...spec.shape];
}

/** Checkpoint values → our layout (transposes Linear weights). */
export function toInternal(spec: WeightSpec, values: Float32Array): Float32Array {
  return spec.role === 'linear' ? transpose2d(values, spec.shape[0], spec.shape[1]) : values;
}

/** Our layout → checkpoint values. */
export function toCheckpoint(spec: WeightSpec, values: Float32Array): Float32Array {
  return spec.role === 'linear' ? transpose2d(values, spec.shape[1], spec.shape[0]) : values;
}

export function transpose2d(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    const from = r * columns;
    for (let c = 0; c < columns; c++) out[c * rows + r] = values[from + c];
  }
  return out;
}

/** HF's rule for weight decay: none on biases and LayerNorm weights. */
export function exemptFromDecay(spec: WeightSpec): boolean {
  return spec.role === 'bias' || spec.role === 'norm-weight' || spec.role === 'norm-bias';
}

/** Specs of one Linear layer `name` (weight `[out, in]`, optional bias). */
export function linearSpecs(name: string, inputs: number, outputs: number, options: { bias?: boolean; head?: boolean } = {}): WeightSpec[] {
  const specs: WeightSpec[] = [{ name: `${name}.weight`, shape: [outputs, inputs], role: 'linear', head: options.head }];
  if (options.bias !== false) specs.push({ name: `${name}.bias`, shape: [outputs], role: 'bias', head: options.head });
  return specs;
}

export function layerNormSpecs(name: string, size: number): WeightSpec[] {
  return [
    { name: `${name}.weight`, shape: [size], role: 'norm-weight' },
    { name: `${name}.bias`, shape: [size], role: 'norm-bias' },
  ];
}

/** `x · kernel + bias` over the last axis with a gradient for `x` only (`kernel` and `bias` are constants). */
export function frozenDense(x: tf.Tensor, kernel: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor {
  const inner = kernel.shape[0];
  const lead = x.shape.slice(0, -1);
  const product = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input] = args as [tf.Tensor2D];
    return {
      value: tf.matMul(input, kernel) as tf.Tensor,
      gradFunc: (dy: tf.Tensor) => [matMulWithTransposes(dy as tf.Tensor2D, kernel, false, true)],
    };
  });
  let y = product(tf.reshape(x, [-1, inner]));
  if (bias) y = tf.add(y, bias);
  return tf.reshape(y, [...lead, kernel.shape[1]]);
}

/** A low-rank update wrapped around one dense layer (PEFT's LoRA `Linear`). */
export interface LoraLayer {
  /** `[in, r]` (PEFT's `lora_A.weight` transposed). */
  a: tf.Tensor2D;
  /** `[r, out]` (PEFT's `lora_B.weight` transposed). */
  b: tf.Tensor2D;
  scaling: number;
  dropout: number;
}

/** What architecture code sees: named tensors and the layers built from them. */
export class LayerContext {
  constructor(
    private readonly lookup: (name: string) => tf.Tensor,
    private readonly lora: ReadonlyMap<string, LoraLayer>,
    readonly forward: ForwardContext,
    /** Recompute each `checkpoint`ed layer in the backward pass instead of keeping its tensors. */
    private readonly checkpointing = false,
  ) {}

  /**
   * `step(x)`, one encoder layer named `prefix`; with checkpointing, a layer whose backward pass keeps
   * only its input `x`: TensorFlow.js otherwise holds every intermediate tensor and every intermediate
   * gradient of a training step until the step ends (4.8 GiB for a base-size GLiNER2 at batch 4, more
   * than the wasm heap's 4 GiB). The layer runs again in the backward pass, its dropout masks drawn
   * from the generator state it started from, and gives the gradients of `x` and of its LoRA matrices.
   * `constants` are the tensors `step` reads besides `x` and the weights (masks, shared embeddings).
   */
  checkpoint(x: tf.Tensor2D, prefix: string, constants: tf.Tensor[], step: (x: tf.Tensor2D, constants: tf.Tensor[]) => tf.Tensor2D): tf.Tensor2D {
    if (!this.checkpointing) return step(x, constants);
    const adapters = [...this.lora].filter(([module]) => module.startsWith(prefix + '.')).flatMap(([, layer]) => [layer.a, layer.b]);
    return checkpointed(step, x, constants, adapters, this.forward.rng);
  }

  weight<T extends tf.Tensor = tf.Tensor>(name: string): T {
    return this.lookup(name) as T;
  }

  /** Dense layer `name` (`name.weight`, `name.bias` when present) over the last axis, plus its LoRA update. */
  linear(x: tf.Tensor, name: string, bias = true): tf.Tensor {
    const kernel = this.weight<tf.Tensor2D>(`${name}.weight`);
    const shift = bias ? this.weight<tf.Tensor1D>(`${name}.bias`) : undefined;
    // A frozen weight (LoRA's base) needs no gradient: skip its product in the backward pass.
    let y = kernel instanceof tf.Variable ? linear(x, kernel, shift) : frozenDense(x, kernel, shift);
    const adapter = this.lora.get(name);
    if (adapter) {
      const input = dropout(x, adapter.dropout, this.forward);
      y = tf.add(y, tf.mul(dense(dense(input, adapter.a), adapter.b), adapter.scaling));
    }
    return y;
  }

  layerNorm(x: tf.Tensor, name: string, eps: number): tf.Tensor {
    return layerNorm(x, this.weight<tf.Tensor1D>(`${name}.weight`), this.weight<tf.Tensor1D>(`${name}.bias`), eps);
  }

  /** Rows of embedding table `name` at `ids` (int32, any shape). */
  embedding(name: string, ids: tf.Tensor): tf.Tensor {
    return embeddingLookup(this.weight<tf.Tensor2D>(`${name}.weight`), ids);
  }

  dropout<T extends tf.Tensor>(x: T, rate: number): T {
    return dropout(x, rate, this.forward);
  }
}
