/**
 * A KASAN-like check of the kernel's own (CPU) accesses to memory (mm/kasan/generic.c
 * check_region_inline, mm/kasan/report.c; v6.19): an access to a frame the page allocator has freed
 * is "BUG: KASAN: use-after-free", reported with the page dump KASAN prints. The shadow state is
 * PageArray.shadow, kept by the allocator and memblock.
 *
 * Kernel code calls kasan_check() right before each access it makes through the direct map
 * (reading or writing a page-table entry); the IOMMU's and CPU walkers' accesses are hardware and
 * are judged by the oracles instead.
 *
 * While the execution records stacks (src/sim/stack.ts), the allocator saves who allocated and who
 * freed each frame, and a report prints them as KASAN prints an object's tracks ("Allocated by
 * task …", "Freed by task …"). [modelling choice] Linux keeps such tracks for slab objects; for
 * whole pages it is page_owner's dump that names them.
 */
import type { Pa } from '../../../hw/address.ts';
import { KernelOops, ModelInvariantError } from '../../../sim/index.ts';
import type { MemoryCore } from '../../model/kernel.ts';
import { __va, kernelLayout } from '../../arch/x86/include/asm/pgtable_64_types.ts';
import { SHADOW_FREE, contextLines, currentThread, dump_page, type Page } from '../../include/linux/mm_types.ts';

/** True if the access is valid; false after reporting a use-after-free. */
export function kasan_check(k: MemoryCore, pa: Pa, size: number, write: boolean, where: string): boolean {
  if (!Number.isInteger(pa) || !Number.isInteger(size) || size < 1) throw new ModelInvariantError(`kasan_check: access [${pa}, +${size})`);
  if (pa < 0 || pa + size > k.pages.frames * 4096) {
    // The kernel followed an entry to memory that is not there (a poisoned or reused page read as a
    // page table): the CPU faults and the kernel oopses (arch/x86/mm/fault.c page_fault_oops()).
    const addr = pa < 0 ? `pa ${pa}` : __va(kernelLayout(k.config.pagingLevels), pa).toString(16);
    throw new KernelOops(`BUG: unable to handle page fault for address: ${addr}`, [
      `#PF: supervisor ${write ? 'write' : 'read'} access in kernel mode`,
      '#PF: error_code(0x0000) - not-present page',
      `in ${where}: the entry it followed points outside memory (a freed or corrupted page table read as one?)`,
    ]);
  }
  const first = Math.floor(pa / 4096);
  const last = Math.floor((pa + size - 1) / 4096);
  for (let pfn = first; pfn <= last; pfn++) {
    if (k.pages.shadow[pfn] !== SHADOW_FREE) continue;
    const t = currentThread(k.exec);
    const task = t === null ? 'swapper/0/0' : `${t.name}/${t.id}`;
    const addr = __va(kernelLayout(k.config.pagingLevels), pa).toString(16);
    k.exec.report('use-after-free', `BUG: KASAN: use-after-free in ${where}`, [
      `${write ? 'Write' : 'Read'} of size ${size} at addr ${addr} by task ${task}`,
      ...contextLines(k.exec),
      ...describe_object_stacks(k, pfn),
      'The buggy address belongs to the physical page:',
      ...dump_page(k.pages, pfn, 'kasan: bad access detected'),
    ]);
    return false;
  }
  return true;
}

/** kasan_save_alloc_info(): the allocating task and stack of each frame of the block. */
export function kasan_save_alloc_info(k: MemoryCore, page: Page, order: number): void {
  const depot = k.exec.stacks;
  const track = depot === null ? null : k.exec.track();
  if (depot === null || track === null) return;
  for (let p = page; p < page + (1 << order); p++) depot.allocated(p, track);
}

/** kasan_save_free_info(): the freeing task and stack of each frame of the block. */
export function kasan_save_free_info(k: MemoryCore, page: Page, order: number): void {
  const depot = k.exec.stacks;
  const track = depot === null ? null : k.exec.track();
  if (depot === null || track === null) return;
  for (let p = page; p < page + (1 << order); p++) depot.freed(p, track);
}

/** describe_object_stacks() (mm/kasan/report.c): "Allocated by task …" and "Freed by task …" of a frame, when tracked. */
export function describe_object_stacks(k: MemoryCore, pfn: number): string[] {
  return k.exec.stacks?.describe(pfn) ?? [];
}
