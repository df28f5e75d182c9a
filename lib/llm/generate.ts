/**
 * `generate(prompts, options)`: answers for many prompts from an OpenAI-compatible server, or, without a
 * base URL, from a GGUF model file run in this process (lib/llm/local-engine.ts, one prompt at a time,
 * same cache and lock; the engine loads only when some prompt is not cached). The server path has a
 * concurrency limit and an optional request-rate limit, retries with exponential backoff (jittered,
 * honouring `Retry-After`) on 429 / 5xx / timeouts / network errors / empty replies, and the resumable
 * answer cache, so an interrupted run picks up where it stopped without asking any prompt twice.
 * Results come back in input order.
 *
 * Sized for servers with tensor parallelism (vLLM, SGLang): bench/generate.bench.ts measures the
 * client's own ceiling against an instant local server (goal: >= 200 requests/s with the cache on).
 */
import { HanlabError, UsageError } from '../errors.js';
import { AnswerCache, answerKey, promptHash, type AnswerSettings } from './answer-cache.js';
import { ChatCompletionError, createChatCompletion, type ChatCompletion, type ChatMessage } from './openai-client.js';
import type { GpuChoice } from './gpu-choice.js';
import type { LocalModel } from './local-engine.js';

/** A bare string is one user message. */
export type Prompt = string | readonly ChatMessage[];

export interface GenerateOptions {
  /**
   * e.g. `http://localhost:8000/v1` (vLLM), `http://localhost:8080/v1` (llama.cpp), `http://localhost:11434/v1` (Ollama).
   * Without it, `model` is a GGUF file that runs in this process (lib/llm/local-engine.ts).
   */
  baseUrl?: string;
  /** The served model name, or with no `baseUrl` the GGUF file's path. */
  model: string;
  apiKey?: string;
  /** Default 0 (greedy), so that evaluation answers are reproducible. */
  temperature?: number;
  /** Default 512. */
  maxTokens?: number;
  /** Requests in flight at once. Default 4. A vLLM/SGLang server batches them: 32-256 keeps it busy. */
  concurrency?: number;
  /** At most this many requests start per second (a provider's rate limit); default: no limit. */
  requestsPerSecond?: number;
  /** Per request, from sending to the last body byte. Default 120 000 ms. */
  timeoutMs?: number;
  /** Extra attempts after the first, for retryable failures only. Default 4. */
  retries?: number;
  /** First backoff delay; doubles per attempt. Default 500 ms. */
  backoffBaseMs?: number;
  /** Cap on one backoff delay. Default 30 000 ms. */
  backoffMaxMs?: number;
  /** Cap on a server's `Retry-After`. Default 120 000 ms. */
  maxRetryAfterMs?: number;
  /** The JSONL answer cache; without it nothing is resumable. */
  cachePath?: string;
  /** Cancels the run: in-flight requests are aborted, finished answers stay cached. */
  signal?: AbortSignal;
  /** Called after each prompt is answered (from cache or server). */
  onAnswer?: (answer: GeneratedAnswer, done: number, total: number) => void;
  /** Called before each retry, e.g. to log it. */
  onRetry?: (event: RetryEvent) => void;
  /** Random source for the jitter; tests pass a fixed one. Default Math.random. */
  random?: () => number;
  /** Local engine: `auto` (default) applies the model's own chat template when it has one; `none` sends the prompt text as it is. */
  chatTemplate?: 'auto' | 'none';
  /** Local engine: LoRA adapters (GGUF) with their scales. */
  loras?: readonly { file: string; scale: number }[];
  /** Local engine: every answer is JSON valid under this schema (lib/llm/json-schema.ts says which subset). */
  jsonSchema?: object;
  /** Local engine: the sampling seed (matters only with a temperature above 0). Default 0. */
  seed?: number;
  /** Local engine: CPU threads. */
  threads?: number;
  /** Local engine: `auto` (default), `off`, `vulkan`, `cuda`. */
  gpu?: GpuChoice;
  /** Local engine: tokens of context (default: the model's, at most 4096). */
  contextSize?: number;
  /** Local engine: a model opened already (a notebook keeps one across calls); it is not disposed here. */
  localModel?: LocalModel;
}

export interface GeneratedAnswer {
  index: number;
  answer: string;
  finishReason: string | null;
  /** True when the answer came from the cache (an earlier run, or an identical prompt in this one). */
  fromCache: boolean;
  /** HTTP attempts this run made for it (0 when cached). */
  attempts: number;
  promptHash: string;
  /** Local engine, generated answers only: tokens read and written (for a tokens/s progress line). */
  promptTokens?: number;
  generatedTokens?: number;
}

export interface RetryEvent {
  index: number;
  attempt: number;
  delayMs: number;
  error: ChatCompletionError;
}

export interface GenerationStats {
  prompts: number;
  /** Distinct (model, settings, prompt) keys: identical prompts are asked once. */
  distinctPrompts: number;
  fromCache: number;
  generated: number;
  retries: number;
  /** Bytes of a torn last cache line cut off on reload. */
  tornCacheBytes: number;
  /** A run that died holding the cache's lock (its lock was taken over). */
  staleLockPid?: number;
}

