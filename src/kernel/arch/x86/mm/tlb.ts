/**
 * Kernel TLB flushes (arch/x86/mm/tlb.c, v6.19): `flush_tlb_kernel_range()` and `flush_tlb_all()`,
 * both IPIs to every CPU (on_each_cpu) that wait for completion.
 *
 * flush_tlb_kernel_range() runs with preemption disabled while it uses the per-CPU flush_tlb_info
 * (get_flush_tlb_info/put_flush_tlb_info, `guard(preempt)` in current trees). A range above
 * tlb_single_page_flush_ceiling pages (or TLB_FLUSH_ALL) becomes a full flush on each CPU; otherwise
 * each CPU does INVLPG per page, which also drops all of that CPU's paging-structure caches (SDM
 * vol. 3 §4.10.4.1) — the property pmd_free_pte_page() relies on for the CPU side.
 *
 * These only reach CPUs: the IOMMU's caches are not touched by any CPU TLB flush. That is the bug.
 */
import { PAGE_SIZE, TLB_FLUSH_ALL, type Va } from '../../../../hw/address.ts';
import { step, type Sim } from '../../../../sim/index.ts';
import type { Kernel } from '../../../model/kernel.ts';
import { preempt_disable, preempt_enable } from '../../../include/linux/preempt.ts';
import { preemption_point } from '../../../kernel/sched/core.ts';

/** on_each_cpu(func, wait=1): one step per CPU, touching that CPU's TLB. */
function* on_each_cpu(k: Kernel, label: string, func: (cpu: number) => void): Sim {
  for (let cpu = 0; cpu < k.cpus.length; cpu++) {
    yield step(label, 'write', k.tlbObjects[cpu]);
    func(cpu);
  }
}

export function* generic_flush_tlb_kernel_range(k: Kernel, start: Va, end: Va): Sim {
  yield* preemption_point(k);
  preempt_disable(k);
  const ceiling = BigInt(k.config.tlbSinglePageFlushCeiling * PAGE_SIZE);
  if (end === TLB_FLUSH_ALL || end - start > ceiling) {
    yield* on_each_cpu(k, 'do_flush_tlb_all', (cpu) => k.cpus[cpu].flushAll());
  } else {
    yield* on_each_cpu(k, 'do_kernel_range_flush', (cpu) => {
      for (let va = start; va < end; va += BigInt(PAGE_SIZE)) k.cpus[cpu].invlpg(va);
    });
  }
  preempt_enable(k);
  if (k.exec.tracing) k.exec.log('tlb', `flush_tlb_kernel_range(0x${start.toString(16)}, 0x${end.toString(16)}) on ${k.cpus.length} CPUs`);
}

export function* generic_flush_tlb_all(k: Kernel): Sim {
  yield* on_each_cpu(k, 'do_flush_tlb_all', (cpu) => k.cpus[cpu].flushAll());
  k.exec.log('tlb', `flush_tlb_all on ${k.cpus.length} CPUs`);
}

export const flush_tlb_kernel_range = (k: Kernel, start: Va, end: Va) => k.hooks.flush_tlb_kernel_range(k, start, end);
export const flush_tlb_all = (k: Kernel) => k.hooks.flush_tlb_all(k);
