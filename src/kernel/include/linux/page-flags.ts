/**
 * page->flags: the page flag numbers (`enum pageflags`), the packed fields above them, the named
 * masks the allocator checks (include/linux/page-flags.h, include/linux/page-flags-layout.h,
 * include/linux/mmzone.h, include/trace/events/mmflags.h; v6.18/v6.19), and `enum pagetype`, the
 * page type kept in the top byte of page->page_type. docs/kernel/page-flags-and-allocator.md.
 *
 * page->flags is one 64-bit word. Page flags take the low NR_PAGEFLAGS bits; the packed fields are
 * laid out downwards from bit 63 in the order SECTION, NODE, ZONE, LAST_CPUPID (a field of width 0
 * is not in page->flags). With the default config (NR_PAGEFLAGS 22, NODES 7, ZONES 2, LAST_CPUPID 11):
 *
 *    63      57 56  55 54            44 43                     22 21                       0
 *   +----------+------+----------------+-------------------------+--------------------------+
 *   |   NODE   | ZONE |  LAST_CPUPID   |    unused (gap)         | page flags (PG_locked=0) |
 *   +----------+------+----------------+-------------------------+--------------------------+
 *
 * The gap exists only when the fields leave room: BIT(NR_PAGEFLAGS) — the seed email's flag — lands
 * in the gap here, in LAST_CPUPID on a config whose fields reach down to NR_PAGEFLAGS, and on bit 0
 * (PG_locked) when NR_PAGEFLAGS is 64 (see flagsWordOr in include/linux/mm_types.ts). docs/kernel/page-flags-and-allocator.md,
 * A bit at NR_PAGEFLAGS.
 *
 * In the model the word is two Uint32 halves (PageArray.flagsLo / flagsHi), so 64-bit masks here
 * are { lo, hi } pairs.
 */
import { ModelInvariantError } from '../../../sim/index.ts';
import type { PageFlagsConfig } from '../../model/config.ts';

/*
 * enum pageflags, v6.18 order (docs/kernel/page-flags-and-allocator.md, Layout). PG_head must be
 * bit 6 and PG_waiters bit 7.
 */
export const PG_locked = 0;
export const PG_writeback = 1;
export const PG_referenced = 2;
export const PG_uptodate = 3;
export const PG_dirty = 4;
export const PG_lru = 5;
export const PG_head = 6;
export const PG_waiters = 7;
export const PG_active = 8;
export const PG_workingset = 9;
export const PG_owner_priv_1 = 10;
export const PG_owner_2 = 11;
export const PG_arch_1 = 12;
export const PG_reserved = 13;
export const PG_private = 14;
export const PG_private_2 = 15;
export const PG_reclaim = 16;
export const PG_swapbacked = 17;
export const PG_unevictable = 18;
export const PG_dropbehind = 19;
/** Present with CONFIG_MMU (always here). */
export const PG_mlocked = 20;
/** Present with CONFIG_MEMORY_FAILURE, i.e. only when NR_PAGEFLAGS > 21. */
export const PG_hwpoison = 21;

/** The smallest NR_PAGEFLAGS the named flags need (every flag up to PG_mlocked always exists). */
export const MIN_NR_PAGEFLAGS = PG_mlocked + 1;

/**
 * Flag names as %pGp prints them, in the order of __def_pageflag_names (mmflags.h), which is not
 * the bit order.
 */
export const PAGEFLAG_NAMES: ReadonlyArray<readonly [bit: number, name: string]> = [
  [PG_locked, 'locked'],
  [PG_waiters, 'waiters'],
  [PG_referenced, 'referenced'],
  [PG_uptodate, 'uptodate'],
  [PG_dirty, 'dirty'],
  [PG_lru, 'lru'],
  [PG_active, 'active'],
  [PG_workingset, 'workingset'],
  [PG_owner_priv_1, 'owner_priv_1'],
  [PG_owner_2, 'owner_2'],
  [PG_arch_1, 'arch_1'],
  [PG_reserved, 'reserved'],
  [PG_private, 'private'],
  [PG_private_2, 'private_2'],
  [PG_writeback, 'writeback'],
  [PG_head, 'head'],
  [PG_reclaim, 'reclaim'],
  [PG_swapbacked, 'swapbacked'],
  [PG_unevictable, 'unevictable'],
  [PG_dropbehind, 'dropbehind'],
  [PG_mlocked, 'mlocked'],
  [PG_hwpoison, 'hwpoison'],
];

