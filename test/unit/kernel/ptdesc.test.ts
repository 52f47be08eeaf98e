import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newExecution, runThreads } from '../../helpers/sim.ts';
import { bootMemory } from '../../../src/kernel/model/boot-memory.ts';
import { __free_pages, alloc_pages, compound_order, nr_free_pages } from '../../../src/kernel/mm/page_alloc.ts';
import { DEFAULT_CONFIG } from '../../../src/kernel/model/config.ts';
import { GFP_KERNEL, GFP_PGTABLE_KERNEL } from '../../../src/kernel/include/linux/gfp.ts';
import type { KernelHooks } from '../../../src/kernel/model/hooks.ts';
import type { Kernel, MemoryCore } from '../../../src/kernel/model/kernel.ts';
import { PageBuddy, PageReferenced, PageTable, type Page, type Ptdesc } from '../../../src/kernel/include/linux/mm_types.ts';
import {
  PT_kernel,
  __pagetable_free,
  generic_pagetable_dtor_free,
  generic_pagetable_free,
  page_ptdesc,
  pagetable_alloc,
  pagetable_dtor,
  pagetable_dtor_free,
  pagetable_pte_ctor,
  pagetable_pud_ctor,
  ptdesc_clear_kernel,
  ptdesc_page,
  ptdesc_set_kernel,
  ptdesc_test_kernel,
} from '../../../src/kernel/include/linux/mm.ts';
import { global_node_page_state } from '../../../src/kernel/mm/vmstat.ts';
import { PG_referenced } from '../../../src/kernel/include/linux/page-flags.ts';
import type { Execution, Sim } from '../../../src/sim/index.ts';

function world(): { exec: Execution; k: MemoryCore } {
  const exec = newExecution();
  return { exec, k: bootMemory(exec, { ...DEFAULT_CONFIG, frames: 64 }) };
}

function run<T>(exec: Execution, body: () => Sim<T>): T {
  let out: T | undefined;
  runThreads(exec, [[{ name: 'kworker/u:1' }, function* () { out = yield* body(); }]]);
  return out as T;
}

/** The memory core with just the two page-table free hooks: enough for the dispatchers. */
function withHooks(k: MemoryCore, hooks: Pick<KernelHooks, 'pagetable_free' | 'pagetable_dtor_free'>): Kernel {
  return { ...k, hooks } as unknown as Kernel;
}

const nrPagetable = (k: MemoryCore) => global_node_page_state(k, 'NR_PAGETABLE');
const kinds = (exec: Execution) => exec.violations.map((v) => v.kind);

test('page_ptdesc and ptdesc_page are identity casts (struct ptdesc overlays struct page)', () => {
  assert.equal(page_ptdesc(42), 42);
  assert.equal(ptdesc_page(42), 42);
});

test('pagetable_alloc forces __GFP_COMP: an order-2 table is a compound page', () => {
  const { exec, k } = world();
  const pt = run(exec, () => pagetable_alloc(k, GFP_PGTABLE_KERNEL, 2)) as Ptdesc;
  assert.equal(compound_order(k.pages, pt), 2);
  assert.ok(k.mem.frameFilledWith(pt + 3, 0), 'GFP_PGTABLE_KERNEL zeroes');
});

test('pagetable_pte_ctor sets PGTY_table and adds to NR_PAGETABLE; pagetable_dtor undoes both', () => {
  const { exec, k } = world();
  run(exec, function* () {
    const pt = (yield* pagetable_alloc(k, GFP_PGTABLE_KERNEL, 0)) as Ptdesc;
    assert.equal(pagetable_pte_ctor(k, pt), true);
    assert.equal(PageTable(k.pages, pt), true);
    assert.equal(k.pages.ptlock[pt], 1, 'a user PTE table gets its split ptlock');
    assert.equal(nrPagetable(k), 1);
    pagetable_dtor(k, pt);
    assert.equal(PageTable(k.pages, pt), false);
    assert.equal(k.pages.ptlock[pt], 0);
    assert.equal(nrPagetable(k), 0);
    yield* __pagetable_free(k, pt);
  });
  assert.deepEqual(exec.violations, []);
});

test('pagetable_pte_ctor for init_mm skips ptlock_init (v6.19)', () => {
  const { exec, k } = world();
  const pt = run(exec, () => pagetable_alloc(k, GFP_PGTABLE_KERNEL, 0)) as Ptdesc;
  assert.equal(pagetable_pte_ctor(k, pt, true), true);
  assert.equal(k.pages.ptlock[pt], 0);
  assert.equal(PageTable(k.pages, pt), true);
});

test('the ctor of an order-2 table counts all four pages in NR_PAGETABLE', () => {
  const { exec, k } = world();
  const pt = run(exec, () => pagetable_alloc(k, GFP_PGTABLE_KERNEL, 2)) as Ptdesc;
  pagetable_pud_ctor(k, pt);
  assert.equal(nrPagetable(k), 4);
  pagetable_dtor(k, pt);
  assert.equal(nrPagetable(k), 0);
});

test('pagetable_dtor on a page with another type (a freed table, now PageBuddy) is VM_BUG_ON_PAGE(!PageTable(page))', () => {
  const { exec, k } = world();
  run(exec, function* () {
    const pt = (yield* pagetable_alloc(k, GFP_PGTABLE_KERNEL, 0)) as Ptdesc;
    pagetable_pte_ctor(k, pt);
    pagetable_dtor(k, pt);
    yield* __pagetable_free(k, pt);
    assert.equal(PageBuddy(k.pages, pt), true);
    pagetable_dtor(k, pt);
  });
  assert.deepEqual(kinds(exec), ['bad-page']);
  assert.ok(exec.violations[0].details.includes('page dumped because: VM_BUG_ON_PAGE(!PageTable(page))'));
  assert.equal(nrPagetable(k), 0, 'the BUG stops the dtor before the accounting');
});

