/**
 * Generation settings from a config file, so a lab's endpoint, concurrency and rate limit live in one
 * reviewed place instead of every command line (`hanlab generate --config generate.ini`):
 *
 *   [generate]
 *   base_url = http://gpu-host:8000/v1   ; vLLM / SGLang / llama.cpp / Ollama
 *   model = exaone-lora
 *   concurrency = 64                     ; requests in flight
 *   requests_per_second = 0              ; a provider's rate limit; 0 = none
 *   timeout = 120                        ; seconds per request
 *   retries = 4
 *   max_tokens = 512
 *   temperature = 0
 *   api_key_env = OPENAI_API_KEY         ; the variable holding the key (never the key itself)
 *
 * Parsed with the `ini` package; every error names the file, the line and the key, and unknown keys
 * are errors (a typo such as `concurency` must not silently fall back to the default).
 */
import { readFileSync } from 'node:fs';
import * as ini from 'ini';
import { InputError } from '../errors.js';

export interface GenerationConfig {
  baseUrl?: string;
  model?: string;
  concurrency?: number;
  /** undefined: no limit (0 in the file). */
  requestsPerSecond?: number;
  timeoutSeconds?: number;
  retries?: number;
  maxTokens?: number;
  temperature?: number;
  apiKeyEnv?: string;
}

const SECTION = 'generate';

type Rule = { field: keyof GenerationConfig; kind: 'string' | 'integer' | 'number'; min: number; allowZero?: boolean };

const KEYS: Record<string, Rule> = {
  base_url: { field: 'baseUrl', kind: 'string', min: 0 },
  model: { field: 'model', kind: 'string', min: 0 },
  concurrency: { field: 'concurrency', kind: 'integer', min: 1 },
  requests_per_second: { field: 'requestsPerSecond', kind: 'number', min: 0, allowZero: true },
  timeout: { field: 'timeoutSeconds', kind: 'number', min: 0 },
  retries: { field: 'retries', kind: 'integer', min: 0, allowZero: true },
  max_tokens: { field: 'maxTokens', kind: 'integer', min: 1 },
  temperature: { field: 'temperature', kind: 'number', min: 0, allowZero: true },
  api_key_env: { field: 'apiKeyEnv', kind: 'string', min: 0 },
};

/** 1-based line of `key` inside `[section]` (for error messages), or undefined. */
function lineOf(text: string, section: string | undefined, key: string): number | undefined {
  let current: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const header = /^\[([^\]]+)\]/.exec(line);
    if (header) current = header[1].trim();
    else if (current === section && new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=`).test(line)) return i + 1;
  }
  return undefined;
}

export function parseGenerationConfig(text: string, file: string): GenerationConfig {
  const parsed = ini.parse(text) as Record<string, unknown>;
  const where = (section: string | undefined, key?: string) => ({ file, line: key ? lineOf(text, section, key) : undefined, field: key });
  for (const [name, value] of Object.entries(parsed)) {
    if (name === SECTION && typeof value === 'object' && value !== null) continue;
    throw new InputError(typeof value === 'object' ? `unknown section [${name}] (settings go under [${SECTION}])` : `settings go under a [${SECTION}] section`, where(undefined, typeof value === 'object' ? undefined : name));
  }
  const section = (parsed[SECTION] ?? {}) as Record<string, unknown>;
  const config: GenerationConfig = {};
  for (const [key, raw] of Object.entries(section)) {
    const rule = Object.hasOwn(KEYS, key) ? KEYS[key] : undefined;
    if (!rule) throw new InputError(`unknown key (known: ${Object.keys(KEYS).join(', ')})`, where(SECTION, key));
    if (typeof raw !== 'string') throw new InputError('expected one value', where(SECTION, key));
    const text = raw.trim();
    if (rule.kind === 'string') {
      if (text === '') throw new InputError('is empty', where(SECTION, key));
      (config as Record<string, unknown>)[rule.field] = text;
      continue;
    }
    const value = Number(text);
    const integer = rule.kind === 'integer';
    const valid = text !== '' && Number.isFinite(value) && (!integer || Number.isInteger(value)) && (rule.allowZero ? value >= rule.min : value > 0 && value >= rule.min);
    if (!valid) {
      const expected = integer ? `an integer >= ${rule.allowZero ? rule.min : Math.max(1, rule.min)}` : rule.allowZero ? 'a number >= 0' : 'a positive number';
      throw new InputError(`expected ${expected}, not "${text}"`, where(SECTION, key));
    }
    if (rule.field === 'requestsPerSecond' && value === 0) continue; // 0: no limit
    (config as Record<string, unknown>)[rule.field] = value;
  }
  return config;
}

export function readGenerationConfig(file: string): GenerationConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw new InputError(`cannot read the generation config (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { file }, { cause: error });
  }
  return parseGenerationConfig(text, file);
}
