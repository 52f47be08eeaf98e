/**
 * Oracle `iommu-uncovered-free`: a page-table page the IOMMU could reach goes back to the page
 * allocator before an IOMMU invalidation that drops every cached entry naming it has completed.
 *
 * This is the rule the fix exists to keep (docs/iommu-hazard.md), judged on every execution at the
 * free itself — not only when the device happens to walk the freed table in that execution
 * (iommu-uaf.ts): VT-d may fill its paging-structure caches at any time for any address the
 * PASID's tables reach (speculative walks, and walks that cache upper-level entries before the
 * leaf's permission check fails), so whether a device walked there in this interleaving is luck.
 *
 * A table's life is the shadow's (pgtable-shadow.ts, the one tracker of page-table lives):
 *  - linked when a present non-leaf entry first points to it (boot tables: at step 0); a kernel
 *    table is linked from init_mm's PGD and again from every process PGD that copied the kernel
 *    half, so it is unlinked only when the last of those entries is cleared;
 *  - unlinked when that happens: from then on no new walk reaches it, but the IOMMU may still hold
 *    cached entries that name it;
 *  - freed when its frame reaches the allocator. A table freed while still linked — x86 memory
 *    hot-remove frees, then clears the parent entry — is uncovered from the free.
 *
 * Reachable: some PASID entry existed at any moment between the table's link and its unlink (or
 * its free, when freed linked); for a kernel-half table any PASID (every process PGD shares the
 * kernel half), for a user table only PASIDs whose root is that table's PGD. After the unlink a new
 * bond cannot walk to it, and a PASID torn down since flushed everything it cached (teardown is a
 * PASID-selective invalidation and a wait: intel_pasid_tear_down_entry()).
 *
 * Covered, for each PASID that could reach it: an invalidation processed after the unlink (or after
 * the PASID's teardown, if that came first: no entry can be cached for it after), whose wait
 * completed before the free and is ordered before it (below), that
 *  - is PASID-selective (NONG_PASID) for that PASID and domain; or
 *  - is page-selective within that PASID and domain with IH = 0 and an address range (ADDR, AM)
 *    that overlaps the VA range the table maps. The cached entries that name the table are
 *    entries of its parent, and each maps exactly that range; with IH = 0 the IOMMU drops every
 *    paging-structure-cache entry that would be used to translate an address in the invalidated
 *    range (VT-d §6.5.2.4, as INVLPG does on the CPU; src/hw/iommu-caches.ts models it so). The
 *    cached entries read from the table itself name its children, which are judged at their own
 *    free: a PMD table freed with one page invalidated leaves its other PTE tables uncovered.
 * IH = 1 (paging-structure caches kept), a range that misses the table, another PASID or
 * domain, and a wait not completed before the free do not count. Device-TLB (ATS) invalidations
 * never count: a device TLB caches translations, not paging-structure entries; for kernel tables
 * there are no translations to cache either (an SVA request to a kernel address faults at the leaf).
 *
 * Ordered before the free: the free must not merely come after the wait's completion in this
 * interleaving, it must be unable to come before it — else another interleaving frees first (v3:
 * the free does not wait for the work item that invalidates). A completion is ordered before the
 * free when the same thread frees after it (program order), or when the freeing thread has since
 * touched, by a step that reads or acquires, an object that a step of a thread that knew of the
 * completion wrote or released (a lock, the work item, a list head, a flag): knowledge of
 * completed invalidations flows along the model's own synchronisation, as happens-before does in
 * the kernel's memory model. The model's steps are sequentially consistent, so this is the order
 * its executions can rely on; reorderings by a weaker memory model are out of its scope.
 *
 * The same judgement gives the timeline its flow per freed table (covered, late, uncovered), so the
 * Perfetto trace and this oracle cannot disagree. Pure observer: never changes the model.
 */
import { PAGE_SIZE, canonical, hex, levelShift, levelSize, vpnOf, type Level, type Pa, type PagingLevels, type Va } from '../hw/address.ts';
import { formatDesc, invalidationEffect, isDeviceTlbInvalidation, type IommuObserver, type InvDesc, type PasidEntry } from '../hw/index.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { NO_OBJECT, trackLines, type Step, type Thread, type Track } from '../sim/index.ts';
import { contextLines, currentThread } from '../kernel/include/linux/mm_types.ts';
import { atStep, freePathOf, tableName, type PgtableLifeListener, type PgtableShadow } from './pgtable-shadow.ts';

export type CoverStatus = 'covered' | 'late' | 'uncovered';

