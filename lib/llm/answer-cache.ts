/**
 * The resumable answer cache: an append-only JSONL file, one answer per line. An answer counts as done
 * only once its line is on disk (fdatasync): a run that dies (killed process, dead server, power cut)
 * loses at most the lines being written; on reload a torn last line is cut off and its prompt is asked
 * again, every complete line is reused, and nothing is asked twice.
 *
 * Lines are written in groups (group commit): answers that arrive while one write-and-sync is under way
 * go to disk together in the next one, so a fast server is not held to one fsync per answer.
 *
 * One run at a time: `open(path, { lock: true })` takes `<path>.lock`; a second run on the same cache
 * would ask the prompts the first is asking (seen: 125 of 435 asked twice), so it is refused.
 *
 * Keys are content hashes (model, generation settings, prompt), so the cache survives reordered or
 * extended input files and is shared safely between data sets.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { HanlabError, InputError } from '../errors.js';
import type { ChatMessage } from './openai-client.js';
import { processExists } from '../processes.js';

export interface AnswerSettings {
  model: string;
  temperature: number;
  maxTokens: number;
  /**
   * Whatever else decides the answer, as one canonical string: the local engine's chat-template mode,
   * LoRA adapters, seed and JSON schema. Absent for the server path (its keys stay as they were).
   */
  variant?: string;
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
  const parts: unknown[] = [settings.model, settings.temperature, settings.maxTokens, hashOfPrompt];
  if (settings.variant !== undefined) parts.push(settings.variant);
  const canonical = JSON.stringify(parts);
  return createHash('sha256').update(canonical).digest('hex');
}

export interface CacheRecovery {
  /** Complete answers read from the file. */
  entries: number;
  /** Bytes of an unfinished last line that were cut off (0 when the file ended cleanly). */
  tornBytes: number;
  /** The pid of a run that died holding the lock (the stale lock was taken over). */
  staleLockPid?: number;
}

/** Another live run holds the cache's lock. */
export class CacheLockedError extends HanlabError {}

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

/**
 * `<cache>.lock`, created exclusively (O_EXCL) with our pid and host. Written by hand: the question is
 * "is the run that holds it still alive", which the pid answers at once on this host; mtime-based
 * lock libraries (proper-lockfile) call a lock stale only after a timeout and keep a timer running to
 * refresh it.
 */
function acquireLock(lockPath: string, cachePath: string): { release: () => void; stalePid?: number } {
  const mine: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  let stalePid: number | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, JSON.stringify(mine) + '\n', { flag: 'wx' });
      const release = () => {
        try {
          const held = JSON.parse(readFileSync(lockPath, 'utf8')) as LockInfo;
          if (held.pid === mine.pid && held.startedAt === mine.startedAt) unlinkSync(lockPath);
        } catch {
          // Already gone.
        }
      };
      return { release, stalePid };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let held: LockInfo | undefined;
    try {
      held = JSON.parse(readFileSync(lockPath, 'utf8')) as LockInfo;
    } catch {
      // Unreadable: a run died while writing it (the write is one small block): stale.
    }
    if (held && held.host !== mine.host) {
      throw new CacheLockedError(
        `${cachePath} is in use by a hanlab generate on ${held.host} (pid ${held.pid}, since ${held.startedAt}); ` +
          `if that run is gone, remove ${lockPath}`,
      );
    }
    if (held && processExists(held.pid)) {
      throw new CacheLockedError(
        `${cachePath} is in use by another hanlab generate (pid ${held.pid}, since ${held.startedAt}): two runs on one cache would ask ` +
          'the same prompts twice. Wait for it to finish (a rerun then resumes from the cache), or give this run its own --out or --cache',
      );
    }
    stalePid = held?.pid;
    rmSync(lockPath, { force: true });
  }
  throw new CacheLockedError(`${cachePath}: could not take ${lockPath} (another run took it meanwhile)`);
}

