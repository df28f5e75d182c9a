/**
 * Seeded random numbers for lib/ and scripts/: pure-rand's xoroshiro128+ generator and its unbiased
 * `uniformInt`, so the same seed gives the same draws on every platform and Node version. Every
 * seeded shuffle or resample in hanlab goes through here (lib/tensor/rng.ts keeps its own generator:
 * its checkpoints store that generator's state).
 */
// pure-rand 8 publishes only sub-path exports ("exports": {"./generator/xoroshiro128plus": ...}) and
// no top-level entry or `typesVersions`. tslab compiles lib/ with TypeScript 5.0.4 and
// moduleResolution Node10, which ignores "exports", so it cannot find these modules' types
// (TS2307) although Node resolves them at run time under both ESM and the CommonJS tslab emits.
// Hence the two @ts-ignore lines: under tslab the imports are `any`; under the project's tsc
// (NodeNext) they resolve, and the typed constants below check pure-rand's real signatures.
// @ts-ignore -- TS2307 under tslab only (Node10 resolution ignores package "exports"); see above
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
// @ts-ignore -- TS2307 under tslab only (Node10 resolution ignores package "exports"); see above
import { uniformInt as pureUniformInt } from 'pure-rand/distribution/uniformInt';

/**
 * A pure-rand generator (the shape of its `RandomGenerator`). It is mutable: every draw advances it,
 * so one generator passed through several calls gives one reproducible stream.
 */
export interface RandomGenerator {
  /** The next 32-bit signed integer; advances the generator. */
  next(): number;
  /** An independent copy at the same point of the stream. */
  clone(): RandomGenerator;
  getState(): readonly number[];
}

const newXoroshiro128plus: (seed: number) => RandomGenerator = xoroshiro128plus;

/** A new xoroshiro128+ generator. pure-rand uses the seed as a 32-bit integer (`seed | 0`). */
export function createRng(seed: number): RandomGenerator {
  return newXoroshiro128plus(seed);
}

/**
 * A uniform integer from `min` to `max`, both included, without modulo bias. A constant rather than
 * a wrapper: bootstrap loops call it millions of times.
 */
export const uniformInt: (rng: RandomGenerator, min: number, max: number) => number = pureUniformInt;

/**
 * Fisher–Yates shuffle of `items` in place, returned for chaining: for i from n − 1 down to 1, swap
 * items[i] with items[uniformInt(rng, 0, i)]. Stored partitions depend on this exact order of draws.
 */
export function shuffleInPlace<T>(items: T[], rng: RandomGenerator): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    const item = items[i];
    items[i] = items[j];
    items[j] = item;
  }
  return items;
}