/** An IOTLB or device-TLB descriptor the IOMMU processed, and when its wait completed. */
export interface ProcessedInvalidation {
  readonly desc: Exclude<InvDesc, { type: 'wait' }>;
  readonly step: number;
  readonly thread: string;
  /** The step at which an invalidation wait covering it finished; -1 while none has. */
  completedStep: number;
}

/** A PASID-table entry's life: the walks of `pasid` start at `pgd` from `from` until `to` (-1: still). */
interface Bond {
  readonly pasid: number;
  readonly did: number;
  readonly pgd: Pa;
  readonly from: number;
  to: number;
}

/** A page-table page on its way to the allocator: unlinked (or freed linked), then freed. */
export interface TableFree {
  readonly pfn: number;
  /** The level of the entry that named it (2: a PTE table under a PMD entry). */
  readonly level: Level;
  /** The VA range it mapped, [va, va + levelSize(level)); null when its ancestry is unknown. */
  readonly va: Va | null;
  /** The step it was linked at (0: a boot table). */
  readonly linkStep: number;
  /** The step its last link was cleared at; -1 when it was freed still linked. */
  readonly unlinkStep: number;
  /** Who cleared that link, and the stack then, when the execution records stacks. */
  readonly unlinkedBy: Track | null;
  /** The frame of the top-level table it hangs under (for user tables: whose PASIDs reach it). */
  readonly root: number;
  /** The step of its free (-1 until freed). */
  freeStep: number;
  /** The PASIDs that could reach it, each with its covering invalidation's index (-1: none yet). */
  needs: { readonly bond: Bond; cover: number }[];
  status: CoverStatus;
}

export class IommuHazard implements PgtableLifeListener, IommuObserver {
  private readonly top: PagingLevels;
  private readonly windows = new Map<number, TableFree>();
  /** Freed tables with a PASID still waiting for a (late) covering invalidation, in free order. */
  private waiting: TableFree[] = [];
  /** Every page-table free, in free order: the timeline's flows. */
  readonly frees: TableFree[] = [];
  /** Every IOTLB and device-TLB descriptor processed, in order (the timeline's indices too). */
  readonly invalidations: ProcessedInvalidation[] = [];
  private readonly bonds: Bond[] = [];
  /** By thread id: invalidations [0, known) are complete and ordered before that thread's next step. */
  private readonly known: number[] = [];
  /** By object: the completions a thread that wrote or released it knew of then. */
  private readonly objectKnown = new Map<number, number>();

  /** Attach right after boot, before any thread runs, as a listener of `shadow` (the one tracker of table lives). */
  constructor(
    private readonly k: Kernel,
    private readonly shadow: PgtableShadow,
  ) {
    this.top = k.config.pagingLevels;
  }

  unlinked(pfn: number, level: Level, entryPa: Pa): void {
    this.windows.set(pfn, this.tableFree(pfn, level, entryPa, this.k.exec.stepCount));
  }

  relinked(pfn: number): void {
    this.windows.delete(pfn);
  }

  freed(pfn: number, linkedBy: Pa, level: Level): void {
    const t = this.windows.get(pfn) ?? (linkedBy >= 0 ? this.tableFree(pfn, level, linkedBy, -1) : undefined);
    if (t === undefined) return;
    this.windows.delete(pfn);
    t.freeStep = this.k.exec.stepCount;
    this.judge(t);
  }

  invalidated(d: Exclude<InvDesc, { type: 'wait' }>): void {
    const index = this.invalidations.length;
    this.invalidations.push({ desc: d, step: this.k.exec.stepCount, thread: currentThread(this.k.exec)?.name ?? 'swapper/0', completedStep: -1 });
    // A late cover: processed after the free (the flow's LATE, not a cover for the oracle).
    if (this.waiting.length === 0) return;
    const still: TableFree[] = [];
    for (const t of this.waiting) {
      for (const need of t.needs) if (need.cover < 0 && this.reason(this.invalidations[index], t, need.bond) === null) need.cover = index;
      if (t.needs.every((n) => n.cover >= 0)) t.status = 'late';
      else still.push(t);
    }
    this.waiting = still;
  }

  invalidationsCompleted(upTo: number): void {
    const step = this.k.exec.stepCount;
    for (let i = upTo - 1; i >= 0 && this.invalidations[i].completedStep < 0; i--) this.invalidations[i].completedStep = step;
    const t = currentThread(this.k.exec);
    if (t !== null) this.known[t.id] = Math.max(this.known[t.id] ?? 0, upTo);
  }

