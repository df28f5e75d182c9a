/**
 * One request to an OpenAI-compatible chat-completions endpoint (vLLM, llama.cpp server, Ollama, the
 * OpenAI API itself). Knows HTTP and the response shape; knows nothing about retries, caches or
 * concurrency (that is `generate.ts`).
 *
 * Node 20's global `fetch` is the HTTP client: no extra dependency, and `AbortController` gives a
 * per-request timeout that also covers reading the body.
 */
import { HanlabError } from '../errors.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatEndpoint {
  /** The base URL as the OpenAI SDK takes it, e.g. `http://localhost:8000/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given (local servers usually need none). */
  apiKey?: string;
}

export interface ChatCompletionRequest {
  model: string;
  messages: readonly ChatMessage[];
  temperature?: number;
  maxTokens?: number;
}

export interface ChatCompletion {
  content: string;
  /** `stop`, `length`, ... as the server reports it; `null` when it reports none. */
  finishReason: string | null;
}

export type ChatCompletionFailure = 'http' | 'timeout' | 'network' | 'response' | 'aborted';

/** A request that did not produce an answer. `retryable` says whether trying again may help. */
export class ChatCompletionError extends HanlabError {
  readonly kind: ChatCompletionFailure;
  readonly status?: number;
  readonly retryable: boolean;
  /** From the server's `Retry-After` header, in milliseconds. */
  readonly retryAfterMs?: number;

  constructor(
    message: string,
    details: { kind: ChatCompletionFailure; retryable: boolean; status?: number; retryAfterMs?: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.kind = details.kind;
    this.retryable = details.retryable;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export function chatCompletionsUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '') + '/chat/completions';
}

/** Statuses worth retrying: request timeout, conflict/too early, rate limit, and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
}

/**
 * `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). Returns milliseconds to
 * wait, or undefined when the header is absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface RequestControl {
  /** Abort the request after this many milliseconds (connecting, waiting and reading the body). */
  timeoutMs: number;
  /** Cancels the request from outside (e.g. the whole run was stopped). */
  signal?: AbortSignal;
}

export async function createChatCompletion(
  endpoint: ChatEndpoint,
  request: ChatCompletionRequest,
  control: RequestControl,
): Promise<ChatCompletion> {
  const url = chatCompletionsUrl(endpoint.baseUrl);
  const body: Record<string, unknown> = { model: request.model, messages: request.messages, stream: false };
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (endpoint.apiKey) headers.authorization = `Bearer ${endpoint.apiKey}`;

  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), control.timeoutMs);
  const onOuterAbort = () => timeout.abort();
  control.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (control.signal?.aborted) timeout.abort();

  let status = 0;
  let text: string;
  let retryAfterMs: number | undefined;
  try {
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: timeout.signal });
    status = response.status;
    retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    text = await response.text();
  } catch (error) {
    if (control.signal?.aborted) {
      throw new ChatCompletionError(`${url}: request cancelled`, { kind: 'aborted', retryable: false }, { cause: error });
    }
    if (timeout.signal.aborted) {
      throw new ChatCompletionError(`${url}: no complete answer within ${control.timeoutMs} ms`, { kind: 'timeout', retryable: true }, { cause: error });
    }
    const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    throw new ChatCompletionError(`${url}: network error (${reason})`, { kind: 'network', retryable: true }, { cause: error });
  } finally {
    clearTimeout(timer);
    control.signal?.removeEventListener('abort', onOuterAbort);
  }

  if (status < 200 || status >= 300) {
    throw new ChatCompletionError(`${url}: HTTP ${status}: ${excerpt(text)}`, {
      kind: 'http',
      status,
      retryable: isRetryableStatus(status),
      retryAfterMs,
    });
  }
  return parseChatCompletion(text, url);
}

/** Reads `choices[0].message.content` out of a chat-completions response body. */
export function parseChatCompletion(text: string, url = 'response'): ChatCompletion {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // A 2xx with a body cut short is what a dying server sends: worth another try.
    throw new ChatCompletionError(`${url}: response is not JSON: ${excerpt(text)}`, { kind: 'response', retryable: true }, { cause: error });
  }
  if (isRecord(parsed) && Array.isArray(parsed.choices) && parsed.choices.length === 0) {
    // Seen from servers under load or mid-restart: no answer, but nothing wrong with the request.
    throw new ChatCompletionError(`${url}: the reply has no choices ("choices": []): ${excerpt(text)}`, { kind: 'response', retryable: true });
  }
  const choice = isRecord(parsed) && Array.isArray(parsed.choices) ? parsed.choices[0] : undefined;
  const message = isRecord(choice) ? choice.message : undefined;
  const content = isRecord(message) ? message.content : undefined;
  if (typeof content !== 'string') {
    throw new ChatCompletionError(`${url}: response has no choices[0].message.content string: ${excerpt(text)}`, {
      kind: 'response',
      retryable: false,
    });
  }
  const finishReason = isRecord(choice) && typeof choice.finish_reason === 'string' ? choice.finish_reason : null;
  return { content, finishReason };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max) + '…' : flat || '(empty body)';
}
