/**
 * A freeze cache for executed notebooks, like Quarto's `freeze: auto`: a notebook is re-run only when
 * its content, its parameters, its kernel or one of its declared input files changed.
 *
 * Notebooks declare inputs in `metadata.hanlab.report.inputs` (paths relative to the project root; a
 * folder stands for every file under it). Entries live under `.cache/reports/` (git-ignored):
 * `<name>.ipynb` (the executed notebook) and `<name>.json` (its key and the input hashes).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readNotebook, writeNotebook, type Notebook } from '../notebook/nbformat.js';
import { hashInputs } from '../jupyter/provenance.js';

export { hashInputs };

/** Bumped when the key's recipe changes, so old entries stop matching. */
const KEY_VERSION = 'hanlab-report-cache/1';

export const DEFAULT_CACHE_DIR = path.join('.cache', 'reports');

/** JSON with object keys sorted at every level, so equal parameters give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(v as object).sort()) sorted[key] = (v as Record<string, unknown>)[key];
    return sorted;
  });
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface CacheKeyInput {
  /** The source notebook (its bytes are part of the key). */
  notebookPath: string;
  parameters?: Record<string, unknown>;
  inputs: string[];
  kernel?: string;
  /** Project root: inputs are relative to it. */
  root: string;
  /**
   * Inputs another notebook writes, keyed by that notebook's cache key instead of their bytes (used
   * when the notebooks run on a server, where those files are; here they may be missing or stale).
   */
  produced?: Record<string, string>;
}

export interface CacheKey {
  key: string;
  inputHashes: Record<string, string>;
}

export function cacheKey(input: CacheKeyInput): CacheKey {
  const produced = input.produced ?? {};
  const inputHashes = hashInputs(input.inputs.filter((file) => !Object.hasOwn(produced, file)), input.root, input.notebookPath);
  const key = sha256(
    stableJson({
      version: KEY_VERSION,
      notebook: sha256(readFileSync(input.notebookPath)),
      parameters: input.parameters ?? null,
      kernel: input.kernel ?? null,
      inputs: inputHashes,
      // Absent unless used, so keys made before it existed still match.
      ...(Object.keys(produced).length ? { produced } : {}),
    }),
  );
  return { key, inputHashes };
}

interface CacheEntry {
  key: string;
  inputHashes: Record<string, string>;
  /** How long the run took: `hanlab reports --jobs` starts the longest chains first. */
  durationMs?: number;
}

/** Executed notebooks by report name and key. */
export class ReportCache {
  readonly dir: string;

  constructor(dir: string = DEFAULT_CACHE_DIR) {
    this.dir = path.resolve(dir);
  }

  private entryPath(name: string): string {
    return path.join(this.dir, `${name}.json`);
  }

  private notebookPath(name: string): string {
    return path.join(this.dir, `${name}.ipynb`);
  }

  /** The executed notebook stored under this key, or undefined (a different key or no entry is a miss). */
  get(name: string, key: string): Notebook | undefined {
    const entryFile = this.entryPath(name);
    if (!existsSync(entryFile) || !existsSync(this.notebookPath(name))) return undefined;
    let entry: CacheEntry;
    try {
      entry = JSON.parse(readFileSync(entryFile, 'utf8')) as CacheEntry;
    } catch {
      // A damaged entry is only a miss: the notebook runs again and the entry is rewritten.
      return undefined;
    }
    if (entry.key !== key) return undefined;
    return readNotebook(this.notebookPath(name));
  }

  /** How long the last stored run of `name` took, whatever its key (undefined when unknown). */
  lastDurationMs(name: string): number | undefined {
    try {
      const entry = JSON.parse(readFileSync(this.entryPath(name), 'utf8')) as CacheEntry;
      return typeof entry.durationMs === 'number' && entry.durationMs >= 0 ? entry.durationMs : undefined;
    } catch {
      return undefined;
    }
  }

  put(name: string, key: string, inputHashes: Record<string, string>, notebook: Notebook, durationMs?: number): void {
    mkdirSync(this.dir, { recursive: true });
    writeNotebook(this.notebookPath(name), notebook);
    const entryFile = this.entryPath(name);
    const temp = `${entryFile}.${process.pid}.tmp`;
    const entry: CacheEntry = { key, inputHashes, ...(durationMs !== undefined ? { durationMs } : {}) };
    writeFileSync(temp, JSON.stringify(entry, null, 2) + '\n', 'utf8');
    renameSync(temp, entryFile);
  }
}
