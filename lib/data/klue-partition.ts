/**
 * The fixed train / validation / test partition of the 5,000 KLUE NER dev sentences that every
 * experiment uses. The id lists live in `data/klue-ner/partition.json`; the rule that produced them
 * (a seeded shuffle, see `scripts/make-klue-partition.ts`) is recorded in the file itself.
 */
import { InputError } from '../errors.js';
import { readTextFile } from './encoding.js';
import { jsonSyntaxError } from './json-errors.js';

export const KLUE_PARTITION_FILE = 'data/klue-ner/partition.json';
export const KLUE_SPLITS = ['train', 'validation', 'test'] as const;
export type KlueSplit = (typeof KLUE_SPLITS)[number];

export interface KluePartition {
  /** Human-readable description of the rule (source file, generator, seed, sizes). */
  rule: string;
  source: string;
  generator: string;
  seed: number;
  sizes: Record<KlueSplit, number>;
  /** Sentence ids per split, each list in the source file's order. */
  train: string[];
  validation: string[];
  test: string[];
}

export interface KlueSplits<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/** Loads and checks a partition file (path relative to the working directory, the project root). */
export function loadKluePartition(file: string = KLUE_PARTITION_FILE): KluePartition {
  const { text } = readTextFile(file, { what: 'the partition' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw jsonSyntaxError(text, error, { file, what: 'cannot read the partition: not valid JSON' });
  }
  if (typeof parsed !== 'object' || parsed === null) throw new InputError('the partition must be a JSON object', { file });
  const record = parsed as Record<string, unknown>;
  const seen = new Map<string, KlueSplit>();
  for (const split of KLUE_SPLITS) {
    const ids = record[split];
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
      throw new InputError('must be an array of sentence id strings', { file, field: split });
    }
    for (const id of ids as string[]) {
      const other = seen.get(id);
      if (other) throw new InputError(`sentence id ${JSON.stringify(id)} is in both "${other}" and "${split}"`, { file, field: split });
      seen.set(id, split);
    }
  }
  return parsed as KluePartition;
}

/**
 * Splits sentences by the partition, keeping the input order inside each split. Every sentence
 * must be in exactly one split and every partition id must be present: an unknown or missing id
 * is an error (the data file and the partition must belong together).
 */
export function splitKlueSentences<T extends { id: string }>(sentences: readonly T[], partition: KluePartition): KlueSplits<T> {
  const splitOf = new Map<string, KlueSplit>();
  for (const split of KLUE_SPLITS) for (const id of partition[split]) splitOf.set(id, split);
  const result: KlueSplits<T> = { train: [], validation: [], test: [] };
  const found = new Set<string>();
  for (const sentence of sentences) {
    const split = splitOf.get(sentence.id);
    if (!split) {
      throw new InputError(`sentence id ${JSON.stringify(sentence.id)} is in no split of the partition`, { field: 'id' });
    }
    if (found.has(sentence.id)) throw new InputError(`sentence id ${JSON.stringify(sentence.id)} appears twice in the data`, { field: 'id' });
    found.add(sentence.id);
    result[split].push(sentence);
  }
  if (found.size !== splitOf.size) {
    const missing = [...splitOf.keys()].filter((id) => !found.has(id));
    throw new InputError(
      `${missing.length} partition id(s) are missing from the data, e.g. ${JSON.stringify(missing[0])} (${splitOf.get(missing[0])})`,
      { field: 'id' },
    );
  }
  return result;
}
