import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newExecution, runThreads } from '../../helpers/sim.ts';
import { bootMemory } from '../../../src/kernel/model/boot-memory.ts';
import {
  PAGE_POISON,
  __free_page,
  __free_pages,
  alloc_page,
  alloc_pages,
  check_free_lists,
  compound_order,
  get_zeroed_page,
  nr_free_pages,
  split_page,
} from '../../../src/kernel/mm/page_alloc.ts';
import { DEFAULT_CONFIG, type KernelConfig } from '../../../src/kernel/model/config.ts';
import { GFP_ATOMIC, GFP_DMA32, GFP_KERNEL, GFP_NOWAIT, __GFP_COMP, __GFP_ZERO } from '../../../src/kernel/include/linux/gfp.ts';
import type { MemoryCore } from '../../../src/kernel/model/kernel.ts';
import {
  PageHead,
  PageReferenced,
  PageTail,
  SHADOW_ALLOCATED,
  SHADOW_FREE,
  SetPageReferenced,
  SetPageReserved,
  compound_head,
  flagsWordOr,
  flagsWordTest,
  set_bit,
  type Page,
} from '../../../src/kernel/include/linux/mm_types.ts';
import { PG_lru } from '../../../src/kernel/include/linux/page-flags.ts';
import { preempt_disable, preempt_enable } from '../../../src/kernel/include/linux/preempt.ts';
import type { ChoicePoint, Execution, Scheduler, Sim } from '../../../src/sim/index.ts';

function world(config: Partial<KernelConfig> = {}, scheduler?: Scheduler): { exec: Execution; k: MemoryCore } {
  const exec = newExecution(scheduler);
  return { exec, k: bootMemory(exec, { ...DEFAULT_CONFIG, frames: 64, ...config }) };
}

/** Runs `body` as one task thread and returns its result. */
function run<T>(exec: Execution, body: () => Sim<T>): T {
  let out: T | undefined;
  runThreads(exec, [[{ name: 'kworker/u:1' }, function* () { out = yield* body(); }]]);
  return out as T;
}

function badPageReasons(exec: Execution): string[] {
  return exec.violations.filter((v) => v.kind === 'bad-page').map((v) => v.details.find((d) => d.startsWith('page dumped because: ')) ?? '');
}

function freeCounts(k: MemoryCore): string {
  return k.zones.map((z) => z.free_area.map((a) => a.nr_free).join(',')).join(' | ');
}

test('boot hands every frame but frame 0 to the buddy allocator in maximal aligned blocks', () => {
  const { k } = world();
  assert.equal(nr_free_pages(k), 63);
  // DMA32 [0,16): 1 (o0), 2-3 (o1), 4-7 (o2), 8-15 (o3); Normal [16,64): 16-31 (o4), 32-63 (o5).
  assert.equal(freeCounts(k), '1,1,1,1,0,0,0,0,0,0,0 | 0,0,0,0,1,1,0,0,0,0,0');
  assert.deepEqual(check_free_lists(k), []);
});

test('expand() keeps the lower half: an order-0 page from an order-4 block is its first page, the upper halves go back', () => {
  const { exec, k } = world();
  const [a, b] = run(exec, function* () {
    return [yield* alloc_page(k, GFP_KERNEL), yield* alloc_page(k, GFP_KERNEL)];
  });
  assert.equal(a, 16);
  assert.equal(b, 17);
  assert.equal(freeCounts(k), '1,1,1,1,0,0,0,0,0,0,0 | 0,1,1,1,0,1,0,0,0,0,0');
  assert.equal(nr_free_pages(k), 61);
  assert.deepEqual(check_free_lists(k), []);
});

test('GFP_DMA32 allocates from ZONE_DMA32; GFP_KERNEL prefers ZONE_NORMAL', () => {
  const { exec, k } = world();
  const p = run(exec, () => alloc_page(k, GFP_DMA32));
  assert.equal(p, 1);
});

test('__free_page on a tail page of a non-compound order-2 allocation is a bad page (put_page_testzero)', () => {
  const { exec, k } = world();
  const before = nr_free_pages(k);
  const page = run(exec, function* () {
    const p = (yield* alloc_pages(k, GFP_KERNEL, 2)) as Page;
    yield* __free_page(k, p + 1);
    return p;
  });
  assert.equal(compound_order(k.pages, page), 0);
  assert.deepEqual(badPageReasons(exec), ['page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) == 0)']);
  assert.equal(nr_free_pages(k), before - 4, 'nothing was freed');
  assert.equal(k.pages.shadow[page + 1], SHADOW_ALLOCATED);
});

