/**
 * The splat both IOMMU oracles print, laid out like a KASAN report (mm/kasan/report.c, v6.19:
 * title, the access, the context with the device's stack — the IOMMU's walk —, the frame's
 * "Allocated by" and "Freed by" stacks when the execution records them, "The buggy address belongs
 * to the physical page:" and the page dump; docs/reports.md).
 */
import { hex, type Level, type Pa, type Va } from '../hw/address.ts';
import { ENTRY_NAMES } from '../hw/index.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { contextLines, dump_page } from '../kernel/include/linux/mm_types.ts';
import { describe_object_stacks } from '../kernel/mm/kasan/generic.ts';
import type { ViolationKind } from '../sim/index.ts';
import { VIA_CACHE, VIA_MEMORY, type IommuWalkTracker } from './iommu-walk.ts';
import { STALE_NONE, atStep, freePath, tableName, type PgtableShadow, type Staleness } from './pgtable-shadow.ts';

/** The fixed `page dumped because:` phrase, after KASAN's "kasan: bad access detected". */
export const IOMMU_DUMP_REASON = 'iommu: bad access detected';

export interface IommuAccessReport {
  readonly kind: ViolationKind;
  /** "use-after-free" or "write-after-free", as the title says it. */
  readonly what: string;
  readonly pasid: number;
  readonly va: Va;
  /** The first detail line's verb phrase: "Read of size 8", "Write of size 8". */
  readonly access: string;
  /** Where the access went. */
  readonly pa: Pa;
  readonly pfn: number;
  /** "as a PTE table", "in a PMD table". */
  readonly role: string;
  /** Appended to the access line (", Accessed bit set"), or empty. */
  readonly effect: string;
  /** The level of the table accessed (1: PTE table). */
  readonly level: Level;
}

/** Reports one IOMMU access to a freed page table, naming how the walk got there and who freed it. */
export function reportIommuAccess(k: Kernel, shadow: PgtableShadow, walk: IommuWalkTracker, r: IommuAccessReport): void {
  const levels = k.config.pagingLevels;
  const w = walk.current();
  let through: string;
  if (w.via === VIA_CACHE) {
    through = `through a cached ${ENTRY_NAMES[(w.level + 1) as 1 | 2 | 3 | 4 | 5]} (read from pa ${hex(w.viaEntryPa)}) filled at step ${w.since}`;
  } else if (w.via === VIA_MEMORY) {
    through = `through the ${ENTRY_NAMES[(w.level + 1) as 1 | 2 | 3 | 4 | 5]} at pa ${hex(w.viaEntryPa)} in memory (the table was last linked ${linkText(w.since)})`;
  } else {
    through = `from the PASID entry's first-stage root (${tableName(w.level, levels)} last linked ${linkText(w.since)})`;
  }
  const devices = k.devices.filter((d) => d.pasid === r.pasid).map((d) => d.name);
  const who = devices.length > 0 ? devices.join(', ') : 'no device bound';
  const freed = shadow.freeRecord(r.pfn);
  const site = `${tableName(r.level, levels)} table freed in ${freed === undefined ? 'an unknown place' : freePath(freed)}`;
  k.exec.report(r.kind, `BUG: IOMMU ${r.what} in iommu first-stage walk (PASID ${hex(r.pasid)}, ${who})`, [
    `${r.access} at pa ${hex(r.pa)} (pfn ${hex(r.pfn)}) ${r.role} for va ${hex(r.va)}${r.effect} ${through}`,
    ...shadow.describeFrame(r.pfn),
    ...contextLines(k.exec),
    ...describe_object_stacks(k, r.pfn),
    'The buggy address belongs to the physical page:',
    ...dump_page(k.pages, r.pfn, IOMMU_DUMP_REASON),
  ], { site, pfn: r.pfn });
}

function linkText(step: number): string {
  return step < 0 ? 'never' : atStep(step);
}

/**
 * The judgement both IOMMU oracles make: an access to frame `pfn` as a table of `level` by the
 * current walk is stale (staleness() against the walk's justification), and each (frame, reason)
 * is reported once.
 */
export class StaleAccesses {
  /** Bit `staleness` set per frame once reported. */
  private readonly reported: Uint8Array;
  /** Violations reported so far. */
  count = 0;

  constructor(
    k: Kernel,
    private readonly shadow: PgtableShadow,
    private readonly walk: IommuWalkTracker,
  ) {
    this.reported = new Uint8Array(k.pages.frames);
  }

  /** Why the access uses freed memory, or STALE_NONE when it does not or was reported already. */
  newlyStale(pfn: number, level: Level): Staleness {
    if (pfn >= this.reported.length) return STALE_NONE;
    const stale = this.shadow.staleness(pfn, this.walk.sinceFor(pfn, level));
    if (stale === STALE_NONE || (this.reported[pfn] & stale) !== 0) return STALE_NONE;
    this.reported[pfn] |= stale;
    this.count++;
    return stale;
  }
}
