/**
 * The resumable answer cache: an append-only JSONL file, one answer per line, each line written in one
 * `write` and `fsync`ed before the answer counts as done. A run that dies (killed process, dead server,
 * power cut) loses at most the line being written; on reload that torn last line is cut off and its
 * prompt is asked again, every complete line is reused, and nothing is asked twice.
 *
 * Keys are content hashes (model, generation settings, prompt), so the cache survives reordered or
 * extended input files and is shared safely between data sets.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { InputError } from '../errors.js';
import type { ChatMessage } from './openai-client.js';

export interface AnswerSettings {
  model: string;
  temperature: number;
  maxTokens: number;
}

export interface CachedAnswer extends AnswerSettings {
  /** sha256 of model, settings and prompt: the lookup key. */
  key: string;
  /** sha256 of the prompt messages alone (to find the same prompt across models). */
  promptHash: string;
  answer: string;
  finishReason: string | null;
  /** ISO time the answer was received. */
  createdAt: string;
}

/** sha256 (hex) of the prompt's messages, role and content only, in order. */
export function promptHash(messages: readonly ChatMessage[]): string {
  const canonical = JSON.stringify(messages.map((message) => [message.role, message.content]));
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * The cache key: the same prompt under another model, temperature or token limit is another answer,
 * so all of them are part of the key.
 */
export function answerKey(settings: AnswerSettings, hashOfPrompt: string): string {
  const canonical = JSON.stringify([settings.model, settings.temperature, settings.maxTokens, hashOfPrompt]);
  return createHash('sha256').update(canonical).digest('hex');
}

export interface CacheRecovery {
  /** Complete answers read from the file. */
  entries: number;
  /** Bytes of an unfinished last line that were cut off (0 when the file ended cleanly). */
  tornBytes: number;
}

export class AnswerCache {
  readonly path: string;
  readonly recovery: CacheRecovery;
  private readonly entries = new Map<string, CachedAnswer>();
  private fd: number | undefined;

  private constructor(path: string, recovery: CacheRecovery, entries: CachedAnswer[]) {
    this.path = path;
    this.recovery = recovery;
    for (const entry of entries) if (!this.entries.has(entry.key)) this.entries.set(entry.key, entry);
  }

  /**
   * Opens (or creates) the cache file. A malformed line that is not the last one is an error naming its
   * line: that is not a crash artefact, and silently dropping it would hide lost answers.
   */
  static open(path: string): AnswerCache {
    const entries: CachedAnswer[] = [];
    let tornBytes = 0;
    if (existsSync(path)) {
      const bytes = readFileSync(path);
      const text = bytes.toString('utf8');
      let start = 0;
      let lineNumber = 0;
      while (start < text.length) {
        lineNumber++;
        const newline = text.indexOf('\n', start);
        const isLast = newline === -1;
        const line = text.slice(start, isLast ? text.length : newline);
        const lineStart = start;
        start = isLast ? text.length : newline + 1;
        if (line.trim() === '') continue;
        let entry: CachedAnswer;
        try {
          entry = parseCacheLine(line, path, lineNumber);
        } catch (error) {
          if (!isLast) throw error;
          // The last line has no newline and does not parse: a write cut short. Cut it off so the next
          // append starts a clean line; its prompt is simply asked again.
          tornBytes = Buffer.byteLength(text.slice(lineStart), 'utf8');
          truncateSync(path, bytes.length - tornBytes);
          break;
        }
        entries.push(entry);
        if (isLast) {
          // Complete JSON but the newline was lost: keep the answer, finish the line.
          const fd = openSync(path, 'a');
          try {
            writeSync(fd, '\n');
            fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
        }
      }
    }
    return new AnswerCache(path, { entries: entries.length, tornBytes }, entries);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedAnswer | undefined {
    return this.entries.get(key);
  }

  /** Appends one answer and waits for the disk (fsync): once this returns, the answer survives a crash. */
  append(entry: CachedAnswer): void {
    if (this.fd === undefined) this.fd = openSync(this.path, 'a');
    writeSync(this.fd, JSON.stringify(entry) + '\n');
    fsyncSync(this.fd);
    if (!this.entries.has(entry.key)) this.entries.set(entry.key, entry);
  }

  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

function parseCacheLine(line: string, file: string, lineNumber: number): CachedAnswer {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new InputError('answer cache line is not JSON', { file, line: lineNumber }, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError('answer cache line is not a JSON object', { file, line: lineNumber });
  }
  const record = value as Record<string, unknown>;
  const requireType = (field: string, type: 'string' | 'number') => {
    if (typeof record[field] !== type) throw new InputError(`expected a ${type}`, { file, line: lineNumber, field });
  };
  requireType('key', 'string');
  requireType('promptHash', 'string');
  requireType('model', 'string');
  requireType('temperature', 'number');
  requireType('maxTokens', 'number');
  requireType('answer', 'string');
  requireType('createdAt', 'string');
  const finishReason = record.finishReason;
  if (finishReason !== null && typeof finishReason !== 'string') {
    throw new InputError('expected a string or null', { file, line: lineNumber, field: 'finishReason' });
  }
  return {
    key: record.key as string,
    promptHash: record.promptHash as string,
    model: record.model as string,
    temperature: record.temperature as number,
    maxTokens: record.maxTokens as number,
    answer: record.answer as string,
    // Explicit type: tslab compiles lib/ without strictNullChecks, where the narrowed type is lost.
    finishReason: finishReason as string | null,
    createdAt: record.createdAt as string,
  };
}
