/**
 * `v2` (9 Jul 2025): v1 with the mutex turned into a spinlock so that flush_tlb_kernel_range() may
 * call it in atomic context (the IOMMU drivers' secondary-TLB callbacks are atomic-safe: Jason
 * Gunthorpe, <20250708140629.GQ904431@ziepe.ca>). It fixes v1's sleep but still hooks only
 * flush_tlb_kernel_range(): frees that precede their flush, or that are flushed with
 * flush_tlb_all(), stay unprotected — Dave Hansen's objection that the hook sits on a generic TLB
 * path instead of on page-table freeing (<ee7585bd-d87c-4f93-9c8e-b8c1d649cdfe@intel.com>;
 * docs/kernel/deferred-free.md, Versions).
 *
 * Modelling note: v2 also took the spinlock in bind/unbind around the mm list; here bind/unbind
 * keep the kernel's mutex, so the list walk is ordered against them only by steps, not by the lock.
 */
import type { Va } from '../hw/address.ts';
import { mmu_notifier_arch_invalidate_secondary_tlbs } from '../kernel/drivers/iommu/iommu-sva.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { spin_lock, spin_lock_init, spin_unlock, type spinlock_t } from '../kernel/kernel/locking/spinlock.ts';
import type { Sim } from '../sim/index.ts';
import { DEFAULT_RELEASE } from '../kernel/model/release.ts';
import type { Design } from './design.ts';
import { hookedFlushTlbKernelRange } from './flush-hook.ts';

export const v2: Design = {
  name: 'v2',
  summary: 'v1 with a spinlock instead of the mutex: atomic-safe, still hooked on flush_tlb_kernel_range() only',
  source: '[PATCH v2 1/1] iommu/sva: Invalidate KVA range on kernel TLB flush, 9 Jul 2025, <20250709062800.651521-1-baolu.lu@linux.intel.com>',
  // Posted against v6.16-rc, whose Intel driver still flushed SVA domains with PASID-based descriptors.
  kernel: DEFAULT_RELEASE,
  overrides: ['flush_tlb_kernel_range'],
  install(k) {
    const iommu_sva_lock: spinlock_t = spin_lock_init(k, 'iommu_sva_lock (v2 spinlock)');
    function* invalidate(kk: Kernel, start: Va, end: Va): Sim {
      if (!kk.sva.iommu_sva_present) return;
      yield* spin_lock(kk, iommu_sva_lock);
      for (const iommu_mm of kk.sva.iommu_sva_mms) yield* mmu_notifier_arch_invalidate_secondary_tlbs(kk, iommu_mm.mm, start, end);
      yield* spin_unlock(kk, iommu_sva_lock);
    }
    return { flush_tlb_kernel_range: hookedFlushTlbKernelRange(invalidate) };
  },
};
