import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { builtinDesign, type Design } from '../../../src/designs/index.ts';
import { DEFAULT_CONFIG } from '../../../src/kernel/model/config.ts';
import { DEFAULT_COSTS } from '../../../src/measure/cost-model.ts';
import { compare, timedRun } from '../../../src/measure/timed-run.ts';
import { builtinScenario, type Scenario } from '../../../src/scenario/scenario.ts';
import { vfreeThenHugeVmap } from '../../../src/scenario/workloads/vfree-huge-vmap.ts';
import { bindProcess } from '../check/workload.ts';

function design(name: string): Design {
  const d = builtinDesign(name);
  if (d === undefined) throw new Error(`no design ${name}`);
  return d;
}

/**
 * One task on CPU 0: bind an SVA process, then `n` rounds of vmalloc/vfree/huge vmalloc, each
 * freeing one PTE table through pmd_free_pte_page() -> pte_free_kernel().
 */
function nFrees(n: number): Scenario {
  return {
    name: `${n}-frees`,
    summary: `${n} PTE-table frees on one CPU`,
    params: {},
    config: DEFAULT_CONFIG,
    workload: {
      name: 'n-frees',
      summary: '',
      params: z.object({}),
      spawn(k) {
        k.exec.spawn({ name: 'cpu0:vmalloc', cpu: 0 }, function* () {
          yield* bindProcess(k);
          for (let i = 0; i < n; i++) yield* vfreeThenHugeVmap(k, function* () {});
        });
      },
    },
  };
}

/** A kworker wake-up far longer than the whole workload: the work runs once, after every free. */
const SLOW_WAKEUP = { ...DEFAULT_COSTS, workqueueWakeup: 1e9 };

test('N frees on one CPU with the seed design and a single work execution give exactly one IOMMU invalidation', () => {
  const n = 4;
  const r = timedRun(design('seed'), nFrees(n), { costs: SLOW_WAKEUP });
  assert.equal(r.status, 'quiescent');
  assert.deepEqual(r.violations, []);
  assert.equal(r.work.executions, 1);
  assert.equal(r.work.freedNothing, 0);
  // The seed's work function flushes everything for the one SVA mm: one PASID-selective descriptor.
  assert.equal(r.invalidations.piotlbPasid, 1);
  assert.equal(r.invalidations.piotlbPage, 0);
  assert.equal(r.pageTables.freed, n);
  assert.equal(r.invalidations.iotlbPerFreedTable, 1 / n);
  // All n tables wait for the one execution: the peak is all of them, in pages and bytes.
  assert.equal(r.pageTables.pendingPeakPages, n);
  assert.equal(r.pageTables.pendingPeakBytes, n * 4096);
  assert.equal(r.pageTables.pendingAtEnd, 0);
  // The first table queued the work and waited out the whole kworker wake-up.
  assert.ok((r.pageTables.freeLatencyNs.max ?? 0) >= 1e9);
  assert.ok(r.simulatedNs > 1e9);
});

test('the area under the pending-pages curve is the sum of the tables\' waits when all were freed', () => {
  const r = timedRun(design('seed'), nFrees(3));
  const t = r.pageTables;
  assert.equal(t.pendingAtEnd, 0);
  assert.equal(t.freeLatencyNs.count, 3);
  const area = t.pendingMeanPages * r.simulatedNs;
  assert.ok(Math.abs(area - (t.freeLatencyNs.mean ?? 0) * 3) < 1e-6 * area, `area ${area}, waits ${JSON.stringify(t.freeLatencyNs)}`);
  assert.equal(t.pendingMeanBytes, t.pendingMeanPages * 4096);
});

test('the seed design takes its list lock once per free and once in the work function', () => {
  const n = 3;
  const r = timedRun(design('seed'), nFrees(n), { costs: SLOW_WAKEUP });
  const lock = r.locks.find((l) => l.name === 'kernel_pgtable_work.lock');
  assert.ok(lock !== undefined, `locks seen: ${r.locks.map((l) => l.name).join(', ')}`);
  assert.equal(lock.acquisitions, n + 1);
  assert.equal(lock.waitTotalNs, 0, 'nobody contends: the producer and the worker never overlap');
  // Each critical section is one list step (list_add / list_splice_tail_init) on a non-frame object.
  assert.equal(lock.holdMaxNs, DEFAULT_COSTS.otherWrite);
  assert.equal(lock.holdTotalNs, (n + 1) * DEFAULT_COSTS.otherWrite);
});

test('freeing immediately keeps no table pending across a wake-up and runs no work', () => {
  const r = timedRun(design('immediate'), nFrees(2), { costs: SLOW_WAKEUP });
  assert.equal(r.work.executions, 0);
  assert.equal(r.pageTables.freed, 2);
  assert.ok((r.pageTables.freeLatencyNs.max ?? Infinity) < 1e6);
  assert.ok(r.pageTables.pendingMeanPages < 1);
});

test('a timed run is deterministic and its record survives JSON', () => {
  const a = timedRun(design('upstream'), nFrees(2));
  const b = timedRun(design('upstream'), nFrees(2));
  assert.deepEqual(a, b);
  assert.deepEqual(JSON.parse(JSON.stringify(a)), a);
  assert.equal(a.version, 1);
});

test('compare gives one row per design, in the order given', () => {
  const c = compare([design('upstream'), design('seed')], nFrees(1));
  assert.deepEqual(c.rows.map((r) => r.design), ['upstream', 'seed']);
  assert.equal(c.scenario, '1-frees');
  assert.equal(c.costs, DEFAULT_COSTS);
  assert.deepEqual(c.rows.map((r) => r.costs), [DEFAULT_COSTS, DEFAULT_COSTS]);
});

test('a step bound that cuts the run is reported with the bound', () => {
  const r = timedRun(design('seed'), nFrees(1), { maxSteps: 50 });
  assert.equal(r.status, 'step-limit');
  assert.equal(r.steps, 50);
  assert.equal(r.maxSteps, 50);
});

test('a PASID-selective invalidation costs iommuInvPasid, not the page-selective figure', () => {
  // The seed's one flush-all is the last thing before its frees at the very end of the run, so the
  // whole run lengthens by exactly the change in its cost.
  const base = timedRun(design('seed'), nFrees(2), { costs: SLOW_WAKEUP });
  const dearer = timedRun(design('seed'), nFrees(2), { costs: { ...SLOW_WAKEUP, iommuInvPasid: SLOW_WAKEUP.iommuInvPasid + 12_345 } });
  assert.equal(base.invalidations.piotlbPasid, 1);
  assert.equal(dearer.simulatedNs - base.simulatedNs, 12_345);
  const pageDearer = timedRun(design('seed'), nFrees(2), { costs: { ...SLOW_WAKEUP, iommuInvPage: SLOW_WAKEUP.iommuInvPage + 12_345 } });
  assert.equal(pageDearer.simulatedNs, base.simulatedNs, 'no page-selective descriptor was issued');
});

test('hot-remove frees a PTE table before clearing its PMD (free_pte_table): never pending, counted apart', () => {
  const s = builtinScenario('hot-remove');
  assert.ok(s !== undefined);
  const r = timedRun(design('immediate'), s);
  assert.equal(r.pageTables.freedBeforeUnlink, 2);
  assert.equal(r.pageTables.pendingAtEnd, 0);
  assert.equal(r.pageTables.pendingPeakPages, 0);
});
