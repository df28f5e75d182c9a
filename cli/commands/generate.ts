/**
 * `hanlab generate`: answers for a data set from an OpenAI-compatible server (vLLM, llama.cpp server,
 * Ollama) or from a GGUF model file run in this process (the local engine), resumable through the
 * answer cache. A thin shell over lib/llm/generate.ts.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isLosslessNumber, parse as parseLossless } from 'lossless-json';
import { decodeText, type TextEncodingName } from '../../lib/data/encoding.js';
import { formatMcqaPrompt, loadKorMedMcqa, MCQA_SUBSETS, type McqaSubset } from '../../lib/data/kormedmcqa.js';
import { readTable, rowValue } from '../../lib/data/tabular.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { generate, type GenerateOptions, type Prompt } from '../../lib/llm/generate.js';
import { readJsonSchema } from '../../lib/llm/json-schema.js';
import { GPU_CHOICES, type GpuChoice } from '../../lib/llm/gpu-choice.js';
import { readGenerationConfig, type GenerationConfig } from '../../lib/llm/generation-config.js';
import type { ChatMessage } from '../../lib/llm/openai-client.js';
import { parseNumberOption, parseOptions, rowLocation, usageError } from '../options.js';

const USAGE = `Usage: hanlab generate --data FILE --base-url URL --model NAME --out FILE [options]
       hanlab generate --data FILE --model FILE.gguf --out FILE [options]
       hanlab generate --config generate.ini --data FILE --out FILE [options]

Asks an OpenAI-compatible chat-completions server, or a GGUF model file run here (no --base-url), for
an answer to every prompt of a data set and writes them to --out as JSON Lines, in input order. Every answer is also appended (fsync'd) to a cache
as it arrives, so an interrupted run continues where it stopped when started again: no answer is lost
and no prompt is asked twice.

  --data FILE          prompts:
                         chat JSONL: {"messages": [{"role": "system"|"user"|"assistant", "content": ...}]}
                           per line (a final assistant turn is the reference answer: it is not sent, it
                           is written to the output as "reference"), or {"prompt": "..."} per line;
                           an "id" field is kept as the text read (a number such as
                           123456789012345678901 is not rounded), the last user message is
                           written as "query".
                           \`hanlab eval json --records OUT --gold-field reference\` scores such output.
                         KorMedMCQA CSV / Parquet (or a folder of them): study 002's prompt per
                           question; the output lines are what \`hanlab eval mcqa --records\` reads.
  --base-url URL       e.g. http://localhost:8000/v1 (vLLM), http://localhost:8080/v1 (llama.cpp),
                       http://localhost:11434/v1 (Ollama)
  --model NAME         the served model name, or without --base-url a GGUF model file, run in this
                       process by llama.cpp (node-llama-cpp's CPU build; see README, "Local GGUF models")
  --out FILE           answers, JSON Lines (written when every prompt has an answer)
  --cache FILE         the resumable answer cache (default: <out>.cache.jsonl); one run at a
                       time per cache: a second run on it stops with an error (<cache>.lock)
  --config FILE        settings from an INI file's [generate] section: base_url, model,
                       concurrency, requests_per_second, timeout, retries, max_tokens,
                       temperature, api_key_env (options given here win)
  --subset NAME        KorMedMCQA subset when the file name does not say it (${MCQA_SUBSETS.join(', ')})
  --system TEXT        a system message put before each prompt that has none
  --temperature X      default 0
  --max-tokens N       default 512
  --concurrency N      requests in flight (default 4; 32-256 keeps a vLLM/SGLang server busy)
  --rate N             at most N requests start per second (default: no limit)
  --timeout S          seconds per request (default 120)
  --retries N          retries on 429 / 5xx / timeouts / network errors (default 4)
  --api-key-env NAME   environment variable holding the API key (default OPENAI_API_KEY; unset = none)
  --limit N            only the first N prompts (a smoke test)

Local GGUF model only:
  --chat-template M    auto (default): the model's own chat template (tokenizer.chat_template) when it
                       has one; none: the prompt text as it is (a chat's messages one paragraph each)
  --lora FILE[:SCALE]  a LoRA adapter in GGUF (scale default 1); repeatable
  --json-schema FILE   every answer is JSON valid under this JSON Schema (a grammar constrains it)
  --seed N             sampling seed, for --temperature above 0 (default 0)
  --threads N          CPU threads (default: all cores)
  --gpu G              auto (default), off, vulkan, cuda (the GPU builds are optional: see README)
  --context-size N     tokens of context (default: the model's, at most 4096)
  -h, --help           show this help`;

/** One prompt and what goes beside its answer in the output line. */
interface PromptItem {
  prompt: Prompt;
  fields: Record<string, unknown>;
}

