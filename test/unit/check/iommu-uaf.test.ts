import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_SIZE, TLB_FLUSH_ALL, hex } from '../../../src/hw/address.ts';
import { didPasidTag, vpnOfVa } from '../../../src/hw/index.ts';
import { attachOracles } from '../../../src/check/index.ts';
import { iommu_sva_invalidate_kva_range } from '../../../src/kernel/drivers/iommu/iommu-sva.ts';
import { generic_pte_free_kernel } from '../../../src/kernel/include/asm-generic/pgalloc.ts';
import type { Ptdesc } from '../../../src/kernel/include/linux/mm_types.ts';
import { pmd_clear } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { __pagetable_free } from '../../../src/kernel/include/linux/mm.ts';
import { vmalloc } from '../../../src/kernel/mm/vmalloc.ts';
import { free_pagetable } from '../../../src/kernel/arch/x86/mm/init_64.ts';
import { Doorbell } from '../../../src/scenario/doorbell.ts';
import type { Va } from '../../../src/hw/address.ts';
import { bootTestKernel, kinds, runKernel } from '../../helpers/kernel.ts';
import { bindProcess, runLeakWorkload, tablesOf, type Tables } from './workload.ts';

test('vfree then a huge vmalloc frees the PTE table at once (v6.18 pmd_free_pte_page); the IOMMU walks it through its cached PDE: iommu-use-after-free naming the table and who freed it', () => {
  const k = bootTestKernel();
  const { result, tables, after, va } = runLeakWorkload(k, 2);
  assert.deepEqual(kinds(result), ['iommu-uncovered-free', 'iommu-use-after-free'], 'the free is a hazard at once; the walk is reported once although the device probed twice');
  const v = result.violations[1];
  assert.equal(v.title, 'BUG: IOMMU use-after-free in iommu first-stage walk (PASID 0x1, dev0)');
  assert.equal(v.thread, 'dev0:dma');
  const pfn = tables.pteTable;
  assert.match(v.details[0], new RegExp(`^Read of size 8 at pa ${hex(pfn * PAGE_SIZE)} \\(pfn ${hex(pfn)}\\) as a PTE table for va ${hex(va)} through a cached PDE \\(read from pa 0x[0-9a-f]+\\) filled at step \\d+$`));
  assert.match(v.details[1], /^The frame was freed at step \d+ by cpu0:vmalloc on cpu0 in pmd_free_pte_page > pte_free_kernel > pagetable_dtor_free > pagetable_free \(order 0\)$/);
  assert.ok(v.details.includes('The buggy address belongs to the physical page:'));
  assert.ok(v.details.some((l) => l.startsWith(`page: refcount:`) && l.endsWith(`pfn:${hex(pfn)}`)), 'the page dump of the freed frame');
  assert.equal(v.details.at(-1), 'page dumped because: iommu: bad access detected');
  assert.deepEqual(after.map((r) => r.ok), [false, false]);
});

test('the cached PDE filled before the free and used after it is the evidence: the step it was filled precedes the free', () => {
  const k = bootTestKernel();
  const { result, oracles, tables } = runLeakWorkload(k, 1);
  const uaf = result.violations.find((v) => v.kind === 'iommu-use-after-free');
  const filled = Number(/filled at step (\d+)/.exec(uaf?.details[0] ?? '')?.[1]);
  const freedAt = oracles.shadow.lastFreeStep[tables.pteTable];
  assert.ok(filled > 0 && freedAt > filled, `fill ${filled} before free ${freedAt}`);
  assert.equal(oracles.shadow.freeRecord(tables.pteTable)?.thread, 'cpu0:vmalloc');
});

