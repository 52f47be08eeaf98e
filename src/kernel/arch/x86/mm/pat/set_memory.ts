/**
 * Change of page attributes on the kernel's own mappings (arch/x86/mm/pat/set_memory.c, v6.16–v6.19):
 * set_memory_ro/rw/nx/x/rox, splitting a large leaf whose protection changes for part of it, and
 * (CPA_COLLAPSE, set_memory_rox only) collapsing PTE tables back into large leaves.
 * docs/kernel/free-sites.md (the cpa_collapse_large_pages row, CPA split tables) and
 * docs/kernel/pitfalls.md §5.
 *
 * The page-table pages CPA makes and frees:
 *  - split_large_page() takes its new table from the cpa_alloc_pgtable hook, in v6.18/v6.19
 *    alloc_pages(GFP_KERNEL, 0): no __GFP_COMP, no pagetable ctor, and no ptdesc_set_kernel() —
 *    docs/kernel/deferred-free.md, Marking at allocation. From v7.1 (e751303e0ad2, Vishal Moola)
 *    it is pagetable_alloc(GFP_KERNEL, 0), still unmarked, and the loser of a split race gives its
 *    table back with pagetable_free() (k.release.cpaSplitLoserFree); "x86/mm/pat: Allocate split
 *    page tables as kernel page tables" (probably v7.3) marks it — the hook is the designs'
 *    (src/designs/upstream-later.ts). The table is not zeroed: __split_large_page() writes all 512
 *    entries before linking it.
 *  - cpa_collapse_large_pages() queues the tables it made redundant on a local list through
 *    ptdesc->pt_list while it collapses (under pgd_lock), runs flush_tlb_all(), and only then
 *    takes each off the list (list_del) and frees it. That free is the cpa_free_pgtable hook:
 *    v6.18's __free_page(ptdesc_page(ptdesc)) here; v6.19's commit bf9e4e30f353 made it
 *    pagetable_free(ptdesc), which the upstream design carries. A split table is unmarked, so
 *    even v6.19 frees it at once: no IOMMU invalidation precedes its reuse (docs/kernel/pitfalls.md §5).
 *    Lorenzo Stoakes' 2026 ptdump use-after-free fixes (collapse under mmap_write_lock(&init_mm),
 *    attribute changes under its read lock: linux-next a1c7570cedd0, d5d8b8662e6e, probably v7.3)
 *    are not modelled: the model has no mmap lock and no ptdump walker for them to exclude.
 *
 * Locking: x86-64 shares the kernel PMD/PUD tables between all mms, so only init_mm's entries
 * change, under pgd_lock (split, the large-page check, collapse). Linux also serialises whole
 * __change_page_attr() calls with the file-static spinlock cpa_lock (dropped around the
 * allocation in split_large_page()); the model has no cpa_lock, so two concurrent CPA calls on the
 * SAME 4 KiB entry can lose an update here that Linux would not (splitting races are still
 * resolved by the re-check under pgd_lock, as in Linux).
 *
 * What is not modelled, because nothing in the model needs it: cache attributes and PAT
 * (set_memory_uc/wc; pgprot_large_2_4k() then only clears PSE), CPA_ARRAY/CPA_PAGES_ARRAY,
 * set_memory_4k and its _PAGE_KERNEL_4K bit, static_protections() (the model has no kernel image,
 * rodata or PCI BIOS), verify_rwx()'s WARN_ONCE, the high kernel map alias, DirectMap statistics.
 * direct_gbpages is taken as on (x86-64's default), so collapse_pud_page() runs.
 */
import { PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, PTRS_PER_TABLE, PUD_SIZE, TLB_FLUSH_ALL, hex, levelSize, type Level, type Va } from '../../../../../hw/address.ts';
import { PTE_PFN_MASK, _KERNPG_TABLE, _PAGE_DIRTY, _PAGE_NX, _PAGE_PSE, _PAGE_RW, entry_pa, mk_entry } from '../../../../../hw/index.ts';
import { ModelInvariantError, step, type Sim } from '../../../../../sim/index.ts';
import { __free_page, alloc_pages } from '../../../../mm/page_alloc.ts';
import { GFP_KERNEL } from '../../../../include/linux/gfp.ts';
import type { Kernel } from '../../../../model/kernel.ts';
import { __pa, __va } from '../../include/asm/pgtable_64_types.ts';
import { list_add, list_del, list_for_each_safe, type ListHead } from '../../../../include/linux/list.ts';
import { might_sleep } from '../../../../kernel/sched/core.ts';
import { contextLines, type Ptdesc } from '../../../../include/linux/mm_types.ts';
import {
  entry_leaf,
  entry_none,
  entry_present,
  p4d_offset,
  p4dp_get,
  pgd_offset,
  pgdp_get,
  pmd_offset,
  pmd_page,
  pmdp_get,
  pte_offset_kernel,
  ptep_get,
  pud_offset,
  pud_page,
  pudp_get,
  set_pmd,
  set_pte,
  set_pud,
  type EntryPtr,
} from '../../include/asm/pgtable.ts';
import { page_ptdesc, pagetable_free, ptdesc_page } from '../../../../include/linux/mm.ts';
import { spin_lock, spin_unlock } from '../../../../kernel/locking/spinlock.ts';
import { flush_tlb_all, flush_tlb_kernel_range } from '../tlb.ts';
import { purge_vmap_area_lazy } from '../../../../mm/vmalloc.ts';

/* enum pg_level, numbered as the model's table levels. */
export const PG_LEVEL_4K: Level = 1;
export const PG_LEVEL_2M: Level = 2;
export const PG_LEVEL_1G: Level = 3;
const PG_LEVEL_512G: Level = 4;
const PG_LEVEL_256T: Level = 5;

/* cpa_data.flags (only those the modelled callers use). */
const CPA_FLUSHTLB = 1;
const CPA_COLLAPSE = 16;

const ENOMEM = 12;
const EFAULT = 14;
const EINVAL = 22;

const PMD_MASK: Va = ~(BigInt(PMD_SIZE) - 1n);
const PUD_MASK: Va = ~(BigInt(PUD_SIZE) - 1n);
const PTRS_PER_PTE = PTRS_PER_TABLE;

/** The name of cpa_collapse_large_pages()'s on-stack LIST_HEAD(pgtables) in the list arena. */
export const CPA_PGTABLES_LIST = 'cpa_collapse_large_pages pgtables';

/** struct cpa_data, for a single virtually contiguous range. */
interface CpaData {
  /** *cpa->vaddr: the first address of the range. */
  readonly vaddr: Va;
  numpages: number;
  curpage: number;
  pfn: number;
  readonly mask_set: bigint;
  readonly mask_clr: bigint;
  flags: number;
  force_flush_all: boolean;
}

/** What lookup_address() returns: the entry that maps the address (a leaf, or a non-present one) and its level. */
export interface KpteLookup {
  readonly kpte: EntryPtr | null;
  readonly level: Level;
}

/* ---- the set_memory_*() API (arch/x86/mm/pat/set_memory.c) ---- */

/** set_memory_ro(): clear _PAGE_RW and _PAGE_DIRTY. Returns 0 or -errno. */
export function set_memory_ro(k: Kernel, addr: Va, numpages: number): Sim<number> {
  return change_page_attr_set_clr(k, addr, numpages, 0n, _PAGE_RW | _PAGE_DIRTY, 0);
}

/** set_memory_rw(): set _PAGE_RW only — _PAGE_DIRTY stays clear after a set_memory_ro(). */
export function set_memory_rw(k: Kernel, addr: Va, numpages: number): Sim<number> {
  return change_page_attr_set_clr(k, addr, numpages, _PAGE_RW, 0n, 0);
}

/** set_memory_nx() (x86-64 always supports NX). */
export function set_memory_nx(k: Kernel, addr: Va, numpages: number): Sim<number> {
  return change_page_attr_set_clr(k, addr, numpages, _PAGE_NX, 0n, 0);
}

/** set_memory_x(). */
export function set_memory_x(k: Kernel, addr: Va, numpages: number): Sim<number> {
  return change_page_attr_set_clr(k, addr, numpages, 0n, _PAGE_NX, 0);
}

/**
 * set_memory_rox(): read-only and executable in one change, with CPA_COLLAPSE — the only caller of
 * the collapse (execmem and BPF use it on vmalloc'd text).
 */
