/**
 * A design whose bug is on a fallback path that runs only when a GFP_ATOMIC allocation fails
 * (test/fixtures/designs/atomic-fallback.ts: the table is freed at once, with no IOMMU
 * invalidation, when the enqueue helper's kmalloc() fails), on hot-remove with fault injection
 * (test/fixtures/scenarios/hot-remove-atomic.yaml). Before failures came first, dpor ran 3000
 * executions there without failing that allocation once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { check, mergeChecks, MergeError, type CheckOptions } from '../../../src/job/check.ts';
import type { CheckResult } from '../../../src/job/check-result.ts';
import { scenarioFromText } from '../../../src/scenario/scenario.ts';
import design from '../../fixtures/designs/atomic-fallback.ts';

const PATH = 'test/fixtures/scenarios/hot-remove-atomic.yaml';
const scenario = scenarioFromText(readFileSync(PATH, 'utf8'), PATH);

const run = (options: Partial<CheckOptions> & Pick<CheckOptions, 'strategy' | 'budget'>): CheckResult =>
  check(design, scenario, { seed: 0, shrinkRuns: 0, witnessRuns: 0, ...options }, 'atomic-fallback');

/** The IOMMU findings, each with the execution that first showed it. */
const iommu = (r: CheckResult) => r.violations.filter((v) => v.kind.startsWith('iommu-'));

/** The finding's execution failed the enqueue helper's allocation: its schedule says so. */
function assertFallback(r: CheckResult, what: string): void {
  const found = iommu(r);
  assert.ok(found.some((v) => v.kind === 'iommu-uncovered-free'), `${what}: ${r.verdict.summary}`);
  for (const v of found) assert.ok(v.schedule.includes('kmalloc GFP_ATOMIC = fail'), `${what}: ${v.schedule.join(' | ')}`);
}

test('with no injected failure the fixture frees every table behind the invalidation: no IOMMU finding (--faults 0)', () => {
  const r = run({ strategy: 'dpor', budget: 6, faults: 0 });
  assert.deepEqual(iommu(r), []);
  assert.deepEqual(r.space.faultChoices, ['alloc_pages GFP_ATOMIC', 'kmalloc GFP_ATOMIC']);
  assert.equal(r.space.faults, 0);
});

test('dpor finds the uncovered free of the allocation-failure fallback within its first executions, with any number of failures and with --faults 1', () => {
  for (const faults of [undefined, 1]) {
    const r = run({ strategy: 'dpor', budget: 8, faults });
    assertFallback(r, `dpor --faults ${faults}`);
    assert.ok(iommu(r).every((v) => v.execution < 8));
    assert.equal(r.shard.run.faults, faults ?? null);
  }
});

test('pct finds it too, and respects --faults', () => {
  assertFallback(run({ strategy: 'pct', budget: 20 }), 'pct');
  assertFallback(run({ strategy: 'pct', budget: 20, faults: 1 }), 'pct --faults 1');
});

test('a shard of a run with another fault bound is refused by merge, naming the bound', () => {
  const a = run({ strategy: 'pct', budget: 2, faults: 1 });
  const b = run({ strategy: 'pct', budget: 2 });
  assert.throws(() => mergeChecks([a, b], { names: ['a', 'b'] }), (e: unknown) => e instanceof MergeError && /^b: a shard of another run: fault bound none, but a has fault bound 1$/.test(e.message));
});
