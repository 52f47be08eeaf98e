/**
 * A scheduler steered at a window: it replays a recorded prefix of choices exactly; then, until a
 * trigger fires, it may run some leading threads first and hold the favoured ones back while
 * anything else can run; from the trigger on it runs the favoured threads whenever one is
 * runnable. Every other choice is uniform from (seed, run). What the favoured threads and the trigger are is the caller's (the
 * witness search, src/job/witness.ts: the SVA devices, and "the hazard was reported").
 *
 * Not an exploration strategy: it never claims coverage; it is a directed test, like a targeted
 * schedule in a kernel stress test, used where a predictive oracle has named the window to aim at.
 */
import type { Choice, ChoicePoint, Scheduler } from '../sim/index.ts';
import { below, executionRng, type RandomGenerator } from './rng.ts';

export interface SteeringPlan {
  /** Replayed exactly, choice for choice (a prefix of a recorded execution). */
  readonly prefix: readonly Choice[];
  /** Threads to run first once triggered. */
  readonly favoured: (threadId: number) => boolean;
  /** Whether the window is open now (asked at each choice after the prefix). */
  readonly triggered: () => boolean;
  /**
   * Before the trigger: run these threads first, and the favoured ones only when nothing else can
   * run. Absent: no preference before the trigger.
   */
  readonly leading?: (threadId: number) => boolean;
  /** The random stream for everything else: (seed, run). */
  readonly seed: number;
  readonly run: number;
}

export class SteeredScheduler implements Scheduler {
  private readonly rng: RandomGenerator;

  constructor(private readonly plan: SteeringPlan) {
    this.rng = executionRng(plan.seed, plan.run);
  }

  beginExecution(index: number): boolean {
    return index === 0;
  }

  choose(point: ChoicePoint): number {
    const recorded = this.plan.prefix[point.index];
    if (recorded !== undefined && recorded.options.length === point.options.length && recorded.reason === point.reason) return recorded.chosen;
    if (point.options.length === 1) return 0;
    const ids = point.threadIds;
    if (point.kind === 'thread' && ids !== undefined) {
      const { favoured, leading } = this.plan;
      const tiers = this.plan.triggered() ? [favoured] : leading === undefined ? [] : [leading, (id: number) => !favoured(id)];
      for (const tier of tiers) {
        const pick = ids.flatMap((id, i) => (tier(id) ? [i] : []));
        if (pick.length > 0) return pick[below(this.rng, pick.length)];
      }
    }
    return below(this.rng, point.options.length);
  }
}
