/**
 * The timeline of one timed execution (a timed run or a timed replay), for the Perfetto trace
 * (src/report/perfetto.ts): which thread ran which kernel function or hardware event when, the page
 * frees, the IOMMU invalidations as processed, the trace events and violations in simulated time,
 * and one flow per freed page-table page pairing its free with the invalidation that covers it.
 * Like MetricsCollector it only observes (kernel observer, step listener), attached when asked.
 *
 * Flows. A page-table page's window opens when its parent entry is cleared (the unlink that
 * precedes `*_free`: pmd_clear then pte_free_kernel), or at its free when it goes back to the
 * allocator still linked (hot-remove's free_pte_table() frees, then clears the PMD). The first IOMMU
 * invalidation processed after the window opened that covers the table is its invalidation:
 *  - a PASID-selective IOTLB invalidation (NONG_PASID) covers any table [simplification: of any
 *    PASID — the kernel half is shared by every process PGD, and scenarios bind one PASID];
 *  - a page-selective one (PSI) covers the table when IH = 0 and its page range overlaps the VA range
 *    the table mapped (the region of the parent entry that pointed to it): that is exactly when the
 *    IOMMU drops the cached parent entry, the one through which it could walk the freed table
 *    (IommuCaches.invalidateRange; VT-d §6.5.2.4). IH = 1 keeps paging-structure caches: no cover;
 *  - a device-TLB invalidation holds no paging-structure entry: never a cover.
 * The VA range comes from the unlinked entry's address, walked up through the links that this
 * recorder keeps (boot tables scanned from init_mm's PGD at attach, later ones from the kernel's
 * entry writes); a table whose ancestry is unknown has no VA and only PASID-selective covers it.
 * A flow is `covered` when its invalidation was processed before the free (a correct design),
 * `late` when only after (v3: the page reached the allocator while the IOMMU could still walk it),
 * `uncovered` when none came before the end (immediate: no invalidation at all).
 *
 * Invalidations come from the IOMMU's `invalidated` observer, in the step that processed each
 * descriptor.
 */
import { PAGE_SIZE, PTRS_PER_TABLE, canonical, hex, levelShift, levelSize, vpnOf, type Level, type Pa, type PagingLevels, type Va } from '../hw/address.ts';
import { entry_links_table, entry_pa, piotlbRange, type InvDesc, type InvDescKind } from '../hw/index.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { KernelObserver } from '../kernel/observer.ts';
import { SHADOW_FREE, currentThread } from '../kernel/page.ts';
import type { ContextKind, ViolationKind } from '../sim/index.ts';
import type { StepClock, TimedStep } from './time-keeper.ts';
import type { StepStarts, TimedTraceEvent } from './time-keeper.ts';

export interface TimelineThread {
  readonly id: number;
  readonly name: string;
  /** -1 for a device. */
  readonly cpu: number;
  readonly kind: ContextKind;
}

/** Consecutive steps of one thread with the same label, as one slice. */
export interface TimelineSlice {
  readonly thread: number;
  /** The kernel function or hardware event (the step label). */
  readonly label: string;
  /** What the first of the steps touched (ObjectNames.describe). */
  readonly object: string;
  readonly startNs: number;
  readonly endNs: number;
  readonly steps: number;
}

/** A block back in the page allocator (pagesFreed). */
export interface TimelineFree {
  readonly pfn: number;
  readonly order: number;
  readonly timeNs: number;
  readonly step: number;
  /** The freeing thread's id; -1 outside any thread. */
  readonly thread: number;
}

/** An IOMMU invalidation descriptor, at the step that processed it. */
export interface TimelineInvalidation {
  readonly kind: Exclude<InvDescKind, 'wait'>;
  readonly pasid: number;
  /** Page-selective IOTLB and device-TLB descriptors: the address and the mask (2^mask pages). */
  readonly address: string | null;
  readonly mask: number | null;
  /** Page-selective only: the invalidation hint (1 = leaves only, paging-structure caches kept). */
  readonly ih: 0 | 1 | null;
  readonly timeNs: number;
  readonly step: number;
  /** The thread that submitted it (qi_submit_sync processes descriptors in the caller's steps). */
  readonly thread: number;
}

