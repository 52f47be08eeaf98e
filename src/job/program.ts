/**
 * A design on a scenario as an explorable Program: every build is a fresh world that stops at its
 * first violation. The identity binds replay tokens to the design, the scenario name and the exact
 * parameters and machine (a changed scenario file makes old tokens refuse to replay).
 */
import type { Design } from '../designs/index.ts';
import type { Program } from '../explore/index.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { buildWorld, newWorldCache } from '../scenario/world.ts';
import { ModelInvariants, SelfCheckingScheduler } from '../check/invariants.ts';

export interface ProgramOptions {
  /** Executions longer than this stop with status 'step-limit' (reported, never claimed complete). */
  readonly maxSteps?: number;
  /** Record the event trace (replay and reports want it; exploration does not). */
  readonly trace?: boolean;
  /** Check the model's own invariants before every step (src/check/invariants.ts; --self-check). */
  readonly selfCheck?: boolean;
}

/**
 * Builds are sequential: each restores the boot image the first one took and reuses the buffers of
 * the one before (WorldCache), so a world is valid until the next build — an exploration never looks
 * back, and Execution results hold no memory. This saves booting, and allocating and collecting the
 * buffers, once per execution.
 */
export function programOf(design: Design, scenario: Scenario, options: ProgramOptions = {}): Program {
  const identity = JSON.stringify({ design: design.name, source: design.source, scenario: scenario.name, params: scenario.params, config: scenario.config });
  const cache = newWorldCache();
  return {
    identity,
    build(scheduler) {
      const checking = options.selfCheck === true ? new SelfCheckingScheduler(scheduler) : null;
      const world = buildWorld(scenario, design, checking ?? scheduler, { stopOnViolation: true, trace: options.trace, maxSteps: options.maxSteps }, cache);
      checking?.attach(new ModelInvariants(world.k));
      return world.exec;
    },
  };
}
