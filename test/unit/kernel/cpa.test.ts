import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_SIZE, TLB_FLUSH_ALL, type Va } from '../../../src/hw/address.ts';
import { PAGE_KERNEL, PAGE_KERNEL_LARGE, PAGE_KERNEL_RO, _PAGE_DIRTY, _PAGE_NX, _PAGE_PSE, _PAGE_RW, entry_pa, mk_entry } from '../../../src/hw/index.ts';
import { check_free_lists } from '../../../src/kernel/mm/page_alloc.ts';
import {
  CPA_PGTABLES_LIST,
  PG_LEVEL_4K,
  generic_cpa_free_pgtable,
  lookup_address,
  set_memory_ro,
  set_memory_rox,
  set_memory_rw,
} from '../../../src/kernel/arch/x86/mm/pat/set_memory.ts';
import type { KernelHooks } from '../../../src/kernel/model/hooks.ts';
import type { Kernel } from '../../../src/kernel/model/kernel.ts';
import { __va } from '../../../src/kernel/arch/x86/include/asm/pgtable_64_types.ts';
import { LIST_POISON1, LIST_POISON2, walkList } from '../../../src/kernel/include/linux/list.ts';
import { PageTable, SHADOW_ALLOCATED, SHADOW_FREE, type Ptdesc } from '../../../src/kernel/include/linux/mm_types.ts';
import { entry_leaf, entry_ptr, entry_table, pmd_page, pmdp_get, ptep_get, type EntryPtr } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { ptdesc_test_kernel } from '../../../src/kernel/include/linux/mm.ts';
import { spin_lock, spin_unlock } from '../../../src/kernel/kernel/locking/spinlock.ts';
import { generic_flush_tlb_all, generic_flush_tlb_kernel_range } from '../../../src/kernel/arch/x86/mm/tlb.ts';
import { vmalloc } from '../../../src/kernel/mm/vmalloc.ts';
import { global_node_page_state } from '../../../src/kernel/mm/vmstat.ts';
import { bootTestKernel, kinds, runKernel } from '../../helpers/kernel.ts';

/** The direct map's second 2 MiB leaf (pfns 0x200-0x3ff) and one page inside it. */
const REGION_PFN = 0x200;
const PAGE_PFN = 0x300;

function regionVa(k: Kernel): Va {
  return __va(k.layout, REGION_PFN * PAGE_SIZE);
}

function pageVa(k: Kernel): Va {
  return __va(k.layout, PAGE_PFN * PAGE_SIZE);
}

/** The PMD slot of `va` in init_mm (4-level paging), read straight from memory. */
function pmdPtr(k: Kernel, va: Va): EntryPtr {
  const pud = k.mem.read64(entry_ptr(k.init_mm.pgd, va, 4));
  const pmd = k.mem.read64(entry_ptr(entry_table(pud), va, 3));
  return entry_ptr(entry_table(pmd), va, 2);
}

/**
 * Hooks that record flush_tlb_all, flush_tlb_kernel_range and cpa_free_pgtable, in order, then do
 * the generic (v6.18) thing. At the free, the table must already be off the local list (list_del
 * poisons its pt_list).
 */
function recordingHooks(events: string[], freed: Ptdesc[] = []): Partial<KernelHooks> {
  return {
    *flush_tlb_all(k) {
      events.push('flush_tlb_all');
      yield* generic_flush_tlb_all(k);
    },
    *flush_tlb_kernel_range(k, start, end) {
      events.push(end === TLB_FLUSH_ALL ? 'flush_tlb_kernel_range(all)' : `flush_tlb_kernel_range(${(end - start) / BigInt(PAGE_SIZE)})`);
      yield* generic_flush_tlb_kernel_range(k, start, end);
    },
    *cpa_free_pgtable(k, pt) {
      events.push('cpa_free_pgtable');
      freed.push(pt);
      assert.deepEqual([k.lists.next[pt], k.lists.prev[pt]], [LIST_POISON1, LIST_POISON2]);
      yield* generic_cpa_free_pgtable(k, pt);
    },
  };
}

