import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_SHIFT, PAGE_SIZE, PUD_SIZE, hex, tableIndex, type Va } from '../../../src/hw/address.ts';
import { _PAGE_ACCESSED, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, mk_entry } from '../../../src/hw/index.ts';
import { attachOracles } from '../../../src/check/index.ts';
import { alloc_page } from '../../../src/kernel/mm/page_alloc.ts';
import { GFP_KERNEL } from '../../../src/kernel/include/linux/gfp.ts';
import { handle_mm_fault } from '../../../src/kernel/kernel/fork.ts';
import { walk_alloc } from '../../../src/kernel/include/asm-generic/pgalloc.ts';
import { ptep_get, set_pte } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { ioremap, purge_vmap_area_lazy, vfree, vmalloc } from '../../../src/kernel/mm/vmalloc.ts';
import { Doorbell } from '../../../src/scenario/doorbell.ts';
import { step } from '../../../src/sim/index.ts';
import type { Kernel } from '../../../src/kernel/model/kernel.ts';
import { bootTestKernel, kinds, runKernel } from '../../helpers/kernel.ts';
import { bindProcess, tablesOf, type Tables } from './workload.ts';

/** Pages a new owner allocates after the free and fills with what reads as present, not-accessed entries. */
const REUSE_PAGES = 16;
const USER_VA: Va = 0x7f0000000000n;

/**
 * The device probes a vmalloc page (caching the PDPTE that names the PMD table), the kernel vfrees
 * it and maps a 1 GiB ioremap over the range: pud_free_pmd_page() frees the PMD table and its PTE
 * table at once (v6.18). New owners fill freshly allocated pages with present entries without the
 * Accessed bit; the device then reads another 2 MiB region of the same 1 GiB.
 */
function runStalePdpte(k: Kernel) {
  const oracles = attachOracles(k);
  const probed = new Doorbell(k.exec, 'probed');
  const mapped = new Doorbell(k.exec, 'mapped');
  const reused = new Doorbell(k.exec, 'reused');
  let va: Va = 0n;
  let tables: Tables | null = null;
  const refilled: number[] = [];
  const result = runKernel(k, [
    [
      { name: 'cpu0:ioremap', cpu: 0 },
      function* () {
        yield* bindProcess(k);
        va = (yield* vmalloc(k, PAGE_SIZE))!;
        tables = yield* tablesOf(k, va);
        yield* mapped.ring();
        yield* probed.wait();
        yield* vfree(k, va);
        yield* purge_vmap_area_lazy(k);
        const io = yield* ioremap(k, PUD_SIZE, PUD_SIZE);
        if (io !== va) throw new Error('the ioremap did not land over the freed range');
        for (let i = 0; i < REUSE_PAGES; i++) {
          const page = (yield* alloc_page(k, GFP_KERNEL))!;
          yield step('memcpy', 'write', page);
          const fake = mk_entry(page << PAGE_SHIFT, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
          for (let e = 0; e < 512; e++) k.mem.write64((page << PAGE_SHIFT) + 8 * e, fake);
          refilled.push(page);
        }
        yield* reused.ring();
      },
    ],
    [
      { name: 'dev0:dma', cpu: -1 },
      function* () {
        yield* mapped.wait();
        yield* k.devices[0].dma({ va, write: false });
        yield* probed.ring();
        yield* reused.wait();
        // Same 1 GiB (the stale cached PDPTE), a 2 MiB region whose PDE was never cached.
        yield* k.devices[0].dma({ va: va + 0x400000n, write: false });
      },
    ],
  ]);
  const t = tables as Tables | null;
  if (t === null) throw new Error('the workload did not run');
  return { oracles, result, va, tables: t, refilled };
}

test('through a stale cached PDPTE the IOMMU sets Accessed in an entry of the freed, reused PMD table (pud_free_pmd_page, v6.18): iommu-write-after-free', () => {
  const k = bootTestKernel();
  const { result, va, tables, refilled } = runStalePdpte(k);
  assert.ok(refilled.includes(tables.pmdTable), 'the freed PMD table was reallocated and refilled');
  const waf = result.violations.filter((v) => v.kind === 'iommu-write-after-free');
  assert.equal(waf.length, 1);
  const v = waf[0];
  assert.equal(v.title, 'BUG: IOMMU write-after-free in iommu first-stage walk (PASID 0x1, dev0)');
  const entryPa = tables.pmdTable * PAGE_SIZE + 8 * tableIndex(va + 0x400000n, 2);
  assert.match(
    v.details[0],
    new RegExp(`^Write of size 8 at pa ${hex(entryPa)} \\(pfn ${hex(tables.pmdTable)}\\) in a PMD table for va ${hex(va + 0x400000n)}, Accessed bit set through a cached PDPTE \\(read from pa 0x[0-9a-f]+\\) filled at step \\d+$`),
  );
  assert.match(v.details[1], /^The frame was freed at step \d+ by cpu0:ioremap/);
  assert.match(v.details[2], /^It was reallocated at step \d+ by cpu0:ioremap and is not a page table now$/);
  assert.equal(v.details.at(-1), 'page dumped because: iommu: bad access detected');
  assert.equal(k.mem.read64(entryPa) & 0x20n, 0x20n, 'the write did reach the freed frame');
  // The read of the same frame came first.
  assert.deepEqual(kinds(result).slice(0, 3), ['iommu-uncovered-free', 'iommu-uncovered-free', 'iommu-use-after-free'], 'the PTE and PMD tables predicted, then walked');
  assert.match(result.violations[2].details[0], new RegExp(`\\(pfn ${hex(tables.pmdTable)}\\) as a PMD table`));
});

test('the IOMMU setting Accessed in a live user PTE after reclaim cleared it (ptep_test_and_clear_young) is no violation', () => {
  const k = bootTestKernel();
  attachOracles(k);
  let adWrites = 0;
  const result = runKernel(k, [
    [
      { name: 'cpu0:task', cpu: 0 },
      function* () {
        const mm = yield* bindProcess(k);
        yield* handle_mm_fault(k, mm, USER_VA);
        const ptep = (yield* walk_alloc(k, mm, USER_VA))!;
        yield* set_pte(k, ptep, (yield* ptep_get(k, ptep)) & ~_PAGE_ACCESSED);
        const before = k.iommu.stats.adWrites;
        const r = yield* k.devices[0].dma({ va: USER_VA, write: false });
        if (!r.ok) throw new Error('the user DMA faulted');
        adWrites = k.iommu.stats.adWrites - before;
      },
    ],
  ]);
  assert.equal(adWrites, 1);
  assert.deepEqual(kinds(result), []);
});