test('split_page gives every page of a non-compound block its own reference, so each can be freed alone', () => {
  const { exec, k } = world();
  const before = nr_free_pages(k);
  run(exec, function* () {
    const p = (yield* alloc_pages(k, GFP_KERNEL, 2)) as Page;
    split_page(k, p, 2);
    assert.deepEqual([0, 1, 2, 3].map((i) => k.pages.refcount[p + i]), [1, 1, 1, 1]);
    yield* __free_page(k, p + 1);
    assert.equal(nr_free_pages(k), before - 3);
    for (const i of [0, 2, 3]) yield* __free_page(k, p + i);
  });
  assert.deepEqual(exec.violations, []);
  assert.equal(nr_free_pages(k), before);
  assert.deepEqual(check_free_lists(k), []);
});

test('split_page of a compound page is VM_BUG_ON_PAGE(PageCompound(page))', () => {
  const { exec, k } = world();
  run(exec, function* () {
    split_page(k, (yield* alloc_pages(k, GFP_KERNEL | __GFP_COMP, 1)) as Page, 1);
  });
  assert.deepEqual(badPageReasons(exec), ['page dumped because: VM_BUG_ON_PAGE(PageCompound(page))']);
});

test('__free_pages(page, 2) of a non-compound block with an extra reference frees the sub-blocks (order 1, then 0) and leaves the first page', () => {
  const { exec, k } = world();
  const before = nr_free_pages(k);
  const p = run(exec, function* () {
    const page = (yield* alloc_pages(k, GFP_KERNEL, 2)) as Page;
    k.pages.refcount[page]++; // get_page()
    yield* __free_pages(k, page, 2);
    return page;
  });
  assert.deepEqual(exec.violations, []);
  assert.equal(k.pages.refcount[p], 1);
  assert.equal(k.pages.shadow[p], SHADOW_ALLOCATED);
  assert.deepEqual([1, 2, 3].map((i) => k.pages.shadow[p + i]), [SHADOW_FREE, SHADOW_FREE, SHADOW_FREE]);
  assert.equal(nr_free_pages(k), before - 1);
  const frees = (exec.events ?? []).filter((e) => e.text.startsWith('freed pfn')).map((e) => e.text);
  assert.deepEqual(frees, [`freed pfn 0x${(p + 2).toString(16)} order 1 (Normal)`, `freed pfn 0x${(p + 1).toString(16)} order 0 (Normal)`]);
  assert.deepEqual(check_free_lists(k), []);
});

test('compound_order is 0 for a non-compound block; __GFP_COMP makes a compound page (PG_head, tails point to the head)', () => {
  const { exec, k } = world();
  const [plain, comp] = run(exec, function* () {
    return [(yield* alloc_pages(k, GFP_KERNEL, 2)) as Page, (yield* alloc_pages(k, GFP_KERNEL | __GFP_COMP, 2)) as Page];
  });
  assert.equal(compound_order(k.pages, plain), 0);
  assert.equal(PageHead(k.pages, plain), false);
  assert.equal(compound_order(k.pages, comp), 2);
  assert.equal(PageHead(k.pages, comp), true);
  for (const i of [1, 2, 3]) {
    assert.equal(PageTail(k.pages, comp + i), true);
    assert.equal(compound_head(k.pages, comp + i), comp);
    assert.equal(k.pages.refcount[comp + i], 0);
  }
});

test('freeing a compound page clears its head and tail state and returns all its pages', () => {
  const { exec, k } = world();
  const before = nr_free_pages(k);
  const comp = run(exec, function* () {
    const p = (yield* alloc_pages(k, GFP_KERNEL | __GFP_COMP, 2)) as Page;
    yield* __free_pages(k, p, 2);
    return p;
  });
  assert.deepEqual(exec.violations, []);
  assert.equal(nr_free_pages(k), before);
  assert.equal(PageHead(k.pages, comp), false);
  assert.equal(PageTail(k.pages, comp + 3), false);
  assert.deepEqual(check_free_lists(k), []);
});

test('freeing a compound page with the wrong order is VM_BUG_ON_PAGE in free_pages_prepare and frees nothing', () => {
  const { exec, k } = world();
  const before = nr_free_pages(k);
  run(exec, function* () {
    yield* __free_pages(k, (yield* alloc_pages(k, GFP_KERNEL | __GFP_COMP, 2)) as Page, 1);
  });
  assert.deepEqual(badPageReasons(exec), ['page dumped because: VM_BUG_ON_PAGE(compound && compound_order(page) != order)']);
  assert.equal(nr_free_pages(k), before - 4);
});