export type FlowStatus = 'covered' | 'late' | 'uncovered';

/** A freed page-table page and the first invalidation after its unlink that covers it. */
export interface TimelineFlow {
  readonly pfn: number;
  /** The level of the parent entry that pointed to the table (2: a PTE table under a PMD entry). */
  readonly level: Level;
  /** The VA range the table mapped, [va, vaEnd); null when its ancestry is unknown. */
  readonly va: string | null;
  readonly vaEnd: string | null;
  /** Unlink (or free, when freed still linked): the window's start. */
  readonly windowNs: number;
  /** Index into `frees`. */
  readonly free: number;
  /** Index into `invalidations`; null when uncovered. */
  readonly invalidation: number | null;
  readonly status: FlowStatus;
}

export interface TimelineViolation {
  readonly kind: ViolationKind;
  readonly title: string;
  readonly details: readonly string[];
  readonly thread: string;
  readonly step: number;
  readonly timeNs: number;
}

export interface Timeline {
  readonly version: 1;
  readonly endNs: number;
  /** In id (spawn) order. */
  readonly threads: readonly TimelineThread[];
  /** By thread, then time. */
  readonly slices: readonly TimelineSlice[];
  /** The event trace (when the execution recorded one), each event at its step's start time. */
  readonly events: readonly TimedTraceEvent[];
  readonly frees: readonly TimelineFree[];
  readonly invalidations: readonly TimelineInvalidation[];
  /** Pending page-table pages over time: the metrics' series (MetricsCollector). */
  readonly pending: { readonly timesNs: readonly number[]; readonly pages: readonly number[] };
  /** In free order. */
  readonly flows: readonly TimelineFlow[];
  readonly violations: readonly TimelineViolation[];
}

interface Window {
  readonly pfn: number;
  readonly level: Level;
  /** First page number and page count of the VA range; first -1 when unknown. */
  readonly vpn: number;
  readonly pages: number;
  readonly va: Va | null;
  readonly openedNs: number;
  free: number;
  invalidation: number;
}

interface OpenSlice {
  label: string;
  obj: number;
  start: number;
  end: number;
  steps: number;
}

/** Records the timeline of one execution; attach after the world is built, before it runs. */
export class TimelineRecorder {
  /** Per frame: the pa of the entry that links it as a table now; -1 when none. */
  private readonly linkedBy: Float64Array;
  /** Per frame: the level of that entry. */
  private readonly linkLevel: Uint8Array;
  /**
   * Per frame: how many entries link it. A kernel PUD table is linked from init_mm's PGD and from
   * every process PGD (pgd_alloc() copies the kernel half): clearing one of those is no unlink.
   */
  private readonly links: Uint16Array;
  private readonly top: PagingLevels;
  private readonly windows = new Map<number, Window>();
  /** Freed windows still waiting for a (late) invalidation, in free order. */
  private readonly waiting: Window[] = [];
  private readonly flows: Window[] = [];
  private readonly frees: TimelineFree[] = [];
  private readonly invalidations: TimelineInvalidation[] = [];
  /** Start time of step n at index n (index 0: boot). */
  private readonly open: (OpenSlice | undefined)[] = [];
  private readonly slices: TimelineSlice[][] = [];
  private readonly objectNames = new Map<number, string>();

  constructor(
    private readonly k: Kernel,
    private readonly clock: StepClock,
  ) {
    this.linkedBy = new Float64Array(k.mem.frames).fill(-1);
    this.linkLevel = new Uint8Array(k.mem.frames);
    this.links = new Uint16Array(k.mem.frames);
    this.top = k.config.pagingLevels;
    this.scan(k.init_mm.pgd, this.top);
    const observer: KernelObserver = {
      pgtableWrite: (level, entryPa, old, value) => this.pgtableWrite(level, entryPa, old, value),
      pagesFreed: (page, order) => this.pagesFreed(page, order),
    };
    k.observers.push(observer);
    clock.stepListeners.push((s) => this.step(s));
    k.iommu.observers.push({ invalidated: (d) => this.invalidated(d) });
  }

