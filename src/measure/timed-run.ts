/**
 * A timed run: one execution of a design on a scenario under the TimedScheduler, with the metrics
 * of metrics.ts; and a comparison of designs on one scenario. Pure: the CLI renders the records,
 * which are JSON-serialisable.
 */
import type { Design } from '../designs/index.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { buildWorld } from '../scenario/world.ts';
import type { ExecutionStatus } from '../sim/index.ts';
import { DEFAULT_COSTS, type CostModel } from './cost-model.ts';
import { MetricsCollector, type TimedMetrics } from './metrics.ts';
import { TimedScheduler } from './timed-scheduler.ts';

export interface TimedRunOptions {
  readonly costs?: CostModel;
  readonly maxSteps?: number;
}

export interface TimedRunResult extends TimedMetrics {
  readonly version: 1;
  readonly design: string;
  readonly scenario: string;
  readonly costs: CostModel;
  /** The step bound asked for (null: the execution's default); status 'step-limit' says it cut the run. */
  readonly maxSteps: number | null;
  readonly status: ExecutionStatus;
  readonly steps: number;
  /** Simulated time from the first step's start to the last step's end. */
  readonly simulatedNs: number;
}

export interface CompareResult {
  readonly version: 1;
  readonly scenario: string;
  readonly costs: CostModel;
  /** One row per design, in the order given. */
  readonly rows: readonly TimedRunResult[];
}

export function timedRun(design: Design, scenario: Scenario, options: TimedRunOptions = {}): TimedRunResult {
  const costs = options.costs ?? DEFAULT_COSTS;
  const sched = new TimedScheduler(costs);
  const { exec, k } = buildWorld(scenario, design, sched, { maxSteps: options.maxSteps });
  sched.attach(exec, k.iommu);
  const metrics = new MetricsCollector(k, sched);
  const result = exec.run();
  sched.finish();
  return {
    version: 1,
    design: design.name,
    scenario: scenario.name,
    costs,
    maxSteps: options.maxSteps ?? null,
    status: result.status,
    steps: result.steps,
    simulatedNs: sched.makespan,
    ...metrics.result(sched.makespan),
  };
}

export function compare(designs: readonly Design[], scenario: Scenario, costs: CostModel = DEFAULT_COSTS): CompareResult {
  return { version: 1, scenario: scenario.name, costs, rows: designs.map((d) => timedRun(d, scenario, { costs })) };
}
