/**
 * The cost model of a timed run: how many simulated nanoseconds each kind of step costs. A step is
 * costed by its label (the Linux function or hardware event it names), else by what it touches
 * (a frame: a page-table entry or page access; another object: plain memory) and how.
 *
 * The defaults are orders of magnitude for a current x86 server with a VT-d IOMMU and a PCIe device
 * doing ATS. None is a measurement of this model's workloads; each says where its figure comes from
 * and which are assumptions. Every one can be overridden from a YAML or JSON file (loadCostModel).
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FRAME_OBJECT_LIMIT, type Step } from '../sim/index.ts';

export interface CostModel {
  /** alloc_pages (zone lock, take a block): order of magnitude of order-0 page-allocator fast paths (Mel Gorman's mm page-alloc microbenchmarks: 100–300 ns per alloc+free). */
  readonly pageAlloc: number;
  /** clear_page of 4 KiB: a 4 KiB memset at ~40 GB/s store bandwidth (assumption: cache-resident). */
  readonly pageClear: number;
  /** __free_pages / free_one_page (zone lock, merge buddies): same source as pageAlloc. */
  readonly pageFree: number;
  /** kernel_poison_pages of 4 KiB: a 4 KiB memset, as pageClear. */
  readonly pagePoison: number;
  /** One CPU's part of an IPI TLB shootdown (do_flush_tlb_all / do_kernel_range_flush): 1–3 µs per remote CPU, order of magnitude from published TLB-shootdown studies (Amit et al., "Optimizing the TLB Shootdown Algorithm with Page Access Tracking", USENIX ATC 2017). */
  readonly ipiTlbFlushPerCpu: number;
  /** A PASID-selective PASID-based-IOTLB invalidation descriptor (qi_flush_piotlb, granularity PASID): order of magnitude of VT-d queued-invalidation processing (Malka et al., "rIOMMU", ASPLOS 2015: ~1–2 k cycles per IOTLB invalidation); assumption for the split between kinds. */
  readonly iommuInvPasid: number;
  /** A page-selective PASID-based-IOTLB invalidation descriptor: same source; assumed a little cheaper than PASID-selective. */
  readonly iommuInvPage: number;
  /** A device-TLB (ATS) invalidation: a PCIe round trip to the device and its completion message, several µs (PCIe ATS spec allows far more; assumption: 3 µs). */
  readonly iommuInvDevtlb: number;
  /** The invalidation wait descriptor (qi_inv_wait): status write-back and polling, order of magnitude from the same rIOMMU figures. */
  readonly iommuInvWait: number;
  /** Workqueue wake-up latency, queue_work → the kworker's worker_thread step: scheduler wake-up latency of an idle kworker, tens of µs on a loaded system (cyclictest-style figures; assumption: 20 µs). Not CPU time. */
  readonly workqueueWakeup: number;
  /** An uncontended lock acquire (an atomic on a cache-resident line): ~20 ns. */
  readonly lockAcquire: number;
  /** A lock release: ~10 ns. */
  readonly lockRelease: number;
  /** Extra cost of taking a lock another thread just released (the cache line moves between cores): ~100 ns cross-core, order of magnitude from core-to-core latency measurements. */
  readonly lockHandoff: number;
  /** A kernel read of a page-table entry or other frame word (pmdp_get, ...): an L1/L2 hit, ~5 ns. */
  readonly pteRead: number;
  /** A kernel write of a page-table entry or frame word (set_pmd, pmd_clear, ...): ~5 ns. */
  readonly pteWrite: number;
  /** iommu_translate: the IOTLB lookup of a request, ~10 ns (assumption). */
  readonly iommuLookup: number;
  /** One level of an IOMMU page walk (iommu_walk_level): a memory read from the IOMMU, DRAM latency ~100–150 ns. */
  readonly iommuWalkLevel: number;
  /** Filling the IOMMU's caches after a walk (iommu_cache_fill): ~5 ns (assumption). */
  readonly iommuCacheFill: number;
  /** A CPU TLB lookup (cpu_tlb_lookup): ~1 ns. */
  readonly cpuTlbLookup: number;
  /** One level of a CPU page walk (cpu_walk_level): mostly cache hits, ~10 ns. */
  readonly cpuWalkLevel: number;
  /** A device-TLB lookup or fill in the device (ats_devtlb_lookup / ats_devtlb_fill): ~5 ns (assumption). */
  readonly devtlbLookup: number;
  /** A DMA read or write of the translated address: a PCIe memory transaction, ~500 ns–1 µs round trip (order of magnitude). */
  readonly dma: number;
  /** Any other step that reads shared state: ~5 ns. */
  readonly otherRead: number;
  /** Any other step that writes shared state: ~5 ns. */
  readonly otherWrite: number;
  /** A step that touches nothing shared: ~1 ns. */
  readonly otherLocal: number;
}

