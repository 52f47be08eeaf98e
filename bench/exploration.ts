/**
 * Measurement 2, exploration: executions per second of `random`, `pct` and `dpor` on a scenario for
 * each design (a fixed budget, nothing shrunk: the rate of the exploration itself), and DPOR's
 * reduction — executions of unbounded `dfs` over executions of `dpor` — on a configuration small
 * enough for dpor to finish. When dfs does not finish within its time cap the reduction printed is
 * a lower bound, and the note says so. Rates are per second of this process's CPU time (stats.ts
 * cpuNow); the caps are wall-clock.
 */
import type { Design } from '../src/designs/index.ts';
import { RoundRobinScheduler, type StrategyName } from '../src/explore/index.ts';
import { check } from '../src/job/check.ts';
import { programOf } from '../src/job/program.ts';
import type { Scenario } from '../src/scenario/scenario.ts';
import { cpuNow, figure, now, type Figure } from './stats.ts';

const GROUP = '2. exploration';

export interface RateOptions {
  readonly designs: readonly Design[];
  readonly scenario: Scenario;
  readonly strategies: readonly StrategyName[];
  readonly budget: number;
  readonly runs: number;
}

export function measureRates(o: RateOptions): Figure[] {
  const out: Figure[] = [];
  for (const design of o.designs) {
    for (const strategy of o.strategies) {
      const samples: number[] = [];
      for (let r = 0; r < o.runs; r++) {
        const t0 = cpuNow();
        const result = check(design, o.scenario, { strategy, seed: r, budget: o.budget, shrinkRuns: 0 }, 'bench');
        samples.push((result.executions / (cpuNow() - t0)) * 1000);
      }
      out.push(figure(GROUP, `${strategy} executions/s, ${design.name} on ${o.scenario.name}`, 'exec/s', samples));
    }
  }
  return out;
}

export interface ReductionOptions {
  readonly design: Design;
  readonly scenario: Scenario;
  /** Wall-clock cap on each exhaustive search. */
  readonly capMs: number;
}

export interface ReductionResult {
  readonly figures: Figure[];
  readonly dfs: { executions: number; complete: boolean; ms: number };
  readonly dpor: { executions: number; complete: boolean; ms: number };
  readonly threads: number;
}

/** The threads of a world of this design and scenario (the figures name them). */
export function threadsOf(design: Design, scenario: Scenario): number {
  const scheduler = new RoundRobinScheduler();
  scheduler.beginExecution(0);
  return programOf(design, scenario).build(scheduler).threads.length;
}

/** One run each (both searches are deterministic: their execution counts do not vary). */
export function measureReduction(o: ReductionOptions): ReductionResult {
  const threads = threadsOf(o.design, o.scenario);
  const run = (strategy: StrategyName) => {
    const t0 = now();
    const r = check(o.design, o.scenario, { strategy, seed: 0, timeMs: o.capMs, now, shrinkRuns: 0 }, 'bench');
    return { executions: r.executions, complete: r.complete, ms: now() - t0 };
  };
  const dpor = run('dpor');
  const dfs = run('dfs');
  const where = `${o.design.name} on ${o.scenario.name}, ${threads} threads`;
  const figures: Figure[] = [];
  if (!dpor.complete) {
    figures.push(figure(GROUP, `dpor reduction (${where})`, 'x', [], { target: { op: '>=', value: 10 }, note: `dpor did not finish in ${o.capMs / 1000} s` }));
  } else {
    const note = dfs.complete
      ? `dfs ${dfs.executions} / dpor ${dpor.executions} executions, both complete`
      : `lower bound: dfs cut at ${dfs.executions} executions (${o.capMs / 1000} s cap), dpor complete in ${dpor.executions}`;
    figures.push(figure(GROUP, `dpor reduction (${where})`, 'x', [dfs.executions / dpor.executions], { target: { op: '>=', value: 10 }, note }));
  }
  return { figures, dfs, dpor, threads };
}

export interface ProofOptions {
  readonly design: Design;
  readonly scenario: Scenario;
  /** Wall-clock cap on the search: past it the figure says the proof did not finish. */
  readonly capMs: number;
}

/**
 * How long dpor takes to prove a design on a small configuration (wall-clock, one run: the search is
 * deterministic, so only the time varies), with its execution count beside it. The target is the
 * speed issue's: upstream on examples/scenarios/vfree-small.yaml in under 5 s.
 */
export function measureProof(o: ProofOptions): Figure[] {
  const t0 = now();
  const r = check(o.design, o.scenario, { strategy: 'dpor', seed: 0, timeMs: o.capMs, now, shrinkRuns: 0 }, 'bench');
  const s = (now() - t0) / 1000;
  const name = `dpor proof time, ${o.design.name} on ${o.scenario.name}`;
  if (!r.complete) return [figure(GROUP, name, 's', [], { target: { op: '<=', value: 5 }, note: `not complete in ${o.capMs / 1000} s (${r.executions} executions)` })];
  const verdict = r.violations.length === 0 ? 'proved' : `${r.violations.length} finding(s)`;
  return [figure(GROUP, name, 's', [s], { target: { op: '<=', value: 5 }, note: `${verdict} in ${r.executions} executions (${Math.round(r.executions / s)} exec/s)` })];
}
