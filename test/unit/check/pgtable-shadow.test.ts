import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_SIZE } from '../../../src/hw/address.ts';
import { STALE_FREE, STALE_NONE, STALE_REUSED, attachOracles } from '../../../src/check/index.ts';
import { __free_page, alloc_page } from '../../../src/kernel/mm/page_alloc.ts';
import { GFP_KERNEL } from '../../../src/kernel/include/linux/gfp.ts';
import { pgd_alloc } from '../../../src/kernel/kernel/fork.ts';
import { entry_table, pgd_offset, pgdp_get, pmd_clear } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { pte_free_kernel } from '../../../src/kernel/include/asm-generic/pgalloc.ts';
import { vmalloc } from '../../../src/kernel/mm/vmalloc.ts';
import { ModelInvariantError } from '../../../src/sim/index.ts';
import { bootTestKernel, runKernel } from '../../helpers/kernel.ts';
import { tablesOf } from './workload.ts';

test("attach scans init_mm's boot tables: the PGD, the preallocated vmalloc PUD table and the direct map's PMD tables are live tables linked at boot", () => {
  const k = bootTestKernel();
  const { shadow } = attachOracles(k);
  const pgd = k.init_mm.pgd / PAGE_SIZE;
  assert.deepEqual([shadow.tableLevel[pgd], shadow.linkStep[pgd], shadow.linkEntry[pgd]], [4, 0, -1]);
  const vmallocPgde = pgd_offset(k, k.init_mm, k.layout.VMALLOC_START);
  const pud = entry_table(k.mem.read64(vmallocPgde)) / PAGE_SIZE;
  assert.deepEqual([shadow.tableLevel[pud], shadow.linkStep[pud], shadow.linkEntry[pud]], [3, 0, vmallocPgde]);
  const levels = Array.from(shadow.tableLevel).filter((l) => l !== 0).sort();
  assert.ok(levels.includes(2), 'a direct-map PMD table');
  assert.equal(levels.filter((l) => l === 4).length, 1, 'one PGD');
});

test('pmd_populate_kernel makes a PTE table live; pmd_clear leaves it live (the deferred window); only its free ends its life, recording who freed it', () => {
  const k = bootTestKernel();
  const { shadow } = attachOracles(k);
  const seen: string[] = [];
  let pte = -1;
  runKernel(k, [
    [
      { name: 'cpu0:vmalloc', cpu: 0 },
      function* () {
        const va = (yield* vmalloc(k, PAGE_SIZE))!;
        const t = yield* tablesOf(k, va);
        pte = t.pteTable;
        seen.push(`linked level ${shadow.tableLevel[pte]} at ${shadow.linkStep[pte] > 0 ? 'a step' : 'boot'} by ${shadow.linkEntry[pte] === t.pmdp ? 'its PMD entry' : '?'}`);
        yield* pmd_clear(k, t.pmdp);
        seen.push(`unlinked: level ${shadow.tableLevel[pte]}, ${shadow.staleness(pte, shadow.linkStep[pte])}`);
        yield* pte_free_kernel(k, k.init_mm, pte);
        seen.push(`freed: level ${shadow.tableLevel[pte]}, ${shadow.staleness(pte, shadow.linkStep[pte])}`);
      },
    ],
  ]);
  assert.deepEqual(seen, ['linked level 1 at a step by its PMD entry', `unlinked: level 1, ${STALE_NONE}`, `freed: level 0, ${STALE_FREE}`]);
  const rec = shadow.freeRecord(pte)!;
  assert.equal(rec.thread, 'cpu0:vmalloc');
  assert.equal(rec.step, shadow.lastFreeStep[pte]);
  assert.equal(rec.label, 'kernel_poison_pages');
  assert.deepEqual(rec.frames, ['pte_free_kernel', 'pagetable_dtor_free', 'pagetable_free']);
});

test("a process PGD from pgd_alloc() becomes a live root table at its first entry write (clone_pgd_range's copy of the kernel half)", () => {
  const k = bootTestKernel();
  const { shadow } = attachOracles(k);
  let pgd = -1;
  let pudLevel = -1;
  runKernel(k, [
    function* () {
      const mm = (yield* pgd_alloc(k, 'task'))!;
      pgd = mm.pgd / PAGE_SIZE;
      // The copied kernel half points at init_mm's lower tables, which stay live tables.
      const e = yield* pgdp_get(k, pgd_offset(k, mm, k.layout.VMALLOC_START));
      pudLevel = shadow.tableLevel[entry_table(e) / PAGE_SIZE];
    },
  ]);
  assert.equal(shadow.tableLevel[pgd], 4);
  assert.ok(shadow.linkStep[pgd] > 0);
  assert.equal(shadow.linkEntry[pgd], -1, 'a root has no parent entry');
  assert.equal(pudLevel, 3);
});

test('staleness: free now, or freed after the justifying step and allocated again (reused), or neither', () => {
  const k = bootTestKernel();
  const { shadow } = attachOracles(k);
  const verdicts: number[] = [];
  runKernel(k, [
    function* () {
      const page = (yield* alloc_page(k, GFP_KERNEL))!;
      const before = k.exec.stepCount;
      verdicts.push(shadow.staleness(page, before));
      yield* __free_page(k, page);
      verdicts.push(shadow.staleness(page, before));
      const again = (yield* alloc_page(k, GFP_KERNEL))!;
      if (again !== page) throw new Error('the allocator did not hand the page back');
      verdicts.push(shadow.staleness(page, before));
      verdicts.push(shadow.staleness(page, k.exec.stepCount));
    },
  ]);
  assert.deepEqual(verdicts, [STALE_NONE, STALE_FREE, STALE_REUSED, STALE_NONE]);
});

test('attaching the oracles after a thread ran is a model error: the boot-table scan would be stale', () => {
  const k = bootTestKernel();
  runKernel(k, [function* () {}]);
  assert.throws(() => attachOracles(k), ModelInvariantError);
});
