/**
 * Memory hot-add and hot-remove of one section (mm/memory_hotplug.c add_memory_resource,
 * online_pages, offline_pages, try_remove_memory; mm/sparse.c section_activate/section_deactivate;
 * mm/sparse-vmemmap.c vmemmap_populate_hugepages/basepages, vmemmap_alloc_block;
 * arch/x86/mm/init_64.c arch_add_memory, arch_remove_memory, vmemmap_populate, vmemmap_set_pmd;
 * v6.18/v6.19). docs/kernel/free-sites.md (the free_pagetable rows, Vmemmap blocks) and
 * docs/kernel/pitfalls.md §5, §8, §11. The page-table building and teardown themselves are
 * arch/x86/mm/init_64.ts.
 *
 *   add_memory(k, s)    mem_hotplug_lock
 *     arch_add_memory     init_memory_mapping: direct map of the section (arch/x86/mm/init_64.ts)
 *                         __add_pages → section_activate → vmemmap_populate: the section's memmap
 *     online_pages        the section's frames enter the buddy allocator (ZONE_NORMAL)
 *   remove_memory(k, s) mem_hotplug_lock
 *     offline_pages       every frame must be free in the buddy allocator; they are taken out
 *     arch_remove_memory  __remove_pages → section_deactivate → vmemmap_free, then
 *                         kernel_physical_mapping_remove (arch/x86/mm/init_64.ts)
 *
 * Sections are config.sectionFrames frames (PAGES_PER_SECTION); the top config.hotplugSections
 * of them are absent at boot (model/boot-memory.ts bootPresentFrames). Boot sections are present and may
 * be removed too (if every frame is free), and re-added afterwards.
 *
 * vmemmap, scaled on purpose: section s's memmap lives at VMEMMAP_START + s * PMD_SIZE and is
 * backed by ONE order-9 block mapped by a PMD leaf — what real x86-64 does with 128 MiB sections
 * and 64-byte struct pages (128 MiB / 4 KiB * 64 B = 2 MiB = one PMD of vmemmap per section),
 * while the model's sections stay small. Nothing reads the vmemmap contents (mem_map is
 * PageArray's typed arrays); the mapping exists for the page tables it needs and the memory it
 * pins. Boot sections have no vmemmap mapping (Linux maps theirs with memblock pages at boot; the
 * model does not), so only hot-added sections populate it; the vmemmap PUD table exists from boot
 * (boot.ts). The blocks come from vmemmap_alloc_block(): alloc_pages_node(GFP_KERNEL |
 * __GFP_RETRY_MAYFAIL | __GFP_NOWARN, 9) WITHOUT __GFP_COMP, so compound_order() of a vmemmap
 * block is 0 (docs/kernel/pitfalls.md §8: freeing it with pagetable_free() frees one page and leaks 511). The PMD
 * table under the PUD comes from vmemmap_alloc_block_zero(): the same mask, order 0, zeroed
 * afterwards — unmarked, no ctor, like alloc_low_page()'s tables (docs/kernel/pitfalls.md §5). If no order-9 block
 * is free, vmemmap_populate_hugepages() falls back to base pages, as Linux does: a PTE table and
 * 512 order-0 pages.
 *
 * Modelling choices: mem_hotplug_lock (a percpu rw-semaphore taken for write by every hotplug
 * operation) is a mutex held across the whole add and the whole remove, which also stands for
 * device_hotplug_lock. Onlined memory goes to ZONE_NORMAL, the zone memmap init gave the frames at
 * boot (model/boot-memory.ts checks the hot-pluggable range lies there); ZONE_MOVABLE onlining is not
 * modelled. offline_pages() does no migration: one allocated frame makes it fail with -EBUSY,
 * having changed nothing; the check and the isolation are one step under zone->lock. A removed
 * section's struct pages return to the absent state boot gives them (PageReserved, refcount 1,
 * KASAN shadow reserved). On an allocation failure add_memory() undoes what it did and returns
 * false: the vmemmap through vmemmap_free() as section_activate()'s error path does, and — unlike
 * Linux, whose add_memory_resource() leaves a failed arch_add_memory()'s direct map in place — the
 * direct map through kernel_physical_mapping_remove(), so a failed add leaves the section absent.
 */
import { PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, levelSize, type Pa, type Pfn, type Va } from '../../hw/address.ts';
import { PAGE_KERNEL, PAGE_KERNEL_LARGE, mk_entry } from '../../hw/index.ts';
import { ModelInvariantError, step, type Sim } from '../../sim/index.ts';
import { bootPresentFrames } from '../model/boot-memory.ts';
import { MAX_PAGE_ORDER, __free_pages_core, alloc_pages, page_zone, type Zone } from './page_alloc.ts';
import { GFP_KERNEL, __GFP_NOWARN, __GFP_RETRY_MAYFAIL, formatGfp } from '../include/linux/gfp.ts';
import { get_order } from '../include/asm-generic/getorder.ts';
import type { Kernel, SyncCore } from '../model/kernel.ts';
import { INIT_LIST_HEAD, list_add, list_del } from '../include/linux/list.ts';
import { mutex_init, mutex_lock, mutex_unlock, type mutex } from '../kernel/locking/mutex.ts';
import { PageBuddy, SHADOW_RESERVED, __ClearPageBuddy, __SetPageBuddy, __SetPageReserved } from '../include/linux/mm_types.ts';
import {
  entry_leaf,
  entry_none,
  p4d_offset,
  p4d_populate,
  p4dp_get,
  pgd_offset,
  pgdp_get,
  pmd_offset,
  pmd_populate_kernel,
  pmdp_get,
  pte_offset_kernel,
  ptep_get,
  pud_offset,
  pud_populate,
  pudp_get,
  set_pmd,
  set_pte,
  type EntryPtr,
} from '../arch/x86/include/asm/pgtable.ts';
import { __mod_zone_page_state } from './vmstat.ts';
import { init_memory_mapping, kernel_physical_mapping_remove, vmemmap_free } from '../arch/x86/mm/init_64.ts';

/** The hotplug state boot() builds for each kernel. */
export interface MemoryHotplug {
  /** mem_hotplug_lock, held across a whole add_memory() or remove_memory(). */
  readonly mem_hotplug_lock: mutex;
  /** Per section: 1 while present (boot memory, or added and online), 0 while absent. Under mem_hotplug_lock. */
  readonly present: Uint8Array;
}

/** The hotplug state of a kernel being booted: whole sections below bootPresentFrames() are present. */
export function memory_hotplug_init(k: Pick<SyncCore, 'exec' | 'lockdep' | 'config'>): MemoryHotplug {
  const { frames, sectionFrames } = k.config;
  const present = new Uint8Array(Math.floor(frames / sectionFrames));
  present.fill(1, 0, Math.floor(bootPresentFrames(k.config) / sectionFrames));
  return { mem_hotplug_lock: mutex_init(k, 'mem_hotplug_lock'), present };
}

/** The first frame of section `s`. */
export function section_start_pfn(k: Kernel, s: number): Pfn {
  return s * k.config.sectionFrames;
}

/** Where section `s`'s memmap is mapped: VMEMMAP_START + s * PMD_SIZE (the scaling in the header). */
export function section_vmemmap(k: Kernel, s: number): Va {
  return k.layout.VMEMMAP_START + BigInt(s) * BigInt(PMD_SIZE);
}

function checkSection(k: Kernel, s: number, fn: string): void {
  if (!Number.isInteger(s) || s < 0 || s >= k.memory_hotplug.present.length) {
    throw new ModelInvariantError(`${fn}(${s}): no such section (memory has ${k.memory_hotplug.present.length} whole ${k.config.sectionFrames}-frame sections)`);
  }
}

/* ---- hot-add ---- */

