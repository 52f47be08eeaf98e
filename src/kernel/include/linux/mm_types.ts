/**
 * mem_map: every frame's `struct page`, as a struct of typed arrays indexed by pfn
 * (include/linux/mm_types.h, include/linux/page-flags.h, include/linux/mm.h, mm/debug.c; v6.19).
 * Layout of page->flags and the flag numbers: page-flags.ts. docs/kernel/page-flags-and-allocator.md.
 *
 * A `Page` is a pfn and stands for `struct page *`. A `Ptdesc` is the same number: struct ptdesc
 * overlays struct page word for word (its pt_flags is page->flags, pt_list is page->lru,
 * __page_type is page->page_type), so page_ptdesc()/ptdesc_page() are identity casts.
 *
 * Overlays kept from struct page: `_mapcount` and `page_type` are one 32-bit word (a union since
 * v4.18); here `mapcount` (Int32Array) and `pageType` (Uint32Array) are two views of the same
 * buffer, so a page with a type has _mapcount != -1, exactly as in Linux. The lru list_head lives
 * in the ListArena (node i is page i's lru == pt_list == buddy_list). Not kept: compound_head also
 * overlays lru.next in Linux; the model stores it apart (scenarios never list a tail page).
 * Not modelled: mapping, index, memcg_data (always NULL/0).
 */
import { type Execution, type Thread, ModelInvariantError } from '../../../sim/index.ts';
import type { PageFlagsConfig } from '../../model/config.ts';
import type { Kcsan } from '../../kernel/kcsan.ts';
import {
  PAGEFLAG_NAMES,
  PAGE_TYPE_NAMES,
  PAGE_TYPE_NONE,
  PGTY_buddy,
  PGTY_table,
  PG_head,
  PG_lru,
  PG_referenced,
  PG_reserved,
  computePageFlagsLayout,
  page_type_value_has_type,
  type PackedField,
  type PageFlagsLayout,
} from './page-flags.ts';

/** `struct page *`: the page's pfn. */
export type Page = number;
/** `struct ptdesc *`: the same pfn (ptdesc overlays struct page; see the header). */
export type Ptdesc = number;

/* KASAN-like state of each frame, kept by the allocator and memblock, read by kasan.ts and oracles. */
/** Memory never handed to the buddy allocator (memblock reservations, frame 0): accessible. */
export const SHADOW_RESERVED = 0;
/** Handed out by the page allocator: accessible. */
export const SHADOW_ALLOCATED = 1;
/** Freed to the page allocator: any CPU access is a use-after-free (KASAN_PAGE_FREE). */
export const SHADOW_FREE = 2;
export type ShadowState = typeof SHADOW_RESERVED | typeof SHADOW_ALLOCATED | typeof SHADOW_FREE;

export class PageArray {
  readonly layout: PageFlagsLayout;
  /** The data-race detector the page->flags accesses are told to (null: none, as at boot). */
  kcsan: Kcsan | null = null;
  /** page->flags bits 31:0 and 63:32. */
  readonly flagsLo: Uint32Array;
  readonly flagsHi: Uint32Array;
  /** page->_refcount. */
  readonly refcount: Int32Array;
  /** page->_mapcount; -1 means unmapped. Same memory as pageType. */
  readonly mapcount: Int32Array;
  /** page->page_type; PAGE_TYPE_NONE (UINT_MAX) means no type. Same memory as mapcount. */
  readonly pageType: Uint32Array;
  /** page->private: the buddy order on the head of a free block (set_buddy_order). */
  readonly private: Int32Array;
  /** For a tail page of a compound page, its head's pfn; -1 otherwise (PageTail == compoundHead >= 0). */
  readonly compoundHead: Int32Array;
  /** On a compound head: its order (folio_order). */
  readonly compoundOrder: Uint8Array;
  /** 1 after ptlock_init(), 0 after ptlock_free() (the split PTE/PMD lock overlays page->private). */
  readonly ptlock: Uint8Array;
  /** SHADOW_RESERVED | SHADOW_ALLOCATED | SHADOW_FREE per frame. */
  readonly shadow: Uint8Array;
  /**
   * page->_last_cpupid, used only when LAST_CPUPID_WIDTH is 0 (LAST_CPUPID_NOT_IN_PAGE_FLAGS);
   * otherwise the field lives in page->flags.
   */
  private readonly lastCpupidWord: Int32Array | null;
  /**
   * The packed-field bits as last written by the field setters. Invariant: equal to the live bits of
   * page->flags unless something other than a setter wrote them (the flags-corruption check).
   */
  private readonly expectedPackedLo: Uint32Array;
  private readonly expectedPackedHi: Uint32Array;