export function set_memory_rox(k: Kernel, addr: Va, numpages: number): Sim<number> {
  return change_page_attr_set_clr(k, addr, numpages, 0n, _PAGE_RW | _PAGE_DIRTY | _PAGE_NX, CPA_COLLAPSE);
}

/**
 * change_page_attr_set_clr(): apply the masks page by page, then flush (cpa_flush(), which also
 * collapses for CPA_COLLAPSE) — but only if some entry really changed (CPA_FLUSHTLB), and on an
 * error only the full flush, without collapse.
 */
function* change_page_attr_set_clr(k: Kernel, addr: Va, numpages: number, mask_set: bigint, mask_clr: bigint, in_flag: number): Sim<number> {
  if (mask_set === 0n && mask_clr === 0n) return 0;
  if ((addr & BigInt(PAGE_SIZE - 1)) !== 0n) {
    k.exec.report('assertion', 'WARNING: at arch/x86/mm/pat/set_memory.c change_page_attr_set_clr (unaligned address)', [
      `addr = ${hex(addr)}`,
      ...contextLines(k.exec),
    ]);
    addr &= ~BigInt(PAGE_SIZE - 1);
  }
  // kmap_flush_unused() is empty without highmem.
  yield* vm_unmap_aliases(k);

  const cpa: CpaData = { vaddr: addr, numpages, curpage: 0, pfn: 0, mask_set, mask_clr, flags: in_flag, force_flush_all: false };
  const ret = yield* __change_page_attr_set_clr(k, cpa, true);
  if (!(cpa.flags & CPA_FLUSHTLB)) return ret;
  // cache = !!pgprot2cachemode(mask_set): 0, none of the modelled masks sets a cache mode.
  if (ret !== 0) yield* cpa_flush_all(k);
  else yield* cpa_flush(k, cpa);
  return ret;
}

/**
 * vm_unmap_aliases() with nothing but lazily freed vmap areas to purge (vmap blocks are not
 * modelled): takes the vmap_purge_lock mutex, so it may sleep, then __purge_vmap_area_lazy() —
 * the flush_tlb_kernel_range() of Yi Lai's v1 splat (<0c6f6b3e-d68d-4deb-963e-6074944afff7@linux.intel.com>).
 */
function* vm_unmap_aliases(k: Kernel): Sim {
  might_sleep(k, '_vm_unmap_aliases');
  yield* purge_vmap_area_lazy(k);
}

function* __change_page_attr_set_clr(k: Kernel, cpa: CpaData, primary: boolean): Sim<number> {
  const numpages = cpa.numpages;
  let rempages = numpages;
  let ret = 0;
  if (cpa.mask_set === 0n && cpa.mask_clr === 0n) return 0;
  while (rempages > 0) {
    // What is left, for the large-page preservation check.
    cpa.numpages = rempages;
    ret = yield* __change_page_attr(k, cpa, primary);
    if (ret !== 0) break;
    if (primary) {
      ret = yield* cpa_process_alias(k, cpa);
      if (ret !== 0) break;
    }
    // BUG_ON(): a model bug if it fires, not a finding.
    if (cpa.numpages > rempages || cpa.numpages === 0) {
      throw new ModelInvariantError(`__change_page_attr_set_clr: processed ${cpa.numpages} of ${rempages} pages`);
    }
    rempages -= cpa.numpages;
    cpa.curpage += cpa.numpages;
  }
  cpa.numpages = numpages;
  return ret;
}

/** __cpa_addr() for a contiguous range. */
function __cpa_addr(cpa: CpaData, idx: number): Va {
  return cpa.vaddr + BigInt(idx * PAGE_SIZE);
}

function within(addr: Va, start: Va, end: Va): boolean {
  return addr >= start && addr < end;
}

/** Whether `addr` is in the direct map of all memory: [PAGE_OFFSET, PAGE_OFFSET + max_pfn_mapped pages). */
function in_direct_map(k: Kernel, addr: Va): boolean {
  return within(addr, k.layout.PAGE_OFFSET, k.layout.PAGE_OFFSET + BigInt(k.mem.frames * PAGE_SIZE));
}

