/**
 * What a timed run measures, collected by observers (kernel events, the IOMMU's counters) and by
 * the time keeper's step listener (time-keeper.ts: a timed run's or a replay's) — nothing here
 * changes the model.
 *
 * Pending deferred free. A page-table page is pending from the kernel write that unlinks it (a
 * present non-leaf entry at level > 1 overwritten by anything that no longer points to that
 * table: pmd_clear, pud_clear, a huge leaf) until its frame reaches the allocator (pagesFreed).
 * That is the window the deferred-free designs stretch (docs/kernel/deferred-free.md, The deferred free). Its length stands for the
 * "`*_free` call to allocator" latency: the unlink precedes the *_free call by at most the CPU TLB
 * flush between them (pmd_free_pte_page: pmd_clear, flush_tlb_kernel_range, pte_free_kernel), so
 * the figure includes that flush. A pending table linked again stops being pending without a
 * latency sample. Not pending, and not in the latencies: a table freed without ever being unlinked
 * (one that lost a populate race), and one already back in the allocator when its parent entry is
 * cleared (hot-remove's free_pte_table() frees the table, then clears the PMD): counted apart as
 * freedBeforeUnlink.
 */
import { PAGE_SIZE } from '../hw/address.ts';
import type { IommuStats } from '../hw/iommu.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import type { PgtableShadow } from '../check/index.ts';
import { ModelInvariantError, type Violation } from '../sim/index.ts';
import type { StepClock, TimedStep } from './time-keeper.ts';

export interface LatencySummary {
  readonly count: number;
  readonly mean: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export interface LockMetrics {
  /** The lock's object name (`kernel_pgtable_work.lock`, `iommu_sva_lock`). */
  readonly name: string;
  readonly acquisitions: number;
  readonly waitTotalNs: number;
  readonly waitMaxNs: number;
  readonly holdTotalNs: number;
  readonly holdMaxNs: number;
}

export interface TimedMetrics {
  readonly invalidations: {
    readonly piotlbPasid: number;
    readonly piotlbPage: number;
    /** Legacy IOTLB descriptors (by domain-id, no PASID): domain-selective and page-selective-within-domain. */
    readonly iotlbDomain: number;
    readonly iotlbPage: number;
    readonly devtlb: number;
    readonly wait: number;
    /** IOTLB invalidations (PASID-based and legacy, every granularity) per page-table page freed; null when none was. */
    readonly iotlbPerFreedTable: number | null;
  };
  readonly pageTables: {
    /**
     * Page-table pages that reached the allocator: unlinked then freed (the latency samples), plus
     * freedBeforeUnlink. Both count for invalidations per freed table: a table freed before its
     * parent entry is cleared needs its invalidation all the same.
     */
    readonly freed: number;
    readonly pendingPeakPages: number;
    readonly pendingPeakBytes: number;
    readonly pendingMeanPages: number;
    readonly pendingMeanBytes: number;
    /** Unlinked at the end of the run and never freed. */
    readonly pendingAtEnd: number;
    /** Tables whose parent entry was cleared after the table was already freed. */
    readonly freedBeforeUnlink: number;
    readonly freeLatencyNs: LatencySummary;
    /** Pending pages over time: `pages[i]` from `timesNs[i]` to the next time (0 before the first). */
    readonly pendingSeries: { readonly timesNs: readonly number[]; readonly pages: readonly number[] };
    /** Every unlink-to-allocator latency, ascending (the distribution behind freeLatencyNs). */
    readonly freeLatencySamplesNs: readonly number[];
  };
  readonly work: {
    /** Work-function executions on any workqueue. */
    readonly executions: number;
    /**
     * Executions during which the worker freed no page: a deferred-free work that found its list
     * empty (already drained by an earlier execution), or a work that only invalidates (v3).
     */
    readonly freedNothing: number;
  };
  readonly locks: readonly LockMetrics[];
  readonly iommu: {
    readonly translations: number;
    readonly walks: number;
    readonly iotlbHits: number;
    readonly iotlbMisses: number;
    /** iotlbHits / (iotlbHits + iotlbMisses); null with no translation. */
    readonly iotlbHitRate: number | null;
    /** Paging-structure-cache hits (any level) per IOTLB miss; null with no miss. */
    readonly pscHitRate: number | null;
    readonly faults: number;
  };
  readonly violations: readonly Violation[];
}

/** The nearest-rank percentile (p in (0, 1]) of ascending `sorted`; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

export function summarizeLatencies(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.length === 0 ? null : sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { count: sorted.length, mean, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.length === 0 ? null : sorted[sorted.length - 1] };
}

/**
 * A step function of time: `values[i]` holds from `times[i]` to the next time (0 before the first),
 * the last value up to `end`. Returns its mean over [0, end] (0 when end is 0).
 */
export function timeWeightedMean(times: readonly number[], values: readonly number[], end: number): number {
  if (end <= 0) return 0;
  let area = 0;
  for (let i = 0; i < times.length; i++) {
    const until = i + 1 < times.length ? times[i + 1] : end;
    if (until < times[i] || until > end) throw new ModelInvariantError(`timeline goes back in time at sample ${i}`);
    area += values[i] * (until - times[i]);
  }
  return area / end;
}

const FREE = NaN;

/** Collects the metrics of one timed run; attach before the execution runs. */
export class MetricsCollector {
  /** Unlink time per frame; NaN when the frame is not a pending table. */
  private readonly unlinkedAt: Float64Array;
  private pending = 0;
  private freedBeforeUnlink = 0;
  private peak = 0;
  private readonly times: number[] = [];
  private readonly values: number[] = [];
  private readonly latencies: number[] = [];
  private readonly statsBefore: IommuStats;
  private executions = 0;
  private freedNothing = 0;
  /** Per worker thread id: pages freed in its running work execution; -1 when none runs. */
  private readonly freedInWork = new Map<number, number>();
  private readonly locks = new Map<number, { acquisitions: number; waitTotal: number; waitMax: number; holdTotal: number; holdMax: number }>();
  /** Lock-hold start by (lock object, thread): key obj * 4096 + thread id (ids stay far below 4096). */
  private readonly holdStart = new Map<number, number>();

