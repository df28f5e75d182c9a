/**
 * PEFT LoRA adapter → GGUF LoRA, as llama.cpp's convert_lora_to_gguf.py writes it and llama.cpp's
 * adapter loader reads it: `general.type = adapter`, `adapter.type = lora`, `adapter.lora.alpha`, the
 * base model's `general.architecture`, and per wrapped layer `<base tensor>.lora_a` (PEFT's lora_A
 * [r, in], ggml dims [in, r]) and `<base tensor>.lora_b` (lora_B [out, r], ggml dims [r, out]). llama.cpp
 * then adds `scale·(alpha/r)·B·A` to the base tensor, as PEFT does.
 *
 * Module names map to GGUF tensor names as gguf-py's tensor map does for the llama, gemma2, gemma3 and
 * exaone architectures. llama's converter reorders the rows of q_proj and k_proj within each head (HF
 * rotates halves, llama.cpp's "normal" RoPE rotates adjacent pairs), so lora_B of those two is reordered
 * the same way; the other three keep HF's order. Every pair is checked against the base GGUF's tensor
 * shapes, so an adapter for another base is refused before anything is written.
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError, UsageError } from '../errors.js';
import { checkedArchitecture, metadataNumber, metadataString, readGguf, type GgufFile, type GgufTensorInfo } from './gguf/read.js';
import { gguf, type GgufValue } from './gguf/values.js';
import { writeGgufFile, type GgufTensorToWrite } from './gguf/write.js';
import { readPeftLoraAdapter, type LoraPair, type PeftLoraAdapter } from './peft-adapter.js';

export const LORA_ARCHITECTURES = ['llama', 'gemma2', 'gemma3', 'exaone'] as const;
export type LoraArchitecture = (typeof LORA_ARCHITECTURES)[number];

export interface ConvertLoraOptions {
  /** The base model's GGUF file (its architecture, tensor shapes and head counts are read). */
  base: string;
  /** The PEFT adapter folder. */
  adapter: string;
  out: string;
  /** Tensor type of the written matrices (default F32). */
  type?: 'F32' | 'F16';
}

export interface ConvertedLora {
  out: string;
  architecture: LoraArchitecture;
  r: number;
  /** `adapter.lora.alpha` as written (rsLoRA's alpha is folded into it: alpha·√r). */
  alpha: number;
  type: 'F32' | 'F16';
  /** One per converted layer: PEFT module name → GGUF base tensor name. */
  layers: { module: string; tensor: string }[];
  /** Modules left out because a text GGUF has no place for them (gemma3's vision tower), with why. */
  skipped: { module: string; why: string }[];
  bytes: number;
}

/** Where a PEFT module's weight lives in a GGUF model: a tensor name, or a reason to skip it. */
export type GgufTarget = { tensor: string } | { skip: string } | undefined;

// gguf-py's tensor map, for the modules LoRA wraps in these architectures.
const HF_LAYER = /^model\.layers\.(\d+)\.(self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)$/;
const HF_NAMES: Record<string, string> = {
  'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output',
  'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
};
const EXAONE_LAYER = /^transformer\.h\.(\d+)\.(attn\.attention\.(?:[qkv]_proj|out_proj)|mlp\.c_(?:fc_0|fc_1|proj))$/;
const EXAONE_NAMES: Record<string, string> = {
  'attn.attention.q_proj': 'attn_q', 'attn.attention.k_proj': 'attn_k', 'attn.attention.v_proj': 'attn_v', 'attn.attention.out_proj': 'attn_output',
  'mlp.c_fc_0': 'ffn_gate', 'mlp.c_fc_1': 'ffn_up', 'mlp.c_proj': 'ffn_down',
};
/** How each architecture names its layers, for the message when a module does not map. */
const EXAMPLE_MODULE: Record<LoraArchitecture, string> = {
  llama: 'model.layers.N.self_attn.q_proj, model.layers.N.mlp.gate_proj, lm_head',
  gemma2: 'model.layers.N.self_attn.q_proj, model.layers.N.mlp.gate_proj',
  gemma3: 'model.language_model.layers.N.self_attn.q_proj (or model.layers.N.…), model.layers.N.mlp.gate_proj',
  exaone: 'transformer.h.N.attn.attention.q_proj, transformer.h.N.mlp.c_fc_0, lm_head',
};