test('__GFP_ZERO zeroes the frames; without it a reused frame still holds PAGE_POISON', () => {
  const { exec, k } = world();
  const [p1, p2, p3] = run(exec, function* () {
    const a = (yield* alloc_page(k, GFP_KERNEL)) as Page;
    k.mem.write64(a * 4096 + 8, 0xdeadbeefn);
    yield* __free_page(k, a);
    assert.ok(k.mem.frameFilledWith(a, PAGE_POISON), 'free poisons the frame');
    const b = (yield* alloc_page(k, GFP_KERNEL)) as Page;
    const poisoned = k.mem.frameFilledWith(b, PAGE_POISON);
    yield* __free_page(k, b);
    const c = (yield* get_zeroed_page(k, GFP_KERNEL)) as Page;
    return [a, b, poisoned ? c : -1];
  });
  assert.equal(p2, p1, 'the same page comes back (no per-CPU lists)');
  assert.equal(p3, p1);
  assert.ok(k.mem.frameFilledWith(p3, 0));
  assert.deepEqual(exec.violations, []);
});

test('a PAGE_FLAGS_CHECK_AT_FREE flag at free is a bad page and the page is leaked', () => {
  const { exec, k } = world();
  const before = nr_free_pages(k);
  const p = run(exec, function* () {
    const page = (yield* alloc_page(k, GFP_KERNEL)) as Page;
    SetPageReserved(k.pages, page);
    yield* __free_page(k, page);
    return page;
  });
  assert.deepEqual(badPageReasons(exec), ['page dumped because: PAGE_FLAGS_CHECK_AT_FREE flag(s) set']);
  const v = exec.violations[0];
  assert.equal(v.title, `BUG: Bad page state in process kworker/u:1  pfn:${p.toString(16).padStart(5, '0')}`);
  assert.ok(v.details.some((d) => /^flags: 0x[0-9a-f]+\(reserved\|node=0\|zone=2\|lastcpupid=0x7ff\)$/.test(d)), v.details.join('\n'));
  assert.equal(nr_free_pages(k), before - 1);
  assert.equal(k.pages.shadow[p], SHADOW_ALLOCATED);
});

test('PG_referenced at free is fine (not in PAGE_FLAGS_CHECK_AT_FREE) and is cleared (PAGE_FLAGS_CHECK_AT_PREP)', () => {
  const { exec, k } = world();
  const [a, b] = run(exec, function* () {
    const page = (yield* alloc_page(k, GFP_KERNEL)) as Page;
    SetPageReferenced(k.pages, page);
    yield* __free_page(k, page);
    assert.equal(PageReferenced(k.pages, page), false);
    return [page, (yield* alloc_page(k, GFP_KERNEL)) as Page];
  });
  assert.equal(a, b);
  assert.equal(PageReferenced(k.pages, b), false);
  assert.deepEqual(exec.violations, []);
});

test('a bit at NR_PAGEFLAGS survives the free and the next allocation (neither checked nor cleared)', () => {
  const { exec, k } = world();
  const nr = k.config.pageFlags.NR_PAGEFLAGS;
  const [a, b] = run(exec, function* () {
    const page = (yield* alloc_page(k, GFP_KERNEL)) as Page;
    flagsWordOr(k.pages, page, nr);
    yield* __free_page(k, page);
    return [page, (yield* alloc_page(k, GFP_KERNEL)) as Page];
  });
  assert.equal(a, b);
  assert.equal(flagsWordTest(k.pages, b, nr), true);
  assert.deepEqual(exec.violations, []);
});

test('double free of a page is reported (refcount already 0: VM_BUG_ON_PAGE in put_page_testzero) and the free lists stay sound', () => {
  const { exec, k } = world();
  const before = nr_free_pages(k);
  run(exec, function* () {
    const page = (yield* alloc_page(k, GFP_KERNEL)) as Page;
    yield* __free_page(k, page);
    yield* __free_page(k, page);
  });
  assert.deepEqual(badPageReasons(exec), ['page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) == 0)']);
  assert.equal(nr_free_pages(k), before);
  assert.deepEqual(check_free_lists(k), []);
});

test('freeing a block whose sub-block was already freed (the non-head path checks no refcount) is reported', () => {
  const { exec, k } = world();
  const before = nr_free_pages(k);
  run(exec, function* () {
    const page = (yield* alloc_pages(k, GFP_KERNEL, 1)) as Page;
    k.pages.refcount[page]++;
    yield* __free_pages(k, page, 1); // frees page + 1 only
    yield* __free_pages(k, page, 1); // last reference: frees the whole order-1 block again
  });
  assert.equal(badPageReasons(exec).length, 1);
  assert.match(badPageReasons(exec)[0], /already free/);
  assert.equal(nr_free_pages(k), before - 1, 'page + 1 is free, the first page is leaked by the bad free');
  assert.deepEqual(check_free_lists(k), []);
});