  constructor(
    readonly frames: number,
    config: PageFlagsConfig,
  ) {
    if (!Number.isInteger(frames) || frames <= 0) throw new ModelInvariantError(`PageArray: bad frame count ${frames}`);
    this.layout = computePageFlagsLayout(config);
    this.flagsLo = new Uint32Array(frames);
    this.flagsHi = new Uint32Array(frames);
    this.refcount = new Int32Array(frames);
    const typeWord = new ArrayBuffer(frames * 4);
    this.mapcount = new Int32Array(typeWord).fill(-1);
    this.pageType = new Uint32Array(typeWord);
    this.private = new Int32Array(frames);
    this.compoundHead = new Int32Array(frames).fill(-1);
    this.compoundOrder = new Uint8Array(frames);
    this.ptlock = new Uint8Array(frames);
    this.shadow = new Uint8Array(frames);
    this.lastCpupidWord = config.LAST_CPUPID_WIDTH === 0 ? new Int32Array(frames).fill(-1) : null;
    this.expectedPackedLo = new Uint32Array(frames);
    this.expectedPackedHi = new Uint32Array(frames);
  }

  /**
   * Every struct page becomes what it is in `src`, a PageArray of the same size and page->flags
   * layout: how a boot restores mem_map from the boot image (model/boot-memory.ts) instead of running
   * memmap init and memblock_free_all() again.
   */
  copyFrom(src: PageArray): void {
    const a = src.layout;
    const b = this.layout;
    const sameLayout =
      a.NR_PAGEFLAGS === b.NR_PAGEFLAGS && a.PACKED_MASK.lo === b.PACKED_MASK.lo && a.PACKED_MASK.hi === b.PACKED_MASK.hi && (src.lastCpupidWord === null) === (this.lastCpupidWord === null);
    if (src.frames !== this.frames || !sameLayout) throw new ModelInvariantError('PageArray.copyFrom: another frame count or page->flags layout');
    this.flagsLo.set(src.flagsLo);
    this.flagsHi.set(src.flagsHi);
    this.refcount.set(src.refcount);
    this.mapcount.set(src.mapcount);
    this.private.set(src.private);
    this.compoundHead.set(src.compoundHead);
    this.compoundOrder.set(src.compoundOrder);
    this.ptlock.set(src.ptlock);
    this.shadow.set(src.shadow);
    if (this.lastCpupidWord !== null && src.lastCpupidWord !== null) this.lastCpupidWord.set(src.lastCpupidWord);
    this.expectedPackedLo.set(src.expectedPackedLo);
    this.expectedPackedHi.set(src.expectedPackedHi);
  }

  /** The packed-field bits of page->flags (SECTION..LAST_CPUPID) as they are now. */
  packedFields(page: Page): bigint {
    const m = this.layout.PACKED_MASK;
    return (BigInt((this.flagsHi[page] & m.hi) >>> 0) << 32n) | BigInt((this.flagsLo[page] & m.lo) >>> 0);
  }

