import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_SIZE, PMD_SIZE, type Va } from '../../../src/hw/address.ts';
import { PAGE_KERNEL_LARGE, mk_entry } from '../../../src/hw/index.ts';
import { GFP_KERNEL } from '../../../src/kernel/include/linux/gfp.ts';
import { alloc_page, alloc_pages, check_free_lists, compound_order, nr_free_pages, ZONE_NORMAL } from '../../../src/kernel/mm/page_alloc.ts';
import type { KernelConfig } from '../../../src/kernel/model/config.ts';
import type { KernelHooks } from '../../../src/kernel/model/hooks.ts';
import type { Kernel } from '../../../src/kernel/model/kernel.ts';
import { __va } from '../../../src/kernel/arch/x86/include/asm/pgtable_64_types.ts';
import { walkList } from '../../../src/kernel/include/linux/list.ts';
import { add_memory, remove_memory, section_start_pfn, section_vmemmap } from '../../../src/kernel/mm/memory_hotplug.ts';
import { PageHead, PageReserved, PageTable, SHADOW_ALLOCATED, SHADOW_FREE } from '../../../src/kernel/include/linux/mm_types.ts';
import { entry_leaf, entry_ptr, entry_table } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { ptdesc_test_kernel } from '../../../src/kernel/include/linux/mm.ts';
import { global_node_page_state } from '../../../src/kernel/mm/vmstat.ts';
import { generic_free_pagetable } from '../../../src/kernel/arch/x86/mm/init_64.ts';
import type { ChoicePoint, Scheduler, Sim } from '../../../src/sim/index.ts';
import { bootTestKernel, entryAt, runClean } from '../../helpers/kernel.ts';

/** 2048 frames, four 512-frame sections; the top one (section 3, pfn 0x600-0x7ff) is absent at boot. */
const HOTPLUG: Partial<KernelConfig> = { hotplugSections: 1 };
const S = 3;

function hotplugKernel(config: Partial<KernelConfig> = {}, hooks?: Partial<KernelHooks>, scheduler?: Scheduler): Kernel {
  return bootTestKernel({ config: { ...HOTPLUG, ...config }, hooks, scheduler });
}



function sectionVa(k: Kernel, s: number, page = 0): Va {
  return __va(k.layout, (section_start_pfn(k, s) + page) * PAGE_SIZE);
}

function* translates(k: Kernel, va: Va): Sim<number | null> {
  const t = yield* k.cpus[0].translate(va, { write: false, user: false });
  return t.ok ? t.pa : null;
}

/** Every free list's blocks, to compare the allocator before and after. */
function freeLists(k: Kernel): string {
  return k.zones.map((z) => z.free_area.map((a) => walkList(k.lists, a.free_list).entries.join(',')).join('|')).join('/');
}

function normalZone(k: Kernel) {
  return k.zones.find((z) => z.zone_idx === ZONE_NORMAL)!;
}

test('a hot-pluggable section is absent at boot: not direct-mapped, PageReserved, not in the buddy allocator', () => {
  const k = hotplugKernel();
  const first = section_start_pfn(k, S);
  assert.equal(k.memory_hotplug.present[S], 0);
  assert.equal(k.memory_hotplug.present[S - 1], 1);
  assert.equal(entryAt(k, sectionVa(k, S), 2)?.value, 0n);
  for (const p of [first, first + 1, first + 511]) {
    assert.ok(PageReserved(k.pages, p));
    assert.notEqual(k.pages.shadow[p], SHADOW_FREE);
  }
  assert.equal(nr_free_pages(k) + 1 + 512 + 5, k.mem.frames, 'frame 0, the absent section and 5 boot tables are all that is not free');
});

