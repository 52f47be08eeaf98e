/**
 * The x86-64 direct map after boot, and the page-table teardown of memory hot-remove
 * (arch/x86/mm/init_64.c, arch/x86/mm/init.c alloc_low_pages; v6.18, v6.19 where it differs).
 * docs/kernel/free-sites.md (the free_pagetable rows, Hot-remove order) and docs/kernel/pitfalls.md
 * §5, §8, §11.
 *
 * Building — init_memory_mapping() → kernel_physical_mapping_init(): walk the direct map of a
 * physical range down from init_mm's PGD. A missing PTE table comes from alloc_low_page(), i.e. the
 * alloc_low_pages hook, after boot __get_free_pages(GFP_ATOMIC | __GFP_ZERO, 0): a plain page with
 * no ctor, not PageTable, and NOT marked PT_kernel (docs/kernel/pitfalls.md §5), whose allocation
 * is a recorded failure choice under fault injection. The table is filled while still unlinked and
 * then linked with pmd_populate_kernel() under init_mm.page_table_lock; 2 MiB leaves
 * (PAGE_KERNEL_LARGE) are set under the same lock, one at a time. With config.directMap4k
 * (CONFIG_DEBUG_PAGEALLOC) every leaf is a 4 KiB PAGE_KERNEL PTE. The upper tables (PGD entry, PUD
 * and PMD tables) always exist: the model's memory is far below 1 GiB and boot maps pfn 0, so only
 * PTE tables are ever allocated here (a missing upper table is a ModelInvariantError, not a
 * modelled path). v6.18's phys_pmd_init() uses alloc_low_page()'s result unchecked (a NULL
 * dereference when the GFP_ATOMIC allocation fails); the model returns the failure to its caller
 * instead, as Em Sharnoff's 2025 series propagating -ENOMEM out of phys_*_init() does.
 *
 * Teardown — remove_pagetable() with remove_p4d/pud/pmd/pte_table(), for the vmemmap
 * (direct=false: what the leaves map is freed too) and the direct map (direct=true: only the
 * mapping goes). Leaves are cleared one by one under init_mm.page_table_lock. An emptied table goes
 * to the free_pte_table/free_pmd_table/free_pud_table hooks, so that a design can change their
 * order; the kernel's (free_empty_table(), 'free-then-clear') hands it to free_pagetable() FIRST and
 * clears its parent entry afterwards, under the lock: for a moment the freed table is still linked,
 * so anything that walks it then (the IOMMU, a CPU with a cached path) walks a free page —
 * docs/kernel/pitfalls.md §11, kept exactly. free_pud_table() runs only with 5-level paging.
 * remove_pte_table() ends with flush_tlb_all(), and remove_pagetable() ends with one more. Every
 * free, vmemmap blocks included (free_hugepage_table(): order 9), goes through the free_pagetable
 * dispatcher, i.e. the design.
 *
 * Left out, because the model never reaches them: remove_pte_table()'s "[0,1G) identity mapping"
 * early return (it compares pte_val + addr, which for any kernel address wraps far above 1 GiB),
 * the vmemmap_pmd_is_unused() sub-PMD bookkeeping (a section's memmap is whole PMDs, see
 * mm/memory_hotplug.ts), the 1 GiB-leaf branches (the direct map uses at most 2 MiB leaves; meeting
 * one is a ModelInvariantError), the direct-map page counters (update_page_count) and the altmap
 * (memmap_on_memory: the model's memmap never lives on the hot-added memory).
 *
 * free_pagetable() as in v6.18, before the series: a reserved (boot/memblock) page goes back one
 * page at a time — with put_page_bootmem() if boot registered it as SECTION_INFO or
 * MIX_SECTION_INFO (mm/bootmem_info.ts), else free_reserved_page(); anything else with
 * __free_pages(page, order) — which for an order-9 vmemmap block frees all 512 pages. v6.19's
 * commit bf9e4e30f353 ("x86/mm: use pagetable_free()") replaced that with
 * pagetable_free(page_ptdesc(page)); the upstream design carries that version, with its
 * consequences. Tip 39406c05f8f1 ("x86/mm: Fix freeing of PMD-sized vmemmap pages", v7.2;
 * k.release.vmemmapFree) frees vmemmap pages with free_vmemmap_pages() instead, which no hook
 * reaches, and leaves free_pagetable() with tables only.
 */
import { PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, PTRS_PER_TABLE, levelSize, type Level, type Pa, type Va } from '../../../../hw/address.ts';
import { PAGE_KERNEL, PAGE_KERNEL_LARGE, mk_entry } from '../../../../hw/index.ts';
import { ModelInvariantError, step, type Sim } from '../../../../sim/index.ts';
import { __free_pages, __get_free_pages, free_reserved_page } from '../../../mm/page_alloc.ts';
import { GFP_ATOMIC, __GFP_ZERO } from '../../../include/linux/gfp.ts';
import { get_order } from '../../../include/asm-generic/getorder.ts';
import { kasan_check } from '../../../mm/kasan/generic.ts';
import type { Kernel } from '../../../model/kernel.ts';
import { __va } from '../include/asm/pgtable_64_types.ts';
import { PageReserved, type Page } from '../../../include/linux/mm_types.ts';
import { MIX_SECTION_INFO, SECTION_INFO, bootmem_type, put_page_bootmem } from '../../../mm/bootmem_info.ts';
import {
  entry_leaf,
  entry_none,
  entry_present,
  entry_ptr,
  entry_table,
  frameOf,
  p4d_clear,
  p4dp_get,
  pgd_offset,
  pgdp_get,
  pmd_clear,
  pmd_page,
  pmd_populate_kernel,
  pmdp_get,
  pte_clear,
  ptep_get,
  pud_clear,
  pud_page,
  pudp_get,
  set_pmd,
  set_pte,
  type EntryPtr,
} from '../include/asm/pgtable.ts';
import { spin_lock, spin_unlock } from '../../../kernel/locking/spinlock.ts';
import { flush_tlb_all } from './tlb.ts';

export function generic_free_pagetable(k: Kernel, page: Page, order: number): Sim {
  return free_pagetable_with(k, page, order, (p, o) => __free_pages(k, p, o));
}

/**
 * The body of free_pagetable() with the version's way of freeing a non-reserved page. A reserved
 * (boot/memblock) page goes back one page at a time in every version, through put_page_bootmem()
 * if the first page's bootmem type is one free_pagetable() hands to it: SECTION_INFO or
 * MIX_SECTION_INFO while vmemmap pages come here, MIX_SECTION_INFO alone after 39406c05f8f1.
 */
export function* free_pagetable_with(k: Kernel, page: Page, order: number, free: (page: Page, order: number) => Sim): Sim {
  if (!PageReserved(k.pages, page)) return yield* free(page, order);
  const type = bootmem_type(k.pages, page);
  const put = type === MIX_SECTION_INFO || (type === SECTION_INFO && k.release.vmemmapFree === 'free_pagetable');
  yield* free_reserved_pages(k, page, order, put);
}

/** `1 << order` reserved pages from `page`, each with put_page_bootmem() or free_reserved_page(). */
function* free_reserved_pages(k: Kernel, page: Page, order: number, put_bootmem: boolean): Sim {
  for (let i = 0; i < 1 << order; i++) yield* (put_bootmem ? put_page_bootmem(k, page + i) : free_reserved_page(k, page + i));
}

/**
 * free_vmemmap_pages() without an altmap (39406c05f8f1): a vmemmap page or block is not a table,
 * so the whole order goes back with __free_pages() — or, reserved, page by page, through
 * put_page_bootmem() if it is a SECTION_INFO memmap page.
 */
function* free_vmemmap_pages(k: Kernel, page: Page, order: number): Sim {
  if (!PageReserved(k.pages, page)) return yield* __free_pages(k, page, order);
  yield* free_reserved_pages(k, page, order, bootmem_type(k.pages, page) === SECTION_INFO);
}

