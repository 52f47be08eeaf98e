import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_SIZE, PMD_SIZE, type Va } from '../../../src/hw/address.ts';
import { PAGE_KERNEL, mk_entry } from '../../../src/hw/index.ts';
import { nr_free_pages, ZONE_NORMAL } from '../../../src/kernel/mm/page_alloc.ts';
import type { KernelConfig } from '../../../src/kernel/model/config.ts';
import type { KernelHooks } from '../../../src/kernel/model/hooks.ts';
import type { Kernel } from '../../../src/kernel/model/kernel.ts';
import { __va } from '../../../src/kernel/arch/x86/include/asm/pgtable_64_types.ts';
import { add_memory, remove_memory } from '../../../src/kernel/mm/memory_hotplug.ts';
import { PageReserved, SHADOW_FREE } from '../../../src/kernel/include/linux/mm_types.ts';
import { entry_ptr, entry_table, table_entry } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { generic_flush_tlb_all } from '../../../src/kernel/arch/x86/mm/tlb.ts';
import { generic_free_pagetable, init_memory_mapping, kernel_physical_mapping_remove } from '../../../src/kernel/arch/x86/mm/init_64.ts';
import { bootTestKernel, entryAt, runClean } from '../../helpers/kernel.ts';

function kernel(config: Partial<KernelConfig>, hooks?: Partial<KernelHooks>): Kernel {
  return bootTestKernel({ config, hooks });
}



const pfnVa = (k: Kernel, pfn: number): Va => __va(k.layout, pfn * PAGE_SIZE);

test('phys_pmd_init fills a new PTE table from alloc_low_page before linking it under init_mm.page_table_lock (4 KiB PAGE_KERNEL leaves)', () => {
  const k = kernel({ hotplugSections: 1, directMap4k: true });
  const pa = 1536 * PAGE_SIZE;
  const pmdp = entryAt(k, __va(k.layout, pa), 2)!.ptr;
  const writes: string[] = [];
  k.observers.push({
    pgtableWrite(level, ptr, _old, value) {
      if (level === 2 && ptr === pmdp) writes.push(`pmd locked=${k.init_mm.page_table_lock.owner !== null} ${value === 0n ? 'clear' : 'link'}`);
      else if (level === 1) writes.push('pte');
    },
  });
  let ok = false;
  runClean(k, function* () {
    ok = yield* init_memory_mapping(k, pa, pa + PMD_SIZE);
  });
  assert.ok(ok);
  assert.deepEqual(writes, [...Array(512).fill('pte'), 'pmd locked=true link']);
  const table = entry_table(k.mem.read64(pmdp));
  assert.equal(k.mem.read64(pmdp), table_entry(table / PAGE_SIZE));
  assert.equal(k.mem.read64(entry_ptr(table, __va(k.layout, pa + 3 * PAGE_SIZE), 1)), mk_entry(pa + 3 * PAGE_SIZE, PAGE_KERNEL));
});

test('free_pte_table frees the emptied PTE table while the PMD still points to it, then clears the PMD under the lock (docs/kernel/pitfalls.md §11)', () => {
  const events: string[] = [];
  let pmdp = -1;
  let table = -1;
  const k = kernel({ hotplugSections: 1, directMap4k: true }, {
    *free_pagetable(k, page, order) {
      if (page === table) {
        const parent = k.mem.read64(pmdp);
        events.push(`free order ${order}, parent ${parent === table_entry(table) ? 'still linked' : 'gone'}, locked=${k.init_mm.page_table_lock.owner !== null}`);
      }
      yield* generic_free_pagetable(k, page, order);
    },
  });
  k.observers.push({
    pgtableWrite(level, ptr, _old, value) {
      if (level === 2 && ptr === pmdp && value === 0n) events.push(`pmd_clear locked=${k.init_mm.page_table_lock.owner !== null}`);
    },
  });
  runClean(k, function* () {
    assert.ok(yield* add_memory(k, 3));
    const pmd = entryAt(k, pfnVa(k, 1536), 2)!;
    pmdp = pmd.ptr;
    table = entry_table(pmd.value) / PAGE_SIZE;
    assert.ok(yield* remove_memory(k, 3));
  });
  assert.deepEqual(events, ['free order 0, parent still linked, locked=false', 'pmd_clear locked=true']);
  assert.equal(k.mem.read64(pmdp), 0n);
  assert.equal(k.pages.shadow[table], SHADOW_FREE);
});

