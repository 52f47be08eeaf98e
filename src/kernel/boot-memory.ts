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
import { PTRS_PER_TABLE } from '../hw/address.ts';
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

export function bootMemory(exec: Execution, config: KernelConfig, early?: (core: BootMemory) => void, reuse?: PhysMem): BootMemory {
  const frames = config.frames;
  if (!Number.isInteger(frames) || frames < MIN_FRAMES) {
    throw new ModelInvariantError(`bootMemory: config.frames ${frames} must be an integer >= ${MIN_FRAMES}`);
  }
  // A previous execution's memory, zeroed, when the caller pools it (same size only).
  const mem = reuse !== undefined && reuse.frames === frames ? reuse : new PhysMem(frames);
  if (mem === reuse) mem.reset();
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
  // Memory hotplug: absent sections are kept from memblock and from the buddy allocator.
  const present = bootPresentFrames(config);
  if (present < frames) memblock_reserve(core, present, frames - present);
  early?.(core);
  memblock_free_all(core);
  return core;
}

/**
 * Memory hotplug (memory-hotplug.ts): the frames present at boot, i.e. all of them but the top
 * `hotplugSections` sections, which stay absent (not direct-mapped, PageReserved, never in the buddy
 * allocator) until add_memory(). Throws ModelInvariantError for a layout hotplug cannot have: a
 * section that is not whole 2 MiB PMDs, memory that is not whole sections, or hot-pluggable memory
 * reaching below ZONE_NORMAL (the lowest quarter of the frames is ZONE_DMA32, phase 1 above).
 */
export function bootPresentFrames(config: KernelConfig): number {
  const { frames, sectionFrames, hotplugSections } = config;
  if (!Number.isInteger(sectionFrames) || sectionFrames < PTRS_PER_TABLE || sectionFrames % PTRS_PER_TABLE !== 0) {
    throw new ModelInvariantError(`config.sectionFrames ${sectionFrames} must be a positive multiple of ${PTRS_PER_TABLE} (whole 2 MiB PMDs)`);
  }
  if (!Number.isInteger(hotplugSections) || hotplugSections < 0) {
    throw new ModelInvariantError(`config.hotplugSections ${hotplugSections} must be an integer >= 0`);
  }
  if (hotplugSections === 0) return frames;
  if (frames % sectionFrames !== 0) {
    throw new ModelInvariantError(`config.hotplugSections ${hotplugSections}: config.frames ${frames} is not a whole number of ${sectionFrames}-frame sections`);
  }
  const present = frames - hotplugSections * sectionFrames;
  const normalStart = Math.floor(frames / 4);
  if (present < Math.max(normalStart, MIN_FRAMES)) {
    throw new ModelInvariantError(
      `config.hotplugSections ${hotplugSections}: hot-pluggable memory would start at pfn 0x${present.toString(16)}, below ZONE_NORMAL (pfn 0x${normalStart.toString(16)}) or leaving under ${MIN_FRAMES} boot frames`,
    );
  }
  return present;
}

