import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { readKlueNer } from '../../lib/data/klue-ner.js';
import { KLUE_SPLITS, loadKluePartition, splitKlueSentences } from '../../lib/data/klue-partition.js';
import { InputError } from '../../lib/errors.js';
import { KLUE_PARTITION_SEED, makeKluePartition, partitionJson, seededShuffle } from '../../scripts/make-klue-partition.js';

const DEV = 'data/klue-ner/klue-ner-v1.1_dev.tsv';
const PARTITION = 'data/klue-ner/partition.json';

describe('KLUE NER partition', () => {
  const sentences = readKlueNer(DEV);
  const partition = loadKluePartition(PARTITION);

  test('is 4,000 / 500 / 500 disjoint ids covering every dev sentence', () => {
    assert.equal(partition.train.length, 4000);
    assert.equal(partition.validation.length, 500);
    assert.equal(partition.test.length, 500);
    const all = [...partition.train, ...partition.validation, ...partition.test];
    assert.equal(new Set(all).size, 5000);
    assert.deepEqual(new Set(all), new Set(sentences.map((s) => s.id)));
    assert.equal(partition.seed, KLUE_PARTITION_SEED);
  });

  test('the stored file is exactly what the documented rule produces (reproducible)', () => {
    const regenerated = partitionJson(makeKluePartition(sentences.map((s) => s.id)));
    assert.equal(readFileSync(PARTITION, 'utf8'), regenerated);
  });

  test('splitting keeps file order inside each split and every sentence once', () => {
    const splits = splitKlueSentences(sentences, partition);
    for (const split of KLUE_SPLITS) {
      assert.deepEqual(splits[split].map((s) => s.id), partition[split]);
      const lines = splits[split].map((s) => s.line);
      assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
    }
  });

  test('an unknown id or a missing id is an error', () => {
    assert.throws(() => splitKlueSentences([...sentences, { ...sentences[0], id: 'not-in-partition' }], partition), (e: unknown) => e instanceof InputError && /"not-in-partition" is in no split/.test(e.message));
    assert.throws(() => splitKlueSentences(sentences.slice(1), partition), /1 partition id\(s\) are missing from the data, e\.g\. "klue-ner-v1_dev_00000-wikitree"/);
    assert.throws(() => splitKlueSentences([...sentences, sentences[3]], partition), /appears twice/);
  });

  test('a broken partition file is an error naming the field', () => {
    assert.throws(() => loadKluePartition('tests/fixtures/klue-small.tsv'), (e: unknown) => e instanceof InputError && /cannot read the partition/.test(e.message));
    assert.throws(() => loadKluePartition('no/such/partition.json'), InputError);
    const dir = mkdtempSync(path.join(tmpdir(), 'partition-'));
    try {
      const file = path.join(dir, 'p.json');
      writeFileSync(file, JSON.stringify({ train: ['a'], validation: 'b', test: [] }));
      assert.throws(() => loadKluePartition(file), (e: unknown) => e instanceof InputError && e.field === 'validation');
      writeFileSync(file, JSON.stringify({ train: ['a'], validation: ['a'], test: [] }));
      assert.throws(() => loadKluePartition(file), /"a" is in both "train" and "validation"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('property: the seeded shuffle is a permutation and depends only on the seed', () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { maxLength: 50 }), fc.integer(), (items, seed) => {
        const a = seededShuffle(items, seed);
        assert.deepEqual(a, seededShuffle(items, seed));
        assert.deepEqual([...a].sort((x, y) => x - y), [...items].sort((x, y) => x - y));
      }),
    );
  });
});