/* enum pagetype (v6.19): the type lives in page_type's top byte; page_type overlays _mapcount. */
export const PGTY_buddy = 0xf0;
export const PGTY_offline = 0xf1;
export const PGTY_table = 0xf2;
export const PGTY_guard = 0xf3;
export const PGTY_hugetlb = 0xf4;
export const PGTY_slab = 0xf5;
export const PGTY_zsmalloc = 0xf6;
export const PGTY_unaccepted = 0xf7;
export const PGTY_large_kmalloc = 0xf8;
export const PGTY_mapcount_underflow = 0xff;
/** page_type of a page with no type: UINT_MAX, the same bits as _mapcount == -1. */
export const PAGE_TYPE_NONE = 0xffffffff;

export const PAGE_TYPE_NAMES: Readonly<Record<number, string>> = {
  [PGTY_buddy]: 'buddy',
  [PGTY_offline]: 'offline',
  [PGTY_table]: 'table',
  [PGTY_guard]: 'guard',
  [PGTY_hugetlb]: 'hugetlb',
  [PGTY_slab]: 'slab',
  [PGTY_zsmalloc]: 'zsmalloc',
  [PGTY_unaccepted]: 'unaccepted',
  [PGTY_large_kmalloc]: 'large_kmalloc',
};

/**
 * page_type_has_type(): a value below PGTY_mapcount_underflow << 24 when read as a signed int, i.e.
 * top byte 0x80..0xfe. page_has_type() applies it to page_type - 1 (page_mapcount_is_type), so
 * UINT_MAX (no type) and small mapcounts are not types.
 */
export function page_type_value_has_type(pageType: number): boolean {
  return ((pageType - 1) | 0) < (PGTY_mapcount_underflow << 24 | 0);
}

/** A 64-bit mask as the two halves of page->flags. */
export interface FlagsMask {
  readonly lo: number;
  readonly hi: number;
}

/** One packed field of page->flags: bits [shift, shift + width). */
export interface PackedField {
  readonly name: 'section' | 'node' | 'zone' | 'lastcpupid';
  readonly shift: number;
  readonly width: number;
  /** 2^width - 1, as a non-negative number (width <= 32). */
  readonly mask: number;
}

/** The computed page->flags layout of one configuration (page-flags-layout.h). */
export interface PageFlagsLayout {
  readonly NR_PAGEFLAGS: number;
  /** Field offsets as Linux's *_PGOFF; meaningful only when the width is non-zero. */
  readonly SECTIONS_PGOFF: number;
  readonly NODES_PGOFF: number;
  readonly ZONES_PGOFF: number;
  readonly LAST_CPUPID_PGOFF: number;
  readonly section: PackedField;
  readonly node: PackedField;
  readonly zone: PackedField;
  readonly lastcpupid: PackedField;
  /** Fields with a non-zero width, in the order %pGp prints them. */
  readonly fields: readonly PackedField[];
  /** Every bit that belongs to a packed field: only the field setters may change these. */
  readonly PACKED_MASK: FlagsMask;
  /** PAGEFLAGS_MASK = (1UL << NR_PAGEFLAGS) - 1. */
  readonly PAGEFLAGS_MASK: FlagsMask;
  /** __PG_HWPOISON: 0 when PG_hwpoison does not exist on this config. */
  readonly __PG_HWPOISON: FlagsMask;
  /**
   * PAGE_FLAGS_CHECK_AT_FREE: lru, locked, private, private_2, writeback, reserved, active,
   * unevictable, mlocked (LRU_GEN_MASK is not modelled: no MGLRU fields). PG_referenced is NOT in it.
   */
  readonly PAGE_FLAGS_CHECK_AT_FREE: FlagsMask;
  /** PAGE_FLAGS_CHECK_AT_PREP = PAGEFLAGS_MASK & ~__PG_HWPOISON: every page flag except hwpoison. */
  readonly PAGE_FLAGS_CHECK_AT_PREP: FlagsMask;
  /** PAGE_FLAGS_CHECK_AT_PREP | __PG_HWPOISON: what check_new_page() requires clear. */
  readonly PAGE_FLAGS_CHECK_NEW: FlagsMask;
}

