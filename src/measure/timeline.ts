/**
 * The timeline of one timed execution (a timed run or a timed replay), for the Perfetto trace
 * (src/report/perfetto.ts): which thread ran which kernel function or hardware event when, the page
 * frees, the IOMMU invalidations as processed, the trace events and violations in simulated time,
 * and one flow per freed page-table page pairing its free with the invalidation that covers it.
 * Like MetricsCollector it only observes (kernel observer, step listener), attached when asked.
 *
 * Flows. One per freed page-table page, pairing its free with the invalidation that covers it, as
 * the `iommu-uncovered-free` oracle judges it (src/check/iommu-hazard.ts: the window opens at the
 * unlink, or at the free for a table freed still linked; a cover is PASID-selective, or
 * page-selective with IH = 0 over the table's VA range, for every PASID that could reach it):
 * `covered` when the cover completed, ordered before the free (a correct design); `late` when a
 * covering invalidation came only after the free (v3: the page reached the allocator while the IOMMU
 * could still walk it); `uncovered` when none came before the end (immediate). One judgement, so
 * the trace's labels and the checker's verdict cannot disagree.
 *
 * Invalidations come from the IOMMU's `invalidated` observer, in the step that processed each
 * descriptor.
 */
import { hex, levelSize, type Level } from '../hw/address.ts';
import { amdInvOrder, descKind, type InvDesc, type InvDescKind } from '../hw/index.ts';
import type { CoverStatus, IommuHazard } from '../check/index.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { currentThread } from '../kernel/include/linux/mm_types.ts';
import { ModelInvariantError } from '../sim/index.ts';
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
  /** null: a legacy IOTLB descriptor, which names no PASID (every PASID of its domain). */
  readonly pasid: number | null;
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

export type FlowStatus = CoverStatus;

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

interface OpenSlice {
  label: string;
  obj: number;
  start: number;
  end: number;
  steps: number;
}

/** Records the timeline of one execution; attach after the world is built, before it runs. */
export class TimelineRecorder {
  private readonly frees: TimelineFree[] = [];
  private readonly invalidations: TimelineInvalidation[] = [];
  /** Start time of step n at index n (index 0: boot). */
  private readonly open: (OpenSlice | undefined)[] = [];
  private readonly slices: TimelineSlice[][] = [];
  private readonly objectNames = new Map<number, string>();

  /** `hazard`: the world's oracle (World.oracles.hazard), whose judgement of each freed table the flows show. */
  constructor(
    private readonly k: Kernel,
    private readonly clock: StepClock,
    private readonly hazard: IommuHazard,
  ) {
    k.observers.push({ pagesFreed: (page, order) => this.pagesFreed(page, order) });
    clock.stepListeners.push((s) => this.step(s));
    k.iommu.observers.push({ invalidated: (d) => this.invalidated(d) });
  }

  private pagesFreed(page: number, order: number): void {
    this.frees.push({ pfn: page, order, timeNs: this.clock.now, step: this.k.exec.stepCount, thread: currentThread(this.k.exec)?.id ?? -1 });
  }

  private invalidated(d: Exclude<InvDesc, { type: 'wait' }>): void {
    const exec = this.k.exec;
    const base = { timeNs: this.clock.now, step: exec.stepCount, thread: currentThread(exec)?.id ?? -1, pasid: d.type === 'iotlb' ? null : d.pasid, kind: descKind(d) as TimelineInvalidation['kind'] };
    if (d.type === 'devtlb') this.invalidations.push({ ...base, address: hex(d.addr), mask: d.mask, ih: null });
    else if (d.type === 'amd-inv-iommu-pages' || d.type === 'amd-inv-iotlb-pages') this.invalidations.push({ ...base, address: hex(d.address), mask: amdInvOrder(d.address, d.s), ih: null });
    else if ((d.type === 'piotlb' || d.type === 'iotlb') && d.granularity === 'page') this.invalidations.push({ ...base, address: hex(BigInt.asUintN(64, d.addr)), mask: d.am, ih: d.ih });
    else this.invalidations.push({ ...base, address: null, mask: null, ih: null });
  }

  /** The flows, from the hazard oracle's judgement of every freed page-table page. */
  private flows(end: number, starts: StepStarts): TimelineFlow[] {
    if (this.hazard.invalidations.length !== this.invalidations.length) {
      throw new ModelInvariantError(`timeline: ${this.invalidations.length} invalidations recorded, the hazard oracle saw ${this.hazard.invalidations.length}`);
    }
    const freeAt = new Map<number, number>();
    this.frees.forEach((f, i) => {
      if (!freeAt.has(f.step)) freeAt.set(f.step, i);
    });
    return this.hazard.frees.map((t): TimelineFlow => {
      let free = freeAt.get(t.freeStep) ?? -1;
      while (free >= 0 && free < this.frees.length && !(this.frees[free].pfn <= t.pfn && t.pfn < this.frees[free].pfn + (1 << this.frees[free].order))) free++;
      if (free < 0 || free >= this.frees.length) throw new ModelInvariantError(`timeline: no free recorded for page-table pfn ${hex(t.pfn)} at step ${t.freeStep}`);
      const cover = this.hazard.flowCover(t);
      return {
        pfn: t.pfn,
        level: t.level,
        va: t.va === null ? null : hex(t.va),
        vaEnd: t.va === null ? null : hex(BigInt.asUintN(64, t.va + levelSize(t.level))),
        windowNs: starts.timeOf(t.unlinkStep >= 0 ? t.unlinkStep : t.freeStep, '', end),
        free,
        invalidation: cover < 0 ? null : cover,
        status: t.status,
      };
    });
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
      flows: this.flows(end, starts),
      violations: exec.violations.map((v) => ({ ...v, timeNs: starts.timeOf(v.step, v.thread, end) })),
    };
  }
}
