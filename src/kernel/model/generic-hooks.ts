/**
 * The kernel before any fix (v6.18): every page-table free is immediate, nothing marks kernel
 * tables, and no TLB flush reaches the IOMMU. The x86 free sites are v6.18's (pte_free_kernel in
 * pmd_free_pte_page, __free_pages in free_pagetable, __free_page after a CPA collapse, hot-remove's
 * free before clear); the upstream design replaces the first three with v6.19's. The x86 table
 * allocators (alloc_low_pages, vmemmap_alloc_block, split_large_page's) mark nothing, in both.
 */
import { generic_cpa_alloc_pgtable, generic_cpa_free_pgtable } from '../arch/x86/mm/pat/set_memory.ts';
import type { KernelHooks } from './hooks.ts';
import {
  generic_p4d_alloc_one,
  generic_pmd_alloc_one,
  generic_pmd_free,
  generic_pte_alloc_one_kernel,
  generic_pte_free_kernel,
  generic_pud_alloc_one,
  generic_pud_free,
} from '../include/asm-generic/pgalloc.ts';
import { generic_pagetable_dtor_free, generic_pagetable_free } from '../include/linux/mm.ts';
import { generic_flush_tlb_all, generic_flush_tlb_kernel_range } from '../arch/x86/mm/tlb.ts';
import {
  generic_alloc_low_pages,
  generic_free_pagetable,
  generic_free_pmd_table,
  generic_free_pte_table,
  generic_free_pud_table,
} from '../arch/x86/mm/init_64.ts';
import { generic_vmemmap_alloc_block } from '../mm/memory_hotplug.ts';
import { generic_pmd_free_pte_page, generic_pud_free_pmd_page } from '../arch/x86/mm/pgtable.ts';

export const GENERIC_HOOKS: KernelHooks = {
  pte_alloc_one_kernel: generic_pte_alloc_one_kernel,
  pmd_alloc_one: generic_pmd_alloc_one,
  pud_alloc_one: generic_pud_alloc_one,
  p4d_alloc_one: generic_p4d_alloc_one,
  alloc_low_pages: generic_alloc_low_pages,
  vmemmap_alloc_block: generic_vmemmap_alloc_block,
  cpa_alloc_pgtable: generic_cpa_alloc_pgtable,
  pagetable_free: generic_pagetable_free,
  pagetable_dtor_free: generic_pagetable_dtor_free,
  pte_free_kernel: generic_pte_free_kernel,
  pmd_free: generic_pmd_free,
  pud_free: generic_pud_free,
  pmd_free_pte_page: generic_pmd_free_pte_page,
  pud_free_pmd_page: generic_pud_free_pmd_page,
  free_pagetable: generic_free_pagetable,
  free_pte_table: generic_free_pte_table,
  free_pmd_table: generic_free_pmd_table,
  free_pud_table: generic_free_pud_table,
  cpa_free_pgtable: generic_cpa_free_pgtable,
  flush_tlb_kernel_range: generic_flush_tlb_kernel_range,
  flush_tlb_all: generic_flush_tlb_all,
};
