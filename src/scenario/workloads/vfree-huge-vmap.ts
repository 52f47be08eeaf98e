/**
 * vfree-huge-vmap — the common case the merged commit names: vfree() leaves a PTE table behind,
 * then a huge vmalloc over the same 2 MiB replaces it with a PMD leaf, freeing the table through
 * vmap_try_huge_pmd() → pmd_free_pte_page(). The attacker probes the small mapping first.
 */
import { z } from 'zod';
import { PAGE_SIZE, PMD_SIZE } from '../../hw/address.ts';
import type { Kernel } from '../../kernel/model/kernel.ts';
import { purge_vmap_area_lazy, vfree, vmalloc } from '../../kernel/mm/vmalloc.ts';
import type { Sim } from '../../sim/index.ts';
import { spawnAttacker } from '../attacker.ts';
import type { Workload } from '../workload.ts';

const params = z
  .object({
    rounds: z.number().int().min(1).max(64).default(1).describe('vmalloc/vfree/huge-vmalloc rounds'),
    probes: z.number().int().min(0).max(1000).default(2).describe('spare DMA probes, besides probing every known address after each publication'),
  })
  .strict();

export type VfreeHugeVmapParams = z.infer<typeof params>;

/** One round: map a page, publish it, vfree it, purge, then a huge vmalloc over the same range. */
export function* vfreeThenHugeVmap(k: Kernel, publish: (va: bigint) => Sim): Sim {
  const va = yield* vmalloc(k, PAGE_SIZE);
  if (va === null) return;
  yield* publish(va);
  yield* vfree(k, va);
  yield* purge_vmap_area_lazy(k);
  const huge = yield* vmalloc(k, PMD_SIZE, true);
  if (huge === null) return;
  yield* publish(huge);
  yield* vfree(k, huge);
  yield* purge_vmap_area_lazy(k);
}

export const vfreeHugeVmap: Workload<VfreeHugeVmapParams> = {
  name: 'vfree-huge-vmap',
  summary: 'vfree leaves a PTE table; a huge vmalloc over it frees the table via pmd_free_pte_page',
  params,
  spawn(k, p) {
    const attacker = spawnAttacker(k, { probes: p.probes });
    k.exec.spawn({ name: 'cpu0:vmalloc', cpu: 0 }, function* () {
      yield* attacker.bound.wait();
      for (let r = 0; r < p.rounds; r++) yield* vfreeThenHugeVmap(k, (va) => attacker.targets.publish(va));
    });
  },
};
