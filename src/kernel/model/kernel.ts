/**
 * The modelled kernel of one execution: every subsystem's state, reachable from one object that
 * each kernel function takes first (`__free_pages(k, page, order)`). Built fresh for each execution
 * by `boot()` in boot.ts, in the documented phase order: memory → boot page tables → mms →
 * devices/PASIDs → threads (docs/architecture.md, Boot phases). Nothing here is module-level state.
 */
import type { Cpu, Iommu, PhysMem, SvaDevice } from '../../hw/index.ts';
import type { Execution, ObjectId } from '../../sim/index.ts';
import type { KernelLayout } from '../arch/x86/include/asm/pgtable_64_types.ts';
import type { Zone } from '../mm/page_alloc.ts';
import type { KernelConfig } from './config.ts';
import type { KernelHooks } from './hooks.ts';
import type { KernelRelease } from './release.ts';
import type { ListArena } from '../include/linux/list.ts';
import type { Kcsan } from '../kernel/kcsan.ts';
import type { Lockdep } from '../kernel/locking/lockdep.ts';
import type { MemoryHotplug } from '../mm/memory_hotplug.ts';
import type { KmallocHeap } from '../mm/slab.ts';
import type { MmStruct } from '../kernel/fork.ts';
import type { KernelObserver } from './observer.ts';
import type { PageArray } from '../include/linux/mm_types.ts';
import type { spinlock_t } from '../kernel/locking/spinlock.ts';
import type { IommuSva } from '../drivers/iommu/iommu-sva.ts';
import type { VmStat } from '../mm/vmstat.ts';
import type { VmallocSpace } from '../mm/vmalloc.ts';
import type { WorkqueueStruct } from '../kernel/workqueue.ts';

/**
 * Subsystems take the narrowest of these that they need, so a unit test builds only what it tests
 * (a real MemoryCore from bootMemory(), not a mock) and modules do not depend on the whole kernel.
 */
export interface ExecCore {
  readonly exec: Execution;
  readonly config: KernelConfig;
}

export interface MemoryCore extends ExecCore {
  /** The hardware's physical memory. */
  readonly mem: PhysMem;
  /** mem_map: one struct page per frame. */
  readonly pages: PageArray;
  /** Every list_head of the model (pages' lru/pt_list nodes first, then static heads). */
  readonly lists: ListArena;
  readonly zones: readonly Zone[];
  readonly vmstat: VmStat;
  /** The checkers listening to page and page-table events (observer.ts). */
  readonly observers: KernelObserver[];
}

export interface SyncCore extends ExecCore {
  readonly lockdep: Lockdep;
}

export interface Kernel extends MemoryCore, SyncCore {
  readonly layout: KernelLayout;
  /** The data-race detector the loads and stores of lists, page->flags, kmalloc'ed objects and vmstat counters are told to. */
  readonly kcsan: Kcsan;
  readonly cpus: readonly Cpu[];
  /** The object identity of each CPU's TLB, for the steps of a flush IPI. */
  readonly tlbObjects: readonly ObjectId[];
  readonly iommu: Iommu;
  readonly system_wq: WorkqueueStruct;
  readonly init_mm: MmStruct;
  /** x86's pgd_list: every process PGD (pgd_ctor adds it under pgd_lock). */
  readonly pgd_list: MmStruct[];
  /**
   * pgd_lock (arch/x86/mm/pgtable.c): on x86-64 every mm shares init_mm's kernel PMD/PUD tables, so
   * CPA's split and collapse of kernel leaves change init_mm's entries under this lock alone.
   */
  readonly pgd_lock: spinlock_t;
  readonly sva: IommuSva;
  readonly vmalloc: VmallocSpace;
  /** Memory hot-add/remove state (memory-hotplug.ts). */
  readonly memory_hotplug: MemoryHotplug;
  /** The SVA-capable devices behind the IOMMU. */
  readonly devices: readonly SvaDevice[];
  /** The release whose version-dependent behaviour this kernel has (release.ts): the design's. */
  readonly release: KernelRelease;
  /** The page-table free and flush paths, as the design under test defines them. */
  readonly hooks: KernelHooks;
  /** The kmalloc heap (mm/slab.ts), made by the execution's first kmalloc(): none until then. */
  slab?: KmallocHeap;
}
