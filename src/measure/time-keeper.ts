/**
 * Simulated time for one execution, apart from any scheduling policy: per-thread clocks, CPU
 * occupancy, wake-ups, the cost of each step (cost model, jitter). Whoever picks the threads — the
 * TimedScheduler (earliest first) or a replay (the recorded choices) — offers the keeper the
 * runnable threads at each thread choice and tells it which one runs; the keeper stamps that step.
 *
 * Rules (the same for every policy):
 *  - a step of thread t on CPU c starts at max(t's clock, the time c is free, the start of the step
 *    before it in the schedule) and t's clock advances by the step's cost (StepCosts); a thread on
 *    a CPU occupies it for the step, so two threads pinned to one CPU never overlap; devices
 *    (cpu < 0) have no CPU; steps whose cost is a wake-up delay (LATENCY_LABELS) do not occupy it;
 *  - waking: a thread that was not runnable at the previous choice and is now was made runnable by
 *    the step that ran in between (a release, a queue_work, the end of a DMA): it continues at
 *    max(its clock, the end of that step). [Simplification: no run-queue, no preemption inside a
 *    step; a thread kept off its CPU by another's atomic section waits the same way.]
 * The third term of the start never binds under the earliest-first policy (its pick starts no
 * earlier than the step before); under a replay it keeps start times in schedule order, so
 * observers may always read `now` as the time of the event they see.
 *
 * Seed. With seed 0 every step costs exactly what the cost model says. A seed > 0 draws each
 * step's cost uniformly within ±JITTER of that figure (rounded to a ns) from a generator of the
 * seed alone, one draw per step in schedule order: real costs vary (cache state, contention).
 */
import type { Iommu } from '../hw/iommu.ts';
import { below, executionRng, type RandomGenerator } from '../explore/index.ts';
import { ModelInvariantError, type Execution, type KernelContext, type Step, type TraceEvent } from '../sim/index.ts';
import { LATENCY_LABELS, StepCosts, type CostModel } from './cost-model.ts';

/** The most a seeded run moves a step's cost away from the model's figure, as a fraction of it. */
export const JITTER = 0.2;
const JITTER_STEPS = 1000;

/** What ran: told to the step listeners after the step's cost is known. */
export interface TimedStep {
  readonly thread: number;
  readonly step: Step;
  /** The end of the thread's previous step: start - ready is the time it waited (blocked, CPU busy, wake-up). */
  readonly ready: number;
  readonly start: number;
  readonly end: number;
}

/** What observers of simulated time (metrics, timeline) need: the current time and the steps. */
export interface StepClock {
  /** The start time of the step running now (or of the last one). */
  readonly now: number;
  /** Told once per step that ran, in execution order, once the next choice (or finish) comes. */
  readonly stepListeners: ((s: TimedStep) => void)[];
}

/** A trace event at the start time of the step that logged it (boot: 0, quiescence: the end). */
export interface TimedTraceEvent extends TraceEvent {
  readonly timeNs: number;
}

/** Each step's start time, by step number (index 0: boot), to stamp a trace with simulated time. */
export class StepStarts {
  private readonly starts: number[] = [0];

  constructor(clock: StepClock) {
    clock.stepListeners.push((s) => this.starts.push(s.start));
  }

  /** When what `thread` logged or reported at `step` happened: that step's start; quiescence checks at `end`, the run's end. */
  timeOf(step: number, thread: string, end: number): number {
    return thread === 'quiescence' ? end : (this.starts[step] ?? end);
  }

  stamp(events: readonly TraceEvent[], end: number): TimedTraceEvent[] {
    return events.map((e) => ({ ...e, timeNs: this.timeOf(e.step, e.thread, end) }));
  }
}

