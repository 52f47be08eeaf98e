/**
 * The oracles' shadow of page-table-page lives: per frame, whether it is a live page table now, of
 * which level, when it was last linked into a table tree, when it was last freed and by whom.
 *
 * A table's life, as the kernel events tell it (src/kernel/model/observer.ts):
 *  - begins when the kernel writes a present non-leaf entry pointing to it (`pmd_populate_kernel`,
 *    `pud_populate`, ...: pgtableWrite with level > 1 and PS clear): it is then a table of level
 *    `level - 1`, linked at that step. Re-linking (pgd_alloc() copying the kernel PGD entries into
 *    a process PGD) moves `linkStep` forward: it is the step of the latest link;
 *  - does NOT end when its parent entry is cleared: an unlinked table may sit allocated until it is
 *    freed — the deferred-free window of the fix (docs/kernel/deferred-free.md, The deferred free) is exactly that state;
 *  - ends when its frame goes back to the page allocator (pagesFreed): `lastFreeStep` is set, the
 *    freeing thread and where it was are kept for the report, and the frame is no table any more.
 *
 * Roots. init_mm's tables exist before any event: at attach time the tree under init_mm's PGD is
 * scanned in memory (the boot tables: linkStep 0). A process PGD has no parent entry; it becomes a
 * live top-level table when the kernel writes its first entry into it (pgd_alloc()'s copy of the
 * kernel half, clone_pgd_range), provided the frame is allocated then. This is sound for the
 * oracles: a PGD is written before any PASID entry can name it (iommu_sva_bind_device() takes an
 * mm whose pgd_alloc() has returned), and a write into a free frame never makes it a table. The
 * alternative — becoming a root when the IOMMU first walks it from a PASID entry — would bless a
 * freed PGD that a stale PASID entry still names.
 *
 * Limits: a frame freed while still linked, then reallocated as a table and linked elsewhere, has
 * a fresh linkStep, so a later memory walk through the stale old parent is not judged stale (only
 * the cached-entry rule catches that reuse). Tables linked by anything other than the kernel's
 * entry writers after attach (none in the model) would be unknown to the shadow.
 *
 * Storage is typed arrays indexed by pfn, so each event costs a few array writes.
 */
import { PAGE_SIZE, PTRS_PER_TABLE, type Level, type Pa } from '../hw/address.ts';
import { entry_links_table, entry_pa } from '../hw/index.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import type { KernelObserver } from '../kernel/model/observer.ts';
import { SHADOW_FREE, currentThread, type Page } from '../kernel/include/linux/mm_types.ts';
import type { Thread } from '../sim/index.ts';

/** Why an access to a frame as a page table is a use of freed memory. */
export const STALE_NONE = 0;
/** The frame is free now (in the buddy allocator, poisoned). */
export const STALE_FREE = 1;
/** The frame was freed after the link or cache fill that justified the access, and is allocated again. */
export const STALE_REUSED = 2;
export type Staleness = typeof STALE_NONE | typeof STALE_FREE | typeof STALE_REUSED;

/**
 * Who freed a frame, as the report names them: the thread, its CPU and where it was. The full stack
 * is the stack depot's, when the execution records stacks (src/sim/stack.ts).
 */
export interface FreeRecord {
  readonly step: number;
  readonly order: number;
  readonly thread: string;
  readonly cpu: number;
  /** The label of the step that freed it. */
  readonly label: string;
  /** The hooked functions the thread was inside at the free, outermost first (Thread.frames). */
  readonly frames: readonly string[];
}

/** Where a frame is freed, as a path of hooked functions (or the freeing step when there is none): a finding's site. */
export function freePath(r: Pick<FreeRecord, 'frames' | 'label'>): string {
  return r.frames.length > 0 ? r.frames.join(' > ') : r.label;
}

/** freePath() of the running thread (null: boot). */
export function freePathOf(t: Thread | null): string {
  return t === null ? 'boot' : freePath({ frames: t.frames, label: t.pending?.label ?? 'boot' });
}

/** A step number as a report says it: step 0 is boot (the attach-time scan). */
export function atStep(step: number): string {
  return step === 0 ? 'at boot' : `at step ${step}`;
}

/** The table a level's entries form, named as in Linux: the top level is the PGD (P4D folded on 4-level). */
export function tableName(level: number, pagingLevels: number): string {
  if (level === pagingLevels) return 'PGD';
  return ['', 'PTE', 'PMD', 'PUD', 'P4D', 'PGD'][level] ?? `level-${level}`;
}

/**
 * What the shadow tells the oracles and measurements that follow page-table lives (the hazard
 * oracle, the metrics' pending pages, the timeline through the hazard): one meaning of "unlinked"
 * for all of them. Called inside the step that did it; listeners must not change the model.
 */
