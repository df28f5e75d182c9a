/**
 * data/nsmc/formats: the shipped CSV, JSON and Parquet files are what the script writes, and each loads
 * to the same 300 reviews as the first 300 rows of the TSV they come from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadTextClassification } from '../../lib/data/text-classification.js';
import { readTable } from '../../lib/data/tabular.js';
import { COUNT, OUT_DIR, SOURCE, buildFormatSamples } from '../../scripts/make-nsmc-format-samples.js';

test('the shipped format samples are byte for byte what the script writes', async () => {
  for (const [name, bytes] of await buildFormatSamples()) assert.ok(readFileSync(path.join(OUT_DIR, name)).equals(bytes), name);
});

test('CSV, JSON and Parquet load to the same reviews as the TSV', async () => {
  const tsv = (await readTable(SOURCE)).rows.slice(0, COUNT);
  for (const format of ['csv', 'json', 'parquet']) {
    const data = await loadTextClassification(path.join(OUT_DIR, `ratings_train.first${COUNT}.${format}`));
    assert.equal(data.source.format, format);
    assert.deepEqual(data.texts, tsv.map((r) => String(r.values.document)), format);
    assert.deepEqual(data.labels.map((l) => data.labelNames[l]), tsv.map((r) => String(r.values.label)), format);
  }
});