/**
 * __change_page_attr(): one page, or as much of a large leaf as the request covers. A 4 KiB entry
 * is rewritten in place; a large leaf is kept when should_split_large_page() allows, else split and
 * the lookup repeated.
 */
function* __change_page_attr(k: Kernel, cpa: CpaData, primary: boolean): Sim<number> {
  const address = __cpa_addr(cpa, cpa.curpage);
  for (;;) {
    const { kpte, level } = yield* lookup_address(k, address);
    if (kpte === null) return __cpa_process_fault(k, cpa, address, primary);
    const old_pte = yield* entry_get(k, kpte, level);
    if (entry_none(old_pte)) return __cpa_process_fault(k, cpa, address, primary);

    if (level === PG_LEVEL_4K) {
      const pfn = pte_pfn(old_pte);
      const new_prot = (pte_flags(old_pte) & ~cpa.mask_clr) | cpa.mask_set;
      // Keep the pfn: only the attributes change.
      const new_pte = pfn_pte(pfn, new_prot);
      cpa.pfn = pfn;
      if (new_pte !== old_pte) {
        yield* set_pte(k, kpte, new_pte);
        cpa.flags |= CPA_FLUSHTLB;
      }
      cpa.numpages = 1;
      return 0;
    }

    const do_split = yield* should_split_large_page(k, kpte, address, cpa);
    if (do_split <= 0) return do_split;
    const err = yield* split_large_page(k, kpte, address);
    if (err !== 0) return err;
  }
}

/**
 * __cpa_process_fault() without cpa->pgd (EFI only): a hole in the direct map or an alias is
 * skipped one page at a time; any other unmapped address is a WARN and -EFAULT.
 */
function __cpa_process_fault(k: Kernel, cpa: CpaData, vaddr: Va, primary: boolean): number {
  if (!primary || in_direct_map(k, vaddr)) {
    cpa.numpages = 1;
    if (primary) cpa.pfn = Math.floor(__pa(k.layout, vaddr) / PAGE_SIZE);
    return 0;
  }
  k.exec.report('assertion', `WARNING: CPA: called for zero pte. vaddr = ${vaddr.toString(16)} cpa->vaddr = ${cpa.vaddr.toString(16)}`, [
    'WARNING: at arch/x86/mm/pat/set_memory.c __cpa_process_fault',
    ...contextLines(k.exec),
  ]);
  return -EFAULT;
}

/**
 * cpa_process_alias(): a page changed through another mapping (vmalloc) gets the same change in
 * the direct map, except NX ("Directmap always has NX set, do not modify"), and the final flush
 * becomes a full one. The high kernel map alias does not exist in the model.
 */
function* cpa_process_alias(k: Kernel, cpa: CpaData): Sim<number> {
  // pfn_range_is_mapped(): every frame is in the direct map.
  if (cpa.pfn >= k.mem.frames) return 0;
  const vaddr = __cpa_addr(cpa, cpa.curpage);
  if (in_direct_map(k, vaddr)) return 0;
  const alias: CpaData = {
    ...cpa,
    vaddr: __va(k.layout, cpa.pfn * PAGE_SIZE),
    curpage: 0,
    mask_clr: cpa.mask_clr & ~_PAGE_NX,
    mask_set: cpa.mask_set & ~_PAGE_NX,
  };
  cpa.force_flush_all = true;
  return yield* __change_page_attr_set_clr(k, alias, false);
}

/* ---- lookup_address() ---- */

/**
 * lookup_address(): the entry mapping `address` in init_mm — a PTE, or a PMD/PUD/P4D that is a
 * leaf or not present — with its level; null (and the level reached) if a table is missing.
 * x86-64 folds the P4D at run time with 4-level paging: pgd_none() is then 0 and p4d_offset()
 * returns the PGD entry.
 */
