/**
 * The page allocator (mm/page_alloc.c, include/linux/gfp.h, include/linux/mm.h; v6.18/v6.19):
 * alloc_pages/__free_pages with the buddy free lists, the checks at allocation (check_new_page) and
 * at free (free_pages_prepare), non-compound high-order blocks, __GFP_COMP, split_page.
 * docs/kernel/page-flags-and-allocator.md.
 *
 * Semantics kept exactly:
 *  - prep_new_page() gives a reference to the first page only. A non-compound order-N block's other
 *    pages have refcount 0, so __free_page() on one of them hits put_page_testzero()'s
 *    VM_BUG_ON_PAGE(page_ref_count(page) == 0) — unless split_page() gave each its own reference.
 *  - __free_pages(page, order): if the put drops the last reference the whole block is freed;
 *    otherwise, for a non-compound page only, the sub-blocks page + (1 << o), o = order-1 .. 0, are
 *    freed without any refcount check and the first page stays with its holder. The order is never
 *    checked against the allocation's, except for compound pages (VM_BUG_ON_PAGE in
 *    free_pages_prepare).
 *  - free_pages_prepare() checks each page (nonzero mapcount / _refcount, PAGE_FLAGS_CHECK_AT_FREE
 *    flags, compound tail consistency), then clears PAGE_FLAGS_CHECK_AT_PREP: every flag below
 *    NR_PAGEFLAGS (PG_referenced = PT_kernel included) is wiped, a bit at or above NR_PAGEFLAGS
 *    survives into the next allocation. A page that fails a check is reported ("BUG: Bad page
 *    state") and leaked, as in Linux. Since v6.17 a leftover page type (a page still PGTY_table) is
 *    silently reset on the head page (commit "mm/page_alloc: let page freeing clear any set page
 *    type"), so freeing a page table without its dtor is NOT a bad page in v6.19: it shows up only
 *    as NR_PAGETABLE that is never given back (vmstat.ts).
 *  - CONFIG_DEBUG_VM=y (VM_BUG_ON_PAGE reports) and CONFIG_PAGE_POISONING (freed frames filled
 *    with PAGE_POISON 0xaa, so a stale walk of a freed table reads poison, not the old entries).
 *
 * Steps: taking a zone's lock is one step on `zone.lock`; the put of a reference is a step on the
 * page; poisoning and __GFP_ZERO clearing write each frame after a step on that frame (the IOMMU
 * and CPUs may be reading it through stale caches).
 *
 * Simplifications (documented, deliberate): one node, one migratetype, no per-CPU page lists (every
 * free goes straight to the buddy lists, so the next allocation of that order gets it back unless
 * it merged), no watermarks or reclaim (an allocation fails only when no block is free), no
 * compaction, no page_owner/memcg/alloc tags. Frames free at boot are not poisoned (they read 0).
 * A "double free" that reaches free_pages_prepare() through the non-head sub-block path of
 * __free_pages() (where Linux checks no refcount and would corrupt its free lists silently) is
 * reported as a bad page by a model check, so the model's own free lists stay consistent.
 */
import type { Pfn } from '../../hw/address.ts';
import { step, type ObjectId, type Sim, ModelInvariantError } from '../../sim/index.ts';
import { __GFP_COMP, __GFP_DMA, __GFP_DMA32, __GFP_HIGHMEM, __GFP_MOVABLE, __GFP_NOWARN, __GFP_ZERO, formatGfp, gfpflags_allow_blocking, type gfp_t } from '../include/linux/gfp.ts';
import type { MemoryCore } from '../model/kernel.ts';
import { list_add, list_add_tail, list_del, list_empty, list_first, walkList, type ListHead } from '../include/linux/list.ts';
import { might_sleep } from '../kernel/sched/core.ts';
import {
  __ClearPageBuddy,
  __SetPageBuddy,
  __SetPageHead,
  ClearPageReserved,
  PageBuddy,
  PageCompound,
  PageHead,
  PageTail,
  SHADOW_ALLOCATED,
  SHADOW_FREE,
  VM_BUG_ON_PAGE,
  compound_head,
  contextLines,
  current_comm,
  dump_page,
  page_cpupid_reset_last,
  page_has_type,
  page_zonenum,
  type Page,
  type PageArray,
} from '../include/linux/mm_types.ts';
import { PAGE_TYPE_NONE, type FlagsMask } from '../include/linux/page-flags.ts';
import { __mod_zone_page_state, global_zone_page_state, zone_page_state } from './vmstat.ts';
import { kasan_save_alloc_info, kasan_save_free_info } from './kasan/generic.ts';