test('set_memory_ro on one 4 KiB page of a 2 MiB direct-map leaf splits it (split_large_page): 511 PTEs keep PAGE_KERNEL, the page is read-only, the CPU sees it', () => {
  const events: string[] = [];
  const k = bootTestKernel({ hooks: recordingHooks(events) });
  let pmdBefore = 0n;
  let pmdAfter = 0n;
  let ret = -1;
  const ptes: bigint[] = [];
  const writeBefore: string[] = [];
  const after: string[] = [];
  const result = runKernel(k, [
    function* () {
      const pmdp = pmdPtr(k, regionVa(k));
      pmdBefore = yield* pmdp_get(k, pmdp);
      // Warm the TLB with the 2 MiB translation: the flush must drop it.
      const w = yield* k.cpus[0].translate(pageVa(k), { write: true, user: false });
      writeBefore.push(w.ok ? `ok level ${w.pageLevel}` : w.reason);
      ret = yield* set_memory_ro(k, pageVa(k), 1);
      pmdAfter = yield* pmdp_get(k, pmdp);
      const table = entry_pa(pmdAfter);
      for (let i = 0; i < 512; i++) ptes.push(yield* ptep_get(k, table + 8 * i));
      const wr = yield* k.cpus[0].translate(pageVa(k), { write: true, user: false });
      const rd = yield* k.cpus[0].translate(pageVa(k), { write: false, user: false });
      const other = yield* k.cpus[0].translate(pageVa(k) + BigInt(PAGE_SIZE), { write: true, user: false });
      after.push(wr.ok ? 'write ok' : `write ${wr.reason}`, rd.ok ? `read ok level ${rd.pageLevel}` : `read ${rd.reason}`, other.ok ? 'next page write ok' : 'next page write faults');
    },
  ]);
  assert.deepEqual(kinds(result), []);
  assert.equal(ret, 0);
  assert.equal(pmdBefore, mk_entry(REGION_PFN * PAGE_SIZE, PAGE_KERNEL_LARGE));
  assert.ok(!entry_leaf(pmdAfter), 'the PMD now points to a PTE table');
  const ro = PAGE_PFN - REGION_PFN;
  ptes.forEach((pte, i) => assert.equal(pte, mk_entry((REGION_PFN + i) * PAGE_SIZE, i === ro ? PAGE_KERNEL_RO : PAGE_KERNEL), `pte ${i}`));
  assert.deepEqual(writeBefore, ['ok level 2']);
  assert.deepEqual(after, ['write protection', 'read ok level 1', 'next page write ok']);
  // The split flushes everything inside pgd_lock; cpa_flush() then flushes the one changed page.
  assert.deepEqual(events, ['flush_tlb_all', 'flush_tlb_kernel_range(1)']);
});

test('the table split_large_page installs comes from alloc_pages(GFP_KERNEL, 0): not PageTable, not PT_kernel, so even v6.19 frees it synchronously', () => {
  const k = bootTestKernel();
  let pt = -1;
  const pagetablesBefore = global_node_page_state(k, 'NR_PAGETABLE');
  runKernel(k, [
    function* () {
      const pmdp = pmdPtr(k, regionVa(k));
      yield* set_memory_ro(k, pageVa(k), 1);
      pt = pmd_page(yield* pmdp_get(k, pmdp));
    },
  ]);
  assert.equal(k.pages.shadow[pt], SHADOW_ALLOCATED);
  assert.equal(k.pages.refcount[pt], 1);
  assert.equal(PageTable(k.pages, pt), false, 'no pagetable ctor');
  assert.equal(ptdesc_test_kernel(k.pages, pt), false, 'nothing marks it (docs/kernel/deferred-free.md, Marking at allocation)');
  assert.equal(global_node_page_state(k, 'NR_PAGETABLE'), pagetablesBefore, 'not accounted as a page table');
});

test('set_memory_ro over a whole 2 MiB leaf keeps the leaf and rewrites it in place (__should_split_large_page)', () => {
  const events: string[] = [];
  const k = bootTestKernel({ hooks: recordingHooks(events) });
  let pmd = 0n;
  const before = global_node_page_state(k, 'NR_PAGETABLE');
  const freeBefore = k.pages.shadow.filter((s) => s === SHADOW_FREE).length;
  runKernel(k, [
    function* () {
      const pmdp = pmdPtr(k, regionVa(k));
      assert.equal(yield* set_memory_ro(k, regionVa(k), 512), 0);
      pmd = yield* pmdp_get(k, pmdp);
    },
  ]);
  assert.equal(pmd, mk_entry(REGION_PFN * PAGE_SIZE, PAGE_KERNEL_RO | _PAGE_PSE));
  assert.deepEqual(events, ['flush_tlb_kernel_range(512)'], 'no split, so no flush_tlb_all');
  assert.equal(k.pages.shadow.filter((s) => s === SHADOW_FREE).length, freeBefore, 'no table allocated');
  assert.equal(global_node_page_state(k, 'NR_PAGETABLE'), before);
});

