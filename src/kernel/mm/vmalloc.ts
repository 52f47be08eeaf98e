/**
 * vmalloc/ioremap space (mm/vmalloc.c, v6.19): mapping a range with vmap_range_noflush(), which maps
 * huge PMD/PUD leaves where size and alignment allow (vmap_try_huge_pmd/pud — freeing a leftover
 * table through pmd_free_pte_page/pud_free_pmd_page), unmapping with vunmap_range_noflush(), which
 * clears leaves but leaves PTE/PMD tables in place, and the lazy purge that flushes the kernel TLB
 * for freed areas later.
 *
 * The address-space allocator is first fit over [VMALLOC_START, VMALLOC_END) with the alignment the
 * caller asks for; a freed area stays reserved ("lazy") until purge_vmap_area_lazy() has flushed
 * its range, as free_vmap_area_noflush() does.
 */
import { PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, PUD_SIZE, levelSize, type Pa, type Va } from '../../hw/address.ts';
import { PAGE_KERNEL, _PAGE_PSE, mk_entry } from '../../hw/index.ts';
import { step, type ObjectId, type Sim } from '../../sim/index.ts';
import { __free_pages, alloc_pages } from './page_alloc.ts';
import { GFP_KERNEL } from '../include/linux/gfp.ts';
import type { Kernel } from '../model/kernel.ts';
import { p4d_alloc, pmd_alloc, pud_alloc, pte_alloc_kernel } from '../include/asm-generic/pgalloc.ts';
import {
  entry_leaf,
  entry_none,
  entry_present,
  p4d_offset,
  pgd_offset,
  pmd_clear,
  pmd_offset,
  pmdp_get,
  pte_clear,
  pte_offset_kernel,
  ptep_get,
  pud_clear,
  pud_offset,
  pudp_get,
  set_pmd,
  set_pte,
  set_pud,
  type EntryPtr,
} from '../arch/x86/include/asm/pgtable.ts';
import type { Page } from '../include/linux/mm_types.ts';
import { flush_tlb_kernel_range } from '../arch/x86/mm/tlb.ts';
import { pmd_free_pte_page, pud_free_pmd_page } from '../arch/x86/mm/pgtable.ts';

export const PMD_SHIFT = 21;
export const PUD_SHIFT = 30;

/** A vmap_area: a reserved range of vmalloc space and, for vmalloc(), the pages behind it. */
export interface VmapArea {
  readonly start: Va;
  readonly end: Va;
  readonly pages: readonly Page[];
  /** Order of each page (0, or 9 for a huge vmalloc). */
  readonly order: number;
  /** busy → lazy (vfree) → purging (taken by one purge, so a concurrent purge cannot take it too) → gone. */
  state: 'busy' | 'lazy' | 'purging';
}

/** The vmalloc space of one kernel: busy and lazily-freed areas, sorted by start. */
export class VmallocSpace {
  readonly areas: VmapArea[] = [];
  constructor(
    readonly start: Va,
    readonly end: Va,
    /** The identity of the vmap_area tree (free_vmap_area_lock / purge_vmap_area_lock in Linux). */
    readonly obj: ObjectId,
  ) {}

  /** alloc_vmap_area(): first fit with `align`; null when the space is exhausted. */
  reserve(size: Va, align: Va, pages: readonly Page[], order: number): VmapArea | null {
    let cursor = this.start;
    for (const a of [...this.areas, null]) {
      const base = ((cursor + align - 1n) / align) * align;
      const limit = a === null ? this.end : a.start;
      if (base + size <= limit) {
        const area: VmapArea = { start: base, end: base + size, pages, order, state: 'busy' };
        this.areas.splice(a === null ? this.areas.length : this.areas.indexOf(a), 0, area);
        return area;
      }
      if (a !== null && a.end > cursor) cursor = a.end;
    }
    return null;
  }

  find(addr: Va): VmapArea | undefined {
    return this.areas.find((a) => a.start === addr && a.state === 'busy');
  }
}

/** The prot of a huge leaf: PAGE_KERNEL with PSE (pgprot_4k_2_large; PAT bits are not modelled). */
const hugeProt = (prot: bigint) => prot | _PAGE_PSE;

function* vmap_pte_range(k: Kernel, pmdp: EntryPtr, addr: Va, end: Va, phys: Pa, prot: bigint): Sim<boolean> {
  for (let a = addr; a < end; a += BigInt(PAGE_SIZE), phys += PAGE_SIZE) {
    const ptep = yield* pte_alloc_kernel(k, pmdp, a);
    if (ptep === null) return false;
    yield* set_pte(k, ptep, mk_entry(phys, prot));
  }
  return true;
}

/**
 * vmap_try_huge_pmd()/vmap_try_huge_pud(): map one leaf if the range is exactly one aligned block,
 * freeing the table a present (non-leaf) entry still points to first.
 */
