/**
 * The model checking itself (`--self-check`): invariants of the simulated machine and kernel that
 * hold between any two steps, whatever a design does. A failure is a kptsim bug, thrown as a
 * ModelInvariantError with what is wrong and where — never a Violation of the modelled kernel.
 *
 *  1. Page tables: every present entry reachable from init_mm's PGD and from every process PGD on
 *     pgd_list either is a leaf (a PTE, or a PS entry at PMD/PUD level) or points at a frame inside
 *     memory that is a live page table — not free, not on a buddy list, with a reference (or
 *     reserved: boot tables come from memblock) — reached as a table of one level only. PageTable
 *     is not required: the kernel's own direct-map tables (alloc_low_page, split_large_page) are
 *     plain pages.
 *  2. The allocator: the buddy free lists agree with the page states (check_free_lists in
 *     src/kernel/mm/page_alloc.ts: PageBuddy, order, refcount 0, frames free, nr_free and NR_FREE_PAGES).
 *  3. No frame is both free and mapped: a leaf outside the direct map (vmalloc, vmemmap, user
 *     pages) never maps a free frame. The direct map maps every frame, free ones included, so its
 *     leaves are not references (as in reachable.ts).
 *  Dangling entries the modelled kernel makes itself are not model bugs: memory hot-remove frees a
 *  table (or a vmemmap page) before it clears the entry that links it (docs/kernel/pitfalls.md §11, kept exactly),
 *  and a design may free a table that is still linked. So when a block's free begins
 *  (__free_pages), the entries that link or map it then are recorded as dangling until the kernel
 *  rewrites them; a dangling entry
 *  may point at a free (or reused) frame and the walk does not descend through it. What remains a
 *  model bug is an entry *written* to point at a free frame, or memory changing under an entry
 *  without a kernel write.
 *  4. IOMMU caches: every paging-structure-cache entry and every IOTLB entry is explained by a past
 *     walk — a memory read of that entry, at that level, for that PASID and address region (PSC),
 *     or a translation that walked to that page (IOTLB). Not "matches memory now": a design that
 *     frees a table without invalidating legitimately leaves a stale entry, and that is what the
 *     oracles report as a violation; an entry no walk produced is a model bug.
 *
 * The checks read memory and page state directly (no steps) and run between steps: a Scheduler
 * wrapper (SelfCheckingScheduler) runs them before each thread pick, when no thread is inside a
 * step. Data choices are made inside a step (half-done updates are legitimate there) and are not
 * checked. Cost: a walk of every table per step — for tests and --self-check, not for speed.
 */
import { PAGE_SIZE, PTRS_PER_TABLE, hex, type Level, type Pa } from '../hw/address.ts';
import { LO_PRESENT, LO_PSE, PAGES_PER_ENTRY, paFromHalves, vpnOfVa, type IommuObserver, type IommuTranslatedEvent, type IommuWalkReadEvent } from '../hw/index.ts';
import { check_free_lists } from '../kernel/mm/page_alloc.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import type { KernelObserver } from '../kernel/model/observer.ts';
import { PageBuddy, PageReserved, SHADOW_FREE, type Page } from '../kernel/include/linux/mm_types.ts';
import { ModelInvariantError, type ChoicePoint, type Scheduler } from '../sim/index.ts';

/** What the page-table walk shows a check: an entry and the frames [frame, frame + count) it links or maps. */
type Visitor = (entryPa: number, level: Level, frame: number, count: number, leaf: boolean, owner: string) => void;

/** PASIDs are the low 20 bits of a cache tag (didPasidTag in src/hw/iommu-caches.ts). */
const PASID_SPAN = 0x100000;

export class ModelInvariants implements IommuObserver, KernelObserver {
  /** PSC entries some walk read from memory: `pasid:level:region:entryPa:entry`. */
  private readonly walkedEntries = new Set<string>();
  /** Leaf pages some walk translated to: `pasid:level:region:base`, for each page size. */
  private readonly walkedPages = new Set<string>();
  /** Entries that linked or mapped a block when it was freed, by entry pa: the frame they named. */
  private readonly dangling = new Map<number, number>();
  /** Scratch: the level each frame was reached at in the current walk (0: not reached). */
  private readonly reachedAt: Uint8Array;
  private readonly directMapSlots: ReadonlySet<number>;
  private readonly top: Level;