  /** Whether the packed fields hold what the field setters last wrote (false: something else wrote them). */
  packedFieldsIntact(page: Page): boolean {
    const m = this.layout.PACKED_MASK;
    return ((this.flagsLo[page] & m.lo) >>> 0) === this.expectedPackedLo[page] && ((this.flagsHi[page] & m.hi) >>> 0) === this.expectedPackedHi[page];
  }

  /** Every page whose packed fields were changed by something other than a field setter, ascending. */
  corruptedPackedFields(): Page[] {
    const out: Page[] = [];
    for (let p = 0; p < this.frames; p++) if (!this.packedFieldsIntact(p)) out.push(p);
    return out;
  }

  /** Records the current packed bits as legitimate; called by the field setters only. */
  private notePackedWrite(page: Page): void {
    const m = this.layout.PACKED_MASK;
    this.expectedPackedLo[page] = (this.flagsLo[page] & m.lo) >>> 0;
    this.expectedPackedHi[page] = (this.flagsHi[page] & m.hi) >>> 0;
  }

  /** Reads a packed field (width <= 32, possibly straddling bit 32). */
  getField(page: Page, f: PackedField): number {
    if (f.width === 0) return 0;
    if (f.shift >= 32) return ((this.flagsHi[page] >>> (f.shift - 32)) & f.mask) >>> 0;
    if (f.shift + f.width <= 32) return ((this.flagsLo[page] >>> f.shift) & f.mask) >>> 0;
    const lowBits = 32 - f.shift;
    const low = this.flagsLo[page] >>> f.shift;
    const high = this.flagsHi[page] & (2 ** (f.width - lowBits) - 1);
    return low + high * 2 ** lowBits;
  }

  /** Writes a packed field: the only path by which packed bits may change (see packedFieldsIntact). */
  setField(page: Page, f: PackedField, value: number): void {
    if (f.width === 0) {
      if (value !== 0) throw new ModelInvariantError(`set ${f.name}=${value}: the field is not in page->flags on this config`);
      return;
    }
    if (!Number.isInteger(value) || value < 0 || value > f.mask) {
      throw new ModelInvariantError(`set ${f.name}=${value}: does not fit ${f.width} bits`);
    }
    if (f.shift >= 32 || f.shift + f.width <= 32) {
      const hi = f.shift >= 32;
      const s = hi ? f.shift - 32 : f.shift;
      const m = (f.mask << s) >>> 0;
      const words = hi ? this.flagsHi : this.flagsLo;
      words[page] = (words[page] & ~m) | ((value << s) & m);
      this.notePackedWrite(page);
      return;
    }
    for (let i = 0; i < f.width; i++) {
      const bit = f.shift + i;
      const on = Math.floor(value / 2 ** i) % 2 === 1;
      if (bit < 32) this.flagsLo[page] = on ? this.flagsLo[page] | (1 << bit) : this.flagsLo[page] & ~(1 << bit);
      else this.flagsHi[page] = on ? this.flagsHi[page] | (1 << (bit - 32)) : this.flagsHi[page] & ~(1 << (bit - 32));
    }
    this.notePackedWrite(page);
  }

  /** page->_last_cpupid when it is not in page->flags. */
  lastCpupidFallback(): Int32Array | null {
    return this.lastCpupidWord;
  }
}

/* ---- bit operations on the 64-bit page->flags (include/linux/bitops.h, asm/bitops.h) ---- */

function checkBit(nr: number): void {
  if (!Number.isInteger(nr) || nr < 0 || nr > 63) {
    throw new ModelInvariantError(`bit ${nr} is outside the 64-bit page->flags word (a bitmap op would touch the next field)`);
  }
}

/**
 * page->flags as the data-race detector sees it: one word per page (named `page 0x1a3 flags`, by a
 * negative number so it meets no list word or object). The bitops are atomic accesses (KCSAN
 * instruments test_bit/set_bit/clear_bit as atomic), the `__` ones and a direct `page->flags |= …`
 * plain: two atomic accesses never race, a plain one races with anything unordered.
 */
export function flagsWord(page: Page): number {
  return -(page + 1);
}