export interface PgtableLifeListener {
  /** The last entry naming the table (an entry of `level`, at `entryPa`) was cleared; the table is still allocated. */
  unlinked?(pfn: number, level: Level, entryPa: Pa): void;
  /** A table unlinked and not yet freed was linked again. */
  relinked?(pfn: number): void;
  /** A table reached the allocator; `linkedBy` is the entry (of `level`) still naming it, or -1 when it had been unlinked. */
  freed?(pfn: number, linkedBy: Pa, level: Level): void;
  /** The entry still naming a table that was freed while linked was cleared (hot-remove's order). */
  staleEntryCleared?(pfn: number): void;
}

/** The shadow right after its attach-time scan of init_mm's boot page tables (PgtableShadow.bootTables). */
export interface BootTablesImage {
  readonly pgd: Pa;
  readonly tableLevel: Uint8Array;
  readonly linkStep: Float64Array;
  readonly linkEntry: Float64Array;
}

export class PgtableShadow implements KernelObserver {
  /** Level of the live table in each frame (1 = PTE ... 4/5 = PGD); 0 = not a live table. */
  readonly tableLevel: Uint8Array;
  /** Step of the latest link of the frame as a table (0 = boot); -1 = never linked. */
  readonly linkStep: Float64Array;
  /** Where the latest link was written (the parent entry's pa); -1 for a root or never linked. */
  readonly linkEntry: Float64Array;
  /** Step of the frame's latest free since attach; -1 = not freed since. */
  readonly lastFreeStep: Float64Array;
  /** Step and thread of the frame's latest allocation since attach; -1 = none. */
  readonly allocStep: Float64Array;
  /**
   * How many entries name the frame as a table now. A kernel PUD table is named from init_mm's PGD
   * and from every process PGD (pgd_alloc() copies the kernel half): clearing one copy is no unlink.
   */
  readonly links: Uint16Array;
  /** The step of the first link of the frame's current life as a table (0: boot); -1 = none. */
  readonly lifeStart: Float64Array;
  /** The step its last link was cleared, while it waits for its free; -1 otherwise. */
  readonly unlinkedAt: Float64Array;
  /** Freed while an entry still named it, that entry not cleared yet. */
  private readonly staleEntry: Uint8Array;
  readonly listeners: PgtableLifeListener[] = [];
  private readonly allocThread: string[];
  private readonly freedBy: (FreeRecord | undefined)[];
  private readonly top: Level;

  /**
   * `boot`: bootTables() of a shadow attached before to a kernel booted the same way (same
   * configuration and design, so the same boot page tables), copied instead of scanning again.
   */
  constructor(
    private readonly k: Kernel,
    boot?: BootTablesImage,
  ) {
    const frames = k.pages.frames;
    const reuse = boot !== undefined && boot.pgd === k.init_mm.pgd && boot.tableLevel.length === frames;
    this.tableLevel = reuse ? boot.tableLevel.slice() : new Uint8Array(frames);
    this.linkStep = reuse ? boot.linkStep.slice() : new Float64Array(frames).fill(-1);
    this.linkEntry = reuse ? boot.linkEntry.slice() : new Float64Array(frames).fill(-1);
    this.lastFreeStep = new Float64Array(frames).fill(-1);
    this.allocStep = new Float64Array(frames).fill(-1);
    this.allocThread = new Array<string>(frames).fill('');
    this.links = new Uint16Array(frames);
    this.lifeStart = new Float64Array(frames).fill(-1);
    this.unlinkedAt = new Float64Array(frames).fill(-1);
    this.staleEntry = new Uint8Array(frames);
    this.freedBy = new Array<FreeRecord | undefined>(frames).fill(undefined);
    this.top = k.config.pagingLevels === 5 ? 5 : 4;
    if (!reuse) this.scan(k.init_mm.pgd, this.top);
    for (let pfn = 0; pfn < frames; pfn++) {
      if (this.tableLevel[pfn] === 0) continue;
      this.lifeStart[pfn] = 0;
      if (this.linkEntry[pfn] >= 0) this.links[pfn] = 1;
    }
  }

  /** The attach-time scan's result, for later shadows of the same boot (see the constructor); call before any event. */
  bootTables(): BootTablesImage {
    return { pgd: this.k.init_mm.pgd, tableLevel: this.tableLevel.slice(), linkStep: this.linkStep.slice(), linkEntry: this.linkEntry.slice() };
  }