test('add_memory maps the section in the direct map and gives its frames to the buddy allocator (arch_add_memory, online_pages)', () => {
  const k = hotplugKernel();
  const before = nr_free_pages(k);
  const managed = normalZone(k).managed_pages;
  let ok = false;
  const pas: (number | null)[] = [];
  runClean(k, function* () {
    ok = yield* add_memory(k, S);
    for (const page of [0, 1, 300, 511]) pas.push(yield* translates(k, sectionVa(k, S, page) + 8n));
  });
  assert.ok(ok);
  assert.equal(k.memory_hotplug.present[S], 1);
  const first = section_start_pfn(k, S);
  assert.deepEqual(pas, [0, 1, 300, 511].map((p) => (first + p) * PAGE_SIZE + 8));
  assert.equal(entryAt(k, sectionVa(k, S), 2)?.value, mk_entry(first * PAGE_SIZE, PAGE_KERNEL_LARGE), 'a 2 MiB PAGE_KERNEL_LARGE leaf');
  // +512 onlined, -512 for the vmemmap block, -1 for the vmemmap PMD table; the 2 MiB direct map needs no table.
  assert.equal(nr_free_pages(k), before - 1);
  assert.equal(normalZone(k).managed_pages, managed + 512);
  assert.ok(!PageReserved(k.pages, first));
  assert.deepEqual(check_free_lists(k), []);
});

test('the direct-map PTE tables of a hot-add come from alloc_low_page: unmarked (PT_kernel clear), not PageTable, no NR_PAGETABLE', () => {
  const k = hotplugKernel({ directMap4k: true });
  const pagetables = global_node_page_state(k, 'NR_PAGETABLE');
  runClean(k, function* () {
    assert.ok(yield* add_memory(k, S));
  });
  const pmd = entryAt(k, sectionVa(k, S), 2)!.value;
  assert.ok(pmd !== 0n && !entry_leaf(pmd), 'a PTE table under the PMD');
  const pte = entry_table(pmd) / PAGE_SIZE;
  const vmemmapPmdTable = entry_table(entryAt(k, section_vmemmap(k, S), 3)!.value) / PAGE_SIZE;
  for (const table of [pte, vmemmapPmdTable]) {
    assert.ok(!ptdesc_test_kernel(k.pages, table), 'not marked PT_kernel');
    assert.ok(!PageTable(k.pages, table), 'no pagetable ctor');
    assert.ok(!PageReserved(k.pages, table));
    assert.equal(k.pages.refcount[table], 1);
  }
  assert.equal(global_node_page_state(k, 'NR_PAGETABLE'), pagetables);
  assert.equal(k.mem.read64(entry_ptr(pte * PAGE_SIZE, sectionVa(k, S, 5), 1)) & ~0xfffn & ((1n << 52n) - 1n), BigInt((section_start_pfn(k, S) + 5) * PAGE_SIZE));
});

test('the vmemmap of a hot-added section is one order-9 non-compound block mapped by a PMD leaf (vmemmap_alloc_block without __GFP_COMP)', () => {
  const k = hotplugKernel();
  runClean(k, function* () {
    assert.ok(yield* add_memory(k, S));
  });
  const pmd = entryAt(k, section_vmemmap(k, S), 2)!.value;
  assert.ok(entry_leaf(pmd), 'a 2 MiB leaf');
  const block = entry_table(pmd) / PAGE_SIZE;
  assert.equal(pmd, mk_entry(block * PAGE_SIZE, PAGE_KERNEL_LARGE));
  assert.equal(block % 512, 0, 'naturally aligned order-9 block');
  assert.ok(!PageHead(k.pages, block));
  assert.equal(compound_order(k.pages, block), 0, 'compound_order() sees one page (docs/kernel/pitfalls.md §8)');
  assert.equal(k.pages.refcount[block], 1);
  for (let i = 1; i < 512; i++) assert.equal(k.pages.refcount[block + i], 0, `tail ${i} holds no reference`);
  for (let i = 0; i < 512; i++) assert.equal(k.pages.shadow[block + i], SHADOW_ALLOCATED);
  // Boot sections have no vmemmap mapping in the model.
  assert.equal(entryAt(k, section_vmemmap(k, 1), 2)?.value ?? 0n, 0n);
});