const ROLES = new Set(['system', 'user', 'assistant']);

/**
 * An "id" as written in the file. JSON.parse turns 123456789012345678901 into 123456789012345680000,
 * so a numeric id is read again from its line with lossless-json, which keeps a number's text.
 */
function idReader(file: string, encoding: TextEncodingName) {
  let lines: string[] | undefined;
  return (row: { line: number | null; row: number }, id: unknown): string => {
    if (id === undefined || id === null) return String(row.row);
    if (typeof id !== 'number' || row.line === null) return String(id);
    lines ??= decodeText(readFileSync(file), { file, encoding }).text.split('\n');
    const parsed = parseLossless(lines[row.line - 1].trim()) as Record<string, unknown>;
    return isLosslessNumber(parsed.id) ? parsed.id.value : String(id);
  };
}

async function readChatPrompts(file: string): Promise<PromptItem[]> {
  const table = await readTable(file, { format: 'jsonl' });
  if (table.rows.length === 0) throw new InputError('has no records', { file });
  const idText = idReader(file, table.encoding);
  return table.rows.map((row) => {
    const get = (field: string) => rowValue(row, field);
    const fields: Record<string, unknown> = { id: idText(row, get('id')) };
    const prompt = get('prompt');
    if (typeof prompt === 'string') {
      if (prompt.trim() === '') throw new InputError('prompt is empty', rowLocation(file, row, 'prompt'));
      fields.query = prompt;
      return { prompt, fields };
    }
    const messages = get('messages');
    if (!Array.isArray(messages) || messages.length === 0) {
      throw new InputError('expected {"messages": [...]} or {"prompt": "..."}', rowLocation(file, row, 'messages'));
    }
    const checked: ChatMessage[] = messages.map((message, i) => {
      const m = message as Record<string, unknown>;
      if (typeof message !== 'object' || message === null || !ROLES.has(m.role as string) || typeof m.content !== 'string') {
        throw new InputError('expected {"role": "system"|"user"|"assistant", "content": "..."}', rowLocation(file, row, `messages[${i}]`));
      }
      return { role: m.role as ChatMessage['role'], content: m.content as string };
    });
    if (checked[checked.length - 1].role === 'assistant') fields.reference = checked.pop()!.content;
    const lastUser = [...checked].reverse().find((m) => m.role === 'user');
    if (!lastUser) throw new InputError('has no user message to send', rowLocation(file, row, 'messages'));
    fields.query = lastUser.content;
    return { prompt: checked, fields };
  });
}

async function readMcqaPrompts(file: string, subset: McqaSubset | undefined): Promise<PromptItem[]> {
  const dataset = await loadKorMedMcqa(file, { subset });
  if (dataset.questions.length === 0) throw new InputError('has no questions', { file });
  return dataset.questions.map((question) => {
    const prompt = formatMcqaPrompt(question);
    return {
      prompt: prompt.text,
      fields: {
        id: `${question.split ?? 'data'}-${question.source.row}`,
        subset: question.subset,
        gold: question.answer,
        options: question.options,
      },
    };
  });
}

