/**
 * `seed`: the design of the seed email (Lu Baolu, 27 Aug 2025,
 * <c69950ee-660b-4f51-9277-522470d0ce5d@linux.intel.com>, answering Dave Hansen's "three lists …
 * consolidate to a single list"; docs/kernel/deferred-free.md, The seed email), exactly:
 *
 * - one static `kernel_pgtable_work` { list, spinlock, work } (here built per execution);
 * - `ASYNC_PGTABLE_FREE_DTOR = BIT(NR_PAGEFLAGS)` OR-ed into the ptdesc's flags word to remember
 *   "run the destructor" — a bit above the page flags, which the allocator neither checks nor clears,
 *   and which on some configurations lands in a packed field (or, with NR_PAGEFLAGS == 64, wraps to
 *   BIT(0) = PG_locked as x86's shift does); nothing ever clears it;
 * - three enqueue helpers (`_dtor`, `_page_list`, `_page`), each taking the spinlock, adding to the
 *   list and calling schedule_work() unconditionally;
 * - the work function: splice the list onto a local list under the lock, invalidate with
 *   `iommu_sva_invalidate_kva_range(0, TLB_FLUSH_ALL)` (the Intel driver's flush-all shortcut), then
 *   for each entry list_del() and pagetable_dtor_free() if the flag is set, else __free_page() — the
 *   shared machinery (parts/deferred-free.ts) with that range and that free.
 *
 * Choices the email leaves open, taken as its author most plausibly meant (from the message it
 * answers, Dave Hansen's three cases):
 * - case 1, "a 'struct ptdesc' that needs its destructor run": pte_free_kernel() and pmd_free()/
 *   pud_free() for init_mm go to `_dtor` (the destructor then runs in the worker, not the caller).
 *   That covers pmd_free_pte_page() and pud_free_pmd_page(), which free through those helpers in the
 *   kernel this email was written against.
 * - case 2, "an order-0 'struct page'": free_pagetable(page, 0) of a non-reserved page (memory
 *   hot-remove) and the table freed after a CPA collapse go to `_page`.
 * - case 3, "a higher-order 'struct page'", "one at a time": free_pagetable(page, order > 0) (the
 *   order-9 vmemmap block) links each of the 2^order pages on a local list through pt_list and hands
 *   the list to `_page_list`. The email does not split_page() the non-compound block, so the worker's
 *   __free_page() of each tail page finds a refcount of 0 — kptsim reports what that does.
 * - Reserved (boot) pages keep their synchronous free_reserved_page(), as every draft did.
 */
import { TLB_FLUSH_ALL } from '../hw/address.ts';
import { __free_page } from '../kernel/mm/page_alloc.ts';
import { generic_pmd_free, generic_pte_free_kernel, generic_pud_free } from '../kernel/include/asm-generic/pgalloc.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { INIT_LIST_HEAD, list_add_tail, list_del } from '../kernel/include/linux/list.ts';
import type { MmStruct } from '../kernel/kernel/fork.ts';
import { flagsWordOr, flagsWordTest, type Page, type Ptdesc } from '../kernel/include/linux/mm_types.ts';
import { page_ptdesc, pagetable_dtor_free, ptdesc_page } from '../kernel/include/linux/mm.ts';
import { free_pagetable_with } from '../kernel/arch/x86/mm/init_64.ts';
import { step, type Sim } from '../sim/index.ts';
import { KERNEL_PGTABLE_WORK } from './parts/deferred-free.ts';
import { deferredDesign, type DeferredDesignSpec } from './parts/deferred-design.ts';
import { DEFAULT_RELEASE } from '../kernel/model/release.ts';
import type { Design } from './design.ts';

/** #define ASYNC_PGTABLE_FREE_DTOR BIT(NR_PAGEFLAGS) */
const ASYNC_PGTABLE_FREE_DTOR = (k: Kernel) => k.config.pageFlags.NR_PAGEFLAGS;

export const seedSpec: DeferredDesignSpec = {
  name: 'seed',
  summary: 'one deferred list, a BIT(NR_PAGEFLAGS) "needs dtor" flag, three enqueue helpers, flush-all then free in a work item',
  source: 'Lu Baolu, 27 Aug 2025, <c69950ee-660b-4f51-9277-522470d0ce5d@linux.intel.com>',
  overrides: ['pte_free_kernel', 'pmd_free', 'pud_free', 'free_pagetable', 'cpa_free_pgtable'],
  parts: {
    ...KERNEL_PGTABLE_WORK,
    range: () => [0n, TLB_FLUSH_ALL],
    *free(k, ptdesc) {
      list_del(k.lists, ptdesc);
      yield step('read ptdesc->__page_flags', 'read', ptdesc);
      if (flagsWordTest(k.pages, ptdesc, ASYNC_PGTABLE_FREE_DTOR(k))) yield* pagetable_dtor_free(k, ptdesc);
      else yield* __free_page(k, ptdesc_page(ptdesc));
    },
  },
  hooks(k, deferred) {
    const kernel_pgtable_async_free_dtor = (kk: Kernel, ptdesc: Ptdesc) =>
      deferred.enqueue(kk, ptdesc, { label: 'ptdesc->__page_flags |= ASYNC_PGTABLE_FREE_DTOR', apply: () => flagsWordOr(kk.pages, ptdesc, ASYNC_PGTABLE_FREE_DTOR(kk)) });
    const kernel_pgtable_async_free_page_list = deferred.enqueueList;
    const kernel_pgtable_async_free_page = (kk: Kernel, page: Page) => deferred.enqueue(kk, page_ptdesc(page));

    /** Case 1 for init_mm's tables, the generic free for everyone else's. */
    const deferDtor =
      (generic: (kk: Kernel, mm: MmStruct, pt: Ptdesc) => Sim) =>
      (kk: Kernel, mm: MmStruct, pt: Ptdesc): Sim =>
        mm === kk.init_mm ? kernel_pgtable_async_free_dtor(kk, pt) : generic(kk, mm, pt);

    const higherOrder = k.lists.newHead('free_pagetable.pages');
    return {
      pte_free_kernel: deferDtor(generic_pte_free_kernel),
      pmd_free: deferDtor(generic_pmd_free),
      pud_free: deferDtor(generic_pud_free),
      free_pagetable: (kk, page, order) =>
        free_pagetable_with(kk, page, order, function* (p, o) {
          if (o === 0) {
            yield* kernel_pgtable_async_free_page(kk, p);
            return;
          }
          INIT_LIST_HEAD(kk.lists, higherOrder);
          for (let i = 0; i < 1 << o; i++) list_add_tail(kk.lists, page_ptdesc(p + i), higherOrder);
          yield* kernel_pgtable_async_free_page_list(kk, higherOrder);
        }),
      cpa_free_pgtable: (kk, pt) => kernel_pgtable_async_free_page(kk, ptdesc_page(pt)),
    };
  },
};

/**
 * A sketch in mail (27 Aug 2025, v6.17-rc, whose Intel driver already sent legacy descriptors:
 * b33125296b50), written and reviewed on the PASID-based flush its (0, ULONG_MAX) call assumes; so
 * it is checked with that, and the legacy path is upstream@6.19.0's question.
 */
export const seed: Design = { ...deferredDesign(seedSpec), kernel: DEFAULT_RELEASE };
