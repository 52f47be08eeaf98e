/**
 * The bootmem-info references of memory hot-remove (mm/bootmem_info.c, include/linux/bootmem_info.h;
 * CONFIG_HAVE_BOOTMEM_INFO_NODE, which MEMORY_HOTREMOVE selects on x86-64). At boot,
 * register_page_bootmem_info() takes one extra reference on each page that describes boot memory —
 * a node's pgdat (NODE_INFO), a section's memmap (SECTION_INFO), its usage map and the vmemmap
 * tables mapping it (MIX_SECTION_INFO) — and records the type (and the section) in page->private.
 * Hot-remove drops them with put_page_bootmem(): a page goes to free_reserved_page() only when its
 * last such reference goes, so a table several sections registered outlives the removal of one.
 * docs/kernel/free-sites.md (Reserved pages).
 *
 * [modelling choice] PG_private is not kept: a non-zero type in `private` stands for it (a
 * reserved page's `private` is otherwise 0 in the model). put_page_bootmem()'s BUG_ON on a type out
 * of range cannot fire here: its callers test the type first.
 */
import { step, type Sim } from '../../sim/index.ts';
import type { MemoryCore } from '../model/kernel.ts';
import type { Page, PageArray } from '../include/linux/mm_types.ts';
import { free_reserved_page } from './page_alloc.ts';

/** enum bootmem_type (MEMORY_HOTPLUG_MIN_BOOTMEM_TYPE = 1 since page->private holds it). */
export const SECTION_INFO = 1;
export const MIX_SECTION_INFO = 2;
export const NODE_INFO = 3;
export type BootmemType = typeof SECTION_INFO | typeof MIX_SECTION_INFO | typeof NODE_INFO;

/** Bits of page->private below the `info` (the section number or node id). */
const BOOTMEM_TYPE_BITS = 4;

/** bootmem_type(): 0 for a page no one registered. */
export function bootmem_type(pages: PageArray, page: Page): number {
  return pages.private[page] & ((1 << BOOTMEM_TYPE_BITS) - 1);
}

/** get_page_bootmem(): record `type` and `info`, and take a reference. Boot-time, not a Sim. */
export function get_page_bootmem(pages: PageArray, info: number, page: Page, type: BootmemType): void {
  pages.private[page] = (info << BOOTMEM_TYPE_BITS) | type;
  pages.refcount[page]++;
}

/** put_page_bootmem(): drop a reference; the last one (the count back at memmap init's 1) frees the page. */
export function* put_page_bootmem(k: MemoryCore, page: Page): Sim {
  yield step('put_page_bootmem', 'write', page);
  if (--k.pages.refcount[page] !== 1) return;
  k.pages.private[page] = 0;
  yield* free_reserved_page(k, page);
}
