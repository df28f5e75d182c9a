/**
 * A local Hugging Face model folder: `config.json`, the weights (`model.safetensors`, or shards named by
 * `model.safetensors.index.json`) and the tokenizer (`tokenizer.json`, or `vocab.txt` with
 * `tokenizer_config.json`). hanlab never downloads: a missing folder or file gets an error that says
 * how to fetch it on a connected machine.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { readEncoderConfig, type EncoderConfig } from './config.js';
import { SafetensorsArchive } from './safetensors.js';

export interface ModelFolder {
  dir: string;
  configFile: string;
  config: EncoderConfig;
  weights: SafetensorsArchive;
  /** `model.safetensors` or the index file, for messages. */
  weightsFile: string;
  /** `tokenizer.json` when present. */
  tokenizerFile: string | null;
  /** `vocab.txt` when present. */
  vocabFile: string | null;
  /** `tokenizer_config.json` merged over `special_tokens_map.json` (both optional). */
  tokenizerConfig: Record<string, unknown>;
}

/** Error text for a model that is not on disk: how to get it. */
export function downloadHint(name: string): string {
  const id = /^[\w.-]+\/[\w.-]+$/.test(name) ? name : 'ORG/MODEL';
  const folder = id === 'ORG/MODEL' ? 'MODEL' : id.replace('/', '-');
  return (
    `hanlab reads Hugging Face models from local folders and never downloads. On a machine with internet run ` +
    `\`huggingface-cli download ${id} --local-dir ${folder}\` (it fetches config.json, model.safetensors and the tokenizer files), ` +
    `copy the folder here and point model_name (or --model-dir) at it`
  );
}

/** Opens `dir` (`name` is what the user wrote, for messages). Reads headers only; weights load on demand. */
export function openModelFolder(dir: string, name: string = dir): ModelFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InputError(`no model folder at ${path.resolve(dir)}. ${downloadHint(name)}`, { field: 'model_name' });
  }
  const configFile = path.join(dir, 'config.json');
  if (!existsSync(configFile)) throw new InputError(`is not a Hugging Face model folder: config.json is missing. ${downloadHint(name)}`, { file: dir });
  const config = readEncoderConfig(configFile);
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  let weights: SafetensorsArchive;
  let weightsFile: string;
  if (existsSync(single)) {
    weights = SafetensorsArchive.open(single);
    weightsFile = single;
  } else if (existsSync(index)) {
    weights = SafetensorsArchive.openIndex(index);
    weightsFile = index;
  } else {
    const pickle = ['pytorch_model.bin', 'tf_model.h5', 'flax_model.msgpack'].find((f) => existsSync(path.join(dir, f)));
    throw new InputError(
      pickle
        ? `holds ${pickle} but no model.safetensors; hanlab reads safetensors only (pickle files can run code). ` +
            `Get the safetensors weights (\`huggingface-cli download ${/^[\w.-]+\/[\w.-]+$/.test(name) ? name : 'ORG/MODEL'} --include "*.safetensors"\`), ` +
            `or convert on a machine with transformers: AutoModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)`
        : `has no model.safetensors (nor model.safetensors.index.json). ${downloadHint(name)}`,
      { file: dir },
    );
  }
  const { tokenizerFile, vocabFile, tokenizerConfig } = readTokenizerFiles(dir, name);
  return { dir, configFile, config, weights, weightsFile, tokenizerFile, vocabFile, tokenizerConfig };
}

/** The tokenizer files of a model folder (`tokenizer.json` or `vocab.txt`, and their settings). */
export function readTokenizerFiles(dir: string, name: string = dir): Pick<ModelFolder, 'tokenizerFile' | 'vocabFile' | 'tokenizerConfig'> {
  const tokenizerFile = existsSync(path.join(dir, 'tokenizer.json')) ? path.join(dir, 'tokenizer.json') : null;
  const vocabFile = existsSync(path.join(dir, 'vocab.txt')) ? path.join(dir, 'vocab.txt') : null;
  if (!tokenizerFile && !vocabFile) {
    const sentencePiece = ['spm.model', 'sentencepiece.bpe.model', 'tokenizer.model'].find((f) => existsSync(path.join(dir, f)));
    throw new InputError(
      sentencePiece
        ? `has ${sentencePiece} but no tokenizer.json; convert it once on a machine with transformers: ` +
            `AutoTokenizer.from_pretrained(dir).save_pretrained(dir) writes tokenizer.json`
        : `has neither tokenizer.json nor vocab.txt. ${downloadHint(name)}`,
      { file: dir },
    );
  }
  const tokenizerConfig: Record<string, unknown> = Object.create(null);
  for (const file of ['special_tokens_map.json', 'tokenizer_config.json']) {
    const full = path.join(dir, file);
    if (!existsSync(full)) continue;
    try {
      Object.assign(tokenizerConfig, JSON.parse(readFileSync(full, 'utf8')));
    } catch (error) {
      throw new InputError(`is not valid JSON: ${(error as Error).message}`, { file: full }, { cause: error });
    }
  }
  return { tokenizerFile, vocabFile, tokenizerConfig };
}
