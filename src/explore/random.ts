/**
 * The seeded random strategy: every choice uniformly at random from a generator derived from
 * (seed, execution index), so execution i replays on its own (docs/architecture.md, Determinism). Probabilistic, never
 * complete: no guarantee beyond "each schedule has a non-zero chance per execution".
 */
import type { ChoicePoint } from '../sim/index.ts';
import { below, executionRng, type RandomGenerator } from './rng.ts';
import { expectState, type RandomState, type StrategyState } from './checkpoint.ts';
import type { ExplorationStrategy } from './strategy.ts';

export class RandomScheduler implements ExplorationStrategy {
  readonly name = 'random';
  readonly exhaustive = false;
  readonly complete = false;
  executions = 0;
  private rng: RandomGenerator;

  constructor(
    private readonly seed: number,
    private readonly limit = Infinity,
  ) {
    this.rng = executionRng(seed, 0);
  }

  beginExecution(index: number): boolean {
    if (index >= this.limit) return false;
    this.rng = executionRng(this.seed, index);
    this.executions++;
    return true;
  }

  choose(point: ChoicePoint): number {
    return point.options.length === 1 ? 0 : below(this.rng, point.options.length);
  }

  endExecution(): void {}

  coverage(): undefined {
    return undefined;
  }

  /** Execution i draws from (seed, i) alone: the count of executions begun is the whole state. */
  saveState(): RandomState {
    return { name: 'random', executions: this.executions };
  }

  restoreState(state: StrategyState): void {
    this.executions = expectState('random', state).executions;
  }
}
