/**
 * What the kernel can still reach at quiescence, kmemleak-style: every page-table page under
 * init_mm's PGD and under every process PGD on pgd_list, every page a non-direct-map leaf maps
 * (vmalloc, vmemmap, user pages), and the pages of live vmalloc areas. The direct map maps every
 * frame, so its leaves do not count as references; its tables do.
 */
import { PAGE_SIZE, PTRS_PER_TABLE, levelShift, type Level, type Pa, type Va } from '../hw/address.ts';
import { _PAGE_PRESENT, _PAGE_PSE, entry_pa } from '../hw/index.ts';
import type { Kernel } from '../kernel/kernel.ts';

export function reachableFrames(k: Kernel): Uint8Array {
  const frames = k.mem.frames;
  const seen = new Uint8Array(frames);
  const top: Level = k.config.pagingLevels === 5 ? 5 : 4;
  const directStart = k.layout.PAGE_OFFSET;
  const directEnd = directStart + BigInt(frames * PAGE_SIZE);
  const mark = (pfn: number) => {
    if (pfn >= 0 && pfn < frames) seen[pfn] = 1;
  };
  const walkTable = (table: Pa, level: Level, base: Va) => {
    const pfn = table / PAGE_SIZE;
    if (pfn >= frames) return;
    seen[pfn] = 1;
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      const e = k.mem.read64(table + 8 * i);
      if ((e & _PAGE_PRESENT) === 0n) continue;
      let va = base + (BigInt(i) << BigInt(levelShift(level)));
      if (level === top && i >= 256) va |= ~((1n << BigInt(levelShift(level) + 9)) - 1n) & ((1n << 64n) - 1n);
      const leaf = level === 1 || (level <= 3 && (e & _PAGE_PSE) !== 0n);
      if (!leaf) {
        walkTable(entry_pa(e), (level - 1) as Level, va);
        continue;
      }
      if (va >= directStart && va < directEnd) continue;
      const first = entry_pa(e, level) / PAGE_SIZE;
      const count = level === 1 ? 1 : 1 << (9 * (level - 1));
      for (let f = 0; f < count && first + f < frames; f++) mark(first + f);
    }
  };
  walkTable(k.init_mm.pgd, top, 0n);
  for (const mm of k.pgd_list) walkTable(mm.pgd, top, 0n);
  for (const area of k.vmalloc.areas) {
    if (area.state !== 'busy') continue;
    for (const page of area.pages) for (let f = 0; f < 1 << area.order; f++) mark(page + f);
  }
  return seen;
}
