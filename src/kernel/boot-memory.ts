/**
 * The memory phase of boot (STYLE.md §12: memory → boot page tables → mms → devices → threads):
 * physical memory, mem_map, zones, memblock, then the buddy allocator (mm/mm_init.c memmap_init /
 * __init_single_page, mm/memblock.c memblock_free_all; v6.19).
 *
 * Phase order inside:
 *  1. PhysMem, PageArray, ListArena, VmStat; zones ZONE_DMA32 = the lowest quarter of the frames
 *     (if any) and ZONE_NORMAL = the rest, all on node 0. (x86's 16 MiB ZONE_DMA and ZONE_MOVABLE
 *     hold no memory here: __GFP_DMA allocations fail.)
 *  2. memmap init of every page: zone and node in page->flags, last_cpupid all ones, refcount 1,
 *     _mapcount -1, lru an empty list; every frame RESERVED until the buddy allocator gets it.
 *  3. memblock: frame 0 is reserved (x86 keeps the first 1 MiB from the allocator; the model keeps
 *     only frame 0, so pfn 0 never names a page-table page). Then `early(core)` runs: the place for
 *     memblock_alloc_pages(), i.e. boot page tables.
 *  4. memblock_free_all(): every other frame enters the buddy allocator.
 */
import { PhysMem } from '../hw/phys-mem.ts';
import { type Execution, ModelInvariantError } from '../sim/index.ts';
import { ZONE_DMA32, ZONE_NORMAL, newZone, type Zone } from './buddy.ts';
import type { KernelConfig } from './config.ts';
import { INIT_LIST_HEAD, ListArena } from './list.ts';
import { memblock_free_all, memblock_reserve, newMemblock, type BootMemory } from './memblock.ts';
import { PageArray, SHADOW_RESERVED, page_cpupid_reset_last, set_page_node, set_page_zone } from './page.ts';
import { VmStat } from './vmstat.ts';

/** Smallest memory the model boots with. */
const MIN_FRAMES = 8;

export function bootMemory(exec: Execution, config: KernelConfig, early?: (core: BootMemory) => void): BootMemory {
  const frames = config.frames;
  if (!Number.isInteger(frames) || frames < MIN_FRAMES) {
    throw new ModelInvariantError(`bootMemory: config.frames ${frames} must be an integer >= ${MIN_FRAMES}`);
  }
  const mem = new PhysMem(frames);
  const pages = new PageArray(frames, config.pageFlags);
  if (ZONE_NORMAL > pages.layout.zone.mask) {
    throw new ModelInvariantError(`bootMemory: ZONES_WIDTH ${config.pageFlags.ZONES_WIDTH} cannot hold zone ${ZONE_NORMAL} (ZONE_NORMAL)`);
  }
  const lists = new ListArena(exec, frames);
  const vmstat = new VmStat(1);
  const dma32End = Math.floor(frames / 4);
  const zones: Zone[] = [];
  if (dma32End > 0) zones.push(newZone({ exec, lists }, 'DMA32', ZONE_DMA32, 0, dma32End));
  zones.push(newZone({ exec, lists }, 'Normal', ZONE_NORMAL, dma32End, frames));

  for (const zone of zones) {
    for (let p = zone.start_pfn; p < zone.end_pfn; p++) {
      set_page_zone(pages, p, zone.zone_idx);
      set_page_node(pages, p, zone.node);
      page_cpupid_reset_last(pages, p);
      pages.refcount[p] = 1;
      INIT_LIST_HEAD(lists, p);
      pages.shadow[p] = SHADOW_RESERVED;
    }
  }

  const core: BootMemory = { exec, config, mem, pages, lists, zones, vmstat, observers: [], memblock: newMemblock(frames) };
  memblock_reserve(core, 0, 1);
  early?.(core);
  memblock_free_all(core);
  return core;
}