export function* lookup_address(k: Kernel, address: Va): Sim<KpteLookup> {
  const pgdp = pgd_offset(k, k.init_mm, address);
  if (k.config.pagingLevels === 5 && entry_none(yield* pgdp_get(k, pgdp))) return { kpte: null, level: PG_LEVEL_256T };
  const p4dp = yield* p4d_offset(k, pgdp, address);
  const p4d = yield* p4dp_get(k, p4dp);
  if (entry_none(p4d)) return { kpte: null, level: PG_LEVEL_512G };
  if (entry_leaf(p4d) || !entry_present(p4d)) return { kpte: p4dp, level: PG_LEVEL_512G };
  const pudp = yield* pud_offset(k, p4dp, address);
  const pud = yield* pudp_get(k, pudp);
  if (entry_none(pud)) return { kpte: null, level: PG_LEVEL_1G };
  if (entry_leaf(pud) || !entry_present(pud)) return { kpte: pudp, level: PG_LEVEL_1G };
  const pmdp = yield* pmd_offset(k, pudp, address);
  const pmd = yield* pmdp_get(k, pmdp);
  if (entry_none(pmd)) return { kpte: null, level: PG_LEVEL_2M };
  if (entry_leaf(pmd) || !entry_present(pmd)) return { kpte: pmdp, level: PG_LEVEL_2M };
  return { kpte: yield* pte_offset_kernel(k, pmdp, address), level: PG_LEVEL_4K };
}

/** `*kpte`, read as the entry of its level (the C code casts kpte to pmd_t * or pud_t *). */
function entry_get(k: Kernel, kpte: EntryPtr, level: Level): Sim<bigint> {
  if (level === PG_LEVEL_4K) return ptep_get(k, kpte);
  if (level === PG_LEVEL_2M) return pmdp_get(k, kpte);
  if (level === PG_LEVEL_1G) return pudp_get(k, kpte);
  return p4dp_get(k, kpte);
}

/** __set_pmd_pte(): set_pte_atomic() on init_mm's entry — the only copy on x86-64. */
function __set_pmd_pte(k: Kernel, kpte: EntryPtr, level: Level, value: bigint): Sim {
  if (level === PG_LEVEL_2M) return set_pmd(k, kpte, value);
  if (level === PG_LEVEL_1G) return set_pud(k, kpte, value);
  throw new ModelInvariantError(`__set_pmd_pte at level ${level}`);
}

/* ---- protection bits ---- */

/** pte_flags(): everything but the pfn. */
function pte_flags(pte: bigint): bigint {
  return pte & ~PTE_PFN_MASK;
}

function pte_pfn(pte: bigint): number {
  return Number((pte & PTE_PFN_MASK) >> BigInt(PAGE_SHIFT));
}

function pfn_pte(pfn: number, prot: bigint): bigint {
  return mk_entry(pfn * PAGE_SIZE, prot);
}

/** pmd_pgprot()/pud_pgprot() of a large leaf: everything but its (2 MiB or 1 GiB aligned) address. */
function large_pgprot(e: bigint, level: Level): bigint {
  return e & ~(PTE_PFN_MASK & ~(levelSize(level) - 1n));
}

/** pmd_pfn()/pud_pfn() of a large leaf. */
function large_pfn(e: bigint, level: Level): number {
  return entry_pa(e, level) >> PAGE_SHIFT;
}

/** pgprot_large_2_4k(): PSE goes (PAT is not modelled, so there is no PAT bit to move). */
function pgprot_large_2_4k(prot: bigint): bigint {
  return prot & ~_PAGE_PSE;
}

/* ---- split ---- */

/** should_split_large_page(): __should_split_large_page() under pgd_lock. */
function* should_split_large_page(k: Kernel, kpte: EntryPtr, address: Va, cpa: CpaData): Sim<number> {
  yield* spin_lock(k, k.pgd_lock);
  const do_split = yield* __should_split_large_page(k, kpte, address, cpa);
  yield* spin_unlock(k, k.pgd_lock);
  return do_split;
}

/**
 * __should_split_large_page(): 1 to split, 0 if the leaf is kept — unchanged because the new
 * protection equals the old, or rewritten in place because the request covers all of it — and
 * cpa->numpages clamped to what the leaf covers from `address`.
 */
