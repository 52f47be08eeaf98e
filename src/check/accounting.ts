/**
 * `accounting`: at quiescence the counters must agree with the pages — NR_PAGETABLE with the pages
 * that are page tables (pagetable_ctor/dtor keep it), and the allocator's free counts and lists with
 * the free pages (check_free_lists). A destructor run on a page that never had a constructor
 * subtracts from NR_PAGETABLE all the same, as lruvec_stat_sub_folio() does.
 */
import { check_free_lists, compound_nr } from '../kernel/mm/page_alloc.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { PageTable } from '../kernel/include/linux/mm_types.ts';
import { global_node_page_state } from '../kernel/mm/vmstat.ts';

export class AccountingOracle {
  constructor(private readonly k: Kernel) {
    k.exec.onQuiescence(() => this.check());
  }

  private check(): void {
    const k = this.k;
    let tables = 0;
    for (let pfn = 0; pfn < k.mem.frames; pfn++) if (PageTable(k.pages, pfn)) tables += compound_nr(k.pages, pfn);
    const counted = global_node_page_state(k, 'NR_PAGETABLE');
    if (counted !== tables) {
      k.exec.report('accounting', `NR_PAGETABLE is ${counted} but ${tables} pages are page tables`, [
        `/proc/vmstat nr_page_table_pages: ${counted}; pages with PGTY_table: ${tables}`,
        'a page-table page was constructed or destroyed without its counterpart (pagetable_ctor / pagetable_dtor)',
      ]);
    }
    const problems = check_free_lists(k);
    if (problems.length > 0) k.exec.report('accounting', 'page allocator free counts disagree with its free lists', problems.slice(0, 8));
  }
}
