/**
 * Writing a fine-tuned encoder back in the layouts the Python world reads, and reading it again:
 *
 * - merged model: HF's layout (`config.json` with the task architecture and `id2label`,
 *   `model.safetensors` with every LoRA update merged into its base weight, the tokenizer files), so
 *   `AutoModelFor…Classification.from_pretrained(dir)` loads it;
 * - adapter: PEFT's layout (`adapter_config.json`, `adapter_model.safetensors` with
 *   `base_model.model.<module>.lora_A.weight` … and the head under `modules_to_save`), so
 *   `PeftModel.from_pretrained(base, dir)` loads it.
 *
 * Both get a small `hanlab.json` (task, label names, token limit) so `hanlab predict` knows what the
 * model predicts; transformers and PEFT ignore it.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { EncoderTask } from './architecture.js';
import type { Architecture } from './config.js';
import { adapterConfig } from './lora.js';
import { PretrainedEncoder, type CheckpointTensor, type EncoderSetup } from './pretrained.js';
import { SafetensorsArchive, writeSafetensors } from './safetensors.js';

export const HANLAB_MODEL_FILE = 'hanlab.json';

/** What `hanlab.json` says about a fine-tuned model. */
export interface FineTunedInfo {
  format: 'hanlab-fine-tuned';
  task: 'sequence-classification' | 'token-classification';
  labels: string[];
  /** Token limit used in training (predictions use the same). */
  maxLength: number;
  /** The base model folder (absolute) and the name the user gave it. */
  baseModel: string;
  baseModelName: string;
  /** What one prediction is for: a text, or each syllable (KLUE-style NER). */
  unit: 'text' | 'syllable';
}

const CLASS_NAMES: Record<Architecture, string> = { bert: 'Bert', roberta: 'Roberta', electra: 'Electra', 'deberta-v2': 'DebertaV2' };
const TOKENIZER_FILES = ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'];

/** transformers' class name for the task model (`BertForTokenClassification`, `XLMRobertaFor…`). */
export function taskArchitecture(architecture: Architecture, modelType: string, task: EncoderTask): string {
  const base = modelType === 'xlm-roberta' ? 'XLMRoberta' : CLASS_NAMES[architecture];
  return `${base}${task === 'token-classification' ? 'ForTokenClassification' : 'ForSequenceClassification'}`;
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

/** Writes the merged model to `dir` in HF's layout. */
export async function writeMergedModel(model: PretrainedEncoder, dir: string, info: FineTunedInfo): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const { config } = model;
  const labels = model.setup.labels;
  writeSafetensors(path.join(dir, 'model.safetensors'), await model.mergedWeights());
  writeJson(path.join(dir, 'config.json'), {
    ...config.raw,
    architectures: [taskArchitecture(config.architecture, config.modelType, model.setup.task)],
    id2label: Object.fromEntries(labels.map((label, id) => [String(id), label])),
    label2id: Object.fromEntries(labels.map((label, id) => [label, id])),
    torch_dtype: 'float32',
  });
  for (const file of TOKENIZER_FILES) {
    const from = path.join(model.folder.dir, file);
    if (existsSync(from)) copyFileSync(from, path.join(dir, file));
  }
  writeJson(path.join(dir, HANLAB_MODEL_FILE), info);
}

/** Writes the LoRA adapter (and trained head) to `dir` in PEFT's layout. */
export async function writeAdapter(model: PretrainedEncoder, dir: string, info: FineTunedInfo): Promise<void> {
  const lora = model.setup.lora;
  if (!lora) throw new Error('writeAdapter: the model has no LoRA adapter (full fine-tuning writes only the merged model)');
  mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, 'adapter_model.safetensors'), await model.adapterWeights());
  writeJson(path.join(dir, 'adapter_config.json'), adapterConfig(lora, model.loraTargetModules, model.headModules, model.setup.task, info.baseModel));
  writeJson(path.join(dir, HANLAB_MODEL_FILE), info);
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InputError(`cannot read: ${(error as Error).message}`, { file }, { cause: error });
  }
}

/**
 * Loads a fine-tuned model for prediction: a merged HF folder (task from `architectures`, labels from
 * `id2label`) or a PEFT adapter folder (base model from `base_model_name_or_path`).
 */
export async function loadFineTuned(dir: string): Promise<{ encoder: PretrainedEncoder; info: FineTunedInfo | null }> {
  const infoFile = path.join(dir, HANLAB_MODEL_FILE);
  const info = existsSync(infoFile) ? (readJson(infoFile) as unknown as FineTunedInfo) : null;
  const adapterFile = path.join(dir, 'adapter_config.json');
  if (existsSync(adapterFile)) {
    const adapter = readJson(adapterFile);
    const base = typeof adapter.base_model_name_or_path === 'string' ? path.resolve(dir, adapter.base_model_name_or_path) : '';
    const task = adapter.task_type === 'TOKEN_CLS' ? 'token-classification' : adapter.task_type === 'SEQ_CLS' ? 'sequence-classification' : null;
    if (!task) throw new InputError(`task_type ${JSON.stringify(adapter.task_type)} is not SEQ_CLS or TOKEN_CLS`, { file: adapterFile, field: 'task_type' });
    const weights = SafetensorsArchive.open(path.join(dir, 'adapter_model.safetensors'));
    const tensors = new Map<string, CheckpointTensor>(weights.names().map((name) => [name, weights.read(name)]));
    const classifier = [...tensors.entries()].find(([name]) => /^base_model\.model\.classifier(\.out_proj)?\.weight$/.test(name));
    const labels = info?.labels ?? Array.from({ length: classifier?.[1].shape[0] ?? 0 }, (_, i) => `LABEL_${i}`);
    const targets = adapter.target_modules;
    const setup: EncoderSetup = {
      task,
      labels,
      lora: { r: Number(adapter.r), alpha: Number(adapter.lora_alpha), dropout: Number(adapter.lora_dropout ?? 0), targetModules: Array.isArray(targets) ? (targets as string[]) : [String(targets)] },
      seed: 0,
    };
    const encoder = await PretrainedEncoder.load(base, setup, String(adapter.base_model_name_or_path));
    encoder.loadAdapterWeights(tensors, path.join(dir, 'adapter_model.safetensors'));
    return { encoder, info };
  }
  const configFile = path.join(dir, 'config.json');
  if (!existsSync(configFile)) throw new InputError('is neither a fine-tuned model folder (config.json) nor a PEFT adapter (adapter_config.json)', { file: dir });
  const raw = readJson(configFile);
  const architecture = Array.isArray(raw.architectures) ? String(raw.architectures[0]) : '';
  const task = info?.task ?? (architecture.endsWith('ForTokenClassification') ? 'token-classification' : architecture.endsWith('ForSequenceClassification') ? 'sequence-classification' : null);
  if (!task) throw new InputError(`architectures ${JSON.stringify(raw.architectures)} is not a sequence or token classification model`, { file: configFile, field: 'architectures' });
  const id2label = raw.id2label as Record<string, string> | undefined;
  const labels = info?.labels ?? (id2label ? Object.keys(id2label).sort((a, b) => Number(a) - Number(b)).map((k) => id2label[k]) : null);
  if (!labels) throw new InputError('has no id2label (label names of the head)', { file: configFile, field: 'id2label' });
  const encoder = await PretrainedEncoder.load(dir, { task, labels, lora: null, seed: 0 });
  const fresh = encoder.notes.find((n) => n.startsWith('newly'));
  if (fresh) {
    encoder.dispose();
    throw new InputError(`lacks its trained head: ${fresh}`, { file: dir });
  }
  return { encoder, info };
}
