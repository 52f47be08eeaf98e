/**
 * The machinery the seed email and v6.19 share (Dave Hansen's 6 Aug 2025 sketch,
 * <62d21545-9e75-41e3-89a3-f21dda15bf16@intel.com>; docs/kernel/deferred-free.md, The deferred free):
 * one static { list, spinlock, work_struct }, producers that add under the plain spinlock and call
 * schedule_work() unconditionally, and a work function that splices the whole list onto a local
 * list under the lock, THEN invalidates the IOMMU for the kernel range, THEN frees each entry
 * (docs/kernel/pitfalls.md §1: splice first, invalidate second, free third). What differs — the
 * range's start, how an entry is freed, what a producer adds — is the caller's.
 */
import { TLB_FLUSH_ALL, type Va } from '../hw/address.ts';
import { iommu_sva_invalidate_kva_range } from '../kernel/drivers/iommu/iommu-sva.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { INIT_LIST_HEAD, list_for_each_safe, list_splice_tail_init, type ListHead } from '../kernel/include/linux/list.ts';
import { spin_lock, spin_lock_init, spin_unlock } from '../kernel/kernel/locking/spinlock.ts';
import { INIT_WORK, schedule_work } from '../kernel/kernel/workqueue.ts';
import { step, type Sim } from '../sim/index.ts';

export interface DeferredFreeList {
  /** kernel_pgtable_work.list: producers change it only through `add`. */
  readonly list: ListHead;
  /** Takes the lock, runs `mutate` on the list (a step on it), unlocks, then schedule_work(). */
  add(k: Kernel, label: string, mutate: () => Sim | void): Sim;
}

export interface DeferredFreeOptions {
  /** The start of the invalidated range; the end is TLB_FLUSH_ALL. */
  invalidateFrom(k: Kernel): Va;
  /** Frees one entry taken off the list (the node is the page's pt_list). */
  free(k: Kernel, node: ListHead): Sim;
}

export function deferredFreeList(k: Kernel, options: DeferredFreeOptions): DeferredFreeList {
  const list = k.lists.newHead('kernel_pgtable_work.list');
  const lock = spin_lock_init(k, 'kernel_pgtable_work.lock');
  const page_list = k.lists.newHead('kernel_pgtable_work_func.page_list');
  const listObj = k.lists.objOf(list);

  const work = INIT_WORK<Kernel>(k, 'kernel_pgtable_work', function* kernel_pgtable_work_func(kk): Sim {
    INIT_LIST_HEAD(kk.lists, page_list);
    yield* spin_lock(kk, lock);
    yield step('list_splice_tail_init', 'write', listObj);
    list_splice_tail_init(kk.lists, list, page_list);
    yield* spin_unlock(kk, lock);
    yield* iommu_sva_invalidate_kva_range(kk, options.invalidateFrom(kk), TLB_FLUSH_ALL);
    for (const node of list_for_each_safe(kk.lists, page_list)) yield* options.free(kk, node);
  });

  return {
    list,
    *add(kk, label, mutate) {
      yield* spin_lock(kk, lock);
      yield step(label, 'write', listObj);
      const more = mutate();
      if (more) yield* more;
      yield* spin_unlock(kk, lock);
      yield* schedule_work(kk, work);
    },
  };
}
