/**
 * `upstream`: "Fix stale IOTLB entries for kernel address space" as merged for Linux v6.19
 * (mainline 27bfafac65d8 … e37d5a2d60a3; docs/kernel/deferred-free.md, docs/kernel/free-sites.md),
 * with the x86 free sites of that release — faithful, including what it got wrong:
 *
 * - marking at allocation (977870522af3): __pte_alloc_one_kernel() always sets PT_kernel
 *   (PG_referenced) after the ctor; pmd/pud/p4d_alloc_one() only for init_mm. Nothing else marks: boot
 *   tables, alloc_low_pages() direct-map tables, vmemmap tables and CPA split tables stay unmarked and
 *   are freed synchronously (docs/kernel/pitfalls.md §5);
 * - pagetable_free(): a marked page has the mark cleared and goes to pagetable_free_kernel(); anything
 *   else is __pagetable_free() = __free_pages(page, compound_order(page)) (01894295672335ff);
 * - pagetable_free_kernel() (5ba2f0a15564): plain spin_lock, list_add at the head, unconditional
 *   schedule_work(); the work splices the list under the lock, THEN calls
 *   iommu_sva_invalidate_kva_range(PAGE_OFFSET, TLB_FLUSH_ALL) (the Intel range path, AM 35, IH 0),
 *   THEN __pagetable_free()s each entry without list_del; an empty batch still invalidates — the
 *   shared machinery (parts/deferred-free.ts) with that range and that free;
 * - the destructor runs synchronously in the caller (pagetable_dtor_free = dtor + pagetable_free);
 * - x86 (412d000346ea, bf9e4e30f353): pmd_free_pte_page()/pud_free_pmd_page() call
 *   pagetable_dtor_free() directly; free_pagetable() of a non-reserved page and the CPA collapse free
 *   call pagetable_free() — so an order-9 non-compound vmemmap block frees only its first page
 *   (docs/kernel/pitfalls.md §8), and hot-remove still frees a table before clearing its parent
 *   (docs/kernel/pitfalls.md §11).
 *
 * Two releases of it differ in the Intel driver (src/kernel/model/releases.ts, docs/kernel/versions.md):
 * `upstream@6.19.0` (to 6.19.5) sends the worker's invalidation as a legacy IOTLB descriptor,
 * `upstream@6.19.y` (6.19.6 on) as a PASID-based one. `upstream` is the latter under the name
 * results and replay tokens from before the version axis carry.
 */
import { TLB_FLUSH_ALL, type Va } from '../hw/address.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import type { MmStruct } from '../kernel/kernel/fork.ts';
import type { Ptdesc } from '../kernel/include/linux/mm_types.ts';
import { generic_p4d_alloc_one, generic_pmd_alloc_one, generic_pte_alloc_one_kernel, generic_pud_alloc_one } from '../kernel/include/asm-generic/pgalloc.ts';
import { __pagetable_free, page_ptdesc, pagetable_dtor_free, pagetable_free, ptdesc_clear_kernel, ptdesc_set_kernel, ptdesc_test_kernel } from '../kernel/include/linux/mm.ts';
import { free_pagetable_with } from '../kernel/arch/x86/mm/init_64.ts';
import { free_pmd_page_with, free_pte_page_with } from '../kernel/arch/x86/mm/pgtable.ts';
import { RELEASE_6_19_0, RELEASE_6_19_Y } from '../kernel/model/releases.ts';
import { step, type Sim } from '../sim/index.ts';
import type { Design } from './design.ts';
import { KERNEL_PGTABLE_WORK } from './parts/deferred-free.ts';
import { deferredDesign, type DeferredDesignSpec } from './parts/deferred-design.ts';

/** pmd/pud/p4d_alloc_one(): mark only init_mm's tables. */
const markIfKernel =
  (alloc: (k: Kernel, mm: MmStruct, addr: Va) => Sim<Ptdesc | null>) =>
  function* (k: Kernel, mm: MmStruct, addr: Va): Sim<Ptdesc | null> {
    const pt = yield* alloc(k, mm, addr);
    if (pt !== null && mm === k.init_mm) ptdesc_set_kernel(k.pages, pt);
    return pt;
  };

export const upstreamSpec: DeferredDesignSpec = {
  name: 'upstream',
  summary: 'v6.19: kernel tables marked at allocation, pagetable_free() defers them to a work item that invalidates (PAGE_OFFSET, TLB_FLUSH_ALL) then frees',
  source: 'Linux v6.19, commits 27bfafac65d8..e37d5a2d60a3 ("Fix stale IOTLB entries for kernel address space", v7 <20251022082635.2462433-1-baolu.lu@linux.intel.com>)',
  kernel: RELEASE_6_19_Y,
  overrides: [
    'pte_alloc_one_kernel',
    'pmd_alloc_one',
    'pud_alloc_one',
    'p4d_alloc_one',
    'pagetable_free',
    'pmd_free_pte_page',
    'pud_free_pmd_page',
    'free_pagetable',
    'cpa_free_pgtable',
  ],
  parts: {
    ...KERNEL_PGTABLE_WORK,
    range: (k) => [k.layout.PAGE_OFFSET, TLB_FLUSH_ALL],
    // Without list_del() (v5).
    free: (k, pt) => __pagetable_free(k, pt),
  },
  hooks: (_k, deferred) => ({
    *pte_alloc_one_kernel(kk, mm) {
      const pt = yield* generic_pte_alloc_one_kernel(kk, mm);
      if (pt !== null) ptdesc_set_kernel(kk.pages, pt);
      return pt;
    },
    pmd_alloc_one: markIfKernel(generic_pmd_alloc_one),
    pud_alloc_one: markIfKernel(generic_pud_alloc_one),
    p4d_alloc_one: markIfKernel(generic_p4d_alloc_one),
    *pagetable_free(kk, pt) {
      yield step('ptdesc_test_kernel', 'read', pt);
      if (ptdesc_test_kernel(kk.pages, pt)) {
        ptdesc_clear_kernel(kk.pages, pt);
        yield* deferred.enqueue(kk, pt); // pagetable_free_kernel()
      } else {
        yield* __pagetable_free(kk, pt);
      }
    },
    pmd_free_pte_page: (kk, pmdp, addr) => free_pte_page_with(kk, pmdp, addr, (pt) => pagetable_dtor_free(kk, pt)),
    pud_free_pmd_page: (kk, pudp, addr) => free_pmd_page_with(kk, pudp, addr, (pt) => pagetable_dtor_free(kk, pt)),
    free_pagetable: (kk, page, order) => free_pagetable_with(kk, page, order, (p) => pagetable_free(kk, page_ptdesc(p))),
    cpa_free_pgtable: (kk, pt) => pagetable_free(kk, pt),
  }),
};

/** v6.19 as its stable line runs it now (6.19.6 on): upstream@6.19.y by its older name. */
export const upstream: Design = deferredDesign(upstreamSpec);

export const upstream_6_19_y: Design = { ...upstream, name: 'upstream@6.19.y' };

export const upstream_6_19_0: Design = {
  ...upstream,
  name: 'upstream@6.19.0',
  summary: 'v6.19.0-6.19.5: upstream, with the Intel driver sending legacy IOTLB descriptors (domain-selective) for the worker\'s invalidation',
  source: `${upstream.source}; Intel driver before 04b1b069f151 ("iommu/vt-d: Flush piotlb for SVM and Nested domain")`,
  kernel: RELEASE_6_19_0,
};
