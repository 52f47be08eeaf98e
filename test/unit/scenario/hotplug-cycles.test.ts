import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timedRun } from '../../../src/measure/timed-run.ts';
import { tablesPerRemoval } from '../../../src/scenario/workloads/hotplug-cycles.ts';
import { runDesign } from '../../helpers/run.ts';
import { design, kinds, scenario } from './helpers.ts';

const SMALL = { cycles: 2, sectionPages: 1024, usePages: 8 } as const;

test('each hot-remove frees the section\'s direct-map PTE tables and the vmemmap PMD table, each before its parent entry is cleared (free_pte_table/free_pmd_table)', () => {
  assert.equal(tablesPerRemoval(1024), 3);
  const r = timedRun(design('immediate'), scenario('hotplug-cycles', SMALL));
  assert.equal(r.status, 'quiescent');
  assert.equal(r.pageTables.freedBeforeUnlink, 2 * 3);
  assert.equal(r.pageTables.freed, r.pageTables.freedBeforeUnlink, 'freed before unlink: never pending, freed all the same');
  // Two addresses published after each add and each remove, and 8 spare probes: every probe faults
  // (a supervisor-only leaf, or nothing mapped once removed), no buffer DMA does.
  assert.equal(r.iommu.faults, 2 * 4 + 8);
  assert.deepEqual(kinds(r.violations), ['iommu-uncovered-free', 'iommu-use-after-free']);
});

test('v6.19 frees each order-9 vmemmap block with pagetable_free(), which frees compound_order() = 0 pages: 511 leak per cycle (docs/kernel/pitfalls.md §8)', () => {
  const r = timedRun(design('upstream'), scenario('hotplug-cycles', SMALL));
  assert.equal(r.status, 'quiescent');
  // Unmarked tables, no IOMMU flush: the device's probes after a removal walk them too (docs/kernel/pitfalls.md §5).
  assert.deepEqual(kinds(r.violations), ['iommu-uncovered-free', 'iommu-use-after-free', 'leak']);
  const leaks = r.violations.filter((v) => v.kind === 'leak');
  assert.equal(leaks.length, SMALL.cycles);
  for (const v of leaks) assert.ok(v.details.some((d) => d.includes('511 pages')), v.details.join('\n'));
  // The hot-remove tables are unmarked (alloc_low_pages, vmemmap_alloc_block): freed at once, no IOMMU invalidation.
  assert.equal(r.pageTables.freedBeforeUnlink, 2 * 3);
  assert.equal(r.invalidations.piotlbPasid + r.invalidations.piotlbPage, 0);
});

test('the seed defers hot-remove tables behind a PASID-selective flush, which costs the device its buffer translations', () => {
  const s = scenario('hotplug-cycles', SMALL);
  const seed = timedRun(design('seed'), s);
  const immediate = timedRun(design('immediate'), s);
  assert.equal(seed.status, 'quiescent');
  assert.ok(seed.invalidations.piotlbPasid > 0);
  assert.equal(seed.pageTables.freed, 2 * 3, 'deferred past the pmd_clear: unlinked, then freed');
  assert.ok((seed.iommu.iotlbHitRate ?? 1) < (immediate.iommu.iotlbHitRate ?? 0));
});

test('the default hotplug-cycles is a realistic size and the device DMAs all along', () => {
  const r = timedRun(design('immediate'), scenario('hotplug-cycles'));
  assert.equal(r.status, 'quiescent');
  assert.deepEqual(kinds(r.violations), ['iommu-uncovered-free', 'iommu-use-after-free']);
  assert.ok(r.steps >= 20_000 && r.steps <= 150_000, `${r.steps} steps`);
  assert.equal(r.pageTables.freedBeforeUnlink, 6 * tablesPerRemoval(2048));
  assert.ok(r.iommu.translations > 1000, `${r.iommu.translations} DMAs`);
});

test('one small cycle runs to quiescence under random schedules (what the checker explores)', () => {
  const file = { name: 'small', workload: 'hotplug-cycles', params: { cycles: 1, sectionPages: 512, usePages: 2, dmasPerTick: 2 } };
  for (let seed = 1; seed <= 3; seed++) {
    const r = runDesign('immediate', file, seed);
    assert.ok(r.steps < 10_000, `seed ${seed}: ${r.steps} steps`);
    assert.ok(!kinds(r.violations).includes('deadlock'), `seed ${seed}`);
  }
});

test('immediate: probes after a hot-remove walk the direct-map tables remove_pagetable() freed, through entries cached while the section was online', () => {
  const r = timedRun(design('immediate'), scenario('hotplug-cycles', SMALL));
  assert.equal(r.status, 'quiescent');
  assert.deepEqual(kinds(r.violations), ['iommu-uncovered-free', 'iommu-use-after-free']);
  assert.match(r.violations.find((v) => v.kind === 'iommu-use-after-free')!.details.join('\n'), /through a cached P[A-Z]+ /);
  const quiet = timedRun(design('immediate'), scenario('hotplug-cycles', { ...SMALL, probe: false }));
  // probe: false, buffer DMA only: no walk ever reaches a freed table, yet every free is predicted.
  assert.deepEqual(kinds(quiet.violations), ['iommu-uncovered-free'], 'the hazard needs no walk to be seen');
  assert.equal(quiet.iommu.faults, 0);
});
