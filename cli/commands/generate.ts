/**
 * `hanlab generate`: answers for a data set from an OpenAI-compatible server (vLLM, llama.cpp server,
 * Ollama), resumable through the answer cache. A thin shell over lib/llm/generate.ts.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isLosslessNumber, parse as parseLossless } from 'lossless-json';
import { decodeText, type TextEncodingName } from '../../lib/data/encoding.js';
import { formatMcqaPrompt, loadKorMedMcqa, MCQA_SUBSETS, type McqaSubset } from '../../lib/data/kormedmcqa.js';
import { readTable, rowValue } from '../../lib/data/tabular.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { generate, type Prompt } from '../../lib/llm/generate.js';
import { readGenerationConfig, type GenerationConfig } from '../../lib/llm/generation-config.js';
import type { ChatMessage } from '../../lib/llm/openai-client.js';
import { parseNumberOption, parseOptions, rowLocation, usageError } from '../options.js';

const USAGE = `Usage: hanlab generate --data FILE --base-url URL --model NAME --out FILE [options]
       hanlab generate --config generate.ini --data FILE --out FILE [options]

Asks an OpenAI-compatible chat-completions server for an answer to every prompt of a data set and
writes them to --out as JSON Lines, in input order. Every answer is also appended (fsync'd) to a cache
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
  --model NAME         the served model name
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
  });
  if (!options) return 0;
  const config: GenerationConfig = options.config !== undefined ? readGenerationConfig(options.config) : {};
  const baseUrl = options['base-url'] ?? config.baseUrl;
  const modelName = options.model ?? config.model;
  for (const [required, value] of [['data', options.data], ['base-url', baseUrl], ['model', modelName], ['out', options.out]] as const) {
    if (!value) throw usageError(`--${required} is required${required === 'base-url' || required === 'model' ? ' (or in --config)' : ''}`, USAGE);
  }
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
      baseUrl: baseUrl!,
      model: modelName!,
      apiKey,
      temperature,
      maxTokens,
      concurrency,
      requestsPerSecond: rate,
      timeoutMs: timeoutS * 1000,
      retries,
      cachePath,
      signal: stop.signal,
      onAnswer: (_answer, done, total) => {
        if (done % every === 0 || done === total) console.error(`${done}/${total} answered`);
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