  /** `shadow`: the world's tracker of page-table lives (World.oracles.shadow), whose unlinks and frees this counts. */
  constructor(
    private readonly k: Kernel,
    private readonly clock: StepClock,
    shadow: PgtableShadow,
  ) {
    this.unlinkedAt = new Float64Array(k.mem.frames).fill(FREE);
    this.statsBefore = structuredClone(k.iommu.stats);
    shadow.listeners.push({
      unlinked: (pfn) => {
        this.unlinkedAt[pfn] = this.clock.now;
        this.record(+1);
      },
      relinked: (pfn) => {
        this.unlinkedAt[pfn] = FREE;
        this.record(-1);
      },
      freed: (pfn) => {
        const at = this.unlinkedAt[pfn];
        if (Number.isNaN(at)) return;
        this.unlinkedAt[pfn] = FREE;
        this.latencies.push(this.clock.now - at);
        this.record(-1);
      },
      staleEntryCleared: () => {
        this.freedBeforeUnlink++;
      },
    });
    k.observers.push({ pagesFreed: (_page, order) => this.countWorkFrees(order) });
    clock.stepListeners.push((s) => this.step(s));
  }

  /** Pages freed inside a work execution (work.freedNothing). */
  private countWorkFrees(order: number): void {
    const current = this.k.exec.current.id;
    const inWork = this.freedInWork.get(current);
    if (inWork !== undefined && inWork >= 0) this.freedInWork.set(current, inWork + (1 << order));
  }

  private record(delta: number): void {
    this.pending += delta;
    this.peak = Math.max(this.peak, this.pending);
    const now = this.clock.now;
    if (this.times.length > 0 && this.times[this.times.length - 1] === now) this.values[this.values.length - 1] = this.pending;
    else {
      this.times.push(now);
      this.values.push(this.pending);
    }
  }