function* __should_split_large_page(k: Kernel, kpte: EntryPtr, address: Va, cpa: CpaData): Sim<number> {
  // Another CPU may have split it already.
  const { kpte: tmp, level } = yield* lookup_address(k, address);
  if (tmp !== kpte) return 1;
  if (level !== PG_LEVEL_2M && level !== PG_LEVEL_1G) return -EINVAL;
  const e = yield* entry_get(k, kpte, level);
  const old_prot = large_pgprot(e, level);
  const old_pfn = large_pfn(e, level);
  const psize = levelSize(level);
  const pmask = ~(psize - 1n);

  const fit = Number(((address + psize) & pmask) - address) / PAGE_SIZE;
  if (fit < cpa.numpages) cpa.numpages = fit;

  // The masks are in 4 KiB format; pgprot_4k_2_large() is the identity without PAT.
  let req_prot = (pgprot_large_2_4k(old_prot) & ~cpa.mask_clr) | cpa.mask_set;
  if (entry_present(req_prot)) req_prot |= _PAGE_PSE;

  cpa.pfn = old_pfn + Number((address & (psize - 1n)) / BigInt(PAGE_SIZE));
  const lpaddr = address & pmask;
  const lpages = Number(psize) / PAGE_SIZE;

  // Same protection: keep the leaf, nothing to write.
  if (req_prot === old_prot) return 0;
  // A partial change splits.
  if (address !== lpaddr || cpa.numpages !== lpages) return 1;
  // The whole leaf changes: rewrite it (static_protections() and verify_rwx() change nothing here).
  yield* __set_pmd_pte(k, kpte, level, mk_entry(old_pfn * PAGE_SIZE, req_prot));
  cpa.flags |= CPA_FLUSHTLB;
  return 0;
}

/**
 * split_large_page(): allocate the new table (cpa_lock is dropped around this in Linux, so it may
 * sleep), then __split_large_page(); if another thread split the leaf first, the page goes back.
 */
function* split_large_page(k: Kernel, kpte: EntryPtr, address: Va): Sim<number> {
  const pt = yield* cpa_alloc_pgtable(k);
  if (pt === null) return -ENOMEM;
  const base = ptdesc_page(pt);
  // The loser of a split race frees a table nothing ever linked, so no walk can have cached it.
  if ((yield* __split_large_page(k, kpte, address, base)) !== 0) {
    yield* (k.release.cpaSplitLoserFree === 'pagetable_free' ? pagetable_free(k, pt) : __free_page(k, base));
  }
  return 0;
}

/**
 * __split_large_page(): under pgd_lock, re-check the leaf, fill `base` with 512 entries of the
 * leaf's protection (4 KiB PTEs for a 2 MiB leaf, 2 MiB leaves for a 1 GiB one), link it with
 * _KERNPG_TABLE, and flush_tlb_all() before unlocking — the SDM forbids TLB entries of two sizes
 * with different attributes for one address. 1 if the leaf was already split by someone else.
 */
function* __split_large_page(k: Kernel, kpte: EntryPtr, address: Va, base: number): Sim<number> {
  yield* spin_lock(k, k.pgd_lock);
  const { kpte: tmp, level } = yield* lookup_address(k, address);
  if (tmp !== kpte || (level !== PG_LEVEL_2M && level !== PG_LEVEL_1G)) {
    yield* spin_unlock(k, k.pgd_lock);
    return 1;
  }
  const e = yield* entry_get(k, kpte, level);
  const ref_pfn = large_pfn(e, level);
  let ref_prot: bigint;
  let pfninc: number;
  if (level === PG_LEVEL_2M) {
    ref_prot = pgprot_large_2_4k(large_pgprot(e, level));
    pfninc = 1;
  } else {
    ref_prot = large_pgprot(e, level);
    // A non-present PMD must not look present through PSE.
    if (!entry_present(ref_prot)) ref_prot &= ~_PAGE_PSE;
    pfninc = PMD_SIZE / PAGE_SIZE;
  }
  const table = base * PAGE_SIZE;
  for (let i = 0; i < PTRS_PER_PTE; i++) {
    const entry = pfn_pte(ref_pfn + i * pfninc, ref_prot);
    if (level === PG_LEVEL_2M) yield* set_pte(k, table + 8 * i, entry);
    else yield* set_pmd(k, table + 8 * i, entry);
  }
  // The table entry uses the standard kernel table protections: the new leaves carry the real ones.
  yield* __set_pmd_pte(k, kpte, level, mk_entry(table, _KERNPG_TABLE));
  if (k.exec.tracing) {
    k.exec.log('pgtable', `split_large_page: ${level === PG_LEVEL_2M ? '2M' : '1G'} leaf at ${hex(address & ~(levelSize(level) - 1n))} -> table pfn ${hex(base)} (alloc_pages, unmarked)`);
  }
  yield* flush_tlb_all(k);
  yield* spin_unlock(k, k.pgd_lock);
  return 0;
}