  /** Subscribe before any step runs (right after the world is built): walks and frees are recorded from then on. */
  constructor(private readonly k: Kernel) {
    this.reachedAt = new Uint8Array(k.mem.frames);
    this.top = k.config.pagingLevels === 5 ? 5 : 4;
    // The top-level slots the direct map occupies; x86-64 gives it slots of its own (mm.rst).
    const shift = BigInt(12 + 9 * (this.top - 1));
    const first = Number((k.layout.PAGE_OFFSET >> shift) & 511n);
    const last = Number(((k.layout.PAGE_OFFSET + BigInt(k.mem.frames * PAGE_SIZE) - 1n) >> shift) & 511n);
    const slots = new Set<number>();
    for (let i = first; i <= last; i++) slots.add(i);
    this.directMapSlots = slots;
    k.iommu.observers.push(this);
    k.observers.push(this);
  }

  walkRead(e: IommuWalkReadEvent): void {
    if (e.fromCache) return;
    const region = Math.floor(vpnOfVa(e.va) / PAGES_PER_ENTRY[e.level]);
    this.walkedEntries.add(`${e.pasid}:${e.level}:${region}:${e.entryPa}:${e.entry}`);
  }

  translated(e: IommuTranslatedEvent): void {
    if (e.fromIotlb) return;
    const vpn = vpnOfVa(e.va);
    for (let level = 1; level <= 3; level++) {
      const size = PAGES_PER_ENTRY[level] * PAGE_SIZE;
      this.walkedPages.add(`${e.pasid}:${level}:${Math.floor(vpn / PAGES_PER_ENTRY[level])}:${e.pa - (e.pa % size)}`);
    }
  }

  /** A kernel write ends an entry's dangling state: from now on it names what it holds. */
  pgtableWrite(_level: Level, entryPa: Pa): void {
    this.dangling.delete(entryPa);
  }

  /**
   * Records the entries that still link or map a block as its free begins (see the header): its
   * frames turn free one poisoning step at a time after this. When the put leaves references the
   * block stays allocated and its entries are merely not checked until rewritten (lenient).
   */
  pagesFreeing(page: Page, order: number): void {
    const end = page + (1 << order);
    this.walk((entryPa, _level, frame, count) => {
      if (frame < end && frame + count > page) this.dangling.set(entryPa, frame);
    });
  }

  /** Runs every check; throws ModelInvariantError at the first that fails. */
  check(): void {
    this.checkPageTables();
    this.checkFreeLists();
    this.checkIommuCaches();
  }

  /** Checks 1 and 3: the page-table trees under every PGD. */
  checkPageTables(): void {
    const k = this.k;
    const pages = k.pages;
    const shadow = pages.shadow;
    this.walk((entryPa, level, frame, count, leaf, owner) => {
      if (leaf) {
        for (let f = frame; f < frame + count && f < shadow.length; f++) {
          if (shadow[f] === SHADOW_FREE) this.fail(`${owner}: level-${level} leaf at ${hex(entryPa)} maps frame ${hex(f)}, which is free`);
        }
        return;
      }
      const where = `${owner}: level-${level} entry ${hex(k.mem.read64(entryPa))} at ${hex(entryPa)}`;
      if (pages.shadow[frame] === SHADOW_FREE) this.fail(`${where} points at frame ${hex(frame)}, which is free`);
      if (PageBuddy(pages, frame)) this.fail(`${where} points at frame ${hex(frame)}, which is on a buddy free list`);
      if (pages.refcount[frame] <= 0 && !PageReserved(pages, frame)) this.fail(`${where} points at frame ${hex(frame)}, which has refcount ${pages.refcount[frame]}`);
    });
  }

  /** Check 2. */
  checkFreeLists(): void {
    const errors = check_free_lists(this.k);
    if (errors.length > 0) this.fail(`buddy free lists disagree with the page states: ${errors.slice(0, 3).join('; ')}${errors.length > 3 ? ` (+${errors.length - 3} more)` : ''}`);
  }