test('set_memory_rox over the split 2 MiB collapses it back to a leaf once all 512 PTEs agree; the PTE table is freed only after flush_tlb_all (cpa_collapse_large_pages)', () => {
  const events: string[] = [];
  const freed: Ptdesc[] = [];
  const k = bootTestKernel({ hooks: recordingHooks(events, freed) });
  const pmdp = pmdPtr(k, regionVa(k));
  let pt = -1;
  let pmd = 0n;
  k.observers.push({
    pgtableWrite(level, ptr, _old, value) {
      if (level === 2 && ptr === pmdp) events.push(entry_leaf(value) ? 'set_pmd(leaf)' : 'set_pmd(table)');
    },
  });
  const result = runKernel(k, [
    function* () {
      yield* set_memory_ro(k, pageVa(k), 1);
      pt = pmd_page(yield* pmdp_get(k, pmdp));
      // set_memory_rw does not collapse (no CPA_COLLAPSE) and leaves _PAGE_DIRTY clear.
      yield* set_memory_rw(k, pageVa(k), 1);
      assert.ok(!entry_leaf(yield* pmdp_get(k, pmdp)));
      events.length = 0;
      assert.equal(yield* set_memory_rox(k, regionVa(k), 512), 0);
      pmd = yield* pmdp_get(k, pmdp);
    },
  ]);
  assert.deepEqual(kinds(result), []);
  assert.equal(pmd, mk_entry(REGION_PFN * PAGE_SIZE, (PAGE_KERNEL & ~(_PAGE_RW | _PAGE_DIRTY | _PAGE_NX)) | _PAGE_PSE));
  assert.deepEqual(events, ['flush_tlb_kernel_range(512)', 'set_pmd(leaf)', 'flush_tlb_all', 'cpa_free_pgtable']);
  assert.deepEqual(freed, [pt]);
  assert.equal(k.pages.shadow[pt], SHADOW_FREE);
  // The local pgtables list is empty and consistent, and the buddy lists took the page cleanly.
  const heads: number[] = [];
  for (let n = k.lists.pageNodes; n < k.lists.size; n++) if (k.lists.describe(n) === CPA_PGTABLES_LIST) heads.push(n);
  assert.equal(heads.length, 1);
  assert.deepEqual(walkList(k.lists, heads[0]), { entries: [], broken: null });
  assert.deepEqual(check_free_lists(k), []);
});

test('no collapse when the PTEs differ (collapse_pmd_page): the PMD keeps its table, no flush_tlb_all, nothing freed', () => {
  const events: string[] = [];
  const k = bootTestKernel({ hooks: recordingHooks(events) });
  let pt = -1;
  let pmd = 0n;
  const result = runKernel(k, [
    function* () {
      const pmdp = pmdPtr(k, regionVa(k));
      yield* set_memory_ro(k, pageVa(k), 1);
      pt = pmd_page(yield* pmdp_get(k, pmdp));
      events.length = 0;
      // Another page of the same table: it changes (so CPA_FLUSHTLB, so the collapse is tried) but
      // leaves the table with three different protections.
      assert.equal(yield* set_memory_rox(k, pageVa(k) + BigInt(PAGE_SIZE), 1), 0);
      pmd = yield* pmdp_get(k, pmdp);
    },
  ]);
  assert.deepEqual(kinds(result), []);
  assert.ok(!entry_leaf(pmd));
  assert.equal(pmd_page(pmd), pt);
  assert.deepEqual(events, ['flush_tlb_kernel_range(1)']);
  assert.equal(k.pages.shadow[pt], SHADOW_ALLOCATED);
});

