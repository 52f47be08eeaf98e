/** The oracles that judge the end state: leak, accounting, flags-corruption. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Design } from '../../../src/designs/design.ts';
import { RandomScheduler } from '../../../src/explore/index.ts';
import { list_add } from '../../../src/kernel/include/linux/list.ts';
import { scenarioFrom } from '../../../src/scenario/scenario.ts';
import { buildWorld } from '../../../src/scenario/world.ts';
import { kindsOf, runDesign } from '../../helpers/run.ts';

test('leak: v6.19 frees an order-9 non-compound vmemmap block through compound_order() and loses 511 pages (docs/kernel/pitfalls.md §8)', () => {
  const r = runDesign('upstream', 'hot-remove', 0);
  const leaks = r.violations.filter((v) => v.kind === 'leak');
  assert.equal(leaks.length, 1);
  assert.match(leaks[0].title, /unreferenced object pfn 0x[0-9a-f]+ \(size 2093056\)/);
  assert.ok(!kindsOf(runDesign('immediate', 'hot-remove', 0)).includes('leak'), 'v6.18 __free_pages(page, 9) frees it all');
});

test('leak: a deferred list that is never drained leaves its pages unreferenced at quiescence', () => {
  const hoarder: Design = {
    name: 'hoarder',
    summary: 'queues freed PTE tables on a list and never frees them',
    source: 'test',
    overrides: ['pte_free_kernel'],
    install(k) {
      const list = k.lists.newHead('hoard');
      return {
        *pte_free_kernel(kk, _mm, pt) {
          list_add(kk.lists, pt, list);
        },
      };
    },
  };
  const scenario = scenarioFrom({ name: 'v', workload: 'vfree-huge-vmap' }, 'test');
  const scheduler = new RandomScheduler(0, 1);
  scheduler.beginExecution(0);
  const { exec } = buildWorld(scenario, hoarder, scheduler);
  const result = exec.run();
  assert.ok(result.violations.some((v) => v.kind === 'leak' && v.thread === 'quiescence'), result.violations.map((v) => v.title).join('\n'));
});

test('accounting: with NR_PAGEFLAGS 44 the seed flag aliases last_cpupid, every queued page looks like a ptdesc and NR_PAGETABLE goes negative', () => {
  const aliased = { name: 'a', workload: 'hot-remove', config: { pageFlags: { NR_PAGEFLAGS: 44 } } };
  assert.ok(kindsOf(runDesign('seed', aliased, 0)).includes('accounting'));
  assert.ok(!kindsOf(runDesign('upstream', aliased, 0)).includes('accounting'), 'PT_kernel is a real page flag');
});

test('flags-corruption: with NR_PAGEFLAGS 55 and no last_cpupid in page->flags, BIT(NR_PAGEFLAGS) flips the zone', () => {
  const zoneAliased = { name: 'z', workload: 'vfree-huge-vmap', config: { pageFlags: { NR_PAGEFLAGS: 55, LAST_CPUPID_WIDTH: 0 } } };
  const r = runDesign('seed', zoneAliased, 0);
  const v = r.violations.find((x) => x.kind === 'flags-corruption');
  assert.ok(v, kindsOf(r).join(','));
  assert.match(v.details[0], /zone 3/);
  assert.deepEqual(kindsOf(runDesign('upstream', zoneAliased, 0)), []);
});
