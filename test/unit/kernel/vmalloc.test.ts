import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE, type Va } from '../../../src/hw/address.ts';
import { SHADOW_FREE } from '../../../src/kernel/include/linux/mm_types.ts';
import { generic_flush_tlb_kernel_range } from '../../../src/kernel/arch/x86/mm/tlb.ts';
import { entry_leaf, entry_none, entry_table, pgd_offset, p4d_offset, pmd_offset, pmd_page, pmdp_get, pud_offset, pudp_get } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import type { Kernel } from '../../../src/kernel/model/kernel.ts';
import { ioremap, purge_vmap_area_lazy, vfree, vmalloc } from '../../../src/kernel/mm/vmalloc.ts';
import { might_sleep } from '../../../src/kernel/kernel/sched/core.ts';
import { bootTestKernel, kinds, runKernel } from '../../helpers/kernel.ts';

function* entries(k: Kernel, va: Va) {
  const pudp = yield* pud_offset(k, yield* p4d_offset(k, pgd_offset(k, k.init_mm, va), va), va);
  const pud = yield* pudp_get(k, pudp);
  const pmd = entry_none(pud) || entry_leaf(pud) ? 0n : yield* pmdp_get(k, yield* pmd_offset(k, pudp, va));
  return { pud, pmd };
}

test('vfree clears the leaf but leaves the PTE table linked (vunmap_range_noflush)', () => {
  const k = bootTestKernel();
  let pmdAfter = 0n;
  let pmdBefore = 0n;
  runKernel(k, [
    function* () {
      const va = (yield* vmalloc(k, PAGE_SIZE))!;
      pmdBefore = (yield* entries(k, va)).pmd;
      yield* vfree(k, va);
      pmdAfter = (yield* entries(k, va)).pmd;
    },
  ]);
  assert.notEqual(pmdBefore, 0n);
  assert.equal(pmdAfter, pmdBefore);
});

test('a huge vmalloc over a leftover PTE table frees it through pmd_free_pte_page, then maps a 2 MiB leaf', () => {
  const k = bootTestKernel();
  let table = -1;
  let leaf = false;
  let hugeVa: Va = 0n;
  let firstVa: Va = 0n;
  const result = runKernel(k, [
    function* () {
      firstVa = (yield* vmalloc(k, PAGE_SIZE))!;
      table = pmd_page((yield* entries(k, firstVa)).pmd);
      yield* vfree(k, firstVa);
      yield* purge_vmap_area_lazy(k);
      hugeVa = (yield* vmalloc(k, PMD_SIZE, true))!;
      leaf = entry_leaf((yield* entries(k, hugeVa)).pmd);
    },
  ]);
  assert.deepEqual(kinds(result), []);
  assert.equal(hugeVa, firstVa, 'the purged range is reused');
  assert.ok(leaf);
  assert.equal(k.pages.shadow[table], SHADOW_FREE, 'freed at once by the kernel before any fix');
});

test('a 1 GiB ioremap over a leftover PMD table frees it and its PTE tables through pud_free_pmd_page', () => {
  const k = bootTestKernel();
  let pmdTable = -1;
  let pteTable = -1;
  let pudLeaf = false;
  runKernel(k, [
    function* () {
      const va = (yield* vmalloc(k, PAGE_SIZE))!;
      const { pud, pmd } = yield* entries(k, va);
      pmdTable = entry_table(pud) / PAGE_SIZE;
      pteTable = pmd_page(pmd);
      yield* vfree(k, va);
      yield* purge_vmap_area_lazy(k);
      const io = (yield* ioremap(k, PUD_SIZE, PUD_SIZE))!;
      pudLeaf = entry_leaf((yield* entries(k, io)).pud);
    },
  ]);
  assert.ok(pudLeaf);
  assert.equal(k.pages.shadow[pmdTable], SHADOW_FREE);
  assert.equal(k.pages.shadow[pteTable], SHADOW_FREE);
});

test('the lazy purge calls flush_tlb_kernel_range() preemptible: Linux holds the vmap_purge_lock mutex there, only the flush\'s own per-CPU section is atomic', () => {
  const counts: number[] = [];
  const k = bootTestKernel({
    hooks: {
      *flush_tlb_kernel_range(kk, start, end) {
        counts.push(kk.exec.current.ctx.preemptCount);
        yield* generic_flush_tlb_kernel_range(kk, start, end);
        // A design that may sleep after the CPU flush (a mutex, GFP_KERNEL) is legal on this path.
        might_sleep(kk, 'a design after the CPU flush');
      },
    },
  });
  const result = runKernel(k, [
    function* () {
      const va = (yield* vmalloc(k, PAGE_SIZE))!;
      yield* vfree(k, va);
      yield* purge_vmap_area_lazy(k);
    },
  ]);
  assert.deepEqual(counts, [0]);
  assert.deepEqual(kinds(result), [], 'no false sleep-in-atomic');
});