test('set_memory_rox that changes nothing does not try to collapse (no CPA_FLUSHTLB, change_page_attr_set_clr)', () => {
  const events: string[] = [];
  const k = bootTestKernel({ hooks: recordingHooks(events) });
  runKernel(k, [
    function* () {
      yield* set_memory_ro(k, pageVa(k), 1);
      yield* set_memory_rox(k, regionVa(k), 512);
      events.length = 0;
      yield* set_memory_rox(k, regionVa(k), 512);
    },
  ]);
  assert.deepEqual(events, []);
});

test('two threads splitting the same 2 MiB leaf: one table is installed, the loser frees its page (__split_large_page re-check under pgd_lock)', () => {
  const k = bootTestKernel();
  const pfnA = PAGE_PFN;
  const pfnB = PAGE_PFN + 7;
  const allocated: number[] = [];
  k.observers.push({ pagesAllocated: (page) => allocated.push(page) });
  const result = runKernel(k, [
    function* () {
      assert.equal(yield* set_memory_ro(k, __va(k.layout, pfnA * PAGE_SIZE), 1), 0);
    },
    function* () {
      assert.equal(yield* set_memory_ro(k, __va(k.layout, pfnB * PAGE_SIZE), 1), 0);
    },
  ]);
  assert.deepEqual(kinds(result), []);
  assert.equal(allocated.length, 2, 'both threads allocated a table before either took pgd_lock');
  const pmd = k.mem.read64(pmdPtr(k, regionVa(k)));
  assert.ok(!entry_leaf(pmd));
  const table = pmd_page(pmd);
  assert.ok(allocated.includes(table));
  const loser = allocated.find((p) => p !== table)!;
  assert.equal(k.pages.shadow[loser], SHADOW_FREE, 'the losing table went back (__free_page)');
  assert.equal(k.mem.read64(table * PAGE_SIZE + 8 * (pfnA - REGION_PFN)), mk_entry(pfnA * PAGE_SIZE, PAGE_KERNEL_RO));
  assert.equal(k.mem.read64(table * PAGE_SIZE + 8 * (pfnB - REGION_PFN)), mk_entry(pfnB * PAGE_SIZE, PAGE_KERNEL_RO));
});

test('set_memory_rox on vmalloc\'d text also makes its direct-map alias read-only but leaves it NX, and flushes everything (cpa_process_alias)', () => {
  const events: string[] = [];
  const k = bootTestKernel({ hooks: recordingHooks(events) });
  let vpte = 0n;
  let alias = 0n;
  let aliasLevel = 0;
  const result = runKernel(k, [
    function* () {
      const va = (yield* vmalloc(k, PAGE_SIZE))!;
      const v = yield* lookup_address(k, va);
      const pfn = entry_pa(yield* ptep_get(k, v.kpte!)) / PAGE_SIZE;
      events.length = 0;
      assert.equal(yield* set_memory_rox(k, va, 1), 0);
      vpte = yield* ptep_get(k, v.kpte!);
      const a = yield* lookup_address(k, __va(k.layout, pfn * PAGE_SIZE));
      aliasLevel = a.level;
      alias = yield* ptep_get(k, a.kpte!);
    },
  ]);
  assert.deepEqual(kinds(result), []);
  assert.equal(vpte & (_PAGE_RW | _PAGE_DIRTY | _PAGE_NX), 0n, 'the vmalloc mapping is RO and executable');
  assert.equal(aliasLevel, PG_LEVEL_4K, 'the alias 2 MiB leaf was split');
  assert.equal(alias & (_PAGE_RW | _PAGE_DIRTY), 0n, 'the alias is RO');
  assert.equal(alias & _PAGE_NX, _PAGE_NX, '"Directmap always has NX set"');
  // The alias split, then cpa_flush() with force_flush_all; the vmalloc PTE table cannot collapse.
  assert.deepEqual(events, ['flush_tlb_all', 'flush_tlb_kernel_range(all)']);
});

test('CPA may sleep: set_memory_ro under a spinlock is a sleep-in-atomic bug (vm_unmap_aliases, split_large_page GFP_KERNEL)', () => {
  const k = bootTestKernel();
  const result = runKernel(k, [
    function* () {
      yield* spin_lock(k, k.init_mm.page_table_lock);
      yield* set_memory_ro(k, pageVa(k), 1);
      yield* spin_unlock(k, k.init_mm.page_table_lock);
    },
  ]);
  assert.deepEqual(kinds(result), ['sleep-in-atomic', 'sleep-in-atomic']);
});
