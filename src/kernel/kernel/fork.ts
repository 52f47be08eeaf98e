/**
 * Address spaces: `init_mm` (the kernel's page tables, swapper_pg_dir) and process mms, whose PGD
 * shares the kernel half. (kernel/fork.c mm_alloc, arch/x86/mm/pgtable.c pgd_alloc/pgd_ctor,
 * arch/x86/mm/init_64.c; v6.19.)
 *
 * x86-64 copies the kernel PGD entries (index >= KERNEL_PGD_BOUNDARY) into every new PGD, so all
 * lower kernel tables are shared by every process: that is why an SVA PASID pointing at a process
 * PGD lets the IOMMU walk — and cache — the kernel half (docs/kernel/iommu.md, Why kernel tables are
 * cached). The kernel PGD entries are
 * all created at boot (the direct map, and preallocate_vmalloc_pages() for vmalloc/vmemmap), so no
 * later change to a kernel PGD entry ever needs syncing into process PGDs.
 */
import { PAGE_SHIFT, PTRS_PER_TABLE, type Pa, type Va } from '../../hw/address.ts';
import { _PAGE_NX, _PAGE_RW, _PAGE_USER, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, mk_entry } from '../../hw/index.ts';
import type { Sim } from '../../sim/index.ts';
import { alloc_page } from '../mm/page_alloc.ts';
import { GFP_HIGHUSER_MOVABLE, GFP_PGTABLE_USER } from '../include/linux/gfp.ts';
import type { Kernel } from '../model/kernel.ts';
import type { Page } from '../include/linux/mm_types.ts';
import { pagetable_alloc, pagetable_pgd_ctor } from '../include/linux/mm.ts';
import { walk_alloc } from '../include/asm-generic/pgalloc.ts';
import { entry_pa } from '../../hw/index.ts';
import { pgdp_get, set_pgd, set_pte, ptep_get, pte_none } from '../arch/x86/include/asm/pgtable.ts';
import { spin_lock, spin_lock_init, spin_unlock, type spinlock_t } from './locking/spinlock.ts';

/** The part of `struct mm_struct` the model needs. */
export interface MmStruct {
  /** `init_mm`, or the owning task's name. */
  readonly name: string;
  /** Physical address of the PGD (mm->pgd, through __pa). */
  readonly pgd: Pa;
  readonly page_table_lock: spinlock_t;
  /** mmu_notifier subscriptions (mm->notifier_subscriptions): the SVA domain's secondary-TLB hook. */
  readonly notifiers: MmuNotifier[];
}

/**
 * mmu_notifier_ops.arch_invalidate_secondary_tlbs, the hook iommu_sva_invalidate_kva_range reaches.
 * [modelling choice] `ih` is not in Linux's signature (the Intel callback always uses IH = 0): the
 * model carries it, 0 unless a design asks, so a design can try what IH = 1 would do.
 */
export interface MmuNotifier {
  readonly name: string;
  arch_invalidate_secondary_tlbs(k: Kernel, mm: MmStruct, start: Va, end: Va, ih?: 0 | 1): Sim;
}

export function newMm(k: Pick<Kernel, 'exec' | 'lockdep'>, name: string, pgd: Pa): MmStruct {
  return { name, pgd, page_table_lock: spin_lock_init(k, `${name}.page_table_lock`), notifiers: [] };
}

/**
 * pgd_alloc() + pgd_ctor(): a new PGD whose kernel half is a copy of init_mm's (clone_pgd_range),
 * added to pgd_list. Returns null if the allocation fails.
 */
export function* pgd_alloc(k: Kernel, name: string): Sim<MmStruct | null> {
  const pt = yield* pagetable_alloc(k, GFP_PGTABLE_USER, 0);
  if (pt === null) return null;
  pagetable_pgd_ctor(k, pt);
  const pgd = pt << PAGE_SHIFT;
  const mm = newMm(k, name, pgd);
  // pgd_ctor(): under pgd_lock, so that sync_global_pgds() sees either none or all of it.
  yield* spin_lock(k, k.pgd_lock);
  for (let i = k.layout.KERNEL_PGD_BOUNDARY; i < PTRS_PER_TABLE; i++) {
    const e = yield* pgdp_get(k, k.init_mm.pgd + 8 * i);
    if (e !== 0n) yield* set_pgd(k, pgd + 8 * i, e);
  }
  k.pgd_list.push(mm);
  yield* spin_unlock(k, k.pgd_lock);
  return mm;
}

/** The protection of an anonymous user page (PAGE_SHARED_EXEC less exec: what do_anonymous_page installs for a RW vma). */
const PAGE_USER_RW = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_NX;

/**
 * handle_mm_fault() for an anonymous, writable user mapping: allocate the missing page tables of
 * `mm` (pud_alloc/pmd_alloc/pte_alloc with this mm, so they are user tables and never marked
 * kernel), then a zeroed page, and map it (do_anonymous_page). Returns the page, or null on OOM.
 */
export function* handle_mm_fault(k: Kernel, mm: MmStruct, va: Va): Sim<Page | null> {
  const ptep = yield* walk_alloc(k, mm, va);
  if (ptep === null) return null;
  const existing = yield* ptep_get(k, ptep);
  if (!pte_none(existing)) return entry_pa(existing) >> PAGE_SHIFT;
  const page = yield* alloc_page(k, GFP_HIGHUSER_MOVABLE);
  if (page === null) return null;
  yield* set_pte(k, ptep, mk_entry(page << PAGE_SHIFT, PAGE_USER_RW));
  return page;
}
