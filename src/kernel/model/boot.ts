/**
 * Building one kernel for one execution, in the documented phase order (docs/architecture.md, Boot phases):
 *   1. memory: physical memory, mem_map, zones, memblock;
 *   2. boot page tables: init_mm's PGD, the direct map of all memory (2 MiB leaves, 4 KiB at a
 *      ragged end) and the preallocated PUD tables of vmalloc and vmemmap space
 *      (preallocate_vmalloc_pages), all from memblock, so PageReserved — bootMemory() then runs
 *      memblock_free_all(), handing every other frame to the buddy allocator;
 *   3. CPUs (CR3 = swapper_pg_dir), the IOMMU, locks, the SVA core, the system workqueue;
 *   4. SVA devices (not bound: binding is a thread's job);
 *   5. threads: the kworkers. Scenario threads are spawned by the caller afterwards.
 */
import { PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, type Level, type Pa, type Va } from '../../hw/address.ts';
import { AmdIommu, Cpu, Iommu, type PhysMem, PAGE_KERNEL, PAGE_KERNEL_LARGE, SvaDevice, _PAGE_TABLE, mk_entry } from '../../hw/index.ts';
import { FRAME_OBJECT_LIMIT, type Execution } from '../../sim/index.ts';
import { bootMemory, bootPresentFrames, captureBootMemory, restoreBootMemory, type BootMemoryImage } from './boot-memory.ts';
import type { KernelConfig } from './config.ts';
import { GENERIC_HOOKS } from './generic-hooks.ts';
import { framedHooks, type KernelHooks } from './hooks.ts';
import { IommuSva } from '../drivers/iommu/iommu-sva.ts';
import { amd_iommu_attach_device } from '../drivers/iommu/amd/iommu.ts';
import type { Kernel } from './kernel.ts';
import { kernelLayout, type KernelLayout } from '../arch/x86/include/asm/pgtable_64_types.ts';
import { Kcsan } from '../kernel/kcsan.ts';
import { Lockdep } from '../kernel/locking/lockdep.ts';
import { memblock_alloc_pages, type BootMemory } from '../mm/memblock.ts';
import { memory_hotplug_init } from '../mm/memory_hotplug.ts';
import { newMm } from '../kernel/fork.ts';
import { describeFlagsWord, type PageArray } from '../include/linux/mm_types.ts';
import { entry_ptr, entry_table } from '../arch/x86/include/asm/pgtable.ts';
import { spin_lock_init } from '../kernel/locking/spinlock.ts';
import { VmallocSpace } from '../mm/vmalloc.ts';
import { alloc_workqueue, spawnKworkers } from '../kernel/workqueue.ts';
import { DEFAULT_RELEASE, type KernelRelease } from './release.ts';

export interface DeviceSpec {
  readonly name: string;
  /** PCI source-id (bus/dev/fn). */
  readonly sid: number;
}

export interface BootOptions {
  readonly config: KernelConfig;
  /**
   * The design under test: given the booted kernel, it builds its own state (lists, locks, work
   * items) and returns the hooks it overrides; every other hook keeps its generic (v6.18) version.
   */
  readonly install?: (k: Kernel) => Partial<KernelHooks>;
  /** The release whose version-dependent behaviour the kernel has (default DEFAULT_RELEASE). */
  readonly release?: KernelRelease;
  /**
   * What the boots of one configuration share (BootCache): the caller guarantees the world booted
   * before with it is gone.
   */
  readonly cache?: BootCache;
  readonly devices: readonly DeviceSpec[];
}

/**
 * What consecutive boots of one configuration share, kept by their caller (one per explored
 * program, src/job/program.ts): the memory phase and the boot page tables depend on the
 * configuration alone, so the first boot takes their image and every later one restores it
 * (typed-array copies) instead of running memmap init, memblock and the direct-map setup again;
 * and the previous boot's mem_map and physical memory, restored in place instead of reallocated.
 * Everything after the memory phase (CPUs, IOMMU, locks, threads) is built fresh per boot.
 * A boot that reported anything leaves no image.
 */
export class BootCache {
  image: { readonly memory: BootMemoryImage; readonly pgd: Pa } | null = null;
  mem: PhysMem | undefined = undefined;
  pages: PageArray | undefined = undefined;
}

