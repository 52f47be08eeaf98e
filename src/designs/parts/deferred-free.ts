/**
 * The deferred-free machinery as parts with parameters (Dave Hansen's 6 Aug 2025 sketch,
 * <62d21545-9e75-41e3-89a3-f21dda15bf16@intel.com>; the seed email and v6.19's
 * pagetable_free_kernel(), mainline 5ba2f0a15564; docs/kernel/deferred-free.md, The deferred free):
 * one static { list, spinlock, work_struct }, an enqueue helper that adds under the plain spinlock
 * and queues the work, and a work function that runs its body's steps in order — splice the list onto
 * a local list under the lock, invalidate the IOMMU for a range, free each entry.
 *
 * Every choice a variant may change is one field of `DeferredFreeParts`, so a design that differs
 * from `upstream` or `seed` in one of them is a copy of their parts with that field replaced
 * (deferred-design.ts's `variant`). `KERNEL_PGTABLE_WORK` holds what the seed and v6.19 share.
 */
import type { Va } from '../../hw/address.ts';
import { iommu_sva_invalidate_kva_range } from '../../kernel/drivers/iommu/iommu-sva.ts';
import type { Kernel } from '../../kernel/model/kernel.ts';
import type { Ptdesc } from '../../kernel/include/linux/mm_types.ts';
import { INIT_LIST_HEAD, list_add, list_add_tail, list_empty, list_for_each_safe, list_splice_tail, list_splice_tail_init, walkList, type ListHead } from '../../kernel/include/linux/list.ts';
import { list_step } from '../../kernel/model/list-step.ts';
import { spin_lock, spin_lock_init, spin_unlock } from '../../kernel/kernel/locking/spinlock.ts';
import { INIT_WORK, queue_work, type WorkqueueStruct } from '../../kernel/kernel/workqueue.ts';
import type { Sim } from '../../sim/index.ts';

/** A step of the work function's body: take the list, invalidate the IOMMU, free what was taken. */
export type WorkerStep = 'splice' | 'invalidate' | 'free';

export interface DeferredFreeParts {
  /** The static struct's name; its list, lock and work item are named after it. */
  readonly work: string;
  /** The workqueue the work item is queued on (schedule_work(): the system workqueue). */
  readonly workqueue: (k: Kernel) => WorkqueueStruct;
  /** Where the enqueue helper adds one entry: list_add() at the head or list_add_tail() at the tail. */
  readonly add: 'head' | 'tail';
  /** When a producer queues the work: after every add, or only when its add found the list empty. */
  readonly schedule: 'always' | 'if-empty';
  /** The work function's body, in order; v6.19's is splice, invalidate, free (docs/kernel/pitfalls.md §1). */
  readonly order: readonly WorkerStep[];
  /** The invalidated range [start, end) (end TLB_FLUSH_ALL: to the top), from the entries taken off the list. */
  readonly range: (k: Kernel, batch: readonly Ptdesc[]) => readonly [start: Va, end: Va];
  /** The invalidation hint: 1 says only leaf entries changed, so the IOMMU keeps its paging-structure caches. */
  readonly ih: 0 | 1;
  /** Frees one entry taken off the list (the node is the page's pt_list). */
  readonly free: (k: Kernel, pt: Ptdesc) => Sim;
}

/** What the seed email and v6.19 share: one static kernel_pgtable_work on the system workqueue, list_add and an unconditional schedule_work(), splice, invalidate with IH = 0, free. */
export const KERNEL_PGTABLE_WORK = {
  work: 'kernel_pgtable_work',
  workqueue: (k: Kernel) => k.system_wq,
  add: 'head',
  schedule: 'always',
  order: ['splice', 'invalidate', 'free'],
  ih: 0,
} as const satisfies Omit<DeferredFreeParts, 'range' | 'free'>;

/** A change to the entry made in the same step as its add, under the lock (the seed's flag). */
export interface EnqueueMark {
  readonly label: string;
  apply(): void;
}

/** The machinery as the producers see it: the shared list changes only through these helpers. */
export interface DeferredFree {
  /** The enqueue helper: under the lock, `mark` and the add of `pt`; unlock; queue the work. */
  enqueue(k: Kernel, pt: Ptdesc, mark?: EnqueueMark): Sim;
  /** The same for a whole local list, spliced at the tail in its order (list_splice_tail). */
  enqueueList(k: Kernel, pages: ListHead): Sim;
}

/** Builds the machinery for one execution (in a design's install()). */
export function deferredFree(k: Kernel, parts: DeferredFreeParts): DeferredFree {
  const list = k.lists.newHead(`${parts.work}.list`);
  const lock = spin_lock_init(k, `${parts.work}.lock`);
  const page_list = k.lists.newHead(`${parts.work}_func.page_list`);

  const body: Record<WorkerStep, (kk: Kernel) => Sim> = {
    *splice(kk) {
      yield* spin_lock(kk, lock);
      yield* list_step(kk.lists, 'list_splice_tail_init', list, () => list_splice_tail_init(kk.lists, list, page_list));
      yield* spin_unlock(kk, lock);
    },
    invalidate(kk) {
      // walkList, not list_for_each_safe: reading the batch for the range must not report a broken list before the free loop does.
      const [start, end] = parts.range(kk, walkList(kk.lists, page_list).entries);
      return iommu_sva_invalidate_kva_range(kk, start, end, parts.ih);
    },
    *free(kk) {
      for (const pt of list_for_each_safe(kk.lists, page_list)) yield* parts.free(kk, pt);
    },
  };
  const work = INIT_WORK<Kernel>(k, parts.work, function* kernel_pgtable_work_func(kk): Sim {
    INIT_LIST_HEAD(kk.lists, page_list);
    for (const s of parts.order) yield* body[s](kk);
  });

  function* add(kk: Kernel, label: string, mutate: () => void): Sim {
    yield* spin_lock(kk, lock);
    const wasEmpty = yield* list_step(kk.lists, label, list, () => {
      const empty = list_empty(kk.lists, list);
      mutate();
      return empty;
    });
    yield* spin_unlock(kk, lock);
    if (parts.schedule === 'always' || wasEmpty) yield* queue_work(kk, parts.workqueue(kk), work);
  }
  const [insert, inserted] = parts.add === 'head' ? [list_add, 'list_add'] : [list_add_tail, 'list_add_tail'];

  return {
    enqueue: (kk, pt, mark) =>
      add(kk, mark === undefined ? inserted : `${mark.label}; ${inserted}`, () => {
        mark?.apply();
        insert(kk.lists, pt, list);
      }),
    enqueueList: (kk, pages) => add(kk, 'list_splice_tail', () => list_splice_tail(kk.lists, pages, list)),
  };
}
