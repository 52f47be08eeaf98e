/**
 * vmalloc-churn — vmalloc/vfree churn with huge mappings, as module loading and the BPF JIT cause:
 * several CPUs each allocate, per round, a batch of 4 KiB-backed areas of mixed sizes and as many
 * 2 MiB huge areas (vmalloc_huge) as the batch spans 2 MiB regions, vfree everything and purge the
 * lazy areas (purge_vmap_area_lazy). The order alternates — small areas first in even rounds, huge
 * ones first in odd rounds — so, the space being first fit and purged each round, every huge area
 * after the first round lands on a region whose PTE table the last round's small areas left behind
 * and frees it through vmap_try_huge_pmd() → pmd_free_pte_page(). Meanwhile the SVA device does
 * steady DMA to its process's buffer and probes every area the workload maps (dma-load.ts): a
 * probe of a small area caches its PMD entry in the IOMMU's paging-structure caches, and the probe
 * of the huge area mapped over it later walks that entry unless a flush dropped it.
 *
 * With one thread, the batch spans m = ceil(pages / 512) regions and the run frees exactly
 * m × (rounds − 1) PTE tables: the small areas alternate between regions [0, m) and [m, 2m) of
 * the vmalloc space, the huge ones take the other half. With several threads the areas interleave
 * and the count depends on the schedule.
 */
import { z } from 'zod';
import { PAGE_SIZE, PMD_SIZE, PTRS_PER_TABLE, type Va } from '../../hw/address.ts';
import { purge_vmap_area_lazy, vfree, vmalloc } from '../../kernel/mm/vmalloc.ts';
import type { Sim } from '../../sim/index.ts';
import { SteadyDma } from '../dma-load.ts';
import type { Workload } from '../workload.ts';

/** Sizes of the 4 KiB-backed areas, in pages, taken in turn: a small module, a BPF program, a bigger module. */
export const CHURN_SIZES: readonly number[] = [4, 1, 16, 64];

const params = z
  .object({
    threads: z.number().int().min(1).max(4).default(2).describe('CPUs churning vmalloc space, one thread each'),
    rounds: z.number().int().min(1).max(256).default(8).describe('allocate/free/purge rounds per thread'),
    allocs: z.number().int().min(1).max(64).default(13).describe('4 KiB-backed areas per round, sized 4, 1, 16, 64 pages in turn'),
    bufferPages: z.number().int().min(1).max(64).default(16).describe('pages of the process buffer the device DMAs to'),
    dmasPerTick: z.number().int().min(0).max(64).default(4).describe('DMAs the device may issue per vmalloc, vfree or purge'),
    probe: z.boolean().default(true).describe('the device also probes the kernel addresses the workload publishes (false: buffer DMA only, for metrics)'),
    probes: z.number().int().min(0).max(1000).default(8).describe('spare DMA probes of the published addresses, besides probing each publication'),
  })
  .strict();

export type VmallocChurnParams = z.infer<typeof params>;

/** Pages of one round's 4 KiB-backed areas. */
export function churnPages(allocs: number): number {
  let pages = 0;
  for (let i = 0; i < allocs; i++) pages += CHURN_SIZES[i % CHURN_SIZES.length];
  return pages;
}

/** Huge areas per round: one per 2 MiB region the small areas span. */
export function churnHugePerRound(allocs: number): number {
  return Math.ceil(churnPages(allocs) / PTRS_PER_TABLE);
}

export const vmallocChurn: Workload<VmallocChurnParams> = {
  name: 'vmalloc-churn',
  summary: 'CPUs churn vmalloc space with mixed 4 KiB and huge areas; huge ones free leftover PTE tables (pmd_free_pte_page) under steady DMA',
  params,
  config: (p) => ({ cpus: Math.max(2, p.threads), frames: 16384 }),
  spawn(k, p) {
    const load = SteadyDma.spawn(k, { bufferPages: p.bufferPages, dmasPerTick: p.dmasPerTick, ...(p.probe ? { probe: { probes: p.probes } } : {}) });
    const huge = churnHugePerRound(p.allocs);
    for (let cpu = 0; cpu < p.threads; cpu++) {
      load.spawnWorker(`cpu${cpu}:vmalloc`, cpu, function* (): Sim {
        for (let r = 0; r < p.rounds; r++) {
          const areas: Va[] = [];
          const small = function* (): Sim {
            for (let i = 0; i < p.allocs; i++) {
              const va = yield* vmalloc(k, CHURN_SIZES[i % CHURN_SIZES.length] * PAGE_SIZE);
              if (va !== null) {
                areas.push(va);
                yield* load.publish(va);
              }
              yield* load.tick();
            }
          };
          const big = function* (): Sim {
            for (let i = 0; i < huge; i++) {
              const va = yield* vmalloc(k, PMD_SIZE, true);
              if (va !== null) {
                areas.push(va);
                yield* load.publish(va);
              }
              yield* load.tick();
            }
          };
          if (r % 2 === 0) {
            yield* small();
            yield* big();
          } else {
            yield* big();
            yield* small();
          }
          for (const va of areas) {
            yield* vfree(k, va);
            yield* load.tick();
          }
          yield* purge_vmap_area_lazy(k);
          yield* load.tick();
        }
      });
    }
  },
};