/** How hot-remove frees what a vmemmap leaf maps: the release's function (k.release.vmemmapFree). */
function free_vmemmap_leaf(k: Kernel, page: Page, order: number): Sim {
  return k.release.vmemmapFree === 'free_vmemmap_pages' ? free_vmemmap_pages(k, page, order) : free_pagetable(k, page, order);
}

export const free_pagetable = (k: Kernel, page: Page, order: number) => k.hooks.free_pagetable(k, page, order);

/** get_order(PMD_SIZE): the order of a vmemmap block a PMD leaf maps. */
export const PMD_ORDER = 9;

/* ---- shared helpers ---- */

/** The level of init_mm's top table: the PGD is level 5 with 5-level paging, level 4 (P4D folded in) otherwise. */
function topLevel(k: Kernel): Level {
  return k.config.pagingLevels === 5 ? 5 : 4;
}

/** pgd/p4d/pud/pmd_addr_end(): the end of the entry at `level` that covers `addr`, capped at `end`. */
function addr_end(addr: Va, end: Va, level: Level): Va {
  const size = levelSize(level);
  const boundary = (addr + size) & ~(size - 1n);
  return boundary - 1n < end - 1n ? boundary : end;
}

function aligned(addr: Va, size: number): boolean {
  return addr % BigInt(size) === 0n;
}

function* locked(k: Kernel, body: Sim): Sim {
  yield* spin_lock(k, k.init_mm.page_table_lock);
  yield* body;
  yield* spin_unlock(k, k.init_mm.page_table_lock);
}

/** An entry of a table at `level` that the model expects to exist from boot (see the header). */
function* bootTableEntry(k: Kernel, ptr: EntryPtr, level: Level, what: string): Sim<bigint> {
  const e = level === topLevel(k) ? yield* pgdp_get(k, ptr) : level === 4 ? yield* p4dp_get(k, ptr) : yield* pudp_get(k, ptr);
  if (entry_none(e) || entry_leaf(e)) {
    throw new ModelInvariantError(`${what}: level-${level} entry at pa 0x${ptr.toString(16)} is ${entry_none(e) ? 'empty' : 'a leaf'}; boot builds every table above the PMD level`);
  }
  return e;
}

/* ---- building the direct map (hot-add) ---- */

/**
 * alloc_low_pages(num) after boot (arch/x86/mm/init.c, after_bootmem):
 * __get_free_pages(GFP_ATOMIC | __GFP_ZERO, get_order(num pages)). No ctor, no PT_kernel mark.
 */
export function generic_alloc_low_pages(k: Kernel, num: number): Sim<Page | null> {
  return __get_free_pages(k, GFP_ATOMIC | __GFP_ZERO, get_order(num * PAGE_SIZE));
}

export const alloc_low_pages = (k: Kernel, num: number) => k.hooks.alloc_low_pages(k, num);

/** alloc_low_page(): alloc_low_pages(1). */
export const alloc_low_page = (k: Kernel) => alloc_low_pages(k, 1);

/**
 * init_memory_mapping(start, end, PAGE_KERNEL) for a hot-added range [paddr_start, paddr_end)
 * (2 MiB aligned): kernel_physical_mapping_init() over it. False if a table allocation failed
 * (see the header); what was linked before the failure stays linked.
 */
export function* init_memory_mapping(k: Kernel, paddr_start: Pa, paddr_end: Pa): Sim<boolean> {
  if (paddr_start % PMD_SIZE !== 0 || paddr_end % PMD_SIZE !== 0 || paddr_end <= paddr_start) {
    throw new ModelInvariantError(`init_memory_mapping(0x${paddr_start.toString(16)}, 0x${paddr_end.toString(16)}): the model maps whole 2 MiB ranges`);
  }
  return yield* kernel_physical_mapping_init(k, paddr_start, paddr_end);
}

