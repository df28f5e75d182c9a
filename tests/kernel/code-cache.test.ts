/**
 * The V8 code cache for TypeScript (lib/kernel/code-cache.ts): a cache written after start-up is used
 * at the next load; a changed file, a damaged or foreign cache file and an unsafe folder are never
 * used, and the module loads the same without them.
 */
import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cacheKey, codeCacheDir, requireWithCodeCache } from '../../lib/kernel/code-cache.js';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-code-cache-'));
after(() => rmSync(work, { recursive: true, force: true }));

let serial = 0;
let moduleFile: string;
let cacheDir: string;

/** A CommonJS module with enough functions that V8 has something to cache, exporting `value`. */
function writeModule(file: string, value: number): void {
  const functions = Array.from({ length: 50 }, (_, index) => `function f${index}(x) { return x * ${index} + ${value}; }`).join('\n');
  writeFileSync(file, `'use strict';\n${functions}\nconst path = require('node:path');\nmodule.exports = { value: f1(0), sep: path.sep, sum: () => f2(1) + f3(1) };\n`);
}

/**
 * Loads the module in a new Node process, as a new kernel would: within one process V8 answers a
 * script it compiled before from its own memory, whatever cache it is given.
 */
function loadInChild(file = moduleFile, dir = cacheDir, save = false): { status: string; value: number } {
  const library = pathToFileURL(path.resolve('lib/kernel/code-cache.ts')).href;
  const code = `import { requireWithCodeCache } from ${JSON.stringify(library)};
const loaded = requireWithCodeCache(${JSON.stringify(file)}, { dir: ${JSON.stringify(dir)} });
if (${save}) loaded.save();
console.log(JSON.stringify({ status: loaded.status, value: loaded.exports.value }));`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!);
}

/** Loads the module afresh in this process, out of this thread's require.cache afterwards. */
function load(file = moduleFile, dir = cacheDir) {
  const loaded = requireWithCodeCache(file, { dir });
  const fromRequire = createRequire(file)(file);
  assert.equal(fromRequire, loaded.exports, 'require() of the file gets the module the cache loaded');
  delete createRequire(file).cache[file];
  return loaded;
}

beforeEach(() => {
  serial++;
  moduleFile = path.join(work, `module-${serial}.cjs`);
  cacheDir = path.join(work, `cache-${serial}`);
  writeModule(moduleFile, 7);
});

