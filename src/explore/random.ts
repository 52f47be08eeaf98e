/**
 * The seeded random strategy: every choice uniformly at random from a generator derived from
 * (seed, execution index). Probabilistic, never complete.
 */
import type { ChoicePoint, Scheduler } from '../sim/index.ts';
import { below, executionRng, type RandomGenerator } from './rng.ts';

export class RandomScheduler implements Scheduler {
  private rng: RandomGenerator;

  constructor(
    private readonly seed: number,
    private readonly executions = Infinity,
  ) {
    this.rng = executionRng(seed, 0);
  }

  beginExecution(index: number): boolean {
    if (index >= this.executions) return false;
    this.rng = executionRng(this.seed, index);
    return true;
  }

  choose(point: ChoicePoint): number {
    return point.options.length === 1 ? 0 : below(this.rng, point.options.length);
  }
}
