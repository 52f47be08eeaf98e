/**
 * How each in-flight IOMMU walk reached the table it is reading: the justification the oracles
 * judge a table access against.
 *
 * A first-stage walk (src/hw/iommu.ts) reads its tables either from a paging-structure-cache hit
 * (a `walkRead` with fromCache: the cached entry names the table, trusted since the entry was
 * filled) or from memory: the PASID entry's root, then each table the previous level's entry
 * pointed to (trusted since the kernel linked it). An A/D write goes into the table the walk is
 * reading. The walk's events carry no walk identity, but one walk runs inside one simulated thread
 * (the device's) and a thread walks one request at a time, so the context is kept per thread.
 *
 * The rule per memory read of table T at level L:
 *  - the walk was already in T at L (right after the cache hit naming T, or a re-read after a
 *    failed A/D update): keep its justification;
 *  - the thread's previous read was at level L + 1 (its parent entry in this walk): T was reached
 *    through that entry and is justified by its latest link (PgtableShadow.linkStep);
 *  - otherwise the walk starts at T, the PASID entry's root, also justified by its latest link.
 *
 * Subscribe this tracker to the IOMMU before the oracles that read it (attachOracles does), so it
 * has seen each event first. Pure observer: it never changes the model.
 */
import { PAGE_SIZE, type Level, type Pa } from '../hw/address.ts';
import type { IommuObserver, IommuWalkReadEvent } from '../hw/index.ts';
import { ModelInvariantError } from '../sim/index.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { currentThread } from '../kernel/include/linux/mm_types.ts';
import type { PgtableShadow } from './pgtable-shadow.ts';

/** How the walk got to its current table. */
export const VIA_ROOT = 0;
export const VIA_MEMORY = 1;
export const VIA_CACHE = 2;
export type Via = typeof VIA_ROOT | typeof VIA_MEMORY | typeof VIA_CACHE;

/** What the tracker knows of one thread's current walk. */
interface WalkContext {
  /** The table frame's pa the walk is reading (-1 before its first read). */
  table: Pa;
  level: number;
  /** The step the access to `table` is justified by (a link or a cache fill). */
  since: number;
  via: Via;
  /** VIA_MEMORY / VIA_CACHE: where the entry naming `table` was read (for a cached one, originally). */
  viaEntryPa: Pa;
  /** The entry the thread read last, and its level (its children are reached through it). */
  lastEntryPa: Pa;
  lastLevel: number;
}

export class IommuWalkTracker implements IommuObserver {
  /** By thread id + 1 (index 0: reads outside any thread, which only tests make). */
  private readonly walks: (WalkContext | undefined)[] = [];

  constructor(
    private readonly k: Kernel,
    private readonly shadow: PgtableShadow,
  ) {}

  walkRead(e: IommuWalkReadEvent): void {
    const w = this.context();
    if (e.fromCache) {
      if (e.filledAt === null) throw new ModelInvariantError('iommu walkRead from a cache without a fill step');
      w.table = e.tablePa;
      w.level = e.level - 1;
      w.since = e.filledAt;
      w.via = VIA_CACHE;
      w.viaEntryPa = e.entryPa;
      w.lastEntryPa = -1;
      w.lastLevel = -1;
      return;
    }
    if (w.table !== e.tablePa || w.level !== e.level) {
      const throughParent = w.lastLevel === e.level + 1;
      w.table = e.tablePa;
      w.level = e.level;
      w.since = this.shadow.linkStep[e.tablePa / PAGE_SIZE];
      w.via = throughParent ? VIA_MEMORY : VIA_ROOT;
      w.viaEntryPa = throughParent ? w.lastEntryPa : -1;
    }
    w.lastEntryPa = e.entryPa;
    w.lastLevel = e.level;
  }

  /** The current thread's walk, as of the latest event (read it right after the tracker saw it). */
  current(): Readonly<WalkContext> {
    return this.context();
  }

  /**
   * The step an access into `frame` (a table of `level`) by the current walk is justified by: the
   * walk's own justification when it is in that table, else the frame's latest link.
   */
  sinceFor(frame: number, level: Level): number {
    const w = this.context();
    if (w.table === frame * PAGE_SIZE && w.level === level) return w.since;
    return this.shadow.linkStep[frame];
  }

  private context(): WalkContext {
    const t = currentThread(this.k.exec);
    const i = t === null ? 0 : t.id + 1;
    let w = this.walks[i];
    if (w === undefined) {
      w = { table: -1, level: 0, since: -1, via: VIA_ROOT, viaEntryPa: -1, lastEntryPa: -1, lastLevel: -1 };
      this.walks[i] = w;
    }
    return w;
  }
}
