/**
 * pte-populate-race — two CPUs vmalloc a page each in the same empty 2 MiB region: both allocate a
 * PTE table, the loser of the populate race frees its never-linked table with pte_free_kernel().
 * Then both vfree, and a huge vmalloc replaces the winner's table (pmd_free_pte_page).
 */
import { z } from 'zod';
import { PAGE_SIZE, PMD_SIZE } from '../../hw/address.ts';
import { purge_vmap_area_lazy, vfree, vmalloc } from '../../kernel/mm/vmalloc.ts';
import type { Sim } from '../../sim/index.ts';
import { spawnAttacker } from '../attacker.ts';
import { Doorbell } from '../doorbell.ts';
import type { Workload } from '../workload.ts';

const params = z
  .object({
    probes: z.number().int().min(0).max(1000).default(2).describe('spare DMA probes, besides probing every known address after each publication'),
  })
  .strict();

export const ptePopulateRace: Workload<z.infer<typeof params>> = {
  name: 'pte-populate-race',
  summary: 'two CPUs populate the same PMD; the loser frees its unlinked PTE table via pte_free_kernel',
  params,
  spawn(k, p) {
    const attacker = spawnAttacker(k, { probes: p.probes });
    const secondDone = new Doorbell(k.exec, 'cpu1 vfree done');
    const mapper = (cpu: number) =>
      function* (): Sim {
        yield* attacker.bound.wait();
        const va = yield* vmalloc(k, PAGE_SIZE);
        if (va === null) return;
        yield* attacker.targets.publish(va);
        yield* vfree(k, va);
        if (cpu === 1) {
          yield* secondDone.ring();
          return;
        }
        yield* secondDone.wait();
        yield* purge_vmap_area_lazy(k);
        yield* vmalloc(k, PMD_SIZE, true);
      };
    k.exec.spawn({ name: 'cpu0:vmalloc', cpu: 0 }, mapper(0));
    k.exec.spawn({ name: 'cpu1:vmalloc', cpu: 1 }, mapper(1));
  },
};
