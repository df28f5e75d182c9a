/**
 * LoRA (Hu et al. 2021) as PEFT does it: a named dense layer `W` gets `x·Wᵀ + (dropout(x)·Aᵀ·Bᵀ)·α/r`
 * with `A [r, in]` (Kaiming-uniform) and `B [out, r]` (zeros), only A, B and the task head train, and
 * the result is saved as PEFT's `adapter_model.safetensors` + `adapter_config.json`
 * (`base_model.model.<module>.lora_A.weight`, the head under `modules_to_save`).
 */
import { InputError, UsageError } from '../errors.js';
import type { SeededRandom } from '../tensor/rng.js';
import type { Architecture } from './config.js';
import type { EncoderTask } from './architecture.js';
import type { WeightSpec } from './weights.js';

export interface LoraSettings {
  r: number;
  alpha: number;
  dropout: number;
  /** Module names (their last dotted part, as PEFT matches them) or `all-linear`. */
  targetModules: readonly string[] | 'all-linear';
}

/** PEFT's defaults for these encoders (query and value projections), with α = 2r. */
export const DEFAULT_LORA: LoraSettings = { r: 8, alpha: 16, dropout: 0.1, targetModules: ['query', 'value'] };

/** The LoRA parameters of one wrapped layer, by our names (PEFT's saved names without `base_model.model.`). */
export interface LoraTarget {
  /** Module name, e.g. `bert.encoder.layer.0.attention.self.query`. */
  module: string;
  inputs: number;
  outputs: number;
}

/** DeBERTa names its attention projections `query_proj`, `key_proj`, `value_proj`. */
const DEBERTA_ALIASES: Record<string, string> = { query: 'query_proj', key: 'key_proj', value: 'value_proj' };

/** Head modules trained in full and saved beside the adapter (PEFT's `modules_to_save`). */
export function headModules(architecture: Architecture, task: EncoderTask): string[] {
  if (task === 'base') return [];
  return architecture === 'deberta-v2' && task === 'sequence-classification' ? ['pooler', 'classifier'] : ['classifier'];
}

/**
 * The dense layers LoRA wraps: backbone Linear layers whose last name part is a target (or all of them
 * for `all-linear`). Returns the targets and the resolved `target_modules` list for adapter_config.json.
 */
export function resolveLoraTargets(specs: readonly WeightSpec[], architecture: Architecture, settings: LoraSettings): { targets: LoraTarget[]; targetModules: string[] } {
  const linear = specs.filter((s) => s.role === 'linear' && !s.head).map((s) => ({ module: s.name.replace(/\.weight$/, ''), outputs: s.shape[0], inputs: s.shape[1] }));
  const lastPart = (module: string) => module.slice(module.lastIndexOf('.') + 1);
  const available = [...new Set(linear.map((l) => lastPart(l.module)))];
  let wanted: string[];
  if (settings.targetModules === 'all-linear') {
    wanted = available;
  } else {
    wanted = settings.targetModules.map((name) => {
      if (available.includes(name)) return name;
      if (architecture === 'deberta-v2' && Object.hasOwn(DEBERTA_ALIASES, name) && available.includes(DEBERTA_ALIASES[name])) return DEBERTA_ALIASES[name];
      throw new UsageError(`LoRA target module "${name}" matches no dense layer of this ${architecture} model; its dense layers are named ${available.join(', ')} (or use all-linear)`);
    });
  }
  const targetModules = [...new Set(wanted)];
  const targets = linear.filter((l) => targetModules.includes(lastPart(l.module)));
  return { targets, targetModules };
}

/** LoRA parameter specs (checkpoint layout: `lora_A [r, in]`, `lora_B [out, r]`). */
export function loraSpecs(targets: readonly LoraTarget[], r: number): WeightSpec[] {
  return targets.flatMap((t) => [
    { name: `${t.module}.lora_A.weight`, shape: [r, t.inputs], role: 'linear' as const },
    { name: `${t.module}.lora_B.weight`, shape: [t.outputs, r], role: 'linear' as const },
  ]);
}

/** PEFT's initial values: A ~ U(−1/√in, 1/√in) (kaiming_uniform_ with a = √5), B = 0. Checkpoint layout. */
export function initialLoraValues(spec: WeightSpec, rng: SeededRandom): Float32Array {
  const values = new Float32Array(spec.shape[0] * spec.shape[1]);
  if (spec.name.endsWith('.lora_A.weight')) {
    const bound = 1 / Math.sqrt(spec.shape[1]);
    for (let i = 0; i < values.length; i++) values[i] = (rng.next() * 2 - 1) * bound;
  }
  return values;
}

export function loraScaling(settings: LoraSettings): number {
  return settings.alpha / settings.r;
}

export function checkLoraSettings(settings: LoraSettings, where: { file?: string } = {}): void {
  const fail = (field: string, detail: string) => {
    throw new InputError(detail, { file: where.file, field: `[LoRA] ${field}` });
  };
  if (!Number.isSafeInteger(settings.r) || settings.r < 1) fail('r', `must be a positive integer, got ${settings.r}`);
  if (!(settings.alpha > 0)) fail('alpha', `must be a positive number, got ${settings.alpha}`);
  if (!(settings.dropout >= 0 && settings.dropout < 1)) fail('dropout', `must be in [0, 1), got ${settings.dropout}`);
  if (settings.targetModules !== 'all-linear' && settings.targetModules.length === 0) fail('target_modules', 'names no module');
}

/** PEFT's `task_type` for our tasks. */
export function peftTaskType(task: EncoderTask): string | null {
  return task === 'sequence-classification' ? 'SEQ_CLS' : task === 'token-classification' ? 'TOKEN_CLS' : null;
}

/** adapter_config.json as PEFT's LoraConfig writes it. */
export function adapterConfig(settings: LoraSettings, targetModules: readonly string[], modulesToSave: readonly string[], task: EncoderTask, baseModel: string): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: settings.alpha,
    lora_dropout: settings.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: modulesToSave.length ? [...modulesToSave] : null,
    peft_type: 'LORA',
    r: settings.r,
    rank_pattern: {},
    revision: null,
    target_modules: [...targetModules],
    task_type: peftTaskType(task),
    use_dora: false,
    use_rslora: false,
  };
}

/** PEFT's one-line summary. */
export function formatTrainableParameters(trainable: number, all: number): string {
  return `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${all.toLocaleString('en-US')} || trainable%: ${((100 * trainable) / all).toFixed(4)}`;
}
