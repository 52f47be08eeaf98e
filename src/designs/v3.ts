/**
 * `v3` (6 Aug 2025): the invalidation moves out of atomic context into a work item — one
 * kzalloc(GFP_ATOMIC)'ed work per kernel TLB flush, checked against a plain bool read without the
 * lock (READ_ONCE) — and flush_tlb_all() is hooked too, with (0, TLB_FLUSH_ALL). The work runs
 * later under the `iommu_sva_lock` mutex. The page-table pages are still freed right after the CPU
 * flush, before the work has run: Dave Hansen's "still a use-after-free" on pmd_free_pte_page()
 * (<d646d434-f680-47a3-b6b9-26f4538c1209@intel.com>; docs/kernel/deferred-free.md, Versions). If the
 * GFP_ATOMIC allocation fails, the invalidation is simply skipped.
 */
import { TLB_FLUSH_ALL, type Va } from '../hw/address.ts';
import { mmu_notifier_arch_invalidate_secondary_tlbs } from '../kernel/drivers/iommu/iommu-sva.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { mutex_lock, mutex_unlock } from '../kernel/kernel/locking/mutex.ts';
import { generic_flush_tlb_all, generic_flush_tlb_kernel_range } from '../kernel/arch/x86/mm/tlb.ts';
import { INIT_WORK, schedule_work } from '../kernel/kernel/workqueue.ts';
import { step, type Sim } from '../sim/index.ts';
import { DEFAULT_RELEASE } from '../kernel/model/release.ts';
import type { Design } from './design.ts';

/** v3's iommu_sva_invalidate_kva_range(): queue a freshly allocated work item, or do nothing. */
function* iommu_sva_invalidate_kva_range_v3(k: Kernel, start: Va, end: Va): Sim {
  yield step('READ_ONCE(iommu_sva_present)', 'read', k.sva.presentObj);
  if (!k.sva.iommu_sva_present) return;
  if (k.config.failAtomicAllocations && k.exec.choose('kzalloc GFP_ATOMIC', ['succeed', 'fail'], { fault: true }) === 1) return;
  const work = INIT_WORK<Kernel>(k, 'iommu_sva_invalidate_work', function* (kk) {
    yield* mutex_lock(kk, kk.sva.iommu_sva_lock);
    for (const iommu_mm of kk.sva.iommu_sva_mms) yield* mmu_notifier_arch_invalidate_secondary_tlbs(kk, iommu_mm.mm, start, end);
    yield* mutex_unlock(kk, kk.sva.iommu_sva_lock);
  });
  yield* schedule_work(k, work);
}

export const v3: Design = {
  name: 'v3',
  summary: 'invalidation queued as a work item per kernel TLB flush; page tables still freed at once',
  source: '[PATCH v3 1/1] iommu/sva: Invalidate KVA range on kernel TLB flush, 6 Aug 2025, <20250806052505.3113108-1-baolu.lu@linux.intel.com>',
  // Posted in the v6.17 merge window, which brought the legacy path (b33125296b50); whether its base
  // had it is unconfirmed, and its author reasoned with the PASID-based flush, which is what it is
  // checked with: its fault (freeing before the work runs) is the same under either.
  kernel: DEFAULT_RELEASE,
  overrides: ['flush_tlb_kernel_range', 'flush_tlb_all'],
  install: () => ({
    *flush_tlb_kernel_range(k, start, end) {
      yield* generic_flush_tlb_kernel_range(k, start, end);
      yield* iommu_sva_invalidate_kva_range_v3(k, start, end);
    },
    *flush_tlb_all(k) {
      yield* generic_flush_tlb_all(k);
      yield* iommu_sva_invalidate_kva_range_v3(k, 0n, TLB_FLUSH_ALL);
    },
  }),
};