/** A flagsWord()'s name in a report. */
export function describeFlagsWord(word: number): string {
  return `page 0x${(-word - 1).toString(16)} flags`;
}

function touchFlags(pages: PageArray, page: Page, write: boolean, atomic: boolean, by: (...args: never[]) => unknown): void {
  pages.kcsan?.access(flagsWord(page), write, by, atomic);
}

export function test_bit(pages: PageArray, nr: number, page: Page): boolean {
  checkBit(nr);
  touchFlags(pages, page, false, true, test_bit);
  return bitIsSet(pages, nr, page);
}

/** set_bit(): an atomic read-modify-write (lock bts). */
export function set_bit(pages: PageArray, nr: number, page: Page): void {
  touchFlags(pages, page, true, true, set_bit);
  setBit(pages, nr, page);
}

export function clear_bit(pages: PageArray, nr: number, page: Page): void {
  touchFlags(pages, page, true, true, clear_bit);
  clearBit(pages, nr, page);
}

/** __set_bit(): the same change as a plain load and store, for a word nobody else can touch yet. */
export function __set_bit(pages: PageArray, nr: number, page: Page): void {
  touchFlags(pages, page, true, false, __set_bit);
  setBit(pages, nr, page);
}

export function __clear_bit(pages: PageArray, nr: number, page: Page): void {
  touchFlags(pages, page, true, false, __clear_bit);
  clearBit(pages, nr, page);
}

function bitIsSet(pages: PageArray, nr: number, page: Page): boolean {
  return nr < 32 ? (pages.flagsLo[page] & (1 << nr)) !== 0 : (pages.flagsHi[page] & (1 << (nr - 32))) !== 0;
}

function setBit(pages: PageArray, nr: number, page: Page): void {
  checkBit(nr);
  if (nr < 32) pages.flagsLo[page] |= 1 << nr;
  else pages.flagsHi[page] |= 1 << (nr - 32);
}

function clearBit(pages: PageArray, nr: number, page: Page): void {
  checkBit(nr);
  if (nr < 32) pages.flagsLo[page] &= ~(1 << nr);
  else pages.flagsHi[page] &= ~(1 << (nr - 32));
}

/**
 * BIT(n) on x86-64 as the instruction computes it: `1UL << n` is SHL on a 64-bit register, which
 * masks the count to 6 bits, so BIT(64) == BIT(0) (PG_locked) and BIT(65) == BIT(1). C calls a
 * shift by >= the width undefined behaviour (and a compiler folding a constant may produce anything,
 * with -Wshift-count-overflow); the model follows the instruction.
 */
function shlBit(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new ModelInvariantError(`BIT(${n})`);
  return n & 63;
}

/** `page->flags |= BIT(n)`: the seed email's `__page_flags |= BIT(NR_PAGEFLAGS)` (non-atomic RMW). */
export function flagsWordOr(pages: PageArray, page: Page, n: number): void {
  const b = shlBit(n);
  touchFlags(pages, page, true, false, flagsWordOr);
  setBit(pages, b, page);
}

/** `page->flags &= ~BIT(n)`, with the same SHL semantics. */
export function flagsWordAndNot(pages: PageArray, page: Page, n: number): void {
  const b = shlBit(n);
  touchFlags(pages, page, true, false, flagsWordAndNot);
  clearBit(pages, b, page);
}

/** `page->flags & BIT(n)`, with the same SHL semantics. */
export function flagsWordTest(pages: PageArray, page: Page, n: number): boolean {
  const b = shlBit(n);
  touchFlags(pages, page, false, false, flagsWordTest);
  return bitIsSet(pages, b, page);
}

/* ---- page flag accessors (written out; Linux generates them with PAGEFLAG() macros) ---- */