test('remove_memory after add_memory gives every page back with the generic free_pagetable (__free_pages of the order-9 block)', () => {
  for (const directMap4k of [false, true]) {
    const freed: Array<[number, number]> = [];
    const k = hotplugKernel({ directMap4k }, {
      *free_pagetable(k, page, order) {
        freed.push([page, order]);
        yield* generic_free_pagetable(k, page, order);
      },
    });
    const before = nr_free_pages(k);
    const managed = normalZone(k).managed_pages;
    let block = -1;
    let pte = -1;
    let removed = false;
    let after: number | null = 0;
    runClean(k, function* () {
      assert.ok(yield* add_memory(k, S));
      block = entry_table(entryAt(k, section_vmemmap(k, S), 2)!.value) / PAGE_SIZE;
      if (directMap4k) pte = entry_table(entryAt(k, sectionVa(k, S), 2)!.value) / PAGE_SIZE;
      assert.notEqual(yield* translates(k, sectionVa(k, S, 7)), null);
      removed = yield* remove_memory(k, S);
      after = yield* translates(k, sectionVa(k, S, 7));
    });
    assert.ok(removed);
    assert.equal(after, null, 'the direct map of the section is gone');
    assert.equal(nr_free_pages(k), before, `directMap4k=${directMap4k}: all pages back`);
    assert.equal(normalZone(k).managed_pages, managed);
    assert.equal(freed[0][0], block);
    assert.equal(freed[0][1], 9);
    for (let i = 0; i < 512; i++) assert.equal(k.pages.shadow[block + i], SHADOW_FREE, `vmemmap page ${i} freed`);
    assert.equal(freed.length, directMap4k ? 3 : 2, 'block, vmemmap PMD table (and the direct-map PTE table)');
    if (directMap4k) assert.deepEqual(freed[2], [pte, 0]);
    assert.equal(entryAt(k, section_vmemmap(k, S), 3)!.value, 0n, 'the emptied vmemmap PMD table is unlinked');
    assert.equal(k.memory_hotplug.present[S], 0);
    assert.ok(PageReserved(k.pages, section_start_pfn(k, S)), 'struct pages back to absent');
    assert.deepEqual(check_free_lists(k), []);
  }
});

test('add and remove can repeat: the allocator ends where it started', () => {
  const k = hotplugKernel({ directMap4k: true });
  const before = nr_free_pages(k);
  const results: boolean[] = [];
  runClean(k, function* () {
    for (let i = 0; i < 3; i++) {
      results.push(yield* add_memory(k, S));
      results.push(yield* remove_memory(k, S));
    }
  });
  assert.deepEqual(results, [true, true, true, true, true, true]);
  assert.equal(nr_free_pages(k), before);
  assert.deepEqual(check_free_lists(k), []);
});

test('add_memory of a present section is -EEXIST, remove_memory of an absent or zone-spanning one -EINVAL: false, nothing changes', () => {
  const k = hotplugKernel();
  const before = nr_free_pages(k);
  const results: boolean[] = [];
  runClean(k, function* () {
    results.push(yield* add_memory(k, 1));
    results.push(yield* remove_memory(k, S));
  });
  assert.deepEqual(results, [false, false]);
  assert.equal(nr_free_pages(k), before);
  // 1024 frames: ZONE_DMA32 is pfn 0-0xff, so section 0 spans two zones (test_pages_in_a_zone).
  const small = hotplugKernel({ frames: 1024, hotplugSections: 0 });
  runClean(small, function* () {
    results.push(yield* remove_memory(small, 0));
  });
  assert.equal(results[2], false);
  assert.equal(small.memory_hotplug.present[0], 1);
  assert.throws(
    () =>
      runClean(k, function* () {
        yield* add_memory(k, 4);
      }),
    /no such section/,
  );
});

