/**
 * Page-table page allocation and freeing helpers (include/asm-generic/pgalloc.h) and the populate
 * paths that use them (mm/memory.c __pte_alloc_kernel, __pmd_alloc, __pud_alloc, __p4d_alloc;
 * v6.19). The `generic_*` functions are the kernel before any fix (no kernel-table marking); the
 * un-prefixed names dispatch through the design's hooks.
 *
 * The populate paths allocate first and take the lock after; a thread that finds the entry already
 * populated by someone else frees its new table again — `pte_free_kernel()` on a table that was
 * never linked (the "populate race", docs/kernel/free-sites.md).
 */
import type { Va } from '../../../hw/address.ts';
import type { Sim } from '../../../sim/index.ts';
import { GFP_PGTABLE_KERNEL, GFP_PGTABLE_USER, __GFP_HIGHMEM } from '../linux/gfp.ts';
import type { Kernel } from '../../model/kernel.ts';
import type { MmStruct } from '../../kernel/fork.ts';
import type { Ptdesc } from '../linux/mm_types.ts';
import {
  entry_none,
  entry_present,
  p4d_offset,
  p4dp_get,
  pgd_offset,
  pgd_populate,
  pgdp_get,
  p4d_populate,
  pmd_offset,
  pmd_populate,
  pmd_populate_kernel,
  pmdp_get,
  pte_offset_kernel,
  pud_offset,
  pud_populate,
  pudp_get,
  type EntryPtr,
} from '../../arch/x86/include/asm/pgtable.ts';
import {
  pagetable_alloc,
  pagetable_dtor_free,
  pagetable_free,
  pagetable_p4d_ctor,
  pagetable_pmd_ctor,
  pagetable_pte_ctor,
  pagetable_pud_ctor,
} from '../linux/mm.ts';
import { spin_lock, spin_unlock } from '../../kernel/locking/spinlock.ts';

function gfpFor(k: Kernel, mm: MmStruct): number {
  return mm === k.init_mm ? GFP_PGTABLE_KERNEL : GFP_PGTABLE_USER;
}

/** __pte_alloc_one_kernel(): a zeroed, constructed PTE table for the kernel. */
export function* generic_pte_alloc_one_kernel(k: Kernel, _mm: MmStruct): Sim<Ptdesc | null> {
  const pt = yield* pagetable_alloc(k, GFP_PGTABLE_KERNEL & ~__GFP_HIGHMEM, 0);
  if (pt === null) return null;
  if (!pagetable_pte_ctor(k, pt, true)) {
    yield* pagetable_free(k, pt);
    return null;
  }
  return pt;
}

/** pte_alloc_one(): a user PTE table. */
export function* pte_alloc_one(k: Kernel, mm: MmStruct): Sim<Ptdesc | null> {
  const pt = yield* pagetable_alloc(k, gfpFor(k, mm), 0);
  if (pt === null) return null;
  if (!pagetable_pte_ctor(k, pt, mm === k.init_mm)) {
    yield* pagetable_free(k, pt);
    return null;
  }
  return pt;
}

export function* generic_pmd_alloc_one(k: Kernel, mm: MmStruct, _addr: Va): Sim<Ptdesc | null> {
  const pt = yield* pagetable_alloc(k, gfpFor(k, mm), 0);
  if (pt === null) return null;
  if (!pagetable_pmd_ctor(k, pt, mm === k.init_mm)) {
    yield* pagetable_free(k, pt);
    return null;
  }
  return pt;
}

export function* generic_pud_alloc_one(k: Kernel, mm: MmStruct, _addr: Va): Sim<Ptdesc | null> {
  const pt = yield* pagetable_alloc(k, gfpFor(k, mm), 0);
  if (pt === null) return null;
  pagetable_pud_ctor(k, pt);
  return pt;
}

export function* generic_p4d_alloc_one(k: Kernel, mm: MmStruct, _addr: Va): Sim<Ptdesc | null> {
  const pt = yield* pagetable_alloc(k, gfpFor(k, mm), 0);
  if (pt === null) return null;
  pagetable_p4d_ctor(k, pt);
  return pt;
}

/** pte_free_kernel(), pmd_free(), pud_free(): destructor then free, through the hooks. */
export function* generic_pte_free_kernel(k: Kernel, _mm: MmStruct, pt: Ptdesc): Sim {
  yield* pagetable_dtor_free(k, pt);
}
export const generic_pmd_free = generic_pte_free_kernel;
export const generic_pud_free = generic_pte_free_kernel;

/* Dispatchers: every caller goes through the design's hooks. */
export const pte_alloc_one_kernel = (k: Kernel, mm: MmStruct) => k.hooks.pte_alloc_one_kernel(k, mm);
export const pmd_alloc_one = (k: Kernel, mm: MmStruct, addr: Va) => k.hooks.pmd_alloc_one(k, mm, addr);
export const pud_alloc_one = (k: Kernel, mm: MmStruct, addr: Va) => k.hooks.pud_alloc_one(k, mm, addr);
export const p4d_alloc_one = (k: Kernel, mm: MmStruct, addr: Va) => k.hooks.p4d_alloc_one(k, mm, addr);
export const pte_free_kernel = (k: Kernel, mm: MmStruct, pt: Ptdesc) => k.hooks.pte_free_kernel(k, mm, pt);
export const pmd_free = (k: Kernel, mm: MmStruct, pt: Ptdesc) => k.hooks.pmd_free(k, mm, pt);
export const pud_free = (k: Kernel, mm: MmStruct, pt: Ptdesc) => k.hooks.pud_free(k, mm, pt);