/** A mask with bits [from, to) set, as two halves. */
function bitRange(from: number, to: number): FlagsMask {
  let lo = 0;
  let hi = 0;
  for (let b = from; b < to; b++) {
    if (b < 32) lo |= 1 << b;
    else hi |= 1 << (b - 32);
  }
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

function bitsMask(bits: readonly number[]): FlagsMask {
  let lo = 0;
  let hi = 0;
  for (const b of bits) {
    if (b < 32) lo |= 1 << b;
    else hi |= 1 << (b - 32);
  }
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

function field(name: PackedField['name'], shift: number, width: number): PackedField {
  return { name, shift, width, mask: 2 ** width - 1 };
}

/**
 * Computes the layout as page-flags-layout.h does, and refuses a configuration Linux would refuse
 * to build ("#error ... not enough bits in page flags"): that is a model input error, so it throws.
 */
export function computePageFlagsLayout(c: PageFlagsConfig): PageFlagsLayout {
  const widths = [c.NR_PAGEFLAGS, c.SECTIONS_WIDTH, c.NODES_WIDTH, c.ZONES_WIDTH, c.LAST_CPUPID_WIDTH];
  if (!widths.every((w) => Number.isInteger(w) && w >= 0)) {
    throw new ModelInvariantError(`page flags layout: widths must be non-negative integers, got ${JSON.stringify(c)}`);
  }
  if (c.NR_PAGEFLAGS < MIN_NR_PAGEFLAGS || c.NR_PAGEFLAGS > 64) {
    throw new ModelInvariantError(`page flags layout: NR_PAGEFLAGS ${c.NR_PAGEFLAGS} outside [${MIN_NR_PAGEFLAGS}, 64] (enum pageflags has ${MIN_NR_PAGEFLAGS} flags up to PG_mlocked)`);
  }
  if (c.ZONES_WIDTH > 8 || c.NODES_WIDTH > 16 || c.SECTIONS_WIDTH > 32 || c.LAST_CPUPID_WIDTH > 32) {
    throw new ModelInvariantError(`page flags layout: a field is wider than the model supports: ${JSON.stringify(c)}`);
  }
  const SECTIONS_PGOFF = 64 - c.SECTIONS_WIDTH;
  const NODES_PGOFF = SECTIONS_PGOFF - c.NODES_WIDTH;
  const ZONES_PGOFF = NODES_PGOFF - c.ZONES_WIDTH;
  const LAST_CPUPID_PGOFF = ZONES_PGOFF - c.LAST_CPUPID_WIDTH;
  if (LAST_CPUPID_PGOFF < c.NR_PAGEFLAGS) {
    throw new ModelInvariantError(
      `page flags layout: SECTION(${c.SECTIONS_WIDTH})+NODE(${c.NODES_WIDTH})+ZONE(${c.ZONES_WIDTH})+LAST_CPUPID(${c.LAST_CPUPID_WIDTH}) ` +
        `do not fit above NR_PAGEFLAGS ${c.NR_PAGEFLAGS} in 64 bits (page-flags-layout.h #error)`,
    );
  }
  const section = field('section', SECTIONS_PGOFF, c.SECTIONS_WIDTH);
  const node = field('node', NODES_PGOFF, c.NODES_WIDTH);
  const zone = field('zone', ZONES_PGOFF, c.ZONES_WIDTH);
  const lastcpupid = field('lastcpupid', LAST_CPUPID_PGOFF, c.LAST_CPUPID_WIDTH);
  const fields = [section, node, zone, lastcpupid].filter((f) => f.width > 0);
  const PACKED_MASK = bitRange(LAST_CPUPID_PGOFF, 64);
  const PAGEFLAGS_MASK = bitRange(0, c.NR_PAGEFLAGS);
  const __PG_HWPOISON = c.NR_PAGEFLAGS > PG_hwpoison ? bitsMask([PG_hwpoison]) : { lo: 0, hi: 0 };
  const PAGE_FLAGS_CHECK_AT_FREE = bitsMask([
    PG_lru, PG_locked, PG_private, PG_private_2, PG_writeback, PG_reserved, PG_active, PG_unevictable, PG_mlocked,
  ]);
  const PAGE_FLAGS_CHECK_AT_PREP = {
    lo: (PAGEFLAGS_MASK.lo & ~__PG_HWPOISON.lo) >>> 0,
    hi: (PAGEFLAGS_MASK.hi & ~__PG_HWPOISON.hi) >>> 0,
  };
  return {
    NR_PAGEFLAGS: c.NR_PAGEFLAGS,
    SECTIONS_PGOFF,
    NODES_PGOFF,
    ZONES_PGOFF,
    LAST_CPUPID_PGOFF,
    section,
    node,
    zone,
    lastcpupid,
    fields,
    PACKED_MASK,
    PAGEFLAGS_MASK,
    __PG_HWPOISON,
    PAGE_FLAGS_CHECK_AT_FREE,
    PAGE_FLAGS_CHECK_AT_PREP,
    PAGE_FLAGS_CHECK_NEW: {
      lo: (PAGE_FLAGS_CHECK_AT_PREP.lo | __PG_HWPOISON.lo) >>> 0,
      hi: (PAGE_FLAGS_CHECK_AT_PREP.hi | __PG_HWPOISON.hi) >>> 0,
    },
  };
}
