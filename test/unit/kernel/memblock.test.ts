import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newExecution, runThreads } from '../../helpers/sim.ts';
import { bootMemory } from '../../../src/kernel/model/boot-memory.ts';
import { __free_page, check_free_lists, free_reserved_page, nr_free_pages, page_zone } from '../../../src/kernel/mm/page_alloc.ts';
import { DEFAULT_CONFIG } from '../../../src/kernel/model/config.ts';
import { memblock_alloc_pages, type BootMemory } from '../../../src/kernel/mm/memblock.ts';
import { PageReserved, SHADOW_FREE, SHADOW_RESERVED, type Page } from '../../../src/kernel/include/linux/mm_types.ts';
import { ModelInvariantError } from '../../../src/sim/index.ts';

function bootWith(n: number): { k: BootMemory; taken: Page[]; exec: ReturnType<typeof newExecution> } {
  const exec = newExecution();
  const taken: Page[] = [];
  const k = bootMemory(exec, { ...DEFAULT_CONFIG, frames: 64 }, (core) => {
    taken.push(memblock_alloc_pages(core, n));
    core.mem.write64(taken[0] * 4096, 0x1234n);
    taken.push(memblock_alloc_pages(core, 1));
  });
  return { k, taken, exec };
}

test('memblock_alloc_pages hands out the highest free frames, zeroed, PageReserved with refcount 1, never to the buddy', () => {
  const { k, taken } = bootWith(2);
  assert.deepEqual(taken, [62, 61]);
  for (const p of [61, 62, 63]) {
    assert.equal(PageReserved(k.pages, p), true);
    assert.equal(k.pages.refcount[p], 1);
    assert.equal(k.pages.shadow[p], SHADOW_RESERVED);
  }
  assert.ok(k.mem.frameFilledWith(61, 0));
  assert.equal(k.mem.read64(62 * 4096), 0x1234n);
  assert.equal(nr_free_pages(k), 64 - 1 - 3);
  assert.deepEqual(check_free_lists(k), []);
});

test('memblock is gone after boot: a later memblock allocation is a model error', () => {
  const { k } = bootWith(1);
  assert.equal(k.memblock.freed, true);
  assert.throws(() => memblock_alloc_pages(k, 1), ModelInvariantError);
});

test('free_reserved_page hands a boot page to the buddy allocator (ClearPageReserved, managed_pages + 1)', () => {
  const { k, exec } = bootWith(1);
  const zone = page_zone(k, 63)!;
  const managed = zone.managed_pages;
  const free = nr_free_pages(k);
  runThreads(exec, [function* () { yield* free_reserved_page(k, 63); }]);
  assert.deepEqual(exec.violations, []);
  assert.equal(PageReserved(k.pages, 63), false);
  assert.equal(k.pages.shadow[63], SHADOW_FREE);
  assert.equal(zone.managed_pages, managed + 1);
  assert.equal(nr_free_pages(k), free + 1);
  assert.deepEqual(check_free_lists(k), []);
});

test('__free_page on a reserved boot page (instead of free_reserved_page) is a bad page: PG_reserved is checked at free', () => {
  const { k, exec } = bootWith(1);
  runThreads(exec, [function* () { yield* __free_page(k, 63); }]);
  assert.equal(exec.violations.length, 1);
  assert.equal(exec.violations[0].kind, 'bad-page');
  assert.ok(exec.violations[0].details.includes('page dumped because: PAGE_FLAGS_CHECK_AT_FREE flag(s) set'));
  assert.equal(k.pages.shadow[63], SHADOW_RESERVED);
});