  /** A step is about to run (Execution.stepListeners): knowledge of completions flows through its object. */
  step(thread: Thread, s: Step): void {
    // Until a first invalidation wait completes there is no knowledge to pass on.
    if (this.known.length === 0 || s.obj === NO_OBJECT || s.access === 'local') return;
    const mine = this.known[thread.id] ?? 0;
    const theirs = this.objectKnown.get(s.obj) ?? 0;
    if (mine === theirs) return;
    if (s.access !== 'release' && theirs > mine) this.known[thread.id] = theirs;
    if (s.access !== 'read' && mine > theirs) this.objectKnown.set(s.obj, mine);
  }

  pasidEntrySet(pasid: number, entry: PasidEntry | null): void {
    const step = this.k.exec.stepCount;
    for (const b of this.bonds) if (b.pasid === pasid && b.to < 0) b.to = step;
    if (entry !== null) this.bonds.push({ pasid, did: entry.domainId, pgd: entry.pgd, from: step, to: -1 });
  }

  /** The covering invalidation's index for a freed table's flow: the last of its PASIDs' covers. */
  flowCover(t: TableFree): number {
    return t.status === 'uncovered' ? -1 : Math.max(...t.needs.map((n) => n.cover));
  }

  private tableFree(pfn: number, level: Level, entryPa: Pa, unlinkStep: number): TableFree {
    const { va, root } = this.entryVa(entryPa, level);
    const unlinkedBy = unlinkStep < 0 ? null : this.k.exec.track();
    return { pfn, level, va, linkStep: this.shadow.lifeStart[pfn], unlinkStep, unlinkedBy, root, freeStep: -1, needs: [], status: 'uncovered' };
  }

  /** The VA the entry at `entryPa` (in a table of `level`) maps and its root table, through the latest links. */
  private entryVa(entryPa: Pa, level: Level): { va: Va | null; root: number } {
    const { linkEntry, tableLevel } = this.shadow;
    let table = Math.floor(entryPa / PAGE_SIZE);
    let va = BigInt((entryPa % PAGE_SIZE) / 8) << BigInt(levelShift(level));
    for (let l = level; l < this.top; l++) {
      const parent = linkEntry[table];
      if (parent < 0 || tableLevel[table] !== l) return { va: null, root: -1 };
      va += BigInt((parent % PAGE_SIZE) / 8) << BigInt(levelShift((l + 1) as Level));
      table = Math.floor(parent / PAGE_SIZE);
    }
    return { va: canonical(va, this.top), root: table };
  }

  /** The PASIDs that could have walked to `t`, and whether each has a completed cover; reports if one has none. */
  private judge(t: TableFree): void {
    const end = t.unlinkStep >= 0 ? t.unlinkStep : t.freeStep;
    const kernelHalf = t.va !== null && t.va >= 1n << 63n;
    const reaching = this.bonds.filter((b) => b.from <= end && (b.to < 0 || b.to >= t.linkStep) && (kernelHalf || t.va === null || b.pgd === t.root * PAGE_SIZE));
    // A table no PASID could reach is judged against any PASID's invalidations, for its flow alone.
    const needs = reaching.length > 0 ? reaching : [{ pasid: -1, did: -1, pgd: -1, from: 0, to: -1 }];
    t.needs = needs.map((bond) => ({ bond, cover: this.completedCover(t, bond) }));
    this.frees.push(t);
    if (t.needs.every((n) => n.cover >= 0)) {
      t.status = 'covered';
      return;
    }
    // It becomes the flow's LATE if a later invalidation covers it (invalidated()).
    this.waiting.push(t);
    if (reaching.length > 0) this.report(t);
  }

  /**
   * The first invalidation processed after the last moment `bond`'s PASID could cache an entry
   * naming `t` — the unlink, or the PASID's teardown if that came first — complete and ordered before
   * this free, that covers `t` for it. None while the table is still linked and the PASID bound.
   */
  private completedCover(t: TableFree, bond: Bond): number {
    const after = Math.min(t.unlinkStep >= 0 ? t.unlinkStep : Infinity, bond.to >= 0 ? bond.to : Infinity);
    if (after === Infinity) return -1;
    const invs = this.invalidations;
    const known = this.knownByFreeingThread();
    let i = invs.length;
    while (i > 0 && invs[i - 1].step > after) i--;
    for (; i < Math.min(invs.length, known); i++) if (this.reason(invs[i], t, bond) === null) return i;
    return -1;
  }

  private knownByFreeingThread(): number {
    const t = currentThread(this.k.exec);
    return t === null ? 0 : (this.known[t.id] ?? 0);
  }

