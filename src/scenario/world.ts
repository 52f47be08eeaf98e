/**
 * One execution's world: a kernel booted with the scenario's configuration and the design's hooks,
 * the checkers attached (before any step runs), the workload's threads spawned — in the phase
 * order of boot.ts.
 */
import { attachOracles } from '../check/index.ts';
import type { Design } from '../designs/index.ts';
import { installer } from '../designs/index.ts';
import type { PhysMem } from '../hw/index.ts';
import { boot } from '../kernel/boot.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { Execution, type ExecutionOptions, type Scheduler } from '../sim/index.ts';
import type { Scenario } from './scenario.ts';

export interface World {
  readonly exec: Execution;
  readonly k: Kernel;
}

/**
 * `memory`: a previous world's physical memory to reuse (see BootOptions.memory); that world must
 * not be used again.
 */
export function buildWorld(scenario: Scenario, design: Design, scheduler: Scheduler, options: ExecutionOptions = {}, memory?: PhysMem): World {
  const exec = new Execution(scheduler, options);
  const k = boot(exec, {
    config: scenario.config,
    devices: [{ name: 'dev0', sid: 0x100 }],
    install: installer(design),
    memory,
  });
  attachOracles(k);
  scenario.workload.spawn(k, scenario.params);
  return { exec, k };
}
