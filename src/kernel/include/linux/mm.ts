/**
 * Page-table descriptors (include/linux/mm.h, include/linux/mm_types.h, mm/pgtable-generic.c;
 * v6.19). docs/kernel/deferred-free.md (Marking at allocation, Freeing helpers) and
 * docs/kernel/pitfalls.md.
 *
 * A ptdesc is its struct page (see include/linux/mm_types.ts), so page_ptdesc()/ptdesc_page() are identity casts and
 * pt_flags is page->flags: PT_kernel is PG_referenced, PT_reserved is PG_reserved.
 *
 *  - pagetable_alloc() forces __GFP_COMP, so an order > 0 table is a compound page and
 *    __pagetable_free() frees compound_order() pages. A table allocated without it (alloc_pages
 *    directly) has compound_order 0 and __pagetable_free() frees only its first page
 *    (docs/kernel/pitfalls.md §8).
 *  - pagetable_*_ctor() set the PGTY_table page type and add the folio's pages to NR_PAGETABLE; the
 *    PTE and PMD ctors also init the split ptlock, except for init_mm (v6.15+: kernel tables take
 *    init_mm.page_table_lock). pagetable_dtor() frees the ptlock, clears the type (a VM_BUG_ON only
 *    if the page has ANOTHER type; a page with no type passes silently) and subtracts NR_PAGETABLE.
 *  - pagetable_free()/pagetable_dtor_free() dispatch to the design's hooks; the generic versions
 *    here are the kernel before any fix. pagetable_dtor_free() runs the dtor in the caller and then
 *    calls the pagetable_free() dispatcher, which is how v6.19's deferral reaches pte_free_kernel().
 */
import type { Sim } from '../../../sim/index.ts';
import { __free_pages, alloc_pages, compound_nr, compound_order } from '../../mm/page_alloc.ts';
import { __GFP_COMP, type gfp_t } from './gfp.ts';
import type { Kernel, MemoryCore } from '../../model/kernel.ts';
import { __ClearPageTable, __SetPageTable, VM_BUG_ON_PAGE, clear_bit, set_bit, test_bit, type Page, type PageArray, type Ptdesc } from './mm_types.ts';
import { PG_referenced, PG_reserved } from './page-flags.ts';
import { mod_lruvec_page_state } from '../../mm/vmstat.ts';

/* enum pt_flags (v6.19): ptdesc flags are page flags under other names. */
export const PT_kernel = PG_referenced;
export const PT_reserved = PG_reserved;

export function page_ptdesc(page: Page): Ptdesc {
  return page;
}

export function ptdesc_page(pt: Ptdesc): Page {
  return pt;
}

/** pagetable_alloc_noprof(): alloc_pages(gfp | __GFP_COMP, order). */
export function* pagetable_alloc(k: MemoryCore, gfp: gfp_t, order: number): Sim<Ptdesc | null> {
  const page = yield* alloc_pages(k, gfp | __GFP_COMP, order);
  return page === null ? null : page_ptdesc(page);
}

/** __pagetable_free(): the pure, immediate free: __free_pages(page, compound_order(page)). */
export function __pagetable_free(k: MemoryCore, pt: Ptdesc): Sim {
  const page = ptdesc_page(pt);
  return __free_pages(k, page, compound_order(k.pages, page));
}

/* ---- pt_flags: PT_kernel marks a kernel page table (set at allocation in v6.19) ---- */

export function ptdesc_set_kernel(pages: PageArray, pt: Ptdesc): void {
  set_bit(pages, PT_kernel, pt);
}

export function ptdesc_clear_kernel(pages: PageArray, pt: Ptdesc): void {
  clear_bit(pages, PT_kernel, pt);
}

export function ptdesc_test_kernel(pages: PageArray, pt: Ptdesc): boolean {
  return test_bit(pages, PT_kernel, pt);
}

/* ---- ctor / dtor ---- */

