/**
 * `immediate`: the kernel before any fix. Every page-table free returns the page to the allocator at
 * once, and nothing ever invalidates the IOMMU's caches for kernel addresses. The generic hooks are
 * this design; it overrides nothing.
 */
import type { Design } from './design.ts';

export const immediate: Design = {
  name: 'immediate',
  summary: 'no deferral: page tables are freed at once and no kernel TLB flush reaches the IOMMU',
  source: 'Linux v6.18 (before "Fix stale IOTLB entries for kernel address space")',
  overrides: [],
  install: () => ({}),
};