/** The GGUF tensor a PEFT module (name without `base_model.model.`) adapts in `architecture`. */
export function ggufTarget(architecture: LoraArchitecture, module: string): GgufTarget {
  let name = module;
  if (architecture === 'gemma3') {
    // Gemma3ForConditionalGeneration: the text model sits under language_model (transformers ≥ 4.52:
    // model.language_model.layers…, earlier: language_model.model.layers…); its vision tower and
    // projector go to the mmproj file, not to the text GGUF (llama.cpp's converter drops them too).
    if (/^(?:model\.)?(?:vision_tower|multi_modal_projector)\./.test(name)) {
      return { skip: 'part of gemma3\'s vision tower, which lives in the mmproj GGUF, not in the text model' };
    }
    name = name.replace(/^model\.language_model\./, 'model.').replace(/^language_model\.model\./, 'model.').replace(/^language_model\.lm_head$/, 'lm_head');
  }
  if (name === 'lm_head') return { tensor: 'output.weight' };
  const layer = architecture === 'exaone' ? EXAONE_LAYER.exec(name) : HF_LAYER.exec(name);
  if (!layer) return undefined;
  const names = architecture === 'exaone' ? EXAONE_NAMES : HF_NAMES;
  return { tensor: `blk.${Number(layer[1])}.${names[layer[2]]}.weight` };
}

/**
 * llama's converter permutes the rows of q_proj (over the query heads) and k_proj (over the key/value
 * heads): within each head of `rows / heads` rows, row `i·half + j` moves to `2j + i` (i ∈ {0, 1}).
 * Returns the rows of `values` ([rows, columns], row-major) in that order.
 */
export function permuteRopeRows(values: Float32Array, rows: number, columns: number, heads: number): Float32Array {
  const headRows = rows / heads;
  if (!Number.isInteger(headRows) || headRows % 2 !== 0) throw new RangeError(`permuteRopeRows: ${rows} rows do not split into ${heads} heads of an even size`);
  const half = headRows / 2;
  const out = new Float32Array(values.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < half; j++) {
        const from = (h * headRows + i * half + j) * columns;
        const to = (h * headRows + 2 * j + i) * columns;
        out.set(values.subarray(from, from + columns), to);
      }
    }
  }
  return out;
}

function isLoraArchitecture(name: string): name is LoraArchitecture {
  return (LORA_ARCHITECTURES as readonly string[]).includes(name);
}

/** Checks one pair against its base tensor (ggml dims [in, out]): an adapter for another base fails here. */
function checkShape(pair: LoraPair, target: GgufTensorInfo, adapter: PeftLoraAdapter, base: GgufFile): void {
  const [inputs, outputs] = target.dims;
  if (target.dims.length !== 2 || inputs !== pair.inputs || outputs !== pair.outputs) {
    throw new InputError(
      `module "${pair.module}" is ${pair.outputs}×${pair.inputs} (out×in) but the base's ${target.name} is ${outputs ?? '?'}×${inputs}: the adapter was trained on another base model than ${path.basename(base.file)}`,
      { file: adapter.weightsFile, field: pair.a.name },
    );
  }
}

/** The llama head count that orders the rows of a q or k projection, from the base's metadata. */
function ropeHeads(base: GgufFile, tensor: string): number | undefined {
  if (/\.attn_q\.weight$/.test(tensor)) return metadataNumber(base, 'llama.attention.head_count');
  if (/\.attn_k\.weight$/.test(tensor)) return metadataNumber(base, 'llama.attention.head_count_kv') ?? metadataNumber(base, 'llama.attention.head_count');
  return undefined;
}

