/**
 * `upstream@7.1`, `upstream@7.2`, `upstream@7.3`: the merged fix (upstream, v6.19) with what later
 * releases changed in the x86 free sites (docs/kernel/free-sites.md, Per release). The deferred
 * machinery and every other hook are v6.19's (mm/pgtable-generic.c is unchanged through v7.1):
 *
 * - v7.1: split_large_page() takes its table from pagetable_alloc(GFP_KERNEL, 0) (tip e751303e0ad2
 *   "x86/mm/pat: Convert split_large_page() to use ptdescs", Vishal Moola, 4 Mar 2026,
 *   <20260303194828.1406905-5-vishal.moola@gmail.com>): __GFP_COMP, no mark, so the table CPA
 *   collapses is still freed at once with no IOMMU invalidation; the loser of a split race frees
 *   with pagetable_free(). The same series moved CPA's populate_*() to pte_alloc_one_kernel() and
 *   *_alloc_one(&init_mm), which mark — paths the model does not have (it models no CPA of a
 *   missing mapping). Hot-remove still leaks 511 pages of each vmemmap block (bf9e4e30f353).
 * - v7.2: hot-remove frees vmemmap pages with free_vmemmap_pages(), the whole order
 *   (39406c05f8f1 "x86/mm: Fix freeing of PMD-sized vmemmap pages", David Hildenbrand,
 *   <20260429-vmemmap-v2-1-8dfcacffd877@kernel.org>; in x86_mm_for_7.2-rc1; backported to 7.1.y
 *   and 6.18.y). The huge-vmap trylock of init_mm ("mm/vmalloc: acquire init_mm lock on huge
 *   vmap", <20260714-series-vmap-race-fix-v3-1-b812eccfa0f9@kernel.org>; release UNCONFIRMED) is
 *   not modelled: the model has no mmap lock, and nothing it runs would contend for one.
 * - v7.3 (UNCONFIRMED: in tip x86/urgent 31 Aug 2026 and linux-next as 9e4a3ec3411b, next to a
 *   commit of x86_urgent_for_7.3-rc4): "x86/mm/pat: Allocate split page tables as kernel page
 *   tables" — the split table is marked, so its collapse free is deferred behind the invalidation.
 *   How it marks is UNCONFIRMED (patch body not read); modelled as ptdesc_set_kernel() after
 *   pagetable_alloc(). The collapse under mmap_write_lock(&init_mm) and attribute changes under its
 *   read lock (a1c7570cedd0, d5d8b8662e6e) are not modelled (no mmap lock, no ptdump).
 *
 * Each release's Intel and AMD behaviour is the release constant's, not this module's.
 */
import { GFP_KERNEL } from '../kernel/include/linux/gfp.ts';
import { pagetable_alloc, ptdesc_set_kernel } from '../kernel/include/linux/mm.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import type { KernelRelease } from '../kernel/model/release.ts';
import { RELEASE_7_1, RELEASE_7_2, RELEASE_7_3 } from '../kernel/model/releases.ts';
import type { Ptdesc } from '../kernel/include/linux/mm_types.ts';
import type { Sim } from '../sim/index.ts';
import type { Design } from './design.ts';
import { deferredDesign } from './parts/deferred-design.ts';
import { upstreamSpec } from './upstream.ts';

/** split_large_page()'s table since e751303e0ad2: pagetable_alloc(GFP_KERNEL, 0), unmarked. */
function* split_table_ptdesc(k: Kernel): Sim<Ptdesc | null> {
  return yield* pagetable_alloc(k, GFP_KERNEL, 0);
}

/** "Allocate split page tables as kernel page tables": the same table, marked PT_kernel. */
function* split_table_kernel(k: Kernel): Sim<Ptdesc | null> {
  const pt = yield* pagetable_alloc(k, GFP_KERNEL, 0);
  if (pt !== null) ptdesc_set_kernel(k.pages, pt);
  return pt;
}

/** upstream with its release and split_large_page()'s allocation replaced. */
function later(name: string, summary: string, source: string, kernel: KernelRelease, cpa_alloc_pgtable: (k: Kernel) => Sim<Ptdesc | null>): Design {
  return deferredDesign({
    ...upstreamSpec,
    name,
    summary,
    source,
    kernel,
    overrides: [...upstreamSpec.overrides, 'cpa_alloc_pgtable'],
    hooks: (k, deferred) => ({ ...upstreamSpec.hooks(k, deferred), cpa_alloc_pgtable }),
  });
}

export const UPSTREAM_LATER: readonly Design[] = [
  later(
    'upstream@7.1',
    'v7.1: upstream with split_large_page() on pagetable_alloc() (still unmarked); hot-remove still leaks each vmemmap block',
    'Linux v7.1: upstream plus tip e751303e0ad2 ("x86/mm/pat: Convert split_large_page() to use ptdescs")',
    RELEASE_7_1,
    split_table_ptdesc,
  ),
  later(
    'upstream@7.2',
    'v7.2: v7.1 with free_vmemmap_pages(): hot-remove frees each vmemmap block whole',
    'Linux v7.2: v7.1 plus tip 39406c05f8f1 ("x86/mm: Fix freeing of PMD-sized vmemmap pages")',
    RELEASE_7_2,
    split_table_ptdesc,
  ),
  later(
    'upstream@7.3',
    'v7.3 (UNCONFIRMED): v7.2 with CPA split tables marked as kernel tables, so their collapse free is deferred and IOMMU-invalidated',
    'Linux v7.3-rc4 (UNCONFIRMED): v7.2 plus "x86/mm/pat: Allocate split page tables as kernel page tables" (tip 83a2490f0f1e, linux-next 9e4a3ec3411b)',
    RELEASE_7_3,
    split_table_kernel,
  ),
];
