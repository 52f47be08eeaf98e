/**
 * The hooks at the x86 table allocators outside pgalloc.h and at hot-remove's free_*_table(): the
 * kernel reaches a design's override on every one of them, entered as a frame of the calling
 * thread, and the override's result is what the kernel links (src/kernel/model/hooks.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_SIZE, PMD_SIZE, type Va } from '../../../src/hw/address.ts';
import { __va } from '../../../src/kernel/arch/x86/include/asm/pgtable_64_types.ts';
import { entry_table, pmd_page } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { free_empty_table, generic_alloc_low_pages, generic_free_pagetable } from '../../../src/kernel/arch/x86/mm/init_64.ts';
import { generic_cpa_alloc_pgtable, set_memory_ro } from '../../../src/kernel/arch/x86/mm/pat/set_memory.ts';
import { generic_flush_tlb_all } from '../../../src/kernel/arch/x86/mm/tlb.ts';
import { currentThread } from '../../../src/kernel/include/linux/mm_types.ts';
import { add_memory, generic_vmemmap_alloc_block, remove_memory, section_start_pfn, section_vmemmap } from '../../../src/kernel/mm/memory_hotplug.ts';
import type { Kernel } from '../../../src/kernel/model/kernel.ts';
import { bootTestKernel, entryAt, runClean } from '../../helpers/kernel.ts';

/** 2048 frames; section 3 (pfn 0x600-0x7ff) is absent at boot. */
const S = 3;

const sectionVa = (k: Kernel, page: number): Va => __va(k.layout, (section_start_pfn(k, S) + page) * PAGE_SIZE);

/** The hook frames the running thread is inside, innermost last. */
const frames = (k: Kernel) => [...(currentThread(k.exec)?.frames ?? [])];

test('hot-add takes each direct-map PTE table from the alloc_low_pages hook (alloc_low_page() = alloc_low_pages(1), arch/x86/mm/init.c) and links what it returns', () => {
  const calls: Array<{ num: number; page: number | null; frames: string[] }> = [];
  const k = bootTestKernel({
    config: { hotplugSections: 1, directMap4k: true },
    hooks: {
      *alloc_low_pages(kk, num) {
        const page = yield* generic_alloc_low_pages(kk, num);
        calls.push({ num, page, frames: frames(kk) });
        return page;
      },
    },
  });
  runClean(k, function* () {
    assert.ok(yield* add_memory(k, S));
  });
  // One section is one PMD here (512 frames): one PTE table.
  assert.equal(calls.length, 1);
  assert.equal(calls[0].num, 1);
  assert.deepEqual(calls[0].frames, ['alloc_low_pages']);
  assert.equal(pmd_page(entryAt(k, sectionVa(k, 0), 2)!.value), calls[0].page, 'the PMD links the table the hook returned');
});

test('hot-add takes the vmemmap PMD table and the memmap block from the vmemmap_alloc_block hook (mm/sparse-vmemmap.c), table first, and maps what it returns', () => {
  const calls: Array<{ size: number; page: number | null; frames: string[] }> = [];
  const k = bootTestKernel({
    config: { hotplugSections: 1 },
    hooks: {
      *vmemmap_alloc_block(kk, size) {
        const page = yield* generic_vmemmap_alloc_block(kk, size);
        calls.push({ size, page, frames: frames(kk) });
        return page;
      },
    },
  });
  runClean(k, function* () {
    assert.ok(yield* add_memory(k, S));
  });
  assert.deepEqual(calls.map((c) => [c.size, c.frames]), [[PAGE_SIZE, ['vmemmap_alloc_block']], [PMD_SIZE, ['vmemmap_alloc_block']]]);
  const vmemmap = section_vmemmap(k, S);
  assert.equal(entry_table(entryAt(k, vmemmap, 3)!.value) / PAGE_SIZE, calls[0].page, 'the PUD entry links the PMD table');
  assert.equal(pmd_page(entryAt(k, vmemmap, 2)!.value), calls[1].page, 'the PMD leaf maps the block');
});

test('split_large_page() takes its new table from the cpa_alloc_pgtable hook (arch/x86/mm/pat/set_memory.c) and links what it returns in place of the 2 MiB leaf', () => {
  const calls: Array<{ pt: number | null; frames: string[] }> = [];
  const k = bootTestKernel({
    hooks: {
      *cpa_alloc_pgtable(kk) {
        const pt = yield* generic_cpa_alloc_pgtable(kk);
        calls.push({ pt, frames: frames(kk) });
        return pt;
      },
    },
  });
  const va = __va(k.layout, 0x300 * PAGE_SIZE);
  runClean(k, function* () {
    assert.equal(yield* set_memory_ro(k, va, 1), 0);
  });
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0].frames, ['cpa_alloc_pgtable']);
  assert.equal(pmd_page(entryAt(k, va, 2)!.value), calls[0].pt);
});

test('hot-remove offers each emptied table to the free_pte_table/free_pmd_table/free_pud_table hooks; an override in the other order clears the parent entry and flushes before free_pagetable()', () => {
  const events: string[] = [];
  /** The parent entry of the table being freed, set by the free_*_table override before it frees. */
  let parent = -1;
  const clearFirst = (hook: string, level: 1 | 2 | 3) => (kk: Kernel, table: number, parentp: number) => {
    parent = parentp;
    events.push(hook);
    return free_empty_table(kk, level, table, parentp, 'clear-flush-free');
  };
  const k = bootTestKernel({
    config: { hotplugSections: 1, directMap4k: true, pagingLevels: 5 },
    hooks: {
      free_pte_table: clearFirst('free_pte_table', 1),
      free_pmd_table: clearFirst('free_pmd_table', 2),
      free_pud_table: clearFirst('free_pud_table', 3),
      *flush_tlb_all(kk) {
        events.push('flush_tlb_all');
        yield* generic_flush_tlb_all(kk);
      },
      *free_pagetable(kk, page, order) {
        const f = frames(kk);
        // A table freed by one of the three hooks: its parent entry must already be clear.
        if (f.length === 2) events.push(`free ${f.join(' > ')}, parent ${kk.mem.read64(parent) === 0n ? 'clear' : 'linked'}`);
        yield* generic_free_pagetable(kk, page, order);
      },
    },
  });
  runClean(k, function* () {
    assert.ok(yield* add_memory(k, S));
    events.length = 0;
    assert.ok(yield* remove_memory(k, S));
  });
  // vmemmap_free: the block (a leaf, not a table), then the PMD table and the PUD table emptied
  // above it; the direct map: remove_pte_table's flush, then its PTE table; the PMD table above it
  // still maps boot memory, so free_pmd_table keeps it (as does free_pud_table).
  assert.deepEqual(events, [
    'free_pmd_table',
    'flush_tlb_all',
    'free free_pmd_table > free_pagetable, parent clear',
    'free_pud_table',
    'flush_tlb_all',
    'free free_pud_table > free_pagetable, parent clear',
    'flush_tlb_all',
    'flush_tlb_all',
    'free_pte_table',
    'flush_tlb_all',
    'free free_pte_table > free_pagetable, parent clear',
    'free_pmd_table',
    'free_pud_table',
    'flush_tlb_all',
  ]);
});
