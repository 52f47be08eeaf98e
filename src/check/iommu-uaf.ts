/**
 * Oracle `iommu-use-after-free`: the IOMMU walks a freed page table (Dave Hansen's review of v3,
 * <d646d434-f680-47a3-b6b9-26f4538c1209@intel.com>: a stale paging-structure-cache entry makes the IOMMU keep walking a freed
 * and reused page).
 *
 * Every IOMMU `walkRead` names a table the IOMMU reads (from memory) or trusts (through a cached
 * entry). Judged against how the walk got there (iommu-walk.ts) and the table's life
 * (pgtable-shadow.ts), the access uses freed memory when the frame:
 *  - is free now; or
 *  - was freed after its justification: after the cache entry naming it was filled (a stale
 *    cached entry, the vfree → huge vmap case), or, for a walk through memory, after the latest
 *    link of the frame as a table (a stale parent entry still in memory: x86 memory hot-remove
 *    frees a table before clearing the entry that points to it,
 *    docs/kernel/free-sites.md, Hot-remove order).
 * An unlinked table that is not yet freed is no violation: that is the deferred-free window.
 *
 * Reported once per (frame, reason), reason being "free now" or "freed and reused", in KASAN
 * style (iommu-report.ts). Pure observer: never changes the model.
 */
import { PAGE_SIZE, tableIndex, type Level } from '../hw/address.ts';
import type { IommuObserver, IommuWalkReadEvent } from '../hw/index.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { StaleAccesses, reportIommuAccess } from './iommu-report.ts';
import type { IommuWalkTracker } from './iommu-walk.ts';
import { STALE_NONE, tableName, type PgtableShadow } from './pgtable-shadow.ts';

export class IommuUseAfterFree implements IommuObserver {
  private readonly stale: StaleAccesses;

  constructor(
    private readonly k: Kernel,
    private readonly shadow: PgtableShadow,
    private readonly walk: IommuWalkTracker,
  ) {
    this.stale = new StaleAccesses(k, shadow, walk);
  }

  /** Violations reported so far. */
  get count(): number {
    return this.stale.count;
  }

  walkRead(e: IommuWalkReadEvent): void {
    const pfn = e.tablePa / PAGE_SIZE;
    // A cached entry at level L names a table of level L - 1; a memory read is in a table of its level.
    const level = (e.fromCache ? e.level - 1 : e.level) as Level;
    if (this.stale.newlyStale(pfn, level) === STALE_NONE) return;
    const pa = e.fromCache ? e.tablePa + 8 * tableIndex(e.va, level) : e.entryPa;
    reportIommuAccess(this.k, this.shadow, this.walk, {
      kind: 'iommu-use-after-free',
      what: 'use-after-free',
      pasid: e.pasid,
      va: e.va,
      access: 'Read of size 8',
      pa,
      pfn,
      role: `as a ${tableName(level, this.k.config.pagingLevels)} table`,
      effect: '',
      level,
    });
  }
}
