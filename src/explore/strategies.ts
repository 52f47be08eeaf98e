/**
 * The strategies by name (docs/architecture.md, Strategies): a name without a factory fails to compile, and the CLI's
 * `--strategy` choices and help are this record's keys.
 */
import { DfsScheduler } from './dfs.ts';
import { DporScheduler } from './dpor.ts';
import { PctScheduler } from './pct.ts';
import { RandomScheduler } from './random.ts';
import type { ExplorationStrategy, StrategyName, StrategyOptions } from './strategy.ts';

export type StrategyFactory = (options: StrategyOptions) => ExplorationStrategy;

export const STRATEGIES: Readonly<Record<StrategyName, StrategyFactory>> = {
  random: (o) => new RandomScheduler(o.seed ?? 0, Infinity, o.faults),
  pct: (o) => new PctScheduler(o.seed ?? 0, { depth: o.pctDepth, stepsEstimate: o.stepsEstimate, faults: o.faults }),
  dfs: (o) => new DfsScheduler({ preemptionBound: o.preemptionBound, faults: o.faults }),
  dpor: (o) => new DporScheduler({ faults: o.faults }),
};

export const STRATEGY_NAMES = Object.keys(STRATEGIES) as readonly StrategyName[];

/** One line per strategy, for `--help` and `kptsim check` output. */
export const STRATEGY_SUMMARIES: Readonly<Record<StrategyName, string>> = {
  random: 'uniformly random choices per execution, seeded from (seed, execution); never complete',
  pct: 'probabilistic concurrency testing (ASPLOS 2010), depth d finds a depth-d bug with p >= 1/(n k^(d-1)) per execution',
  dfs: 'every choice sequence, depth first; complete unless a preemption bound or the step limit cut it',
  dpor: 'dynamic partial-order reduction (Flanagan-Godefroid races, source-DPOR initials, sleep sets); complete over declared accesses',
};

export function isStrategyName(name: string): name is StrategyName {
  return Object.hasOwn(STRATEGIES, name);
}
