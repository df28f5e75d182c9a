import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InputError } from '../../lib/errors.js';
import { readNotebook } from '../../lib/notebook/nbformat.js';
import { cacheKey, hashInputs, ReportCache, stableJson } from '../../lib/report/cache.js';

function project() {
  const root = mkdtempSync(path.join(tmpdir(), 'hanlab-cache-'));
  mkdirSync(path.join(root, 'data', 'set'), { recursive: true });
  writeFileSync(path.join(root, 'study.ipynb'), '{"nbformat":4,"nbformat_minor":5,"metadata":{},"cells":[]}');
  writeFileSync(path.join(root, 'data', 'train.csv'), 'text,label\n좋다,1\n');
  writeFileSync(path.join(root, 'data', 'set', 'a.txt'), 'a');
  writeFileSync(path.join(root, 'data', 'set', 'b.txt'), 'b');
  return root;
}

test('the key changes with the notebook, its parameters, its kernel and its input files, and only with them', (t) => {
  const root = project();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const base = { notebookPath: path.join(root, 'study.ipynb'), parameters: { seed: 42, epochs: 3 }, inputs: ['data/train.csv', 'data/set'], kernel: 'hanlab', root };
  const key = cacheKey(base).key;
  assert.equal(cacheKey(base).key, key, 'same inputs, same key');
  assert.equal(cacheKey({ ...base, parameters: { epochs: 3, seed: 42 } }).key, key, 'parameter order does not matter');
  assert.notEqual(cacheKey({ ...base, parameters: { seed: 7, epochs: 3 } }).key, key, 'parameters');
  assert.notEqual(cacheKey({ ...base, kernel: 'hanlab-gpu' }).key, key, 'kernel');
  writeFileSync(path.join(root, 'data', 'train.csv'), 'text,label\n좋다,1\n싫다,0\n');
  const afterData = cacheKey(base).key;
  assert.notEqual(afterData, key, 'an input file');
  writeFileSync(path.join(root, 'data', 'set', 'b.txt'), 'B');
  const afterFolder = cacheKey(base).key;
  assert.notEqual(afterFolder, afterData, 'a file inside an input folder');
  writeFileSync(path.join(root, 'study.ipynb'), '{"nbformat":4,"nbformat_minor":5,"metadata":{},"cells":[{"cell_type":"code","source":"1","metadata":{},"outputs":[],"execution_count":null}]}');
  assert.notEqual(cacheKey(base).key, afterFolder, 'the notebook content');
  assert.deepEqual(Object.keys(cacheKey(base).inputHashes), ['data/train.csv', 'data/set']);
  assert.match(cacheKey(base).inputHashes['data/train.csv'], /^[0-9a-f]{64}$/);
});

test('a missing input is an error naming the notebook and the field', (t) => {
  const root = project();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.throws(
    () => hashInputs(['data/train.csv', 'data/missing.csv'], root, 'notebooks/study.ipynb'),
    (e: unknown) => e instanceof InputError && e.file === 'notebooks/study.ipynb' && e.field === 'metadata.hanlab.report.inputs[1]' && /missing\.csv/.test(e.message),
  );
});

test('stableJson sorts keys at every level', () => {
  assert.equal(stableJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: 3 } }), '{"a":{"c":3,"d":[2,{"e":0,"f":1}]},"b":1}');
});

test('cache: miss, put, hit; a different key or a damaged entry is a miss', (t) => {
  const root = project();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const cache = new ReportCache(path.join(root, '.cache', 'reports'));
  const notebook = readNotebook(path.join(process.cwd(), 'tests', 'fixtures', 'reports', 'sentiment.ipynb'));
  assert.equal(cache.get('news-sentiment', 'k1'), undefined, 'empty cache misses');
  cache.put('news-sentiment', 'k1', { 'data/train.csv': 'ab' }, notebook);
  assert.deepEqual(cache.get('news-sentiment', 'k1'), notebook, 'hit returns the stored notebook');
  assert.equal(cache.get('news-sentiment', 'k2'), undefined, 'another key misses');
  writeFileSync(path.join(root, '.cache', 'reports', 'news-sentiment.json'), '{not json');
  assert.equal(cache.get('news-sentiment', 'k1'), undefined, 'a damaged entry misses');
});
