/**
 * What watches every execution a job builds (src/job/guard.ts is the watchdog's): it wraps the
 * scheduler of each build, sees the execution before it runs, and can say that a violation is its
 * own — an execution it cut where a design hook never returned.
 */
import type { Choice, Execution, Scheduler, Violation } from '../sim/index.ts';

/**
 * Sees every execution a check builds, in build order: the pilot, the exploration, the shrinker's
 * and the witness search's candidates (and the runs of run, compare and replay).
 */
export interface ExecutionGuard {
  /** The scheduler the next execution is built with (one call per build, in build order). */
  wrap(scheduler: Scheduler): Scheduler;
  /** The execution just built with the scheduler wrap() returned last, before it runs. */
  built(exec: Execution): void;
  /**
   * For a violation the guard recorded itself: the schedule up to and including the step that
   * never returned, and the token label that tells `kptsim replay` to stop there too. Such a
   * violation is not shrunk (every candidate would hang again).
   */
  recorded(violation: Violation): GuardRecord | undefined;
}

export interface GuardRecord {
  readonly choices: readonly Choice[];
  readonly label: (label: string) => string;
}
