/**
 * The contract every exploration strategy meets on top of the sim's Scheduler: it counts its
 * executions, hears how each one ended, and knows whether it has covered its whole space.
 * Cross-cutting concerns (budget, time, progress) live in the explorer loop, not here.
 */
import type { Execution, ExecutionResult, Scheduler } from '../sim/index.ts';
import type { StrategyState } from './checkpoint.ts';

export type StrategyName = 'random' | 'pct' | 'dfs' | 'dpor';

export interface ExplorationStrategy extends Scheduler {
  readonly name: StrategyName;
  /** True for strategies that can cover the whole space (dfs, dpor); random and pct never do. */
  readonly exhaustive: boolean;
  /** Executions begun so far (beginExecution calls that returned true). */
  readonly executions: number;
  /** Hears how execution `index` ended, before the next beginExecution (DPOR reads its trace). */
  endExecution(exec: Execution, result: ExecutionResult): void;
  /**
   * True once beginExecution returned false because the whole space was covered and no bound
   * (preemption bound, step limit) cut it. Never true for random or pct.
   */
  readonly complete: boolean;
  /** A coverage estimate in [0, 1] where the strategy has one, for progress reports. */
  coverage(): number | undefined;
  /** Its state between two executions as plain data (checkpoint.ts); only valid between executions. */
  saveState(): StrategyState;
  /**
   * Continues from `state`, saved by a strategy built with the same options; only before the
   * first execution. Throws CheckpointError when it is another strategy's state.
   */
  restoreState(state: StrategyState): void;
}

/** Options every strategy factory accepts; each strategy reads the ones it understands. */
export interface StrategyOptions {
  /** Seed of the per-execution generators (random, pct). */
  readonly seed?: number;
  /** PCT bug depth d (default 3). */
  readonly pctDepth?: number;
  /** PCT step-count estimate k; fixed when given, else the running maximum of observed steps. */
  readonly stepsEstimate?: number;
  /** DFS: at most this many preemptions per execution (makes the search incomplete when it cuts). */
  readonly preemptionBound?: number;
  /**
   * Every strategy: at most this many injected faults per execution (default: any number). The
   * exhaustive ones explore every execution within it, and are complete for it.
   */
  readonly faults?: number;
}
