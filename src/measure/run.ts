/**
 * `kptsim run`: one execution of a design on a scenario under a seeded random schedule, with the
 * event trace and the counts that say what happened. Pure: the CLI renders the record.
 */
import type { Design } from '../designs/index.ts';
import { RandomScheduler } from '../explore/index.ts';
import { nr_free_pages } from '../kernel/buddy.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { PageTable } from '../kernel/page.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { buildWorld } from '../scenario/world.ts';
import type { ExecutionStatus, TraceEvent, Violation } from '../sim/index.ts';

export interface RunStats {
  readonly threads: number;
  readonly choices: number;
  readonly iommuWalks: number;
  readonly iommuFaults: number;
  readonly iommuInvalidations: Readonly<Record<string, number>>;
  readonly workExecutions: number;
  readonly freePages: number;
  readonly pageTablePages: number;
}

export interface RunResult {
  readonly version: 1;
  readonly design: string;
  readonly scenario: string;
  readonly seed: number;
  readonly status: ExecutionStatus;
  readonly steps: number;
  readonly violations: readonly Violation[];
  readonly stats: RunStats;
  readonly trace: readonly TraceEvent[];
}

export interface RunOptions {
  readonly seed: number;
  readonly maxSteps?: number;
}

export function run(design: Design, scenario: Scenario, options: RunOptions): RunResult {
  const scheduler = new RandomScheduler(options.seed, 1);
  scheduler.beginExecution(0);
  const { exec, k } = buildWorld(scenario, design, scheduler, { trace: true, maxSteps: options.maxSteps });
  const result = exec.run();
  return {
    version: 1,
    design: design.name,
    scenario: scenario.name,
    seed: options.seed,
    status: result.status,
    steps: result.steps,
    violations: result.violations,
    stats: statsOf(k, result.choices.length),
    trace: exec.events ?? [],
  };
}

function statsOf(k: Kernel, choices: number): RunStats {
  let pageTablePages = 0;
  for (let pfn = 0; pfn < k.mem.frames; pfn++) if (PageTable(k.pages, pfn)) pageTablePages++;
  return {
    threads: k.exec.threads.length,
    choices,
    iommuWalks: k.iommu.stats.walks,
    iommuFaults: k.iommu.stats.faults,
    iommuInvalidations: { ...k.iommu.stats.invalidations },
    workExecutions: k.system_wq.executions,
    freePages: nr_free_pages(k),
    pageTablePages,
  };
}