function* vmap_try_huge(k: Kernel, level: 2 | 3, ptr: EntryPtr, addr: Va, end: Va, phys: Pa, prot: bigint, maxPageShift: number): Sim<boolean> {
  const size = levelSize(level);
  if (maxPageShift < (level === 2 ? PMD_SHIFT : PUD_SHIFT)) return false;
  if (end - addr !== size || addr % size !== 0n || BigInt(phys) % size !== 0n) return false;
  const cur = level === 2 ? yield* pmdp_get(k, ptr) : yield* pudp_get(k, ptr);
  if (entry_present(cur)) {
    // pmd_set_huge()/pud_set_huge() refuse to replace a table; the table must be freed first.
    const freed = level === 2 ? yield* pmd_free_pte_page(k, ptr, addr) : yield* pud_free_pmd_page(k, ptr, addr);
    if (!freed) return false;
  }
  const leaf = mk_entry(phys, hugeProt(prot));
  if (level === 2) yield* set_pmd(k, ptr, leaf);
  else yield* set_pud(k, ptr, leaf);
  return true;
}

/**
 * vmap_range_noflush(): map [addr, end) to [phys, ...) with `prot`, using leaves up to
 * 1 << maxPageShift. Returns false on allocation failure (-ENOMEM).
 */
export function* vmap_range_noflush(k: Kernel, addr: Va, end: Va, phys: Pa, prot: bigint, maxPageShift: number): Sim<boolean> {
  const mm = k.init_mm;
  for (let a = addr; a < end; ) {
    const pudNext = min(end, roundUp(a + 1n, BigInt(PUD_SIZE)));
    const p4dp = yield* p4d_alloc(k, mm, pgd_offset(k, mm, a), a);
    const pudp = p4dp === null ? null : yield* pud_alloc(k, mm, p4dp, a);
    if (pudp === null) return false;
    if (!(yield* vmap_try_huge(k, 3, pudp, a, pudNext, phys, prot, maxPageShift))) {
      for (let b = a; b < pudNext; ) {
        const pmdNext = min(pudNext, roundUp(b + 1n, BigInt(PMD_SIZE)));
        const pmdp = yield* pmd_alloc(k, mm, pudp, b);
        if (pmdp === null) return false;
        const pa = phys + Number(b - a);
        if (!(yield* vmap_try_huge(k, 2, pmdp, b, pmdNext, pa, prot, maxPageShift))) {
          if (!(yield* vmap_pte_range(k, pmdp, b, pmdNext, pa, prot))) return false;
        }
        b = pmdNext;
      }
    }
    phys += Number(pudNext - a);
    a = pudNext;
  }
  return true;
}

/**
 * vunmap_range_noflush(): clear every leaf in [addr, end). Huge leaves are cleared
 * (pmd_clear_huge/pud_clear_huge); PTE and PMD tables stay linked — the leftover tables that a
 * later huge mapping frees through pmd_free_pte_page().
 */
export function* vunmap_range_noflush(k: Kernel, addr: Va, end: Va): Sim {
  const mm = k.init_mm;
  for (let a = addr; a < end; ) {
    const p4dp = yield* p4d_offset(k, pgd_offset(k, mm, a), a);
    const pudp = yield* pud_offset(k, p4dp, a);
    const pud = yield* pudp_get(k, pudp);
    const pudNext = min(end, roundUp(a + 1n, BigInt(PUD_SIZE)));
    if (entry_leaf(pud)) yield* pud_clear(k, pudp);
    else if (!entry_none(pud)) {
      for (let b = a; b < pudNext; ) {
        const pmdNext = min(pudNext, roundUp(b + 1n, BigInt(PMD_SIZE)));
        const pmdp = yield* pmd_offset(k, pudp, b);
        const pmd = yield* pmdp_get(k, pmdp);
        if (entry_leaf(pmd)) yield* pmd_clear(k, pmdp);
        else if (!entry_none(pmd)) {
          for (let c = b; c < pmdNext; c += BigInt(PAGE_SIZE)) {
            const ptep = yield* pte_offset_kernel(k, pmdp, c);
            if (!entry_none(yield* ptep_get(k, ptep))) yield* pte_clear(k, ptep);
          }
        }
        b = pmdNext;
      }
    }
    a = pudNext;
  }
}

/**
 * __vmalloc_node_range() in short: reserve an area, allocate its pages (order 9 blocks with
 * `huge`, as vmalloc_huge() does when the size allows), and map them. Returns the address or null.
 */
export function* vmalloc(k: Kernel, size: number, huge = false): Sim<Va | null> {
  const order = huge && size % PMD_SIZE === 0 ? 9 : 0;
  const pages: Page[] = [];
  for (let i = 0; i < size / (PAGE_SIZE << order); i++) {
    const page = yield* alloc_pages(k, GFP_KERNEL, order);
    if (page === null) return yield* vmalloc_failed(k, size, pages, order, null);
    pages.push(page);
  }
  yield step('alloc_vmap_area', 'write', k.vmalloc.obj);
  const area = k.vmalloc.reserve(BigInt(size), BigInt(order ? PMD_SIZE : PAGE_SIZE), pages, order);
  if (area === null) return yield* vmalloc_failed(k, size, pages, order, null);
  const blockSize = PAGE_SIZE << order;
  for (let i = 0; i < pages.length; i++) {
    const a = area.start + BigInt(i * blockSize);
    const ok = yield* vmap_range_noflush(k, a, a + BigInt(blockSize), pages[i] << PAGE_SHIFT, PAGE_KERNEL, order ? PMD_SHIFT : PAGE_SHIFT);
    if (!ok) return yield* vmalloc_failed(k, size, pages, order, area);
  }
  k.exec.log('pgtable', `vmalloc(${size}) = 0x${area.start.toString(16)}${order ? ' (huge)' : ''}`);
  return area.start;
}