export const MAX_PAGE_ORDER = 10;
export const NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;

/* enum zone_type on x86-64 (ZONE_DMA and ZONE_MOVABLE exist in Linux but hold no memory here). */
export const ZONE_DMA = 0;
export const ZONE_DMA32 = 1;
export const ZONE_NORMAL = 2;
export const ZONE_MOVABLE = 3;

/** PAGE_POISON (include/linux/poison.h): what CONFIG_PAGE_POISONING fills freed frames with. */
export const PAGE_POISON = 0xaa;

export interface FreeArea {
  /** Heads of free blocks of this order, linked through the head page's lru (buddy_list). */
  readonly free_list: ListHead;
  nr_free: number;
}

export interface Zone {
  readonly name: string;
  readonly zone_idx: number;
  readonly node: number;
  /** zone_start_pfn; the zone spans [start_pfn, end_pfn). */
  readonly start_pfn: Pfn;
  readonly end_pfn: Pfn;
  /** free_area[order] for order 0..MAX_PAGE_ORDER. */
  readonly free_area: readonly FreeArea[];
  /** zone->lock: the identity of the allocator's steps on this zone. */
  readonly lock: ObjectId;
  /** Pages handed to the buddy allocator (boot frees, free_reserved_page). */
  managed_pages: number;
}

/** FPI_TO_TAIL: boot-time frees go to the tail of the free lists (__free_pages_core). */
const FPI_NONE = 0;
const FPI_TO_TAIL = 1;
type FpiFlags = typeof FPI_NONE | typeof FPI_TO_TAIL;

/* ---- helpers on struct page ---- */

/** compound_order(): 0 unless PageHead. */
export function compound_order(pages: PageArray, page: Page): number {
  return PageHead(pages, page) ? pages.compoundOrder[page] : 0;
}

/** compound_nr(): pages in the compound page (1 for a non-compound page). */
export function compound_nr(pages: PageArray, page: Page): number {
  return 1 << compound_order(pages, page);
}

function flagsAnd(pages: PageArray, page: Page, m: FlagsMask): boolean {
  return (pages.flagsLo[page] & m.lo) !== 0 || (pages.flagsHi[page] & m.hi) !== 0;
}

function clearFlags(pages: PageArray, page: Page, m: FlagsMask): void {
  pages.flagsLo[page] &= ~m.lo;
  pages.flagsHi[page] &= ~m.hi;
}

/**
 * page_zone(): the zone page->flags names, or null if it names none (only a corrupted zone field
 * does that: the model builds no empty zones).
 */
export function page_zone(k: MemoryCore, page: Page): Zone | null {
  const idx = page_zonenum(k.pages, page);
  for (const z of k.zones) if (z.zone_idx === idx) return z;
  return null;
}

/**
 * The zone a block is freed into, from page->flags as in Linux; a block outside that zone's span
 * (a corrupted zone field) is __free_one_page()'s VM_BUG_ON_PAGE(bad_range(zone, page)).
 */
function free_zone(k: MemoryCore, page: Page, order: number): Zone | null {
  const zone = page_zone(k, page);
  if (zone === null || page < zone.start_pfn || page + (1 << order) > zone.end_pfn) {
    VM_BUG_ON_PAGE(k, page, 'bad_range(zone, page)', 'mm/page_alloc.c', '__free_one_page');
    return null;
  }
  return zone;
}