/**
 * add_memory() → add_memory_resource() for section `s`, onlined at once (as with
 * memhp_default_state=online). False if the section is already present (-EEXIST, the resource is
 * busy) or an allocation failed (-ENOMEM; everything undone, see the header).
 */
export function* add_memory(k: Kernel, s: number): Sim<boolean> {
  checkSection(k, s, 'add_memory');
  const hp = k.memory_hotplug;
  yield* mutex_lock(k, hp.mem_hotplug_lock);
  let added = false;
  if (hp.present[s]) {
    k.exec.log('note', `add_memory: section ${s} is already present (-EEXIST)`);
  } else if (yield* arch_add_memory(k, s)) {
    yield* online_pages(k, section_start_pfn(k, s), k.config.sectionFrames);
    hp.present[s] = 1;
    added = true;
  }
  yield* mutex_unlock(k, hp.mem_hotplug_lock);
  return added;
}

/** arch_add_memory() (x86): init_memory_mapping(), then add_pages() → __add_pages() → section_activate(). */
function* arch_add_memory(k: Kernel, s: number): Sim<boolean> {
  const start: Pa = section_start_pfn(k, s) * PAGE_SIZE;
  const end: Pa = start + k.config.sectionFrames * PAGE_SIZE;
  if (!(yield* init_memory_mapping(k, start, end))) {
    yield* kernel_physical_mapping_remove(k, start, end);
    return false;
  }
  const vstart = section_vmemmap(k, s);
  const vend = vstart + BigInt(PMD_SIZE);
  if (!(yield* vmemmap_populate(k, vstart, vend))) {
    yield* vmemmap_free(k, vstart, vend);
    yield* kernel_physical_mapping_remove(k, start, end);
    return false;
  }
  return true;
}

/**
 * vmemmap_populate() (x86): a memmap range of a whole section with PSE goes to
 * vmemmap_populate_hugepages() (the base-page branch is for sub-section ranges, which the model
 * does not add). No sync_global_pgds(): no PGD entry changes.
 */
function vmemmap_populate(k: Kernel, start: Va, end: Va): Sim<boolean> {
  return vmemmap_populate_hugepages(k, start, end);
}

/**
 * vmemmap_alloc_block() after boot: alloc_pages_node(GFP_KERNEL | __GFP_RETRY_MAYFAIL |
 * __GFP_NOWARN, get_order(size)) — no __GFP_COMP, no mark. Linux warns once on failure
 * (warn_alloc). Every vmemmap table and block comes from here (the vmemmap_alloc_block hook).
 */
export function* generic_vmemmap_alloc_block(k: Kernel, size: number): Sim<Pfn | null> {
  const gfp = GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_NOWARN;
  const order = get_order(size);
  const page = yield* alloc_pages(k, gfp, order);
  if (page === null && k.exec.tracing) k.exec.log('alloc', `vmemmap alloc failure: order:${order}, mode:${formatGfp(gfp & ~__GFP_NOWARN)}`);
  return page;
}

export const vmemmap_alloc_block = (k: Kernel, size: number) => k.hooks.vmemmap_alloc_block(k, size);

/** vmemmap_alloc_block_zero(): vmemmap_alloc_block() then memset(0), a step per frame. */
function* vmemmap_alloc_block_zero(k: Kernel, size: number): Sim<Pfn | null> {
  const page = yield* vmemmap_alloc_block(k, size);
  if (page === null) return null;
  for (let i = 0; i < size / PAGE_SIZE; i++) {
    yield step('memset', 'write', page + i);
    k.mem.zeroFrame(page + i);
  }
  return page;
}

/** vmemmap_alloc_block_buf() without an altmap, after boot: sparse_buffer_alloc() has nothing left, so vmemmap_alloc_block(). */
function vmemmap_alloc_block_buf(k: Kernel, size: number): Sim<Pfn | null> {
  return vmemmap_alloc_block(k, size);
}