test('remove_memory of a section with an allocated page fails with -EBUSY and changes nothing (offline_pages)', () => {
  const k = hotplugKernel({ hotplugSections: 0 });
  let page = -1;
  let removed = true;
  let snapshot = '';
  let free = 0;
  let still: number | null = null;
  runClean(k, function* () {
    page = (yield* alloc_page(k, GFP_KERNEL))!;
    snapshot = freeLists(k);
    free = nr_free_pages(k);
    removed = yield* remove_memory(k, Math.floor(page / 512));
    still = yield* translates(k, __va(k.layout, page * PAGE_SIZE));
  });
  assert.equal(removed, false);
  assert.equal(freeLists(k), snapshot, 'no block left the free lists');
  assert.equal(nr_free_pages(k), free);
  assert.equal(still, page * PAGE_SIZE, 'still direct-mapped');
  assert.equal(k.memory_hotplug.present[Math.floor(page / 512)], 1);
  assert.deepEqual(check_free_lists(k), []);
});

test('offline_pages takes a section out of a larger free block and gives the rest back (break_down_buddy_pages)', () => {
  // 4096 frames: sections 4 and 5 (pfn 0x800-0xbff) sit in one free order-10 block at boot.
  const k = hotplugKernel({ frames: 4096, hotplugSections: 0 });
  const before = nr_free_pages(k);
  let removed = false;
  runClean(k, function* () {
    removed = yield* remove_memory(k, 4);
  });
  assert.ok(removed);
  assert.equal(nr_free_pages(k), before - 512);
  assert.deepEqual(check_free_lists(k), []);
  assert.equal(k.pages.private[5 * 512], 9, 'section 5 is a free order-9 block now');
});

/** Threads: lowest runnable; data choices from a script (0 = succeed, 1 = fail), then succeed. */
class FailScheduler implements Scheduler {
  private next = 0;
  constructor(private readonly data: readonly number[]) {}
  beginExecution(index: number): boolean {
    return index === 0;
  }
  choose(point: ChoicePoint): number {
    if (point.kind === 'thread') return 0;
    return this.next < this.data.length ? this.data[this.next++] : 0;
  }
}

test('a failed alloc_low_page (GFP_ATOMIC, fault injection) fails add_memory, and what it mapped is removed again', () => {
  // Two PMDs per section: the first PTE table succeeds, the second allocation fails.
  const freed: number[] = [];
  const k = hotplugKernel(
    { sectionFrames: 1024, directMap4k: true, failAtomicAllocations: true },
    {
      *free_pagetable(k, page, order) {
        freed.push(page);
        yield* generic_free_pagetable(k, page, order);
      },
    },
    new FailScheduler([0, 1]),
  );
  const before = nr_free_pages(k);
  let added = true;
  let firstTable = -1;
  k.observers.push({ pagesAllocated: (page) => (firstTable = firstTable < 0 ? page : firstTable) });
  runClean(k, function* () {
    added = yield* add_memory(k, 1);
  });
  assert.equal(added, false);
  assert.deepEqual(freed, [firstTable], 'the first PTE table, allocated and linked before the failure, is freed');
  assert.equal(k.memory_hotplug.present[1], 0);
  assert.equal(entryAt(k, sectionVa(k, 1), 2)?.value, 0n, 'the PTE table that was linked is gone');
  assert.equal(nr_free_pages(k), before, 'and freed');
  assert.deepEqual(check_free_lists(k), []);
});

/** Allocates order-9 blocks until none is left; returns them. */
function* takeOrder9(k: Kernel): Sim<number[]> {
  const taken: number[] = [];
  for (let p = yield* alloc_pages(k, GFP_KERNEL, 9); p !== null; p = yield* alloc_pages(k, GFP_KERNEL, 9)) taken.push(p);
  return taken;
}