function checkBlock(k: MemoryCore, page: Page, order: number, fn: string): void {
  if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
    throw new ModelInvariantError(`${fn}: order ${order} outside 0..${MAX_PAGE_ORDER}`);
  }
  if (!Number.isInteger(page) || page < 0 || page + (1 << order) > k.pages.frames) {
    throw new ModelInvariantError(`${fn}: pfn ${page} order ${order} is not a block of memory`);
  }
}

/* ---- bad pages ---- */

/**
 * bad_page(): "BUG: Bad page state in process <comm>  pfn:<%05lx>" with the page dump. Leaves the
 * page's fields for debugging except PageBuddy, as Linux does.
 */
export function bad_page(k: MemoryCore, page: Page, reason: string): void {
  k.exec.report('bad-page', `BUG: Bad page state in process ${current_comm(k.exec)}  pfn:${page.toString(16).padStart(5, '0')}`, [
    ...dump_page(k.pages, page, reason),
    ...contextLines(k.exec),
  ]);
  if (PageBuddy(k.pages, page)) __ClearPageBuddy(k, page);
}

/** page_bad_reason(): later checks override earlier ones, as in Linux. */
function page_bad_reason(pages: PageArray, page: Page, check: FlagsMask, atPrep: boolean): string {
  let reason = 'unknown';
  if (pages.mapcount[page] !== -1) reason = 'nonzero mapcount';
  if (pages.refcount[page] !== 0) reason = 'nonzero _refcount';
  if (flagsAnd(pages, page, check)) reason = atPrep ? 'PAGE_FLAGS_CHECK_AT_PREP flag(s) set' : 'PAGE_FLAGS_CHECK_AT_FREE flag(s) set';
  if (flagsAnd(pages, page, pages.layout.__PG_HWPOISON)) reason = 'HWPoisoned (hardware-corrupted)';
  return reason;
}

/** page_expected_state(): no mapcount, no references, none of `check` set. */
function page_expected_state(pages: PageArray, page: Page, check: FlagsMask): boolean {
  return pages.mapcount[page] === -1 && pages.refcount[page] === 0 && !flagsAnd(pages, page, check);
}

/** free_page_is_bad(): reports and returns true if `page` may not be freed. */
function free_page_is_bad(k: MemoryCore, page: Page): boolean {
  const check = k.pages.layout.PAGE_FLAGS_CHECK_AT_FREE;
  if (page_expected_state(k.pages, page, check)) return false;
  bad_page(k, page, page_bad_reason(k.pages, page, check, false));
  return true;
}

/** check_new_page(): true if `page` must not be handed out (reported, except hwpoisoned pages). */
function check_new_page(k: MemoryCore, page: Page): boolean {
  const L = k.pages.layout;
  if (page_expected_state(k.pages, page, L.PAGE_FLAGS_CHECK_NEW)) return false;
  if (flagsAnd(k.pages, page, L.__PG_HWPOISON)) {
    // check_new_page_bad(): don't complain about hwpoisoned pages, just don't use them.
    if (PageBuddy(k.pages, page)) __ClearPageBuddy(k, page);
    return true;
  }
  bad_page(k, page, page_bad_reason(k.pages, page, L.PAGE_FLAGS_CHECK_AT_PREP, true));
  return true;
}

function check_new_pages(k: MemoryCore, page: Page, order: number): boolean {
  for (let i = 0; i < 1 << order; i++) if (check_new_page(k, page + i)) return true;
  return false;
}

/* ---- free lists (zone->lock held) ---- */

function set_buddy_order(k: MemoryCore, page: Page, order: number): void {
  k.pages.private[page] = order;
  __SetPageBuddy(k, page);
}

function __add_to_free_list(k: MemoryCore, page: Page, zone: Zone, order: number, tail: boolean): void {
  const area = zone.free_area[order];
  if (tail) list_add_tail(k.lists, page, area.free_list);
  else list_add(k.lists, page, area.free_list);
  area.nr_free++;
}

function __del_page_from_free_list(k: MemoryCore, page: Page, zone: Zone, order: number): void {
  list_del(k.lists, page);
  __ClearPageBuddy(k, page);
  k.pages.private[page] = 0;
  zone.free_area[order].nr_free--;
}