  /** Records every table reachable from `table` (a table of `level`) as linked at boot. */
  private scan(table: Pa, level: Level): void {
    const pfn = table / PAGE_SIZE;
    if (this.tableLevel[pfn] !== 0) return;
    this.tableLevel[pfn] = level;
    this.linkStep[pfn] = 0;
    if (level === 1) return;
    const mem = this.k.mem;
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      const entryPa = table + 8 * i;
      const v = mem.read64(entryPa);
      if (!entry_links_table(v, level)) continue;
      const target = entry_pa(v);
      if (!mem.contains(target)) continue;
      this.scan(target, (level - 1) as Level);
      this.linkEntry[target / PAGE_SIZE] = entryPa;
    }
  }

  pgtableWrite(level: Level, entryPa: Pa, old: bigint, value: bigint): void {
    const step = this.k.exec.stepCount;
    if (level === this.top) {
      const holder = Math.floor(entryPa / PAGE_SIZE);
      if (this.tableLevel[holder] === 0 && this.k.pages.shadow[holder] !== SHADOW_FREE) {
        this.tableLevel[holder] = level;
        this.linkStep[holder] = step;
        this.linkEntry[holder] = -1;
        this.lifeStart[holder] = step;
      }
    }
    const mem = this.k.mem;
    const before = entry_links_table(old, level) && mem.contains(entry_pa(old)) ? entry_pa(old) / PAGE_SIZE : -1;
    const after = entry_links_table(value, level) && mem.contains(entry_pa(value)) ? entry_pa(value) / PAGE_SIZE : -1;
    if (after >= 0) {
      this.tableLevel[after] = level - 1;
      this.linkStep[after] = step;
      this.linkEntry[after] = entryPa;
    }
    if (before === after) return;
    if (after >= 0) this.link(after, step);
    if (before >= 0) this.unlink(before, level, entryPa, step);
  }

  private link(pfn: number, step: number): void {
    if (this.links[pfn]++ > 0) return;
    if (this.unlinkedAt[pfn] >= 0) {
      // Linked again before its free: its life as a table goes on.
      this.unlinkedAt[pfn] = -1;
      for (const l of this.listeners) l.relinked?.(pfn);
    } else {
      this.lifeStart[pfn] = step;
    }
  }

  private unlink(pfn: number, level: Level, entryPa: Pa, step: number): void {
    if (this.links[pfn] === 0) {
      if (this.staleEntry[pfn] === 0) return;
      this.staleEntry[pfn] = 0;
      for (const l of this.listeners) l.staleEntryCleared?.(pfn);
      return;
    }
    if (--this.links[pfn] > 0) return;
    this.unlinkedAt[pfn] = step;
    for (const l of this.listeners) l.unlinked?.(pfn, level, entryPa);
  }

  pagesAllocated(page: Page, order: number): void {
    const step = this.k.exec.stepCount;
    const thread = currentThread(this.k.exec)?.name ?? 'swapper/0';
    for (let p = page; p < page + (1 << order); p++) {
      this.allocStep[p] = step;
      this.allocThread[p] = thread;
    }
  }

  pagesFreed(page: Page, order: number): void {
    const step = this.k.exec.stepCount;
    const t = currentThread(this.k.exec);
    const record: FreeRecord = {
      step,
      order,
      thread: t?.name ?? 'swapper/0',
      cpu: t?.ctx.cpu ?? 0,
      label: t?.pending?.label ?? 'boot',
      frames: t === null ? [] : t.frames.slice(),
    };
    for (let p = page; p < page + (1 << order); p++) {
      const level = (this.tableLevel[p] + 1) as Level;
      const linked = this.links[p] > 0;
      if (linked || this.unlinkedAt[p] >= 0) for (const l of this.listeners) l.freed?.(p, linked ? this.linkEntry[p] : -1, level);
      if (linked) this.staleEntry[p] = 1;
      this.links[p] = 0;
      this.unlinkedAt[p] = -1;
      this.lifeStart[p] = -1;
      this.tableLevel[p] = 0;
      this.lastFreeStep[p] = step;
      this.freedBy[p] = record;
    }
  }

  /**
   * Whether accessing `pfn` as a page table, on the strength of a link or cache fill made at step
   * `since`, uses freed memory: the frame is free now, or it was freed after `since`.
   */
  staleness(pfn: number, since: number): Staleness {
    if (this.k.pages.shadow[pfn] === SHADOW_FREE) return STALE_FREE;
    return this.lastFreeStep[pfn] > since ? STALE_REUSED : STALE_NONE;
  }

  freeRecord(pfn: number): FreeRecord | undefined {
    return this.freedBy[pfn];
  }

  /** Report lines on the frame's free and, when allocated again, its owner now. */
  describeFrame(pfn: number): string[] {
    const lines: string[] = [];
    const freed = this.freedBy[pfn];
    if (freed === undefined) {
      lines.push('The frame has not been allocated since boot');
    } else {
      lines.push(`The frame was freed at step ${freed.step} by ${freed.thread} on cpu${freed.cpu} in ${freePath(freed)} (order ${freed.order})`);
    }
    if (this.k.pages.shadow[pfn] === SHADOW_FREE) {
      lines.push('It is free now (in the page allocator, poisoned)');
    } else if (this.allocStep[pfn] > this.lastFreeStep[pfn]) {
      const level = this.tableLevel[pfn];
      const now = level === 0 ? 'is not a page table now' : `is now a ${tableName(level, this.top)} table linked ${atStep(this.linkStep[pfn])}`;
      lines.push(`It was reallocated at step ${this.allocStep[pfn]} by ${this.allocThread[pfn]} and ${now}`);
    }
    return lines;
  }
}
