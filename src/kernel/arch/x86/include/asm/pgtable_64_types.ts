/**
 * The x86-64 kernel virtual memory map (Documentation/arch/x86/x86_64/mm.rst), for 4- and 5-level
 * paging without KASLR: where the direct map, vmalloc/ioremap space and vmemmap start.
 */
import type { PagingLevels, Pa, Va } from '../../../../../hw/address.ts';

export interface KernelLayout {
  /** Start of the direct mapping of all physical memory (page_offset_base). */
  readonly PAGE_OFFSET: Va;
  readonly VMALLOC_START: Va;
  readonly VMALLOC_END: Va;
  /** Start of the struct page array's virtual mapping (vmemmap_base). */
  readonly VMEMMAP_START: Va;
  /** The first PGD index of the kernel half (KERNEL_PGD_BOUNDARY): entries from here are shared by every mm. */
  readonly KERNEL_PGD_BOUNDARY: number;
}

const LAYOUT_4: KernelLayout = {
  PAGE_OFFSET: 0xffff888000000000n,
  VMALLOC_START: 0xffffc90000000000n,
  VMALLOC_END: 0xffffe8ffffffffffn,
  VMEMMAP_START: 0xffffea0000000000n,
  KERNEL_PGD_BOUNDARY: 256,
};

const LAYOUT_5: KernelLayout = {
  PAGE_OFFSET: 0xff11000000000000n,
  VMALLOC_START: 0xffa0000000000000n,
  VMALLOC_END: 0xffd1ffffffffffffn,
  VMEMMAP_START: 0xffd4000000000000n,
  KERNEL_PGD_BOUNDARY: 256,
};

export function kernelLayout(levels: PagingLevels): KernelLayout {
  return levels === 5 ? LAYOUT_5 : LAYOUT_4;
}

/** __va(): the direct-map address of a physical address. */
export function __va(layout: KernelLayout, pa: Pa): Va {
  return layout.PAGE_OFFSET + BigInt(pa);
}

/** __pa() of a direct-map address. */
export function __pa(layout: KernelLayout, va: Va): Pa {
  return Number(va - layout.PAGE_OFFSET);
}
