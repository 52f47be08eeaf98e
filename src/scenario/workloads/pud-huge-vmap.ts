/**
 * pud-huge-vmap — a 1 GiB ioremap over a range whose PMD table (and the PTE tables under it) vfree
 * left behind: vmap_try_huge_pud() → pud_free_pmd_page(), which allocates a scratch page
 * (GFP_KERNEL), clears every PMD and the PUD, flushes, then frees the PTE tables and the PMD table.
 */
import { z } from 'zod';
import { PAGE_SIZE, PUD_SIZE } from '../../hw/address.ts';
import { ioremap, purge_vmap_area_lazy, vfree, vmalloc } from '../../kernel/mm/vmalloc.ts';
import { spawnAttacker } from '../attacker.ts';
import type { Workload } from '../workload.ts';

const params = z
  .object({
    probes: z.number().int().min(0).max(1000).default(2).describe('spare DMA probes, besides probing every known address after each publication'),
  })
  .strict();

export const pudHugeVmap: Workload<z.infer<typeof params>> = {
  name: 'pud-huge-vmap',
  summary: 'vfree leaves a PMD table; a 1 GiB ioremap over it frees it and its PTE tables via pud_free_pmd_page',
  params,
  spawn(k, p) {
    const attacker = spawnAttacker(k, { probes: p.probes });
    k.exec.spawn({ name: 'cpu0:ioremap', cpu: 0 }, function* () {
      yield* attacker.bound.wait();
      const va = yield* vmalloc(k, PAGE_SIZE);
      if (va === null) return;
      yield* attacker.targets.publish(va);
      yield* vfree(k, va);
      yield* purge_vmap_area_lazy(k);
      // A 1 GiB device BAR above RAM: ioremap maps it with a PUD leaf over the purged range.
      yield* ioremap(k, PUD_SIZE, PUD_SIZE);
    });
  },
};

