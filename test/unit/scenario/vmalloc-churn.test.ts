import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_SIZE, type Va } from '../../../src/hw/address.ts';
import { purge_vmap_area_lazy, vfree, vmalloc } from '../../../src/kernel/mm/vmalloc.ts';
import { check } from '../../../src/job/check.ts';
import { timedRun } from '../../../src/measure/timed-run.ts';
import { builtinScenario } from '../../../src/scenario/scenario.ts';
import { churnHugePerRound, churnPages } from '../../../src/scenario/workloads/vmalloc-churn.ts';
import type { Sim } from '../../../src/sim/index.ts';
import { RandomScheduler } from '../../../src/explore/index.ts';
import { bootTestKernel, runKernel } from '../../helpers/kernel.ts';
import { runDesign } from '../../helpers/run.ts';
import { design, kinds, scenario } from './helpers.ts';

// 25 areas of 4, 1, 16, 64 pages in turn: 514 pages, two 2 MiB regions, so two huge areas a round.
const ONE_CPU = { threads: 1, allocs: 25, rounds: 3 };

test('one CPU churning vmalloc space frees m x (rounds - 1) PTE tables through pmd_free_pte_page (vmap_try_huge_pmd over vfree leftovers)', () => {
  assert.equal(churnPages(25), 514);
  assert.equal(churnHugePerRound(25), 2);
  const r = timedRun(design('upstream'), scenario('vmalloc-churn', ONE_CPU));
  assert.equal(r.status, 'quiescent');
  assert.deepEqual(r.violations, []);
  assert.equal(r.pageTables.freed, 2 * (3 - 1));
  assert.equal(r.pageTables.pendingAtEnd, 0);
  assert.equal(r.pageTables.freedBeforeUnlink, 0);
});

test('seed flushes the whole PASID and drops the device\'s buffer translations; upstream invalidates the kernel range page-selectively and keeps them', () => {
  const s = scenario('vmalloc-churn', ONE_CPU);
  const seed = timedRun(design('seed'), s);
  const upstream = timedRun(design('upstream'), s);
  for (const r of [seed, upstream]) {
    assert.equal(r.status, 'quiescent');
    assert.deepEqual(r.violations, []);
    assert.equal(r.pageTables.freed, 4);
  }
  assert.ok(seed.invalidations.piotlbPasid > 0);
  assert.equal(seed.invalidations.piotlbPage, 0);
  assert.equal(upstream.invalidations.piotlbPasid, 0);
  assert.ok(upstream.invalidations.piotlbPage > 0);
  assert.ok((upstream.iommu.iotlbHitRate ?? 0) > (seed.iommu.iotlbHitRate ?? 1), `hit rates: upstream ${upstream.iommu.iotlbHitRate}, seed ${seed.iommu.iotlbHitRate}`);
  assert.ok(seed.iommu.walks > upstream.iommu.walks, 'every DMA after a PASID flush walks again');
  // 3 rounds of 25 small and 2 huge areas, each published and probed, and 8 spare probes: every
  // probe faults at the supervisor-only leaf, no buffer DMA does.
  for (const r of [seed, upstream]) assert.equal(r.iommu.faults, 3 * (25 + 2) + 8);
});

test('the default vmalloc-churn is a realistic size: tens of thousands of steps, over ten PTE tables freed, clean with upstream', () => {
  const s = builtinScenario('vmalloc-churn');
  assert.ok(s !== undefined);
  const r = timedRun(design('upstream'), s);
  assert.equal(r.status, 'quiescent');
  assert.deepEqual(r.violations, []);
  assert.ok(r.steps >= 20_000 && r.steps <= 150_000, `${r.steps} steps`);
  assert.ok(r.pageTables.freed >= 10, `${r.pageTables.freed} tables freed`);
  assert.ok(r.iommu.translations > 1000, `${r.iommu.translations} DMAs: the device keeps going for the whole run`);
});

test('v1 takes a mutex inside flush_tlb_kernel_range(), which the lazy purge calls with preemption disabled: sleep-in-atomic', () => {
  const r = timedRun(design('v1'), scenario('vmalloc-churn', { threads: 1, allocs: 2, rounds: 2 }));
  assert.deepEqual(kinds(r.violations), ['sleep-in-atomic']);
});

test('small parameters run to quiescence under random schedules (what the checker explores), two CPUs sharing the vmalloc space', () => {
  const file = { name: 'small', workload: 'vmalloc-churn', params: { threads: 2, allocs: 2, rounds: 2, dmasPerTick: 1 } };
  for (let seed = 1; seed <= 5; seed++) {
    const r = runDesign('upstream', file, seed);
    assert.deepEqual(r.violations, [], `seed ${seed}`);
    assert.ok(r.steps < 5000, `seed ${seed}: ${r.steps} steps`);
  }
});

test('two CPUs purging lazy vmap areas at once each release only the areas they took (__purge_vmap_area_lazy takes the purge list whole)', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const k = bootTestKernel({ scheduler: new RandomScheduler(seed, 1) });
    const again: Va[] = [];
    const cpu = function* (): Sim {
      const va = yield* vmalloc(k, PAGE_SIZE);
      if (va === null) throw new Error('vmalloc failed');
      yield* vfree(k, va);
      yield* purge_vmap_area_lazy(k);
      const next = yield* vmalloc(k, PAGE_SIZE);
      if (next !== null) again.push(next);
    };
    const r = runKernel(k, [cpu, cpu]);
    assert.deepEqual(r.violations, [], `seed ${seed}`);
    assert.equal(again.length, 2, `seed ${seed}`);
    const busy = k.vmalloc.areas.filter((a) => a.state === 'busy').map((a) => a.start);
    assert.deepEqual([...busy].sort(), [...again].sort(), `seed ${seed}: the areas reserved after the purges are all still there`);
    assert.notEqual(again[0], again[1], `seed ${seed}: two busy areas at one address`);
  }
});

test('immediate: the probe of a huge area walks the PTE table pmd_free_pte_page() freed, through the PDE a probe of a small area cached (no kernel flush reaches the IOMMU)', () => {
  const r = timedRun(design('immediate'), builtinScenario('vmalloc-churn')!);
  assert.equal(r.status, 'quiescent');
  assert.deepEqual(kinds(r.violations), ['iommu-uncovered-free', 'iommu-use-after-free']);
  assert.ok(r.steps <= 150_000, `${r.steps} steps`);
  const details = r.violations.find((v) => v.kind === 'iommu-use-after-free')!.details.join('\n');
  assert.match(details, /as a PTE table for va 0xffffc9[0-9a-f]+ through a cached PDE/);
});

test('immediate: PCT finds the IOMMU use-after-free in its first executions of the default vmalloc-churn', () => {
  const r = check(design('immediate'), builtinScenario('vmalloc-churn')!, { strategy: 'pct', seed: 0, budget: 3, shrinkRuns: 0 }, 'test');
  assert.deepEqual(kinds(r.violations), ['iommu-uncovered-free', 'iommu-use-after-free']);
  assert.ok(r.violations[0].execution < 3);
});

test('probe: false leaves the buffer DMA alone: no probe faults, no walk of a freed table — and still every free immediate makes is predicted a hazard', () => {
  const r = timedRun(design('immediate'), scenario('vmalloc-churn', { ...ONE_CPU, probe: false }));
  assert.equal(r.status, 'quiescent');
  assert.deepEqual(kinds(r.violations), ['iommu-uncovered-free']);
  assert.equal(r.violations.length, r.pageTables.freed, 'one per freed table');
  assert.equal(r.iommu.faults, 0);
  assert.equal(r.pageTables.freed, 4);
});