/* ---- flush and collapse ---- */

/**
 * cpa_flush() without cache flushing: flush_tlb_kernel_range() over the range (all of it when an
 * alias changed too), then, for CPA_COLLAPSE, cpa_collapse_large_pages().
 */
function* cpa_flush(k: Kernel, cpa: CpaData): Sim {
  const start = __cpa_addr(cpa, 0);
  const end = cpa.force_flush_all ? TLB_FLUSH_ALL : start + BigInt(cpa.numpages * PAGE_SIZE);
  yield* flush_tlb_kernel_range(k, start, end);
  if (cpa.flags & CPA_COLLAPSE) yield* cpa_collapse_large_pages(k, cpa);
}

/** cpa_flush_all(0): __flush_tlb_all() on each CPU by IPI — not flush_tlb_all(), so no design hook sees it. */
function* cpa_flush_all(k: Kernel): Sim {
  for (let cpu = 0; cpu < k.cpus.length; cpu++) {
    yield step('__cpa_flush_all', 'write', k.tlbObjects[cpu]);
    k.cpus[cpu].flushAll();
  }
}

/**
 * cpa_collapse_large_pages(): try every PMD of the range; if anything collapsed, flush_tlb_all(),
 * then take each queued table off the local list and free it. The list is this function's own
 * (on its stack in C), so touching it needs no step; the frees are the design's.
 */
function* cpa_collapse_large_pages(k: Kernel, cpa: CpaData): Sim {
  const pgtables = k.lists.newHead(CPA_PGTABLES_LIST);
  let collapsed = 0;
  const addr = __cpa_addr(cpa, 0);
  const start = addr & PMD_MASK;
  const end = addr + BigInt(cpa.numpages * PAGE_SIZE);
  for (let a = start; within(a, start, end); a += BigInt(PMD_SIZE)) collapsed += yield* collapse_large_pages(k, a, pgtables);
  if (collapsed === 0) return;

  yield* flush_tlb_all(k);

  for (const node of list_for_each_safe(k.lists, pgtables)) {
    const pt = ptdescOfNode(k, node);
    list_del(k.lists, node);
    yield* cpa_free_pgtable(k, pt);
  }
}

/** container_of(node, struct ptdesc, pt_list): only a page's lru node is a ptdesc's pt_list. */
function ptdescOfNode(k: Kernel, node: ListHead): Ptdesc {
  if (node < 0 || node >= k.lists.pageNodes) throw new ModelInvariantError(`cpa pgtables list holds ${k.lists.describe(node)}, not a ptdesc`);
  return page_ptdesc(node);
}

/**
 * collapse_large_pages(): under pgd_lock, find the PMD of `addr`; if it points to a PTE table, try
 * collapse_pmd_page(), and after a success collapse_pud_page(). Returns how many collapsed.
 */
function* collapse_large_pages(k: Kernel, addr: Va, pgtables: ListHead): Sim<number> {
  addr &= PMD_MASK;
  let collapsed = 0;
  yield* spin_lock(k, k.pgd_lock);
  out: {
    const pgdp = pgd_offset(k, k.init_mm, addr);
    if (k.config.pagingLevels === 5 && entry_none(yield* pgdp_get(k, pgdp))) break out;
    const p4dp = yield* p4d_offset(k, pgdp, addr);
    if (entry_none(yield* p4dp_get(k, p4dp))) break out;
    const pudp = yield* pud_offset(k, p4dp, addr);
    const pud = yield* pudp_get(k, pudp);
    if (!entry_present(pud) || entry_leaf(pud)) break out;
    const pmdp = yield* pmd_offset(k, pudp, addr);
    const pmd = yield* pmdp_get(k, pmdp);
    if (!entry_present(pmd) || entry_leaf(pmd)) break out;
    collapsed = yield* collapse_pmd_page(k, pmdp, addr, pgtables);
    if (collapsed !== 0) collapsed += yield* collapse_pud_page(k, pudp, addr, pgtables);
  }
  yield* spin_unlock(k, k.pgd_lock);
  return collapsed;
}