test('when pte_free_kernel first runs iommu_sva_invalidate_kva_range(PAGE_OFFSET, TLB_FLUSH_ALL), the second probe walks from the root to the new 2 MiB leaf: nothing reported', () => {
  const k = bootTestKernel({
    hooks: {
      *pte_free_kernel(kk, mm, pt) {
        yield* iommu_sva_invalidate_kva_range(kk, kk.layout.PAGE_OFFSET, TLB_FLUSH_ALL);
        yield* generic_pte_free_kernel(kk, mm, pt);
      },
    },
  });
  const { result, oracles, tables, after } = runLeakWorkload(k, 1);
  assert.deepEqual(kinds(result), []);
  assert.ok(oracles.shadow.lastFreeStep[tables.pteTable] > 0, 'the PTE table was freed');
  assert.deepEqual(after, [{ ok: false, reason: 'protection', level: 2 }], 'faulted at the supervisor 2 MiB leaf, read from memory');
});

test('a freed PTE table the IOMMU never touches again is no use-after-free, though a stale PDE naming it stays cached: the free is still a hazard (iommu-uncovered-free)', () => {
  const k = bootTestKernel();
  const { result, oracles, tables, va } = runLeakWorkload(k, 0);
  assert.deepEqual(kinds(result), ['iommu-uncovered-free'], 'predicted without any walk after the free');
  assert.ok(oracles.shadow.lastFreeStep[tables.pteTable] > 0);
  const pasid = k.devices[0].pasid!;
  const pde = k.iommu.caches.peekPsc(2, didPasidTag(k.iommu.pasidEntry(pasid)!.domainId, pasid), vpnOfVa(va));
  assert.equal(pde?.entry.targetPa, tables.pteTable * PAGE_SIZE, 'the stale PDE is still there');
});

test('an unlinked PTE table that is not yet freed may be walked through a cached PDE (the deferred-free window); invalidate, then free: nothing reported', () => {
  const deferred: Ptdesc[] = [];
  const k = bootTestKernel({
    hooks: {
      *pte_free_kernel(_kk, _mm, pt) {
        deferred.push(pt);
      },
    },
  });
  let hitsInWindow = 0;
  const { result, oracles, tables, after } = runLeakWorkload(k, 0, function* (va) {
    // The window: pmd_clear done, the table still allocated; a DMA walks it now.
    const before = k.iommu.stats.pscHits[2];
    const r = yield* k.devices[0].dma({ va, write: false });
    hitsInWindow = k.iommu.stats.pscHits[2] - before;
    if (r.ok) throw new Error('a kernel address translated for a user DMA');
    yield* iommu_sva_invalidate_kva_range(k, k.layout.PAGE_OFFSET, TLB_FLUSH_ALL);
    for (const pt of deferred) yield* generic_pte_free_kernel(k, k.init_mm, pt);
  });
  assert.equal(hitsInWindow, 1, 'the window walk used the stale cached PDE');
  assert.deepEqual(deferred, [tables.pteTable]);
  assert.ok(oracles.shadow.lastFreeStep[tables.pteTable] > 0, 'freed after the invalidation');
  assert.deepEqual(after, []);
  assert.deepEqual(kinds(result), []);
});

test('x86 hot-remove order: a PTE table freed while its PMD entry still points to it, walked from memory before pmd_clear: iommu-use-after-free through the PDE in memory', () => {
  const k = bootTestKernel();
  const oracles = attachOracles(k);
  const freed = new Doorbell(k.exec, 'freed');
  const walked = new Doorbell(k.exec, 'walked');
  let va: Va = 0n;
  let tables: Tables | null = null;
  const result = runKernel(k, [
    [
      { name: 'cpu0:hotremove', cpu: 0 },
      function* () {
        yield* bindProcess(k);
        va = (yield* vmalloc(k, PAGE_SIZE))!;
        tables = yield* tablesOf(k, va);
        // free_pte_table(): free_pagetable() first, pmd_clear() only after (docs/kernel/free-sites.md, Hot-remove order).
        yield* free_pagetable(k, tables.pteTable, 0);
        yield* freed.ring();
        yield* walked.wait();
        yield* pmd_clear(k, tables.pmdp);
      },
    ],
    [
      { name: 'dev0:dma', cpu: -1 },
      function* () {
        yield* freed.wait();
        yield* k.devices[0].dma({ va, write: false });
        yield* walked.ring();
      },
    ],
  ]);
  const t = tables as Tables | null;
  assert.ok(t !== null);
  // Also `accounting`: the test frees a constructed table without its destructor, so NR_PAGETABLE stays one too high.
  assert.deepEqual(kinds(result), ['iommu-uncovered-free', 'iommu-use-after-free', 'accounting']);
  const v = result.violations[1];
  assert.match(v.details[0], new RegExp(`^Read of size 8 at pa 0x[0-9a-f]+ \\(pfn ${hex(t.pteTable)}\\) as a PTE table for va ${hex(va)} through the PDE at pa ${hex(t.pmdp)} in memory \\(the table was last linked at step \\d+\\)$`));
  assert.match(v.details[1], /freed at step \d+ by cpu0:hotremove/);
  assert.equal(v.details[2], 'It is free now (in the page allocator, poisoned)');
  assert.equal(oracles.iommuWriteAfterFree.count, 0);
});

