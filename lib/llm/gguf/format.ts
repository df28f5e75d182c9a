/**
 * The GGUF container's constants (ggml's gguf.h / llama.cpp's llama-arch.cpp, as in the llama.cpp
 * release that node-llama-cpp 3.22.1 ships): value type codes, tensor types with their block sizes,
 * `general.file_type` names and the architectures that llama.cpp can load.
 */

/** "GGUF" read as a little-endian uint32. */
export const GGUF_MAGIC = 0x46554747;
/** The version this writer writes; the reader also reads version 2 (same layout). */
export const GGUF_VERSION = 3;
/** `general.alignment` when the file does not say. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
export const GGML_MAX_DIMS = 4;

export type GgufScalarType =
  | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32'
  | 'bool' | 'string' | 'uint64' | 'int64' | 'float64';
export type GgufValueType = GgufScalarType | 'array';

/** Index = the type code in the file. */
export const GGUF_VALUE_TYPES: readonly GgufValueType[] = [
  'uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64',
];

export function valueTypeCode(type: GgufValueType): number {
  return GGUF_VALUE_TYPES.indexOf(type);
}

export interface GgmlTypeInfo {
  name: string;
  /** Elements per block (1 for plain types). */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
}

/** Index = ggml_type code; null for codes ggml retired (Q4_2, Q4_3, the repacked Q4_0_x_y…). */
export const GGML_TYPES: readonly (GgmlTypeInfo | null)[] = [
  { name: 'F32', blockSize: 1, typeSize: 4 },
  { name: 'F16', blockSize: 1, typeSize: 2 },
  { name: 'Q4_0', blockSize: 32, typeSize: 18 },
  { name: 'Q4_1', blockSize: 32, typeSize: 20 },
  null,
  null,
  { name: 'Q5_0', blockSize: 32, typeSize: 22 },
  { name: 'Q5_1', blockSize: 32, typeSize: 24 },
  { name: 'Q8_0', blockSize: 32, typeSize: 34 },
  { name: 'Q8_1', blockSize: 32, typeSize: 36 },
  { name: 'Q2_K', blockSize: 256, typeSize: 84 },
  { name: 'Q3_K', blockSize: 256, typeSize: 110 },
  { name: 'Q4_K', blockSize: 256, typeSize: 144 },
  { name: 'Q5_K', blockSize: 256, typeSize: 176 },
  { name: 'Q6_K', blockSize: 256, typeSize: 210 },
  { name: 'Q8_K', blockSize: 256, typeSize: 292 },
  { name: 'IQ2_XXS', blockSize: 256, typeSize: 66 },
  { name: 'IQ2_XS', blockSize: 256, typeSize: 74 },
  { name: 'IQ3_XXS', blockSize: 256, typeSize: 98 },
  { name: 'IQ1_S', blockSize: 256, typeSize: 50 },
  { name: 'IQ4_NL', blockSize: 32, typeSize: 18 },
  { name: 'IQ3_S', blockSize: 256, typeSize: 110 },
  { name: 'IQ2_S', blockSize: 256, typeSize: 82 },
  { name: 'IQ4_XS', blockSize: 256, typeSize: 136 },
  { name: 'I8', blockSize: 1, typeSize: 1 },
  { name: 'I16', blockSize: 1, typeSize: 2 },
  { name: 'I32', blockSize: 1, typeSize: 4 },
  { name: 'I64', blockSize: 1, typeSize: 8 },
  { name: 'F64', blockSize: 1, typeSize: 8 },
  { name: 'IQ1_M', blockSize: 256, typeSize: 56 },
  { name: 'BF16', blockSize: 1, typeSize: 2 },
  null,
  null,
  null,
  { name: 'TQ1_0', blockSize: 256, typeSize: 54 },
  { name: 'TQ2_0', blockSize: 256, typeSize: 66 },
  null,
  null,
  null,
  { name: 'MXFP4', blockSize: 32, typeSize: 17 },
  { name: 'NVFP4', blockSize: 64, typeSize: 36 },
  { name: 'Q1_0', blockSize: 128, typeSize: 18 },
  { name: 'Q2_0', blockSize: 64, typeSize: 18 },
];

export const GGML_TYPE_F32 = 0;
export const GGML_TYPE_F16 = 1;

