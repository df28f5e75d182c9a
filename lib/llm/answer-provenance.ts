/**
 * Which model produced a notebook's answers when it generates them itself (`-p model_file=...gguf`):
 * the model file, its quantization, the LoRA adapters and the sampling settings. The report prints it
 * inside its data note (templates/_study.njk `dataNote`), so a figure never stands without its model.
 */
import { UsageError } from '../errors.js';
import type { LanguageModelDescription } from './language-model.js';

export interface LoraSpec {
  file: string;
  scale: number;
}

export interface AnswerProvenance {
  model: string;
  architecture?: string;
  quantization?: string;
  loras: LoraSpec[];
  build?: string;
  /** Sampling as the report names it: temperature 0 is greedy. */
  temperature: number;
  maxTokens: number;
  seed: number;
  /** How the answers were constrained or prompted, in the notebook's Korean (e.g. "JSON 스키마로 제한"). */
  method: string;
}

/** `-p lora_file=FILE.gguf[:SCALE]` (scale 1 when absent); empty text means no adapter. */
export function parseLoraParameter(text: string, parameter = 'lora_file'): LoraSpec[] {
  if (text === '') return [];
  const scaled = /^(.*):([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i.exec(text);
  const file = scaled ? scaled[1] : text;
  if (file === '') throw new UsageError(`-p ${parameter}=${text}: expected FILE.gguf or FILE.gguf:SCALE`);
  return [{ file, scale: scaled ? Number(scaled[2]) : 1 }];
}

export function answerProvenance(
  description: LanguageModelDescription,
  sampling: { temperature: number; maxTokens: number; seed: number; method: string },
): AnswerProvenance {
  return {
    model: description.model,
    ...(description.architecture ? { architecture: description.architecture } : {}),
    ...(description.quantization ? { quantization: description.quantization } : {}),
    loras: (description.loras ?? []).map((l) => ({ file: l.file, scale: l.scale })),
    ...(description.build ? { build: description.build } : {}),
    ...sampling,
  };
}
