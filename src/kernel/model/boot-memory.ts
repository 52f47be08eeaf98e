/**
 * The memory phase of boot (docs/architecture.md, Boot phases: memory → boot page tables → mms →
 * devices → threads):
 * physical memory, mem_map, zones, memblock, then the buddy allocator (mm/mm_init.c memmap_init /
 * __init_single_page, mm/memblock.c memblock_free_all; v6.19).
 *
 * Phase order inside:
 *  1. PhysMem, PageArray, ListArena; zones ZONE_DMA32 = the lowest quarter of the frames (if any)
 *     and ZONE_NORMAL = the rest, all on node 0 (x86's 16 MiB ZONE_DMA and ZONE_MOVABLE hold no
 *     memory here: __GFP_DMA allocations fail); then VmStat, whose counters of those zones need them.
 *  2. memmap init of every page: zone and node in page->flags, last_cpupid all ones, refcount 1,
 *     _mapcount -1, lru an empty list; every frame RESERVED until the buddy allocator gets it.
 *  3. memblock: frame 0 is reserved (x86 keeps the first 1 MiB from the allocator; the model keeps
 *     only frame 0, so pfn 0 never names a page-table page). Then `early(core)` runs: the place for
 *     memblock_alloc_pages(), i.e. boot page tables.
 *  4. memblock_free_all(): every other frame enters the buddy allocator.
 * The outcome depends on the configuration (and `early`) alone: captureBootMemory() takes its image
 * and restoreBootMemory() rebuilds phase 1 and copies 2-4 back from it (boot.ts BootCache).
 */
import { PTRS_PER_TABLE } from '../../hw/address.ts';
import { PhysMem, type PhysMemImage } from '../../hw/phys-mem.ts';
import { type Execution, ModelInvariantError } from '../../sim/index.ts';
import { ZONE_DMA32, ZONE_NORMAL, newZone, type Zone } from '../mm/page_alloc.ts';
import type { KernelConfig } from './config.ts';
import { INIT_LIST_HEAD, ListArena } from '../include/linux/list.ts';
import { memblock_free_all, memblock_reserve, newMemblock, type BootMemory } from '../mm/memblock.ts';
import { PageArray, SHADOW_RESERVED, page_cpupid_reset_last, set_page_node, set_page_zone } from '../include/linux/mm_types.ts';
import { VmStat } from '../mm/vmstat.ts';

/** Smallest memory the model boots with. */
const MIN_FRAMES = 8;

export function bootMemory(exec: Execution, config: KernelConfig, early?: (core: BootMemory) => void, reuse?: PhysMem): BootMemory {
  const { mem, pages, lists, vmstat, zones } = memoryContainers(exec, config, reuse);
  if (mem === reuse) mem.reset();

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

  const core: BootMemory = { exec, config, mem, pages, lists, zones, vmstat, observers: [], memblock: newMemblock(config.frames) };
  memblock_reserve(core, 0, 1);
  // Memory hotplug: absent sections are kept from memblock and from the buddy allocator.
  const present = bootPresentFrames(config);
  if (present < config.frames) memblock_reserve(core, present, config.frames - present);
  early?.(core);
  memblock_free_all(core);
  return core;
}

/**
 * Phase 1 of the header: physical memory (`reuse`, zeroed by the caller, when it has the right size),
 * mem_map, the list arena, the zones with empty free lists and vmstat. A boot and a restore both
 * start here, so both register the same objects (list heads, zone locks, the counters' words for
 * the data-race detector) in the same order.
 */