/**
 * __kernel_physical_mapping_init() → phys_p4d_init() → phys_pud_init(): down the existing upper
 * tables to the PMD table, then phys_pmd_init(). No PGD entry is ever created, so no
 * sync_global_pgds() (mm.ts: kernel PGD entries all exist from boot).
 */
export function* kernel_physical_mapping_init(k: Kernel, paddr_start: Pa, paddr_end: Pa): Sim<boolean> {
  return yield* phys_upper_init(k, k.init_mm.pgd, topLevel(k), paddr_start, paddr_end);
}

function* phys_upper_init(k: Kernel, table: Pa, level: Level, paddr: Pa, paddr_end: Pa): Sim<boolean> {
  const layout = k.layout;
  while (paddr < paddr_end) {
    const va = __va(layout, paddr);
    const next = Number(addr_end(va, __va(layout, paddr_end), level) - layout.PAGE_OFFSET);
    const e = yield* bootTableEntry(k, entry_ptr(table, va, level), level, 'kernel_physical_mapping_init');
    const ok = level === 3 ? yield* phys_pmd_init(k, entry_table(e), paddr, next) : yield* phys_upper_init(k, entry_table(e), (level - 1) as Level, paddr, next);
    if (!ok) return false;
    paddr = next;
  }
  return true;
}

/**
 * phys_pmd_init() for an absent range: each empty PMD entry gets a 2 MiB leaf under the lock, or
 * (directMap4k) a new PTE table from alloc_low_page(), filled by phys_pte_init() before it is
 * linked under the lock.
 */
function* phys_pmd_init(k: Kernel, pmdTable: Pa, paddr: Pa, paddr_end: Pa): Sim<boolean> {
  for (; paddr < paddr_end; paddr += PMD_SIZE) {
    const pmdp = entry_ptr(pmdTable, __va(k.layout, paddr), 2);
    if (!entry_none(yield* pmdp_get(k, pmdp))) {
      throw new ModelInvariantError(`phys_pmd_init: the direct map of absent memory at pa 0x${paddr.toString(16)} is already populated`);
    }
    if (!k.config.directMap4k) {
      yield* locked(k, set_pmd(k, pmdp, mk_entry(paddr, PAGE_KERNEL_LARGE)));
      continue;
    }
    const pte = yield* alloc_low_page(k);
    if (pte === null) return false;
    yield* phys_pte_init(k, pte << PAGE_SHIFT, paddr, paddr + PMD_SIZE);
    yield* locked(k, pmd_populate_kernel(k, pmdp, pte));
  }
  return true;
}

/** phys_pte_init(): a PAGE_KERNEL PTE for each page; an entry found non-empty is kept ("re-use the existing mapping"). */
function* phys_pte_init(k: Kernel, pteTable: Pa, paddr: Pa, paddr_end: Pa): Sim {
  for (; paddr < paddr_end; paddr += PAGE_SIZE) {
    const ptep = entry_ptr(pteTable, __va(k.layout, paddr), 1);
    if (!entry_none(yield* ptep_get(k, ptep))) continue;
    yield* set_pte(k, ptep, mk_entry(paddr, PAGE_KERNEL));
  }
}

/* ---- tearing down (hot-remove) ---- */

/** pte_page(), p4d_page(): the page an entry maps or points to (pmd_page() at every level). */
const pte_page = pmd_page;
const p4d_page = pmd_page;

/** Whether every entry of a table is none: one step reading the table page (the `for (i < PTRS_PER_*)` scan). */
function* table_empty(k: Kernel, table: Pa, label: string): Sim<boolean> {
  yield step(label, 'read', frameOf(table));
  kasan_check(k, table, PAGE_SIZE, false, label);
  for (let i = 0; i < PTRS_PER_TABLE; i++) if (k.mem.read64(table + 8 * i) !== 0n) return false;
  return true;
}

/** free_hugepage_table() (free_vmemmap_pages() after 39406c05f8f1) without an altmap: the 2 MiB block a vmemmap PMD leaf maps. */
function free_hugepage_table(k: Kernel, page: Page): Sim {
  return free_vmemmap_leaf(k, page, PMD_ORDER);
}

