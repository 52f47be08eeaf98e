/**
 * Oracle `iommu-write-after-free`: the IOMMU sets Accessed/Dirty bits in an entry of a freed page
 * table — the write-after-free Dave Hansen pointed out in the v3 review
 * (<d646d434-f680-47a3-b6b9-26f4538c1209@intel.com>; docs/kernel/iommu.md):
 * through a stale cached entry the walker reaches a freed, reused page and, finding a present
 * entry without A, writes A into it (SDM §4.8; src/hw/walker.ts).
 *
 * Every IOMMU `adWrite` names the entry written; the frame holding it must be a live table by the
 * use-after-free oracle's rules (iommu-uaf.ts): not free now, and not freed since the link or
 * cache fill by which this walk reached it. Reported once per (frame, reason). Pure observer.
 */
import { PAGE_SIZE, type Level } from '../hw/address.ts';
import type { IommuAdWriteEvent, IommuObserver } from '../hw/index.ts';
import { LO_ACCESSED, LO_DIRTY } from '../hw/index.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { StaleAccesses, reportIommuAccess } from './iommu-report.ts';
import type { IommuWalkTracker } from './iommu-walk.ts';
import { STALE_NONE, tableName, type PgtableShadow } from './pgtable-shadow.ts';

export class IommuWriteAfterFree implements IommuObserver {
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

  adWrite(e: IommuAdWriteEvent): void {
    const pfn = Math.floor(e.entryPa / PAGE_SIZE);
    if (this.stale.newlyStale(pfn, e.level) === STALE_NONE) return;
    reportIommuAccess(this.k, this.shadow, this.walk, {
      kind: 'iommu-write-after-free',
      what: 'write-after-free',
      pasid: e.pasid,
      va: e.va,
      access: 'Write of size 8',
      pa: e.entryPa,
      pfn,
      role: `in a ${tableName(e.level as Level, this.k.config.pagingLevels)} table`,
      effect: `, ${adBits(Number(e.bits))}`,
      level: e.level as Level,
    });
  }
}

function adBits(bits: number): string {
  const a = (bits & LO_ACCESSED) !== 0;
  const d = (bits & LO_DIRTY) !== 0;
  return a && d ? 'Accessed and Dirty bits set' : d ? 'Dirty bit set' : 'Accessed bit set';
}
