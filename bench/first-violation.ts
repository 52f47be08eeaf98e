/**
 * Measurement 3, time to first violation: for each design on a scenario where it has one, how long
 * each strategy takes to reach the first execution that reports a violation (including
 * PCT's pilot run; nothing shrunk). Sampling strategies take the median over seeds; dfs and dpor
 * are deterministic, so their samples are repeated runs of the same search. A search that finds
 * nothing within the wall-clock cap is "not found" (an infinite sample). The figure is this
 * process's CPU time (stats.ts cpuNow); the peer comparison (peer.ts) uses wall-clock on both sides.
 */
import type { Design } from '../src/designs/index.ts';
import { RoundRobinScheduler, STRATEGIES, explore, type StrategyName } from '../src/explore/index.ts';
import { programOf } from '../src/job/program.ts';
import type { Scenario } from '../src/scenario/scenario.ts';
import { cpuNow, figure, now, type Figure } from './stats.ts';

const GROUP = '3. time to first violation';

export interface FirstViolationCase {
  readonly design: Design;
  readonly scenario: Scenario;
}

export interface FirstViolationOptions {
  readonly cases: readonly FirstViolationCase[];
  readonly strategies: readonly StrategyName[];
  /** Seeds (sampling strategies) or repeated runs (exhaustive ones). */
  readonly seeds: number;
  readonly capMs: number;
}

export interface FirstViolation {
  /** Wall-clock time, and this process's CPU time, to the end of the first violating execution. */
  readonly ms: number;
  readonly cpuMs: number;
  /** The execution that showed it (0-based), or null if none did within the cap. */
  readonly execution: number | null;
  readonly kind: string | null;
}

/** Explores until the first violating execution or the cap, the way `kptsim check` builds its strategy. */
export function timeToFirstViolation(design: Design, scenario: Scenario, strategy: StrategyName, seed: number, capMs: number): FirstViolation {
  const t0 = now();
  const c0 = cpuNow();
  const program = programOf(design, scenario);
  let stepsEstimate: number | undefined;
  if (strategy === 'pct') {
    const pilot = new RoundRobinScheduler();
    pilot.beginExecution(0);
    stepsEstimate = program.build(pilot).run().steps;
  }
  const result = explore(program, STRATEGIES[strategy]({ seed, stepsEstimate }), { stopAtFirst: true, timeMs: capMs, now });
  const ms = now() - t0;
  const cpuMs = cpuNow() - c0;
  const first = result.violations[0];
  return { ms, cpuMs, execution: first?.execution ?? null, kind: first?.kind ?? null };
}

export function measureFirstViolations(o: FirstViolationOptions): Figure[] {
  const out: Figure[] = [];
  for (const c of o.cases) {
    for (const strategy of o.strategies) {
      const runs = Array.from({ length: o.seeds }, (_, seed) => timeToFirstViolation(c.design, c.scenario, strategy, seed, o.capMs));
      const found = runs.filter((r) => r.execution !== null);
      const kinds = [...new Set(found.map((r) => r.kind))].join(', ');
      const execs = found.map((r) => (r.execution as number) + 1).sort((a, b) => a - b);
      const note =
        found.length === 0
          ? `not found within ${o.capMs / 1000} s`
          : `${kinds}; found in ${found.length}/${runs.length}, at execution ${execs.join(', ')}`;
      out.push(figure(GROUP, `${c.design.name} on ${c.scenario.name}, ${strategy}`, 'ms', runs.map((r) => (r.execution === null ? Infinity : r.cpuMs)), { note }));
    }
  }
  return out;
}
