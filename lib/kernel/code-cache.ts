/**
 * Loads a large CommonJS file (TypeScript's 9 MB typescript.js) with a V8 code cache, so that a kernel
 * start does not compile it again: V8 then skips parsing the file and compiling the functions the
 * cache holds (the cache is written after the compiler has built a program and checked a cell, so it
 * holds the functions that start-up runs, not only the top level).
 *
 * Node 20 has no module compile cache (`module.enableCompileCache` is Node 22), so this does what
 * v8-compile-cache does for one file: compile it as a `vm.Script` with `cachedData`, run it as Node's
 * CommonJS wrapper would, and put the module into `require.cache`, where tslab's own `require` of the
 * same file finds it.
 *
 * The cache is per user (`$XDG_CACHE_HOME/hanlab/v8-code-cache` or `~/.cache/...`, a folder of mode 0700
 * that must belong to this user), and its file name is a hash of everything that makes a cache invalid:
 * the Node and V8 versions, the architecture, the file's path, size and modification time. V8 checks
 * its own part again (its version, flags and the source's length) and rejects a cache that does not
 * fit; our header adds a SHA-256 of the payload, so a truncated or damaged file is never handed to V8.
 * Whatever goes wrong with the cache, the file loads without it and the cache is written anew.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { writeFileAtomically } from '../atomic-file.js';
import { createRequire, Module } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';

/** What happened to the cache when the module loaded. */
export type CodeCacheStatus = 'hit' | 'missing' | 'damaged' | 'rejected' | 'disabled';

export interface CachedModule {
  exports: unknown;
  status: CodeCacheStatus;
  /** The cache file (undefined when caching is off or no safe folder could be made). */
  file?: string;
  /**
   * Writes the cache when the loaded one was not used (call it once the module has done its start-up
   * work, so that the functions it compiled lazily are in the cache). Returns whether it wrote; never
   * throws: a cache that cannot be written only costs the next start its time.
   */
  save(): boolean;
}

export interface CodeCacheOptions {
  /** The cache folder; default: HANLAB_CODE_CACHE_DIR, else the user's cache folder. "off" disables. */
  dir?: string;
}

/** "HCC1" + 32-byte SHA-256 of the payload, then V8's cached data. */
const MAGIC = Buffer.from('HCC1');
const HEADER_BYTES = MAGIC.length + 32;

/** The user's code-cache folder, or undefined when caching is switched off (HANLAB_CODE_CACHE_DIR=off). */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = env.HANLAB_CODE_CACHE_DIR;
  if (chosen === 'off') return undefined;
  if (chosen) return path.resolve(chosen);
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'hanlab', 'v8-code-cache');
}

/** The cache file's name for `file` as it is now: changes with anything that invalidates the cache. */
export function cacheKey(file: string): string {
  const stats = statSync(file);
  const parts = [process.version, process.versions.v8, process.arch, path.resolve(file), stats.size, Math.round(stats.mtimeMs)];
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32) + '.v8cache';
}

/**
 * A folder only this user can write, made if missing. Undefined when it is not one (a link, another
 * owner, other people may write it) or cannot be made: the cache is then not used.
 */
function privateDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stats = lstatSync(dir);
    if (!stats.isDirectory()) return undefined;
    if (typeof process.getuid === 'function' && stats.uid !== process.getuid()) return undefined;
    if ((stats.mode & 0o022) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/** The payload of a cache file, or undefined when it is missing; 'damaged' when its checksum fails. */
function readCache(file: string): Buffer | 'damaged' | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  if (bytes.length <= HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return 'damaged';
  const payload = bytes.subarray(HEADER_BYTES);
  const sum = createHash('sha256').update(payload).digest();
  return sum.equals(bytes.subarray(MAGIC.length, HEADER_BYTES)) ? payload : 'damaged';
}

/** Writes through a temporary file and a rename: a reader never sees half a cache. */
function writeCache(file: string, payload: Buffer): void {
  const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileAtomically(
    file,
    (fd) => {
      writeSync(fd, MAGIC);
      writeSync(fd, createHash('sha256').update(payload).digest());
      writeSync(fd, payload);
    },
    { temporary, private: true },
  );
}

/**
 * Loads the CommonJS file `file` (absolute) through the code cache and registers it in `require.cache`,
 * so that every later `require` of it in this thread gets this module. A module already loaded is
 * returned as it is (status "disabled": the cache played no part).
 */
export function requireWithCodeCache(file: string, options: CodeCacheOptions = {}): CachedModule {
  const filename = path.resolve(file);
  const requireHere = createRequire(filename);
  const loaded = requireHere.cache[filename];
  if (loaded) return { exports: loaded.exports, status: 'disabled', save: () => false };

  const chosenDir = options.dir === 'off' ? undefined : options.dir ? path.resolve(options.dir) : codeCacheDir();
  const dir = chosenDir ? privateDir(chosenDir) : undefined;
  let cacheFile: string | undefined;
  try {
    cacheFile = dir ? path.join(dir, cacheKey(filename)) : undefined;
  } catch {
    cacheFile = undefined;
  }
  const read = cacheFile ? readCache(cacheFile) : undefined;
  const source = readFileSync(filename, 'utf8');
  const script = new vm.Script(Module.wrap(source), { filename, cachedData: Buffer.isBuffer(read) ? read : undefined });
  let status: CodeCacheStatus;
  if (!cacheFile) status = 'disabled';
  else if (read === undefined) status = 'missing';
  else if (read === 'damaged') status = 'damaged';
  else status = script.cachedDataRejected ? 'rejected' : 'hit';

  // What Node's CommonJS loader does for a file: a Module in require.cache, run with its wrapper's arguments.
  const module = new Module(filename);
  module.filename = filename;
  module.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(filename));
  requireHere.cache[filename] = module;
  try {
    const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
    wrapper.call(module.exports, module.exports, requireHere, module, filename, path.dirname(filename));
  } catch (error) {
    delete requireHere.cache[filename];
    throw error;
  }
  module.loaded = true;

  let saved = false;
  const save = (): boolean => {
    if (saved || status === 'hit' || !cacheFile) return false;
    saved = true;
    try {
      writeCache(cacheFile, script.createCachedData());
      return true;
    } catch {
      return false;
    }
  };
  return { exports: module.exports, status, file: cacheFile, save };
}
