/**
 * `immediate`: the kernel before any fix. Every page-table free returns the page to the allocator at
 * once, and nothing ever invalidates the IOMMU's caches for kernel addresses. The generic hooks are
 * this design; it overrides nothing.
 */
import { DEFAULT_RELEASE } from '../kernel/model/release.ts';
import { RELEASE_6_18_4 } from '../kernel/model/releases.ts';
import type { Design } from './design.ts';

export const immediate: Design = {
  name: 'immediate',
  summary: 'no deferral: page tables are freed at once and no kernel TLB flush reaches the IOMMU',
  source: 'Linux v6.18 (before "Fix stale IOTLB entries for kernel address space")',
  // It sends no kernel-range invalidation, so which IOTLB descriptor the driver would use for one
  // (6.18.0-6.18.15: legacy) does not change what it is checked for.
  kernel: DEFAULT_RELEASE,
  overrides: [],
  install: () => ({}),
};

/**
 * `upstream@6.18.4`: what 6.18.4–6.18.6 shipped — no deferred free, and SVA refused on x86 (the
 * series' first patch alone): a device cannot bind, so nothing it caches can go stale, and a driver
 * that needs SVA (amdxdna) fails to probe.
 */
export const upstream_6_18_4: Design = {
  ...immediate,
  name: 'upstream@6.18.4',
  summary: '6.18.4-6.18.6: SVA disabled on x86 ("iommu: disable SVA when CONFIG_X86 is set" alone): bind fails with -EOPNOTSUPP, page tables freed at once',
  source: 'Linux 6.18.4, c341dee80b5d ("iommu: disable SVA when CONFIG_X86 is set", CVE-2025-71089)',
  kernel: RELEASE_6_18_4,
};