/** Bytes a tensor of `type` with `elements` elements takes, or undefined for a type this table lacks. */
export function tensorByteLength(type: number, elements: number): number | undefined {
  const info = GGML_TYPES[type];
  if (!info) return undefined;
  return Math.ceil(elements / info.blockSize) * info.typeSize;
}

/** `general.file_type` (llama_ftype) as llama.cpp's quantize tool names it. */
export const FILE_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1', 10: 'Q2_K', 11: 'Q3_K_S',
  12: 'Q3_K_M', 13: 'Q3_K_L', 14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K',
  19: 'IQ2_XXS', 20: 'IQ2_XS', 21: 'Q2_K_S', 22: 'IQ3_XS', 23: 'IQ3_XXS', 24: 'IQ1_S', 25: 'IQ4_NL',
  26: 'IQ3_S', 27: 'IQ3_M', 28: 'IQ2_S', 29: 'IQ2_M', 30: 'IQ4_XS', 31: 'IQ1_M', 32: 'BF16',
  36: 'TQ1_0', 37: 'TQ2_0', 38: 'MXFP4_MOE',
};

/**
 * `general.architecture` values llama.cpp loads, as node-llama-cpp 3.22.1 lists them
 * (`GgufArchitectureType`, less its `clip` and `(unknown)`; tests/llm/gguf.test.ts keeps the two lists equal).
 */
export const LLAMA_CPP_ARCHITECTURES: ReadonlySet<string> = new Set([
  'llama', 'llama4', 'deci', 'falcon', 'grok', 'gpt2', 'gptj', 'gptneox', 'mpt', 'baichuan', 'starcoder',
  'refact', 'bert', 'modern-bert', 'nomic-bert', 'nomic-bert-moe', 'neo-bert', 'jina-bert-v2', 'jina-bert-v3',
  'eurobert', 'bloom', 'stablelm', 'qwen', 'qwen2', 'qwen2moe', 'qwen2vl', 'qwen3', 'qwen3moe', 'qwen3next',
  'qwen3vl', 'qwen3vlmoe', 'qwen35', 'qwen35moe', 'phi2', 'phi3', 'phimoe', 'plamo', 'plamo2', 'plamo3',
  'codeshell', 'orion', 'internlm2', 'minicpm', 'minicpm3', 'gemma', 'gemma2', 'gemma3', 'gemma3n', 'gemma4',
  'gemma4-assistant', 'gemma-embedding', 'starcoder2', 'mamba', 'mamba2', 'jamba', 'falcon-h1', 'xverse',
  'command-r', 'cohere2', 'cohere2moe', 'dbrx', 'olmo', 'olmo2', 'olmoe', 'muse-glimmer', 'openelm', 'arctic',
  'deepseek', 'deepseek2', 'deepseek2-ocr', 'deepseek32', 'deepseek4', 'chatglm', 'glm4', 'glm4moe', 'glm-dsa',
  'bitnet', 't5', 't5encoder', 'jais', 'jais2', 'nemotron', 'nemotron_h', 'nemotron_h_moe', 'exaone', 'exaone4',
  'exaone-moe', 'rwkv6', 'rwkv6qwen2', 'rwkv7', 'arwkv7', 'granite', 'granitemoe', 'granitehybrid',
  'graniteswitch', 'chameleon', 'wavtokenizer-dec', 'plm', 'bailingmoe', 'bailingmoe2', 'dots1', 'arcee',
  'afmoe', 'laguna', 'ernie4_5', 'ernie4_5-moe', 'hunyuan-moe', 'hunyuan-dense', 'hunyuan_vl', 'hy_v3',
  'smollm3', 'gpt-oss', 'lfm2', 'lfm2moe', 'dream', 'smallthinker', 'llada', 'llada-moe', 'seed_oss',
  'grovemoe', 'apertus', 'minimax-m2', 'minimax-m3', 'cogvlm', 'rnd1', 'pangu-embedded', 'mistral3', 'eagle3',
  'dflash', 'mistral4', 'paddleocr', 'mimo2', 'step35', 'llama-embed', 'maincoder', 'kimi-linear', 'talkie',
  'mellum', 'nanbeige', 'qwen3tts',
]);
