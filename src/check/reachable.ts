/**
 * What the kernel can still reach at quiescence, kmemleak-style: every page-table page under
 * init_mm's PGD and under every process PGD on pgd_list, every page a non-direct-map leaf maps
 * (vmalloc, vmemmap, user pages), and the pages of live vmalloc areas. The direct map maps every
 * frame, so its leaves do not count as references; its tables do.
 */
import { PAGE_SIZE, PTRS_PER_TABLE, levelShift, type Level, type Pa } from '../hw/address.ts';
import { LO_PRESENT, LO_PSE, paFromHalves } from '../hw/index.ts';
import type { Kernel } from '../kernel/model/kernel.ts';

/**
 * Runs at every quiescence, over every table: it reads entries as two 32-bit words and keeps
 * virtual addresses as numbers below 2^57 (the canonical sign extension dropped; exact, as they
 * are multiples of 4 KiB), so that it allocates no BigInt per entry.
 */
export function reachableFrames(k: Kernel): Uint8Array {
  const frames = k.mem.frames;
  const mem = k.mem;
  const seen = new Uint8Array(frames);
  const top: Level = k.config.pagingLevels === 5 ? 5 : 4;
  const vaBits = BigInt(levelShift(top) + 9);
  const directStart = Number(k.layout.PAGE_OFFSET & ((1n << vaBits) - 1n));
  const directEnd = directStart + frames * PAGE_SIZE;
  const mark = (pfn: number) => {
    if (pfn >= 0 && pfn < frames) seen[pfn] = 1;
  };
  const walkTable = (table: Pa, level: Level, base: number) => {
    const pfn = table / PAGE_SIZE;
    if (pfn >= frames) return;
    seen[pfn] = 1;
    const span = 2 ** levelShift(level);
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      const lo = mem.readLo(table + 8 * i);
      if ((lo & LO_PRESENT) === 0) continue;
      const pa = paFromHalves(lo, mem.readHi(table + 8 * i));
      const va = base + i * span;
      const leaf = level === 1 || (level <= 3 && (lo & LO_PSE) !== 0);
      if (!leaf) {
        walkTable(pa, (level - 1) as Level, va);
        continue;
      }
      if (va >= directStart && va < directEnd) continue;
      // A huge leaf's address field starts above its PAT bit (bit 12): round down to its size.
      const first = Math.floor(pa / span) * (span / PAGE_SIZE);
      const count = span / PAGE_SIZE;
      for (let f = 0; f < count && first + f < frames; f++) mark(first + f);
    }
  };
  walkTable(k.init_mm.pgd, top, 0);
  for (const mm of k.pgd_list) walkTable(mm.pgd, top, 0);
  for (const area of k.vmalloc.areas) {
    if (area.state !== 'busy') continue;
    for (const page of area.pages) for (let f = 0; f < 1 << area.order; f++) mark(page + f);
  }
  return seen;
}
