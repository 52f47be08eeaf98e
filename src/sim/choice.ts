/**
 * Every nondeterministic decision of an execution is one typed ChoicePoint: which thread runs next,
 * whether a GFP_ATOMIC allocation fails (an injected fault), whether the IOMMU walks speculatively.
 * A Scheduler answers each one; the Execution records the answer together with what was offered, so
 * a run replays from its choice list and a replay can say exactly where it diverged.
 */
import type { Step } from './step.ts';

export type ChoiceKind = 'thread' | 'data';

export interface ChoicePoint {
  readonly kind: ChoiceKind;
  /** The kernel or hardware event that asks: `schedule`, `alloc_pages GFP_ATOMIC`. */
  readonly reason: string;
  /** Thread names for `thread`, allowed values for `data`. */
  readonly options: readonly string[];
  /** For `thread` choices: each option's pending step, in option order (what DPOR looks at). */
  readonly steps?: readonly Step[];
  /** For `thread` choices: each option's thread id, in option order. */
  readonly threadIds?: readonly number[];
  /** How many choices were made before this one in the execution. */
  readonly index: number;
  /**
   * For `data` choices: an injected fault (a GFP_ATOMIC allocation failure). Option 0 injects
   * none, every other option injects one; strategies bound how many one execution takes
   * (--faults). Not recorded in the Choice: a replay answers it like any data choice.
   */
  readonly fault?: boolean;
}

export interface Choice {
  readonly kind: ChoiceKind;
  readonly reason: string;
  readonly options: readonly string[];
  readonly chosen: number;
}

/** The strategy contract (docs/architecture.md, Strategies): everything that drives an execution implements this. */
export interface Scheduler {
  /** Called before execution `index` starts; false means the exploration is finished. */
  beginExecution(index: number): boolean;
  /** An index into `point.options`, or 'abandon' to cut this execution short. */
  choose(point: ChoicePoint): number | 'abandon';
}
