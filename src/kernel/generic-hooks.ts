/**
 * The kernel before any fix: every page-table free is immediate and no TLB flush reaches the
 * IOMMU. This equals v6.19 built without CONFIG_ASYNC_KERNEL_PGTABLE_FREE (pagetable_free_kernel()
 * is then an inline __pagetable_free()) and with no kernel-table marking.
 */
import type { KernelHooks } from './hooks.ts';
import {
  generic_p4d_alloc_one,
  generic_pmd_alloc_one,
  generic_pmd_free,
  generic_pte_alloc_one_kernel,
  generic_pte_free_kernel,
  generic_pud_alloc_one,
  generic_pud_free,
} from './pgalloc.ts';
import { generic_pagetable_dtor_free, generic_pagetable_free } from './ptdesc.ts';
import { generic_flush_tlb_all, generic_flush_tlb_kernel_range } from './tlbflush.ts';
import { generic_pmd_free_pte_page, generic_pud_free_pmd_page } from './x86-pgtable.ts';

export const GENERIC_HOOKS: KernelHooks = {
  pte_alloc_one_kernel: generic_pte_alloc_one_kernel,
  pmd_alloc_one: generic_pmd_alloc_one,
  pud_alloc_one: generic_pud_alloc_one,
  p4d_alloc_one: generic_p4d_alloc_one,
  pagetable_free: generic_pagetable_free,
  pagetable_dtor_free: generic_pagetable_dtor_free,
  pte_free_kernel: generic_pte_free_kernel,
  pmd_free: generic_pmd_free,
  pud_free: generic_pud_free,
  pmd_free_pte_page: generic_pmd_free_pte_page,
  pud_free_pmd_page: generic_pud_free_pmd_page,
  flush_tlb_kernel_range: generic_flush_tlb_kernel_range,
  flush_tlb_all: generic_flush_tlb_all,
};
