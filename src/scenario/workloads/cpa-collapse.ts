/**
 * cpa-collapse — execmem/BPF-style permission changes on the direct map: set_memory_ro() on one page
 * splits its 2 MiB leaf (a PTE table from alloc_pages, never marked as a kernel table), and a later
 * set_memory_rox() over the whole 2 MiB lets cpa_collapse_large_pages() restore the leaf and free
 * the table after flush_tlb_all() — which reaches only the CPUs.
 */
import { z } from 'zod';
import { PAGE_SIZE, PMD_SIZE } from '../../hw/address.ts';
import { set_memory_ro, set_memory_rox, set_memory_rw } from '../../kernel/arch/x86/mm/pat/set_memory.ts';
import { __va } from '../../kernel/arch/x86/include/asm/pgtable_64_types.ts';
import { spawnAttacker } from '../attacker.ts';
import type { Workload } from '../workload.ts';

const params = z
  .object({
    rounds: z.number().int().min(1).max(16).default(1).describe('split/collapse rounds'),
    probes: z.number().int().min(0).max(1000).default(2).describe('spare DMA probes, besides probing every known address after each publication'),
  })
  .strict();

export const cpaCollapse: Workload<z.infer<typeof params>> = {
  name: 'cpa-collapse',
  summary: 'set_memory_ro splits a direct-map leaf; set_memory_rox collapses it and frees the split PTE table',
  params,
  spawn(k, p) {
    const attacker = spawnAttacker(k, { probes: p.probes });
    // The second 2 MiB of memory: inside the direct map, away from the boot tables at the top.
    const region = __va(k.layout, PMD_SIZE);
    const page = region + BigInt(3 * PAGE_SIZE);
    k.exec.spawn({ name: 'cpu0:bpf', cpu: 0 }, function* () {
      yield* attacker.bound.wait();
      for (let r = 0; r < p.rounds; r++) {
        yield* set_memory_ro(k, page, 1);
        yield* attacker.targets.publish(page);
        yield* set_memory_rw(k, page, 1);
        yield* set_memory_rox(k, region, PMD_SIZE / PAGE_SIZE);
        yield* attacker.targets.publish(page);
      }
    });
  },
};