test('pagetable_dtor on a page with no type passes __ClearPageTable silently, and NR_PAGETABLE going negative is an accounting violation', () => {
  const { exec, k } = world();
  run(exec, function* () {
    const page = (yield* alloc_pages(k, GFP_KERNEL, 0)) as Page;
    pagetable_dtor(k, page_ptdesc(page));
  });
  assert.deepEqual(kinds(exec), ['accounting']);
  assert.equal(exec.violations[0].title, 'NR_PAGETABLE on node 0 went negative (-1)');
});

test('freeing a page that is still PageTable is no bad page since v6.17: the type is reset and NR_PAGETABLE stays counted', () => {
  const { exec, k } = world();
  const before = nr_free_pages(k);
  const pt = run(exec, function* () {
    const t = (yield* pagetable_alloc(k, GFP_PGTABLE_KERNEL, 0)) as Ptdesc;
    pagetable_pte_ctor(k, t);
    yield* __pagetable_free(k, t);
    return t;
  });
  assert.deepEqual(exec.violations, []);
  assert.equal(PageTable(k.pages, pt), false);
  assert.equal(nr_free_pages(k), before);
  assert.equal(nrPagetable(k), 1, 'the dtor never ran: the accounting shows it');
});

test('ptdesc_set_kernel sets PT_kernel = PG_referenced; the free wipes it', () => {
  const { exec, k } = world();
  assert.equal(PT_kernel, PG_referenced);
  run(exec, function* () {
    const pt = (yield* pagetable_alloc(k, GFP_PGTABLE_KERNEL, 0)) as Ptdesc;
    ptdesc_set_kernel(k.pages, pt);
    assert.equal(PageReferenced(k.pages, pt), true);
    assert.equal(ptdesc_test_kernel(k.pages, pt), true);
    ptdesc_clear_kernel(k.pages, pt);
    assert.equal(ptdesc_test_kernel(k.pages, pt), false);
    ptdesc_set_kernel(k.pages, pt);
    yield* __pagetable_free(k, pt);
    assert.equal(ptdesc_test_kernel(k.pages, pt), false);
  });
  assert.deepEqual(exec.violations, []);
});

test('__pagetable_free of a non-compound order-2 block frees only its first page (compound_order is 0)', () => {
  const { exec, k } = world();
  const before = nr_free_pages(k);
  run(exec, function* () {
    const page = (yield* alloc_pages(k, GFP_KERNEL, 2)) as Page;
    yield* __pagetable_free(k, page_ptdesc(page));
  });
  assert.deepEqual(exec.violations, []);
  assert.equal(nr_free_pages(k), before - 3, 'three pages leak');
});

test('pagetable_dtor_free runs the dtor in the caller, then the design pagetable_free hook', () => {
  const { exec, k } = world();
  const seen: string[] = [];
  const kernel = withHooks(k, {
    *pagetable_free(kk, pt) {
      seen.push(`pagetable_free ${pt} PageTable=${PageTable(kk.pages, pt)} NR_PAGETABLE=${nrPagetable(kk)}`);
      yield* generic_pagetable_free(kk, pt);
    },
    pagetable_dtor_free: generic_pagetable_dtor_free,
  });
  const pt = run(exec, function* () {
    const t = (yield* pagetable_alloc(k, GFP_PGTABLE_KERNEL, 0)) as Ptdesc;
    pagetable_pte_ctor(k, t);
    yield* pagetable_dtor_free(kernel, t);
    return t;
  });
  assert.deepEqual(seen, [`pagetable_free ${pt} PageTable=false NR_PAGETABLE=0`]);
  assert.equal(PageBuddy(k.pages, pt), true);
  assert.deepEqual(exec.violations, []);
});

test('the generic pagetable_free frees immediately, compound order included', () => {
  const { exec, k } = world();
  const before = nr_free_pages(k);
  const kernel = withHooks(k, { pagetable_free: generic_pagetable_free, pagetable_dtor_free: generic_pagetable_dtor_free });
  run(exec, function* () {
    const t = (yield* pagetable_alloc(k, GFP_PGTABLE_KERNEL, 1)) as Ptdesc;
    pagetable_pud_ctor(k, t);
    yield* pagetable_dtor_free(kernel, t);
  });
  assert.equal(nr_free_pages(k), before);
  assert.equal(nrPagetable(k), 0);
  assert.deepEqual(exec.violations, []);
});

test('ptlock_init finding the lock already in use is VM_BUG_ON_PAGE (a ctor run twice)', () => {
  const { exec, k } = world();
  run(exec, function* () {
    const t = (yield* pagetable_alloc(k, GFP_PGTABLE_KERNEL, 0)) as Ptdesc;
    pagetable_pte_ctor(k, t);
    assert.equal(pagetable_pte_ctor(k, t), false);
    yield* __free_pages(k, t, 0);
  });
  assert.deepEqual(kinds(exec), ['bad-page']);
  assert.ok(exec.violations[0].details.includes('page dumped because: VM_BUG_ON_PAGE(*(unsigned long *)&ptdesc->ptl)'));
});
