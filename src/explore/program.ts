/**
 * What an explorer explores: a factory of fresh, deterministic worlds. Explore stays agnostic of
 * the kernel (docs/architecture.md, Strategies): a design + scenario pair, or a ten-line test program, is a Program.
 */
import type { Execution, Scheduler } from '../sim/index.ts';

export interface Program {
  /**
   * Builds a fresh world driven by `scheduler` and returns its Execution, ready to run. Nothing
   * may survive from one build to the next: the same choices must give the same execution.
   */
  build(scheduler: Scheduler): Execution;
  /** Extra identity for replay tokens (e.g. design + scenario name and a hash of the scenario). */
  readonly identity: string;
}
