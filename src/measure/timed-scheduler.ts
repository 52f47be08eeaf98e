/**
 * A Scheduler that runs the threads of an execution against simulated time.
 *
 * Each thread has a clock (ns). At every thread choice the runnable thread that can start earliest
 * runs; ties go to the higher priority (interrupt handlers, then tasks, then devices), then to the
 * lower seq — the thread's id, which is its spawn order (an insertion counter, never identity:
 * STYLE §12). The chosen step starts at
 *   max(the thread's clock, the time its CPU is free)
 * and the thread's clock advances by the step's cost (StepCosts). A thread on a CPU occupies it for
 * the step, so two threads pinned to one CPU never overlap; devices (cpu < 0) have no CPU. Steps
 * whose cost is a wake-up delay (LATENCY_LABELS) do not occupy the CPU.
 *
 * Waking. A thread that was not runnable at the previous choice and is now has been made runnable by
 * the step that ran in between (a release, a queue_work, the end of a DMA): it continues at
 * max(its clock, the end of that step). [Simplification: no run-queue, no preemption inside a step,
 * and a thread kept off its CPU by another's atomic section waits the same way.]
 *
 * Since the chosen step always starts no earlier than the one before, step start times never go
 * back: observers may read `now` as the time of the event they see.
 *
 * Data choices (GFP_ATOMIC failure, speculation) take option 0: no injected failure.
 *
 * Seed. With seed 0 every step costs exactly what the cost model says, so a run is one fixed
 * timeline. A seed > 0 draws each step's cost uniformly within ±JITTER of that figure (rounded to
 * a ns) from a generator of the seed alone: real costs vary (cache state, contention), and varying
 * them moves which thread can start first, so seeds explore nearby interleavings while every one
 * replays exactly.
 */
import type { Iommu } from '../hw/iommu.ts';
import { below, executionRng, type RandomGenerator } from '../explore/index.ts';
import { ModelInvariantError, type ChoicePoint, type ContextKind, type Execution, type Scheduler, type Step } from '../sim/index.ts';
import { LATENCY_LABELS, StepCosts, type CostModel } from './cost-model.ts';

/** The most a seeded run moves a step's cost away from the model's figure, as a fraction of it. */
export const JITTER = 0.2;
const JITTER_STEPS = 1000;

const PRIORITY: Readonly<Record<ContextKind, number>> = { hardirq: 0, softirq: 1, task: 2, device: 3 };

/** What ran: told to the step listener after the step's cost is known. */
export interface TimedStep {
  readonly thread: number;
  readonly step: Step;
  /** The end of the thread's previous step: start - ready is the time it waited (blocked, CPU busy, wake-up). */
  readonly ready: number;
  readonly start: number;
  readonly end: number;
}

export class TimedScheduler implements Scheduler {
  private readonly costs: StepCosts;
  private exec: Execution | null = null;
  private iommu: Iommu | null = null;
  private clock: number[] = [];
  /** Each thread's clock at the end of its own last step, before any wake-up moved it on. */
  private readonly readyAt: number[] = [];
  /** By thread id: runnable at the previous choice (a thread runnable now but not then was woken). */
  private runnableBefore: boolean[] = [];
  private readonly cpuFree: number[] = [];
  private nowNs = 0;
  private lastEnd = 0;
  private makespanNs = 0;
  /** The step that ran last, told to the listener at the next choice (or finish). */
  private last: TimedStep | null = null;
  /** PASID-selective invalidation descriptors already charged (see costOf). */
  private pasidCharged = 0;
  private readonly rng: RandomGenerator | null;
  /** Told once per step that ran, in execution order. */
  readonly stepListeners: ((s: TimedStep) => void)[] = [];

  constructor(
    readonly model: CostModel,
    readonly seed = 0,
  ) {
    this.costs = new StepCosts(model);
    this.rng = seed === 0 ? null : executionRng(seed, 0);
  }

  /** Gives the scheduler the execution's threads (for CPU and priority) and its IOMMU (for costs). */
  attach(exec: Execution, iommu?: Iommu): void {
    this.exec = exec;
    this.iommu = iommu ?? null;
  }

