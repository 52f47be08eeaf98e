import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RandomScheduler } from '../../../src/explore/index.ts';
import { PAGE_SIZE } from '../../../src/hw/address.ts';
import type { KernelHooks } from '../../../src/kernel/model/hooks.ts';
import { generic_pte_free_kernel, pte_alloc_kernel, pmd_alloc, pud_alloc } from '../../../src/kernel/include/asm-generic/pgalloc.ts';
import { p4d_offset, pgd_offset, entry_table, pmdp_get } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { global_node_page_state } from '../../../src/kernel/mm/vmstat.ts';
import { bootTestKernel, runKernel } from '../../helpers/kernel.ts';

/** Two CPUs populating the same empty PMD at once: exactly one table is linked, the other freed unlinked. */
function populateRace(seed: number) {
  const freedUnlinked: number[] = [];
  const hooks: Partial<KernelHooks> = {
    *pte_free_kernel(k, mm, pt) {
      freedUnlinked.push(pt);
      yield* generic_pte_free_kernel(k, mm, pt);
    },
  };
  const k = bootTestKernel({ scheduler: new RandomScheduler(seed, 1), hooks });
  const va = k.layout.VMALLOC_START + 0x40000000n;
  const before = global_node_page_state(k, 'NR_PAGETABLE');
  const linked: number[] = [];
  const racer = function* () {
    const p4dp = yield* p4d_offset(k, pgd_offset(k, k.init_mm, va), va);
    const pudp = (yield* pud_alloc(k, k.init_mm, p4dp, va))!;
    const pmdp = (yield* pmd_alloc(k, k.init_mm, pudp, va))!;
    const ptep = yield* pte_alloc_kernel(k, pmdp, va + BigInt(PAGE_SIZE));
    assert.notEqual(ptep, null);
    linked.push(entry_table(yield* pmdp_get(k, pmdp)));
  };
  const result = runKernel(k, [racer, racer]);
  return { k, result, freedUnlinked, linked, before };
}

test('__pte_alloc_kernel losing the populate race frees its table with pte_free_kernel, never linked (mm/memory.c)', () => {
  let races = 0;
  for (let seed = 0; seed < 60; seed++) {
    const { result, freedUnlinked, linked, k, before } = populateRace(seed);
    assert.equal(result.violations.length, 0, result.violations.map((v) => v.title).join('; '));
    assert.equal(linked[0], linked[1], 'both threads see the same PTE table');
    for (const pt of freedUnlinked) assert.notEqual(pt * PAGE_SIZE, linked[0], 'the freed table is not the linked one');
    if (freedUnlinked.length > 0) races++;
    // One PUD-level walk later the accounting is back to one table per level that was linked.
    assert.ok(global_node_page_state(k, 'NR_PAGETABLE') >= before + 2);
  }
  assert.ok(races > 0, 'some schedule lost the race');
});
