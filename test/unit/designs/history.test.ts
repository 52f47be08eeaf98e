/**
 * Each design shows what its history records, on a fixed replayable schedule: the first seed of the
 * random strategy (below a bound) whose run shows it, run again to check it replays identically.
 * Nothing special-cases a design: the findings come from the model's oracles.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kindsOf, runDesign, seedsWith } from '../../helpers/run.ts';
import type { ScenarioFile } from '../../../src/scenario/scenario.ts';

const MANY_PROBES: ScenarioFile = { name: 'vfree-many-probes', workload: 'vfree-huge-vmap', params: { probes: 20 } };

/** The first seed below `n` that reports `kind`, checked to replay to the same report. */
function replayableSeed(design: string, scenario: string | ScenarioFile, kind: string, n: number): number {
  const [seed] = seedsWith(design, scenario, kind, n);
  assert.notEqual(seed, undefined, `${design} shows ${kind} within ${n} schedules`);
  assert.deepEqual(runDesign(design, scenario, seed).violations, runDesign(design, scenario, seed).violations, 'replays identically');
  return seed;
}

test('immediate: the device walks a freed PTE table on vfree-huge-vmap (the bug before any fix)', () => {
  const r = runDesign('immediate', 'vfree-huge-vmap', replayableSeed('immediate', 'vfree-huge-vmap', 'iommu-use-after-free', 5));
  const v = r.violations.find((x) => x.kind === 'iommu-use-after-free')!;
  assert.match(v.title, /BUG: IOMMU use-after-free/);
  assert.ok(v.details.some((d) => /freed at step \d+ by cpu0:vmalloc/.test(d)), v.details.join('\n'));
  assert.equal(v.thread, 'dev0:probe');
});

test('v1: sleeps in atomic context on the lazy vmap purge path (Yi Lai, 8 Jul 2025)', () => {
  const r = runDesign('v1', 'vfree-huge-vmap', 0);
  const first = r.violations[0];
  assert.equal(first.kind, 'sleep-in-atomic');
  assert.match(first.title, /sleeping function called from invalid context at drivers\/iommu\/iommu-sva\.c/);
  assert.ok(first.details.some((d) => /__purge_vmap_area_lazy/.test(d)), first.details.join('\n'));
  assert.ok(!kindsOf(r).includes('iommu-use-after-free'), 'v1 flushes the IOMMU before the free: no use-after-free');
});

test('v2: the spinlock fixes the sleep, and the vfree path stays clean over 30 schedules', () => {
  assert.deepEqual(seedsWith('v2', MANY_PROBES, 'sleep-in-atomic', 30), []);
  assert.deepEqual(seedsWith('v2', MANY_PROBES, 'iommu-use-after-free', 30), []);
});

test('v3: still frees the page table before the queued invalidation runs (Dave Hansen, 6 Aug 2025)', () => {
  replayableSeed('v3', MANY_PROBES, 'iommu-use-after-free', 40);
});

test('seed and upstream: no use-after-free on vfree-huge-vmap over 30 schedules', () => {
  for (const design of ['seed', 'upstream']) assert.deepEqual(seedsWith(design, MANY_PROBES, 'iommu-use-after-free', 30), [], design);
});

test('upstream: a table split by CPA is never marked, so its free after a collapse is still immediate', () => {
  replayableSeed('upstream', 'cpa-collapse', 'iommu-use-after-free', 5);
});

test('upstream: hot-remove frees unmarked direct-map/vmemmap tables synchronously, before clearing the parent (docs/kernel/free-sites.md)', () => {
  const r = runDesign('upstream', 'hot-remove', replayableSeed('upstream', 'hot-remove', 'iommu-use-after-free', 5));
  assert.ok(r.violations.some((v) => v.kind === 'iommu-use-after-free' && v.details.some((d) => /freed at step \d+ by cpu0:hotplug/.test(d))));
});

test('seed: the order-9 vmemmap block queued page by page without split_page() makes every tail a refcount underflow', () => {
  const r = runDesign('seed', 'hot-remove', replayableSeed('seed', 'hot-remove', 'bad-page', 5));
  const bad = r.violations.filter((v) => v.kind === 'bad-page');
  assert.equal(bad.length, 511, 'each of the 511 tail pages');
  assert.ok(bad.every((v) => v.thread.startsWith('kworker/') && v.details.some((d) => /VM_BUG_ON_PAGE\(page_ref_count\(page\) == 0\)/.test(d))));
  assert.ok(!kindsOf(r).includes('iommu-use-after-free'), 'the deferral itself works: the tables are freed after the flush');
});
