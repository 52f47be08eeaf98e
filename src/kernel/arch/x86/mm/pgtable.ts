/**
 * The x86 free sites for huge vmap/ioremap (arch/x86/mm/pgtable.c), as in v6.18, before the series:
 * PTE tables go back through pte_free_kernel(&init_mm, ...), the PMD table through
 * pmd_free(&init_mm, ...). v6.19's commit 412d000346ea ("x86/mm: use 'ptdesc' when freeing PMD
 * pages") calls pagetable_dtor_free() directly instead; the upstream design carries that version.
 *
 * Both unlink first, flush the CPUs' TLBs (INVLPG drops their paging-structure caches), then free.
 * Nothing here touches the IOMMU: whether the free waits for an IOMMU invalidation is decided by
 * the design, behind the free helpers.
 */
import { PAGE_SIZE, PTRS_PER_TABLE, type Va } from '../../../../hw/address.ts';
import type { Sim } from '../../../../sim/index.ts';
import { __free_page, __get_free_page } from '../../../mm/page_alloc.ts';
import { GFP_KERNEL } from '../../../include/linux/gfp.ts';
import type { Kernel } from '../../../model/kernel.ts';
import { pmd_free, pte_free_kernel } from '../../../include/asm-generic/pgalloc.ts';
import { entry_none, entry_table, pmd_clear, pmd_page, pmdp_get, pud_clear, pudp_get, type EntryPtr } from '../include/asm/pgtable.ts';
import type { Ptdesc } from '../../../include/linux/mm_types.ts';
import { page_ptdesc } from '../../../include/linux/mm.ts';
import { flush_tlb_kernel_range } from './tlb.ts';

/**
 * pmd_free_pte_page(): the PMD range is unmapped and about to become a 2 MiB leaf; free the PTE
 * table it still points to (left behind by vfree). Callers: vmap_try_huge_pmd(). Returns true (1).
 */
export function* generic_pmd_free_pte_page(k: Kernel, pmdp: EntryPtr, addr: Va): Sim<boolean> {
  return yield* free_pte_page_with(k, pmdp, addr, (pt) => pte_free_kernel(k, k.init_mm, pt));
}

/** The body of pmd_free_pte_page() with the version's way of freeing the PTE table. */
export function* free_pte_page_with(k: Kernel, pmdp: EntryPtr, addr: Va, free: (pt: Ptdesc) => Sim): Sim<boolean> {
  const pt = page_ptdesc(pmd_page(yield* pmdp_get(k, pmdp)));
  yield* pmd_clear(k, pmdp);
  yield* flush_tlb_kernel_range(k, addr, addr + BigInt(PAGE_SIZE - 1));
  yield* free(pt);
  return true;
}

/**
 * pud_free_pmd_page(): free the PMD table under `pudp` and every PTE table under it. Allocates a
 * scratch page with GFP_KERNEL ("Callers must allow a single page allocation"); returns false (0)
 * if that fails, and the caller then does not map the huge page.
 */
export function* generic_pud_free_pmd_page(k: Kernel, pudp: EntryPtr, addr: Va): Sim<boolean> {
  return yield* free_pmd_page_with(k, pudp, addr, (pt) => pte_free_kernel(k, k.init_mm, pt));
}

/**
 * The body of pud_free_pmd_page() with the version's way of freeing each PTE table. The saved
 * PMDs are kept in a JS array; the scratch page is still allocated (and may fail, or sleep) as in
 * the kernel, which copies them into it.
 */
export function* free_pmd_page_with(k: Kernel, pudp: EntryPtr, addr: Va, freePte: (pt: Ptdesc) => Sim): Sim<boolean> {
  const pmdTable = entry_table(yield* pudp_get(k, pudp));
  const scratch = yield* __get_free_page(k, GFP_KERNEL);
  if (scratch === null) return false;
  const saved: bigint[] = [];
  for (let i = 0; i < PTRS_PER_TABLE; i++) {
    const e = yield* pmdp_get(k, pmdTable + 8 * i);
    saved.push(e);
    if (!entry_none(e)) yield* pmd_clear(k, pmdTable + 8 * i);
  }
  yield* pud_clear(k, pudp);
  yield* flush_tlb_kernel_range(k, addr, addr + BigInt(PAGE_SIZE - 1));
  for (const e of saved) {
    if (!entry_none(e)) yield* freePte(page_ptdesc(pmd_page(e)));
  }
  yield* __free_page(k, scratch);
  yield* pmd_free(k, k.init_mm, page_ptdesc(pmdTable / PAGE_SIZE));
  return true;
}

export const pmd_free_pte_page = (k: Kernel, pmdp: EntryPtr, addr: Va) => k.hooks.pmd_free_pte_page(k, pmdp, addr);
export const pud_free_pmd_page = (k: Kernel, pudp: EntryPtr, addr: Va) => k.hooks.pud_free_pmd_page(k, pudp, addr);