export function PageReserved(pages: PageArray, page: Page): boolean {
  return test_bit(pages, PG_reserved, page);
}
export function SetPageReserved(pages: PageArray, page: Page): void {
  set_bit(pages, PG_reserved, page);
}
export function ClearPageReserved(pages: PageArray, page: Page): void {
  clear_bit(pages, PG_reserved, page);
}
export function __SetPageReserved(pages: PageArray, page: Page): void {
  __set_bit(pages, PG_reserved, page);
}
export function __ClearPageReserved(pages: PageArray, page: Page): void {
  __clear_bit(pages, PG_reserved, page);
}

export function PageReferenced(pages: PageArray, page: Page): boolean {
  return test_bit(pages, PG_referenced, page);
}
export function SetPageReferenced(pages: PageArray, page: Page): void {
  set_bit(pages, PG_referenced, page);
}
export function ClearPageReferenced(pages: PageArray, page: Page): void {
  clear_bit(pages, PG_referenced, page);
}

export function PageLRU(pages: PageArray, page: Page): boolean {
  return test_bit(pages, PG_lru, page);
}

export function PageHead(pages: PageArray, page: Page): boolean {
  return test_bit(pages, PG_head, page);
}
export function __SetPageHead(pages: PageArray, page: Page): void {
  __set_bit(pages, PG_head, page);
}
export function __ClearPageHead(pages: PageArray, page: Page): void {
  __clear_bit(pages, PG_head, page);
}

export function PageTail(pages: PageArray, page: Page): boolean {
  return pages.compoundHead[page] >= 0;
}

export function PageCompound(pages: PageArray, page: Page): boolean {
  return PageHead(pages, page) || PageTail(pages, page);
}

/** compound_head(): the head of the compound page `page` belongs to, or `page` itself. */
export function compound_head(pages: PageArray, page: Page): Page {
  const head = pages.compoundHead[page];
  return head >= 0 ? head : page;
}

/* ---- page types (top byte of page->page_type) ---- */

/** page_has_type(). */
export function page_has_type(pages: PageArray, page: Page): boolean {
  return page_type_value_has_type(pages.pageType[page]);
}

function pageTypeIs(pages: PageArray, page: Page, type: number): boolean {
  return pages.pageType[page] >>> 24 === type;
}

export function PageBuddy(pages: PageArray, page: Page): boolean {
  return pageTypeIs(pages, page, PGTY_buddy);
}

export function PageTable(pages: PageArray, page: Page): boolean {
  return pageTypeIs(pages, page, PGTY_table);
}

/** The narrowest core the page-type setters need: they report VM_BUG_ON_PAGE. */
type PageCore = { readonly exec: Execution; readonly pages: PageArray };

/**
 * __SetPage<type>() (PAGE_TYPE_OPS): no-op if already that type; VM_BUG_ON_PAGE if the page has
 * any other page_type than UINT_MAX. Returns false when the VM_BUG_ON fired (the kernel would have
 * died there; the model reports and leaves the page unchanged).
 */
function setPageType(k: PageCore, page: Page, type: number, op: string): boolean {
  const pages = k.pages;
  if (pageTypeIs(pages, page, type)) return true;
  if (pages.pageType[page] !== PAGE_TYPE_NONE) {
    VM_BUG_ON_PAGE(k, page, 'data_race(page->page_type) != UINT_MAX', 'include/linux/page-flags.h', op);
    return false;
  }
  pages.pageType[page] = (type << 24) >>> 0;
  return true;
}

/**
 * __ClearPage<type>(): no-op if the page has no type (page_type == UINT_MAX); VM_BUG_ON_PAGE if it
 * has another type. Returns false when the VM_BUG_ON fired.
 */
function clearPageType(k: PageCore, page: Page, type: number, op: string, name: string): boolean {
  const pages = k.pages;
  if (pages.pageType[page] === PAGE_TYPE_NONE) return true;
  if (!pageTypeIs(pages, page, type)) {
    VM_BUG_ON_PAGE(k, page, `!Page${name}(page)`, 'include/linux/page-flags.h', op);
    return false;
  }
  pages.pageType[page] = PAGE_TYPE_NONE;
  return true;
}

