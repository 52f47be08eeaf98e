/**
 * The oracles: observers of the kernel's and the IOMMU's event streams that report violations of
 * the fixed vocabulary (docs/architecture.md, Violation kinds). They never change the model.
 *
 * One module here per kind that needs an outside view: iommu-uncovered-free (iommu-hazard.ts: a
 * table the IOMMU could reach freed before a completed covering invalidation, judged at the free),
 * iommu-use-after-free (iommu-uaf.ts),
 * iommu-write-after-free (iommu-waf.ts), leak (leak.ts), accounting (accounting.ts),
 * flags-corruption (flags-corruption.ts). The kinds Linux detects itself are reported by the
 * modelled kernel where Linux reports them, with the same checks: bad-page (the allocator's
 * free/alloc checks, src/kernel/mm/page_alloc.ts), use-after-free (KASAN, src/kernel/mm/kasan/generic.ts),
 * sleep-in-atomic (might_sleep, src/kernel/kernel/sched/core.ts), list-corruption (CONFIG_DEBUG_LIST,
 * src/kernel/include/linux/list.ts), deadlock (lockdep and spinlock recursion in src/kernel, and a stuck
 * execution in src/sim), assertion (WARNs in src/kernel, and a design hook that throws, caught by
 * the explorer's driver).
 */
import { ModelInvariantError } from '../sim/index.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { IommuHazard } from './iommu-hazard.ts';
import { IommuUseAfterFree } from './iommu-uaf.ts';
import { IommuWalkTracker } from './iommu-walk.ts';
import { IommuWriteAfterFree } from './iommu-waf.ts';
import { PgtableShadow, type BootTablesImage } from './pgtable-shadow.ts';
import { LeakOracle } from './leak.ts';
import { AccountingOracle } from './accounting.ts';
import { FlagsCorruptionOracle } from './flags-corruption.ts';

export * from './pgtable-shadow.ts';
export * from './iommu-walk.ts';
export * from './iommu-report.ts';
export * from './iommu-hazard.ts';
export * from './iommu-uaf.ts';
export * from './iommu-waf.ts';
export * from './leak.ts';
export * from './accounting.ts';
export * from './flags-corruption.ts';

export interface Oracles {
  readonly shadow: PgtableShadow;
  readonly walks: IommuWalkTracker;
  readonly hazard: IommuHazard;
  readonly iommuUseAfterFree: IommuUseAfterFree;
  readonly iommuWriteAfterFree: IommuWriteAfterFree;
  readonly leak: LeakOracle;
  readonly accounting: AccountingOracle;
  readonly flags: FlagsCorruptionOracle;
}

/**
 * What the attaches to kernels booted the same way share (one per explored program,
 * src/job/program.ts): the shadow's scan of the boot page tables, taken by the first attach.
 */
export class OracleCache {
  bootTables: BootTablesImage | null = null;
}

/**
 * Subscribes the oracles to a freshly booted kernel. Call it right after boot(), before any thread
 * has run: the shadow scans the boot page tables then and learns every later table from the
 * kernel's events. The walk tracker is subscribed before the oracles that read it. `cache`: shared
 * only by kernels booted with the same configuration and design.
 */
export function attachOracles(k: Kernel, cache?: OracleCache): Oracles {
  if (k.exec.stepCount !== 0) {
    throw new ModelInvariantError(`attachOracles at step ${k.exec.stepCount}: the oracles must be attached before any thread runs`);
  }
  const shadow = new PgtableShadow(k, cache?.bootTables ?? undefined);
  if (cache !== undefined && cache.bootTables === null) cache.bootTables = shadow.bootTables();
  const walks = new IommuWalkTracker(k, shadow);
  const hazard = new IommuHazard(k, shadow);
  const iommuUseAfterFree = new IommuUseAfterFree(k, shadow, walks);
  const iommuWriteAfterFree = new IommuWriteAfterFree(k, shadow, walks);
  const leak = new LeakOracle(k);
  const accounting = new AccountingOracle(k);
  const flags = new FlagsCorruptionOracle(k);
  shadow.listeners.push(hazard);
  k.observers.push(shadow, leak, flags);
  k.iommu.observers.push(walks, hazard, iommuUseAfterFree, iommuWriteAfterFree);
  k.exec.stepListeners.push((t, s) => hazard.step(t, s));
  return { shadow, walks, hazard, iommuUseAfterFree, iommuWriteAfterFree, leak, accounting, flags };
}
