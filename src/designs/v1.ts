/**
 * `v1`: "iommu/sva: Invalidate KVA range on kernel TLB flush" (v1, 4 Jul 2025): the IOMMU is
 * flushed from inside x86's flush_tlb_kernel_range(), synchronously, under the `iommu_sva_lock`
 * mutex after an unconditional might_sleep(). flush_tlb_kernel_range() runs with preemption
 * disabled, so this sleeps in atomic context — Yi Lai's splat on the lazy vmap purge path
 * (<0c6f6b3e-d68d-4deb-963e-6074944afff7@linux.intel.com>; docs/kernel/deferred-free.md, Versions).
 * The frees themselves are not deferred; flush_tlb_all() is not hooked.
 */
import type { Va } from '../hw/address.ts';
import { mmu_notifier_arch_invalidate_secondary_tlbs } from '../kernel/drivers/iommu/iommu-sva.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { might_sleep } from '../kernel/kernel/sched/core.ts';
import { mutex_lock, mutex_unlock } from '../kernel/kernel/locking/mutex.ts';
import type { Sim } from '../sim/index.ts';
import { DEFAULT_RELEASE } from '../kernel/model/release.ts';
import type { Design } from './design.ts';
import { hookedFlushTlbKernelRange } from './flush-hook.ts';

/** v1's iommu_sva_invalidate_kva_range(): might_sleep(), static-key fast exit, then the mutex. */
function* iommu_sva_invalidate_kva_range_v1(k: Kernel, start: Va, end: Va): Sim {
  might_sleep(k, 'drivers/iommu/iommu-sva.c iommu_sva_invalidate_kva_range');
  if (!k.sva.iommu_sva_present) return;
  yield* mutex_lock(k, k.sva.iommu_sva_lock);
  for (const iommu_mm of k.sva.iommu_sva_mms) yield* mmu_notifier_arch_invalidate_secondary_tlbs(k, iommu_mm.mm, start, end);
  yield* mutex_unlock(k, k.sva.iommu_sva_lock);
}

export const v1: Design = {
  name: 'v1',
  summary: 'IOMMU flushed synchronously from flush_tlb_kernel_range() under a mutex (sleeps in atomic context)',
  source: '[PATCH 1/1] iommu/sva: Invalidate KVA range on kernel TLB flush, 4 Jul 2025, <20250704133056.4023816-1-baolu.lu@linux.intel.com>',
  // Posted against v6.16-rc, whose Intel driver still flushed SVA domains with PASID-based descriptors.
  kernel: DEFAULT_RELEASE,
  overrides: ['flush_tlb_kernel_range'],
  install: () => ({ flush_tlb_kernel_range: hookedFlushTlbKernelRange(iommu_sva_invalidate_kva_range_v1) }),
};
