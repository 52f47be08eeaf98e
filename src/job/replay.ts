/**
 * `kptsim replay`: one recorded execution, re-run with its trace — in simulated time. The choices
 * come from the token (explore/replay.ts); a TimeKeeper stamps each replayed step with the same
 * rules as a timed run (time-keeper.ts: clocks, CPUs, wake-ups, costs), so a replay also yields the
 * metrics and, when asked, the timeline of the execution it reproduces.
 */
import type { Design } from '../designs/index.ts';
import { ReplayDivergence, TokenReplayScheduler, decodeToken, type Program } from '../explore/index.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { buildWorld } from '../scenario/world.ts';
import type { ChoicePoint, ExecutionStatus, Scheduler, TraceEvent, Violation } from '../sim/index.ts';
import { ModelInvariantError } from '../sim/index.ts';
import type { ExecutionGuard } from '../explore/index.ts';
import { DEFAULT_COSTS, type CostModel } from '../measure/cost-model.ts';
import { MetricsCollector, type TimedMetrics } from '../measure/metrics.ts';
import { programOf } from './program.ts';
import { StepStarts, TimeKeeper } from '../measure/time-keeper.ts';
import type { TimedTraceEvent } from '../measure/time-keeper.ts';
import { TimelineRecorder, type Timeline } from '../measure/timeline.ts';

export interface ReplayOptions {
  /** The step bound the token was recorded under (its label carries it when one was given). */
  readonly maxSteps?: number;
  readonly costs?: CostModel;
  /** Record the timeline (timeline.ts) for a Perfetto trace. */
  readonly timeline?: boolean;
  /** Sees the execution as check's did (the CLI's watchdog: a token recorded where a hook never returned). */
  readonly guard?: ExecutionGuard;
}

export interface ReplayResult {
  readonly version: 1;
  readonly design: string;
  readonly scenario: string;
  readonly status: ExecutionStatus;
  readonly steps: number;
  readonly violations: readonly Violation[];
  readonly trace: readonly TraceEvent[];
}

/** What replay() returns: the replay in simulated time (seed 0: every step costs what the cost model says). */
export interface TimedReplayResult extends ReplayResult {
  /** Each event stamped with the simulated time of its step. */
  readonly trace: readonly TimedTraceEvent[];
  /** Simulated time from the first step's start to the last step's end. */
  readonly simulatedNs: number;
  readonly metrics: Omit<TimedMetrics, 'violations'>;
  /** Only with the timeline option. */
  readonly timeline?: Timeline;
}

/**
 * A scheduler whose picks come from another (a replay), stamped by a TimeKeeper: each thread
 * choice is offered to the keeper and the inner scheduler's pick is the step that runs.
 */
export class TimedReplayScheduler implements Scheduler {
  constructor(
    private readonly inner: Scheduler,
    readonly time: TimeKeeper,
  ) {}

  beginExecution(index: number): boolean {
    return this.inner.beginExecution(index);
  }

  choose(point: ChoicePoint): number | 'abandon' {
    const pick = this.inner.choose(point);
    if (point.kind !== 'thread' || pick === 'abandon') return pick;
    if (point.threadIds === undefined || point.steps === undefined) throw new ModelInvariantError('timed replay: a thread choice without thread ids and steps');
    this.time.offer(point.threadIds, point.steps);
    this.time.run(pick);
    return pick;
  }
}

export function replay(design: Design, scenario: Scenario, token: string, options: ReplayOptions = {}): TimedReplayResult {
  const time = new TimeKeeper(options.costs ?? DEFAULT_COSTS);
  const starts = new StepStarts(time);
  let metrics: MetricsCollector | null = null;
  let recorder: TimelineRecorder | null = null;
  const program: Program = {
    // The identity the token was recorded against (explorations build with programOf).
    identity: programOf(design, scenario, { maxSteps: options.maxSteps }).identity,
    build(token) {
      const scheduler = options.guard === undefined ? token : options.guard.wrap(token);
      const { exec, k, oracles } = buildWorld(scenario, design, new TimedReplayScheduler(scheduler, time), { stopOnViolation: true, trace: true, maxSteps: options.maxSteps });
      options.guard?.built(exec);
      // One execution whose reports are printed: they carry kernel stacks (src/sim/stack.ts).
      exec.recordStacks();
      time.attach(exec, k.iommu);
      metrics = new MetricsCollector(k, time, oracles.shadow);
      recorder = options.timeline === true ? new TimelineRecorder(k, time, oracles.hazard) : null;
      return exec;
    },
  };
  // replayToken (explore/replay.ts), except where the guard cut the execution: a hook that never
  // returned ends it before the recording does, and that cut is what this replay shows.
  const scheduler = new TokenReplayScheduler(decodeToken(token, program.identity));
  scheduler.beginExecution(0);
  const exec = program.build(scheduler);
  const result = exec.run();
  try {
    scheduler.checkEnd(result);
  } catch (err) {
    if (!(err instanceof ReplayDivergence && result.violations.some((v) => options.guard?.recorded(v) !== undefined))) throw err;
  }
  time.finish();
  const collector = metrics as MetricsCollector | null;
  if (collector === null) throw new ModelInvariantError('replay: the program was never built');
  const end = time.makespan;
  const { violations: _, ...measured } = collector.result(end);
  const timeline = (recorder as TimelineRecorder | null)?.result(end, measured.pageTables.pendingSeries, starts);
  return {
    version: 1,
    design: design.name,
    scenario: scenario.name,
    status: result.status,
    steps: result.steps,
    violations: result.violations,
    trace: starts.stamp(exec.events ?? [], end),
    simulatedNs: end,
    metrics: measured,
    ...(timeline === undefined ? {} : { timeline }),
  };
}