/** page_is_buddy(): `buddy` heads a free block of exactly `order` in the same zone. */
function page_is_buddy(k: MemoryCore, zone: Zone, buddy: Pfn, order: number): boolean {
  const pages = k.pages;
  if (buddy < zone.start_pfn || buddy >= zone.end_pfn) return false;
  if (!PageBuddy(pages, buddy) || pages.private[buddy] !== order) return false;
  if (pages.refcount[buddy] !== 0) {
    VM_BUG_ON_PAGE(k, buddy, 'page_count(buddy) != 0', 'mm/internal.h', 'page_is_buddy');
    return false;
  }
  return true;
}

/** buddy_merge_likely(): put the block at the tail if its buddy's higher-order buddy is free. */
function buddy_merge_likely(k: MemoryCore, zone: Zone, pfn: Pfn, buddyPfn: Pfn, order: number): boolean {
  if (order >= MAX_PAGE_ORDER - 1) return false;
  const higher = buddyPfn & pfn;
  return page_is_buddy(k, zone, higher ^ (1 << (order + 1)), order + 1);
}

/** __free_one_page(): merge with free buddies up to MAX_PAGE_ORDER and put the result on a free list. */
function __free_one_page(k: MemoryCore, page: Page, zone: Zone, order: number, fpi: FpiFlags): void {
  __mod_zone_page_state(k, zone, 'NR_FREE_PAGES', 1 << order);
  let pfn = page;
  let buddyPfn = 0;
  while (order < MAX_PAGE_ORDER) {
    buddyPfn = pfn ^ (1 << order);
    if (!page_is_buddy(k, zone, buddyPfn, order)) break;
    __del_page_from_free_list(k, buddyPfn, zone, order);
    pfn &= buddyPfn;
    order++;
  }
  set_buddy_order(k, pfn, order);
  const toTail = fpi === FPI_TO_TAIL || buddy_merge_likely(k, zone, pfn, buddyPfn, order);
  __add_to_free_list(k, pfn, zone, order, toTail);
}

/** expand(): split a block down to `low`, lower half kept, upper halves back on the free lists. */
function expand(k: MemoryCore, zone: Zone, page: Page, low: number, high: number): number {
  let added = 0;
  while (high > low) {
    high--;
    const size = 1 << high;
    __add_to_free_list(k, page + size, zone, high, false);
    set_buddy_order(k, page + size, high);
    added += size;
  }
  return added;
}

/** __rmqueue_smallest(): the first block of the smallest order >= `order` that has one. */
function __rmqueue_smallest(k: MemoryCore, zone: Zone, order: number): Page | null {
  for (let cur = order; cur < NR_PAGE_ORDERS; cur++) {
    const area = zone.free_area[cur];
    if (list_empty(k.lists, area.free_list)) continue;
    const page = list_first(k.lists, area.free_list);
    if (page < 0 || page >= k.pages.frames) {
      k.exec.report('list-corruption', `free_list of zone ${zone.name} order ${cur} points to ${k.lists.describe(page)}`, contextLines(k.exec));
      continue;
    }
    __del_page_from_free_list(k, page, zone, cur);
    const added = expand(k, zone, page, order, cur);
    __mod_zone_page_state(k, zone, 'NR_FREE_PAGES', -((1 << cur) - added));
    return page;
  }
  return null;
}

/** rmqueue_buddy(): a block that passes check_new_pages (bad ones are reported and leaked). */
function rmqueue(k: MemoryCore, zone: Zone, order: number): Page | null {
  for (;;) {
    const page = __rmqueue_smallest(k, zone, order);
    if (page === null || !check_new_pages(k, page, order)) return page;
  }
}

/** prep_new_page() minus the clearing: one reference on the first page, compound setup, KASAN unpoison. */
function prep_new_page(k: MemoryCore, page: Page, order: number, gfp: gfp_t): void {
  const pages = k.pages;
  const nr = 1 << order;
  for (let i = 0; i < nr; i++) {
    pages.shadow[page + i] = SHADOW_ALLOCATED;
    pages.ptlock[page + i] = 0;
  }
  pages.private[page] = 0;
  pages.refcount[page] = 1;
  if (order > 0 && (gfp & __GFP_COMP) !== 0) prep_compound_page(pages, page, order);
  kasan_save_alloc_info(k, page, order);
  for (const o of k.observers) o.pagesAllocated?.(page, order);
}

