/**
 * Two designs written with the allocation and hot-remove hooks (test/fixtures/designs), each run
 * against upstream (v6.19) on the scenarios where it matters, at the first PCT execution (seed 0):
 * what changes and what does not, and why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinDesign, type Design } from '../../../src/designs/index.ts';
import { check } from '../../../src/job/check.ts';
import type { CheckViolation } from '../../../src/job/check-result.ts';
import { replayLabel } from '../../../src/job/label.ts';
import { builtinScenario } from '../../../src/scenario/scenario.ts';
import markAtAlloc from '../../fixtures/designs/mark-at-alloc.ts';
import hotremoveOrder, { clearBeforeFree } from '../../fixtures/designs/hotremove-order.ts';

const upstream = builtinDesign('upstream')!;

/** Both fixes at once: tables marked at allocation, and hot-remove clearing before it frees. */
const both: Design = {
  ...markAtAlloc,
  name: 'mark-at-alloc+hotremove-order',
  overrides: [...markAtAlloc.overrides, ...hotremoveOrder.overrides.filter((h) => !markAtAlloc.overrides.includes(h))],
  install: (k) => ({ ...markAtAlloc.install(k), ...clearBeforeFree }),
};

/** The findings of the first PCT execution (seed 0) of `design` on `scenario`. */
function firstExecution(design: Design, scenario: string): CheckViolation[] {
  const r = check(design, builtinScenario(scenario)!, { strategy: 'pct', seed: 0, budget: 1, shrinkRuns: 0, witnessRuns: 0 }, replayLabel(design.name, scenario));
  return [...r.violations];
}

const hazards = (vs: CheckViolation[]) => vs.filter((v) => v.kind === 'iommu-uncovered-free');
const iommuFindings = (vs: CheckViolation[]) => vs.filter((v) => v.kind.startsWith('iommu-'));

const HOT_REMOVE_SITES = ['PMD table freed in free_pmd_table > free_pagetable > pagetable_free', 'PTE table freed in free_pte_table > free_pagetable > pagetable_free'];

test('mark-at-alloc: a CPA split table marked at split_large_page()\'s allocation is deferred behind the invalidation, so the collapse free v6.19 leaves uncovered is covered (cpa-collapse, execmem-rox)', () => {
  for (const scenario of ['cpa-collapse', 'execmem-rox']) {
    const before = iommuFindings(firstExecution(upstream, scenario));
    assert.ok(before.length > 0 && before.every((v) => v.site === 'PTE table freed in cpa_free_pgtable > pagetable_free'), `upstream on ${scenario}: ${before.map((v) => v.site).join(', ')}`);
    assert.deepEqual(firstExecution(markAtAlloc, scenario), [], scenario);
  }
});

test('on hot-remove, v6.19 frees each emptied table while its parent entry still names it, in free_pte_table/free_pmd_table (docs/kernel/pitfalls.md §11)', () => {
  const found = hazards(firstExecution(upstream, 'hot-remove'));
  assert.deepEqual(found.map((v) => v.site).sort(), HOT_REMOVE_SITES);
  for (const v of found) assert.equal(v.details[1], 'Freed while still linked: the parent entry naming it was cleared only after the free');
});

test('mark-at-alloc alone does not fix hot-remove: the marked table is queued while still linked, and the work item invalidates and frees it before free_pte_table() clears the parent entry', () => {
  const found = hazards(firstExecution(markAtAlloc, 'hot-remove'));
  assert.equal(found.length, 2);
  for (const v of found) {
    assert.ok(!HOT_REMOVE_SITES.includes(v.site!), `freed by the deferred work, not in place: ${v.site}`);
    assert.equal(v.details[1], 'Freed while still linked: the parent entry naming it was cleared only after the free');
    assert.match(v.details[2], /^Freed at step \d+ by kworker\//);
  }
});

test('hotremove-order alone: the table is unlinked (and the CPUs flushed) before it is freed, but v6.19 never marked it, so it is still freed with no IOMMU invalidation', () => {
  const found = hazards(firstExecution(hotremoveOrder, 'hot-remove'));
  assert.deepEqual(found.map((v) => v.site).sort(), HOT_REMOVE_SITES);
  for (const v of found) {
    assert.match(v.details[1], /^Unlinked at step \d+$/);
    assert.equal(v.details[4], 'No IOMMU invalidation was processed between the unlink and the free');
  }
});

test('both together leave no IOMMU finding on the hot-remove and CPA scenarios; what remains is v6.19\'s leak of 511 pages of each vmemmap block (bf9e4e30f353, docs/kernel/pitfalls.md §8), as upstream has', () => {
  for (const scenario of ['hot-remove', 'cpa-collapse', 'mixed-reuse']) {
    const found = firstExecution(both, scenario);
    assert.deepEqual(iommuFindings(found), [], scenario);
    const leaks = (vs: CheckViolation[]) => vs.filter((v) => v.kind === 'leak').map((v) => v.details[0].replace(/ at step \d+/, ''));
    assert.deepEqual(leaks(found), leaks(firstExecution(upstream, scenario)), scenario);
    assert.deepEqual([...new Set(found.map((v) => v.kind))], scenario === 'cpa-collapse' ? [] : ['leak'], scenario);
  }
});