export interface GenerationRun {
  answers: GeneratedAnswer[];
  stats: GenerationStats;
}

export interface GenerationFailure {
  index: number;
  error: ChatCompletionError;
}

/**
 * Some prompts got no answer after every retry. The answers that did arrive are in the cache; run again
 * to resume.
 */
export class GenerationError extends HanlabError {
  readonly failures: GenerationFailure[];
  readonly answered: number;

  constructor(failures: GenerationFailure[], answered: number, total: number, cachePath?: string) {
    const first = failures[0];
    const resume = cachePath ? ` ${answered} answers are saved in ${cachePath}; run the same command again to resume.` : '';
    super(`${total - answered} of ${total} prompts got no answer (first failure: prompt ${first.index}: ${first.error.message}).${resume}`);
    this.failures = failures;
    this.answered = answered;
  }
}

export function toMessages(prompt: Prompt): ChatMessage[] {
  return typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt.map((m) => ({ role: m.role, content: m.content }));
}

/** Equal-jitter exponential backoff: half the delay fixed, half random, so retries spread out. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const delay = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(delay / 2 + random() * (delay / 2));
}

/** The prompt text the local engine completes without a chat template: the messages' contents, one paragraph each. */
export function rawPromptText(messages: readonly ChatMessage[]): string {
  return messages.map((m) => m.content).join('\n\n');
}

