/**
 * Injected faults (a data choice marked `fault`: a GFP_ATOMIC allocation failure): option 0 is "no
 * fault", every other option injects one. A fault path is often a fallback that runs only when an
 * allocation fails; a depth-first search that tried option 0 first would reach it only after the
 * whole subtree where the allocation succeeds. So the exhaustive strategies try the faults first,
 * and run a sweep (FaultSweep) that fails each allocation of the first schedule on its own; every
 * strategy stops injecting once an execution has taken the bound (--faults N), counted by FaultCount.
 */
import type { ChoicePoint } from '../sim/index.ts';

/**
 * The faults injected so far in one execution, against the bound (--faults N). One count for every
 * strategy, so that "at most N per execution" means the same whichever explores: the searches ask
 * it for the order of a new fault node, the samplers for a pick.
 */
export class FaultCount {
  private taken = 0;

  constructor(readonly bound: number | undefined) {}

  /** A new execution has injected none. */
  reset(): void {
    this.taken = 0;
  }

  /**
   * Counts `option`, taken at `point`, if it injects a fault. A search counts the forced choices
   * of the path it replays too: the bound is per path, not per new node.
   */
  took(point: ChoicePoint, option: number): void {
    if (point.fault === true && option !== 0) this.taken++;
  }

  /**
   * The options a depth-first search explores at a new fault node, in order: the faults first,
   * then "no fault"; only "no fault" once the path has taken the bound.
   */
  order(optionCount: number): number[] {
    if (this.full) return [0];
    return [...Array.from({ length: optionCount - 1 }, (_, i) => i + 1), 0];
  }

  /**
   * A sampler's answer at `point`, counted. Past the bound a fault point takes "no fault"
   * without calling `draw`, so the generator is not advanced there: the picks after it stay those
   * a seed has always given.
   */
  sample(point: ChoicePoint, draw: () => number): number {
    if (point.fault === true && this.full) return 0;
    const pick = draw();
    this.took(point, pick);
    return pick;
  }

  /** Whether this execution has taken the bound: no further fault. */
  private get full(): boolean {
    return this.bound !== undefined && this.taken >= this.bound;
  }
}

/**
 * Where a sweep is between executions: not begun (undefined), the fault point the next sweep
 * execution fails (1-based, in the order the execution meets them), or over.
 */
export type SweepState = number | 'over' | undefined;

/**
 * The fault sweep of dfs and dpor. Faults first fails the first allocation at once, but a failure
 * further along (the third allocation of the run, alone) waits until the whole subtree below the
 * first failure is explored — under --faults 1, every interleaving after it. So after the first
 * search execution that meets a fault point, the search runs extra executions, one per fault point
 * of the schedule with no fault: that schedule (the thread that ran keeps running while it can,
 * else the first runnable one: both searches' first path) with exactly that allocation failing.
 * They stand outside the search tree, which contains each of them anyway: they change neither what
 * is covered nor the tree's order, only how soon a one-failure fallback is seen. The sweep ends at
 * the first of them that meets fewer fault points than the one it was to fail (the schedule has no
 * more). With --faults 0 there is none; with --faults 1, when the search's first execution begins
 * the sweep, it was the sweep's first (it fails the first point and no other), so the sweep starts
 * at the second point.
 */
export class FaultSweep {
  private state: SweepState;
  /** Whether the current execution is a sweep execution, the fault points it met so far and its last thread. */
  private active = false;
  private met = 0;
  private lastThread = -1;
  /** Whether a search execution has ended (the first one's path is the sweep's schedule). */
  private searched = false;

  constructor(private readonly bound: number | undefined) {
    if (bound === 0) this.state = 'over';
  }

  /** Whether the current execution is a sweep execution. */
  get running(): boolean {
    return this.active;
  }

  /** Whether the execution about to begin is a sweep execution. */
  begin(): boolean {
    this.active = typeof this.state === 'number';
    this.met = 0;
    this.lastThread = -1;
    return this.active;
  }

  /** A choice point of a search execution: the sweep counts its fault points. */
  observe(point: ChoicePoint): void {
    if (point.fault === true) this.met++;
  }

  /** The sweep's answer at `point` (only during a sweep execution). */
  choose(point: ChoicePoint): number {
    if (point.kind === 'data') return point.fault === true && ++this.met === this.state ? 1 : 0;
    const ids = point.threadIds ?? [];
    const stay = ids.indexOf(this.lastThread);
    const pick = stay >= 0 ? stay : 0;
    this.lastThread = ids[pick] ?? -1;
    return pick;
  }

  /**
   * After a sweep execution: on to the next fault point, or over. After a search execution:
   * begins the sweep if that one met a fault point and the sweep has not begun.
   */
  end(): void {
    if (this.active) {
      this.state = this.met < (this.state as number) ? 'over' : (this.state as number) + 1;
      this.active = false;
    } else {
      if (this.state === undefined && this.met > 0) this.state = this.bound === 1 && !this.searched ? 2 : 1;
      this.searched = true;
    }
  }

  get saved(): SweepState {
    return this.state;
  }

  /** From a snapshot taken after `executions` executions. */
  restore(state: SweepState, executions: number): void {
    this.state = this.bound === 0 ? 'over' : state;
    this.searched = executions > 0;
  }
}
