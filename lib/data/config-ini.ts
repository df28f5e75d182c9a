/**
 * Study 004's training configuration file, `config.ini`:
 *
 *   [Path]             model_name, train_file, valid_file, output_dir, checkpoint_dir
 *   [Hyperparameters]  num_labels, max_seq_length, batch_size, learning_rate, epochs, seed, split_ratio
 *   [LoRA]             r, alpha, dropout, target_modules (optional: present = fine-tune with LoRA)
 *
 * Parsed with the `ini` package (which also strips inline `;` and `#` comments: `num_labels = 3 ; 라벨
 * 개수`), then validated: every error names the file, the line and the key. Unknown sections or keys
 * are errors too, so a typo (`learning_rat`) cannot silently fall back to nothing.
 *
 * Rules: `valid_file` may be empty (`valid_file =  ; 비워두면 자동 분할`), and then `split_ratio` is
 * required; `checkpoint_dir` may be empty or absent; everything else is required. Relative paths are
 * resolved against the directory of the config file (study 004 keeps config.ini at the project root,
 * so there this is the same as the project root).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ini from 'ini';
import { InputError } from '../errors.js';
import { decodeText } from './encoding.js';

export interface TrainingConfig {
  /** The config file that was read. */
  file: string;
  /** A model id (e.g. `team-lucid/deberta-v3-base-korean`) or a local model path, as written. */
  modelName: string;
  trainFile: string;
  /** null when `valid_file` is empty: split `trainFile` by `splitRatio`. */
  validFile: string | null;
  outputDir: string;
  checkpointDir: string | null;
  numLabels: number;
  maxSeqLength: number;
  batchSize: number;
  learningRate: number;
  epochs: number;
  seed: number;
  /** Validation share when splitting; null only when a validation file is given and no ratio set. */
  splitRatio: number | null;
  /** The optional [LoRA] section (defaults r 8, alpha 16, dropout 0.1, target_modules query,value); absent: full fine-tuning. */
  lora?: { r: number; alpha: number; dropout: number; targetModules: string[] | 'all-linear' } | null;
}

const SECTIONS = {
  Path: ['model_name', 'train_file', 'valid_file', 'output_dir', 'checkpoint_dir'],
  Hyperparameters: ['num_labels', 'max_seq_length', 'batch_size', 'learning_rate', 'epochs', 'seed', 'split_ratio'],
  LoRA: ['r', 'alpha', 'dropout', 'target_modules'],
} as const;

type SectionName = keyof typeof SECTIONS;

/** Line of `key` inside `[section]` (ini reports no positions, so errors find it themselves). */
function keyLines(text: string): Map<string, number[]> {
  const found = new Map<string, number[]>();
  let section = '';
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1].trim();
      return;
    }
    const entry = /^([^=;#]+?)\s*=/.exec(line);
    if (entry) {
      const key = `${section}\u0000${entry[1].trim()}`;
      found.set(key, [...(found.get(key) ?? []), index + 1]);
    }
  });
  return found;
}

function sectionLines(text: string): Map<string, number> {
  const found = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const header = /^\[(.+)\]$/.exec(raw.trim());
    if (header && !found.has(header[1].trim())) found.set(header[1].trim(), index + 1);
  });
  return found;
}