export function __SetPageBuddy(k: PageCore, page: Page): boolean {
  return setPageType(k, page, PGTY_buddy, '__SetPageBuddy');
}
export function __ClearPageBuddy(k: PageCore, page: Page): boolean {
  return clearPageType(k, page, PGTY_buddy, '__ClearPageBuddy', 'Buddy');
}
export function __SetPageTable(k: PageCore, page: Page): boolean {
  return setPageType(k, page, PGTY_table, '__SetPageTable');
}
export function __ClearPageTable(k: PageCore, page: Page): boolean {
  return clearPageType(k, page, PGTY_table, '__ClearPageTable', 'Table');
}

/* ---- packed fields (include/linux/mm.h); only these change the packed bits ---- */

export function page_zonenum(pages: PageArray, page: Page): number {
  return pages.getField(page, pages.layout.zone);
}
export function set_page_zone(pages: PageArray, page: Page, zone: number): void {
  pages.setField(page, pages.layout.zone, zone);
}

export function page_to_nid(pages: PageArray, page: Page): number {
  return pages.getField(page, pages.layout.node);
}
export function set_page_node(pages: PageArray, page: Page, node: number): void {
  pages.setField(page, pages.layout.node, node);
}

/** Only with SECTIONS_WIDTH > 0 (classic SPARSEMEM); SPARSEMEM_VMEMMAP has no section field. */
export function page_to_section(pages: PageArray, page: Page): number {
  return pages.getField(page, pages.layout.section);
}
export function set_page_section(pages: PageArray, page: Page, section: number): void {
  pages.setField(page, pages.layout.section, section);
}

/** page_cpupid_last(): the last CPU/PID that touched the page (NUMA balancing). */
export function page_cpupid_last(pages: PageArray, page: Page): number {
  const fallback = pages.lastCpupidFallback();
  if (fallback !== null) return fallback[page];
  return pages.getField(page, pages.layout.lastcpupid);
}

/** page_cpupid_xchg_last(): stores `cpupid` (masked to the field) and returns the old value. */
export function page_cpupid_xchg_last(pages: PageArray, page: Page, cpupid: number): number {
  const fallback = pages.lastCpupidFallback();
  if (fallback !== null) {
    const old = fallback[page];
    fallback[page] = cpupid;
    return old;
  }
  const f = pages.layout.lastcpupid;
  const old = pages.getField(page, f);
  pages.setField(page, f, cpupid & f.mask);
  return old;
}

/** page_cpupid_reset_last(): all ones (-1 & LAST_CPUPID_MASK), as at memmap init and at every free. */
export function page_cpupid_reset_last(pages: PageArray, page: Page): void {
  const fallback = pages.lastCpupidFallback();
  if (fallback !== null) fallback[page] = -1;
  else pages.setField(page, pages.layout.lastcpupid, pages.layout.lastcpupid.mask);
}

/* ---- reports ---- */

/** The running thread, or null during boot (before any simulated thread runs). */
export function currentThread(exec: Execution): Thread | null {
  return exec.currentOrNull;
}

/** `current->comm` for report titles; boot code runs as swapper/0. */
export function current_comm(exec: Execution): string {
  return currentThread(exec)?.name ?? 'swapper/0';
}

/** The "CPU: .. PID: .. Comm: .." line of a splat and its "Call Trace:" (Execution.callTrace). */
export function contextLines(exec: Execution): string[] {
  const t = currentThread(exec);
  if (t === null) return ['CPU: 0 PID: 0 Comm: swapper/0 (boot)'];
  return [`CPU: ${t.ctx.cpu} PID: ${t.id} Comm: ${t.name} (${t.ctx.kind})`, ...exec.callTrace(t, contextLines)];
}