export class TimeKeeper implements StepClock {
  private readonly costs: StepCosts;
  private exec: Execution | null = null;
  private iommu: Iommu | null = null;
  private readonly clock: number[] = [];
  /** Each thread's clock at the end of its own last step, before any wake-up moved it on. */
  private readonly readyAt: number[] = [];
  /** By thread id: runnable at the previous choice (a thread runnable now but not then was woken). */
  private runnableBefore: boolean[] = [];
  private readonly cpuFree: number[] = [];
  private nowNs = 0;
  private lastEnd = 0;
  private makespanNs = 0;
  /** The step that ran last, told to the listeners at the next choice (or finish). */
  private last: TimedStep | null = null;
  /** PASID-selective invalidation descriptors already charged (see costOf). */
  private pasidCharged = 0;
  private readonly rng: RandomGenerator | null;
  /** The last offer: thread ids, their steps, their possible starts, and which were woken. */
  private offeredIds: readonly number[] = [];
  private offeredSteps: readonly Step[] = [];
  private starts: number[] = [];
  private woken: boolean[] = [];
  readonly stepListeners: ((s: TimedStep) => void)[] = [];

  constructor(
    readonly model: CostModel,
    readonly seed = 0,
  ) {
    this.costs = new StepCosts(model);
    this.rng = seed === 0 ? null : executionRng(seed, 0);
  }

  /** Gives the keeper the execution's threads (for their CPU) and its IOMMU (for costs). */
  attach(exec: Execution, iommu?: Iommu): void {
    this.exec = exec;
    this.iommu = iommu ?? null;
  }

  get now(): number {
    return this.nowNs;
  }

  /** The end of the latest step: once the execution returned, the run's length in simulated time. */
  get makespan(): number {
    return this.makespanNs;
  }

  /** The kernel context of thread `id` (its CPU and kind). */
  context(id: number): KernelContext {
    const exec = this.exec;
    if (exec === null) throw new ModelInvariantError('time keeper: attach() the execution before running it');
    return exec.threads[id].ctx;
  }

  /**
   * A thread choice offers threads `ids` with their pending `steps`: notes which were woken since
   * the previous choice (moving their clocks on) and returns when each could start, in option order.
   */
  offer(ids: readonly number[], steps: readonly Step[]): readonly number[] {
    this.settle();
    const runnableNow: boolean[] = [];
    const starts: number[] = [];
    const woken: boolean[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      runnableNow[id] = true;
      if (this.clock[id] === undefined) this.clock[id] = 0;
      woken[i] = this.runnableBefore[id] !== true && this.readyAt[id] !== undefined;
      if (this.runnableBefore[id] !== true) this.clock[id] = Math.max(this.clock[id], this.lastEnd);
      starts[i] = this.startOf(id, this.context(id).cpu, steps[i]);
    }
    this.runnableBefore = runnableNow;
    this.offeredIds = ids;
    this.offeredSteps = steps;
    this.starts = starts;
    this.woken = woken;
    return starts;
  }

  /** Option `i` of the last offer runs: stamps its step (start, cost, end). */
  run(i: number): TimedStep {
    const id = this.offeredIds[i];
    const s = this.offeredSteps[i];
    if (id === undefined || s === undefined) throw new ModelInvariantError(`time keeper: option ${i} was not offered`);
    const cpu = this.context(id).cpu;
    const ready = this.readyAt[id] ?? 0;
    const start = Math.max(this.starts[i], this.nowNs);
    // An acquire by a thread that could not run at the previous choice waited for the lock (or,
    // rarely, for its CPU): the line comes from the releasing core [approximation].
    const handedOff = s.access === 'acquire' && this.woken[i];
    const end = start + this.jittered(this.costOf(s, handedOff));
    this.clock[id] = end;
    this.readyAt[id] = end;
    if (cpu >= 0 && !LATENCY_LABELS.has(s.label)) this.cpuFree[cpu] = end;
    this.nowNs = start;
    this.lastEnd = end;
    this.makespanNs = Math.max(this.makespanNs, end);
    const timed: TimedStep = { thread: id, step: s, ready, start, end };
    this.last = timed;
    return timed;
  }

  /** Tells the listeners about the last step; call once the execution returned. */
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

  private settle(): void {
    const last = this.last;
    if (last === null) return;
    this.last = null;
    for (const listen of this.stepListeners) listen(last);
  }
}