/** Parse and validate the text of a config.ini. `file` is used for messages and relative paths. */
export function parseTrainingConfig(text: string, file: string): TrainingConfig {
  const lines = keyLines(text);
  const sections = sectionLines(text);
  const lineOf = (section: string, key: string): number | undefined => lines.get(`${section}\u0000${key}`)?.[0];
  const fail = (section: string, key: string, detail: string): never => {
    throw new InputError(detail, { file, line: lineOf(section, key) ?? sections.get(section), field: `[${section}] ${key}` });
  };

  for (const [key, at] of lines) {
    if (at.length > 1) {
      const [section, name] = key.split('\u0000');
      throw new InputError(`key appears ${at.length} times (lines ${at.join(', ')}); keep one`, { file, line: at[1], field: `[${section}] ${name}` });
    }
  }

  let parsed: Record<string, unknown>;
  try {
    parsed = ini.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new InputError(`cannot parse as INI: ${(error as Error).message}`, { file }, { cause: error });
  }

  for (const name of Object.keys(parsed)) {
    const value = parsed[name];
    if (!(name in SECTIONS)) {
      if (typeof value === 'object' && value !== null) {
        throw new InputError(`unknown section [${name}] (expected ${Object.keys(SECTIONS).map((s) => `[${s}]`).join(' and ')})`, {
          file,
          line: sections.get(name),
        });
      }
      throw new InputError(`key '${name}' is outside any section (put it under [Path] or [Hyperparameters])`, {
        file,
        line: lineOf('', name),
        field: name,
      });
    }
  }
  const section = (name: SectionName): Record<string, unknown> => {
    const value = parsed[name];
    if (typeof value !== 'object' || value === null) throw new InputError(`has no [${name}] section`, { file });
    for (const key of Object.keys(value)) {
      if (!(SECTIONS[name] as readonly string[]).includes(key)) {
        fail(name, key, `unknown key (expected one of ${SECTIONS[name].join(', ')})`);
      }
    }
    return value as Record<string, unknown>;
  };
  const paths = section('Path');
  const hyper = section('Hyperparameters');

  const raw = (values: Record<string, unknown>, sectionName: SectionName, key: string): string | null => {
    const value = values[key];
    if (value === undefined) return null;
    if (typeof value === 'boolean') return value ? 'true' : '';
    if (typeof value !== 'string') fail(sectionName, key, 'must be a single value');
    const text = (value as string).trim();
    return text === '' ? null : text;
  };
  const required = (values: Record<string, unknown>, sectionName: SectionName, key: string): string => {
    const value = raw(values, sectionName, key);
    if (value === null) fail(sectionName, key, values[key] === undefined ? 'is missing' : 'is empty');
    return value as string;
  };
  const baseDir = path.dirname(path.resolve(file));
  const resolvePath = (value: string): string => (path.isAbsolute(value) ? value : path.resolve(baseDir, value));

  const number = (key: string, check: (n: number) => boolean, expectation: string, optional = false): number | null => {
    const text = optional ? raw(hyper, 'Hyperparameters', key) : required(hyper, 'Hyperparameters', key);
    if (text === null) return null;
    // Number() accepts '', '0x10' and ' 1 '; insist on a plain decimal or exponent form instead.
    const value = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(value) || !check(value)) fail('Hyperparameters', key, `must be ${expectation}, got '${text}'`);
    return value;
  };
  const positiveInt = (n: number): boolean => Number.isSafeInteger(n) && n >= 1;

  const validFileRaw = raw(paths, 'Path', 'valid_file');
  const splitRatio = number('split_ratio', (n) => n > 0 && n < 1, 'a number between 0 and 1 (exclusive)', validFileRaw !== null);
  const numLabels = number('num_labels', (n) => Number.isSafeInteger(n) && n >= 2, 'an integer of at least 2') as number;

  const config: TrainingConfig = {
    file,
    modelName: required(paths, 'Path', 'model_name'),
    trainFile: resolvePath(required(paths, 'Path', 'train_file')),
    validFile: validFileRaw === null ? null : resolvePath(validFileRaw),
    outputDir: resolvePath(required(paths, 'Path', 'output_dir')),
    checkpointDir: ((value) => (value === null ? null : resolvePath(value)))(raw(paths, 'Path', 'checkpoint_dir')),
    numLabels,
    maxSeqLength: number('max_seq_length', positiveInt, 'a positive integer') as number,
    batchSize: number('batch_size', positiveInt, 'a positive integer') as number,
    learningRate: number('learning_rate', (n) => n > 0, 'a positive number (e.g. 2e-5)') as number,
    epochs: number('epochs', positiveInt, 'a positive integer') as number,
    seed: number('seed', (n) => Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff, 'an integer from 0 to 4294967295') as number,
    splitRatio,
  };
  if (parsed.LoRA !== undefined) {
    const lora = section('LoRA');
    const loraNumber = (key: string, fallback: number, check: (n: number) => boolean, expectation: string): number => {
      const text = raw(lora, 'LoRA', key);
      if (text === null) return fallback;
      const value = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : Number.NaN;
      if (!check(value)) fail('LoRA', key, `must be ${expectation}, got '${text}'`);
      return value;
    };
    const targets = raw(lora, 'LoRA', 'target_modules') ?? 'query,value';
    const names = targets.split(',').map((t) => t.trim()).filter((t) => t !== '');
    if (names.length === 0 || !names.every((t) => /^[A-Za-z_][\w.-]*$/.test(t))) fail('LoRA', 'target_modules', `must be a comma list of module names or all-linear, got '${targets}'`);
    config.lora = {
      r: loraNumber('r', 8, positiveInt, 'a positive integer'),
      alpha: loraNumber('alpha', 16, (n) => n > 0, 'a positive number'),
      dropout: loraNumber('dropout', 0.1, (n) => n >= 0 && n < 1, 'a number from 0 up to (not including) 1'),
      targetModules: names.length === 1 && names[0] === 'all-linear' ? 'all-linear' : names,
    };
  }
  return config;
}

/** Read and validate a study-004-style `config.ini`. */
export function readTrainingConfig(file: string): TrainingConfig {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new InputError(`cannot read config file: ${(error as Error).message}`, { file }, { cause: error });
  }
  // Korean comments in a config saved on Windows are often CP949; decodeText detects that.
  return parseTrainingConfig(decodeText(bytes, { file }).text, file);
}
