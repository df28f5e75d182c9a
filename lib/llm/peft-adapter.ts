/**
 * Reads a PEFT LoRA adapter folder as HF PEFT and hanlab's encoder trainer write it:
 * `adapter_config.json` (LoraConfig) and `adapter_model.safetensors` with one pair per wrapped Linear
 * layer, `base_model.model.<module>.lora_A.weight` [r, in] and `….lora_B.weight` [out, r]. The
 * update it stands for is `W + (alpha / r)·B·A` (`alpha / √r` with rsLoRA).
 *
 * Options that change what the adapter computes beyond that (DoRA, per-module ranks or alphas, LoRA
 * biases, whole saved modules, …) are refused by name: a converter that dropped them would write an
 * adapter that quietly computes something else.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { SafetensorsArchive, type TensorInfo } from '../models/safetensors.js';

export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';

/** One wrapped layer: its module name (without `base_model.model.`) and its two tensors. */
export interface LoraPair {
  module: string;
  /** lora_A [r, in]. */
  a: TensorInfo;
  /** lora_B [out, r]. */
  b: TensorInfo;
  inputs: number;
  outputs: number;
}

export interface PeftLoraAdapter {
  dir: string;
  configFile: string;
  weightsFile: string;
  weights: SafetensorsArchive;
  r: number;
  alpha: number;
  /** rsLoRA scales by alpha/√r instead of alpha/r. */
  useRslora: boolean;
  /** In the order of the safetensors file's names, sorted. */
  pairs: LoraPair[];
  /** `base_model_name_or_path`, when the config says. */
  baseModel?: string;
}

const PREFIX = 'base_model.model.';
const A_SUFFIX = '.lora_A.weight';
const B_SUFFIX = '.lora_B.weight';

/** Config fields that, when set, make an adapter compute more than W + s·B·A. */
function unsupportedOption(config: Record<string, unknown>): { field: string; why: string } | undefined {
  const set = (value: unknown) => value !== undefined && value !== null && value !== false;
  const nonEmpty = (value: unknown) => (Array.isArray(value) ? value.length > 0 : typeof value === 'object' && value !== null ? Object.keys(value).length > 0 : set(value));
  if (set(config.use_dora)) return { field: 'use_dora', why: 'DoRA adapters are not supported: llama.cpp applies plain LoRA (W + s·B·A) and has no magnitude vector' };
  if (nonEmpty(config.rank_pattern)) return { field: 'rank_pattern', why: 'per-module ranks (rank_pattern) are not supported: the GGUF LoRA carries one alpha for every module' };
  if (nonEmpty(config.alpha_pattern)) return { field: 'alpha_pattern', why: 'per-module alphas (alpha_pattern) are not supported: the GGUF LoRA carries one alpha for every module' };
  if (config.bias !== undefined && config.bias !== 'none') return { field: 'bias', why: `bias "${String(config.bias)}" trains the base layers' biases, which a GGUF LoRA cannot carry (only bias "none" is converted)` };
  if (set(config.lora_bias)) return { field: 'lora_bias', why: 'LoRA biases (lora_bias) are not supported: a GGUF LoRA holds only the A and B matrices' };
  if (nonEmpty(config.modules_to_save)) return { field: 'modules_to_save', why: `the adapter saves whole modules (${JSON.stringify(config.modules_to_save)}), which a GGUF LoRA cannot carry; merge them into the base model instead` };
  if (set(config.fan_in_fan_out)) return { field: 'fan_in_fan_out', why: 'fan_in_fan_out is for GPT-2-style Conv1D layers, which llama, gemma2, gemma3 and exaone do not have' };
  if (nonEmpty(config.layer_replication)) return { field: 'layer_replication', why: 'layer_replication adds layers the base model does not have, so it is not supported' };
  if (nonEmpty(config.target_parameters)) return { field: 'target_parameters', why: 'LoRA on parameters (target_parameters) rather than Linear layers is not supported' };
  if (nonEmpty(config.alora_invocation_tokens)) return { field: 'alora_invocation_tokens', why: 'activated LoRA (aLoRA) adapters are not supported' };
  if (nonEmpty(config.trainable_token_indices)) return { field: 'trainable_token_indices', why: 'trained token embeddings (trainable_token_indices) are not supported' };
  return undefined;
}