/**
 * vmemmap_pgd/p4d/pud/pmd_populate(): if the entry is empty, a zeroed page from
 * vmemmap_alloc_block_zero() is linked there (pmd_init/pud_init/kernel_pte_init are no-ops on
 * x86). No lock: mem_hotplug_lock serialises vmemmap changes. False if the allocation failed.
 */
function* vmemmap_table_populate(k: Kernel, entry: EntryPtr, read: (k: Kernel, p: EntryPtr) => Sim<bigint>, link: (k: Kernel, p: EntryPtr, pt: Pfn) => Sim): Sim<boolean> {
  if (!entry_none(yield* read(k, entry))) return true;
  const p = yield* vmemmap_alloc_block_zero(k, PAGE_SIZE);
  if (p === null) return false;
  yield* link(k, entry, p);
  return true;
}

/**
 * vmemmap_pgd_populate() → vmemmap_p4d_populate() → vmemmap_pud_populate(): the PUD entry for
 * `addr`, with a PMD table below it (allocating the PUD table first with 5-level paging, where
 * free_pud_table() may have freed it). The PGD entry always exists (boot.ts); with 4-level paging
 * the P4D is that PGD entry. Null if an allocation failed.
 */
function* vmemmap_pud_populate(k: Kernel, addr: Va): Sim<EntryPtr | null> {
  const pgdp = pgd_offset(k, k.init_mm, addr);
  if (entry_none(yield* pgdp_get(k, pgdp))) throw new ModelInvariantError('vmemmap_pgd_populate: the vmemmap PGD entry is built at boot');
  const p4dp = yield* p4d_offset(k, pgdp, addr);
  if (!(yield* vmemmap_table_populate(k, p4dp, p4dp_get, p4d_populate))) return null;
  const pudp = yield* pud_offset(k, p4dp, addr);
  if (!(yield* vmemmap_table_populate(k, pudp, pudp_get, pud_populate))) return null;
  return pudp;
}

/**
 * vmemmap_populate_hugepages(): per PMD of [start, end), an empty PMD entry gets an order-9 block
 * from vmemmap_alloc_block_buf(PMD_SIZE) mapped by a PMD leaf (vmemmap_set_pmd); if that
 * allocation fails (no altmap) the PMD falls back to vmemmap_populate_basepages().
 */
function* vmemmap_populate_hugepages(k: Kernel, start: Va, end: Va): Sim<boolean> {
  for (let addr = start, next = start; addr < end; addr = next) {
    next = pmd_addr_end(addr, end);
    const pudp = yield* vmemmap_pud_populate(k, addr);
    if (pudp === null) return false;
    const pmdp = yield* pmd_offset(k, pudp, addr);
    const pmd = yield* pmdp_get(k, pmdp);
    if (entry_none(pmd)) {
      const p = yield* vmemmap_alloc_block_buf(k, PMD_SIZE);
      if (p !== null) {
        yield* vmemmap_set_pmd(k, pmdp, p);
        continue;
      }
    } else if (entry_leaf(pmd)) {
      continue; // vmemmap_check_pmd(): already a leaf
    }
    if (!(yield* vmemmap_populate_basepages(k, addr, next))) return false;
  }
  return true;
}

/** vmemmap_set_pmd() (x86): set_pmd() with PAGE_KERNEL_LARGE, no lock. */
function vmemmap_set_pmd(k: Kernel, pmdp: EntryPtr, p: Pfn): Sim {
  return set_pmd(k, pmdp, mk_entry(p << PAGE_SHIFT, PAGE_KERNEL_LARGE));
}

/**
 * vmemmap_populate_basepages() → vmemmap_populate_range() → vmemmap_populate_address() per page:
 * the PUD entry, a PTE table under the PMD (vmemmap_pmd_populate), a page under the PTE
 * (vmemmap_pte_populate: vmemmap_alloc_block_buf(PAGE_SIZE), PAGE_KERNEL).
 */