function memoryContainers(exec: Execution, config: KernelConfig, reuse?: PhysMem, reusePages?: PageArray) {
  const frames = config.frames;
  if (!Number.isInteger(frames) || frames < MIN_FRAMES) {
    throw new ModelInvariantError(`bootMemory: config.frames ${frames} must be an integer >= ${MIN_FRAMES}`);
  }
  // A previous execution's memory when the caller pools it (same size only).
  const mem = reuse !== undefined && reuse.frames === frames ? reuse : new PhysMem(frames);
  const pages = reusePages !== undefined && reusePages.frames === frames ? reusePages : new PageArray(frames, config.pageFlags);
  if (ZONE_NORMAL > pages.layout.zone.mask) {
    throw new ModelInvariantError(`bootMemory: ZONES_WIDTH ${config.pageFlags.ZONES_WIDTH} cannot hold zone ${ZONE_NORMAL} (ZONE_NORMAL)`);
  }
  const lists = new ListArena(exec, frames);
  const dma32End = Math.floor(frames / 4);
  const zones: Zone[] = [];
  if (dma32End > 0) zones.push(newZone({ exec, lists }, 'DMA32', ZONE_DMA32, 0, dma32End));
  zones.push(newZone({ exec, lists }, 'Normal', ZONE_NORMAL, dma32End, frames));
  const vmstat = new VmStat(exec.objects, 1, zones);
  return { mem, pages, lists, vmstat, zones };
}

/**
 * The memory phase's outcome (physical memory, mem_map, the free lists, the counters, memblock's
 * reservations), which the configuration and the `early` allocations alone decide: taken once by
 * captureBootMemory() and put back by restoreBootMemory() for every later boot of the same
 * configuration, instead of running memmap init and memblock_free_all() again.
 */
export interface BootMemoryImage {
  /** The configuration booted (restoring checks identity: an image is for one configuration). */
  readonly config: KernelConfig;
  readonly mem: PhysMemImage;
  readonly pages: PageArray;
  readonly listNext: Int32Array;
  readonly listPrev: Int32Array;
  /** Per zone: managed_pages, then nr_free of each order. */
  readonly zones: readonly (readonly number[])[];
  readonly zoneStat: Float64Array;
  readonly nodeStat: Float64Array;
  readonly memblockReserved: Uint8Array;
}

/** The image of a memory core right after bootMemory() returned (no thread has run yet). */
export function captureBootMemory(core: BootMemory): BootMemoryImage {
  if (!core.memblock.freed) throw new ModelInvariantError('captureBootMemory before memblock_free_all()');
  const pages = new PageArray(core.pages.frames, core.config.pageFlags);
  pages.copyFrom(core.pages);
  return {
    config: core.config,
    mem: core.mem.snapshot(),
    pages,
    listNext: core.lists.next.slice(0, core.lists.size),
    listPrev: core.lists.prev.slice(0, core.lists.size),
    zones: core.zones.map((z) => [z.managed_pages, ...z.free_area.map((a) => a.nr_free)]),
    zoneStat: core.vmstat.zone.NR_FREE_PAGES.slice(),
    nodeStat: core.vmstat.node.NR_PAGETABLE.slice(),
    memblockReserved: core.memblock.reserved.slice(),
  };
}

/**
 * bootMemory() again for `image.config`, from its image: the same containers, then every value as
 * the image has it. `reuse` and `reusePages` are a previous world's buffers, overwritten (that world
 * must be gone).
 */
export function restoreBootMemory(exec: Execution, image: BootMemoryImage, reuse?: PhysMem, reusePages?: PageArray): BootMemory {
  const config = image.config;
  const { mem, pages, lists, vmstat, zones } = memoryContainers(exec, config, reuse, reusePages);
  if (lists.size !== image.listNext.length || zones.length !== image.zones.length) {
    throw new ModelInvariantError(`restoreBootMemory: ${lists.size} list nodes and ${zones.length} zones, the image has ${image.listNext.length} and ${image.zones.length}`);
  }
  mem.restore(image.mem);
  pages.copyFrom(image.pages);
  lists.next.set(image.listNext);
  lists.prev.set(image.listPrev);
  zones.forEach((zone, i) => {
    const counts = image.zones[i];
    zone.managed_pages = counts[0];
    zone.free_area.forEach((area, o) => (area.nr_free = counts[o + 1]));
  });
  vmstat.zone.NR_FREE_PAGES.set(image.zoneStat);
  vmstat.node.NR_PAGETABLE.set(image.nodeStat);
  return { exec, config, mem, pages, lists, zones, vmstat, observers: [], memblock: { reserved: image.memblockReserved.slice(), freed: true } };
}

/**
 * Memory hotplug (mm/memory_hotplug.ts): the frames present at boot, i.e. all of them but the top
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

