/**
 * The seeded random strategy: every choice uniformly at random from a generator derived from
 * (seed, execution index), so execution i replays on its own (docs/architecture.md, Determinism). Probabilistic, never
 * complete: no guarantee beyond "each schedule has a non-zero chance per execution". An injected
 * fault is one data value among the others; once an execution has taken the fault bound, every
 * later fault point takes "no fault".
 */
import type { ChoicePoint } from '../sim/index.ts';
import { below, executionRng, type RandomGenerator } from './rng.ts';
import { checkFaultBound, expectState, type RandomState, type StrategyState } from './checkpoint.ts';
import { FaultCount } from './faults.ts';
import type { ExplorationStrategy } from './strategy.ts';

export class RandomScheduler implements ExplorationStrategy {
  readonly name = 'random';
  readonly exhaustive = false;
  readonly complete = false;
  executions = 0;
  private rng: RandomGenerator;
  private readonly faults: FaultCount;

  constructor(
    private readonly seed: number,
    private readonly limit = Infinity,
    /** At most this many injected faults per execution (undefined: any number). */
    faultBound?: number,
  ) {
    this.rng = executionRng(seed, 0);
    this.faults = new FaultCount(faultBound);
  }

  beginExecution(index: number): boolean {
    if (index >= this.limit) return false;
    this.rng = executionRng(this.seed, index);
    this.executions++;
    this.faults.reset();
    return true;
  }

  choose(point: ChoicePoint): number {
    const n = point.options.length;
    return this.faults.sample(point, () => (n === 1 ? 0 : below(this.rng, n)));
  }

  endExecution(): void {}

  coverage(): undefined {
    return undefined;
  }

  /** Execution i draws from (seed, i) alone: the count of executions begun is the whole state. */
  saveState(): RandomState {
    return { name: 'random', ...(this.faults.bound === undefined ? {} : { faults: this.faults.bound }), executions: this.executions };
  }

  restoreState(state: StrategyState): void {
    const s = expectState('random', state);
    checkFaultBound(s.faults, this.faults.bound);
    this.executions = s.executions;
  }
}
