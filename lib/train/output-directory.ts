/**
 * Checks, before any training, that a directory the run will write to (output, checkpoints) exists or
 * can be created and takes files: a path that is a file, or lies under one, or is read-only, is an
 * InputError naming it, not an EEXIST/ENOTDIR stack trace after an epoch of work.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputError, type InputLocation } from '../errors.js';

/**
 * Creates `dir` (with its parents) if needed and proves it writable. `what` names it in messages
 * ("output_dir"); `where` says which setting holds it (a config file and field).
 */
export function prepareOutputDirectory(dir: string, what: string, where: InputLocation = {}): void {
  const fail = (problem: string, cause?: unknown) => {
    throw new InputError(`${what} ${dir} ${problem}`, where, cause ? { cause } : undefined);
  };
  const blocker = firstFileOnPath(dir);
  if (blocker === path.resolve(dir)) fail('is a file, not a directory');
  if (blocker) fail(`cannot be created: ${blocker} is a file, not a directory`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    fail(`cannot be created (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, error);
  }
  const probe = path.join(dir, `.hanlab-write-test-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (error) {
    fail(`is not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, error);
  }
}

/** The first component of `dir`'s absolute path that exists and is not a directory, if any. */
function firstFileOnPath(dir: string): string | undefined {
  const absolute = path.resolve(dir);
  const parts = absolute.split(path.sep);
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join(path.sep) || path.sep;
    let stats;
    try {
      stats = statSync(prefix);
    } catch {
      return undefined; // the rest does not exist yet: mkdir will create it
    }
    if (!stats.isDirectory()) return prefix;
  }
  return undefined;
}