test('hot-remove of a boot section frees its memblock direct-map PTE table through free_reserved_page (free_pagetable on a PageReserved page)', () => {
  // directMap4k at boot: every 2 MiB has a memblock PTE table, all at the top of memory, so
  // section 1 (pfn 0x200-0x3ff) holds none of them and is all free.
  const calls: Array<{ page: number; order: number; reserved: boolean }> = [];
  const k = kernel({ directMap4k: true }, {
    *free_pagetable(k, page, order) {
      calls.push({ page, order, reserved: PageReserved(k.pages, page) });
      yield* generic_free_pagetable(k, page, order);
    },
  });
  const table = entry_table(entryAt(k, pfnVa(k, 512), 2)!.value) / PAGE_SIZE;
  assert.ok(PageReserved(k.pages, table) && table >= 1536, 'a memblock table outside the section');
  const zone = k.zones.find((z) => z.zone_idx === ZONE_NORMAL)!;
  const managed = zone.managed_pages;
  const free = nr_free_pages(k);
  let removed = false;
  runClean(k, function* () {
    removed = yield* remove_memory(k, 1);
  });
  assert.ok(removed);
  assert.deepEqual(calls, [{ page: table, order: 0, reserved: true }]);
  assert.ok(!PageReserved(k.pages, table), 'ClearPageReserved');
  assert.equal(k.pages.shadow[table], SHADOW_FREE, 'and freed to the buddy allocator');
  assert.equal(zone.managed_pages, managed - 512 + 1, 'offlined section out, the reserved table in');
  assert.equal(nr_free_pages(k), free - 512 + 1);
  assert.equal(entryAt(k, pfnVa(k, 512), 2)!.value, 0n);
});

test('remove_pagetable ends with flush_tlb_all after its last free, and remove_pte_table flushes before free_pte_table', () => {
  const events: string[] = [];
  const k = kernel({ hotplugSections: 1, directMap4k: true }, {
    *free_pagetable(k, page, order) {
      events.push(`free ${order}`);
      yield* generic_free_pagetable(k, page, order);
    },
    *flush_tlb_all(k) {
      events.push('flush_tlb_all');
      yield* generic_flush_tlb_all(k);
    },
  });
  const va = pfnVa(k, 1600);
  let cached = false;
  let after = true;
  runClean(k, function* () {
    assert.ok(yield* add_memory(k, 3));
    assert.ok((yield* k.cpus[1].translate(va, { write: false, user: false })).ok);
    cached = k.cpus[1].tlbHas(va);
    events.length = 0;
    assert.ok(yield* remove_memory(k, 3));
    after = (yield* k.cpus[1].translate(va, { write: false, user: false })).ok;
  });
  // vmemmap_free: block, vmemmap PMD table, flush; direct map: remove_pte_table's flush, the PTE table, the final flush.
  assert.deepEqual(events, ['free 9', 'free 0', 'flush_tlb_all', 'flush_tlb_all', 'free 0', 'flush_tlb_all']);
  assert.ok(cached, 'cpu1 had the translation cached');
  assert.equal(after, false, 'after the flush cpu1 walks and faults');
});

test('free_pte_table keeps a PTE table that still maps something; only the cleared PTEs go', () => {
  const freed: number[] = [];
  const k = kernel({ directMap4k: true }, {
    *free_pagetable(k, page, order) {
      freed.push(page);
      yield* generic_free_pagetable(k, page, order);
    },
  });
  const pa = 512 * PAGE_SIZE;
  runClean(k, function* () {
    yield* kernel_physical_mapping_remove(k, pa, pa + PMD_SIZE / 2);
  });
  assert.deepEqual(freed, []);
  const pmd = entryAt(k, pfnVa(k, 512), 2)!.value;
  assert.notEqual(pmd, 0n, 'the PMD still points to the table');
  assert.equal(entryAt(k, pfnVa(k, 512 + 255), 1)!.value, 0n);
  assert.equal(entryAt(k, pfnVa(k, 512 + 256), 1)!.value, mk_entry(pa + 256 * PAGE_SIZE, PAGE_KERNEL));
});