/** prep_compound_page(): PG_head on the head, compound_head on every tail, the order on the head. */
function prep_compound_page(pages: PageArray, page: Page, order: number): void {
  __SetPageHead(pages, page);
  pages.compoundOrder[page] = order;
  for (let i = 1; i < 1 << order; i++) pages.compoundHead[page + i] = page;
}

/** gfp_zone(): the highest zone the mask allows. */
function gfp_zone(gfp: gfp_t): number {
  if (gfp & __GFP_DMA) return ZONE_DMA;
  if (gfp & __GFP_DMA32) return ZONE_DMA32;
  if ((gfp & (__GFP_HIGHMEM | __GFP_MOVABLE)) === (__GFP_HIGHMEM | __GFP_MOVABLE)) return ZONE_MOVABLE;
  return ZONE_NORMAL;
}

/* ---- allocation ---- */

/**
 * alloc_pages(): a block of 2^order pages, or null. Blocking masks may sleep (might_sleep);
 * non-blocking ones fail as a recorded choice when fault injection is on
 * (config.failAtomicAllocations); zones are tried from the highest allowed down (the zonelist).
 */
export function* alloc_pages(k: MemoryCore, gfp: gfp_t, order: number): Sim<Page | null> {
  if (!Number.isInteger(order) || order < 0) throw new ModelInvariantError(`alloc_pages: order ${order}`);
  if (order > MAX_PAGE_ORDER) {
    // __alloc_pages: WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER, gfp) and fail.
    k.exec.log('alloc', `alloc_pages: order ${order} > MAX_PAGE_ORDER, failing`);
    return null;
  }
  if (gfpflags_allow_blocking(gfp)) might_sleep(k, 'alloc_pages');
  else if (k.config.failAtomicAllocations && k.exec.choose('alloc_pages GFP_ATOMIC', ['succeed', 'fail'], { fault: true }) === 1) {
    if (k.exec.tracing) k.exec.log('alloc', `alloc_pages(${formatGfp(gfp)}, order ${order}) failed (fault injected)`);
    return null;
  }
  const highest = gfp_zone(gfp);
  for (let z = k.zones.length - 1; z >= 0; z--) {
    const zone = k.zones[z];
    if (zone.zone_idx > highest) continue;
    yield step('alloc_pages', 'write', zone.lock);
    const page = rmqueue(k, zone, order);
    if (page === null) continue;
    prep_new_page(k, page, order, gfp);
    if (k.exec.tracing) k.exec.log('alloc', `alloc_pages(${formatGfp(gfp)}, order ${order}) = pfn 0x${page.toString(16)} (${zone.name})`);
    if (gfp & __GFP_ZERO) {
      for (let i = 0; i < 1 << order; i++) {
        yield step('clear_page', 'write', page + i);
        k.mem.zeroFrame(page + i);
      }
    }
    return page;
  }
  if (k.exec.tracing && !(gfp & __GFP_NOWARN)) {
    k.exec.log('alloc', `${current_comm(k.exec)}: page allocation failure: order:${order}, mode:${formatGfp(gfp)}`);
  }
  for (const o of k.observers) o.allocationFailed?.(order);
  return null;
}

export function alloc_page(k: MemoryCore, gfp: gfp_t): Sim<Page | null> {
  return alloc_pages(k, gfp, 0);
}

/**
 * __get_free_pages(): Linux returns the block's direct-map address; the model has no separate
 * virtual-address view of kernel memory, so it returns the page (null for 0).
 */
export function __get_free_pages(k: MemoryCore, gfp: gfp_t, order: number): Sim<Page | null> {
  return alloc_pages(k, gfp & ~__GFP_HIGHMEM, order);
}