function* vmemmap_populate_basepages(k: Kernel, start: Va, end: Va): Sim<boolean> {
  for (let addr = start; addr < end; addr += BigInt(PAGE_SIZE)) {
    const pudp = yield* vmemmap_pud_populate(k, addr);
    if (pudp === null) return false;
    const pmdp = yield* pmd_offset(k, pudp, addr);
    if (!(yield* vmemmap_table_populate(k, pmdp, pmdp_get, pmd_populate_kernel))) return false;
    const ptep = yield* pte_offset_kernel(k, pmdp, addr);
    if (!entry_none(yield* ptep_get(k, ptep))) continue;
    const p = yield* vmemmap_alloc_block_buf(k, PAGE_SIZE);
    if (p === null) return false;
    yield* set_pte(k, ptep, mk_entry(p << PAGE_SHIFT, PAGE_KERNEL));
  }
  return true;
}

function pmd_addr_end(addr: Va, end: Va): Va {
  const size = levelSize(2);
  const boundary = (addr + size) & ~(size - 1n);
  return boundary - 1n < end - 1n ? boundary : end;
}

/**
 * online_pages() → online_pages_range() → generic_online_page() → __free_pages_core(MEMINIT_HOTPLUG):
 * the frames go to the buddy allocator in the largest aligned blocks that fit, each under
 * zone->lock (a step). __free_pages_core() clears PageReserved, drops the memmap-init reference and
 * adds the pages to zone->managed_pages.
 */
function* online_pages(k: Kernel, start_pfn: Pfn, nr_pages: number): Sim {
  const end = start_pfn + nr_pages;
  const zone = page_zone(k, start_pfn);
  if (zone === null || start_pfn < zone.start_pfn || end > zone.end_pfn) {
    throw new ModelInvariantError(`online_pages: pfn 0x${start_pfn.toString(16)}+${nr_pages} is not inside one zone (boot-memory.ts keeps hot-pluggable memory in ZONE_NORMAL)`);
  }
  for (let pfn = start_pfn; pfn < end; ) {
    let order = Math.min(MAX_PAGE_ORDER, 31 - Math.clz32(pfn & -pfn));
    while (pfn + (1 << order) > end) order--;
    yield step('__free_pages_core', 'write', zone.lock);
    __free_pages_core(k, pfn, order);
    pfn += 1 << order;
  }
  if (k.exec.tracing) k.exec.log('alloc', `online_pages: pfn 0x${start_pfn.toString(16)}-0x${(end - 1).toString(16)} to zone ${zone.name}`);
}

/* ---- hot-remove ---- */

/**
 * remove_memory() of section `s` after offlining it (offline_and_remove_memory()). False if the
 * section is absent (-EINVAL) or a frame is in use (-EBUSY); nothing changes then.
 */
export function* remove_memory(k: Kernel, s: number): Sim<boolean> {
  checkSection(k, s, 'remove_memory');
  const hp = k.memory_hotplug;
  yield* mutex_lock(k, hp.mem_hotplug_lock);
  let removed = false;
  if (!hp.present[s]) {
    k.exec.log('note', `remove_memory: section ${s} is not present (-EINVAL)`);
  } else if (yield* offline_pages(k, section_start_pfn(k, s), k.config.sectionFrames)) {
    yield* arch_remove_memory(k, s);
    hp.present[s] = 0;
    removed = true;
  }
  yield* mutex_unlock(k, hp.mem_hotplug_lock);
  return removed;
}

/**
 * offline_pages() without migration: the range must lie in one zone (else -EINVAL); under
 * zone->lock, every frame must be in a free buddy block (test_pages_isolated), else -EBUSY with
 * nothing changed; then __offline_isolated_pages() takes
 * the blocks off the free lists (a block reaching outside the section gives its outside part back,
 * as break_down_buddy_pages() does), adjust_managed_page_count(-nr_pages), and the struct pages
 * return to the absent state.
 */
