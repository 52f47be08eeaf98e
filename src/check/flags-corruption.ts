/**
 * `flags-corruption`: the fields packed at the top of page->flags (section, node, zone,
 * last_cpupid) change only through their setters (set_page_zone, page_cpupid_xchg_last, ...). A
 * bit OR-ed in from outside — a private flag at BIT(NR_PAGEFLAGS) on a configuration whose packed
 * fields reach down that far — is caught when the page next goes through the allocator (at the
 * start of __free_pages, before the free path resets last_cpupid, and at allocation), and in a full
 * scan at quiescence.
 */
import type { Kernel } from '../kernel/model/kernel.ts';
import type { KernelObserver } from '../kernel/model/observer.ts';
import { currentThread, dump_page, type Page } from '../kernel/include/linux/mm_types.ts';

export class FlagsCorruptionOracle implements KernelObserver {
  private readonly reported = new Set<Page>();
  count = 0;

  constructor(private readonly k: Kernel) {
    k.exec.onQuiescence(() => {
      for (const page of k.pages.corruptedPackedFields()) this.report(page, 'at quiescence');
    });
  }

  pagesAllocated(page: Page, order: number): void {
    this.checkBlock(page, order, 'allocated');
  }

  /** Before free_pages_prepare() resets last_cpupid, which would launder a corrupted field. */
  pagesFreeing(page: Page, order: number): void {
    this.checkBlock(page, order, 'freed');
  }

  private checkBlock(page: Page, order: number, when: string): void {
    for (let i = 0; i < 1 << order; i++) if (!this.k.pages.packedFieldsIntact(page + i)) this.report(page + i, `when ${when}`);
  }

  private report(page: Page, when: string): void {
    if (this.reported.has(page)) return;
    this.reported.add(page);
    this.count++;
    const k = this.k;
    const L = k.pages.layout;
    k.exec.report('flags-corruption', `page->flags packed fields of pfn 0x${page.toString(16)} changed outside their setters (${when})`, [
      `packed bits now 0x${k.pages.packedFields(page).toString(16)}: ${L.fields.map((f) => `${f.name} ${k.pages.getField(page, f)}`).join(', ')}`,
      `NR_PAGEFLAGS ${L.NR_PAGEFLAGS}: a bit at or above it lands in a packed field on this configuration`,
      `seen by ${currentThread(k.exec)?.name ?? 'the quiescence scan'}`,
      ...dump_page(k.pages, page, 'page->flags corrupted'),
    ]);
  }
}
