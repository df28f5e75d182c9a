/**
 * Test helper: a tiny random PEFT LoRA adapter in PEFT's own layout (adapter_config.json as LoraConfig
 * writes it, adapter_model.safetensors with `base_model.model.<module>.lora_A.weight` [r, in] and
 * `….lora_B.weight` [out, r]) for the tiny llama / gemma2 models of scripts/make-tiny-gguf.ts, with the
 * module names of the HF models those GGUF files would have been converted from.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../../lib/models/safetensors.js';
import { TINY_SIZES, tinyGgufContent, type TinyGgufArchitecture } from '../../scripts/make-tiny-gguf.js';

export interface TinyAdapterOptions {
  arch: TinyGgufArchitecture;
  seed?: number;
  r?: number;
  alpha?: number;
  /** Module names without `base_model.model.`; default: every projection of every layer (+ lm_head for llama). */
  modules?: string[];
  /** Fields to set or replace in adapter_config.json. */
  config?: Record<string, unknown>;
  /** Extra tensors, or shapes to replace, by full tensor name. */
  tensors?: Record<string, TensorToWrite>;
  /** Size of lora_B's values (lora_A's are ~U(-1/√in, 1/√in), as PEFT initialises them). */
  bScale?: number;
}

/** The (out, in) shape of each module of the tiny models, from the GGUF tensor it adapts. */
export function tinyModuleShapes(arch: TinyGgufArchitecture): Map<string, { outputs: number; inputs: number }> {
  const { embedding, feedForward, heads, kvHeads, layers } = TINY_SIZES;
  const headDim = embedding / heads;
  const shapes = new Map<string, { outputs: number; inputs: number }>();
  for (let layer = 0; layer < layers; layer++) {
    const at = `model.layers.${layer}.`;
    shapes.set(`${at}self_attn.q_proj`, { outputs: heads * headDim, inputs: embedding });
    shapes.set(`${at}self_attn.k_proj`, { outputs: kvHeads * headDim, inputs: embedding });
    shapes.set(`${at}self_attn.v_proj`, { outputs: kvHeads * headDim, inputs: embedding });
    shapes.set(`${at}self_attn.o_proj`, { outputs: embedding, inputs: heads * headDim });
    shapes.set(`${at}mlp.gate_proj`, { outputs: feedForward, inputs: embedding });
    shapes.set(`${at}mlp.up_proj`, { outputs: feedForward, inputs: embedding });
    shapes.set(`${at}mlp.down_proj`, { outputs: embedding, inputs: feedForward });
  }
  if (arch === 'llama') {
    const vocabulary = tinyGgufContent('llama').tensors.find((t) => t.name === 'output.weight')!.dims[1]!;
    shapes.set('lm_head', { outputs: vocabulary, inputs: embedding });
  }
  return shapes;
}

/** mulberry32: the same numbers in every Node version. */
function uniformSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** LoraConfig's adapter_config.json, as PEFT 0.13 writes it for a causal LM. */
export function peftLoraConfig(r: number, alpha: number, targetModules: string[]): Record<string, unknown> {
  return {
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: 'hanlab/tiny-random', bias: 'none',
    fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, layer_replication: null,
    layers_pattern: null, layers_to_transform: null, loftq_config: {}, lora_alpha: alpha, lora_dropout: 0.05,
    megatron_config: null, megatron_core: 'megatron.core', modules_to_save: null, peft_type: 'LORA', r,
    rank_pattern: {}, revision: null, target_modules: targetModules, task_type: 'CAUSAL_LM', use_dora: false,
    use_rslora: false,
  };
}

/** Writes the adapter folder `dir` and returns it. */
export function writeTinyAdapter(dir: string, options: TinyAdapterOptions): string {
  const r = options.r ?? 4;
  const alpha = options.alpha ?? 8;
  const shapes = tinyModuleShapes(options.arch);
  const modules = options.modules ?? [...shapes.keys()];
  const uniform = uniformSource((options.seed ?? 1) * 104729 + (options.arch === 'llama' ? 3 : 4));
  const bScale = options.bScale ?? 0.3;
  const tensors: Record<string, TensorToWrite> = {};
  for (const module of modules) {
    // gemma3's text model sits under language_model; other unknown modules get hidden × hidden.
    const textModule = module.replace(/^model\.language_model\./, 'model.').replace(/^language_model\.model\./, 'model.');
    const shape = shapes.get(textModule) ?? { outputs: TINY_SIZES.embedding, inputs: TINY_SIZES.embedding };
    const bound = 1 / Math.sqrt(shape.inputs);
    tensors[`base_model.model.${module}.lora_A.weight`] = {
      shape: [r, shape.inputs], values: Float32Array.from({ length: r * shape.inputs }, () => (uniform() * 2 - 1) * bound),
    };
    // Trained B is not zero: random values of a trained adapter's size.
    tensors[`base_model.model.${module}.lora_B.weight`] = {
      shape: [shape.outputs, r], values: Float32Array.from({ length: shape.outputs * r }, () => (uniform() * 2 - 1) * bScale),
    };
  }
  Object.assign(tensors, options.tensors ?? {});
  mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, 'adapter_model.safetensors'), tensors);
  const targets = [...new Set(modules.map((m) => m.slice(m.lastIndexOf('.') + 1)))];
  writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ ...peftLoraConfig(r, alpha, targets), ...options.config }, null, 2));
  return dir;
}
