/**
 * A timed run: one execution of a design on a scenario under the TimedScheduler, with the metrics
 * of metrics.ts; and a comparison of designs on one scenario. Pure: the CLI renders the records,
 * which are JSON-serialisable. `timedRun` keeps every report the run made; the record the commands
 * print (`runRecord`, and each row of `compare`) groups them into findings (run-findings.ts).
 */
import type { Design } from '../designs/index.ts';
import { nr_free_pages } from '../kernel/mm/page_alloc.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { PageTable } from '../kernel/include/linux/mm_types.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { buildWorld } from '../scenario/world.ts';
import type { ExecutionStatus } from '../sim/index.ts';
import { DEFAULT_COSTS, type CostModel } from './cost-model.ts';
import { MetricsCollector, type TimedMetrics } from './metrics.ts';
import { StepStarts, type TimedTraceEvent } from './time-keeper.ts';
import { TimedScheduler } from './timed-scheduler.ts';
import { ModelInvariants, SelfCheckingScheduler } from '../check/invariants.ts';
import { TimelineRecorder, type Timeline } from './timeline.ts';
import type { ExecutionGuard } from '../explore/index.ts';
import { groupViolations, type RunFinding } from './run-findings.ts';

export interface TimedRunOptions {
  readonly costs?: CostModel;
  readonly maxSteps?: number;
  /** 0: the cost model exactly; otherwise the seed of the per-step cost jitter (TimedScheduler). */
  readonly seed?: number;
  /** Record the event trace, each event stamped with the simulated time of its step. */
  readonly trace?: boolean;
  /** Record the timeline (timeline.ts) for a Perfetto trace. */
  readonly timeline?: boolean;
  /** Check the model's own invariants before every step (src/check/invariants.ts; --self-check). */
  readonly selfCheck?: boolean;
  /** Sees the execution as check's guard does (the watchdog's guard for user designs: src/job/guard.ts). */
  readonly guard?: ExecutionGuard;
}

export interface TimedRunResult extends TimedMetrics {
  readonly version: 1;
  readonly design: string;
  readonly scenario: string;
  readonly seed: number;
  readonly costs: CostModel;
  /** The step bound asked for (null: the execution's default); status 'step-limit' says it cut the run. */
  readonly maxSteps: number | null;
  readonly status: ExecutionStatus;
  readonly steps: number;
  readonly threads: number;
  /** Simulated time from the first step's start to the last step's end. */
  readonly simulatedNs: number;
  /** The allocator at the end: free pages, and pages still typed as page tables. */
  /**
   * At the end: free pages and page-table pages; and the allocations that failed for want of memory
   * during the run (not injected faults): a scenario too big for its frames, never a design's bug.
   */
  readonly memory: { readonly freePages: number; readonly pageTablePages: number; readonly allocationFailures: number };
  /** Only with the trace option. */
  readonly trace?: readonly TimedTraceEvent[];
  /** Only with the timeline option. */
  readonly timeline?: Timeline;
}

/** A timed run as `kptsim run` prints it (text, --json, --html): its violations grouped into findings. */
export type TimedRunRecord = Omit<TimedRunResult, 'violations'> & { readonly violations: readonly RunFinding[] };

export function runRecord(r: TimedRunResult): TimedRunRecord {
  return { ...r, violations: groupViolations(r.violations) };
}

export interface CompareResult {
  readonly version: 1;
  readonly scenario: string;
  readonly costs: CostModel;
  /** One row per design, in the order given. */
  readonly rows: readonly TimedRunRecord[];
}

export function timedRun(design: Design, scenario: Scenario, options: TimedRunOptions = {}): TimedRunResult {
  const costs = options.costs ?? DEFAULT_COSTS;
  const seed = options.seed ?? 0;
  const sched = new TimedScheduler(costs, seed);
  const checking = options.selfCheck === true ? new SelfCheckingScheduler(sched) : null;
  const inner = checking ?? sched;
  const { exec, k, oracles } = buildWorld(scenario, design, options.guard?.wrap(inner) ?? inner, { maxSteps: options.maxSteps, trace: options.trace });
  options.guard?.built(exec);
  // One execution, printed in full: its reports carry the kernel call stacks (docs/reports.md).
  exec.recordStacks();
  checking?.attach(new ModelInvariants(k));
  sched.attach(exec, k.iommu);
  const metrics = new MetricsCollector(k, sched, oracles.shadow);
  const failures = { count: 0 };
  k.observers.push({ allocationFailed: () => void failures.count++ });
  const recorder = options.timeline === true ? new TimelineRecorder(k, sched, oracles.hazard) : null;
  const starts = new StepStarts(sched);
  const result = exec.run();
  sched.finish();
  const end = sched.makespan;
  const measured = metrics.result(end);
  const trace = exec.events === null ? undefined : starts.stamp(exec.events, end);
  return {
    version: 1,
    design: design.name,
    scenario: scenario.name,
    seed,
    costs,
    maxSteps: options.maxSteps ?? null,
    status: result.status,
    steps: result.steps,
    threads: exec.threads.length,
    simulatedNs: end,
    memory: { ...memoryOf(k), allocationFailures: failures.count },
    ...measured,
    ...(trace === undefined ? {} : { trace }),
    ...(recorder === null ? {} : { timeline: recorder.result(end, measured.pageTables.pendingSeries, starts) }),
  };
}

function memoryOf(k: Kernel): Omit<TimedRunResult['memory'], 'allocationFailures'> {
  let pageTablePages = 0;
  for (let pfn = 0; pfn < k.mem.frames; pfn++) if (PageTable(k.pages, pfn)) pageTablePages++;
  return { freePages: nr_free_pages(k), pageTablePages };
}

/** `guard` sees each design's execution in turn (build i: design i). */
export function compare(designs: readonly Design[], scenario: Scenario, costs: CostModel = DEFAULT_COSTS, guard?: ExecutionGuard): CompareResult {
  return { version: 1, scenario: scenario.name, costs, rows: designs.map((d) => runRecord(timedRun(d, scenario, { costs, guard }))) };
}