describe('requireWithCodeCache', () => {
  test('the first load finds no cache and writes one after start-up; the next load uses it', () => {
    const first = load();
    assert.equal(first.status, 'missing');
    assert.deepEqual([(first.exports as { value: number }).value, (first.exports as { sep: string }).sep], [7, path.sep]);
    assert.equal((first.exports as { sum(): number }).sum(), 2 + 3 + 14);
    assert.equal(first.save(), true);
    assert.equal(first.save(), false, 'written once');
    assert.deepEqual(readdirSync(cacheDir), [path.basename(first.file!)]);

    assert.deepEqual(loadInChild(), { status: 'hit', value: 7 }, 'a new process uses the cache');
    const second = load();
    assert.equal(second.status, 'hit');
    assert.equal(second.file, first.file);
    assert.equal(second.save(), false, 'a cache that was used is not written again');
  });

  test('a changed file gets another cache file, and its new code runs', () => {
    load().save();
    const before = cacheKey(moduleFile);
    writeModule(moduleFile, 8);
    const later = new Date(Date.now() + 5000);
    utimesSync(moduleFile, later, later);
    assert.notEqual(cacheKey(moduleFile), before);
    const changed = load();
    assert.equal(changed.status, 'missing');
    assert.equal((changed.exports as { value: number }).value, 8);
  });

  test('the key names the file, its size and time, and the Node and V8 versions', () => {
    const other = path.join(work, `other-${serial}.cjs`);
    writeModule(other, 7);
    const time = new Date('2026-01-01T00:00:00Z');
    utimesSync(moduleFile, time, time);
    utimesSync(other, time, time);
    assert.notEqual(cacheKey(moduleFile), cacheKey(other), 'same content elsewhere: another cache');
    const key = cacheKey(moduleFile);
    const expected = createHash('sha256').update([process.version, process.versions.v8, process.arch, moduleFile, readFileSync(moduleFile).length, time.getTime()].join('\0')).digest('hex').slice(0, 32);
    assert.equal(key, `${expected}.v8cache`);
  });

  test('a damaged cache file (truncated, a flipped byte, not ours) is not used, and is written anew', () => {
    const first = load();
    first.save();
    const bytes = readFileSync(first.file!);
    for (const damaged of [bytes.subarray(0, bytes.length - 100), Buffer.concat([bytes.subarray(0, 50), Buffer.from([bytes[50] ^ 0xff]), bytes.subarray(51)]), Buffer.from('not a cache at all')]) {
      writeFileSync(first.file!, damaged);
      const loaded = load();
      assert.equal(loaded.status, 'damaged');
      assert.equal((loaded.exports as { value: number }).value, 7);
    }
    assert.equal(load().save(), true);
    assert.equal(load().status, 'hit');
  });

  test('a cache V8 does not accept (intact, but not code of this file) is rejected and the file loads without it', () => {
    const first = load();
    first.save();
    // A well-formed file of ours whose payload is V8's cache of another script.
    const otherFile = path.join(work, `foreign-${serial}.cjs`);
    writeFileSync(otherFile, 'module.exports = 1;\n');
    const foreign = requireWithCodeCache(otherFile, { dir: path.join(work, `foreign-cache-${serial}`) });
    foreign.save();
    writeFileSync(first.file!, readFileSync(foreign.file!));
    delete createRequire(otherFile).cache[otherFile];
    assert.deepEqual(loadInChild(moduleFile, cacheDir, true), { status: 'rejected', value: 7 });
    assert.deepEqual(loadInChild(), { status: 'hit', value: 7 }, 'a rejected cache is replaced');
  });

  test('a folder others may write, a link, or "off": no cache is read or written, and the module loads', () => {
    mkdirSync(cacheDir, { mode: 0o700 });
    chmodSync(cacheDir, 0o777);
    const open = load();
    assert.equal(open.status, 'disabled');
    assert.equal(open.save(), false);
    assert.deepEqual(readdirSync(cacheDir), []);

    const target = path.join(work, `target-${serial}`);
    mkdirSync(target, { mode: 0o700 });
    const link = path.join(work, `link-${serial}`);
    symlinkSync(target, link);
    assert.equal(load(moduleFile, link).status, 'disabled');

    const off = load(moduleFile, 'off');
    assert.equal(off.status, 'disabled');
    assert.equal((off.exports as { value: number }).value, 7);
  });

  test('a folder that cannot be made (a file in the way): the module loads without a cache', () => {
    writeFileSync(cacheDir, 'a file');
    const loaded = load();
    assert.equal(loaded.status, 'disabled');
    assert.equal((loaded.exports as { value: number }).value, 7);
  });

  test('a module that throws is not left in require.cache', () => {
    writeFileSync(moduleFile, "throw new Error('broken module');\n");
    assert.throws(() => requireWithCodeCache(moduleFile, { dir: cacheDir }), /broken module/);
    assert.equal(createRequire(moduleFile).cache[moduleFile], undefined);
  });

  test('a module already loaded is returned as it is', () => {
    const required = createRequire(moduleFile)(moduleFile);
    const again = requireWithCodeCache(moduleFile, { dir: cacheDir });
    assert.equal(again.exports, required);
    assert.equal(again.status, 'disabled');
    delete createRequire(moduleFile).cache[moduleFile];
  });
});

describe('codeCacheDir', () => {
  test('per user: XDG_CACHE_HOME when absolute, else ~/.cache; HANLAB_CODE_CACHE_DIR chooses; "off" disables', () => {
    assert.equal(codeCacheDir({ XDG_CACHE_HOME: '/x/cache' }), path.join('/x/cache', 'hanlab', 'v8-code-cache'));
    assert.match(codeCacheDir({ XDG_CACHE_HOME: 'relative' })!, /[\\/]\.cache[\\/]hanlab[\\/]v8-code-cache$/);
    assert.equal(codeCacheDir({ HANLAB_CODE_CACHE_DIR: '/y' }), path.resolve('/y'));
    assert.equal(codeCacheDir({ HANLAB_CODE_CACHE_DIR: 'off' }), undefined);
  });
});