/**
 * The two orders free_pte_table()/free_pmd_table()/free_pud_table() can take their actions in:
 * the kernel's (v6.18, v6.19) frees the table and clears the parent entry after, so for a moment a
 * freed table is still linked (docs/kernel/pitfalls.md §11); arm64's hot-remove clears the entry,
 * flushes, and only then frees (docs/kernel/free-sites.md, Hot-remove order).
 */
export type FreeTableOrder = 'free-then-clear' | 'clear-flush-free';

/** Per level of the freed table: the function's name and how it reads, follows and clears the parent entry. */
const EMPTY_TABLE_PARENT = {
  1: { fn: 'free_pte_table', get: pmdp_get, page: pmd_page, clear: pmd_clear },
  2: { fn: 'free_pmd_table', get: pudp_get, page: pud_page, clear: pud_clear },
  3: { fn: 'free_pud_table', get: p4dp_get, page: p4d_page, clear: p4d_clear },
} as const;

/**
 * free_pte_table() (level 1), free_pmd_table() (2) or free_pud_table() (3) in `order`: if the table
 * at `level` holds no entry, free it with free_pagetable(page, 0) and clear `parentp` under
 * init_mm.page_table_lock. 'clear-flush-free' flushes with flush_tlb_all() between the two, since
 * the hook is not told which range the table maps.
 */
export function* free_empty_table(k: Kernel, level: 1 | 2 | 3, table: Pa, parentp: EntryPtr, order: FreeTableOrder): Sim {
  const parent = EMPTY_TABLE_PARENT[level];
  if (!(yield* table_empty(k, table, parent.fn))) return;
  const page = parent.page(yield* parent.get(k, parentp));
  if (order === 'free-then-clear') yield* free_pagetable(k, page, 0);
  yield* locked(k, parent.clear(k, parentp));
  if (order === 'clear-flush-free') {
    yield* flush_tlb_all(k);
    yield* free_pagetable(k, page, 0);
  }
}

export const generic_free_pte_table = (k: Kernel, table: Pa, pmdp: EntryPtr) => free_empty_table(k, 1, table, pmdp, 'free-then-clear');
export const generic_free_pmd_table = (k: Kernel, table: Pa, pudp: EntryPtr) => free_empty_table(k, 2, table, pudp, 'free-then-clear');
/** Called only with 5-level paging (remove_p4d_table()). */
export const generic_free_pud_table = (k: Kernel, table: Pa, p4dp: EntryPtr) => free_empty_table(k, 3, table, p4dp, 'free-then-clear');

export const free_pte_table = (k: Kernel, table: Pa, pmdp: EntryPtr) => k.hooks.free_pte_table(k, table, pmdp);
export const free_pmd_table = (k: Kernel, table: Pa, pudp: EntryPtr) => k.hooks.free_pmd_table(k, table, pudp);
export const free_pud_table = (k: Kernel, table: Pa, p4dp: EntryPtr) => k.hooks.free_pud_table(k, table, p4dp);

/**
 * remove_pte_table(): clear each present PTE in [addr, end) under the lock, freeing the mapped
 * page first for the vmemmap (a 4 KiB memmap page of the base-page fallback); then flush_tlb_all().
 */
function* remove_pte_table(k: Kernel, pteTable: Pa, addr: Va, end: Va, direct: boolean): Sim {
  for (; addr < end; addr = addr_end(addr, end, 1)) {
    const ptep = entry_ptr(pteTable, addr, 1);
    const pte = yield* ptep_get(k, ptep);
    if (!entry_present(pte)) continue;
    if (!direct) yield* free_vmemmap_leaf(k, pte_page(pte), 0);
    yield* locked(k, pte_clear(k, ptep));
  }
  yield* flush_tlb_all(k);
}

/**
 * remove_pmd_table(): a whole 2 MiB leaf is cleared under the lock (for the vmemmap its block is
 * freed first, free_hugepage_table); a PTE table is emptied by remove_pte_table() and then offered
 * to free_pte_table().
 */
