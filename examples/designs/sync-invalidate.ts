/**
 * A user design, as a reviewer might sketch one: no work item at all — every kernel page-table free
 * first invalidates the IOMMU for the whole kernel half, synchronously, then frees. Safe where the
 * free may sleep; every free pays a full invalidation. Try it:
 *
 *   npx kptsim run --design ./examples/designs/sync-invalidate.ts --scenario vfree-huge-vmap
 */
import { TLB_FLUSH_ALL, generic_pmd_free, generic_pte_free_kernel, iommu_sva_invalidate_kva_range, type Design } from 'kptsim';

const design: Design = {
  name: 'sync-invalidate',
  summary: 'invalidate the IOMMU for the kernel half, synchronously, before every init_mm page-table free',
  source: 'examples/designs/sync-invalidate.ts (a sketch, not a posted patch)',
  overrides: ['pte_free_kernel', 'pmd_free'],
  install: () => ({
    *pte_free_kernel(k, mm, pt) {
      if (mm === k.init_mm) yield* iommu_sva_invalidate_kva_range(k, k.layout.PAGE_OFFSET, TLB_FLUSH_ALL);
      yield* generic_pte_free_kernel(k, mm, pt);
    },
    *pmd_free(k, mm, pt) {
      if (mm === k.init_mm) yield* iommu_sva_invalidate_kva_range(k, k.layout.PAGE_OFFSET, TLB_FLUSH_ALL);
      yield* generic_pmd_free(k, mm, pt);
    },
  }),
};

export default design;
