/**
 * A witness for a hazard: from an `iommu-uncovered-free` finding (a table the IOMMU could reach,
 * freed before a completed covering invalidation), search for a concrete execution in which the
 * device does walk the freed frame — an `iommu-use-after-free` or `iommu-write-after-free` at the
 * same site, like the demo — so a reviewer sees the prediction come true.
 *
 * The search is steered at the window the hazard names (explore/steered.ts), alternating two plans
 * with fresh random streams:
 *  - replay the hazard's execution up to the step that freed the table, then run the devices first
 *    (their next walk goes through whatever entries the IOMMU cached before the unlink);
 *  - replay it up to a step where the IOMMU cached entries for a device (or start afresh), run the
 *    freeing thread first and hold the devices back until the hazard is reported again, then run
 *    the devices first (the free precedes any late invalidation, the device kept its probes).
 * It stops at the first witness or after `maxRuns` executions. Finding none proves nothing: the
 * hazard stands on its own (VT-d may walk and cache at any time); the witness only illustrates it.
 */
import type { Choice, Execution } from '../sim/index.ts';
import { ReplayScheduler, SteeredScheduler, encodeToken, type Program } from '../explore/index.ts';
import type { Witness } from './check-result.ts';

export interface HazardFinding {
  readonly site?: string;
  /** The thread that freed the table. */
  readonly thread: string;
  /** The step at which the hazard was reported (the table's free) in `choices`' execution. */
  readonly step: number;
  readonly choices: readonly Choice[];
}

const WITNESS_KINDS: ReadonlySet<string> = new Set(['iommu-use-after-free', 'iommu-write-after-free']);

export function searchWitness(program: Program, hazard: HazardFinding, maxRuns: number, label: string, seed = 0): Witness {
  const plans = witnessPlans(program, hazard);
  for (let run = 0; run < maxRuns; run++) {
    const plan = plans[run % plans.length];
    let exec: Execution | null = null;
    const reported = () => exec !== null && exec.violations.some((v) => v.kind === 'iommu-uncovered-free' && v.site === hazard.site);
    const scheduler = new SteeredScheduler({
      prefix: plan.prefix,
      favoured: (id) => exec?.threads[id]?.ctx.kind === 'device',
      triggered: plan.untilFree ? reported : () => true,
      ...(plan.untilFree ? { leading: (id: number) => exec?.threads[id]?.name === hazard.thread } : {}),
      seed,
      run,
    });
    scheduler.beginExecution(0);
    exec = program.build(scheduler);
    const result = exec.run();
    const found = result.violations.find((v) => WITNESS_KINDS.has(v.kind) && v.site === hazard.site);
    if (found !== undefined) return { replay: encodeToken(program.identity, result.choices, label), kind: found.kind, message: found.title, runs: run + 1 };
  }
  return { replay: null, runs: maxRuns };
}

interface WitnessPlan {
  readonly prefix: readonly Choice[];
  /**
   * Until the hazard is reported (the free), run the freeing thread first and hold the devices back;
   * then run the devices first.
   */
  readonly untilFree: boolean;
}

/**
 * The plans, tried in turn: the hazard's own execution up to the free, then the devices first; then
 * its execution up to each step at which the IOMMU filled its caches for a device (latest first),
 * then the freeing thread first and the devices held back until the free (so the free comes before
 * a late invalidation, and the devices keep their spare probes), then the devices first; then a
 * random start steered the same way.
 */
function witnessPlans(program: Program, hazard: HazardFinding): WitnessPlan[] {
  const free = threadChoiceIndex(hazard.choices, hazard.step);
  const plans: WitnessPlan[] = [{ prefix: hazard.choices.slice(0, free + 1), untilFree: false }];
  // Replay the hazard's execution once to learn which step each thread choice ran.
  const labels: string[] = [];
  const replay = new ReplayScheduler(hazard.choices);
  replay.beginExecution(0);
  program
    .build({
      beginExecution: () => true,
      choose: (point) => {
        const pick = replay.choose(point);
        if (point.kind === 'thread' && point.steps !== undefined) labels[point.index] = point.steps[pick].label;
        return point.index >= free ? 'abandon' : pick;
      },
    })
    .run();
  for (let i = free; i >= 0; i--) if (labels[i] === CACHE_FILL) plans.push({ prefix: hazard.choices.slice(0, i + 1), untilFree: true });
  plans.push({ prefix: [], untilFree: true });
  return plans;
}

/** The IOMMU's step that fills its IOTLB and paging-structure caches after a walk (src/hw/iommu.ts). */
const CACHE_FILL = 'iommu_cache_fill';

/** The index in `choices` of the thread choice that ran step `step` (steps count from 1). */
function threadChoiceIndex(choices: readonly Choice[], step: number): number {
  let steps = 0;
  for (let i = 0; i < choices.length; i++) if (choices[i].kind === 'thread' && ++steps === step) return i;
  return choices.length - 1;
}
