/**
 * A Scheduler that runs the threads of an execution against simulated time: the earliest-first
 * policy over a TimeKeeper (time-keeper.ts), which keeps the clocks, CPUs, wake-ups and costs.
 *
 * At every thread choice the runnable thread that can start earliest runs; ties go to the higher
 * priority (interrupt handlers, then tasks, then devices), then to the lower seq — the thread's id,
 * which is its spawn order (an insertion counter, never identity: docs/architecture.md, Simulated time). Since the chosen step
 * always starts no earlier than the one before, step start times never go back.
 *
 * Data choices (GFP_ATOMIC failure, speculation) take option 0: no injected failure.
 *
 * Seed. With seed 0 every step costs exactly what the cost model says, so a run is one fixed
 * timeline. A seed > 0 jitters each step's cost (TimeKeeper): varying costs moves which thread can
 * start first, so seeds explore nearby interleavings while every one replays exactly.
 */
import type { Iommu } from '../hw/iommu.ts';
import { ModelInvariantError, type ChoicePoint, type ContextKind, type Execution, type Scheduler } from '../sim/index.ts';
import type { CostModel } from './cost-model.ts';
import { TimeKeeper, type StepClock, type TimedStep } from './time-keeper.ts';

export { JITTER, type TimedStep } from './time-keeper.ts';

const PRIORITY: Readonly<Record<ContextKind, number>> = { hardirq: 0, softirq: 1, task: 2, device: 3 };

export class TimedScheduler implements Scheduler, StepClock {
  /** The simulated time this scheduler's picks are stamped with. */
  readonly time: TimeKeeper;

  constructor(
    readonly model: CostModel,
    readonly seed = 0,
  ) {
    this.time = new TimeKeeper(model, seed);
  }

  /** Gives the scheduler the execution's threads (for CPU and priority) and its IOMMU (for costs). */
  attach(exec: Execution, iommu?: Iommu): void {
    this.time.attach(exec, iommu);
  }

  /** The start time of the step running now (or of the last one): the time of what observers see. */
  get now(): number {
    return this.time.now;
  }

  /** The end of the latest step: once the execution returned, the run's length in simulated time. */
  get makespan(): number {
    return this.time.makespan;
  }

  /** Told once per step that ran, in execution order. */
  get stepListeners(): ((s: TimedStep) => void)[] {
    return this.time.stepListeners;
  }

  beginExecution(index: number): boolean {
    return index === 0;
  }

  choose(point: ChoicePoint): number {
    if (point.kind === 'data') return 0;
    const ids = point.threadIds;
    const steps = point.steps;
    if (ids === undefined || steps === undefined) throw new ModelInvariantError('timed scheduler: a thread choice without thread ids and steps');
    const starts = this.time.offer(ids, steps);
    let best = 0;
    let bestPriority = PRIORITY[this.time.context(ids[0]).kind];
    for (let i = 1; i < ids.length; i++) {
      const priority = PRIORITY[this.time.context(ids[i]).kind];
      const start = starts[i];
      const bestStart = starts[best];
      if (start < bestStart || (start === bestStart && (priority < bestPriority || (priority === bestPriority && ids[i] < ids[best])))) {
        best = i;
        bestPriority = priority;
      }
    }
    this.time.run(best);
    return best;
  }

  /** Tells the listeners about the last step; call once the execution returned. */
  finish(): void {
    this.time.finish();
  }
}
