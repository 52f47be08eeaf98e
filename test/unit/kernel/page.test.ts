import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newExecution } from '../../helpers/sim.ts';
import { bootMemory } from '../../../src/kernel/model/boot-memory.ts';
import { DEFAULT_CONFIG, DEFAULT_PAGE_FLAGS } from '../../../src/kernel/model/config.ts';
import {
  PageArray,
  PageLRU,
  PageReserved,
  PageTable,
  __ClearPageTable,
  __SetPageBuddy,
  __SetPageTable,
  dump_page,
  flagsWordOr,
  page_cpupid_last,
  page_cpupid_xchg_last,
  page_has_type,
  page_to_nid,
  page_zonenum,
  set_page_node,
  set_page_zone,
  test_bit,
} from '../../../src/kernel/include/linux/mm_types.ts';
import { PG_head, PG_locked, PG_waiters, computePageFlagsLayout } from '../../../src/kernel/include/linux/page-flags.ts';
import { ModelInvariantError } from '../../../src/sim/index.ts';

test('page-flags-layout: fields are packed downwards from bit 63 (NODE 57-63, ZONE 55-56, LAST_CPUPID 44-54 by default, as in a syzbot x86-64 dump)', () => {
  const L = computePageFlagsLayout(DEFAULT_PAGE_FLAGS);
  assert.equal(L.NODES_PGOFF, 57);
  assert.equal(L.ZONES_PGOFF, 55);
  assert.equal(L.LAST_CPUPID_PGOFF, 44);
  assert.deepEqual(L.PACKED_MASK, { lo: 0, hi: 0xfffff000 });
  assert.deepEqual(L.PAGEFLAGS_MASK, { lo: 0x3fffff, hi: 0 });
});

test('page-flags-layout: fields that do not fit above NR_PAGEFLAGS are refused, as Linux fails the build', () => {
  assert.throws(() => computePageFlagsLayout({ ...DEFAULT_PAGE_FLAGS, NR_PAGEFLAGS: 50 }), ModelInvariantError);
  assert.throws(() => computePageFlagsLayout({ ...DEFAULT_PAGE_FLAGS, NR_PAGEFLAGS: 20 }), ModelInvariantError);
});

test('PG_head is bit 6 and PG_waiters bit 7 (enum pageflags, v6.18)', () => {
  assert.equal(PG_head, 6);
  assert.equal(PG_waiters, 7);
});

test('the packed fields decode: zone, node and last_cpupid as memmap init and the setters left them', () => {
  const k = bootMemory(newExecution(), { ...DEFAULT_CONFIG, frames: 64 });
  assert.equal(page_zonenum(k.pages, 5), 1, 'ZONE_DMA32');
  assert.equal(page_zonenum(k.pages, 40), 2, 'ZONE_NORMAL');
  assert.equal(page_to_nid(k.pages, 40), 0);
  assert.equal(page_cpupid_last(k.pages, 40), 0x7ff, 'reset to all ones');
  set_page_node(k.pages, 40, 5);
  assert.equal(page_cpupid_xchg_last(k.pages, 40, 0x123), 0x7ff);
  assert.equal(page_to_nid(k.pages, 40), 5);
  assert.equal(page_zonenum(k.pages, 40), 2);
  assert.equal(page_cpupid_last(k.pages, 40), 0x123);
  assert.equal(k.pages.packedFieldsIntact(40), true);
  assert.equal(k.pages.packedFields(40), (5n << 57n) | (2n << 55n) | (0x123n << 44n));
});

test('a field straddling bit 32 reads back what was written', () => {
  const pages = new PageArray(4, { NR_PAGEFLAGS: 22, SECTIONS_WIDTH: 0, NODES_WIDTH: 10, ZONES_WIDTH: 2, LAST_CPUPID_WIDTH: 30 });
  assert.equal(pages.layout.LAST_CPUPID_PGOFF, 22);
  page_cpupid_xchg_last(pages, 1, 0x2345678a);
  set_page_zone(pages, 1, 3);
  assert.equal(page_cpupid_last(pages, 1), 0x2345678a);
  assert.equal(page_zonenum(pages, 1), 3);
});