function* offline_pages(k: Kernel, start_pfn: Pfn, nr_pages: number): Sim<boolean> {
  const end = start_pfn + nr_pages;
  const zone = page_zone(k, start_pfn);
  if (zone === null || start_pfn < zone.start_pfn || end > zone.end_pfn) {
    // test_pages_in_a_zone(): "mhp: memory range spans zones", -EINVAL.
    k.exec.log('note', `offline_pages: pfn 0x${start_pfn.toString(16)}-0x${(end - 1).toString(16)} spans zones (-EINVAL)`);
    return false;
  }
  yield step('offline_pages', 'write', zone.lock);
  const heads: Pfn[] = [];
  for (let pfn = start_pfn; pfn < end; ) {
    const head = free_block_head(k, pfn);
    if (head < 0) {
      if (k.exec.tracing) k.exec.log('alloc', `offline_pages: pfn 0x${pfn.toString(16)} is in use (-EBUSY)`);
      return false;
    }
    heads.push(head);
    pfn = head + (1 << k.pages.private[head]);
  }
  for (const head of heads) take_block_off_buddy(k, zone, head, start_pfn, end);
  zone.managed_pages -= nr_pages;
  for (let pfn = start_pfn; pfn < end; pfn++) {
    __SetPageReserved(k.pages, pfn);
    k.pages.refcount[pfn] = 1;
    k.pages.shadow[pfn] = SHADOW_RESERVED;
    INIT_LIST_HEAD(k.lists, pfn);
  }
  if (k.exec.tracing) k.exec.log('alloc', `offline_pages: pfn 0x${start_pfn.toString(16)}-0x${(end - 1).toString(16)} taken from zone ${zone.name}`);
  return true;
}

/** The head of the free buddy block that holds `pfn`, or -1 (is_free_buddy_page()). */
function free_block_head(k: Kernel, pfn: Pfn): Pfn {
  for (let order = 0; order <= MAX_PAGE_ORDER; order++) {
    const head = pfn & ~((1 << order) - 1);
    if (PageBuddy(k.pages, head) && k.pages.private[head] >= order) return head;
  }
  return -1;
}

/** del_page_from_free_list(), then the parts of the block outside [start, end) go back to the free lists. */
function take_block_off_buddy(k: Kernel, zone: Zone, head: Pfn, start: Pfn, end: Pfn): void {
  const order = k.pages.private[head];
  list_del(k.lists, head);
  __ClearPageBuddy(k, head);
  k.pages.private[head] = 0;
  zone.free_area[order].nr_free--;
  __mod_zone_page_state(k, zone, 'NR_FREE_PAGES', -(1 << order));
  give_back_outside(k, zone, head, order, start, end);
}

/**
 * The halves of a block that lie wholly outside [start, end) go back on the free lists unmerged
 * (their buddies hold section frames, so none can merge); halves that straddle are split further.
 */
function give_back_outside(k: Kernel, zone: Zone, page: Pfn, order: number, start: Pfn, end: Pfn): void {
  const nr = 1 << order;
  if (page >= start && page + nr <= end) return;
  if (page + nr <= start || page >= end) {
    list_add(k.lists, page, zone.free_area[order].free_list);
    zone.free_area[order].nr_free++;
    k.pages.private[page] = order;
    __SetPageBuddy(k, page);
    __mod_zone_page_state(k, zone, 'NR_FREE_PAGES', nr);
    return;
  }
  give_back_outside(k, zone, page, order - 1, start, end);
  give_back_outside(k, zone, page + nr / 2, order - 1, start, end);
}

/** arch_remove_memory() (x86): __remove_pages() → section_deactivate() → vmemmap_free(), then kernel_physical_mapping_remove(). */
function* arch_remove_memory(k: Kernel, s: number): Sim {
  const vstart = section_vmemmap(k, s);
  yield* vmemmap_free(k, vstart, vstart + BigInt(PMD_SIZE));
  const start: Pa = section_start_pfn(k, s) * PAGE_SIZE;
  yield* kernel_physical_mapping_remove(k, start, start + k.config.sectionFrames * PAGE_SIZE);
}
