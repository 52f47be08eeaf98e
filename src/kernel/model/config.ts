/**
 * The build and machine configuration of the modelled kernel: what a .config and the hardware
 * decide. Scenarios set these; defaults are small enough for exhaustive checking.
 */
import type { PagingLevels } from '../../hw/address.ts';
import type { PreemptMode } from '../../sim/index.ts';

/**
 * Widths of the page->flags fields (include/linux/page-flags-layout.h). Page flags take the low
 * NR_PAGEFLAGS bits; SECTION, NODE, ZONE and LAST_CPUPID are packed downwards from bit 63. A field
 * of width 0 is not in page->flags on this configuration.
 */
export interface PageFlagsConfig {
  readonly NR_PAGEFLAGS: number;
  readonly SECTIONS_WIDTH: number;
  readonly NODES_WIDTH: number;
  readonly ZONES_WIDTH: number;
  readonly LAST_CPUPID_WIDTH: number;
}

export interface IommuCacheConfig {
  /** Entries in each first-stage paging-structure cache and in the IOTLB; 0 disables that cache. */
  readonly pml5: number;
  readonly pml4: number;
  readonly pdpt: number;
  readonly pde: number;
  readonly iotlb: number;
  /** Entries in the device's ATS translation cache (device TLB); 0 means the device has no ATS. */
  readonly devtlb: number;
  /** Let the IOMMU walk the next page speculatively after a translation (a recorded choice). */
  readonly speculate?: boolean;
  /** Whose IOMMU: intel (VT-d, the default) or amd (AMD-Vi: device table, GCR3 tables, its commands). */
  readonly kind?: 'intel' | 'amd';
  /** Whether a legacy IOTLB invalidation drops first-stage paging-structure entries; unset: a recorded choice (src/hw/iommu.ts). */
  readonly legacyFlushesPagingStructures?: boolean;
  /** CAP.PSI and CAP.MAMV: page-selective invalidation, and its largest address mask (default 18). */
  readonly pgselInv?: boolean;
  readonly mamv?: number;
}

export interface KernelConfig {
  readonly cpus: number;
  /** When a task may lose its CPU to another task of that CPU (default full: the most interleavings). */
  readonly preempt: PreemptMode;
  /**
   * Give each store of a list helper on a shared list a step of its own (list_step()), to explore
   * what a data race on the list does; unset, a helper runs whole in its step, which loses nothing
   * where no data race on the list is reported (docs/kernel/preemption-and-races.md, Torn lists).
   * Optional so that configurations without it keep their hash, and so their tokens.
   */
  readonly tornLists?: boolean;
  /** Simulated physical memory in 4 KiB frames (must cover the zones below). */
  readonly frames: number;
  readonly pagingLevels: PagingLevels;
  readonly pageFlags: PageFlagsConfig;
  readonly iommu: IommuCacheConfig;
  /** CPU TLB entries per CPU and paging-structure cache entries per level per CPU. */
  readonly cpuTlbEntries: number;
  readonly cpuPscEntries: number;
  /** x86 tlb_single_page_flush_ceiling: ranges above this many pages get a full flush. */
  readonly tlbSinglePageFlushCeiling: number;
  /** Number of kworker threads serving the system workqueues. */
  readonly kworkers: number;
  /** Make every GFP_ATOMIC allocation a recorded choice between success and failure. */
  readonly failAtomicAllocations: boolean;

  /* Memory hotplug (memory-hotplug.ts). */
  /**
   * PAGES_PER_SECTION: frames per memory section, the unit of add_memory()/remove_memory(); a
   * multiple of 512 so a section's direct map is whole 2 MiB PMD entries.
   */
  readonly sectionFrames: number;
  /**
   * Sections at the top of physical memory that are absent at boot: not direct-mapped, never given
   * to the buddy allocator, struct pages PageReserved, until add_memory() brings them in.
   * Requires frames to be a whole number of sections and the range to lie in ZONE_NORMAL.
   */
  readonly hotplugSections: number;
  /**
   * Map the direct map with 4 KiB pages only, as CONFIG_DEBUG_PAGEALLOC forces
   * (init_memory_mapping() drops the 2M/1G page sizes), so the direct map has PTE tables that
   * hot-remove frees; false: 2 MiB leaves wherever a whole aligned 2 MiB is mapped.
   */
  readonly directMap4k: boolean;
}

/**
 * x86-64 defaults in the syzbot dump layout of docs/kernel/page-flags-and-allocator.md, Layout:
 * LAST_CPUPID at bits 44-54, ZONE at 55-56, NODE at 57-63.
 */
export const DEFAULT_PAGE_FLAGS: PageFlagsConfig = {
  NR_PAGEFLAGS: 22,
  SECTIONS_WIDTH: 0,
  NODES_WIDTH: 7,
  ZONES_WIDTH: 2,
  LAST_CPUPID_WIDTH: 11,
};

export const DEFAULT_CONFIG: KernelConfig = {
  cpus: 2,
  preempt: 'full',
  frames: 2048,
  pagingLevels: 4,
  pageFlags: DEFAULT_PAGE_FLAGS,
  iommu: { pml5: 4, pml4: 4, pdpt: 8, pde: 16, iotlb: 64, devtlb: 0 },
  cpuTlbEntries: 64,
  cpuPscEntries: 16,
  tlbSinglePageFlushCeiling: 33,
  kworkers: 2,
  failAtomicAllocations: false,
  sectionFrames: 512,
  hotplugSections: 0,
  directMap4k: false,
};
