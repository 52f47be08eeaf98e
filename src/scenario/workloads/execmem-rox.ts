/**
 * execmem-rox — execmem/BPF permission changes on the direct map, `rounds` times over several
 * 2 MiB regions per CPU: a page of the region is made read-only and writable again (a JIT image's
 * direct-map alias being protected and released), which splits the region's 2 MiB leaf
 * (split_large_page: a PTE table from alloc_pages, never marked PT_kernel); then set_memory_rox()
 * over the whole 2 MiB, as execmem's ROX cache does for text, leaves 512 identical PTEs and
 * cpa_collapse_large_pages() restores the leaf and frees the table after flush_tlb_all(). Meanwhile
 * the SVA device does steady DMA to its process's buffer and probes the changed page after each
 * call (dma-load.ts): a probe of the split region caches its PMD entry in the IOMMU's
 * paging-structure caches, and the probe after the collapse walks it unless a flush dropped it.
 *
 * Exactly one split and one collapse per region and round, whatever the schedule (each CPU owns
 * its regions): the run frees threads × regions × rounds PTE tables. In the first round the leaf
 * is writable and set_memory_ro() splits it; after a collapse it is read-only and executable, so
 * set_memory_ro() changes nothing and set_memory_rw() splits it.
 */
import { z } from 'zod';
import { PAGE_SIZE, PMD_SIZE } from '../../hw/address.ts';
import { set_memory_ro, set_memory_rox, set_memory_rw } from '../../kernel/arch/x86/mm/pat/set_memory.ts';
import { __va } from '../../kernel/arch/x86/include/asm/pgtable_64_types.ts';
import type { Sim } from '../../sim/index.ts';
import { SteadyDma } from '../dma-load.ts';
import type { Workload } from '../workload.ts';

/** Memory of the machine: 64 MiB, 32 direct-map regions of 2 MiB (the boot tables sit in the top one). */
const FRAMES = 16384;

const params = z
  .object({
    threads: z.number().int().min(1).max(4).default(2).describe('CPUs changing permissions, one thread each'),
    regions: z.number().int().min(1).max(6).default(3).describe('2 MiB direct-map regions per thread'),
    rounds: z.number().int().min(1).max(64).default(2).describe('split/collapse rounds over every region'),
    bufferPages: z.number().int().min(1).max(64).default(16).describe('pages of the process buffer the device DMAs to'),
    dmasPerTick: z.number().int().min(0).max(256).default(16).describe('DMAs the device may issue per set_memory_*() call'),
    probe: z.boolean().default(true).describe('the device also probes the kernel addresses the workload publishes (false: buffer DMA only, for metrics)'),
    probes: z.number().int().min(0).max(1000).default(8).describe('spare DMA probes of the published addresses, besides probing each publication'),
  })
  .strict();

export type ExecmemRoxParams = z.infer<typeof params>;

export const execmemRox: Workload<ExecmemRoxParams> = {
  name: 'execmem-rox',
  summary: 'CPUs split direct-map leaves with set_memory_ro/rw and collapse them with set_memory_rox (CPA) under steady DMA',
  params,
  config: (p) => ({ cpus: Math.max(2, p.threads), frames: FRAMES }),
  spawn(k, p) {
    const load = SteadyDma.spawn(k, { bufferPages: p.bufferPages, dmasPerTick: p.dmasPerTick, ...(p.probe ? { probe: { probes: p.probes } } : {}) });
    for (let cpu = 0; cpu < p.threads; cpu++) {
      // Regions from the second 2 MiB up: the first holds pfn 0, the last the boot page tables.
      const regions = Array.from({ length: p.regions }, (_, i) => __va(k.layout, (1 + cpu * p.regions + i) * PMD_SIZE));
      load.spawnWorker(`cpu${cpu}:execmem`, cpu, function* (): Sim {
        for (let r = 0; r < p.rounds; r++) {
          for (const region of regions) {
            const page = region + BigInt(3 * PAGE_SIZE);
            yield* set_memory_ro(k, page, 1);
            yield* load.publish(page);
            yield* load.tick();
            yield* set_memory_rw(k, page, 1);
            yield* load.publish(page);
            yield* load.tick();
            yield* set_memory_rox(k, region, PMD_SIZE / PAGE_SIZE);
            yield* load.publish(page);
            yield* load.tick();
          }
        }
      });
    }
  },
};