test('without a free order-9 block the vmemmap falls back to base pages, and hot-remove frees each with free_pagetable(page, 0)', () => {
  const orders: number[] = [];
  const k = hotplugKernel({}, {
    *free_pagetable(k, page, order) {
      orders.push(order);
      yield* generic_free_pagetable(k, page, order);
    },
  });
  let before = 0;
  let pmd = 0n;
  runClean(k, function* () {
    yield* takeOrder9(k);
    before = nr_free_pages(k);
    assert.ok(yield* add_memory(k, S));
    pmd = entryAt(k, section_vmemmap(k, S), 2)!.value;
    assert.ok(yield* remove_memory(k, S));
  });
  assert.ok(pmd !== 0n && !entry_leaf(pmd), 'the vmemmap PMD points to a PTE table');
  assert.equal(orders.filter((o) => o === 0).length, 512 + 2, '512 memmap pages, the PTE table, the PMD table');
  assert.ok(!orders.includes(9));
  assert.equal(nr_free_pages(k), before);
  assert.deepEqual(check_free_lists(k), []);
});

test('running out of memory while populating the vmemmap fails add_memory and vmemmap_free undoes the partial memmap (section_activate)', () => {
  let frees = 0;
  const k = hotplugKernel({}, {
    *free_pagetable(k, page, order) {
      frees++;
      yield* generic_free_pagetable(k, page, order);
    },
  });
  let before = 0;
  let added = true;
  runClean(k, function* () {
    yield* takeOrder9(k);
    while (nr_free_pages(k) > 100) yield* alloc_page(k, GFP_KERNEL);
    before = nr_free_pages(k);
    added = yield* add_memory(k, S);
  });
  assert.equal(added, false);
  assert.ok(frees > 50, `the base pages populated before memory ran out are freed (${frees} frees)`);
  assert.equal(nr_free_pages(k), before);
  assert.equal(entryAt(k, section_vmemmap(k, S), 3)!.value, 0n);
  assert.equal(entryAt(k, sectionVa(k, S), 2)?.value, 0n);
  assert.deepEqual(check_free_lists(k), []);
});

test('with 5-level paging hot-remove also frees the emptied vmemmap PUD table (free_pud_table), and the next hot-add builds a new one', () => {
  const k = hotplugKernel({ pagingLevels: 5 });
  const p4d = () => entryAt(k, section_vmemmap(k, S), 4)!.value;
  const bootPud = entry_table(p4d()) / PAGE_SIZE;
  assert.ok(PageReserved(k.pages, bootPud), 'a memblock table from boot');
  const before = nr_free_pages(k);
  const afterRemove = { p4d: -1n, free: 0, reserved: true, shadow: -1 };
  runClean(k, function* () {
    assert.ok(yield* add_memory(k, S));
    assert.ok(yield* remove_memory(k, S));
    Object.assign(afterRemove, { p4d: p4d(), free: nr_free_pages(k), reserved: PageReserved(k.pages, bootPud), shadow: k.pages.shadow[bootPud] });
    assert.ok(yield* add_memory(k, S));
  });
  assert.equal(afterRemove.p4d, 0n, 'the P4D entry was cleared');
  assert.equal(afterRemove.reserved, false, 'the boot PUD table went back through free_reserved_page');
  assert.equal(afterRemove.shadow, SHADOW_FREE);
  assert.equal(afterRemove.free, before + 1, 'one page more than at boot: the PUD table');
  assert.notEqual(p4d(), 0n, 'a new PUD table');
  assert.equal(nr_free_pages(k), before - 1, 'the new PUD table (-1), PMD table (-1) and block (-512), the onlined section (+512)');
  assert.deepEqual(check_free_lists(k), []);
});

test('hot-plug configurations that cannot be laid out are model errors', () => {
  assert.throws(() => hotplugKernel({ sectionFrames: 300 }), /multiple of 512/);
  assert.throws(() => hotplugKernel({ frames: 1100 }), /whole number/);
  assert.throws(() => hotplugKernel({ hotplugSections: 4 }), /ZONE_NORMAL/);
  assert.equal(PMD_SIZE / PAGE_SIZE, 512);
});