export async function run(argv: string[]): Promise<number> {
  const options = parseOptions(argv, USAGE, {
    data: { type: 'string' },
    'base-url': { type: 'string' },
    model: { type: 'string' },
    out: { type: 'string' },
    cache: { type: 'string' },
    subset: { type: 'string' },
    system: { type: 'string' },
    temperature: { type: 'string' },
    'max-tokens': { type: 'string' },
    concurrency: { type: 'string' },
    timeout: { type: 'string' },
    retries: { type: 'string' },
    'api-key-env': { type: 'string' },
    limit: { type: 'string' },
    config: { type: 'string' },
    rate: { type: 'string' },
    'chat-template': { type: 'string' },
    lora: { type: 'string', multiple: true },
    'json-schema': { type: 'string' },
    seed: { type: 'string' },
    threads: { type: 'string' },
    gpu: { type: 'string' },
    'context-size': { type: 'string' },
  });
  if (!options) return 0;
  const config: GenerationConfig = options.config !== undefined ? readGenerationConfig(options.config) : {};
  const baseUrl = options['base-url'] ?? config.baseUrl;
  const modelName = options.model ?? config.model;
  const local = baseUrl === undefined && modelName !== undefined && /\.gguf$/i.test(modelName);
  for (const [required, value] of [['data', options.data], ['base-url', local ? 'local' : baseUrl], ['model', modelName], ['out', options.out]] as const) {
    if (!value) {
      const where = required === 'base-url' ? ' (or in --config), or --model FILE.gguf to run a model here' : required === 'model' ? ' (or in --config)' : '';
      throw usageError(`--${required} is required${where}`, USAGE);
    }
  }
  const localOnly = (['chat-template', 'lora', 'json-schema', 'seed', 'threads', 'gpu', 'context-size'] as const).filter((name) => options[name] !== undefined);
  if (!local && localOnly.length) throw new UsageError(`--${localOnly[0]} is for a local GGUF model (--model FILE.gguf without --base-url)`);
  const localSettings = local ? readLocalSettings(options) : {};
  const subset = options.subset as McqaSubset | undefined;
  if (subset !== undefined && !(MCQA_SUBSETS as readonly string[]).includes(subset)) throw new UsageError(`--subset must be one of ${MCQA_SUBSETS.join(', ')}`);
  const isInt = (n: number) => Number.isInteger(n);
  const temperature = parseNumberOption(options.temperature, '--temperature', config.temperature ?? 0, (n) => n >= 0, 'a number >= 0');
  const maxTokens = parseNumberOption(options['max-tokens'], '--max-tokens', config.maxTokens ?? 512, (n) => isInt(n) && n >= 1, 'a positive integer');
  const concurrency = parseNumberOption(options.concurrency, '--concurrency', config.concurrency ?? 4, (n) => isInt(n) && n >= 1, 'a positive integer');
  const timeoutS = parseNumberOption(options.timeout, '--timeout', config.timeoutSeconds ?? 120, (n) => n > 0, 'a positive number of seconds');
  const retries = parseNumberOption(options.retries, '--retries', config.retries ?? 4, (n) => isInt(n) && n >= 0, 'an integer >= 0');
  const rate = options.rate === undefined ? config.requestsPerSecond : parseNumberOption(options.rate, '--rate', 0, (n) => n > 0, 'a positive number of requests per second');
  const limit = parseNumberOption(options.limit, '--limit', Infinity, (n) => isInt(n) && n >= 1, 'a positive integer');

  const data = options.data!;
  const isChat = ['.jsonl', '.ndjson', '.json'].includes(extname(data).toLowerCase());
  let items = isChat ? await readChatPrompts(data) : await readMcqaPrompts(data, subset);
  if (Number.isFinite(limit)) items = items.slice(0, limit);
  if (options.system !== undefined) {
    const system = options.system;
    for (const item of items) {
      const messages: ChatMessage[] = typeof item.prompt === 'string' ? [{ role: 'user', content: item.prompt }] : [...item.prompt];
      if (messages[0].role !== 'system') messages.unshift({ role: 'system', content: system });
      item.prompt = messages;
    }
  }

  const out = options.out!;
  const cachePath = options.cache ?? `${out}.cache.jsonl`;
  const apiKey = process.env[options['api-key-env'] ?? config.apiKeyEnv ?? 'OPENAI_API_KEY'] || undefined;
  const every = Math.max(1, Math.floor(items.length / 20));
  const started = performance.now();
  let promptTokens = 0;
  let generatedTokens = 0;
  // Ctrl-C stops cleanly: requests in flight are aborted, every answer so far is already in the cache.
  const stop = new AbortController();
  const onInterrupt = () => {
    console.error('interrupted: stopping; run the same command again to resume from the cache');
    stop.abort();
  };
  process.once('SIGINT', onInterrupt);
  const generation = await generate(
    items.map((item) => item.prompt),
    {
      baseUrl: local ? undefined : baseUrl,
      model: modelName!,
      ...localSettings,
      apiKey,
      temperature,
      maxTokens,
      concurrency,
      requestsPerSecond: rate,
      timeoutMs: timeoutS * 1000,
      retries,
      cachePath,
      signal: stop.signal,
      onAnswer: (answer, done, total) => {
        promptTokens += answer.promptTokens ?? 0;
        generatedTokens += answer.generatedTokens ?? 0;
        if (done % every !== 0 && done !== total) return;
        const seconds = (performance.now() - started) / 1000;
        const speed = local && generatedTokens > 0
          ? `, ${(generatedTokens / seconds).toFixed(1)} tokens/s generated (${generatedTokens} tokens, ${promptTokens} prompt tokens read)`
          : '';
        console.error(`${done}/${total} answered${speed}`);
      },
      onRetry: (event) => console.error(`retry ${event.attempt} of prompt ${event.index} in ${event.delayMs} ms: ${event.error.message}`),
    },
  ).finally(() => process.removeListener('SIGINT', onInterrupt));
  const lines = generation.answers.map((answer, i) =>
    JSON.stringify({ ...items[i].fields, answer: answer.answer, finishReason: answer.finishReason, model: modelName, cached: answer.fromCache }),
  );
  // Write then rename, so a crash never leaves a half-written answers file (the cache has everything).
  const temporary = `${out}.partial`;
  writeFileSync(temporary, lines.join('\n') + '\n');
  renameSync(temporary, out);
  const s = generation.stats;
  console.error(
    `${out}: ${s.prompts} answers (${s.generated} generated, ${s.fromCache} from the cache, ${s.retries} retries` +
      `${s.tornCacheBytes ? `, ${s.tornCacheBytes} bytes of a torn cache line dropped` : ''}` +
      `${s.staleLockPid !== undefined ? `, the lock of a run that died (pid ${s.staleLockPid}) taken over` : ''}); cache: ${cachePath}`,
  );
  return 0;
}

