/**
 * kptsim's public Design API: everything a design module needs, as `import { … } from 'kptsim'`
 * (package.json `exports`). A design file anywhere on disk imports only from here, so the project
 * may move its internals without breaking any design; docs/design-api.md explains each part.
 */

// The contract and the kernel it overrides; the built-in designs, to build a variant on.
export type { Design } from './designs/design.ts';
export { BUILTIN_ALIASES, BUILTIN_DESIGNS, builtinDesign } from './designs/index.ts';
export type { HookName, KernelHooks } from './kernel/model/hooks.ts';
export type { Kernel } from './kernel/model/kernel.ts';
export { DEFAULT_RELEASE, type KernelRelease } from './kernel/model/release.ts';
export { RELEASE_6_18_4, RELEASE_6_19_0, RELEASE_6_19_Y, RELEASE_7_1, RELEASE_7_2, RELEASE_7_3 } from './kernel/model/releases.ts';
export type { MmStruct } from './kernel/kernel/fork.ts';
export type { Page, Ptdesc } from './kernel/include/linux/mm_types.ts';
export type { EntryPtr } from './kernel/arch/x86/include/asm/pgtable.ts';

// Steps: every hook is a generator that yields one per shared access, so the scheduler sees it.
export { step, type AccessKind, type Blocker, type Sim, type Step } from './sim/index.ts';
export { PAGE_SIZE, PMD_SIZE, PUD_SIZE, TLB_FLUSH_ALL, ULONG_MAX, type Pa, type Va } from './hw/address.ts';

// The generic (v6.18) hooks, to call from an override.
export { GENERIC_HOOKS } from './kernel/model/generic-hooks.ts';
export {
  generic_p4d_alloc_one,
  generic_pmd_alloc_one,
  generic_pmd_free,
  generic_pte_alloc_one_kernel,
  generic_pte_free_kernel,
  generic_pud_alloc_one,
  generic_pud_free,
} from './kernel/include/asm-generic/pgalloc.ts';
export { generic_flush_tlb_all, generic_flush_tlb_kernel_range } from './kernel/arch/x86/mm/tlb.ts';

// Page tables and their freeing.
export {
  __pagetable_free,
  page_ptdesc,
  pagetable_dtor,
  pagetable_dtor_free,
  pagetable_free,
  ptdesc_clear_kernel,
  ptdesc_page,
  ptdesc_set_kernel,
  ptdesc_test_kernel,
} from './kernel/include/linux/mm.ts';
export { __free_page, __free_pages, alloc_pages } from './kernel/mm/page_alloc.ts';
export { GFP_ATOMIC, GFP_KERNEL } from './kernel/include/linux/gfp.ts';
export { pmd_clear, pmd_page, pmdp_get, pud_clear, pudp_get } from './kernel/arch/x86/include/asm/pgtable.ts';
export { free_empty_table, free_pagetable_with, generic_alloc_low_pages, generic_free_pmd_table, generic_free_pte_table, generic_free_pud_table, type FreeTableOrder } from './kernel/arch/x86/mm/init_64.ts';
export { generic_vmemmap_alloc_block } from './kernel/mm/memory_hotplug.ts';
export { generic_cpa_alloc_pgtable } from './kernel/arch/x86/mm/pat/set_memory.ts';
export { free_pmd_page_with, free_pte_page_with } from './kernel/arch/x86/mm/pgtable.ts';

// Lists, locks, work items, sleeping.
export { INIT_LIST_HEAD, list_add, list_add_tail, list_del, list_for_each_safe, list_splice_tail, list_splice_tail_init, type ListHead } from './kernel/include/linux/list.ts';
export { list_step } from './kernel/model/list-step.ts';
export { spin_lock, spin_lock_init, spin_unlock, type spinlock_t } from './kernel/kernel/locking/spinlock.ts';
export { mutex_lock, mutex_unlock } from './kernel/kernel/locking/mutex.ts';
export { lockdep_assert_held } from './kernel/kernel/locking/lockdep.ts';
export { INIT_WORK, flush_work, schedule_work } from './kernel/kernel/workqueue.ts';
export { cond_resched, might_sleep } from './kernel/kernel/sched/core.ts';
export { preempt_disable, preempt_enable } from './kernel/include/linux/preempt.ts';

// Side records: kmalloc'ed objects with a typed payload, read and written in steps.
export { kfree, kmalloc, kmemleak_not_leak, kzalloc, slab_read, slab_write, type SlabObject } from './kernel/mm/slab.ts';

// The IOMMU side.
export { iommu_sva_invalidate_kva_range, mmu_notifier_arch_invalidate_secondary_tlbs } from './kernel/drivers/iommu/iommu-sva.ts';

// The deferred-free machinery the seed email and v6.19 share, as parts: a variant replaces one.
export { KERNEL_PGTABLE_WORK, deferredFree, type DeferredFree, type DeferredFreeParts, type EnqueueMark, type WorkerStep } from './designs/parts/deferred-free.ts';
export { deferredDesign, variant, type DeferredDesignSpec, type VariantChanges } from './designs/parts/deferred-design.ts';
export { upstreamSpec } from './designs/upstream.ts';
export { seedSpec } from './designs/seed.ts';