/**
 * collapse_pmd_page(): if the 512 PTEs map physically contiguous pages from a 2 MiB-aligned pfn,
 * all present with identical flags, replace the PMD with a 2 MiB leaf of that protection and
 * queue the PTE table on `pgtables` (list_add of its pt_list). Caller holds pgd_lock.
 */
function* collapse_pmd_page(k: Kernel, pmdp: EntryPtr, addr: Va, pgtables: ListHead): Sim<number> {
  addr &= PMD_MASK;
  const pte = yield* pte_offset_kernel(k, pmdp, addr);
  const first = yield* ptep_get(k, pte);
  const pfn = pte_pfn(first);
  if (pfn % PTRS_PER_PTE !== 0) return 0;
  const flags = pte_flags(first);
  for (let i = 1; i < PTRS_PER_PTE; i++) {
    const entry = yield* ptep_get(k, pte + 8 * i);
    if (!entry_present(entry)) return 0;
    if (pte_flags(entry) !== flags) return 0;
    if (pte_pfn(entry) !== pfn + i) return 0;
  }
  const old_pmd = yield* pmdp_get(k, pmdp);
  // pgprot_4k_2_large() is the identity without PAT.
  yield* set_pmd(k, pmdp, pfn_pte(pfn, flags | _PAGE_PSE));
  // Queue the table to be freed after the TLB flush.
  list_add(k.lists, page_ptdesc(pmd_page(old_pmd)), pgtables);
  if (k.exec.tracing) k.exec.log('pgtable', `collapse_pmd_page: 2M leaf at ${hex(addr)}, PTE table pfn ${hex(pmd_page(old_pmd))} queued for free`);
  return 1;
}

/**
 * collapse_pud_page(): if the 512 PMDs are 2 MiB leaves mapping contiguous memory from a 1 GiB
 * aligned pfn with identical flags, queue the PMD table and make the PUD a 1 GiB leaf.
 */
function* collapse_pud_page(k: Kernel, pudp: EntryPtr, addr: Va, pgtables: ListHead): Sim<number> {
  addr &= PUD_MASK;
  const pmd = yield* pmd_offset(k, pudp, addr);
  const first = yield* pmdp_get(k, pmd);
  const pfn = large_pfn(first, PG_LEVEL_2M);
  if (!entry_leaf(first) || pfn % (PTRS_PER_PTE * PTRS_PER_PTE) !== 0) return 0;
  const flags = large_pgprot(first, PG_LEVEL_2M);
  for (let i = 1; i < PTRS_PER_PTE; i++) {
    const entry = yield* pmdp_get(k, pmd + 8 * i);
    if (!entry_present(entry) || !entry_leaf(entry)) return 0;
    if (large_pgprot(entry, PG_LEVEL_2M) !== flags) return 0;
    if (large_pfn(entry, PG_LEVEL_2M) !== pfn + i * PTRS_PER_PTE) return 0;
  }
  list_add(k.lists, page_ptdesc(pud_page(yield* pudp_get(k, pudp))), pgtables);
  yield* set_pud(k, pudp, pfn_pte(pfn, flags));
  if (k.exec.tracing) k.exec.log('pgtable', `collapse_pud_page: 1G leaf at ${hex(addr)}`);
  return 1;
}

/* ---- the split's allocation and the collapse's final free (design hooks) ---- */

/** split_large_page()'s new table: alloc_pages(GFP_KERNEL, 0) — no ctor, no mark (see the header). */
export function* generic_cpa_alloc_pgtable(k: Kernel): Sim<Ptdesc | null> {
  const page = yield* alloc_pages(k, GFP_KERNEL, 0);
  return page === null ? null : page_ptdesc(page);
}

export const cpa_alloc_pgtable = (k: Kernel) => k.hooks.cpa_alloc_pgtable(k);

export function generic_cpa_free_pgtable(k: Kernel, pt: Ptdesc): Sim {
  return __free_page(k, ptdesc_page(pt));
}

export const cpa_free_pgtable = (k: Kernel, pt: Ptdesc) => k.hooks.cpa_free_pgtable(k, pt);