/**
 * __vmalloc_area_node()'s failure path: warn ("vmalloc error: size …", warn_alloc), then give back
 * everything taken so far — the area through vfree() (which unmaps what was mapped and frees the
 * pages), or the pages alone before an area was reserved. Returns null.
 */
function* vmalloc_failed(k: Kernel, size: number, pages: readonly Page[], order: number, area: VmapArea | null): Sim<null> {
  k.exec.log('alloc', `vmalloc error: size ${size}, failed to allocate pages`);
  if (area !== null) yield* vfree(k, area.start);
  else for (const page of pages) yield* __free_pages(k, page, order);
  return null;
}

/**
 * ioremap(): map a physical range into vmalloc space with the largest leaves that fit (x86 allows
 * PUD and PMD leaves for ioremap: arch_vmap_pud/pmd_supported). Aligns the area to the leaf size.
 */
export function* ioremap(k: Kernel, phys: Pa, size: number): Sim<Va | null> {
  const align = size >= PUD_SIZE && phys % PUD_SIZE === 0 ? PUD_SIZE : size >= PMD_SIZE && phys % PMD_SIZE === 0 ? PMD_SIZE : PAGE_SIZE;
  yield step('alloc_vmap_area', 'write', k.vmalloc.obj);
  const area = k.vmalloc.reserve(BigInt(size), BigInt(align), [], 0);
  if (area === null) return null;
  const ok = yield* vmap_range_noflush(k, area.start, area.end, phys, PAGE_KERNEL, PUD_SHIFT);
  k.exec.log('pgtable', `ioremap(0x${phys.toString(16)}, ${size}) = 0x${area.start.toString(16)}`);
  return ok ? area.start : null;
}

/**
 * vfree()/vunmap()/iounmap(): unmap the area (leaving its page tables), free its pages, and leave the
 * range lazy until the next purge (free_vmap_area_noflush). The pages are freed before any TLB
 * flush, as in Linux: no CPU uses the old address again.
 */
export function* vfree(k: Kernel, addr: Va): Sim {
  yield step('find_vmap_area', 'read', k.vmalloc.obj);
  const area = k.vmalloc.find(addr);
  if (area === undefined) {
    k.exec.report('assertion', `WARNING: Trying to vfree() nonexistent vm area (0x${addr.toString(16)})`, []);
    return;
  }
  yield* vunmap_range_noflush(k, area.start, area.end);
  for (const page of area.pages) {
    yield* __free_pages(k, page, area.order);
  }
  yield step('free_vmap_area_noflush', 'write', k.vmalloc.obj);
  area.state = 'lazy';
  k.exec.log('pgtable', `vfree(0x${addr.toString(16)}): unmapped, page tables left in place, range lazy`);
}

/**
 * __purge_vmap_area_lazy(): flush the kernel TLB over all lazily freed areas, then release them.
 * Linux holds the vmap_purge_lock mutex here, so the caller may sleep; only the flush itself runs
 * with preemption disabled, inside flush_tlb_kernel_range() (its per-CPU flush_tlb_info) — which is
 * where Yi Lai's v1 splat fired (<0c6f6b3e-d68d-4deb-963e-6074944afff7@linux.intel.com>:
 * __purge_vmap_area_lazy ← vm_unmap_aliases ← set_memory_nx ← free_initmem), v1 having hooked the
 * IOMMU into that section.
 */
export function* purge_vmap_area_lazy(k: Kernel): Sim {
  yield step('__purge_vmap_area_lazy', 'write', k.vmalloc.obj);
  const lazy = k.vmalloc.areas.filter((a) => a.state === 'lazy');
  if (lazy.length === 0) return;
  // Taken off the purge list in this step (list_replace_init under purge_vmap_area_lock): two CPUs
  // purging at once each release only the areas they took.
  for (const a of lazy) a.state = 'purging';
  const start = lazy.reduce((m, a) => (a.start < m ? a.start : m), lazy[0].start);
  const end = lazy.reduce((m, a) => (a.end > m ? a.end : m), lazy[0].end);
  yield* flush_tlb_kernel_range(k, start, end);
  for (const a of lazy) k.vmalloc.areas.splice(k.vmalloc.areas.indexOf(a), 1);
}

function min(a: Va, b: Va): Va {
  return a < b ? a : b;
}

function roundUp(v: Va, align: Va): Va {
  return ((v + align - 1n) / align) * align;
}
