/**
 * One execution's world: a kernel booted with the scenario's configuration and the design's hooks,
 * the checkers attached (before any step runs), the workload's threads spawned — in the phase
 * order of src/kernel/model/boot.ts.
 */
import { OracleCache, attachOracles, type Oracles } from '../check/index.ts';
import type { Design } from '../designs/index.ts';
import { installer } from '../designs/index.ts';
import { BootCache, boot } from '../kernel/model/boot.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { Execution, type ExecutionOptions, type Scheduler } from '../sim/index.ts';
import type { Scenario } from './scenario.ts';

export interface World {
  readonly exec: Execution;
  readonly k: Kernel;
  readonly oracles: Oracles;
}

/**
 * What the worlds of one scenario and design share from build to build (one per program:
 * src/job/program.ts): the boot image and buffers (BootCache) and the oracles' scan of the boot
 * page tables (OracleCache). A world built with it is valid until the next build with it.
 */
export interface WorldCache {
  readonly boot: BootCache;
  readonly oracles: OracleCache;
}

export function newWorldCache(): WorldCache {
  return { boot: new BootCache(), oracles: new OracleCache() };
}

/** `cache`: shared only by builds of this scenario and design; the world built before with it must not be used again. */
export function buildWorld(scenario: Scenario, design: Design, scheduler: Scheduler, options: ExecutionOptions = {}, cache?: WorldCache): World {
  const exec = new Execution(scheduler, options);
  const k = boot(exec, {
    config: scenario.config,
    devices: [{ name: 'dev0', sid: 0x100 }],
    install: installer(design),
    release: design.kernel,
    cache: cache?.boot,
  });
  const oracles = attachOracles(k, cache?.oracles);
  scenario.workload.spawn(k, scenario.params);
  return { exec, k, oracles };
}
