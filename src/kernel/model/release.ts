/**
 * The kernel release a world runs: the version-dependent behaviour of the paths the model covers,
 * one field per behaviour that changed between releases (docs/kernel/versions.md has each change
 * with its commit and the releases it reached). A design names the release it describes
 * (Design.kernel); the kernel code asks `k.release`, never a version number, so a new release is
 * a new value here and not a new branch in the code.
 */

export interface KernelRelease {
  /** As `kptsim designs` prints it: `6.19.0`, `6.19.y (≥ 6.19.6)`. */
  readonly name: string;
  /**
   * How the Intel driver invalidates an SVA domain's IOTLB (cache_tag_flush_range/_all):
   * `piotlb`: PASID-based IOTLB descriptors (≤ 6.16.7, and again since 04b1b069f151);
   * `legacy`: IOTLB invalidation descriptors (type 2, domain- or page-selective), from b33125296b50
   * (v6.17, 6.16.8) until 04b1b069f151 (v7.0, 6.19.6, 6.18.16).
   */
  readonly intelSvaFlush: 'piotlb' | 'legacy';
  /** Whether iommu_sva_bind_device() refuses on x86 (-EOPNOTSUPP): "iommu: disable SVA when CONFIG_X86 is set" applied alone (6.18.4–6.18.6 and other stable lines). */
  readonly x86SvaDisabled: boolean;
  /**
   * What memory hot-remove frees a vmemmap page with (arch/x86/mm/init_64.c):
   * `free_pagetable`: the free-site hook, as for a table — with v6.19's pagetable_free()
   * (bf9e4e30f353) an order-9 block then loses 511 pages, and a reserved page of type SECTION_INFO
   * or MIX_SECTION_INFO goes to put_page_bootmem();
   * `free_vmemmap_pages`: free_vmemmap_pages() frees the whole order (a SECTION_INFO page through
   * put_page_bootmem()), and free_pagetable() keeps only MIX_SECTION_INFO for put_page_bootmem():
   * 39406c05f8f1 "x86/mm: Fix freeing of PMD-sized vmemmap pages" (v7.2; 7.1.y 03f6ecbc446c,
   * 6.18.y add1e4112e00).
   */
  readonly vmemmapFree: 'free_pagetable' | 'free_vmemmap_pages';
  /**
   * How split_large_page() gives back the table of a split another thread won
   * (arch/x86/mm/pat/set_memory.c): `__free_page`, or `pagetable_free` since e751303e0ad2
   * "x86/mm/pat: Convert split_large_page() to use ptdescs" (v7.1).
   */
  readonly cpaSplitLoserFree: '__free_page' | 'pagetable_free';
}

/**
 * The release the model's generic kernel is, for designs that name none: the x86 free sites of
 * v6.18 (src/kernel/model/generic-hooks.ts) and the Intel driver's PASID-based path, as every
 * posted draft of the series (v1–v7, the seed email) assumed.
 */
export const DEFAULT_RELEASE: KernelRelease = {
  name: '6.18 free sites, PASID-based IOTLB invalidation',
  intelSvaFlush: 'piotlb',
  x86SvaDisabled: false,
  vmemmapFree: 'free_pagetable',
  cpaSplitLoserFree: '__free_page',
};
