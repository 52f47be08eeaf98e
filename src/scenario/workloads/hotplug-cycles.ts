/**
 * hotplug-cycles — memory hot-add/hot-remove cycles, as CXL or DAX memory toggled between the
 * page allocator and a device does: add a section (add_memory: its direct map from
 * alloc_low_pages() tables, its memmap from one order-9 vmemmap block under a vmemmap PMD table),
 * allocate and free pages while it is online, then remove it (remove_memory: remove_pagetable()
 * frees every table through free_pagetable(), each before its parent entry is cleared), `cycles`
 * times, while the SVA device does steady DMA to its process's buffer (dma-load.ts) and probes
 * the section's direct-map and vmemmap addresses, published once the section is added and again
 * once it is removed: the probes while it is online cache the section's upper entries in the
 * IOMMU's paging-structure caches, the probes after the removal walk them.
 *
 * With a 4 KiB direct map (directMap4k, as CONFIG_DEBUG_PAGEALLOC gives) each removal frees
 * sectionPages / 512 direct-map PTE tables and the vmemmap PMD table (the boot sections have no
 * vmemmap mapping, src/kernel/mm/memory_hotplug.ts), plus the vmemmap block, which is data, not a table. The
 * direct-map PMD table stays: boot memory shares it. None of these tables is marked PT_kernel
 * (docs/kernel/pitfalls.md §5): v6.19 frees them synchronously.
 */
import { z } from 'zod';
import { PAGE_SIZE } from '../../hw/address.ts';
import { __free_page, alloc_page } from '../../kernel/mm/page_alloc.ts';
import { GFP_KERNEL } from '../../kernel/include/linux/gfp.ts';
import { __va } from '../../kernel/arch/x86/include/asm/pgtable_64_types.ts';
import { add_memory, remove_memory, section_start_pfn, section_vmemmap } from '../../kernel/mm/memory_hotplug.ts';
import type { Page } from '../../kernel/include/linux/mm_types.ts';
import { step, type Sim } from '../../sim/index.ts';
import { SteadyDma } from '../dma-load.ts';
import type { Workload } from '../workload.ts';
import { hotplugSection } from './hot-remove.ts';

/** Memory of the machine: 64 MiB, the top section hot-pluggable. */
const FRAMES = 16384;

const params = z
  .object({
    cycles: z.number().int().min(1).max(64).default(6).describe('hot-add/use/hot-remove cycles'),
    sectionPages: z
      .union([z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)])
      .default(2048)
      .describe('pages per memory section (PAGES_PER_SECTION, scaled down): 512 direct-map PTEs per PTE table'),
    usePages: z.number().int().min(0).max(1024).default(64).describe('pages allocated, written and freed while the section is online'),
    bufferPages: z.number().int().min(1).max(64).default(16).describe('pages of the process buffer the device DMAs to'),
    dmasPerTick: z.number().int().min(0).max(256).default(96).describe('DMAs the device may issue per hot-add, use or hot-remove'),
    probe: z.boolean().default(true).describe('the device also probes the kernel addresses the workload publishes (false: buffer DMA only, for metrics)'),
    probes: z.number().int().min(0).max(1000).default(8).describe('spare DMA probes of the published addresses, besides probing each publication'),
  })
  .strict();

export type HotplugCyclesParams = z.infer<typeof params>;

/** Page-table pages one hot-remove of a section frees: its direct-map PTE tables and the vmemmap PMD table. */
export function tablesPerRemoval(sectionPages: number): number {
  return sectionPages / 512 + 1;
}

export const hotplugCycles: Workload<HotplugCyclesParams> = {
  name: 'hotplug-cycles',
  summary: 'hot-add, use and hot-remove a memory section in cycles (CXL/DAX toggling) under steady DMA',
  params,
  config: (p) => ({ frames: FRAMES, sectionFrames: p.sectionPages, hotplugSections: 1, directMap4k: true }),
  spawn(k, p) {
    const load = SteadyDma.spawn(k, { bufferPages: p.bufferPages, dmasPerTick: p.dmasPerTick, ...(p.probe ? { probe: { probes: p.probes } } : {}) });
    const section = hotplugSection(k);
    // A page into the section's direct map, and its memmap (as hot-remove.ts publishes them).
    const directMap = __va(k.layout, section_start_pfn(k, section) * PAGE_SIZE + PAGE_SIZE);
    const vmemmap = section_vmemmap(k, section);
    load.spawnWorker('cpu0:hotplug', 0, function* (): Sim {
      for (let c = 0; c < p.cycles; c++) {
        // Credit before each operation: the device keeps going while the long operation runs.
        yield* load.tick();
        if (!(yield* add_memory(k, section))) return;
        yield* load.publish(directMap);
        yield* load.publish(vmemmap);
        yield* load.tick();
        const held: Page[] = [];
        for (let i = 0; i < p.usePages; i++) {
          const page = yield* alloc_page(k, GFP_KERNEL);
          if (page === null) break;
          yield step('memset', 'write', page);
          k.mem.zeroFrame(page);
          k.mem.write64(page * PAGE_SIZE, BigInt(c + 1));
          held.push(page);
        }
        for (const page of held) yield* __free_page(k, page);
        yield* load.tick();
        if (!(yield* remove_memory(k, section))) return;
        yield* load.publish(directMap);
        yield* load.publish(vmemmap);
      }
    });
  },
};