export const DEFAULT_COSTS: CostModel = {
  pageAlloc: 150,
  pageClear: 100,
  pageFree: 150,
  pagePoison: 100,
  ipiTlbFlushPerCpu: 1500,
  iommuInvPasid: 800,
  iommuInvPage: 600,
  iommuInvDevtlb: 3000,
  iommuInvWait: 1000,
  workqueueWakeup: 20_000,
  lockAcquire: 20,
  lockRelease: 10,
  lockHandoff: 100,
  pteRead: 5,
  pteWrite: 5,
  iommuLookup: 10,
  iommuWalkLevel: 120,
  iommuCacheFill: 5,
  cpuTlbLookup: 1,
  cpuWalkLevel: 10,
  devtlbLookup: 5,
  dma: 600,
  otherRead: 5,
  otherWrite: 5,
  otherLocal: 1,
};

const ns = z.number().finite().min(0).max(1e12);

/** A cost file: any subset of the costs, in ns; unknown keys are refused. */
export const costFileSchema = z.strictObject(Object.fromEntries(Object.keys(DEFAULT_COSTS).map((key) => [key, ns.optional()])) as Record<keyof CostModel, z.ZodOptional<typeof ns>>);

export class CostModelError extends Error {
  override readonly name = 'CostModelError';
}

/** Parses a YAML or JSON cost file over the defaults; errors name `origin` and the field. */
export function loadCostModel(text: string, origin: string): CostModel {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new CostModelError(`${origin}: not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = costFileSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue.code === 'unrecognized_keys') throw new CostModelError(`${origin}: ${issue.keys.join(', ')}: unknown cost (expected one of ${Object.keys(DEFAULT_COSTS).join(', ')})`);
    const field = issue.path.map(String).join('.');
    if (field === '') throw new CostModelError(`${origin}: (top level): ${issue.message}`);
    const received = (doc as Record<string, unknown>)[field];
    throw new CostModelError(`${origin}: ${field}: ${issue.message}, got ${JSON.stringify(received)}`);
  }
  const overrides = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_COSTS, ...overrides };
}

/** The costs of the steps named by label; the rest fall back to access kind (stepCost). */
function labelCosts(c: CostModel): Map<string, number> {
  return new Map<string, number>([
    ['alloc_pages', c.pageAlloc],
    ['clear_page', c.pageClear],
    ['__free_pages', c.pageFree],
    ['free_one_page', c.pageFree],
    ['__free_pages_core', c.pageFree],
    ['kernel_poison_pages', c.pagePoison],
    ['do_flush_tlb_all', c.ipiTlbFlushPerCpu],
    ['do_kernel_range_flush', c.ipiTlbFlushPerCpu],
    // The label does not say the granularity: page-selective here; TimedScheduler.costOf charges
    // PASID-selective descriptors their own cost.
    ['qi_piotlb_inv', c.iommuInvPage],
    // The legacy descriptor: domain-selective drops a whole domain's entries as a PASID-selective
    // one drops a PASID's (assumption: the same cost); page-selective as page-selective.
    ['qi_iotlb_dsi', c.iommuInvPasid],
    ['qi_iotlb_psi', c.iommuInvPage],
    ['qi_dev_iotlb_inv', c.iommuInvDevtlb],
    ['qi_inv_wait', c.iommuInvWait],
    ['worker_thread', c.workqueueWakeup],
    ['iommu_translate', c.iommuLookup],
    ['iommu_walk_level', c.iommuWalkLevel],
    ['iommu_walk_set_ad', c.iommuWalkLevel],
    ['iommu_cache_fill', c.iommuCacheFill],
    ['cpu_tlb_lookup', c.cpuTlbLookup],
    ['cpu_walk_level', c.cpuWalkLevel],
    ['cpu_walk_set_ad', c.cpuWalkLevel],
    ['ats_devtlb_lookup', c.devtlbLookup],
    ['ats_devtlb_fill', c.devtlbLookup],
    ['dma_read', c.dma],
    ['dma_write', c.dma],
  ]);
}

/** Steps whose cost is a delay before the thread runs, not time spent on its CPU. */
export const LATENCY_LABELS: ReadonlySet<string> = new Set(['worker_thread']);

/** A cost model compiled for lookups on every step. */
export class StepCosts {
  private readonly byLabel: Map<string, number>;

  constructor(readonly model: CostModel) {
    this.byLabel = labelCosts(model);
  }

  /** The ns a step costs; `handedOff`: an acquire that waited for another thread's release. */
  of(s: Step, handedOff: boolean): number {
    const labelled = this.byLabel.get(s.label);
    if (labelled !== undefined) return labelled;
    const m = this.model;
    switch (s.access) {
      case 'acquire':
        return m.lockAcquire + (handedOff ? m.lockHandoff : 0);
      case 'release':
        return m.lockRelease;
      case 'read':
        return s.obj >= 0 && s.obj < FRAME_OBJECT_LIMIT ? m.pteRead : m.otherRead;
      case 'write':
        return s.obj >= 0 && s.obj < FRAME_OBJECT_LIMIT ? m.pteWrite : m.otherWrite;
      case 'local':
        return m.otherLocal;
    }
  }
}
