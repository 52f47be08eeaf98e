import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timedRun } from '../../../src/measure/timed-run.ts';
import { builtinScenario } from '../../../src/scenario/scenario.ts';
import { runDesign } from '../../helpers/run.ts';
import { design, kinds, scenario } from './helpers.ts';

const SMALL = { threads: 2, regions: 2, rounds: 2 };

test('every round splits each region\'s 2 MiB leaf once and set_memory_rox collapses it: threads x regions x rounds PTE tables freed (cpa_collapse_large_pages)', () => {
  const r = timedRun(design('upstream'), scenario('execmem-rox', SMALL));
  assert.equal(r.status, 'quiescent');
  assert.equal(r.pageTables.freed, 2 * 2 * 2);
  assert.equal(r.pageTables.pendingAtEnd, 0);
  // split_large_page() tables are never marked PT_kernel: v6.19 frees them at once, with no IOMMU
  // invalidation at all (docs/kernel/pitfalls.md §5) — nothing deferred, nothing flushed; so the device's probe of
  // the page after the collapse walks the freed table through the PDE its probe of the split cached.
  assert.equal(r.invalidations.piotlbPasid + r.invalidations.piotlbPage, 0);
  assert.equal(r.work.executions, 0);
  assert.deepEqual(kinds(r.violations), ['iommu-uncovered-free', 'iommu-use-after-free']);
  // Three publications per region and round (after set_memory_ro, _rw, _rox) and 8 spare probes: every probe faults
  // at the supervisor-only leaf, no buffer DMA does.
  assert.equal(r.iommu.faults, 2 * 2 * 2 * 3 + 8);
});

test('v2 flushes the IOMMU page-selectively on each kernel TLB flush, but not on flush_tlb_all(): its CPA frees are hazards; the seed defers the CPA free behind a PASID-selective flush', () => {
  const s = scenario('execmem-rox', SMALL);
  const v2 = timedRun(design('v2'), s);
  const seed = timedRun(design('seed'), s);
  for (const r of [v2, seed]) {
    assert.equal(r.status, 'quiescent');
    assert.equal(r.pageTables.freed, 8);
  }
  assert.deepEqual(seed.violations, []);
  // cpa_collapse_large_pages() frees after flush_tlb_all(), which v2 does not hook: the page-selective
  // flushes it issues are other regions' (cpa_flush of a range), so every collapsed table is uncovered.
  assert.deepEqual(kinds(v2.violations), ['iommu-uncovered-free']);
  assert.ok(v2.violations.every((v) => v.site === 'PTE table freed in cpa_free_pgtable'));
  assert.ok(v2.invalidations.piotlbPage > 0);
  assert.equal(v2.invalidations.piotlbPasid, 0);
  assert.ok(seed.invalidations.piotlbPasid > 0);
  assert.equal(seed.invalidations.piotlbPage, 0);
  assert.ok((v2.iommu.iotlbHitRate ?? 0) > (seed.iommu.iotlbHitRate ?? 1), `hit rates: v2 ${v2.iommu.iotlbHitRate}, seed ${seed.iommu.iotlbHitRate}`);
});

test('v1 takes a mutex inside flush_tlb_kernel_range(), which runs with preemption disabled (its per-CPU flush_tlb_info): cpa_flush() reaches it, sleep-in-atomic', () => {
  const r = timedRun(design('v1'), scenario('execmem-rox', { threads: 1, regions: 1, rounds: 1 }));
  assert.ok(kinds(r.violations).includes('sleep-in-atomic'), kinds(r.violations).join(','));
});

test('the default execmem-rox is a realistic size: tens of thousands of steps, twelve tables freed', () => {
  const s = builtinScenario('execmem-rox');
  assert.ok(s !== undefined);
  const r = timedRun(design('seed'), s);
  assert.equal(r.status, 'quiescent');
  assert.deepEqual(r.violations, []);
  assert.ok(r.steps >= 20_000 && r.steps <= 150_000, `${r.steps} steps`);
  assert.equal(r.pageTables.freed, 2 * 3 * 2);
  assert.ok(r.iommu.translations > 500, `${r.iommu.translations} DMAs`);
});

test('one region, one round runs to quiescence under random schedules (what the checker explores)', () => {
  const file = { name: 'small', workload: 'execmem-rox', params: { threads: 2, regions: 1, rounds: 1, dmasPerTick: 2 } };
  for (let seed = 1; seed <= 3; seed++) {
    const r = runDesign('seed', file, seed);
    assert.deepEqual(r.violations, [], `seed ${seed}`);
  }
});

test('immediate: after set_memory_rox collapses a region, the probe of its page walks the freed split table through the PDE cached while it was split (flush_tlb_all reaches only the CPUs)', () => {
  const r = timedRun(design('immediate'), builtinScenario('execmem-rox')!);
  assert.equal(r.status, 'quiescent');
  assert.deepEqual(kinds(r.violations), ['iommu-uncovered-free', 'iommu-use-after-free']);
  assert.match(r.violations.find((v) => v.kind === 'iommu-use-after-free')!.details.join('\n'), /as a PTE table for va 0xffff888[0-9a-f]+ through a cached PDE/);
  const quiet = timedRun(design('immediate'), scenario('execmem-rox', { probe: false }));
  // probe: false, buffer DMA only: no walk ever reaches a freed table, yet every free is predicted.
  assert.deepEqual(kinds(quiet.violations), ['iommu-uncovered-free'], 'the hazard needs no walk to be seen');
});
