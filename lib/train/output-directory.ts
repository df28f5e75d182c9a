/**
 * Checks, before any training, that a directory the run will write to (output, checkpoints) exists or
 * can be created and takes files: a path that is a file, or lies under one, or is read-only, is an
 * InputError naming it, not an EEXIST/ENOTDIR stack trace after an epoch of work. It creates nothing
 * (a run that stops before training leaves no empty folders behind); the writers create the folders.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { InputError, type InputLocation } from '../errors.js';

/** `what` names the directory in messages ("output_dir"); `where` says which setting holds it. */
export function checkOutputDirectory(dir: string, what: string, where: InputLocation = {}): void {
  const fail = (problem: string, cause?: unknown) => {
    throw new InputError(`${what} ${dir} ${problem}`, where, cause ? { cause } : undefined);
  };
  const absolute = path.resolve(dir);
  const parts = absolute.split(path.sep);
  // The deepest existing component: it must be a directory the run may write into.
  let existing: string = path.sep;
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join(path.sep) || path.sep;
    let stats;
    try {
      stats = statSync(prefix);
    } catch {
      break; // the rest does not exist yet: the writer will create it
    }
    if (!stats.isDirectory()) fail(prefix === absolute ? 'is a file, not a directory' : `cannot be created: ${prefix} is a file, not a directory`);
    existing = prefix;
  }
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    fail(existing === absolute ? `is not writable (${code})` : `cannot be created: ${existing} is not writable (${code})`, error);
  }
}
