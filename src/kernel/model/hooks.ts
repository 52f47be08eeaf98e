/**
 * The kernel functions a deferred-free design may override, like `#ifndef __HAVE_ARCH_...` in
 * mm/pgtable-generic.c (docs/architecture.md, Designs and hooks). Kernel code never calls an
 * implementation directly: it calls the dispatcher of the same name (`pagetable_free(k, pt)` → `k.hooks.pagetable_free(k, pt)`), so a
 * design's override is seen on every path. The generic defaults (the kernel before any fix) are in
 * generic-hooks.ts; a design is `{ name, summary, source } & Partial<KernelHooks>` (src/designs).
 */
import type { Pa, Va } from '../../hw/address.ts';
import type { Sim } from '../../sim/index.ts';
import type { Kernel } from './kernel.ts';
import type { MmStruct } from '../kernel/fork.ts';
import { currentThread, type Page, type Ptdesc } from '../include/linux/mm_types.ts';
import type { EntryPtr } from '../arch/x86/include/asm/pgtable.ts';

export interface KernelHooks {
  /** include/asm-generic/pgalloc.h allocation helpers: where v6.19 marks kernel tables. */
  pte_alloc_one_kernel(k: Kernel, mm: MmStruct): Sim<Ptdesc | null>;
  pmd_alloc_one(k: Kernel, mm: MmStruct, addr: Va): Sim<Ptdesc | null>;
  pud_alloc_one(k: Kernel, mm: MmStruct, addr: Va): Sim<Ptdesc | null>;
  p4d_alloc_one(k: Kernel, mm: MmStruct, addr: Va): Sim<Ptdesc | null>;

  /**
   * The kernel's own table allocators outside pgalloc.h, none of which marks what it returns
   * (docs/kernel/free-sites.md, Allocation sites): arch/x86/mm/init.c alloc_low_pages() after boot
   * (hot-add's direct-map tables), mm/sparse-vmemmap.c vmemmap_alloc_block() (the vmemmap's tables
   * and its data blocks, all later freed by free_pagetable()), and split_large_page()'s new table
   * (arch/x86/mm/pat/set_memory.c). Each returns the first page of the block, or null.
   */
  alloc_low_pages(k: Kernel, num: number): Sim<Page | null>;
  vmemmap_alloc_block(k: Kernel, size: number): Sim<Page | null>;
  cpa_alloc_pgtable(k: Kernel): Sim<Ptdesc | null>;

  /** The final free of a page-table page (include/linux/mm.h). */
  pagetable_free(k: Kernel, pt: Ptdesc): Sim;
  /** Destructor then free. */
  pagetable_dtor_free(k: Kernel, pt: Ptdesc): Sim;
  /** Generic pgalloc free helpers. */
  pte_free_kernel(k: Kernel, mm: MmStruct, pt: Ptdesc): Sim;
  pmd_free(k: Kernel, mm: MmStruct, pt: Ptdesc): Sim;
  pud_free(k: Kernel, mm: MmStruct, pt: Ptdesc): Sim;

  /** arch/x86/mm/pgtable.c: the huge-vmap free sites (return false when the caller must not map huge). */
  pmd_free_pte_page(k: Kernel, pmdp: EntryPtr, addr: Va): Sim<boolean>;
  pud_free_pmd_page(k: Kernel, pudp: EntryPtr, addr: Va): Sim<boolean>;

  /**
   * arch/x86/mm/init_64.c free_pagetable(): the free of every table (and of every vmemmap block)
   * that memory hot-remove's remove_pagetable() releases.
   */
  free_pagetable(k: Kernel, page: Page, order: number): Sim;
  /**
   * arch/x86/mm/init_64.c free_pte_table()/free_pmd_table()/free_pud_table(): if the emptied table
   * `table` holds no entry, free it and clear the parent entry `parentp` — in the kernel's order, free
   * first (docs/kernel/free-sites.md, Hot-remove order); free_empty_table() takes the order.
   */
  free_pte_table(k: Kernel, table: Pa, pmdp: EntryPtr): Sim;
  free_pmd_table(k: Kernel, table: Pa, pudp: EntryPtr): Sim;
  free_pud_table(k: Kernel, table: Pa, p4dp: EntryPtr): Sim;
  /**
   * arch/x86/mm/pat/set_memory.c: the free of one page table in cpa_collapse_large_pages()'s final
   * loop, after the table was taken off the local pgtables list and flush_tlb_all() ran.
   */
  cpa_free_pgtable(k: Kernel, pt: Ptdesc): Sim;

  /** arch/x86/mm/tlb.c: the kernel TLB flushes (v1 hooked the IOMMU in here). */
  flush_tlb_kernel_range(k: Kernel, start: Va, end: Va): Sim;
  flush_tlb_all(k: Kernel): Sim;
}

export type HookName = keyof KernelHooks;

/**
 * The hook table a kernel runs with: `hooks` (generic ones with the design's over them), each
 * entered as a frame of the calling thread (Thread.frames), so the oracles can say on which path a
 * page-table page was freed. A frame is popped when the hook returns; a thread killed inside one
 * never runs again, so its frames do not matter.
 */
export function framedHooks(hooks: KernelHooks): KernelHooks {
  const framed = {} as Record<HookName, unknown>;
  for (const name of Object.keys(hooks) as HookName[]) {
    const impl = hooks[name] as (k: Kernel, ...args: unknown[]) => Sim<unknown>;
    framed[name] = function* (k: Kernel, ...args: unknown[]): Sim<unknown> {
      const frames = currentThread(k.exec)?.frames;
      frames?.push(name);
      try {
        return yield* impl(k, ...args);
      } finally {
        frames?.pop();
      }
    };
  }
  return framed as KernelHooks;
}
