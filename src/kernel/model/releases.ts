/**
 * The kernel releases the built-in designs name (KernelRelease, release.ts), as values: each is the
 * release before it with what changed, and the commit that changed it (docs/kernel/versions.md).
 * A later release is added the same way: `{ ...ITS_PREDECESSOR, name, <changed field>: ... }`.
 *
 * v6.19 shipped the deferred free (mainline 27bfafac65d8..e37d5a2d60a3) with an Intel driver that
 * had lost the PASID-based path for SVA domains: b33125296b50 "iommu/vt-d: Create unique domain
 * ops for each stage" (v6.17; 6.16.8) gated cache_tag_flush_iotlb()'s P_IOTLB branch on
 * intel_domain_is_fs_paging(), false for an SVA domain, so its flushes went out as legacy IOTLB
 * descriptors. 04b1b069f151 "iommu/vt-d: Flush piotlb for SVM and Nested domain" (Yi Liu,
 * <20251223065824.6164-1-yi.l.liu@intel.com>; v7.0) restored it, and reached 6.19.6 (stable
 * review <20260228173244.1509663-660-sashal@kernel.org>) and 6.18.16.
 */
import { DEFAULT_RELEASE, type KernelRelease } from './release.ts';

/**
 * 6.18.4 – 6.18.6: the series' first patch alone, "iommu: disable SVA when CONFIG_X86 is set"
 * (CVE-2025-71089; 6.18.4 as c341dee80b5d, 8 Jan 2026): iommu_sva_bind_device() fails with
 * -EOPNOTSUPP on x86, whatever the IOMMU — the amdxdna NPU driver's "SVA bind device failed, ret
 * -95" (Mario Limonciello, <870872aa-28e9-412a-bac6-8020bf560e4f@amd.com>) until 6.18.7 took the
 * whole series. No deferred free: the x86 free sites are v6.18's.
 */
export const RELEASE_6_18_4: KernelRelease = { ...DEFAULT_RELEASE, name: '6.18.4 (to 6.18.6)', intelSvaFlush: 'legacy', x86SvaDisabled: true };

/**
 * v6.19.0 – v6.19.5: legacy IOTLB descriptors for SVA domains (b33125296b50, before 04b1b069f151).
 * Its x86 free sites are DEFAULT_RELEASE's: their changes came in v7.1 and v7.2 (upstream-later.ts).
 */
export const RELEASE_6_19_0: KernelRelease = {
  ...DEFAULT_RELEASE,
  name: '6.19.0 (to 6.19.5)',
  intelSvaFlush: 'legacy',
  x86SvaDisabled: false,
};

/** 6.19.6 and later 6.19.y: PASID-based IOTLB descriptors again (04b1b069f151). */
export const RELEASE_6_19_Y: KernelRelease = { ...RELEASE_6_19_0, name: '6.19.y (≥ 6.19.6)', intelSvaFlush: 'piotlb' };

/**
 * v7.1: split_large_page() on ptdescs (e751303e0ad2, Vishal Moola), so the loser of a split race
 * frees with pagetable_free(); hot-remove still frees vmemmap blocks through free_pagetable().
 */
export const RELEASE_7_1: KernelRelease = { ...RELEASE_6_19_Y, name: '7.1', cpaSplitLoserFree: 'pagetable_free' };

/** v7.2: free_vmemmap_pages() (39406c05f8f1 "x86/mm: Fix freeing of PMD-sized vmemmap pages", David Hildenbrand). */
export const RELEASE_7_2: KernelRelease = { ...RELEASE_7_1, name: '7.2', vmemmapFree: 'free_vmemmap_pages' };

/**
 * v7.3 (UNCONFIRMED: tip x86/urgent, linux-next 9e4a3ec3411b): "x86/mm/pat: Allocate split page
 * tables as kernel page tables" — a change of split_large_page()'s allocation, which is a design
 * hook (src/designs/upstream-later.ts), not a field here.
 */
export const RELEASE_7_3: KernelRelease = { ...RELEASE_7_2, name: '7.3 (UNCONFIRMED)' };
