import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newExecution, runThreads } from '../../helpers/sim.ts';
import { bootMemory } from '../../../src/kernel/model/boot-memory.ts';
import { __free_page, alloc_page } from '../../../src/kernel/mm/page_alloc.ts';
import { DEFAULT_CONFIG } from '../../../src/kernel/model/config.ts';
import { GFP_KERNEL } from '../../../src/kernel/include/linux/gfp.ts';
import { kasan_check } from '../../../src/kernel/mm/kasan/generic.ts';
import type { Page } from '../../../src/kernel/include/linux/mm_types.ts';
import { KernelOops, ModelInvariantError } from '../../../src/sim/index.ts';

test('a write to a freed frame is "BUG: KASAN: use-after-free" with the access, the task and the page dump', () => {
  const exec = newExecution();
  const k = bootMemory(exec, { ...DEFAULT_CONFIG, frames: 64 });
  let ok: boolean | undefined;
  let page = -1;
  runThreads(exec, [[{ name: 'cpu0:vmalloc' }, function* () {
    page = (yield* alloc_page(k, GFP_KERNEL)) as Page;
    yield* __free_page(k, page);
    ok = kasan_check(k, page * 4096 + 0x10, 8, true, 'set_pte');
  }]]);
  assert.equal(ok, false);
  assert.equal(exec.violations.length, 1);
  const v = exec.violations[0];
  assert.equal(v.kind, 'use-after-free');
  assert.equal(v.title, 'BUG: KASAN: use-after-free in set_pte');
  assert.equal(v.details[0], `Write of size 8 at addr ffff888000${(page * 4096 + 0x10).toString(16).padStart(6, '0')} by task cpu0:vmalloc/0`);
  assert.ok(v.details.includes('page_type: f0(buddy)'), v.details.join('\n'));
  assert.ok(v.details.includes('page dumped because: kasan: bad access detected'));
});

test('accesses to allocated and reserved frames are valid', () => {
  const exec = newExecution();
  const k = bootMemory(exec, { ...DEFAULT_CONFIG, frames: 64 });
  let results: boolean[] = [];
  runThreads(exec, [function* () {
    const page = (yield* alloc_page(k, GFP_KERNEL)) as Page;
    results = [kasan_check(k, page * 4096, 8, false, 'ptep_get'), kasan_check(k, 0, 8, true, 'boot')];
  }]);
  assert.deepEqual(results, [true, true]);
  assert.deepEqual(exec.violations, []);
});

test('an access that straddles into a free frame is caught; one outside memory is the kernel\'s page fault (KernelOops), a malformed one a model error', () => {
  const exec = newExecution();
  const k = bootMemory(exec, { ...DEFAULT_CONFIG, frames: 64 });
  // Frame 0 is reserved, frame 1 is free at boot.
  assert.equal(kasan_check(k, 4096 - 4, 8, false, 'memcpy'), false);
  assert.equal(exec.violations[0].details[0].startsWith('Read of size 8 at addr ffff888000000ffc by task swapper/0/0'), true);
  assert.throws(() => kasan_check(k, 64 * 4096, 8, false, 'x'), KernelOops);
  assert.throws(() => kasan_check(k, 0.5, 8, false, 'x'), ModelInvariantError);
});