function* remove_pmd_table(k: Kernel, pmdTable: Pa, addr: Va, end: Va, direct: boolean): Sim {
  for (let next = addr; addr < end; addr = next) {
    next = addr_end(addr, end, 2);
    const pmdp = entry_ptr(pmdTable, addr, 2);
    const pmd = yield* pmdp_get(k, pmdp);
    if (!entry_present(pmd)) continue;
    if (entry_leaf(pmd)) {
      if (!aligned(addr, PMD_SIZE) || !aligned(next, PMD_SIZE)) {
        throw new ModelInvariantError(`remove_pmd_table: partial 2 MiB leaf [0x${addr.toString(16)}, 0x${next.toString(16)}): sections are whole PMDs`);
      }
      if (!direct) yield* free_hugepage_table(k, pmd_page(pmd));
      yield* locked(k, pmd_clear(k, pmdp));
      continue;
    }
    const pteTable = entry_table(pmd);
    yield* remove_pte_table(k, pteTable, addr, next, direct);
    yield* free_pte_table(k, pteTable, pmdp);
  }
}

function* remove_pud_table(k: Kernel, pudTable: Pa, addr: Va, end: Va, direct: boolean): Sim {
  for (let next = addr; addr < end; addr = next) {
    next = addr_end(addr, end, 3);
    const pudp = entry_ptr(pudTable, addr, 3);
    const pud = yield* pudp_get(k, pudp);
    if (!entry_present(pud)) continue;
    if (entry_leaf(pud)) throw new ModelInvariantError(`remove_pud_table: 1 GiB leaf at 0x${addr.toString(16)}: the model never maps one`);
    const pmdTable = entry_table(pud);
    yield* remove_pmd_table(k, pmdTable, addr, next, direct);
    yield* free_pmd_table(k, pmdTable, pudp);
  }
}

/** remove_p4d_table(); with 4-level paging the P4D is folded into the PGD entry `pgdp`. */
function* remove_p4d_table(k: Kernel, pgdp: EntryPtr, pgd: bigint, addr: Va, end: Va, direct: boolean): Sim {
  const fiveLevel = k.config.pagingLevels === 5;
  for (let next = addr; addr < end; addr = next) {
    next = fiveLevel ? addr_end(addr, end, 4) : end;
    const p4dp = fiveLevel ? entry_ptr(entry_table(pgd), addr, 4) : pgdp;
    const p4d = yield* p4dp_get(k, p4dp);
    if (!entry_present(p4d)) continue;
    const pudTable = entry_table(p4d);
    yield* remove_pud_table(k, pudTable, addr, next, direct);
    // Only 5-level paging frees PUD tables: with 4 levels they hang off the PGD shared by every mm.
    if (fiveLevel) yield* free_pud_table(k, pudTable, p4dp);
  }
}

/** remove_pagetable(start, end, direct): unmap [start, end) of init_mm, free emptied tables, flush_tlb_all(). */
export function* remove_pagetable(k: Kernel, start: Va, end: Va, direct: boolean): Sim {
  for (let next = start, addr = start; addr < end; addr = next) {
    next = addr_end(addr, end, topLevel(k));
    const pgdp = pgd_offset(k, k.init_mm, addr);
    const pgd = yield* pgdp_get(k, pgdp);
    if (!entry_present(pgd)) continue;
    yield* remove_p4d_table(k, pgdp, pgd, addr, next, direct);
  }
  yield* flush_tlb_all(k);
}

/** vmemmap_free(): the memmap's virtual range goes, and the memory behind it. */
export function vmemmap_free(k: Kernel, start: Va, end: Va): Sim {
  return remove_pagetable(k, start, end, false);
}

/** kernel_physical_mapping_remove(): the direct map of [start, end) physical goes; the memory stays. */
export function kernel_physical_mapping_remove(k: Kernel, start: Pa, end: Pa): Sim {
  return remove_pagetable(k, __va(k.layout, start), __va(k.layout, end), true);
}