/**
 * ptlock_init(): the split page-table lock lives in the ptdesc (it overlays page->private, which
 * prep_new_page() zeroed); finding it already in use is a VM_BUG_ON_PAGE. Never fails on x86-64
 * (ALLOC_SPLIT_PTLOCKS is off without lock debugging), so it returns true unless the BUG fired.
 */
export function ptlock_init(k: MemoryCore, pt: Ptdesc): boolean {
  if (k.pages.ptlock[pt] !== 0) {
    VM_BUG_ON_PAGE(k, ptdesc_page(pt), '*(unsigned long *)&ptdesc->ptl', 'include/linux/mm.h', 'ptlock_init');
    return false;
  }
  k.pages.ptlock[pt] = 1;
  return true;
}

export function ptlock_free(k: MemoryCore, pt: Ptdesc): void {
  k.pages.ptlock[pt] = 0;
}

/** __pagetable_ctor(): __folio_set_pgtable + lruvec_stat_add_folio(NR_PAGETABLE). */
function __pagetable_ctor(k: MemoryCore, pt: Ptdesc): boolean {
  const page = ptdesc_page(pt);
  if (!__SetPageTable(k, page)) return false;
  mod_lruvec_page_state(k, page, 'NR_PAGETABLE', compound_nr(k.pages, page));
  return true;
}

/**
 * pagetable_pte_ctor(mm, ptdesc). `initMm`: the table belongs to init_mm (v6.19 compares
 * mm == &init_mm and then skips ptlock_init()). False if the ctor failed.
 */
export function pagetable_pte_ctor(k: MemoryCore, pt: Ptdesc, initMm = false): boolean {
  if (!initMm && !ptlock_init(k, pt)) return false;
  return __pagetable_ctor(k, pt);
}

/** pagetable_pmd_ctor(mm, ptdesc): pmd_ptlock_init() (split PMD locks on x86-64) unless init_mm. */
export function pagetable_pmd_ctor(k: MemoryCore, pt: Ptdesc, initMm = false): boolean {
  if (!initMm && !ptlock_init(k, pt)) return false;
  return __pagetable_ctor(k, pt);
}

export function pagetable_pud_ctor(k: MemoryCore, pt: Ptdesc): void {
  __pagetable_ctor(k, pt);
}

export function pagetable_p4d_ctor(k: MemoryCore, pt: Ptdesc): void {
  __pagetable_ctor(k, pt);
}

export function pagetable_pgd_ctor(k: MemoryCore, pt: Ptdesc): void {
  __pagetable_ctor(k, pt);
}

/** pagetable_dtor(): ptlock_free, __folio_clear_pgtable, lruvec_stat_sub_folio(NR_PAGETABLE). */
export function pagetable_dtor(k: MemoryCore, pt: Ptdesc): void {
  const page = ptdesc_page(pt);
  ptlock_free(k, pt);
  if (!__ClearPageTable(k, page)) return;
  mod_lruvec_page_state(k, page, 'NR_PAGETABLE', -compound_nr(k.pages, page));
}

/* ---- the freeing entry points: dispatchers and the generic (pre-fix) implementations ---- */

export function pagetable_free(k: Kernel, pt: Ptdesc): Sim {
  return k.hooks.pagetable_free(k, pt);
}

export function pagetable_dtor_free(k: Kernel, pt: Ptdesc): Sim {
  return k.hooks.pagetable_dtor_free(k, pt);
}

/** Without CONFIG_ASYNC_KERNEL_PGTABLE_FREE, pagetable_free() is __pagetable_free(). */
export function generic_pagetable_free(k: Kernel, pt: Ptdesc): Sim {
  return __pagetable_free(k, pt);
}

export function* generic_pagetable_dtor_free(k: Kernel, pt: Ptdesc): Sim {
  pagetable_dtor(k, pt);
  yield* pagetable_free(k, pt);
}
