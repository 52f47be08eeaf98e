/**
 * bind-unbind — the process binds and unbinds the device while the kernel frees page tables: the
 * mm comes and goes on iommu_sva_mms, iommu_sva_present flips, and unbind's PASID teardown flushes
 * the IOMMU, all serialised against the invalidation by iommu_sva_lock (docs/kernel/pitfalls.md §13).
 */
import { z } from 'zod';
import { spawnAttacker } from '../attacker.ts';
import type { Workload } from '../workload.ts';
import { vfreeThenHugeVmap } from './vfree-huge-vmap.ts';

const params = z
  .object({
    cycles: z.number().int().min(1).max(16).default(2).describe('bind/unbind cycles of the process'),
    rounds: z.number().int().min(1).max(64).default(1).describe('vmalloc/vfree/huge-vmalloc rounds'),
    probes: z.number().int().min(0).max(1000).default(2).describe('spare DMA probes, besides probing every known address after each publication'),
  })
  .strict();

export const bindUnbind: Workload<z.infer<typeof params>> = {
  name: 'bind-unbind',
  summary: 'SVA bound and unbound while vfree/huge-vmap frees page tables',
  params,
  spawn(k, p) {
    const attacker = spawnAttacker(k, { probes: p.probes, bindCycles: p.cycles });
    k.exec.spawn({ name: 'cpu0:vmalloc', cpu: 0 }, function* () {
      yield* attacker.bound.wait();
      for (let r = 0; r < p.rounds; r++) yield* vfreeThenHugeVmap(k, (va) => attacker.targets.publish(va));
    });
  },
};
