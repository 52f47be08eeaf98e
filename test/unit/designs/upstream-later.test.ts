/**
 * The later releases of the merged fix (src/designs/upstream-later.ts) against upstream (v6.19), at
 * the first PCT execution (seed 0) of the scenarios their changes reach: hot-remove's vmemmap free
 * (39406c05f8f1, v7.2) and CPA's split tables (e751303e0ad2, v7.1; "Allocate split page tables as
 * kernel page tables", v7.3 UNCONFIRMED).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinDesign, type Design } from '../../../src/designs/index.ts';
import { UPSTREAM_LATER } from '../../../src/designs/upstream-later.ts';
import { check } from '../../../src/job/check.ts';
import type { CheckViolation } from '../../../src/job/check-result.ts';
import { replayLabel } from '../../../src/job/label.ts';
import { builtinScenario } from '../../../src/scenario/scenario.ts';

const upstream = builtinDesign('upstream')!;
const [v7_1, v7_2, v7_3] = ['upstream@7.1', 'upstream@7.2', 'upstream@7.3'].map((name) => UPSTREAM_LATER.find((d) => d.name === name)!);

const runs = new Map<string, CheckViolation[]>();
/** The findings of the first PCT execution (seed 0) of `design` on `scenario`, run once per pair. */
function firstExecution(design: Design, scenario: string): CheckViolation[] {
  const key = `${design.name} ${scenario}`;
  if (!runs.has(key)) {
    const r = check(design, builtinScenario(scenario)!, { strategy: 'pct', seed: 0, budget: 1, shrinkRuns: 0, witnessRuns: 0 }, replayLabel(design.name, scenario));
    runs.set(key, [...r.violations]);
  }
  return runs.get(key)!;
}

const leaks = (vs: CheckViolation[]) => vs.filter((v) => v.kind === 'leak').map((v) => v.details[0]);
const iommuSites = (vs: CheckViolation[]) => vs.filter((v) => v.kind.startsWith('iommu-')).map((v) => `${v.kind} ${v.site}`);

test('the later releases are upstream\'s hooks plus split_large_page()\'s allocation, each on its own release', () => {
  for (const d of [v7_1, v7_2, v7_3]) {
    assert.deepEqual([...d.overrides].sort(), [...upstream.overrides, 'cpa_alloc_pgtable'].sort(), d.name);
  }
  assert.deepEqual([v7_1.kernel?.vmemmapFree, v7_2.kernel?.vmemmapFree, v7_3.kernel?.vmemmapFree], ['free_pagetable', 'free_vmemmap_pages', 'free_vmemmap_pages']);
  assert.deepEqual([v7_1, v7_2, v7_3].map((d) => d.kernel?.cpaSplitLoserFree), ['pagetable_free', 'pagetable_free', 'pagetable_free']);
});

test('hot-remove: v6.19 and v7.1 leak 511 pages of the order-9 vmemmap block (bf9e4e30f353); v7.2\'s free_vmemmap_pages() frees it whole (39406c05f8f1), and the IOMMU findings stay', () => {
  const before = firstExecution(upstream, 'hot-remove');
  assert.equal(leaks(before).length, 1);
  assert.match(leaks(before)[0], /^kmemleak: 511 pages \(pfn 0x201-0x3ff\)/);
  assert.deepEqual(leaks(firstExecution(v7_1, 'hot-remove')), leaks(before));
  const after = firstExecution(v7_2, 'hot-remove');
  assert.deepEqual(leaks(after), []);
  assert.deepEqual(iommuSites(after), iommuSites(before), 'hot-remove tables are still unmarked and freed before the parent entry is cleared');
  assert.ok(iommuSites(after).length > 0);
});

test('hotplug-cycles: every cycle of v6.19 leaks a vmemmap block\'s 511 pages, v7.2 none', () => {
  const before = leaks(firstExecution(upstream, 'hotplug-cycles'));
  assert.ok(before.length > 1 && before.every((l) => /^kmemleak: 511 pages /.test(l)), before.join('\n'));
  assert.deepEqual(leaks(firstExecution(v7_2, 'hotplug-cycles')), []);
});

test('cpa-collapse: v7.1\'s pagetable_alloc() split table is unmarked, so the collapse frees it at once with no IOMMU invalidation, as v6.19 does', () => {
  const found = iommuSites(firstExecution(v7_1, 'cpa-collapse'));
  assert.ok(found.length > 0);
  assert.ok(found.every((s) => s.endsWith('PTE table freed in cpa_free_pgtable > pagetable_free')), found.join('\n'));
  assert.deepEqual(found, iommuSites(firstExecution(upstream, 'cpa-collapse')));
});

test('cpa-collapse, execmem-rox: v7.3 marks the split table, so pagetable_free() defers it behind the invalidation and no finding is left', () => {
  for (const scenario of ['cpa-collapse', 'execmem-rox']) assert.deepEqual(firstExecution(v7_3, scenario), [], scenario);
});