test('check_new_page: a free page with a PAGE_FLAGS_CHECK_AT_PREP flag is reported at allocation, leaked, and the next page taken', () => {
  const { exec, k } = world();
  set_bit(k.pages, PG_lru, 16);
  const p = run(exec, () => alloc_page(k, GFP_KERNEL));
  assert.deepEqual(badPageReasons(exec), ['page dumped because: PAGE_FLAGS_CHECK_AT_PREP flag(s) set']);
  assert.equal(p, 17, 'the bad page (16, after expand) is dropped and the next one taken');
  assert.equal(nr_free_pages(k), 63 - 2);
  assert.equal(k.pages.shadow[16], SHADOW_FREE, 'the bad page is leaked, never handed out');
});

test('a GFP_KERNEL allocation in atomic context is sleep-in-atomic (might_sleep)', () => {
  const { exec, k } = world();
  run(exec, function* () {
    preempt_disable(k);
    const p = yield* alloc_page(k, GFP_KERNEL);
    preempt_enable(k);
    return p;
  });
  assert.deepEqual(exec.violations.map((v) => [v.kind, v.title]), [['sleep-in-atomic', 'BUG: sleeping function called from invalid context at alloc_pages']]);
});

test('a GFP_ATOMIC allocation in atomic context is fine', () => {
  const { exec, k } = world();
  const p = run(exec, function* () {
    preempt_disable(k);
    const page = yield* alloc_page(k, GFP_ATOMIC);
    preempt_enable(k);
    return page;
  });
  assert.notEqual(p, null);
  assert.deepEqual(exec.violations, []);
});

/** Round robin for threads; the given option index for every data choice. */
function dataChooser(answer: number): Scheduler {
  return {
    beginExecution: (i) => i === 0,
    choose: (point: ChoicePoint) => (point.kind === 'data' ? answer : 0),
  };
}

test('with fault injection a GFP_ATOMIC allocation failure is a recorded choice (succeed or fail)', () => {
  for (const [answer, fails] of [[0, false], [1, true]] as const) {
    const { exec, k } = world({ failAtomicAllocations: true }, dataChooser(answer));
    const [atomic, nowait, kernel] = run(exec, function* () {
      return [yield* alloc_page(k, GFP_ATOMIC), yield* alloc_page(k, GFP_NOWAIT), yield* alloc_page(k, GFP_KERNEL)];
    });
    assert.equal(atomic === null, fails);
    assert.equal(nowait === null, fails);
    assert.notEqual(kernel, null, 'a blocking allocation is never failed by injection');
    const data = exec.choices.filter((c) => c.kind === 'data');
    assert.deepEqual(data, [
      { kind: 'data', reason: 'alloc_pages GFP_ATOMIC', options: ['succeed', 'fail'], chosen: answer },
      { kind: 'data', reason: 'alloc_pages GFP_ATOMIC', options: ['succeed', 'fail'], chosen: answer },
    ]);
  }
});

test('without fault injection GFP_ATOMIC makes no choice', () => {
  const { exec, k } = world();
  run(exec, () => alloc_page(k, GFP_ATOMIC));
  assert.equal(exec.choices.filter((c) => c.kind === 'data').length, 0);
});

test('allocation fails (null) only when no block of the order is free', () => {
  const { exec, k } = world();
  const got = run(exec, function* () {
    const pages: (Page | null)[] = [];
    for (let i = 0; i < 64; i++) pages.push(yield* alloc_page(k, GFP_KERNEL));
    return pages;
  });
  assert.equal(got.filter((p) => p !== null).length, 63);
  assert.equal(got[63], null);
  assert.equal(nr_free_pages(k), 0);
  assert.equal(new Set(got).size, 64);
});

test('freeing everything merges the buddies back to the boot layout', () => {
  const { exec, k } = world();
  const boot = freeCounts(k);
  run(exec, function* () {
    const held: Page[] = [];
    for (let i = 0; i < 20; i++) held.push((yield* alloc_page(k, GFP_KERNEL)) as Page);
    for (const p of held.reverse()) yield* __free_page(k, p);
  });
  assert.equal(freeCounts(k), boot);
  assert.deepEqual(check_free_lists(k), []);
});

test('an allocated page comes off the free list through list_del, so its lru holds LIST_POISON1/2', () => {
  const { exec, k } = world();
  const p = run(exec, () => alloc_page(k, GFP_KERNEL)) as Page;
  assert.equal(k.lists.describe(k.lists.next[p]), 'dead000000000100');
  assert.equal(k.lists.describe(k.lists.prev[p]), 'dead000000000122');
});

test('the allocator yields a step on the zone lock, one per frame poisoned or cleared, and one for the put', () => {
  const { exec, k } = world();
  run(exec, function* () {
    const p = (yield* alloc_pages(k, GFP_KERNEL | __GFP_ZERO, 1)) as Page;
    yield* __free_pages(k, p, 1);
  });
  assert.equal(exec.stepCount, 1 /* thread_start */ + 1 + 2 + 1 + 2 + 1);
});
