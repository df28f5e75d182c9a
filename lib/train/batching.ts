/**
 * Batches: which examples go together, and their padded tensors' data. Length bucketing sorts examples
 * by length inside pools of many batches, so a batch pads to a length close to its members' (less
 * work on padding) while the pools and the batch order stay random.
 */
import { PAD_ID } from './vocabulary.js';
import type { SeededRandom } from '../tensor/rng.js';

/** One encoded example: syllable ids, plus per-syllable tag ids (taggers) or a label (classifiers). */
export interface EncodedExample {
  ids: Int32Array;
  tags?: Int32Array;
  label?: number;
}

/** A padded batch, row-major `[size, time]`. */
export interface Batch {
  size: number;
  time: number;
  ids: Int32Array;
  lengths: number[];
  /** Tag ids, padding = 0 (ignored: masked by `lengths`). */
  tags?: Int32Array;
  labels?: Int32Array;
  /** Real (non-padding) tokens. */
  realTokens: number;
  /** Indices of the examples in the data set. */
  indices: number[];
}

export interface BatchPlanOptions {
  batchSize: number;
  /** Sort by length inside pools of `bucketPoolBatches` batches (default on). */
  bucketing?: boolean;
  bucketPoolBatches?: number;
  /** Shuffle (training); without it the order is the data order (evaluation, sorted when bucketing). */
  rng?: SeededRandom;
}

/** Groups example indices into batches. */
export function planBatches(lengths: readonly number[], options: BatchPlanOptions): number[][] {
  const { batchSize } = options;
  if (!(batchSize >= 1)) throw new Error(`batch size must be ≥ 1, got ${batchSize}`);
  const order = lengths.map((_, index) => index);
  if (options.rng) options.rng.shuffle(order);
  const bucketing = options.bucketing ?? true;
  const batches: number[][] = [];
  if (bucketing) {
    const pool = batchSize * (options.bucketPoolBatches ?? (options.rng ? 50 : Number.MAX_SAFE_INTEGER / batchSize));
    for (let from = 0; from < order.length; from += pool) {
      const members = order.slice(from, from + pool).sort((a, b) => lengths[a] - lengths[b] || a - b);
      for (let at = 0; at < members.length; at += batchSize) batches.push(members.slice(at, at + batchSize));
    }
    if (options.rng) options.rng.shuffle(batches);
  } else {
    for (let at = 0; at < order.length; at += batchSize) batches.push(order.slice(at, at + batchSize));
  }
  return batches;
}

/**
 * Pads the chosen examples into one batch. `maxLength` truncates longer examples (classifiers);
 * taggers pass none, so every syllable gets a prediction.
 */
export function makeBatch(examples: readonly EncodedExample[], indices: readonly number[], maxLength?: number): Batch {
  const size = indices.length;
  const lengths = indices.map((index) => {
    const length = examples[index].ids.length;
    return maxLength !== undefined ? Math.min(length, maxLength) : length;
  });
  const time = Math.max(1, ...lengths);
  const ids = new Int32Array(size * time).fill(PAD_ID);
  const hasTags = examples[indices[0]]?.tags !== undefined;
  const hasLabels = examples[indices[0]]?.label !== undefined;
  const tags = hasTags ? new Int32Array(size * time) : undefined;
  const labels = hasLabels ? new Int32Array(size) : undefined;
  let realTokens = 0;
  indices.forEach((index, row) => {
    const example = examples[index];
    const length = lengths[row];
    ids.set(example.ids.subarray(0, length), row * time);
    if (tags) {
      if (!example.tags) throw new Error(`example ${index} has no tags`);
      tags.set(example.tags.subarray(0, length), row * time);
    }
    if (labels) {
      if (example.label === undefined) throw new Error(`example ${index} has no label`);
      labels[row] = example.label;
    }
    realTokens += length;
  });
  return { size, time, ids, lengths, tags, labels, realTokens, indices: [...indices] };
}

/**
 * Splits a batch's members into ⌈n / microSize⌉ micro-batches of at most `microSize` examples, dealt
 * round-robin (members i, i + k, i + 2k, …): a bucketed batch is sorted by length, so every micro-batch
 * gets the same mix of lengths, and threads that share an update finish together.
 */
export function splitIndices(indices: readonly number[], microSize: number): number[][] {
  const count = Math.ceil(indices.length / microSize);
  const parts: number[][] = Array.from({ length: count }, () => []);
  indices.forEach((index, i) => parts[i % count].push(index));
  return parts;
}

/** Real tokens / padded positions over a batch plan: 1 means no padding at all. */
export function paddingEfficiency(lengths: readonly number[], batches: readonly number[][], maxLength?: number): number {
  let real = 0;
  let padded = 0;
  for (const batch of batches) {
    const batchLengths = batch.map((index) => (maxLength !== undefined ? Math.min(lengths[index], maxLength) : lengths[index]));
    const time = Math.max(1, ...batchLengths);
    real += batchLengths.reduce((sum, length) => sum + length, 0);
    padded += time * batch.length;
  }
  return padded === 0 ? 1 : real / padded;
}
