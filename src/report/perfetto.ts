/**
 * A timeline (src/measure/timeline.ts) as a Chrome trace — the Trace Event Format's "JSON Object
 * Format", `{ traceEvents, displayTimeUnit, metadata }` — which ui.perfetto.dev and chrome://tracing
 * open. Pure and deterministic: the same timeline gives the same bytes.
 *
 * Layout: one process per machine (a run, or each replay of a check file); in it one thread track
 * per simulated thread (CPU tasks, interrupt handlers, kworkers, devices) in spawn order, then one
 * for the IOMMU. On a thread's track: `X` slices, one per run of steps with the same label (the
 * kernel function or hardware event), and `i` instants for the page frees it made. On the IOMMU's
 * track: an `i` instant per invalidation descriptor processed (kind, PASID, address, mask, IH).
 * Process-wide `C` counters: pending page-table pages and bytes. Violations: global `i` instants
 * carrying the report.
 *
 * Flows: for each freed page-table page with a covering invalidation (timeline.ts says which), an
 * arrow from that invalidation (`s`, bound to the slice of the thread that submitted it, which
 * processed it) to the page's free to the allocator (`f`, bp "e": bound to the freeing step's
 * slice). A correct design invalidates first, so its arrows point forward; v3 frees first, so its
 * arrows point backwards in time — Perfetto imports events in time order and drops a flow whose
 * end it meets before its start (its stat flow_end_without_start), so there they are missing — and
 * immediate never invalidates, so it has none. Each page-table free instant says which case it is, by name and args.
 * Slices are written before instants and flows: at equal times a viewer that keeps file order has
 * the slice open when a flow binds to it.
 *
 * Times: `ts` and `dur` are in µs in this format; simulated ns / 1000 keeps ns precision as decimals.
 */
import { PAGE_SIZE } from '../hw/address.ts';
import type { FlowStatus, Timeline, TimelineFree, TimelineInvalidation } from '../measure/timeline.ts';

/** One trace event; which fields a phase needs is checked by the tests' schema. */
export interface ChromeTraceEvent {
  readonly name: string;
  readonly ph: 'X' | 'i' | 'C' | 'M' | 's' | 'f';
  readonly ts: number;
  readonly pid: number;
  readonly tid: number;
  readonly cat?: string;
  readonly dur?: number;
  /** Instant scope: thread or global. */
  readonly s?: 't' | 'g';
  readonly id?: number;
  readonly bp?: 'e';
  readonly args?: Readonly<Record<string, unknown>>;
}

