/**
 * Change of page attributes on the kernel's own mappings (arch/x86/mm/pat/set_memory.c):
 * splitting large pages and collapsing them back.
 *
 * The free at the end of cpa_collapse_large_pages() as in v6.18, before the series:
 * __free_page(ptdesc_page(ptdesc)). v6.19's commit bf9e4e30f353 made it pagetable_free(ptdesc); the
 * upstream design carries that version.
 */
import type { Sim } from '../sim/index.ts';
import { __free_page } from './buddy.ts';
import type { Kernel } from './kernel.ts';
import type { Ptdesc } from './page.ts';
import { ptdesc_page } from './ptdesc.ts';

export function generic_cpa_free_pgtable(k: Kernel, pt: Ptdesc): Sim {
  return __free_page(k, ptdesc_page(pt));
}

export const cpa_free_pgtable = (k: Kernel, pt: Ptdesc) => k.hooks.cpa_free_pgtable(k, pt);