export async function generate(prompts: readonly Prompt[], options: GenerateOptions): Promise<GenerationRun> {
  const local = options.baseUrl === undefined;
  if (local && options.localModel === undefined && !/\.gguf$/i.test(options.model ?? '')) {
    throw new UsageError(`a server's base URL is needed unless the model is a .gguf file that runs here, and "${options.model}" is not one`);
  }
  const temperature = options.temperature ?? 0;
  const settings: AnswerSettings = {
    model: options.model,
    temperature,
    maxTokens: options.maxTokens ?? 512,
    ...(local
      ? {
          variant: JSON.stringify({
            engine: 'gguf',
            chatTemplate: options.chatTemplate ?? 'auto',
            loras: options.loras ?? [],
            seed: temperature > 0 ? options.seed ?? 0 : null,
            jsonSchema: options.jsonSchema ?? null,
          }),
        }
      : {}),
  };
  // One local model answers one prompt at a time.
  const concurrency = local ? 1 : options.concurrency ?? 4;
  const retries = options.retries ?? 4;
  const timeoutMs = options.timeoutMs ?? 120_000;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`concurrency must be a positive integer, got ${concurrency}`);
  if (!Number.isInteger(retries) || retries < 0) throw new UsageError(`retries must be a non-negative integer, got ${retries}`);
  if (!(timeoutMs > 0)) throw new UsageError(`timeoutMs must be positive, got ${timeoutMs}`);
  if (!options.model) throw new UsageError('model is required');
  const rate = options.requestsPerSecond;
  if (rate !== undefined && !(rate > 0 && Number.isFinite(rate))) throw new UsageError(`requestsPerSecond must be a positive number, got ${rate}`);
  const random = options.random ?? Math.random;
  const takeSlot = rate === undefined ? undefined : spacedSlots(rate);

  // One run per cache (its lock): a second would ask what this one is asking.
  const cache = options.cachePath ? AnswerCache.open(options.cachePath, { lock: true }) : undefined;
  const stats: GenerationStats = {
    prompts: prompts.length,
    distinctPrompts: 0,
    fromCache: 0,
    generated: 0,
    retries: 0,
    tornCacheBytes: cache?.recovery.tornBytes ?? 0,
    ...(cache?.recovery.staleLockPid !== undefined ? { staleLockPid: cache.recovery.staleLockPid } : {}),
  };
  const answers = new Array<GeneratedAnswer>(prompts.length);
  let done = 0;
  const finish = (answer: GeneratedAnswer) => {
    answers[answer.index] = answer;
    done++;
    options.onAnswer?.(answer, done, prompts.length);
  };

  // Group identical prompts so each distinct one is asked once and fills every position it occupies.
  const jobs = new Map<string, { key: string; hash: string; messages: ChatMessage[]; indices: number[] }>();
  prompts.forEach((prompt, index) => {
    const messages = toMessages(prompt);
    const hash = promptHash(messages);
    const key = answerKey(settings, hash);
    const job = jobs.get(key);
    if (job) job.indices.push(index);
    else jobs.set(key, { key, hash, messages, indices: [index] });
  });
  stats.distinctPrompts = jobs.size;

  const pending: Array<{ key: string; hash: string; messages: ChatMessage[]; indices: number[] }> = [];
  for (const job of jobs.values()) {
    const cached = cache?.get(job.key);
    if (cached) {
      for (const index of job.indices) {
        stats.fromCache++;
        finish({ index, answer: cached.answer, finishReason: cached.finishReason, fromCache: true, attempts: 0, promptHash: job.hash });
      }
    } else {
      pending.push(job);
    }
  }

  const failures: GenerationFailure[] = [];
  let next = 0;
  // A small worker pool: `concurrency` loops pull the next job. After the first permanent failure no new
  // request starts; requests already in flight finish and are cached, so a rerun loses nothing.
  const worker = async () => {
    while (next < pending.length && failures.length === 0 && !options.signal?.aborted) {
      const job = pending[next++];
      const result = local ? await askLocal(job.messages) : await askWithRetries(job.messages, job.indices[0]);
      if (result instanceof ChatCompletionError) {
        failures.push({ index: job.indices[0], error: result });
        continue;
      }
      // Counted as answered only once it is on disk.
      await cache?.append({
        key: job.key,
        promptHash: job.hash,
        ...settings,
        answer: result.completion.content,
        finishReason: result.completion.finishReason,
        createdAt: new Date().toISOString(),
      });
      job.indices.forEach((index, position) => {
        if (position === 0) stats.generated++;
        else stats.fromCache++;
        finish({
          index,
          answer: result.completion.content,
          finishReason: result.completion.finishReason,
          fromCache: position > 0,
          attempts: position === 0 ? result.attempts : 0,
          promptHash: job.hash,
          ...(position === 0 && result.tokens ? result.tokens : {}),
        });
      });
    }
  };

  let engine: LocalModel | undefined = options.localModel;
  let openedEngine: LocalModel | undefined;
  type Answered = { completion: ChatCompletion; attempts: number; tokens?: { promptTokens: number; generatedTokens: number } };
  const askLocal = async (messages: ChatMessage[]): Promise<Answered | ChatCompletionError> => {
    if (!engine) {
      const { openLocalModel } = await import('./local-engine.js');
      engine = openedEngine = await openLocalModel(options.model, {
        threads: options.threads, gpu: options.gpu, loras: options.loras, contextSize: options.contextSize,
      });
    }
    const completionOptions = {
      temperature, maxTokens: settings.maxTokens, seed: options.seed ?? 0, jsonSchema: options.jsonSchema, signal: options.signal,
    };
    try {
      const completion = options.chatTemplate !== 'none' && engine.chatTemplate !== undefined
        ? await engine.chat(messages, completionOptions)
        : await engine.complete(rawPromptText(messages), completionOptions);
      return {
        completion: { content: completion.text, finishReason: completion.finishReason } as ChatCompletion,
        attempts: 1,
        tokens: { promptTokens: completion.promptTokens, generatedTokens: completion.generatedTokens },
      };
    } catch (error) {
      if (options.signal?.aborted) return new ChatCompletionError('request cancelled', { kind: 'aborted', retryable: false });
      throw error;
    }
  };

  const askWithRetries = async (messages: ChatMessage[], index: number): Promise<Answered | ChatCompletionError> => {
    for (let attempt = 1; ; attempt++) {
      if (takeSlot && !(await takeSlot(options.signal))) return new ChatCompletionError('request cancelled', { kind: 'aborted', retryable: false });
      try {
        const completion = await createChatCompletion(
          { baseUrl: options.baseUrl!, apiKey: options.apiKey },
          { model: settings.model, messages, temperature: settings.temperature, maxTokens: settings.maxTokens },
          { timeoutMs, signal: options.signal },
        );
        return { completion, attempts: attempt };
      } catch (error) {
        if (!(error instanceof ChatCompletionError)) throw error;
        if (!error.retryable || attempt > retries || failures.length > 0) return error;
        let delayMs = backoffDelay(attempt, options.backoffBaseMs ?? 500, options.backoffMaxMs ?? 30_000, random);
        if (error.retryAfterMs !== undefined) delayMs = Math.max(delayMs, Math.min(error.retryAfterMs, options.maxRetryAfterMs ?? 120_000));
        stats.retries++;
        options.onRetry?.({ index, attempt, delayMs, error });
        if (!(await sleep(delayMs, options.signal))) return new ChatCompletionError('request cancelled', { kind: 'aborted', retryable: false });
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
  } finally {
    await cache?.close();
    await openedEngine?.dispose();
  }
  if (failures.length > 0) {
    failures.sort((a, b) => a.index - b.index);
    throw new GenerationError(failures, done, prompts.length, options.cachePath);
  }
  const missing = answers.findIndex((answer) => answer === undefined);
  if (done < prompts.length) {
    // Only cancellation gets here: the run stopped before every prompt was asked.
    const error = new ChatCompletionError('run cancelled', { kind: 'aborted', retryable: false });
    throw new GenerationError([{ index: missing, error }], done, prompts.length, options.cachePath);
  }
  return { answers, stats };
}

/**
 * A request-rate limit: each call waits for the next free start time, starts 1/rate s apart (requests
 * in flight may still overlap: that is the concurrency limit's business). Resolves false when cancelled.
 */
export function spacedSlots(requestsPerSecond: number): (signal?: AbortSignal) => Promise<boolean> {
  const spacingMs = 1000 / requestsPerSecond;
  let nextStart = 0;
  return async (signal) => {
    const now = performance.now();
    const start = Math.max(now, nextStart);
    nextStart = start + spacingMs;
    return start - now < 1 ? !signal?.aborted : sleep(start - now, signal);
  };
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