  /** The start time of the step running now (or of the last one): the time of what observers see. */
  get now(): number {
    return this.nowNs;
  }

  /** The end of the latest step: once the execution returned, the run's length in simulated time. */
  get makespan(): number {
    return this.makespanNs;
  }

  beginExecution(index: number): boolean {
    return index === 0;
  }

  choose(point: ChoicePoint): number {
    if (point.kind === 'data') return 0;
    this.settle();
    const ids = point.threadIds;
    const steps = point.steps;
    if (ids === undefined || steps === undefined) throw new ModelInvariantError('timed scheduler: a thread choice without thread ids and steps');
    const exec = this.exec;
    if (exec === null) throw new ModelInvariantError('timed scheduler: attach() the execution before running it');

    const runnableNow: boolean[] = [];
    const wasBlocked: boolean[] = [];
    let best = -1;
    let bestStart = Infinity;
    let bestPriority = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      runnableNow[id] = true;
      if (this.clock[id] === undefined) this.clock[id] = 0;
      wasBlocked[i] = this.runnableBefore[id] !== true && this.readyAt[id] !== undefined;
      if (this.runnableBefore[id] !== true) this.clock[id] = Math.max(this.clock[id], this.lastEnd);
      const ctx = exec.threads[id].ctx;
      const start = this.startOf(id, ctx.cpu, steps[i]);
      const priority = PRIORITY[ctx.kind];
      if (start < bestStart || (start === bestStart && (priority < bestPriority || (priority === bestPriority && id < ids[best])))) {
        best = i;
        bestStart = start;
        bestPriority = priority;
      }
    }
    this.runnableBefore = runnableNow;

    const id = ids[best];
    const s = steps[best];
    const cpu = exec.threads[id].ctx.cpu;
    const ready = this.readyAt[id] ?? 0;
    // An acquire by a thread that could not run at the previous choice waited for the lock (or,
    // rarely, for its CPU): the line comes from the releasing core [approximation].
    const handedOff = s.access === 'acquire' && wasBlocked[best];
    const end = bestStart + this.jittered(this.costOf(s, handedOff));
    this.clock[id] = end;
    this.readyAt[id] = end;
    if (cpu >= 0 && !LATENCY_LABELS.has(s.label)) this.cpuFree[cpu] = end;
    this.nowNs = bestStart;
    this.lastEnd = end;
    this.makespanNs = Math.max(this.makespanNs, end);
    this.last = { thread: id, step: s, ready, start: bestStart, end };
    return best;
  }

  /** Tells the listener about the last step; call once the execution returned. */
  finish(): void {
    this.settle();
  }

  /**
   * A qi_piotlb_inv step does not say its granularity. The IOMMU counts a descriptor by kind just
   * before it yields the step that processes it (Iommu.process, src/hw/iommu.ts), so when that step
   * is chosen a PASID-selective count above what was charged so far means this one is PASID-selective.
   */
  private costOf(s: Step, handedOff: boolean): number {
    if (s.label === 'qi_piotlb_inv' && this.iommu !== null) {
      const issued = this.iommu.stats.invalidations['piotlb-pasid'];
      if (issued > this.pasidCharged) {
        this.pasidCharged = issued;
        return this.model.iommuInvPasid;
      }
    }
    return this.costs.of(s, handedOff);
  }

  private jittered(cost: number): number {
    if (this.rng === null) return cost;
    const factor = 1 + (JITTER * (2 * below(this.rng, JITTER_STEPS + 1) - JITTER_STEPS)) / JITTER_STEPS;
    return Math.round(cost * factor);
  }

  /** When thread `id` could start `s`: its clock, and its CPU's (a wake-up delay needs no CPU). */
  private startOf(id: number, cpu: number, s: Step): number {
    const t = this.clock[id];
    if (cpu < 0 || LATENCY_LABELS.has(s.label)) return t;
    return Math.max(t, this.cpuFree[cpu] ?? 0);
  }

  /** Tells the listener about the last step once it has run. */
  private settle(): void {
    const last = this.last;
    if (last === null) return;
    this.last = null;
    for (const listen of this.stepListeners) listen(last);
  }
}
