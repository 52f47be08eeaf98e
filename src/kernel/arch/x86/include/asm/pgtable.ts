/**
 * Page-table entry access for the kernel: the `pgd_offset`/`pmd_offset` walk helpers, `set_pmd`,
 * `pmd_clear`, the `pmd_none`/`pmd_leaf` predicates, and `pmd_page()` vs `pmd_ptdesc()`
 * (include/linux/pgtable.h, arch/x86/include/asm/pgtable*.h, v6.19).
 *
 * An entry pointer (`pmd_t *` in C) is the physical address of the entry in simulated memory. Every
 * read or write of an entry is a step on the frame that holds it, because the IOMMU and the CPUs
 * walk the same frames; the kernel reaches them through the direct map, so each access is
 * KASAN-checked against the frame being free (a CPU use-after-free).
 *
 * With 4-level paging the P4D level is folded into the PGD, as in Linux: `p4d_offset` returns the
 * PGD entry itself and `set_p4d` writes it.
 */
import { PAGE_SHIFT, tableIndex, type Level, type Pa, type Va } from '../../../../../hw/address.ts';
import { _PAGE_PRESENT, _PAGE_PSE, _PAGE_TABLE, entry_pa, mk_entry } from '../../../../../hw/index.ts';
import { step, type Sim } from '../../../../../sim/index.ts';
import { kasan_check } from '../../../../mm/kasan/generic.ts';
import type { Kernel, MemoryCore } from '../../../../model/kernel.ts';
import type { MmStruct } from '../../../../kernel/fork.ts';
import type { Page, Ptdesc } from '../../../../include/linux/mm_types.ts';

/** Where an entry lives: `pgd_t *`, `pmd_t *`, ... as a physical address. */
export type EntryPtr = Pa;

/** The frame holding an entry or table: the identity of the step that touches it. */
export function frameOf(pa: Pa): number {
  return Math.floor(pa / 4096);
}

function* readEntry(k: MemoryCore, ptr: EntryPtr, label: string): Sim<bigint> {
  yield step(label, 'read', frameOf(ptr));
  kasan_check(k, ptr, 8, false, label);
  return k.mem.read64(ptr);
}

function* writeEntry(k: MemoryCore, ptr: EntryPtr, value: bigint, level: Level, label: string): Sim {
  yield step(label, 'write', frameOf(ptr));
  kasan_check(k, ptr, 8, true, label);
  const old = k.mem.read64(ptr);
  k.mem.write64(ptr, value);
  for (const o of k.observers) o.pgtableWrite?.(level, ptr, old, value);
}

/* Reads (READ_ONCE of an entry). */
export const pgdp_get = (k: MemoryCore, p: EntryPtr) => readEntry(k, p, 'pgdp_get');
export const p4dp_get = (k: MemoryCore, p: EntryPtr) => readEntry(k, p, 'p4dp_get');
export const pudp_get = (k: MemoryCore, p: EntryPtr) => readEntry(k, p, 'pudp_get');
export const pmdp_get = (k: MemoryCore, p: EntryPtr) => readEntry(k, p, 'pmdp_get');
export const ptep_get = (k: MemoryCore, p: EntryPtr) => readEntry(k, p, 'ptep_get');

/* Writes. */
/** The PGD is level 5 with 5-level paging and level 4 (the P4D folded into it) otherwise. */
export const set_pgd = (k: MemoryCore, p: EntryPtr, v: bigint) => writeEntry(k, p, v, k.config.pagingLevels === 5 ? 5 : 4, 'set_pgd');
export const set_p4d = (k: MemoryCore, p: EntryPtr, v: bigint) => writeEntry(k, p, v, 4, 'set_p4d');
export const set_pud = (k: MemoryCore, p: EntryPtr, v: bigint) => writeEntry(k, p, v, 3, 'set_pud');
export const set_pmd = (k: MemoryCore, p: EntryPtr, v: bigint) => writeEntry(k, p, v, 2, 'set_pmd');
export const set_pte = (k: MemoryCore, p: EntryPtr, v: bigint) => writeEntry(k, p, v, 1, 'set_pte');
export const p4d_clear = (k: MemoryCore, p: EntryPtr) => writeEntry(k, p, 0n, 4, 'p4d_clear');
export const pud_clear = (k: MemoryCore, p: EntryPtr) => writeEntry(k, p, 0n, 3, 'pud_clear');
export const pmd_clear = (k: MemoryCore, p: EntryPtr) => writeEntry(k, p, 0n, 2, 'pmd_clear');
export const pte_clear = (k: MemoryCore, p: EntryPtr) => writeEntry(k, p, 0n, 1, 'pte_clear');