  /** Work executions by their workqueue steps (src/kernel/kernel/workqueue.ts), locks by acquire/release steps. */
  private step(s: TimedStep): void {
    const label = s.step.label;
    if (label === 'set_work_pool_and_clear_pending') {
      this.executions++;
      this.freedInWork.set(s.thread, 0);
    } else if (label === 'process_one_work') {
      if (this.freedInWork.get(s.thread) === 0) this.freedNothing++;
      this.freedInWork.set(s.thread, -1);
    }
    const access = s.step.access;
    if (access !== 'acquire' && access !== 'release') return;
    const obj = s.step.obj;
    const key = obj * 4096 + s.thread;
    let lock = this.locks.get(obj);
    if (lock === undefined) {
      lock = { acquisitions: 0, waitTotal: 0, waitMax: 0, holdTotal: 0, holdMax: 0 };
      this.locks.set(obj, lock);
    }
    if (access === 'acquire') {
      const wait = s.start - s.ready;
      lock.acquisitions++;
      lock.waitTotal += wait;
      lock.waitMax = Math.max(lock.waitMax, wait);
      this.holdStart.set(key, s.end);
    } else {
      const from = this.holdStart.get(key);
      if (from === undefined) return;
      this.holdStart.delete(key);
      const hold = s.start - from;
      lock.holdTotal += hold;
      lock.holdMax = Math.max(lock.holdMax, hold);
    }
  }

  /** The metrics once the run ended at `end` ns. */
  result(end: number): TimedMetrics {
    const s = this.k.iommu.stats;
    const b = this.statsBefore;
    const inv = (kind: keyof IommuStats['invalidations']) => s.invalidations[kind] - b.invalidations[kind];
    const freed = this.latencies.length + this.freedBeforeUnlink;
    const iotlb = inv('piotlb-pasid') + inv('piotlb-page') + inv('iotlb-domain') + inv('iotlb-page');
    const meanPages = timeWeightedMean(this.times, this.values, end);
    const hits = s.iotlbHits - b.iotlbHits;
    const misses = s.iotlbMisses - b.iotlbMisses;
    const psc = ([2, 3, 4, 5] as const).reduce((sum, l) => sum + s.pscHits[l] - b.pscHits[l], 0);
    const objects = this.k.exec.objects;
    const locks = [...this.locks.entries()]
      .map(([obj, l]): LockMetrics => ({
        name: objects.describe(obj),
        acquisitions: l.acquisitions,
        waitTotalNs: l.waitTotal,
        waitMaxNs: l.waitMax,
        holdTotalNs: l.holdTotal,
        holdMaxNs: l.holdMax,
      }))
      .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    return {
      invalidations: {
        piotlbPasid: inv('piotlb-pasid'),
        piotlbPage: inv('piotlb-page'),
        iotlbDomain: inv('iotlb-domain'),
        iotlbPage: inv('iotlb-page'),
        devtlb: inv('devtlb'),
        wait: inv('wait'),
        iotlbPerFreedTable: freed === 0 ? null : iotlb / freed,
      },
      pageTables: {
        freed,
        pendingPeakPages: this.peak,
        pendingPeakBytes: this.peak * PAGE_SIZE,
        pendingMeanPages: meanPages,
        pendingMeanBytes: meanPages * PAGE_SIZE,
        pendingAtEnd: this.pending,
        freedBeforeUnlink: this.freedBeforeUnlink,
        freeLatencyNs: summarizeLatencies(this.latencies),
        pendingSeries: { timesNs: [...this.times], pages: [...this.values] },
        freeLatencySamplesNs: [...this.latencies].sort((a, b) => a - b),
      },
      work: { executions: this.executions, freedNothing: this.freedNothing },
      locks,
      iommu: {
        translations: s.translations - b.translations,
        walks: s.walks - b.walks,
        iotlbHits: hits,
        iotlbMisses: misses,
        iotlbHitRate: hits + misses === 0 ? null : hits / (hits + misses),
        pscHitRate: misses === 0 ? null : psc / misses,
        faults: s.faults - b.faults,
      },
      violations: [...this.k.exec.violations],
    };
  }
}
