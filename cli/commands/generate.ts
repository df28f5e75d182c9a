/**
 * `hanlab generate`: answers for a data set from an OpenAI-compatible server (vLLM, llama.cpp server,
 * Ollama), resumable through the answer cache. A thin shell over lib/llm/generate.ts.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { formatMcqaPrompt, loadKorMedMcqa, MCQA_SUBSETS, type McqaSubset } from '../../lib/data/kormedmcqa.js';
import { readTable, rowValue } from '../../lib/data/tabular.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { generate, type Prompt } from '../../lib/llm/generate.js';
import type { ChatMessage } from '../../lib/llm/openai-client.js';
import { parseNumberOption, parseOptions, rowLocation, usageError } from '../options.js';

const USAGE = `Usage: hanlab generate --data FILE --base-url URL --model NAME --out FILE [options]

Asks an OpenAI-compatible chat-completions server for an answer to every prompt of a data set and
writes them to --out as JSON Lines, in input order. Every answer is also appended (fsync'd) to a cache
as it arrives, so an interrupted run continues where it stopped when started again: no answer is lost
and no prompt is asked twice.

  --data FILE          prompts:
                         chat JSONL: {"messages": [{"role": "system"|"user"|"assistant", "content": ...}]}
                           per line (a final assistant turn is the reference answer: it is not sent, it
                           is written to the output as "reference"), or {"prompt": "..."} per line;
                           an "id" field is kept, the last user message is written as "query".
                           \`hanlab eval json --records OUT --gold-field reference\` scores such output.
                         KorMedMCQA CSV / Parquet (or a folder of them): study 002's prompt per
                           question; the output lines are what \`hanlab eval mcqa --records\` reads.
  --base-url URL       e.g. http://localhost:8000/v1 (vLLM), http://localhost:8080/v1 (llama.cpp),
                       http://localhost:11434/v1 (Ollama)
  --model NAME         the served model name
  --out FILE           answers, JSON Lines (written when every prompt has an answer)
  --cache FILE         the resumable answer cache (default: <out>.cache.jsonl)
  --subset NAME        KorMedMCQA subset when the file name does not say it (${MCQA_SUBSETS.join(', ')})
  --system TEXT        a system message put before each prompt that has none
  --temperature X      default 0
  --max-tokens N       default 512
  --concurrency N      requests in flight (default 4)
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

async function readChatPrompts(file: string): Promise<PromptItem[]> {
  const table = await readTable(file, { format: 'jsonl' });
  if (table.rows.length === 0) throw new InputError('has no records', { file });
  return table.rows.map((row) => {
    const get = (field: string) => rowValue(row, field);
    const id = get('id');
    const fields: Record<string, unknown> = { id: id === undefined || id === null ? String(row.row) : String(id) };
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
    'api-key-env': { type: 'string', default: 'OPENAI_API_KEY' },
    limit: { type: 'string' },
  });
  if (!options) return 0;
  for (const required of ['data', 'base-url', 'model', 'out'] as const) {
    if (!options[required]) throw usageError(`--${required} is required`, USAGE);
  }
  const subset = options.subset as McqaSubset | undefined;
  if (subset !== undefined && !(MCQA_SUBSETS as readonly string[]).includes(subset)) throw new UsageError(`--subset must be one of ${MCQA_SUBSETS.join(', ')}`);
  const isInt = (n: number) => Number.isInteger(n);
  const temperature = parseNumberOption(options.temperature, '--temperature', 0, (n) => n >= 0, 'a number >= 0');
  const maxTokens = parseNumberOption(options['max-tokens'], '--max-tokens', 512, (n) => isInt(n) && n >= 1, 'a positive integer');
  const concurrency = parseNumberOption(options.concurrency, '--concurrency', 4, (n) => isInt(n) && n >= 1, 'a positive integer');
  const timeoutS = parseNumberOption(options.timeout, '--timeout', 120, (n) => n > 0, 'a positive number of seconds');
  const retries = parseNumberOption(options.retries, '--retries', 4, (n) => isInt(n) && n >= 0, 'an integer >= 0');
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
  const apiKey = process.env[options['api-key-env']] || undefined;
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
      baseUrl: options['base-url']!,
      model: options.model!,
      apiKey,
      temperature,
      maxTokens,
      concurrency,
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
    JSON.stringify({ ...items[i].fields, answer: answer.answer, finishReason: answer.finishReason, model: options.model, cached: answer.fromCache }),
  );
  // Write then rename, so a crash never leaves a half-written answers file (the cache has everything).
  const temporary = `${out}.partial`;
  writeFileSync(temporary, lines.join('\n') + '\n');
  renameSync(temporary, out);
  const s = generation.stats;
  console.error(
    `${out}: ${s.prompts} answers (${s.generated} generated, ${s.fromCache} from the cache, ${s.retries} retries` +
      `${s.tornCacheBytes ? `, ${s.tornCacheBytes} bytes of a torn cache line dropped` : ''}); cache: ${cachePath}`,
  );
  return 0;
}