export function boot(exec: Execution, options: BootOptions): Kernel {
  const { config, cache } = options;
  exec.setPreemption(config.preempt);
  const layout = kernelLayout(config.pagingLevels);
  let pgd = 0;
  let memory: BootMemory;
  const image = cache?.image ?? null;
  if (cache !== undefined && image !== null && image.memory.config === config) {
    memory = restoreBootMemory(exec, image.memory, cache.mem, cache.pages);
    pgd = image.pgd;
  } else {
    const violations = exec.violations.length;
    memory = bootMemory(exec, config, (early) => {
      pgd = bootPageTables(early, layout, config);
    }, cache?.mem);
    if (cache !== undefined && exec.violations.length === violations) cache.image = { memory: captureBootMemory(memory), pgd };
  }
  if (cache !== undefined) {
    cache.mem = memory.mem;
    cache.pages = memory.pages;
  }

  const lockdep = new Lockdep(exec);
  const lists = memory.lists;
  // Negative words are page->flags (flagsWord()), words below FRAME_OBJECT_LIMIT list words
  // (ListArena), words above it data objects by their id: kmalloc'ed records, vmstat counters.
  const kcsan = new Kcsan(exec, lockdep, (word) =>
    word < 0 ? describeFlagsWord(word) : word < FRAME_OBJECT_LIMIT ? lists.describeWord(word) : exec.objects.describe(word),
  );
  lists.kcsan = kcsan;
  lists.torn = config.tornLists === true;
  memory.pages.kcsan = kcsan;
  memory.vmstat.kcsan = kcsan;
  const sync = { exec, config, lockdep };
  const cpus = Array.from({ length: config.cpus }, (_, id) => {
    const cpu = new Cpu(id, memory.mem, { tlbEntries: config.cpuTlbEntries, pscEntries: config.cpuPscEntries, levels: config.pagingLevels }, exec.objects);
    cpu.load_cr3(pgd);
    return cpu;
  });
  const iommu = new Iommu(exec, memory.mem, { levels: config.pagingLevels, ...config.iommu });
  const k: Kernel = {
    ...memory,
    lockdep,
    kcsan,
    layout,
    cpus,
    tlbObjects: cpus.map((c) => c.tlbObj),
    iommu,
    init_mm: newMm(sync, 'init_mm', pgd),
    pgd_list: [],
    pgd_lock: spin_lock_init(sync, 'pgd_lock'),
    sva: new IommuSva(sync),
    system_wq: alloc_workqueue(sync, 'events_unbound'),
    vmalloc: new VmallocSpace(layout.VMALLOC_START, layout.VMALLOC_END, exec.objects.register('vmap_area tree')),
    devices: options.devices.map((d) => new SvaDevice(d.name, d.sid, iommu, memory.mem, config.iommu.devtlb)),
    release: options.release ?? DEFAULT_RELEASE,
    hooks: { ...GENERIC_HOOKS },
    memory_hotplug: memory_hotplug_init(sync),
  };
  if (iommu.kind === 'amd') {
    new AmdIommu(iommu);
    for (const dev of k.devices) amd_iommu_attach_device(k, dev);
  }
  if (options.install) Object.assign(k.hooks, options.install(k));
  Object.assign(k.hooks, framedHooks(k.hooks));
  spawnKworkers(k, k.system_wq);
  return k;
}

/** The boot page tables of init_mm; returns the PGD's physical address. */
function bootPageTables(memory: BootMemory, layout: KernelLayout, config: KernelConfig): Pa {
  const mem = memory.mem;
  const newTable = (): Pa => {
    const page = memblock_alloc_pages(memory, 1);
    mem.zeroFrame(page);
    return page << PAGE_SHIFT;
  };
  const pgd = newTable();
  const top: Level = config.pagingLevels === 5 ? 5 : 4;
  /** The table at `level` covering `va`, creating the missing ones above it. */
  const tableAt = (va: Va, level: Level): Pa => {
    let table = pgd;
    for (let l = top; l > level; l--) {
      const ptr = entry_ptr(table, va, l as Level);
      if (mem.read64(ptr) === 0n) mem.write64(ptr, mk_entry(newTable(), _PAGE_TABLE));
      table = entry_table(mem.read64(ptr));
    }
    return table;
  };
  // kernel_physical_mapping_init(): the direct map of every frame present at boot (not of
  // hot-pluggable sections), 4 KiB only with directMap4k (CONFIG_DEBUG_PAGEALLOC).
  const bytes = bootPresentFrames(config) * PAGE_SIZE;
  for (let pa = 0; pa < bytes; ) {
    const va = layout.PAGE_OFFSET + BigInt(pa);
    if (!config.directMap4k && pa % PMD_SIZE === 0 && pa + PMD_SIZE <= bytes) {
      mem.write64(entry_ptr(tableAt(va, 2), va, 2), mk_entry(pa, PAGE_KERNEL_LARGE));
      pa += PMD_SIZE;
    } else {
      mem.write64(entry_ptr(tableAt(va, 1), va, 1), mk_entry(pa, PAGE_KERNEL));
      pa += PAGE_SIZE;
    }
  }
  // preallocate_vmalloc_pages() and the vmemmap PGD slot: PUD tables shared by every mm from boot.
  tableAt(layout.VMALLOC_START, 3);
  tableAt(layout.VMEMMAP_START, 3);
  return pgd;
}