  /** Records the links of the tables reachable from `table` (a table of `level`) at attach time. */
  private scan(table: Pa, level: Level): void {
    if (level === 1) return;
    const mem = this.k.mem;
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      const entryPa = table + 8 * i;
      const v = mem.read64(entryPa);
      if (!entry_links_table(v, level)) continue;
      const target = entry_pa(v);
      if (!mem.contains(target) || this.links[target / PAGE_SIZE] > 0) continue;
      this.linkedBy[target / PAGE_SIZE] = entryPa;
      this.linkLevel[target / PAGE_SIZE] = level;
      this.links[target / PAGE_SIZE] = 1;
      this.scan(target, (level - 1) as Level);
    }
  }

  private pgtableWrite(level: Level, entryPa: Pa, old: bigint, value: bigint): void {
    const before = entry_links_table(old, level) ? entry_pa(old) / PAGE_SIZE : -1;
    const after = entry_links_table(value, level) ? entry_pa(value) / PAGE_SIZE : -1;
    if (before === after) return;
    if (after >= 0 && after < this.linkedBy.length) {
      this.linkedBy[after] = entryPa;
      this.linkLevel[after] = level;
      this.links[after]++;
      // Linked again before its free: no longer on its way to the allocator.
      const w = this.windows.get(after);
      if (w !== undefined && w.free < 0) this.windows.delete(after);
    }
    if (before >= 0 && before < this.linkedBy.length && this.links[before] > 0) {
      this.links[before]--;
      if (this.links[before] > 0) return;
      if (!this.windows.has(before) && this.k.pages.shadow[before] !== SHADOW_FREE) this.openWindow(before, level, entryPa);
      this.linkedBy[before] = -1;
    }
  }

  private openWindow(pfn: number, level: Level, entryPa: Pa): Window {
    const va = this.entryVa(entryPa, level);
    const pages = Number(levelSize(level)) / PAGE_SIZE;
    const w: Window = { pfn, level, vpn: va === null ? -1 : vpnOf(va), pages, va, openedNs: this.clock.now, free: -1, invalidation: -1 };
    this.windows.set(pfn, w);
    return w;
  }

  /** The VA the entry at `entryPa` (of a table at `level`) maps, through the recorded links. */
  private entryVa(entryPa: Pa, level: Level): Va | null {
    const table = Math.floor(entryPa / PAGE_SIZE);
    const index = BigInt((entryPa % PAGE_SIZE) / 8);
    let base: Va;
    if (level === this.top) base = 0n;
    else {
      const parent = this.linkedBy[table];
      if (parent < 0 || this.linkLevel[table] !== level + 1) return null;
      const up = this.entryVa(parent, (level + 1) as Level);
      if (up === null) return null;
      base = up;
    }
    return canonical(base + (index << BigInt(levelShift(level))), this.top);
  }

  private pagesFreed(page: number, order: number): void {
    const now = this.clock.now;
    const index = this.frees.length;
    this.frees.push({ pfn: page, order, timeNs: now, step: this.k.exec.stepCount, thread: currentThread(this.k.exec)?.id ?? -1 });
    for (let pfn = page; pfn < page + (1 << order); pfn++) {
      let w = this.windows.get(pfn);
      if (w === undefined) {
        const entry = this.linkedBy[pfn];
        if (this.links[pfn] === 0 || entry < 0) continue;
        // Freed while still linked (its parent entry is cleared later): the window opens now.
        w = this.openWindow(pfn, this.linkLevel[pfn] as Level, entry);
        this.linkedBy[pfn] = -1;
        this.links[pfn] = 0;
      }
      this.windows.delete(pfn);
      w.free = index;
      this.flows.push(w);
      if (w.invalidation < 0) this.waiting.push(w);
    }
  }

  private invalidated(d: Exclude<InvDesc, { type: 'wait' }>): void {
    const exec = this.k.exec;
    const index = this.invalidations.length;
    const base = { timeNs: this.clock.now, step: exec.stepCount, thread: currentThread(exec)?.id ?? -1, pasid: d.pasid };
    if (d.type === 'devtlb') {
      this.invalidations.push({ ...base, kind: 'devtlb', address: hex(d.addr), mask: d.mask, ih: null });
      return;
    }
    if (d.granularity === 'pasid') this.invalidations.push({ ...base, kind: 'piotlb-pasid', address: null, mask: null, ih: null });
    else this.invalidations.push({ ...base, kind: 'piotlb-page', address: hex(BigInt.asUintN(64, d.addr)), mask: d.am, ih: d.ih });
    const covers = (w: Window): boolean => {
      if (d.granularity === 'pasid') return true;
      if (d.ih === 1 || w.vpn < 0) return false;
      const r = piotlbRange(d);
      return r.first < w.vpn + w.pages && w.vpn < r.first + r.pages;
    };
    for (const w of this.windows.values()) if (w.invalidation < 0 && covers(w)) w.invalidation = index;
    let kept = 0;
    for (const w of this.waiting) {
      if (covers(w)) w.invalidation = index;
      else this.waiting[kept++] = w;
    }
    this.waiting.length = kept;
  }

  private step(s: TimedStep): void {
    const t = s.thread;
    const label = s.step.label;
    const open = this.open[t];
    if (open !== undefined && open.label === label) {
      open.end = s.end;
      open.steps++;
      return;
    }
    if (open !== undefined) this.close(t, open);
    this.open[t] = { label, obj: s.step.obj, start: s.start, end: s.end, steps: 1 };
  }

  private close(thread: number, o: OpenSlice): void {
    let object = this.objectNames.get(o.obj);
    if (object === undefined) {
      object = this.k.exec.objects.describe(o.obj);
      this.objectNames.set(o.obj, object);
    }
    (this.slices[thread] ??= []).push({ thread, label: o.label, object, startNs: o.start, endNs: o.end, steps: o.steps });
  }

  /** The timeline once the run ended at `end` ns (after the keeper's finish()); `pending` from the metrics, `starts` the run's step times. */
  result(end: number, pending: Timeline['pending'], starts: StepStarts): Timeline {
    const exec = this.k.exec;
    this.open.forEach((o, t) => {
      if (o !== undefined) this.close(t, o);
    });
    this.open.length = 0;
    const invalidations = this.invalidations;
    const frees = this.frees;
    return {
      version: 1,
      endNs: end,
      threads: exec.threads.map((t) => ({ id: t.id, name: t.name, cpu: t.ctx.cpu, kind: t.ctx.kind })),
      slices: this.slices.flatMap((s) => s ?? []),
      events: starts.stamp(exec.events ?? [], end),
      frees: [...frees],
      invalidations: [...invalidations],
      pending: { timesNs: [...pending.timesNs], pages: [...pending.pages] },
      flows: this.flows.map((w): TimelineFlow => {
        const inv = w.invalidation < 0 ? null : w.invalidation;
        const status: FlowStatus = inv === null ? 'uncovered' : invalidations[inv].step < frees[w.free].step ? 'covered' : 'late';
        return {
          pfn: w.pfn,
          level: w.level,
          va: w.va === null ? null : hex(w.va),
          vaEnd: w.va === null ? null : hex(BigInt.asUintN(64, w.va + levelSize(w.level))),
          windowNs: w.openedNs,
          free: w.free,
          invalidation: inv,
          status,
        };
      }),
      violations: exec.violations.map((v) => ({ ...v, timeNs: starts.timeOf(v.step, v.thread, end) })),
    };
  }
}