test('a walk of live tables only, from the PASID root down to a supervisor leaf, is no violation', () => {
  const k = bootTestKernel();
  attachOracles(k);
  const result = runKernel(k, [
    [
      { name: 'cpu0:vmalloc', cpu: 0 },
      function* () {
        yield* bindProcess(k);
        const va = (yield* vmalloc(k, PAGE_SIZE))!;
        const r = yield* k.devices[0].dma({ va, write: false });
        if (r.ok || r.level !== 1) throw new Error('expected a fault at the supervisor PTE');
        yield* k.devices[0].dma({ va, write: false });
      },
    ],
  ]);
  assert.deepEqual(kinds(result), []);
  assert.ok(k.iommu.stats.walks >= 2 && k.iommu.stats.pscHits[2] >= 1, 'one walk from the root, one through the cached PDE');
});

test("a process PGD freed while its PASID entry still names it (teardown without unbind): the walk's first read, from the PASID root, is an iommu-use-after-free", () => {
  const k = bootTestKernel();
  attachOracles(k);
  let pgd = -1;
  const result = runKernel(k, [
    [
      { name: 'cpu0:exit', cpu: 0 },
      function* () {
        const mm = yield* bindProcess(k);
        pgd = mm.pgd / PAGE_SIZE;
        yield* __pagetable_free(k, pgd);
        yield* k.devices[0].dma({ va: 0x7f0000000000n, write: false });
      },
    ],
  ]);
  // Also `accounting`: the test frees a constructed table without its destructor, so NR_PAGETABLE stays one too high.
  assert.deepEqual(kinds(result), ['iommu-use-after-free', 'accounting']);
  assert.match(result.violations[0].details[0], new RegExp(`\\(pfn ${hex(pgd)}\\) as a PGD table for va 0x7f0000000000 from the PASID entry's first-stage root \\(PGD last linked at step \\d+\\)$`));
});

test('the freed PTE table reallocated and linked as another vmalloc range\'s PTE table is still a use-after-free through the PDE cached before the free (fill step, not link step, decides)', () => {
  const k = bootTestKernel();
  let relinked = false;
  const { result, oracles, tables } = runLeakWorkload(k, 1, function* (va, t) {
    const other = (yield* vmalloc(k, PAGE_SIZE))!;
    relinked = (yield* tablesOf(k, other)).pteTable === t.pteTable && other !== va;
  });
  assert.ok(relinked, 'the freed frame is now the PTE table of the new range');
  assert.equal(oracles.shadow.tableLevel[tables.pteTable], 1, 'a live PTE table again');
  assert.deepEqual(kinds(result), ['iommu-uncovered-free', 'iommu-use-after-free']);
  const v = result.violations[1];
  assert.match(v.details[0], /through a cached PDE/);
  assert.match(v.details[2], /^It was reallocated at step \d+ by cpu0:vmalloc and is now a PTE table linked at step \d+$/);
});
