import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_SHIFT } from '../../../src/hw/address.ts';
import { _PAGE_USER, entry_pa } from '../../../src/hw/index.ts';
import { pmd_offset, pmd_page, pmd_ptdesc, pmdp_get, pud_offset, p4d_offset, pgd_offset } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { vmalloc } from '../../../src/kernel/mm/vmalloc.ts';
import { bootTestKernel, runKernel } from '../../helpers/kernel.ts';

test('pmd_page() is the table a PMD points to, pmd_ptdesc() the page holding the PMD (include/linux/mm.h)', () => {
  const k = bootTestKernel();
  let pointed = -1;
  let holding = -1;
  let pmdTableFrame = -1;
  let entry = 0n;
  runKernel(k, [
    function* () {
      const va = yield* vmalloc(k, 4096);
      if (va === null) throw new Error('vmalloc failed');
      const pudp = yield* pud_offset(k, yield* p4d_offset(k, pgd_offset(k, k.init_mm, va), va), va);
      const pmdp = yield* pmd_offset(k, pudp, va);
      entry = yield* pmdp_get(k, pmdp);
      pointed = pmd_page(entry);
      holding = pmd_ptdesc(pmdp);
      pmdTableFrame = Math.floor(pmdp / 4096);
    },
  ]);
  assert.equal(pointed, entry_pa(entry) >> PAGE_SHIFT, 'pmd_page follows the entry');
  assert.equal(holding, pmdTableFrame, 'pmd_ptdesc is the PMD table page itself');
  assert.notEqual(pointed, holding);
});

test('x86 links kernel page tables with _PAGE_TABLE, USER set, like user tables (pmd_populate_kernel)', () => {
  const k = bootTestKernel();
  let entry = 0n;
  runKernel(k, [
    function* () {
      const va = yield* vmalloc(k, 4096);
      if (va === null) throw new Error('vmalloc failed');
      const pudp = yield* pud_offset(k, yield* p4d_offset(k, pgd_offset(k, k.init_mm, va), va), va);
      entry = yield* pmdp_get(k, yield* pmd_offset(k, pudp, va));
    },
  ]);
  assert.notEqual(entry & _PAGE_USER, 0n);
});