export interface ChromeTrace {
  readonly traceEvents: readonly ChromeTraceEvent[];
  readonly displayTimeUnit: 'ns';
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface PerfettoSource {
  /** `kptsim run` or `kptsim replay`. */
  readonly command: string;
  readonly design: string;
  readonly scenario: string;
  readonly seed?: number;
  readonly timeline: Timeline;
}

/**
 * Thread ids are system-wide in Perfetto's model (a tid seen under another pid is another thread),
 * so each machine's tids live in a block of their own: TIDS_PER_MACHINE * pid + its local number
 * (0: events outside any thread — boot, quiescence checks; then the threads, then the IOMMU).
 */
const TIDS_PER_MACHINE = 1000;

const us = (ns: number) => ns / 1000;

export const PENDING_PAGES = 'pending page tables';
export const PENDING_BYTES = 'pending page-table memory';

const INVALIDATION_NAMES: Readonly<Record<TimelineInvalidation['kind'], string>> = {
  'piotlb-pasid': 'PASID-selective IOTLB invalidation',
  'piotlb-page': 'page-selective IOTLB invalidation',
  'iotlb-domain': 'domain-selective IOTLB invalidation (legacy descriptor)',
  'iotlb-page': 'page-selective-within-domain IOTLB invalidation (legacy descriptor)',
  devtlb: 'device-TLB invalidation',
};

const FLOW_WORDS: Readonly<Record<FlowStatus, string>> = {
  covered: 'covered: the IOMMU was invalidated before the free',
  late: 'LATE: freed before its IOMMU invalidation (the IOMMU could still walk it)',
  uncovered: 'UNCOVERED: no IOMMU invalidation covers it',
};

/**
 * The trace of one timeline, or of several (a replay of a check --json file with several
 * violations): each is its own process, numbered in the order given.
 */
export function perfettoTrace(sources: PerfettoSource | readonly PerfettoSource[]): ChromeTrace {
  const all: readonly PerfettoSource[] = Array.isArray(sources) ? sources : [sources as PerfettoSource];
  const events: ChromeTraceEvent[] = [];
  let flowIds = 0;
  const runs = all.map((src, i) => {
    flowIds = machineEvents(src, i + 1, flowIds, events);
    return metadataOf(src);
  });
  return { traceEvents: events, displayTimeUnit: 'ns', metadata: runs.length === 1 ? runs[0] : { runs } };
}

/** The trace as the text of a .json file. */
export function perfettoJson(sources: PerfettoSource | readonly PerfettoSource[]): string {
  return JSON.stringify(perfettoTrace(sources)) + '\n';
}

function metadataOf(src: PerfettoSource): Record<string, unknown> {
  const flows = src.timeline.flows;
  const count = (status: FlowStatus) => flows.filter((f) => f.status === status).length;
  return {
    generator: src.command,
    design: src.design,
    scenario: src.scenario,
    ...(src.seed === undefined ? {} : { seed: src.seed }),
    simulatedNs: src.timeline.endNs,
    pageTableFrees: { covered: count('covered'), late: count('late'), uncovered: count('uncovered') },
  };
}

/** Appends the events of one machine as process `pid`, flow ids after `flowIds`; returns the last flow id used. */
function machineEvents(src: PerfettoSource, pid: number, flowIds: number, events: ChromeTraceEvent[]): number {
  const t = src.timeline;
  if (t.threads.length + 2 > TIDS_PER_MACHINE) throw new RangeError(`perfetto: ${t.threads.length} threads do not fit a machine's block of thread ids`);
  const MACHINE_TID = TIDS_PER_MACHINE * pid;
  const iommuTid = MACHINE_TID + t.threads.length + 1;
  const tidOf = (thread: number) => (thread < 0 ? MACHINE_TID : MACHINE_TID + thread + 1);
  const meta = (name: string, tid: number, args: Record<string, unknown>) => events.push({ name, ph: 'M', ts: 0, pid, tid, args });

  meta('process_name', MACHINE_TID, { name: `kptsim: ${src.design} on ${src.scenario}` });
  meta('process_sort_index', MACHINE_TID, { sort_index: pid });
  const outsideThreads = t.frees.some((f) => f.thread < 0) || t.invalidations.some((i) => i.thread < 0);
  if (outsideThreads) meta('thread_name', MACHINE_TID, { name: 'boot / quiescence' });
  for (const th of t.threads) {
    const where = th.cpu < 0 ? th.kind : `${th.kind} on cpu${th.cpu}`;
    meta('thread_name', tidOf(th.id), { name: `${th.name} (${where})` });
    meta('thread_sort_index', tidOf(th.id), { sort_index: th.id + 1 });
  }
  meta('thread_name', iommuTid, { name: 'iommu (invalidations processed)' });
  meta('thread_sort_index', iommuTid, { sort_index: t.threads.length + 1 });

  for (const s of t.slices) {
    events.push({ name: s.label, cat: 'step', ph: 'X', ts: us(s.startNs), dur: us(s.endNs - s.startNs), pid, tid: tidOf(s.thread), args: { object: s.object, steps: s.steps } });
  }

  const flowOfFree = new Map<number, Timeline['flows'][number][]>();
  for (const f of t.flows) {
    const list = flowOfFree.get(f.free);
    if (list === undefined) flowOfFree.set(f.free, [f]);
    else list.push(f);
  }
  t.frees.forEach((f, i) => events.push(freeEvent(f, flowOfFree.get(i) ?? [], t, pid, tidOf(f.thread))));

  for (const inv of t.invalidations) {
    const args: Record<string, unknown> = { kind: inv.kind, pasid: inv.pasid, submittedBy: inv.thread < 0 ? 'none' : t.threads[inv.thread].name };
    if (inv.address !== null) args.address = inv.address;
    if (inv.mask !== null) args.mask = inv.mask;
    if (inv.ih !== null) args.ih = inv.ih;
    events.push({ name: INVALIDATION_NAMES[inv.kind], cat: 'invalidation', ph: 'i', s: 't', ts: us(inv.timeNs), pid, tid: iommuTid, args });
  }

  const { timesNs, pages } = t.pending;
  for (let i = 0; i < timesNs.length; i++) {
    // A viewer names a counter track "<name> <arg>": "pending page tables pages", "... memory bytes".
    events.push({ name: PENDING_PAGES, cat: 'pending', ph: 'C', ts: us(timesNs[i]), pid, tid: MACHINE_TID, args: { pages: pages[i] } });
    events.push({ name: PENDING_BYTES, cat: 'pending', ph: 'C', ts: us(timesNs[i]), pid, tid: MACHINE_TID, args: { bytes: pages[i] * PAGE_SIZE } });
  }

  t.flows.forEach((f) => {
    if (f.invalidation === null) return;
    const id = ++flowIds;
    const inv = t.invalidations[f.invalidation];
    const free = t.frees[f.free];
    const name = `invalidation covers page-table page 0x${f.pfn.toString(16)}`;
    events.push({ name, cat: `flow-${f.status}`, ph: 's', id, bp: 'e', ts: us(inv.timeNs), pid, tid: tidOf(inv.thread) });
    events.push({ name, cat: `flow-${f.status}`, ph: 'f', id, bp: 'e', ts: us(free.timeNs), pid, tid: tidOf(free.thread) });
  });

  for (const v of t.violations) {
    events.push({
      name: `${v.kind}: ${v.title}`,
      cat: 'violation',
      ph: 'i',
      s: 'g',
      ts: us(v.timeNs),
      pid,
      tid: MACHINE_TID,
      args: { kind: v.kind, title: v.title, details: v.details.join('\n'), thread: v.thread, step: v.step },
    });
  }

  return flowIds;
}

function freeEvent(f: TimelineFree, flows: readonly Timeline['flows'][number][], t: Timeline, pid: number, tid: number): ChromeTraceEvent {
  const args: Record<string, unknown> = { pfn: `0x${f.pfn.toString(16)}`, order: f.order };
  if (flows.length === 0) return { name: 'pages freed', cat: 'free', ph: 'i', s: 't', ts: us(f.timeNs), pid, tid, args };
  // A page-table page (a block of them in one free is possible, each with its own flow).
  args.pageTables = flows.map((fl) => ({
    pfn: `0x${fl.pfn.toString(16)}`,
    ...(fl.va === null ? {} : { va: fl.va, vaEnd: fl.vaEnd }),
    unlinkedAtUs: us(fl.windowNs),
    status: FLOW_WORDS[fl.status],
    ...(fl.invalidation === null ? {} : { invalidationAtUs: us(t.invalidations[fl.invalidation].timeNs) }),
  }));
  const worst = flows.some((fl) => fl.status === 'uncovered') ? 'uncovered' : flows.some((fl) => fl.status === 'late') ? 'late' : 'covered';
  const name = worst === 'covered' ? 'page-table page freed' : worst === 'late' ? 'page-table page freed BEFORE its IOMMU invalidation' : 'page-table page freed, never invalidated';
  return { name, cat: 'free', ph: 'i', s: 't', ts: us(f.timeNs), pid, tid, args };
}
