/**
 * Regenerates `data/klue-ner/partition.json`, the fixed partition of the KLUE NER dev sentences:
 *
 *   node --import tsx scripts/make-klue-partition.ts [--check]
 *
 * Rule: take the sentence ids in file order, shuffle them with a Fisher–Yates shuffle driven by
 * pure-rand's xoroshiro128+ seeded with KLUE_PARTITION_SEED (j = uniformInt(rng, 0, i) for i from
 * n-1 down to 1), give the first 4,000 to train, the next 500 to validation and the last 500 to
 * test, then list each split's ids in file order. `--check` verifies the stored file instead.
 * The shuffle is lib/random.ts's `shuffleInPlace`; lib/data/klue-partition.ts only reads the stored ids.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { readKlueNer } from '../lib/data/klue-ner.js';
import type { KluePartition } from '../lib/data/klue-partition.js';
import { createRng, shuffleInPlace } from '../lib/random.js';

export const KLUE_PARTITION_SEED = 20240917;
export const KLUE_PARTITION_SOURCE = 'data/klue-ner/klue-ner-v1.1_dev.tsv';
export const KLUE_PARTITION_SIZES = { train: 4000, validation: 500, test: 500 } as const;

/** A shuffled copy of `items`: Fisher–Yates with a fresh xoroshiro128+ seeded with `seed`. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  return shuffleInPlace(items.slice(), createRng(seed));
}

/** Builds the partition from the ids in file order. */
export function makeKluePartition(ids: readonly string[], seed = KLUE_PARTITION_SEED): KluePartition {
  const { train, validation, test } = KLUE_PARTITION_SIZES;
  if (ids.length !== train + validation + test) {
    throw new Error(`expected ${train + validation + test} sentence ids, got ${ids.length}`);
  }
  const shuffled = seededShuffle(ids, seed);
  const position = new Map(ids.map((id, i) => [id, i]));
  const inFileOrder = (list: string[]) => list.sort((a, b) => position.get(a)! - position.get(b)!);
  return {
    rule:
      `Fisher-Yates shuffle of the ${ids.length} sentence ids (file order) with pure-rand xoroshiro128plus(seed ${seed}), ` +
      `j = uniformInt(rng, 0, i) for i = n-1..1; first ${train} -> train, next ${validation} -> validation, ` +
      `last ${test} -> test; each list in file order. Regenerate: node --import tsx scripts/make-klue-partition.ts`,
    source: KLUE_PARTITION_SOURCE,
    generator: 'pure-rand@8 xoroshiro128plus + uniformInt',
    seed,
    sizes: { train, validation, test },
    train: inFileOrder(shuffled.slice(0, train)),
    validation: inFileOrder(shuffled.slice(train, train + validation)),
    test: inFileOrder(shuffled.slice(train + validation)),
  };
}

/** The partition file's text (stable formatting: one id per line). */
export function partitionJson(partition: KluePartition): string {
  return JSON.stringify(partition, null, 2) + '\n';
}

function main(argv: string[]): number {
  const ids = readKlueNer(KLUE_PARTITION_SOURCE).map((s) => s.id);
  const text = partitionJson(makeKluePartition(ids));
  const target = 'data/klue-ner/partition.json';
  if (argv.includes('--check')) {
    const same = readFileSync(target, 'utf8') === text;
    console.log(same ? `${target} is up to date` : `${target} differs from the rule's output`);
    return same ? 0 : 1;
  }
  writeFileSync(target, text);
  console.log(`wrote ${target}: ${KLUE_PARTITION_SIZES.train} / ${KLUE_PARTITION_SIZES.validation} / ${KLUE_PARTITION_SIZES.test}`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main(process.argv.slice(2));