/**
 * The shared shape of __pte_alloc_kernel/__pmd_alloc/__pud_alloc/__p4d_alloc/__pte_alloc: allocate,
 * take mm->page_table_lock, populate if the entry is still empty, else free the new table.
 * (Linux tests pmd_none() for PTE tables and !pud_present() etc. above; the model never leaves a
 * non-present, non-zero entry, so both read "empty".)
 */
function* populate(
  k: Kernel,
  mm: MmStruct,
  entry: EntryPtr,
  read: (k: Kernel, p: EntryPtr) => Sim<bigint>,
  alloc: () => Sim<Ptdesc | null>,
  link: (pt: Ptdesc) => Sim,
  free: (pt: Ptdesc) => Sim,
): Sim<boolean> {
  const pt = yield* alloc();
  if (pt === null) return false;
  yield* spin_lock(k, mm.page_table_lock);
  const linked = !entry_present(yield* read(k, entry));
  if (linked) yield* link(pt);
  yield* spin_unlock(k, mm.page_table_lock);
  if (!linked) yield* free(pt);
  return true;
}

/**
 * __pte_alloc_kernel(): allocate, then under init_mm.page_table_lock populate the PMD if it is still
 * empty; otherwise another thread won the race and the new table goes back via pte_free_kernel().
 * Returns false on allocation failure (-ENOMEM).
 */
export function* __pte_alloc_kernel(k: Kernel, pmdp: EntryPtr): Sim<boolean> {
  return yield* populate(k, k.init_mm, pmdp, pmdp_get, () => pte_alloc_one_kernel(k, k.init_mm),
    (pt) => pmd_populate_kernel(k, pmdp, pt), (pt) => pte_free_kernel(k, k.init_mm, pt));
}

/** pte_alloc_kernel(): the PTE slot for `va`, populating the PTE table if the PMD is empty. */
export function* pte_alloc_kernel(k: Kernel, pmdp: EntryPtr, va: Va): Sim<EntryPtr | null> {
  if (entry_none(yield* pmdp_get(k, pmdp)) && !(yield* __pte_alloc_kernel(k, pmdp))) return null;
  return yield* pte_offset_kernel(k, pmdp, va);
}

/** p4d_alloc(): the P4D slot for `va` (the PGD entry itself with 4-level paging). */
export function* p4d_alloc(k: Kernel, mm: MmStruct, pgdp: EntryPtr, va: Va): Sim<EntryPtr | null> {
  if (k.config.pagingLevels === 5 && entry_none(yield* pgdp_get(k, pgdp))) {
    const ok = yield* populate(k, mm, pgdp, pgdp_get, () => p4d_alloc_one(k, mm, va),
      (pt) => pgd_populate(k, pgdp, pt), (pt) => pagetable_dtor_free(k, pt));
    if (!ok) return null;
  }
  return yield* p4d_offset(k, pgdp, va);
}

export function* pud_alloc(k: Kernel, mm: MmStruct, p4dp: EntryPtr, va: Va): Sim<EntryPtr | null> {
  if (entry_none(yield* p4dp_get(k, p4dp))) {
    const ok = yield* populate(k, mm, p4dp, p4dp_get, () => pud_alloc_one(k, mm, va),
      (pt) => p4d_populate(k, p4dp, pt), (pt) => pud_free(k, mm, pt));
    if (!ok) return null;
  }
  return yield* pud_offset(k, p4dp, va);
}

export function* pmd_alloc(k: Kernel, mm: MmStruct, pudp: EntryPtr, va: Va): Sim<EntryPtr | null> {
  if (entry_none(yield* pudp_get(k, pudp))) {
    const ok = yield* populate(k, mm, pudp, pudp_get, () => pmd_alloc_one(k, mm, va),
      (pt) => pud_populate(k, pudp, pt), (pt) => pmd_free(k, mm, pt));
    if (!ok) return null;
  }
  return yield* pmd_offset(k, pudp, va);
}

/** pte_alloc() for a user mm (pte_alloc_map without the kmap). */
export function* pte_alloc(k: Kernel, mm: MmStruct, pmdp: EntryPtr, va: Va): Sim<EntryPtr | null> {
  if (entry_none(yield* pmdp_get(k, pmdp))) {
    const ok = yield* populate(k, mm, pmdp, pmdp_get, () => pte_alloc_one(k, mm),
      (pt) => pmd_populate(k, pmdp, pt), (pt) => pagetable_dtor_free(k, pt));
    if (!ok) return null;
  }
  return yield* pte_offset_kernel(k, pmdp, va);
}

/** Walks `mm` down to the PTE slot for `va`, allocating every missing level (the fault path's chain). */
export function* walk_alloc(k: Kernel, mm: MmStruct, va: Va): Sim<EntryPtr | null> {
  const p4dp = yield* p4d_alloc(k, mm, pgd_offset(k, mm, va), va);
  const pudp = p4dp === null ? null : yield* pud_alloc(k, mm, p4dp, va);
  const pmdp = pudp === null ? null : yield* pmd_alloc(k, mm, pudp, va);
  if (pmdp === null) return null;
  return mm === k.init_mm ? yield* pte_alloc_kernel(k, pmdp, va) : yield* pte_alloc(k, mm, pmdp, va);
}