type LocalSettings = Pick<GenerateOptions, 'chatTemplate' | 'loras' | 'jsonSchema' | 'seed' | 'threads' | 'gpu' | 'contextSize'>;

/** The local engine's options, checked (the model file itself is checked when it opens). */
function readLocalSettings(options: Record<string, string | string[] | boolean | undefined>): LocalSettings {
  const text = (name: string) => options[name] as string | undefined;
  const chatTemplate = text('chat-template') ?? 'auto';
  if (chatTemplate !== 'auto' && chatTemplate !== 'none') throw new UsageError(`--chat-template must be auto or none, not "${chatTemplate}"`);
  const gpu = text('gpu') ?? 'auto';
  if (!(GPU_CHOICES as readonly string[]).includes(gpu)) throw new UsageError(`--gpu must be one of ${GPU_CHOICES.join(', ')}, not "${gpu}"`);
  const isInt = (n: number) => Number.isInteger(n);
  const loras = ((options.lora as string[] | undefined) ?? []).map((spec) => {
    // FILE[:SCALE]; a path may itself hold colons, so only a trailing number is a scale.
    const match = /^(.*):([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i.exec(spec);
    const file = match ? match[1]! : spec;
    const scale = match ? Number(match[2]) : 1;
    if (!file) throw new UsageError(`--lora ${spec}: expected FILE.gguf or FILE.gguf:SCALE`);
    return { file, scale };
  });
  return {
    chatTemplate,
    loras,
    jsonSchema: text('json-schema') === undefined ? undefined : readJsonSchema(text('json-schema')!),
    seed: parseNumberOption(text('seed'), '--seed', 0, (n) => isInt(n) && n >= 0 && n <= 0xffffffff, 'an integer from 0 to 4294967295'),
    threads: text('threads') === undefined ? undefined : parseNumberOption(text('threads'), '--threads', 0, (n) => isInt(n) && n >= 1, 'a positive integer'),
    gpu: gpu as GpuChoice,
    contextSize: text('context-size') === undefined ? undefined : parseNumberOption(text('context-size'), '--context-size', 0, (n) => isInt(n) && n >= 16, 'an integer >= 16'),
  };
}
