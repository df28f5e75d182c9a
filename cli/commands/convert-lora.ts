/**
 * `hanlab convert lora --base FILE.gguf --adapter DIR --out FILE.gguf`: a PEFT LoRA adapter folder into
 * a GGUF LoRA that llama.cpp (and `hanlab generate --model … --lora …`) loads on top of the base model.
 * A thin shell over lib/llm/lora-to-gguf.ts.
 */
import { UsageError } from '../../lib/errors.js';
import { convertLoraToGguf, LORA_ARCHITECTURES } from '../../lib/llm/lora-to-gguf.js';
import { parseOptions, usageError } from '../options.js';

const USAGE = `Usage: hanlab convert lora --base FILE.gguf --adapter DIR --out FILE.gguf [--type f32|f16]

Converts a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors, as PEFT's
save_pretrained writes it) into a GGUF LoRA for llama.cpp, checked against the base model it was
trained on. Architectures: ${LORA_ARCHITECTURES.join(', ')}.

  --base FILE.gguf   the base model as GGUF (any quantization: only its metadata and tensor shapes are read)
  --adapter DIR      the PEFT adapter folder
  --out FILE.gguf    the GGUF LoRA to write
  --type T           f32 (default) or f16 for the LoRA matrices
  -h, --help         show this help

Then: hanlab generate --model FILE.gguf --lora OUT.gguf[:SCALE] …`;

export async function run(argv: string[]): Promise<number> {
  const options = parseOptions(argv, USAGE, {
    base: { type: 'string' },
    adapter: { type: 'string' },
    out: { type: 'string' },
    type: { type: 'string' },
  });
  if (!options) return 0;
  for (const name of ['base', 'adapter', 'out'] as const) {
    if (!options[name]) throw usageError(`--${name} is required`, USAGE);
  }
  const type = (options.type ?? 'f32').toLowerCase();
  if (type !== 'f32' && type !== 'f16') throw new UsageError(`--type must be f32 or f16, got '${options.type}'`);
  const result = convertLoraToGguf({ base: options.base!, adapter: options.adapter!, out: options.out!, type: type === 'f16' ? 'F16' : 'F32' });
  for (const { module, why } of result.skipped) console.log(`skipped ${module}: ${why}`);
  console.log(
    `wrote ${options.out}: ${result.layers.length} LoRA layers for ${result.architecture}, rank ${result.r}, alpha ${result.alpha}, ${result.type}, ${formatBytes(result.bytes)}`,
  );
  return 0;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
