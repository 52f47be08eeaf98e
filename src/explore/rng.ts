/**
 * Per-execution random generators. Execution i of a run with seed s draws from a generator derived
 * from (s, i) alone, so it replays on its own and results do not depend on workers or shards
 * (docs/architecture.md, Determinism).
 */
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';

export type { RandomGenerator };

/** A 32-bit mix of (seed, index) (the murmur3 finaliser), so nearby indices give unrelated streams. */
export function executionSeed(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ index;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

export function executionRng(seed: number, index: number): RandomGenerator {
  return xoroshiro128plus(executionSeed(seed, index));
}

/** Uniform integer in [0, n). */
export function below(rng: RandomGenerator, n: number): number {
  return uniformInt(rng, 0, n - 1);
}