/** Converts and writes the GGUF LoRA; throws InputError / UsageError for anything it cannot convert faithfully. */
export function convertLoraToGguf(options: ConvertLoraOptions): ConvertedLora {
  const type = options.type ?? 'F32';
  const out = path.resolve(options.out);
  if (out === path.resolve(options.base)) throw new UsageError('--out is the --base model file; writing there would destroy the base model');
  const base = readGguf(options.base);
  if (metadataString(base, 'general.type') === 'adapter') {
    throw new InputError('is itself an adapter (general.type = adapter); --base names the model the adapter was trained on', { file: options.base, field: 'general.type' });
  }
  const architecture = checkedArchitecture(base);
  if (!isLoraArchitecture(architecture)) {
    throw new InputError(`is a ${architecture} model; hanlab converts LoRA adapters for ${LORA_ARCHITECTURES.join(', ')}`, { file: options.base, field: 'general.architecture' });
  }
  const adapter = readPeftLoraAdapter(options.adapter);
  const baseTensors = new Map(base.tensors.map((t, index) => [t.name, { info: t, index }]));
  const layers: (ConvertedLora['layers'][number] & { pair: LoraPair; index: number })[] = [];
  const skipped: ConvertedLora['skipped'] = [];
  const seen = new Map<string, string>();
  for (const pair of adapter.pairs) {
    const where = { file: adapter.weightsFile, field: pair.a.name };
    const target = ggufTarget(architecture, pair.module);
    if (target === undefined) {
      throw new InputError(
        `module "${pair.module}" has no counterpart in a ${architecture} GGUF (a ${architecture} adapter wraps modules like ${EXAMPLE_MODULE[architecture]}): is the adapter for another architecture?`,
        where,
      );
    }
    if ('skip' in target) {
      skipped.push({ module: pair.module, why: target.skip });
      continue;
    }
    const found = baseTensors.get(target.tensor);
    if (!found) {
      const why = target.tensor === 'output.weight'
        ? `the base ${path.basename(base.file)} has no output.weight: it ties its output layer to token_embd, and llama.cpp cannot apply a LoRA on lm_head there`
        : `the base ${path.basename(base.file)} has no tensor ${target.tensor} (it has ${metadataNumber(base, `${architecture}.block_count`) ?? '?'} layers): the adapter was trained on another base model`;
      throw new InputError(`module "${pair.module}": ${why}`, where);
    }
    const earlier = seen.get(target.tensor);
    if (earlier) throw new InputError(`modules "${earlier}" and "${pair.module}" both adapt ${target.tensor}`, where);
    seen.set(target.tensor, pair.module);
    checkShape(pair, found.info, adapter, base);
    layers.push({ module: pair.module, tensor: target.tensor, pair, index: found.index });
  }
  if (layers.length === 0) throw new InputError(`has no LoRA layer for the text model (${skipped.length} vision-tower modules only)`, { file: adapter.weightsFile });
  layers.sort((x, y) => x.index - y.index);

  const tensors: GgufTensorToWrite[] = [];
  for (const { pair, tensor } of layers) {
    const a = adapter.weights.read(pair.a.name).values;
    let b = adapter.weights.read(pair.b.name).values;
    const heads = architecture === 'llama' ? ropeHeads(base, tensor) : undefined;
    if (heads !== undefined) {
      if (pair.outputs % (2 * heads) !== 0) {
        throw new InputError(`module "${pair.module}" has ${pair.outputs} outputs, which do not split into ${heads} heads of an even size`, { file: adapter.weightsFile, field: pair.b.name });
      }
      b = permuteRopeRows(b, pair.outputs, adapter.r, heads);
    }
    // A PyTorch [rows, columns] matrix is ggml dims [columns, rows] with the same bytes.
    tensors.push({ name: `${tensor}.lora_a`, type, dims: [pair.inputs, adapter.r], data: a });
    tensors.push({ name: `${tensor}.lora_b`, type, dims: [adapter.r, pair.outputs], data: b });
  }
  // llama.cpp scales by alpha/r; rsLoRA's alpha/√r is the same with alpha·√r.
  const alpha = adapter.useRslora ? adapter.alpha * Math.sqrt(adapter.r) : adapter.alpha;
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.string(architecture)],
    ['general.type', gguf.string('adapter')],
    ['general.name', gguf.string(path.basename(path.resolve(options.adapter)))],
    ['adapter.type', gguf.string('lora')],
    ['adapter.lora.alpha', gguf.float32(alpha)],
  ];
  mkdirSync(path.dirname(out), { recursive: true });
  writeGgufFile(out, { metadata, tensors });
  return {
    out, architecture, r: adapter.r, alpha, type,
    layers: layers.map(({ module, tensor }) => ({ module, tensor })),
    skipped, bytes: statSync(out).size,
  };
}