export function __get_free_page(k: MemoryCore, gfp: gfp_t): Sim<Page | null> {
  return __get_free_pages(k, gfp, 0);
}

export function get_zeroed_page(k: MemoryCore, gfp: gfp_t): Sim<Page | null> {
  return __get_free_pages(k, gfp | __GFP_ZERO, 0);
}

/* ---- freeing ---- */

/**
 * free_pages_prepare(): the checks and flag clearing before a block goes back; false if a page was
 * bad (the block is then leaked, as in Linux).
 */
function free_pages_prepare(k: MemoryCore, page: Page, order: number): boolean {
  const pages = k.pages;
  const L = pages.layout;
  const nr = 1 << order;
  for (let i = 0; i < nr; i++) {
    if (pages.shadow[page + i] === SHADOW_FREE) {
      // A model check, not a Linux one: report like bad_page() but leave the free page's state alone.
      k.exec.report('bad-page', `BUG: Bad page state in process ${current_comm(k.exec)}  pfn:${(page + i).toString(16).padStart(5, '0')}`, [
        ...dump_page(pages, page + i, `freeing a page that is already free (kptsim check: freeing order-${order} block at pfn 0x${page.toString(16)})`),
        ...contextLines(k.exec),
      ]);
      return false;
    }
  }
  if (PageTail(pages, page)) {
    VM_BUG_ON_PAGE(k, page, 'PageTail(page)', 'mm/page_alloc.c', 'free_pages_prepare');
    return false;
  }
  const compound = PageCompound(pages, page);
  if (compound && compound_order(pages, page) !== order) {
    VM_BUG_ON_PAGE(k, page, 'compound && compound_order(page) != order', 'mm/page_alloc.c', 'free_pages_prepare');
    return false;
  }
  let bad = 0;
  for (let i = 1; i < nr; i++) {
    const p = page + i;
    if (compound) bad += free_tail_page_prepare(k, page, p);
    if (free_page_is_bad(k, p)) {
      bad++;
      continue;
    }
    clearFlags(pages, p, L.PAGE_FLAGS_CHECK_AT_PREP);
  }
  // Since v6.17: reset any page type (it overlays _mapcount) instead of reporting it.
  if (page_has_type(pages, page)) pages.pageType[page] = PAGE_TYPE_NONE;
  if (free_page_is_bad(k, page)) bad++;
  if (bad > 0) return false;
  page_cpupid_reset_last(pages, page);
  clearFlags(pages, page, L.PAGE_FLAGS_CHECK_AT_PREP);
  pages.compoundOrder[page] = 0;
  return true;
}

/** free_tail_page_prepare(): a compound tail must say it is one, of this head; clears compound_head. */
function free_tail_page_prepare(k: MemoryCore, head: Page, p: Page): number {
  let ret = 1;
  if (!PageTail(k.pages, p)) bad_page(k, p, 'PageTail not set');
  else if (compound_head(k.pages, p) !== head) bad_page(k, p, 'compound_head not consistent');
  else ret = 0;
  k.pages.compoundHead[p] = -1;
  return ret;
}

/** kernel_poison_pages() + kasan_poison_pages() for one frame. */
function poison_page(k: MemoryCore, pfn: Pfn): void {
  k.mem.fillFrame(pfn, PAGE_POISON);
  k.pages.shadow[pfn] = SHADOW_FREE;
}

/** __free_frozen_pages(): free a block whose references are already gone (free_the_page). */
function* free_the_page(k: MemoryCore, page: Page, order: number): Sim {
  if (!free_pages_prepare(k, page, order)) return;
  for (let i = 0; i < 1 << order; i++) {
    yield step('kernel_poison_pages', 'write', page + i);
    poison_page(k, page + i);
  }
  kasan_save_free_info(k, page, order);
  for (const o of k.observers) o.pagesFreed?.(page, order);
  const zone = free_zone(k, page, order);
  if (zone === null) return;
  yield step('free_one_page', 'write', zone.lock);
  __free_one_page(k, page, zone, order, FPI_NONE);
  if (k.exec.tracing) k.exec.log('alloc', `freed pfn 0x${page.toString(16)} order ${order} (${zone.name})`);
}

