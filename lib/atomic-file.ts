/**
 * Writing a file whole or not at all, for files a crash must never leave half-written (models,
 * checkpoints, GGUF files): the bytes go into a temporary file beside it, are flushed to the disk, and
 * only then is it renamed over the file. On an error the temporary file is removed and the file is as
 * it was.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';

export interface AtomicWriteOptions {
  /** The temporary file's name (default `<file>.tmp-<pid>`); a writer that cleans up after killed writers names its own. */
  temporary?: string;
  /** Runs after the bytes are on the disk, just before the rename (model files keep the file being replaced). */
  beforeReplace?: () => void;
  /**
   * The file is the user's alone (a per-user cache): the temporary file is created new, never through
   * an existing file or link, with permissions 0600.
   */
  private?: boolean;
}

/** Writes `file` through `write(fd)` (which may call writeSync any number of times), atomically. */
export function writeFileAtomically(file: string, write: (fd: number) => void, options: AtomicWriteOptions = {}): void {
  const temporary = options.temporary ?? `${file}.tmp-${process.pid}`;
  const fd = options.private ? openSync(temporary, 'wx', 0o600) : openSync(temporary, 'w');
  try {
    write(fd);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    options.beforeReplace?.();
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