function readConfig(configFile: string): Record<string, unknown> {
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch (error) {
    throw new InputError(`is not JSON: ${(error as Error).message}`, { file: configFile }, { cause: error });
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new InputError('is not a JSON object (PEFT writes a LoraConfig object)', { file: configFile });
  // Keys come from a file: a plain object without a prototype, so "__proto__" is only a key.
  return Object.assign(Object.create(null) as Record<string, unknown>, config);
}

/** Reads and checks an adapter folder; every problem is an InputError naming the file and field. */
export function readPeftLoraAdapter(dir: string): PeftLoraAdapter {
  if (!existsSync(dir)) throw new InputError('no such adapter folder', { file: dir });
  if (!statSync(dir).isDirectory()) throw new InputError(`is a file; --adapter names the PEFT adapter folder (holding ${PEFT_CONFIG_FILE} and ${PEFT_WEIGHTS_FILE})`, { file: dir });
  const configFile = path.join(dir, PEFT_CONFIG_FILE);
  const weightsFile = path.join(dir, PEFT_WEIGHTS_FILE);
  if (!existsSync(configFile)) throw new InputError(`has no ${PEFT_CONFIG_FILE}: not a PEFT adapter folder (PeftModel.save_pretrained writes ${PEFT_CONFIG_FILE} and ${PEFT_WEIGHTS_FILE})`, { file: dir });
  if (!existsSync(weightsFile)) {
    const pickle = existsSync(path.join(dir, 'adapter_model.bin'));
    throw new InputError(
      pickle
        ? `has adapter_model.bin (a PyTorch pickle), which hanlab does not read: save the adapter with safe_serialization=True (PEFT's default) to get ${PEFT_WEIGHTS_FILE}`
        : `has no ${PEFT_WEIGHTS_FILE} (the adapter's weights)`,
      { file: dir },
    );
  }
  const config = readConfig(configFile);
  const peftType = config.peft_type;
  if (peftType !== undefined && peftType !== 'LORA') {
    throw new InputError(`is ${JSON.stringify(peftType)}; only LoRA adapters (peft_type "LORA") are converted`, { file: configFile, field: 'peft_type' });
  }
  const unsupported = unsupportedOption(config);
  if (unsupported) throw new InputError(unsupported.why, { file: configFile, field: unsupported.field });
  const r = config.r;
  if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 1) throw new InputError(`must be a positive integer, got ${JSON.stringify(r)}`, { file: configFile, field: 'r' });
  const alpha = config.lora_alpha;
  if (typeof alpha !== 'number' || !(alpha > 0) || !Number.isFinite(alpha)) throw new InputError(`must be a positive number, got ${JSON.stringify(alpha)}`, { file: configFile, field: 'lora_alpha' });

  const weights = SafetensorsArchive.open(weightsFile);
  const halves = new Map<string, { a?: TensorInfo; b?: TensorInfo }>();
  for (const name of weights.names().sort()) {
    const info = weights.info(name)!;
    const fail = (why: string): never => {
      throw new InputError(why, { file: weightsFile, field: name });
    };
    if (/\.lora_embedding_[AB]$/.test(name)) fail('LoRA on an embedding layer is not converted (only Linear layers: attention and feed-forward projections, lm_head)');
    if (name.includes('lora_magnitude_vector')) fail('is a DoRA magnitude vector; DoRA adapters are not supported');
    if (!name.startsWith(PREFIX)) fail(`does not start with "${PREFIX}", as PEFT names adapter tensors`);
    const isA = name.endsWith(A_SUFFIX);
    if (!isA && !name.endsWith(B_SUFFIX)) fail(`is not a LoRA matrix (…${A_SUFFIX} or …${B_SUFFIX}); a GGUF LoRA cannot carry it`);
    if (info.shape.length !== 2) fail(`has shape [${info.shape.join(', ')}]; LoRA matrices are 2-D`);
    const module = name.slice(PREFIX.length, -A_SUFFIX.length);
    const rank = isA ? info.shape[0] : info.shape[1];
    if (rank !== r) fail(`has rank ${rank} (shape [${info.shape.join(', ')}]) but ${PEFT_CONFIG_FILE} says r = ${r}`);
    const pair = halves.get(module) ?? {};
    if (isA) pair.a = info;
    else pair.b = info;
    halves.set(module, pair);
  }
  const pairs: LoraPair[] = [];
  for (const [module, { a, b }] of halves) {
    if (!a || !b) {
      throw new InputError(`has ${a ? 'lora_A' : 'lora_B'} but no ${a ? 'lora_B' : 'lora_A'} for module "${module}"`, { file: weightsFile, field: `${PREFIX}${module}${a ? B_SUFFIX : A_SUFFIX}` });
    }
    pairs.push({ module, a, b, inputs: a.shape[1], outputs: b.shape[0] });
  }
  if (pairs.length === 0) throw new InputError('holds no LoRA matrices', { file: weightsFile });
  const baseModel = typeof config.base_model_name_or_path === 'string' ? config.base_model_name_or_path : undefined;
  return { dir, configFile, weightsFile, weights, r, alpha, useRslora: config.use_rslora === true, pairs, baseModel };
}

/** What the adapter multiplies B·A by: alpha/r, or alpha/√r with rsLoRA. */
export function peftScaling(adapter: Pick<PeftLoraAdapter, 'r' | 'alpha' | 'useRslora'>): number {
  return adapter.useRslora ? adapter.alpha / Math.sqrt(adapter.r) : adapter.alpha / adapter.r;
}