/**
 * __free_pages(): drop a reference; free the block if it was the last, or else (non-compound only)
 * free the sub-blocks after the first page. See the header.
 */
export function* __free_pages(k: MemoryCore, page: Page, order: number): Sim {
  checkBlock(k, page, order, '__free_pages');
  const pages = k.pages;
  yield step('__free_pages', 'write', page);
  for (const o of k.observers) o.pagesFreeing?.(page, order);
  const head = PageHead(pages, page);
  // put_page_testzero()
  if (pages.refcount[page] === 0) {
    VM_BUG_ON_PAGE(k, page, 'page_ref_count(page) == 0', 'include/linux/mm.h', 'put_page_testzero');
    return;
  }
  if (--pages.refcount[page] === 0) {
    yield* free_the_page(k, page, order);
  } else if (!head) {
    while (order-- > 0) yield* free_the_page(k, page + (1 << order), order);
  }
}

export function __free_page(k: MemoryCore, page: Page): Sim {
  return __free_pages(k, page, 0);
}

/** free_pages(): __free_pages() unless the "address" is 0 (null here). */
export function* free_pages(k: MemoryCore, page: Page | null, order: number): Sim {
  if (page !== null) yield* __free_pages(k, page, order);
}

export function free_page(k: MemoryCore, page: Page | null): Sim {
  return free_pages(k, page, 0);
}

/**
 * split_page(): give each page of a non-compound block its own reference, so each can be freed on
 * its own. VM_BUG_ON_PAGE if the block is compound or has no reference.
 */
export function split_page(k: MemoryCore, page: Page, order: number): void {
  checkBlock(k, page, order, 'split_page');
  const pages = k.pages;
  if (PageCompound(pages, page)) {
    VM_BUG_ON_PAGE(k, page, 'PageCompound(page)', 'mm/page_alloc.c', 'split_page');
    return;
  }
  if (pages.refcount[page] === 0) {
    VM_BUG_ON_PAGE(k, page, '!page_count(page)', 'mm/page_alloc.c', 'split_page');
    return;
  }
  for (let i = 1; i < 1 << order; i++) {
    const p = page + i;
    // set_page_refcounted()
    if (PageTail(pages, p)) {
      VM_BUG_ON_PAGE(k, p, 'PageTail(page)', 'mm/internal.h', 'set_page_refcounted');
      return;
    }
    if (pages.refcount[p] !== 0) {
      VM_BUG_ON_PAGE(k, p, 'page_ref_count(page)', 'mm/internal.h', 'set_page_refcounted');
      return;
    }
    pages.refcount[p] = 1;
  }
}

/**
 * free_reserved_page(): hand a PG_reserved (memblock/boot) page to the buddy allocator:
 * ClearPageReserved, init_page_count (refcount 1), __free_page, adjust_managed_page_count(+1).
 * This is what x86 free_pagetable() gets for a reserved page table boot did not register as
 * bootmem info; a registered one goes through put_page_bootmem() (mm/bootmem_info.ts), which ends
 * here when its last reference goes.
 */
export function* free_reserved_page(k: MemoryCore, page: Page): Sim {
  checkBlock(k, page, 0, 'free_reserved_page');
  ClearPageReserved(k.pages, page);
  k.pages.refcount[page] = 1;
  yield* __free_page(k, page);
  const zone = page_zone(k, page);
  if (zone !== null) zone.managed_pages++;
}

/**
 * __free_pages_core() at boot (memblock_free_all): a block that was never allocated goes to the
 * buddy allocator, at the tail of the free lists. Not a Sim: boot runs before any thread.
 */
export function __free_pages_core(k: MemoryCore, page: Page, order: number): void {
  checkBlock(k, page, order, '__free_pages_core');
  const pages = k.pages;
  for (let i = 0; i < 1 << order; i++) {
    ClearPageReserved(pages, page + i);
    pages.refcount[page + i] = 0;
  }
  const zone = free_zone(k, page, order);
  if (zone === null) return;
  zone.managed_pages += 1 << order;
  if (!free_pages_prepare(k, page, order)) return;
  for (let i = 0; i < 1 << order; i++) pages.shadow[page + i] = SHADOW_FREE;
  __free_one_page(k, page, zone, order, FPI_TO_TAIL);
}

