/**
 * What v1, v2 and v3 share: the IOMMU invalidation hooked onto x86's flush_tlb_kernel_range(),
 * inside its preemption-disabled section (v1 called the IOMMU at the end of x86
 * flush_tlb_kernel_range(), <20250704133056.4023816-1-baolu.lu@linux.intel.com>; the per-CPU
 * flush_tlb_info is held with preemption off), so every
 * caller of a kernel TLB flush also flushes the IOMMU — before the page-table free that follows it.
 */
import type { Va } from '../hw/address.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { preempt_disable, preempt_enable } from '../kernel/include/linux/preempt.ts';
import { generic_flush_tlb_kernel_range } from '../kernel/arch/x86/mm/tlb.ts';
import { preemption_point } from '../kernel/kernel/sched/core.ts';
import type { Sim } from '../sim/index.ts';

export function hookedFlushTlbKernelRange(invalidate: (k: Kernel, start: Va, end: Va) => Sim) {
  return function* flush_tlb_kernel_range(k: Kernel, start: Va, end: Va): Sim {
    yield* preemption_point(k);
    preempt_disable(k);
    yield* generic_flush_tlb_kernel_range(k, start, end);
    yield* invalidate(k, start, end);
    preempt_enable(k);
  };
}
