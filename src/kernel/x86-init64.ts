/**
 * Memory hot-remove's page-table teardown on x86-64 (arch/x86/mm/init_64.c).
 *
 * free_pagetable() as in v6.18, before the series: a reserved (boot/memblock) page goes back with
 * free_reserved_page() one page at a time; anything else with __free_pages(page, order) — which for
 * an order-9 vmemmap block frees all 512 pages. v6.19's commit bf9e4e30f353 ("x86/mm: use
 * pagetable_free()") replaced that with pagetable_free(page_ptdesc(page)); the upstream design
 * carries that version, with its consequences.
 */
import type { Sim } from '../sim/index.ts';
import { __free_pages, free_reserved_page } from './buddy.ts';
import type { Kernel } from './kernel.ts';
import { PageReserved, type Page } from './page.ts';

export function* generic_free_pagetable(k: Kernel, page: Page, order: number): Sim {
  if (PageReserved(k.pages, page)) {
    for (let i = 0; i < 1 << order; i++) yield* free_reserved_page(k, page + i);
  } else {
    yield* __free_pages(k, page, order);
  }
}

export const free_pagetable = (k: Kernel, page: Page, order: number) => k.hooks.free_pagetable(k, page, order);