  /** Why `inv` does not drop the cached entries that name `t` for `bond`'s PASID; null when it does. */
  private reason(inv: ProcessedInvalidation, t: TableFree, bond: Bond): string | null {
    const d = inv.desc;
    if (isDeviceTlbInvalidation(d)) return 'a device-TLB invalidation: a device TLB holds translations, never paging-structure entries';
    const e = invalidationEffect(d);
    if (bond.pasid >= 0 && (e.did !== bond.did || (e.pasid !== null && e.pasid !== bond.pasid))) {
      return `for ${e.pasid === null ? 'every PASID of' : `PASID ${hex(e.pasid)}`} (did ${e.did}), not PASID ${hex(bond.pasid)} (did ${bond.did})`;
    }
    if (e.keepsPagingStructures !== null) return e.keepsPagingStructures;
    const r = e.range;
    if (r === null) return null;
    if (t.va === null) return 'page-selective, and the table\'s VA range is unknown';
    const first = vpnOf(t.va);
    const pages = Number(levelSize(t.level)) / PAGE_SIZE;
    if (r.first < first + pages && first < r.first + r.pages) return null;
    return `its range [${hex(BigInt(r.first) << 12n)}, +${r.pages} pages) misses the table's [${hex(t.va)}, +${pages} pages)`;
  }

  private report(t: TableFree): void {
    const k = this.k;
    const levels = this.top;
    const name = tableName(t.level - 1, levels);
    const thread = currentThread(k.exec);
    const path = freePathOf(thread);
    const linked = t.unlinkStep < 0;
    const range = t.va === null ? 'an unknown VA range' : `[${hex(t.va)}, ${hex(BigInt.asUintN(64, t.va + levelSize(t.level)))})`;
    const missing = t.needs.filter((n) => n.cover < 0).map((n) => n.bond);
    const between = linked ? [] : this.invalidations.filter((inv) => inv.step > t.unlinkStep);
    const lines = [
      `${name} table at pfn ${hex(t.pfn)} mapping ${range}, linked ${atStep(t.linkStep)}`,
      linked
        ? `Freed while still linked: the ${name === 'PGD' ? 'root' : 'parent'} entry naming it was cleared only after the free`
        : `Unlinked at step ${t.unlinkStep}`,
      `Freed at step ${t.freeStep} by ${thread?.name ?? 'swapper/0'} on cpu${thread?.ctx.cpu ?? 0} in ${path}`,
      ...missing.map((b) => `Reachable by PASID ${hex(b.pasid)} (did ${b.did}${this.deviceNames(b.pasid)}), bound ${atStep(b.from)}${b.to >= 0 ? `, unbound at step ${b.to}` : ''}`),
      linked
        ? 'No invalidation covers a table freed while linked: a walk can still reach it through memory'
        : between.length === 0
          ? 'No IOMMU invalidation was processed between the unlink and the free'
          : 'IOMMU invalidations processed between the unlink and the free, none covering it:',
      ...between.slice(0, 8).map((inv) => `  step ${inv.step} ${inv.thread}: ${formatDesc(inv.desc)}: ${this.whyNot(inv, t, missing)}`),
      ...(between.length > 8 ? [`  ... and ${between.length - 8} more`] : []),
      'The IOMMU may still hold paging-structure entries naming this table and walk it after its reuse (VT-d caches them speculatively)',
      ...contextLines(k.exec),
      ...this.stackLines(t),
    ];
    k.exec.report('iommu-uncovered-free', `BUG: IOMMU-reachable ${name} table freed before a completed IOMMU invalidation (pfn ${hex(t.pfn)})`, lines, {
      site: `${name} table freed in ${path}`,
      pfn: t.pfn,
    });
  }

  /** The table's allocation and unlink stacks, when the execution records stacks (its free is the Call Trace). */
  private stackLines(t: TableFree): string[] {
    const depot = this.k.exec.stacks;
    if (depot === null) return [];
    const alloc = depot.allocation(t.pfn);
    return [
      ...(alloc === undefined ? ['Allocated before any task ran (boot): no allocation stack'] : trackLines('Allocated', alloc)),
      ...(t.unlinkedBy === null ? [] : trackLines('Unlinked', t.unlinkedBy)),
    ];
  }

  private whyNot(inv: ProcessedInvalidation, t: TableFree, missing: readonly Bond[]): string {
    for (const b of missing) {
      const why = this.reason(inv, t, b);
      if (why !== null) return why;
    }
    if (inv.completedStep < 0) return 'its invalidation wait had not completed before the free';
    return `its wait completed at step ${inv.completedStep}, but nothing orders that before this free: another interleaving frees first`;
  }

  private deviceNames(pasid: number): string {
    const names = this.k.devices.filter((d) => d.pasid === pasid).map((d) => d.name);
    return names.length === 0 ? '' : `, ${names.join(', ')}`;
  }
}
