/**
 * Boot-time memory allocation before the page allocator exists (mm/memblock.c: memblock_alloc,
 * memblock_reserve, memblock_free_all → __free_pages_memory; mm/mm_init.c reserve_bootmem_region;
 * v6.19). docs/kernel/free-sites.md (boot page tables are memblock/PageReserved and reach free_reserved_page()
 * on hot-remove).
 *
 * memblock hands out frames top-down, as Linux's default allocation direction does, zeroed, and
 * they stay reserved: PG_reserved, refcount 1, shadow RESERVED. memblock_free_all() then gives every
 * unreserved frame to the buddy allocator in the largest aligned blocks, and memblock is gone: a
 * later memblock allocation is a model bug (boot code running after boot).
 *
 * Not a Sim: boot runs before any simulated thread.
 */
import type { Pfn } from '../../hw/address.ts';
import { ModelInvariantError } from '../../sim/index.ts';
import { MAX_PAGE_ORDER, __free_pages_core } from './page_alloc.ts';
import type { MemoryCore } from '../model/kernel.ts';
import { SHADOW_RESERVED, __SetPageReserved, type Page } from '../include/linux/mm_types.ts';

export interface Memblock {
  /** One byte per frame: 1 if memblock reserved it (an allocation or a fixed reservation). */
  readonly reserved: Uint8Array;
  /** Set by memblock_free_all(): the buddy allocator owns the memory from then on. */
  freed: boolean;
}

/** The memory core while boot runs: memblock is still there. */
export interface BootMemory extends MemoryCore {
  readonly memblock: Memblock;
}

export function newMemblock(frames: number): Memblock {
  return { reserved: new Uint8Array(frames), freed: false };
}

function checkActive(core: BootMemory, fn: string): void {
  if (core.memblock.freed) throw new ModelInvariantError(`${fn} after memblock_free_all(): memblock exists only during boot`);
}

function reserveFrame(core: BootMemory, pfn: Pfn): void {
  core.memblock.reserved[pfn] = 1;
  // reserve_bootmem_region(): reserved memory is PageReserved, keeps memmap init's reference.
  __SetPageReserved(core.pages, pfn);
  core.pages.refcount[pfn] = 1;
  core.pages.shadow[pfn] = SHADOW_RESERVED;
}

/** memblock_reserve(): keep [start, start + n) from ever reaching the buddy allocator. */
export function memblock_reserve(core: BootMemory, start: Pfn, n: number): void {
  checkActive(core, 'memblock_reserve');
  if (!Number.isInteger(start) || !Number.isInteger(n) || start < 0 || n < 1 || start + n > core.pages.frames) {
    throw new ModelInvariantError(`memblock_reserve(${start}, ${n}): outside memory`);
  }
  for (let p = start; p < start + n; p++) reserveFrame(core, p);
}

/**
 * memblock_alloc(n * PAGE_SIZE, PAGE_SIZE): `n` contiguous zeroed frames, the highest free ones.
 * Boot cannot go on without them, so running out is a model error (Linux panics).
 */
export function memblock_alloc_pages(core: BootMemory, n: number): Page {
  checkActive(core, 'memblock_alloc_pages');
  if (!Number.isInteger(n) || n < 1) throw new ModelInvariantError(`memblock_alloc_pages(${n})`);
  const reserved = core.memblock.reserved;
  let end = core.pages.frames;
  while (end - n >= 0) {
    let clash = -1;
    for (let p = end - n; p < end; p++) if (reserved[p]) clash = p;
    if (clash < 0) {
      const start = end - n;
      for (let p = start; p < end; p++) {
        reserveFrame(core, p);
        core.mem.zeroFrame(p);
      }
      return start;
    }
    end = clash;
  }
  throw new ModelInvariantError(`memblock_alloc_pages(${n}): no ${n} contiguous free frames (boot would panic)`);
}

/**
 * memblock_free_all(): every frame memblock did not reserve goes to the buddy allocator, per zone,
 * in the largest naturally aligned blocks that fit (__free_pages_memory).
 */
export function memblock_free_all(core: BootMemory): void {
  checkActive(core, 'memblock_free_all');
  const reserved = core.memblock.reserved;
  for (const zone of core.zones) {
    let p = zone.start_pfn;
    while (p < zone.end_pfn) {
      if (reserved[p]) {
        p++;
        continue;
      }
      let end = p;
      while (end < zone.end_pfn && !reserved[end]) end++;
      __free_pages_memory(core, p, end);
      p = end;
    }
  }
  core.memblock.freed = true;
}

function __free_pages_memory(core: MemoryCore, start: Pfn, end: Pfn): void {
  while (start < end) {
    let order = start === 0 ? MAX_PAGE_ORDER : Math.min(MAX_PAGE_ORDER, ctz(start));
    while (start + (1 << order) > end) order--;
    __free_pages_core(core, start, order);
    start += 1 << order;
  }
}

function ctz(n: number): number {
  return 31 - Math.clz32(n & -n);
}