/* Predicates on entry values. */
export const entry_none = (v: bigint): boolean => v === 0n;
export const entry_present = (v: bigint): boolean => (v & _PAGE_PRESENT) !== 0n;
/** A present entry with PS set at PUD/PMD level maps memory instead of pointing to a table. */
export const entry_leaf = (v: bigint): boolean => (v & (_PAGE_PRESENT | _PAGE_PSE)) === (_PAGE_PRESENT | _PAGE_PSE);
export const pmd_none = entry_none;
export const pud_none = entry_none;
export const p4d_none = entry_none;
export const pgd_none = entry_none;
export const pte_none = entry_none;
export const pmd_present = entry_present;
export const pud_present = entry_present;
export const pte_present = entry_present;
export const pmd_leaf = entry_leaf;
export const pud_leaf = entry_leaf;

/** The table an upper entry points to (`pud_pgtable()`, `pmd_page_vaddr()` as a physical address). */
export function entry_table(v: bigint): Pa {
  return entry_pa(v);
}

/** pmd_page(*pmd): the page the PMD entry POINTS TO (the PTE table, or a huge page's head). */
export function pmd_page(v: bigint): Page {
  return entry_pa(v) >> PAGE_SHIFT;
}

export const pud_page = pmd_page;

/** pmd_ptdesc(pmd): the ptdesc of the page HOLDING the PMD entry (the PMD table itself). */
export function pmd_ptdesc(pmdp: EntryPtr): Ptdesc {
  return frameOf(pmdp);
}

/** The address of the entry for `va` in the table at `table` (pgd_index/pmd_index arithmetic). */
export function entry_ptr(table: Pa, va: Va, level: Level): EntryPtr {
  return table + 8 * tableIndex(va, level);
}

/* The offset helpers: each reads its parent entry, as the C macros dereference it. */

export function pgd_offset(k: Kernel, mm: MmStruct, va: Va): EntryPtr {
  return entry_ptr(mm.pgd, va, k.config.pagingLevels === 5 ? 5 : 4);
}

export function* p4d_offset(k: Kernel, pgdp: EntryPtr, va: Va): Sim<EntryPtr> {
  if (k.config.pagingLevels === 4) return pgdp;
  return entry_ptr(entry_table(yield* pgdp_get(k, pgdp)), va, 4);
}

export function* pud_offset(k: MemoryCore, p4dp: EntryPtr, va: Va): Sim<EntryPtr> {
  return entry_ptr(entry_table(yield* p4dp_get(k, p4dp)), va, 3);
}

export function* pmd_offset(k: MemoryCore, pudp: EntryPtr, va: Va): Sim<EntryPtr> {
  return entry_ptr(entry_table(yield* pudp_get(k, pudp)), va, 2);
}

export function* pte_offset_kernel(k: MemoryCore, pmdp: EntryPtr, va: Va): Sim<EntryPtr> {
  return entry_ptr(entry_table(yield* pmdp_get(k, pmdp)), va, 1);
}

/*
 * Populate: link a new table below an entry. x86 links kernel tables with _PAGE_TABLE, USER bit
 * included, exactly like user tables (arch/x86/include/asm/pgalloc.h pmd_populate_kernel,
 * pud_populate, p4d_populate, pgd_populate): only the leaf's U/S bit keeps user accesses out of the
 * kernel half. So an unprivileged SVA walk gets all the way down a kernel path and caches every
 * upper entry (docs/kernel/iommu.md, Why kernel tables are cached) — and a fake USER leaf found
 * through a stale cached entry is honoured.
 */

export function table_entry(pt: Ptdesc): bigint {
  return mk_entry(pt << PAGE_SHIFT, _PAGE_TABLE);
}

export const pmd_populate_kernel = (k: MemoryCore, pmdp: EntryPtr, pt: Ptdesc) => set_pmd(k, pmdp, table_entry(pt));
export const pmd_populate = (k: MemoryCore, pmdp: EntryPtr, pt: Ptdesc) => set_pmd(k, pmdp, table_entry(pt));
export const pud_populate = (k: MemoryCore, pudp: EntryPtr, pt: Ptdesc) => set_pud(k, pudp, table_entry(pt));
export const p4d_populate = (k: MemoryCore, p4dp: EntryPtr, pt: Ptdesc) => set_p4d(k, p4dp, table_entry(pt));
export const pgd_populate = (k: MemoryCore, pgdp: EntryPtr, pt: Ptdesc) => set_pgd(k, pgdp, table_entry(pt));