/**
 * VM_BUG_ON_PAGE(cond, page) with CONFIG_DEBUG_VM=y, once `cond` is known true: dump_page() with
 * "VM_BUG_ON_PAGE(<cond>)" then BUG(). Reported as bad-page; the caller skips the rest of the
 * operation, since the kernel thread would have died at the BUG().
 */
export function VM_BUG_ON_PAGE(k: PageCore, page: Page, cond: string, file: string, fn: string): void {
  k.exec.report('bad-page', `kernel BUG at ${file}! (${fn})`, [
    ...dump_page(k.pages, page, `VM_BUG_ON_PAGE(${cond})`),
    `RIP: ${fn}`,
    ...contextLines(k.exec),
  ], { fatal: true, pfn: page });
}

function hex64(lo: number, hi: number): string {
  return hi === 0 ? '0x' + lo.toString(16) : '0x' + hi.toString(16) + lo.toString(16).padStart(8, '0');
}

/** %pGp: `0x<flags>(<names>|node=0|zone=1|lastcpupid=0x7ff)` (lib/vsprintf.c format_page_flags). */
export function format_page_flags(pages: PageArray, lo: number, hi: number): string {
  const L = pages.layout;
  let mainLo = lo & L.PAGEFLAGS_MASK.lo;
  let mainHi = hi & L.PAGEFLAGS_MASK.hi;
  const parts: string[] = [];
  for (const [bit, name] of PAGEFLAG_NAMES) {
    if (bit >= L.NR_PAGEFLAGS) continue;
    if (bit < 32 && mainLo & (1 << bit)) {
      parts.push(name);
      mainLo &= ~(1 << bit);
    }
  }
  if (mainLo !== 0 || mainHi !== 0) parts.push(hex64(mainLo >>> 0, mainHi >>> 0));
  for (const f of L.fields) {
    const v = fieldOf(lo, hi, f);
    parts.push(f.name === 'node' || f.name === 'zone' ? `${f.name}=${v}` : `${f.name}=0x${v.toString(16)}`);
  }
  return `${hex64(lo >>> 0, hi >>> 0)}(${parts.join('|')})`;
}

function fieldOf(lo: number, hi: number, f: PackedField): number {
  if (f.shift >= 32) return ((hi >>> (f.shift - 32)) & f.mask) >>> 0;
  if (f.shift + f.width <= 32) return ((lo >>> f.shift) & f.mask) >>> 0;
  const lowBits = 32 - f.shift;
  return (lo >>> f.shift) + (hi & (2 ** (f.width - lowBits) - 1)) * 2 ** lowBits;
}

/**
 * dump_page() (mm/debug.c __dump_page/__dump_folio, v6.19): the lines the kernel prints. Compound
 * pages print their head's flags and a `head: order:` line. The `raw:` word dumps are left out.
 */
export function dump_page(pages: PageArray, page: Page, reason: string): string[] {
  const head = compound_head(pages, page);
  const type = pages.pageType[page];
  // __dump_folio shows mapcount 0 for a typed page (page_mapcount_is_type(_mapcount + 1)).
  const mapcount = page_type_value_has_type(type) ? 0 : pages.mapcount[page] + 1;
  const lines = [
    `page: refcount:${pages.refcount[head]} mapcount:${mapcount} mapping:0000000000000000 index:0x${(page - head).toString(16)} pfn:0x${page.toString(16)}`,
  ];
  if (PageHead(pages, head)) {
    lines.push(`head: order:${pages.compoundOrder[head]} mapcount:0 entire_mapcount:0 nr_pages_mapped:0 pincount:0`);
  }
  lines.push(`flags: ${format_page_flags(pages, pages.flagsLo[head], pages.flagsHi[head])}`);
  const headType = pages.pageType[head];
  if (page_type_value_has_type(headType)) {
    const t = headType >>> 24;
    lines.push(`page_type: ${t.toString(16)}(${PAGE_TYPE_NAMES[t] ?? 'unknown'})`);
  }
  lines.push(`page dumped because: ${reason}`);
  return lines;
}