test('BIT(NR_PAGEFLAGS) lands in the gap by default, but inside LAST_CPUPID when the fields reach down to NR_PAGEFLAGS (flags-corruption)', () => {
  const gap = new PageArray(2, DEFAULT_PAGE_FLAGS);
  flagsWordOr(gap, 1, DEFAULT_PAGE_FLAGS.NR_PAGEFLAGS);
  assert.equal(gap.packedFieldsIntact(1), true);
  const tight = new PageArray(2, { NR_PAGEFLAGS: 22, SECTIONS_WIDTH: 0, NODES_WIDTH: 10, ZONES_WIDTH: 2, LAST_CPUPID_WIDTH: 30 });
  flagsWordOr(tight, 1, 22);
  assert.equal(tight.packedFieldsIntact(1), false);
  assert.deepEqual(tight.corruptedPackedFields(), [1]);
  assert.equal(page_cpupid_last(tight, 1), 1);
});

test('BIT(64) is BIT(0) on x86-64 (SHL masks the count): with NR_PAGEFLAGS == 64 the flag aliases PG_locked', () => {
  const pages = new PageArray(2, { NR_PAGEFLAGS: 64, SECTIONS_WIDTH: 0, NODES_WIDTH: 0, ZONES_WIDTH: 0, LAST_CPUPID_WIDTH: 0 });
  flagsWordOr(pages, 1, 64);
  assert.equal(test_bit(pages, PG_locked, 1), true);
  assert.equal(pages.flagsHi[1], 0);
});

test('test_bit beyond the 64-bit flags word is a model error', () => {
  const pages = new PageArray(2, DEFAULT_PAGE_FLAGS);
  assert.throws(() => test_bit(pages, 64, 0), ModelInvariantError);
});

test('page_type overlays _mapcount: a PGTY_table page has _mapcount != -1 and dumps as page_type: f2(table) with mapcount:0', () => {
  const exec = newExecution();
  const k = bootMemory(exec, { ...DEFAULT_CONFIG, frames: 64 });
  assert.equal(k.pages.mapcount[40], -1);
  // page 40 is inside a free block but not its head, so it has no type.
  assert.equal(page_has_type(k.pages, 40), false);
  assert.equal(__SetPageTable(k, 40), true);
  assert.equal(PageTable(k.pages, 40), true);
  assert.notEqual(k.pages.mapcount[40], -1);
  const dump = dump_page(k.pages, 40, 'test');
  assert.deepEqual(dump, [
    'page: refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x28',
    'flags: 0x17ff00000000000(node=0|zone=2|lastcpupid=0x7ff)',
    'page_type: f2(table)',
    'page dumped because: test',
  ]);
  assert.equal(__ClearPageTable(k, 40), true);
  assert.equal(k.pages.mapcount[40], -1);
  assert.deepEqual(exec.violations, []);
});

test('__SetPageTable on a page with another type is VM_BUG_ON_PAGE and leaves the page alone', () => {
  const exec = newExecution();
  const k = bootMemory(exec, { ...DEFAULT_CONFIG, frames: 64 });
  assert.equal(__SetPageBuddy(k, 40), true);
  assert.equal(__SetPageTable(k, 40), false);
  assert.equal(PageTable(k.pages, 40), false);
  assert.equal(exec.violations.length, 1);
  assert.equal(exec.violations[0].kind, 'bad-page');
  assert.ok(exec.violations[0].details.includes('page dumped because: VM_BUG_ON_PAGE(data_race(page->page_type) != UINT_MAX)'));
});

test('frame 0 and memblock pages are PageReserved; buddy pages are not on the LRU', () => {
  const k = bootMemory(newExecution(), { ...DEFAULT_CONFIG, frames: 64 });
  assert.equal(PageReserved(k.pages, 0), true);
  assert.equal(PageReserved(k.pages, 1), false);
  assert.equal(PageLRU(k.pages, 1), false);
});
