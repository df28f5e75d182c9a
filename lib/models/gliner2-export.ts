/**
 * Writing a LoRA-tuned GLiNER2 back: the adapter in PEFT's layout (`adapter_config.json` with the
 * wrapped modules' full names as `target_modules`, `adapter_model.safetensors` with
 * `base_model.model.<module>.lora_A.weight` …), and the merged model in GLiNER2's own folder layout
 * (`config.json`, `encoder_config/config.json`, tokenizer files, `model.safetensors`), which
 * `Extractor.from_pretrained` and `hanlab predict --task entities` load.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { adapterConfig } from './lora.js';
import { Gliner2Model } from './gliner2.js';
import { SafetensorsArchive, writeSafetensors } from './safetensors.js';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'spm.model'];

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

export async function writeGliner2Adapter(model: Gliner2Model, dir: string): Promise<void> {
  const lora = model.setup.lora;
  if (!lora) throw new Error('writeGliner2Adapter: the model has no LoRA adapter');
  mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, 'adapter_model.safetensors'), await model.adapterWeights());
  writeJson(path.join(dir, 'adapter_config.json'), adapterConfig(lora, model.loraTargets.map((t) => t.module), [], 'base', path.resolve(model.folder.dir)));
}

export async function writeGliner2Merged(model: Gliner2Model, dir: string): Promise<void> {
  mkdirSync(path.join(dir, 'encoder_config'), { recursive: true });
  writeSafetensors(path.join(dir, 'model.safetensors'), await model.mergedWeights());
  copyFileSync(model.folder.configFile, path.join(dir, 'config.json'));
  copyFileSync(model.folder.encoderConfigFile, path.join(dir, 'encoder_config', 'config.json'));
  for (const file of TOKENIZER_FILES) {
    const from = path.join(model.folder.dir, file);
    if (existsSync(from)) copyFileSync(from, path.join(dir, file));
  }
}

/** Loads `base` with the PEFT adapter in `adapterDir` (as written by writeGliner2Adapter). */
export async function loadGliner2WithAdapter(base: string, adapterDir: string): Promise<Gliner2Model> {
  const configFile = path.join(adapterDir, 'adapter_config.json');
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch (error) {
    throw new InputError(`cannot read: ${(error as Error).message}`, { file: configFile }, { cause: error });
  }
  const targets = config.target_modules;
  if (!Array.isArray(targets) || !targets.every((t) => typeof t === 'string')) throw new InputError('must list module names', { file: configFile, field: 'target_modules' });
  // The adapter names whole modules; GLiNER2's groups that cover them all are derived from the names.
  const groups = [...new Set((targets as string[]).map((t) => t.split('.')[0]))];
  const model = await Gliner2Model.load(base, { lora: { r: Number(config.r), alpha: Number(config.lora_alpha), dropout: Number(config.lora_dropout ?? 0), targetModules: groups }, seed: 0 });
  const wanted = new Set(targets as string[]);
  const unexpected = model.loraTargets.map((t) => t.module).filter((m) => !wanted.has(m));
  if (unexpected.length) {
    model.dispose();
    throw new InputError(`names a subset of GLiNER2's ${groups.join(', ')} layers that hanlab cannot rebuild (missing e.g. ${unexpected[0]})`, { file: configFile, field: 'target_modules' });
  }
  const file = path.join(adapterDir, 'adapter_model.safetensors');
  const archive = SafetensorsArchive.open(file);
  model.loadAdapterWeights(new Map(archive.names().map((n) => [n, archive.read(n)])), file);
  return model;
}