/** The file's complete lines, and where an unfinished last line starts (on the raw bytes: a tear may split a character). */
function splitLines(bytes: Buffer): { lines: Array<{ start: number; end: number; last: boolean }> } {
  const lines: Array<{ start: number; end: number; last: boolean }> = [];
  let start = 0;
  while (start < bytes.length) {
    const newline = bytes.indexOf(0x0a, start);
    if (newline === -1) {
      lines.push({ start, end: bytes.length, last: true });
      break;
    }
    lines.push({ start, end: newline, last: false });
    start = newline + 1;
  }
  return { lines };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class AnswerCache {
  readonly path: string;
  readonly recovery: CacheRecovery;
  private readonly entries = new Map<string, CachedAnswer>();
  private handle: FileHandle | undefined;
  private queue: Array<{ line: string; resolve: () => void; reject: (error: Error) => void }> = [];
  private flushing: Promise<void> | undefined;
  private releaseLock: (() => void) | undefined;
  private readonly onExit = () => this.releaseLock?.();

  private constructor(path: string, recovery: CacheRecovery, entries: CachedAnswer[], releaseLock?: () => void) {
    this.path = path;
    this.recovery = recovery;
    for (const entry of entries) if (!this.entries.has(entry.key)) this.entries.set(entry.key, entry);
    this.releaseLock = releaseLock;
    // A run stopped by Ctrl-C or an error must not leave its lock behind (kill -9 does: stale, taken over).
    if (releaseLock) process.once('exit', this.onExit);
  }

  /**
   * Opens (or creates) the cache file; with `lock`, first takes `<path>.lock` (CacheLockedError when a
   * live run holds it). A malformed line that is not the last one is an error naming its line: that is
   * not a crash artefact, and silently dropping it would hide lost answers.
   */
  static open(path: string, options: { lock?: boolean } = {}): AnswerCache {
    const lock = options.lock ? acquireLock(`${path}.lock`, path) : undefined;
    try {
      const entries: CachedAnswer[] = [];
      let tornBytes = 0;
      if (existsSync(path)) {
        const bytes = readFileSync(path);
        const { lines } = splitLines(bytes);
        for (const [index, { start, end, last }] of lines.entries()) {
          const raw = bytes.subarray(start, end);
          let entry: CachedAnswer;
          try {
            const text = utf8.decode(raw);
            if (text.trim() === '') continue;
            entry = parseCacheLine(text, path, index + 1);
          } catch (error) {
            if (!last) {
              throw error instanceof InputError ? error : new InputError('answer cache line is not valid UTF-8', { file: path, line: index + 1 }, { cause: error });
            }
            // The last line has no newline and does not parse: a write cut short, maybe inside a
            // multibyte character. Cut exactly its bytes off, so the next append starts a clean line.
            tornBytes = bytes.length - start;
            truncateSync(path, start);
            break;
          }
          entries.push(entry);
          if (last) {
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
      const recovery: CacheRecovery = { entries: entries.length, tornBytes, ...(lock?.stalePid !== undefined ? { staleLockPid: lock.stalePid } : {}) };
      return new AnswerCache(path, recovery, entries, lock?.release);
    } catch (error) {
      lock?.release();
      throw error;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedAnswer | undefined {
    return this.entries.get(key);
  }

  /** Appends one answer; resolves once its line is on disk (it then survives a crash). */
  append(entry: CachedAnswer): Promise<void> {
    if (!this.entries.has(entry.key)) this.entries.set(entry.key, entry);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line: JSON.stringify(entry) + '\n', resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Writes and syncs whatever is queued, again and again until the queue is empty. */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          this.handle ??= await openFile(this.path, 'a');
          await this.handle.write(batch.map((item) => item.line).join(''));
          await this.handle.datasync();
          for (const item of batch) item.resolve();
        } catch (error) {
          for (const item of batch) item.reject(error as Error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Waits for queued answers to reach the disk, closes the file and releases the lock. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.handle !== undefined) {
      await this.handle.close();
      this.handle = undefined;
    }
    this.releaseLock?.();
    this.releaseLock = undefined;
    process.removeListener('exit', this.onExit);
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
    ...(typeof record.variant === 'string' ? { variant: record.variant } : {}),
    answer: record.answer as string,
    // Explicit type: tslab compiles lib/ without strictNullChecks, where the narrowed type is lost.
    finishReason: finishReason as string | null,
    createdAt: record.createdAt as string,
  };
}