  /** Check 4. */
  checkIommuCaches(): void {
    const caches = this.k.iommu.caches;
    for (let level = 2; level < caches.psc.length; level++) {
      const cache = caches.psc[level];
      if (cache === null) continue;
      for (const { tag, key, value } of cache.entries()) {
        const e = value.entry;
        const pasid = tag % PASID_SPAN;
        if (e.level !== level || !this.walkedEntries.has(`${pasid}:${level}:${key}:${e.entryPa}:${e.entry}`)) {
          this.fail(
            `IOMMU paging-structure cache (level ${level}) holds an entry no walk read: PASID ${hex(pasid)} region ${hex(key)}, ` +
              `entry ${hex(e.entry)} from ${hex(e.entryPa)} (level ${e.level}), filled at step ${value.filledAt}`,
          );
        }
      }
    }
    for (const { tag, key, value } of caches.iotlb.entries()) {
      const pasid = Math.floor(tag / 4) % PASID_SPAN;
      const level = (tag % 4) + 1;
      if (value.level !== level || !this.walkedPages.has(`${pasid}:${level}:${key}:${value.base}`)) {
        this.fail(`IOTLB holds a translation no walk produced: PASID ${hex(pasid)} level ${level} region ${hex(key)} -> ${hex(value.base)} (entry level ${value.level})`);
      }
    }
  }

  /**
   * Visits every present entry under every PGD, once per table: non-leaf entries with the frame
   * they link (count 1), leaves outside the direct map with the frames they map. Does not go through a
   * dangling entry (its frame is free or someone else's); fails on an entry outside memory and on a
   * frame reached as tables of two levels.
   */
  private walk(visit: Visitor): void {
    this.reachedAt.fill(0);
    this.walkTable(this.k.init_mm.pgd / PAGE_SIZE, this.top, 'init_mm', false, visit);
    for (const mm of this.k.pgd_list) this.walkTable(mm.pgd / PAGE_SIZE, this.top, mm.name, false, visit);
  }

  private walkTable(pfn: number, level: Level, owner: string, directMap: boolean, visit: Visitor): void {
    const seen = this.reachedAt[pfn];
    if (seen !== 0) {
      if (seen !== level) this.fail(`frame ${hex(pfn)} is reached as a level-${seen} table and, from ${owner}, as a level-${level} table`);
      return;
    }
    this.reachedAt[pfn] = level;
    const mem = this.k.mem;
    const base = pfn * PAGE_SIZE;
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      const entryPa = base + 8 * i;
      const lo = mem.readLo(entryPa);
      if ((lo & LO_PRESENT) === 0 || this.dangling.has(entryPa)) continue;
      const target = paFromHalves(lo, mem.readHi(entryPa));
      const leaf = level === 1 || ((lo & LO_PSE) !== 0 && (level === 2 || level === 3));
      if (leaf) {
        if (!directMap) visit(entryPa, level, Math.floor(target / PAGE_SIZE), PAGES_PER_ENTRY[level], true, owner);
        continue;
      }
      if (!mem.contains(target)) this.fail(`${owner}: level-${level} entry ${hex(mem.read64(entryPa))} at ${hex(entryPa)} points outside memory`);
      const child = target / PAGE_SIZE;
      visit(entryPa, level, child, 1, false, owner);
      const childDirect = directMap || (level === this.top && this.directMapSlots.has(i));
      this.walkTable(child, (level - 1) as Level, owner, childDirect, visit);
    }
  }

  private fail(what: string): never {
    throw new ModelInvariantError(`self-check at step ${this.k.exec.stepCount}: ${what}`);
  }
}

/**
 * Runs the invariants before every thread pick of `inner` (docs/architecture.md, Strategies: a
 * cross-cutting concern wraps the scheduler). The world is built after its Execution, so the
 * invariants are attached once the world exists; picks before that (none: threads run only in
 * run()) are not checked.
 */
export class SelfCheckingScheduler implements Scheduler {
  private invariants: ModelInvariants | null = null;

  constructor(private readonly inner: Scheduler) {}

  attach(invariants: ModelInvariants): void {
    this.invariants = invariants;
  }

  beginExecution(index: number): boolean {
    return this.inner.beginExecution(index);
  }

  choose(point: ChoicePoint): number | 'abandon' {
    if (point.kind === 'thread') this.invariants?.check();
    return this.inner.choose(point);
  }
}