/** A zone with empty free lists, for boot. */
export function newZone(k: Pick<MemoryCore, 'exec' | 'lists'>, name: string, zone_idx: number, start_pfn: Pfn, end_pfn: Pfn): Zone {
  const free_area: FreeArea[] = [];
  for (let o = 0; o < NR_PAGE_ORDERS; o++) {
    free_area.push({ free_list: k.lists.newHead(`zone ${name} free_area[${o}].free_list`), nr_free: 0 });
  }
  return { name, zone_idx, node: 0, start_pfn, end_pfn, free_area, lock: k.exec.objects.register(`zone ${name} lock`), managed_pages: 0 };
}

/* ---- totals and invariants, for tests and the accounting/leak oracles ---- */

/** Free pages in all zones (global NR_FREE_PAGES). */
export function nr_free_pages(k: MemoryCore): number {
  return global_zone_page_state(k, 'NR_FREE_PAGES');
}

/**
 * Checks the free lists against the pages: every entry heads an aligned free block of its list's
 * order inside its zone (PageBuddy, private == order, refcount 0, frames shadow-FREE), no frame is
 * in two blocks, nr_free and NR_FREE_PAGES match, no PageBuddy page is off the lists. Returns what
 * is wrong (empty when consistent). Frames that are FREE but on no list are allowed: a free in
 * progress between its poisoning and its zone-lock step.
 */
export function check_free_lists(k: MemoryCore): string[] {
  const pages = k.pages;
  const errors: string[] = [];
  const inBlock = new Uint8Array(pages.frames);
  const hex = (p: number) => `0x${p.toString(16)}`;
  for (const zone of k.zones) {
    let free = 0;
    for (let order = 0; order < NR_PAGE_ORDERS; order++) {
      const area = zone.free_area[order];
      const { entries, broken } = walkList(k.lists, area.free_list);
      if (broken !== null) errors.push(`zone ${zone.name} order ${order}: free list broken: ${broken}`);
      if (entries.length !== area.nr_free) errors.push(`zone ${zone.name} order ${order}: nr_free ${area.nr_free} but ${entries.length} blocks listed`);
      for (const p of entries) {
        const nr = 1 << order;
        if (p >= pages.frames) {
          errors.push(`zone ${zone.name} order ${order}: list node ${k.lists.describe(p)} is not a page`);
          continue;
        }
        if (p < zone.start_pfn || p + nr > zone.end_pfn || (p & (nr - 1)) !== 0) errors.push(`block ${hex(p)} order ${order} is misplaced in zone ${zone.name}`);
        if (!PageBuddy(pages, p)) errors.push(`block head ${hex(p)} on a free list is not PageBuddy`);
        if (pages.private[p] !== order) errors.push(`block head ${hex(p)} has buddy order ${pages.private[p]} on the order-${order} list`);
        if (pages.refcount[p] !== 0) errors.push(`free block head ${hex(p)} has refcount ${pages.refcount[p]}`);
        for (let i = 0; i < nr && p + i < pages.frames; i++) {
          if (inBlock[p + i]) errors.push(`frame ${hex(p + i)} is in two free blocks`);
          inBlock[p + i] = 1;
          if (pages.shadow[p + i] !== SHADOW_FREE) errors.push(`frame ${hex(p + i)} is on a free list but not free (shadow ${pages.shadow[p + i]})`);
        }
        free += nr;
      }
    }
    const counted = zone_page_state(k, zone, 'NR_FREE_PAGES');
    if (counted !== free) errors.push(`zone ${zone.name}: NR_FREE_PAGES ${counted} but ${free} pages on the free lists`);
  }
  for (let p = 0; p < pages.frames; p++) {
    if (PageBuddy(pages, p) && !inBlock[p]) errors.push(`page ${hex(p)} is PageBuddy but on no free list`);
  }
  return errors;
}
